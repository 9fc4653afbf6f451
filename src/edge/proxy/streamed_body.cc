// The streamed bodies of the HTTP-aware session (streamed_body.h, docs/edge.md "Bodies"): each
// piece the parser appends to the body string is written (re-chunked when the length is not
// known) before the next read from the sender, so a connection holds about 128 KiB of a body
// whatever its size; a streamed upload is sent by a coroutine of its own (pump_request_body)
// while the session reads the response (exchange_streamed_request).
#include "proxy/streamed_body.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <chrono>

#include "proxy/session_io.h"

namespace mysfits::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

// The buffers of `prefix` (a head, or nothing) and a piece of a streamed body, framed as one
// chunk when `chunked` (an empty piece is no chunk), and with `last` the end of the body (the
// last chunk without trailer fields); `size_line` holds the chunk's size line.
using piece_buffers = std::array<asio::const_buffer, 4>;
piece_buffers frame_piece(char (&size_line)[24], std::string_view prefix, std::string_view data,
                          bool chunked, bool last) {
  std::size_t size_len = 0;
  std::string_view end;
  if (chunked && !data.empty()) {
    auto r = std::to_chars(size_line, size_line + 16, data.size(), 16);
    r.ptr[0] = '\r';
    r.ptr[1] = '\n';
    size_len = static_cast<std::size_t>(r.ptr + 2 - size_line);
    end = last ? std::string_view("\r\n0\r\n\r\n") : std::string_view("\r\n");
  } else if (chunked && last) {
    end = "0\r\n\r\n";
  }
  return {asio::buffer(prefix.data(), prefix.size()), asio::buffer(size_line, size_len),
          asio::buffer(data.data(), data.size()), asio::buffer(end.data(), end.size())};
}

// Writes a framed piece (frame_piece) one async_write_some at a time under the caller's deadline
// `dl`, returning operation_aborted at once when `stop` is set, or `dl` fired, between two of
// them: a socket's cancel() (stop_upload's, or the deadline ticker's) that comes while no write
// is pending — between two steps, or while one that completed at once waits to resume —
// cancels nothing, and a composed async_write would wait on without a deadline.
asio::awaitable<beast::error_code> write_piece(tcp::socket& s, std::string_view prefix,
                                               std::string_view data, bool chunked, bool last,
                                               const bool& stop, const deadline& dl) {
  char size_line[24];
  auto bufs = frame_piece(size_line, prefix, data, chunked, last);
  for (;;) {
    if (asio::buffer_size(bufs) == 0) co_return beast::error_code{};
    if (stop || dl.fired()) co_return asio::error::operation_aborted;
    auto [ec, n] = co_await s.async_write_some(bufs, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return ec;
    for (auto& b : bufs) {
      const auto k = std::min(n, b.size());
      b += k;
      n -= k;
    }
  }
}

// What the two halves of a streamed upload share: the uploader (pump_request_body), spawned
// beside the session's coroutine, and the session, which reads the upstream's response meanwhile
// (exchange_streamed_request). Both run on the worker's loop: no locks.
struct upload_relay {
  upload_relay(deadline_list& list, tcp::socket& client, tcp::socket& upstream,
               const asio::any_io_executor& ex)
      : rdl(list, client), wdl(list, upstream), finished(ex, clock::time_point::max()) {}
  relay_errors result;          // the upstream's error, or the client's, or neither (completed)
  bool done = false;            // the uploader returned
  bool completed = false;       // ... having sent the whole body
  bool stop = false;            // it is to stop at its next step (operation_aborted)
  bool unbounded = false;       // an early answer came: no deadlines of its own from now on
  bool watching = false;        // the session waits on the upstream for the response's head
  deadline rdl;                 // the uploader's reads from the client
  deadline wdl;                 // its writes to the upstream
  asio::steady_timer finished;  // cancelled once it returned (an event to wait for)
};

// Sends a streamed request's head and what is here of its body to the upstream, then the rest as
// the client sends it: a piece is read from the client only once the one before it went. Each
// read from the client has request_timeout, each write to the upstream upstream_timeout (none
// once `u.unbounded`: the response's deadlines bound the exchange then). Leaves in `u.result` the
// upstream's error, or the client's (timeout, body_limit, a parse error, partial_message when
// it closed), or operation_aborted when stopped, or neither once the whole body went.
asio::awaitable<void> pump_request_body(tcp::socket& client, beast::flat_buffer& buffer,
                                        upstream_request_parser& parser, const std::string& head,
                                        std::string& body, tcp::socket& upstream, upload_relay& u,
                                        const options& o) {
  relay_errors& r = u.result;
  std::string_view prefix = head;
  const bool chunked = !parser.content_length();
  for (;;) {
    if (!parser.is_done() && parse_body_piece(parser, buffer, r.client) == parse_state::failed) {
      co_return;
    }
    const bool last = parser.is_done();
    if (!prefix.empty() || !body.empty() || last) {
      if (!u.unbounded) u.wdl.expires_after(o.upstream_timeout);
      r.upstream = co_await write_piece(upstream, prefix, body, chunked, last, u.stop, u.wdl);
      if (r.upstream == asio::error::operation_aborted && u.wdl.fired()) {
        r.upstream = beast::error::timeout;
      }
      u.wdl.expires_never();
      prefix = {};
      body.clear();
      if (r.upstream) co_return;
      if (last) {
        u.completed = true;
        co_return;
      }
    }
    if (u.stop) {
      r.client = asio::error::operation_aborted;
      co_return;
    }
    if (chunk_line_over_limit(parser, buffer, o.header_limit)) {
      r.client = bhttp::error::bad_chunk;
      co_return;
    }
    if (!u.unbounded) u.rdl.expires_after(o.request_timeout);
    // Whole pieces (read_size would keep to the buffer's capacity, often a few KiB).
    auto [rec, n] = co_await client.async_read_some(buffer.prepare(read_chunk),
                                                    asio::as_tuple(asio::use_awaitable));
    const bool timed_out = rec == asio::error::operation_aborted && u.rdl.fired();
    u.rdl.expires_never();
    if (rec) {
      if (timed_out) {
        r.client = beast::error::timeout;
      } else if (rec == asio::error::operation_aborted) {
        r.client = rec;  // stopped, or the session's own deadline on the client fired
      } else {
        r.client = rec == asio::error::eof ? at_eof(parser) : rec;
        if (!r.client) r.client = bhttp::error::partial_message;
      }
      co_return;
    }
    buffer.commit(n);
  }
}

// A new parser for the next response on the connection (after an interim one, or the first).
void new_response_parser(std::optional<downstream_response_parser>& rpo, std::string& res_head,
                         std::string& res_body, unsigned version, bool is_head, const options& o) {
  rpo.emplace(res_head, res_body, version, is_head);
  rpo->set_limits(response_header_limit, o.body_limit, o.stream_threshold);
  rpo->eager(true);
}

// Stops the uploader if it still runs (its pending read or write is cancelled; it returns at its
// next step) and waits until it returned.
asio::awaitable<void> stop_upload(upload_relay& u, tcp::socket& client, tcp::socket& upstream) {
  if (u.done) co_return;
  u.stop = true;
  beast::error_code ignored;  // nothing to cancel on a socket that has no operation pending
  client.cancel(ignored);
  upstream.cancel(ignored);
  if (!u.done) {
    auto [ec] = co_await u.finished.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // operation_aborted: the uploader returned (the timer never expires)
  }
}

}  // namespace

// Whether a final response whose header is in and whose body is not complete yet is to be
// streamed: over the threshold by its Content-Length, or, without one, by what came of it so far
// (`body_so_far`). An edge's marked 503 / 504 (which may send the request elsewhere) is read
// whole.
bool should_stream(downstream_response_parser& rp, std::string_view head, std::size_t body_so_far,
                   const options& o) {
  if (rp.is_done() || rp.status() / 100 == 1) return false;
  if (is_unrouted_response(rp.status(), head) || is_expired_response(rp.status(), head)) {
    return false;
  }
  const auto length = rp.content_length();
  return length ? *length > o.stream_threshold : body_so_far > o.stream_threshold;
}

asio::awaitable<relay_outcome> relay_response_body(tcp::socket& client, deadline& dl,
                                                   upstream_connection& conn, deadline& udl,
                                                   downstream_response_parser& rp,
                                                   const std::string& head, std::string& body,
                                                   bool chunked, const options& o) {
  relay_outcome r;
  std::string_view prefix = head;
  for (;;) {
    const bool last = rp.is_done();
    if (!prefix.empty() || !body.empty() || last) {
      dl.expires_after(o.request_timeout);
      static constexpr bool never = false;  // stopped only by its deadline
      const auto wec = co_await write_piece(client, prefix, body, chunked, last, never, dl);
      dl.expires_never();
      prefix = {};
      body.clear();
      if (wec) r.client_gone = true;
      if (wec || last) co_return r;
    }
    if (chunk_line_over_limit(rp, conn.buffer, response_header_limit)) {
      r.upstream = bhttp::error::bad_chunk;
      co_return r;
    }
    udl.expires_after(o.upstream_timeout);
    auto [rec, n] = co_await conn.socket.async_read_some(conn.buffer.prepare(read_chunk),
                                                         asio::as_tuple(asio::use_awaitable));
    if (rec) {
      if (rec == asio::error::operation_aborted && udl.fired()) {
        r.upstream = beast::error::timeout;
        co_return r;
      }
      r.upstream = rec == asio::error::eof ? at_eof(rp) : rec;
      if (!r.upstream && !rp.is_done()) r.upstream = bhttp::error::partial_message;
      if (r.upstream) co_return r;
      continue;  // a body ended by closing: its end goes to the client
    }
    conn.buffer.commit(n);
    if (parse_body_piece(rp, conn.buffer, r.upstream) == parse_state::failed) co_return r;
  }
}

asio::awaitable<streamed_exchange> exchange_streamed_request(
    worker_context& w, tcp::socket& client, deadline& dl, beast::flat_buffer& buffer,
    upstream_request_parser& parser, const std::string& up_head, std::string& up_body,
    upstream_connection& conn, deadline& udl, endpoint& target,
    std::optional<downstream_response_parser>& rpo, std::string& res_head, std::string& res_body,
    unsigned version, bool is_head, bool& interim_seen, bool& awaiting_first_byte) {
  const auto& o = w.opts;
  streamed_exchange x;
  const auto ex = co_await asio::this_coro::executor;
  upload_relay u(w.deadlines, client, conn.socket, ex);
  tcp::socket& upstream = conn.socket;
  udl.expires_never();  // the response's timers start once the body went, or with an early head
  u.watching = true;
  asio::co_spawn(ex, pump_request_body(client, buffer, parser, up_head, up_body, upstream, u, o),
                 [&u, &upstream](std::exception_ptr e) {
                   if (e) {
                     u.result.upstream = asio::error::no_memory;  // the only exception it may see
                     spdlog::error("edge: request body relay failed");
                   }
                   u.done = true;
                   beast::error_code ignored;
                   if (u.watching) upstream.cancel(ignored);  // wakes the response's read
                   u.finished.cancel();
                 });

  // Until the upload is complete: the response's head, its interim responses dropped.
  bool reading_after_cut = false;
  for (;;) {
    if (u.done) {
      // The upstream closed or reset the connection while taking the body: it may have answered
      // first (a 413, then closed without reading the rest), so what it sent is read to its end.
      const auto& ue = u.result.upstream;
      const bool upstream_gone =
          ue && ue != beast::error::timeout && ue != asio::error::operation_aborted;
      if (!upstream_gone) break;
      if (!reading_after_cut) {
        reading_after_cut = true;
        udl.expires_after(o.upstream_timeout);
      }
    }
    const auto st = parse_buffered(*rpo, conn.buffer, true, x.response);
    if (st == parse_state::failed) break;
    if (st == parse_state::done) {
      if (rpo->status() / 100 == 1) {
        if (rpo->status() == 101) {
          x.response = bhttp::error::bad_status;  // the edge forwards no Upgrade
          break;
        }
        interim_seen = true;
        new_response_parser(rpo, res_head, res_body, version, is_head, o);
        continue;
      }
      x.over = true;  // a final head: an early answer
      break;
    }
    if (reading_after_cut && udl.fired()) {  // a cancel may come while no read is pending
      x.response = beast::error::timeout;
      break;
    }
    auto [rec, n] = co_await upstream.async_read_some(conn.buffer.prepare(read_chunk),
                                                      asio::as_tuple(asio::use_awaitable));
    if (rec) {
      // Woken because the uploader returned, or cancelled with its write that timed out: the
      // loop's top tells.
      if (rec == asio::error::operation_aborted && !udl.fired()) continue;
      if (rec == asio::error::operation_aborted) {
        x.response = beast::error::timeout;
      } else {
        x.response = rec == asio::error::eof ? at_eof(*rpo) : rec;
        if (!x.response) x.response = bhttp::error::partial_message;
      }
      break;
    }
    conn.buffer.commit(n);
    if (awaiting_first_byte) {
      awaiting_first_byte = false;
      target.note_response(clock::now());  // it answers: passive health keeps it
    }
  }
  u.watching = false;
  if (!x.over && !x.response) {
    // The loop ends without an answer only once the uploader returned.
    x.upload = u.result;
    co_return x;
  }
  x.over = true;

  if (!x.response) {
    // An early answer: the response's timers start now; the upload goes on, bounded by them.
    target.count_early_response();
    spdlog::debug("edge: {} answered {} before the request body went whole", target.id(),
                  rpo->status());
    u.unbounded = true;
    u.rdl.expires_never();
    u.wdl.expires_never();
    udl.expires_after(o.upstream_timeout);
    auto& rp = *rpo;
    bool stream_out = false;
    for (;;) {
      const auto st =
          rp.is_done() ? parse_state::done : parse_body_piece(rp, conn.buffer, x.response);
      if (st != parse_state::need_more) break;
      if (should_stream(rp, res_head, res_body.size(), o)) {
        stream_out = true;
        break;
      }
      if (chunk_line_over_limit(rp, conn.buffer, response_header_limit)) {
        x.response = bhttp::error::bad_chunk;
        break;
      }
      if (udl.fired()) {  // a cancel may come while no read is pending
        x.response = beast::error::timeout;
        break;
      }
      auto [rec, n] = co_await upstream.async_read_some(
          conn.buffer.prepare(beast::read_size(conn.buffer, read_chunk)),
          asio::as_tuple(asio::use_awaitable));
      if (rec) {
        if (rec == asio::error::operation_aborted && udl.fired()) {
          x.response = beast::error::timeout;
          break;
        }
        x.response = rec == asio::error::eof ? at_eof(rp) : rec;
        if (!x.response && !rp.is_done()) x.response = bhttp::error::partial_message;
        if (x.response) break;
        continue;  // a body ended by closing: complete
      }
      conn.buffer.commit(n);
    }
    if (stream_out) {
      x.answered = x.streamed_out = true;
      x.status = rp.status();
      target.count_response(x.status);
      const bool chunked_out = !rp.content_length() && version >= 11;
      rp.finish_streamed(false);
      const auto relayed = co_await relay_response_body(client, dl, conn, udl, rp, res_head,
                                                        res_body, chunked_out, o);
      x.response = relayed.upstream;
      x.client_gone = relayed.client_gone;
      if (x.response && !x.client_gone) {
        target.count_cut_response();
        spdlog::debug("edge: early response from {} cut mid-body: {}", target.id(),
                      x.response.message());
      }
    } else if (!x.response) {
      x.answered = true;
      x.status = rp.status();
      target.count_response(x.status);
      rp.finish(false);
    }
  }
  co_await stop_upload(u, client, upstream);
  co_return x;
}

constexpr std::chrono::milliseconds linger_limit{2000};
asio::awaitable<void> linger_close(tcp::socket& client, deadline& dl, const options& o) {
  beast::error_code ec;
  client.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  dl.expires_after(std::min(o.request_timeout, linger_limit));
  std::array<char, read_chunk> discard;
  for (;;) {
    auto [rec, n] =
        co_await client.async_read_some(asio::buffer(discard), asio::as_tuple(asio::use_awaitable));
    (void)n;
    // The client closed, or the time is up (fired() too: a read that completes at once is never
    // pending when the ticker cancels, and a client that keeps sending has data at hand).
    if (rec || dl.fired()) break;
  }
  dl.expires_never();
}

}  // namespace mysfits::edge
