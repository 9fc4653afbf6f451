// The streamed bodies of the HTTP-aware session (docs/edge.md "Bodies"): a streamed upload with
// the response read meanwhile (full duplex: an upstream's early answer goes to the client at
// once), a streamed response, and the lingering close after an answer sent before the client's
// body was read. Coroutines of their own, called by run_http_session (downstream_session.cc)
// off the small requests' path.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "balance/endpoint.h"
#include "proxy/context.h"
#include "proxy/deadline.h"
#include "proxy/http_codec.h"
#include "proxy/upstream_pool.h"

namespace mysfits::edge {

// Whether a final response whose header is in and whose body is not complete yet is to be
// streamed: over the threshold by its Content-Length, or, without one, by what came of it so far
// (`body_so_far`). An edge's marked 503 / 504 (which may send the request elsewhere) is read
// whole.
bool should_stream(downstream_response_parser& rp, std::string_view head, std::size_t body_so_far,
                   const options& o);

// Sends a streamed response's head (`head`, finished) and what is here of its body to the
// client, then the rest as the upstream sends it (re-chunked when `chunked`): a piece is read
// from the upstream only once the one before it went. Each write to the client has
// request_timeout (`dl`), each read from the upstream upstream_timeout (`udl`). The upstream's
// error (a cut or timeout: the message is left incomplete), or the client gone.
struct relay_outcome {
  boost::beast::error_code upstream;
  bool client_gone = false;
};
boost::asio::awaitable<relay_outcome> relay_response_body(
    boost::asio::ip::tcp::socket& client, deadline& dl, upstream_connection& conn, deadline& udl,
    downstream_response_parser& rp, const std::string& head, std::string& body, bool chunked,
    const options& o);

// What a streamed upload's relay ends with: the upstream's error, or the client's (timeout,
// body_limit, a parse error, partial_message when it closed, operation_aborted when stopped), or
// neither once the whole body went.
struct relay_errors {
  boost::beast::error_code upstream, client;
};

// What became of a streamed upload, and of a response that came before it was complete.
struct streamed_exchange {
  // No early answer: the upload's outcome as pump_request_body left it; the session reads the
  // response (whatever of it was read meanwhile is in the connection's buffer and parser).
  relay_errors upload;
  // The exchange is over, the upload stopped: a final response's head came before the whole
  // body went (an early answer), or the upstream failed before answering (`response`).
  bool over = false;
  // With `over`: whether the client's answer is the upstream's response — streamed to it
  // already when `streamed_out` (`client_gone` if a write to it failed), else whole in
  // res_head / res_body, finished with Connection: close; its status. Otherwise, `response` is
  // the upstream's error (502, or timeout: 504).
  bool answered = false;
  bool streamed_out = false;
  bool client_gone = false;
  unsigned status = 0;
  boost::beast::error_code response;
};

// A streamed upload, full duplex (docs/edge.md "Bodies"): the body goes to the upstream as the
// client sends it (pump_request_body, spawned beside this coroutine) while the upstream's response
// is read. Interim (1xx) responses are dropped. When the upload is complete before any final
// response head, the session reads the response as for any request. A final head that comes
// while the body still goes (a 413, a 401, or a response the upstream streams while it reads) is
// an early answer: its response timers start with it, the upload goes on without deadlines of
// its own while the response is read (small: whole; large: streamed to the client, Connection:
// close), and is stopped once the response ended. The session closes the client connection
// after it, and the upstream one too (never pooled: the edge cannot tell whether the upstream
// read the body it sent or left it in its socket).
boost::asio::awaitable<streamed_exchange> exchange_streamed_request(
    worker_context& w, boost::asio::ip::tcp::socket& client, deadline& dl,
    boost::beast::flat_buffer& buffer, upstream_request_parser& parser, const std::string& up_head,
    std::string& up_body, upstream_connection& conn, deadline& udl, endpoint& target,
    std::optional<downstream_response_parser>& rpo, std::string& res_head, std::string& res_body,
    unsigned version, bool is_head, bool& interim_seen, bool& awaiting_first_byte);

// After a response sent while the client still had request body to send that the edge does not
// read (an early answer, a streamed upload refused midway): half-closes the connection, then
// reads and discards what the client still sends until it closes, for at most 2 s
// (request_timeout if shorter). Closing at once with unread bytes would send a TCP reset, which
// can destroy the response at the client before it read it (nginx's lingering close).
boost::asio::awaitable<void> linger_close(boost::asio::ip::tcp::socket& client, deadline& dl,
                                          const options& o);

}  // namespace mysfits::edge
