// The HTTP-aware session and its forwarding (with retries) of one request.
//
// Per request, on the usual path: the client's request is parsed straight from the connection's
// read buffer into the upstream request (http_codec.h: no message object, no per-field
// allocations; the strings are the connection's and keep their capacity), sent with one
// sendmsg of head + body on a pooled connection, the response parsed straight into the
// client's response and sent with one sendmsg. Deadlines are per-socket time points that the
// worker's ticker checks (deadline.h), so no timer is armed or cancelled per request, and the
// forwarding is written inside the session's coroutine, so no coroutine frame is allocated per
// request either. Request deadlines (X-Edge-Deadline, docs/edge.md): a received one is checked
// before each attempt, and each attempt's is written into the upstream request just before it
// is sent (the edge's own when it may resend after a first-byte timeout). Bodies over
// options::stream_threshold are streamed instead of buffered (docs/edge.md "Bodies",
// streamed_body.h): the head goes first, then the body piece by piece; while a request body
// goes, the response is read too (full duplex: an early answer goes to the client at once, and
// ends the upload). Those paths are off the small requests' way (a few flag tests).
#include "proxy/downstream_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>

#include "balance/endpoint_group.h"
#include "mysfits/common/request_deadline.h"
#include "proxy/session_io.h"
#include "proxy/streamed_body.h"

namespace mysfits::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

listener_stats::listener_stats(const std::string& n) : name(n) {
  auto& reg = metrics::default_registry();
  active_connections =
      &reg.get_gauge("edge_active_connections", "Open client connections", {{"listener", name}});
  static const char* classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < by_class.size(); ++i) {
    by_class[i] =
        &reg.get_counter("edge_listener_requests_total", "Responses sent to clients, per listener",
                         {{"listener", name}, {"code", classes[i]}});
  }
  deadline_expired = &reg.get_counter(
      "edge_deadline_expired_total",
      "Requests refused with 504 because their X-Edge-Deadline had passed, per listener",
      {{"listener", name}});
}

namespace {

// One sendmsg of `head` + `body` on a non-blocking socket. True when all of it went (the usual
// case for a small message); otherwise `head` / `body` are left with what remains, and `ec` is
// set if the socket failed (rather than being full).
bool send_now(tcp::socket& s, std::string_view& head, std::string_view& body,
              beast::error_code& ec) {
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(head.data(), head.size()),
                                               asio::buffer(body.data(), body.size())};
  std::size_t n = s.send(bufs, 0, ec);
  if (ec == asio::error::would_block) {
    ec = {};
    n = 0;
  }
  if (ec) return false;
  if (n >= head.size() + body.size()) return true;
  if (n < head.size()) {
    head.remove_prefix(n);
  } else {
    body.remove_prefix(n - head.size());
    head = {};
  }
  return false;
}

// Sends what send_now left, waiting for the socket (under the caller's deadline).
asio::awaitable<beast::error_code> send_rest(tcp::socket& s, std::string_view head,
                                             std::string_view body) {
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(head.data(), head.size()),
                                               asio::buffer(body.data(), body.size())};
  auto [ec, n] = co_await asio::async_write(s, bufs, asio::as_tuple(asio::use_awaitable));
  (void)n;
  co_return ec;
}

constexpr std::size_t deadline_field_room = 48;  // "X-Edge-Deadline: " + 19 digits + CRLF

// Writes `X-Edge-Deadline: <deadline_ms>` as the last field of the finished request `head`,
// replacing the one an earlier attempt wrote (`at` and `len` say where it is; len 0: none), or
// only removes that one when `deadline_ms` is 0.
void write_deadline_field(std::string& head, std::size_t& at, std::size_t& len,
                          std::int64_t deadline_ms) {
  if (len > 0) head.erase(at, len);
  len = 0;
  if (deadline_ms == 0) return;
  char field[deadline_field_room];
  char* p = field;
  const auto name = request_deadline::header;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  p = std::to_chars(p, field + sizeof field - 2, deadline_ms).ptr;
  *p++ = '\r';
  *p++ = '\n';
  at = head.size() - 2;  // before the blank line that ends the head
  len = static_cast<std::size_t>(p - field);
  head.insert(at, field, len);
}

}  // namespace

// One coroutine per client connection, with the forwarding of each request (routing, retries,
// the upstream exchange) written inline rather than in nested coroutines: a request costs no
// coroutine frame.
asio::awaitable<void> run_http_session(worker_context& w, listener_stats& stats,
                                       tcp::socket client) {
  const auto& o = w.opts;
  const open_connection counted(w, stats);

  beast::error_code ec;
  auto peer = client.remote_endpoint(ec);
  const std::string client_ip = ec ? std::string() : peer.address().to_string();
  const std::uint64_t client_hash = mix64(std::hash<std::string>{}(client_ip));
  client.set_option(tcp::no_delay(true), ec);  // best effort
  client.non_blocking(true, ec);               // for send_now; async operations are unaffected
  beast::flat_buffer buffer;
  deadline dl(w.deadlines, client);
  // Reused by every request of the connection (they keep their capacity).
  std::string up_head, up_body;    // the request for the upstream
  std::string res_head, res_body;  // the response for the client
  // The connection closes after a response sent before the client's streamed body was read to
  // its end: lingering close (linger_close).
  bool body_left_unread = false;

  for (;;) {
    if (w.stopping->load(std::memory_order_relaxed)) break;

    // Read a request. Idle keep-alive: its first byte must come within idle_timeout (an idle
    // client is closed without a word); the whole request then within request_timeout of it.
    upstream_request_parser parser(up_head, up_body);
    parser.set_limits(o.header_limit, o.body_limit, o.stream_threshold);
    bool started = buffer.size() > 0;
    dl.expires_after(started ? o.request_timeout : o.idle_timeout);
    ec = {};
    bool header_only = true;
    bool chunk_line_too_long = false;
    // The body is larger than the stream threshold: it is forwarded as it comes, after the head
    // (what is read so far is in up_body).
    bool stream_up = false;
    for (;;) {
      auto st = parse_buffered(parser, buffer, header_only, ec);
      if (st == parse_state::failed) break;
      if (st == parse_state::done) {
        if (parser.is_done()) break;
        header_only = false;  // the header is in; a body follows
        parser.eager(true);
        if (parser.expects_continue()) {
          std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n", none;
          if (!send_now(client, cont, none, ec) && !ec) ec = co_await send_rest(client, cont, none);
          if (ec) break;
        }
        if (const auto length = parser.content_length(); length && *length > o.stream_threshold) {
          stream_up = true;
          break;
        }
        continue;
      }
      if (!header_only && up_body.size() > o.stream_threshold) {
        stream_up = true;  // a chunked body that grew past the threshold
        break;
      }
      if (chunk_line_over_limit(parser, buffer, o.header_limit)) {
        ec = bhttp::error::bad_chunk;
        chunk_line_too_long = true;
        break;
      }
      if (dl.fired()) {
        // The ticker fired while no read was pending (this read's completion was still queued):
        // its cancel hit nothing and cleared the deadline, so the next read would have none.
        ec = asio::error::operation_aborted;
        break;
      }
      auto [rec, n] =
          co_await client.async_read_some(buffer.prepare(beast::read_size(buffer, read_chunk)),
                                          asio::as_tuple(asio::use_awaitable));
      if (rec) {
        ec = rec == asio::error::eof ? at_eof(parser) : rec;
        if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
        break;
      }
      if (!started) {
        started = true;
        dl.expires_after(o.request_timeout);
      }
      buffer.commit(n);
    }
    if (ec == asio::error::operation_aborted && dl.fired()) ec = beast::error::timeout;
    // An HTTP/1.1 request must name its host (RFC 9112 §3.2: a server answers 400 without
    // one); an HTTP/1.0 one may not, and goes on as it came.
    const bool missing_host = !ec && parser.version() >= 11 && !parser.has_host();
    if (ec || missing_host) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
        break;
      }
      unsigned status = 400;
      std::string message;
      if (missing_host) {
        message = "HTTP/1.1 request without a Host field";
      } else if (ec == bhttp::error::body_limit) {
        status = 413;
        message = "request body too large";
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        message = "request headers too large";
      } else if (parser.unsupported_coding()) {
        status = 501;
        message = "transfer coding not implemented (only chunked is)";
      } else if (ec == beast::error::timeout) {
        if (!started) break;  // idle keep-alive: just close
        status = 408;
        message = "request not received in time";
      } else if (chunk_line_too_long) {
        message =
            "chunk header or trailer section over " + std::to_string(o.header_limit) + " bytes";
      } else {
        message = "malformed HTTP request: " + ec.message();
      }
      write_error_response(res_head, res_body, status, message, 11, false);
      stats.count_response(status);
      beast::error_code ignored;
      client.shutdown(tcp::socket::shutdown_receive, ignored);
      std::string_view head = res_head, body = res_body;
      if (!send_now(client, head, body, ignored) && !ignored) {
        dl.expires_after(o.request_timeout);
        ignored = co_await send_rest(client, head, body);
      }
      break;
    }
    dl.expires_never();  // the client owes nothing while its request is forwarded

    const auto started_at = clock::now();
    const bool client_keep_alive = parser.keep_alive();
    const unsigned version = parser.version();
    const bool is_head = parser.method() == bhttp::verb::head;
    // A streamed request body cannot be sent again once (part of) it went: such a request goes
    // to another target only when connecting failed.
    const bool retryable =
        !stream_up && is_retryable_request(parser.method(), parser.has_idempotency_key());
    if (stream_up) {
      parser.finish_streamed(client_ip, stats.port);
    } else {
      parser.finish(client_ip, stats.port);
    }
    // Room for the X-Edge-Deadline field each attempt writes (write_deadline_field), so writing
    // it never moves the head that `path` points into.
    up_head.reserve(up_head.size() + deadline_field_room);
    const std::string_view path = routing_path(parser.target());
    // The deadline the client (or the edge in front) sent: it is passed on, is never extended,
    // and once it has passed the request is refused here instead of forwarded.
    const std::int64_t received_deadline = parser.deadline_ms();
    std::size_t deadline_at = 0, deadline_len = 0;  // the field written into up_head, if any

    // Forward it: to a target the router picks, on another when a failure allows a retry.
    w.in_flight.fetch_add(1, std::memory_order_relaxed);
    exclusion tried;
    metrics::histogram* latency = nullptr;  // the chosen group's
    unsigned status = 0;
    bool keep_alive = false;  // the client connection stays open after the response
    bool answered = false;
    unsigned fail_status = 503;
    std::string fail_message;  // built only when something fails
    bool routed_once = false;
    // Why the request went on to another target after one that may have received it (a
    // possible duplicate, told to the client in X-Edge-Resent); null if it did not.
    const char* resent = nullptr;
    // The answer refuses the request for its passed deadline, and no target can have applied
    // it (X-Edge-Error: deadline-expired).
    bool expired_unapplied = false;
    // What became of a streamed body (one byte: every flag in the coroutine's frame costs on each
    // resume of the small requests' path too).
    enum : unsigned char {
      not_streamed,
      streamed_out,  // the response went to the client as it came (its head before its body)
      streamed_out_client_gone,  // ... and a write to the client failed
      silent_close,              // the client stopped mid-upload: no answer, the connection closes
    };
    unsigned char streamed = not_streamed;
    for (int attempt = 0; attempt < o.max_attempts && !answered; ++attempt) {
      if (parser.deadline_malformed()) {
        fail_status = 400;
        fail_message = "malformed X-Edge-Deadline (Unix epoch milliseconds expected)";
        routed_once = true;  // not an unrouted 503
        break;
      }
      if (received_deadline != 0 &&
          request_deadline::passed(received_deadline, request_deadline::now_ms(),
                                   o.deadline_tolerance)) {
        fail_status = 504;
        fail_message = resent ? "request deadline passed after a target may have received it"
                              : "request deadline passed before it was forwarded";
        expired_unapplied = resent == nullptr;
        routed_once = true;
        stats.deadline_expired->inc();
        spdlog::debug("edge: refusing {}: deadline {} passed", path, received_deadline);
        break;
      }
      auto rr = w.route.route(path, w.draw(client_hash), tried);
      if (!rr.target) {
        if (!routed_once) fail_message = "no healthy target in group " + std::string(rr.group);
        break;
      }
      routed_once = true;
      expired_unapplied = false;  // this attempt's outcome counts
      latency = rr.latency;
      endpoint& target = *rr.target;
      tried.push_back(&target);
      target.add_outstanding(w.index, 1);
      struct outstanding_guard {
        endpoint& e;
        std::size_t worker;
        ~outstanding_guard() { e.add_outstanding(worker, -1); }
      } guard{target, w.index};

      // A pooled connection is peeked before reuse (upstream_pool::take: one syscall), so none
      // with bytes the target sent unasked goes out; the target may still close it after the
      // peek: a replayable request that fails on a pooled connection before any response byte
      // is sent again once, on a new connection to the same target.
      bool may_replay = retryable;
      bool give_up = false;
      for (;;) {
        // A streamed request goes on a new connection: a pooled one the target closed meanwhile
        // could not be told from a failure after the body began to go.
        auto conn = stream_up ? nullptr : target.pool().take(w.index, o.upstream_idle_timeout);
        const bool reused = conn != nullptr;
        if (!conn) {
          conn = std::make_unique<upstream_connection>(tcp::socket(w.io));
          beast::error_code cec;
          {
            deadline cdl(w.deadlines, conn->socket);
            cdl.expires_after(o.connect_timeout);
            auto [e] = co_await conn->socket.async_connect(target.address(),
                                                           asio::as_tuple(asio::use_awaitable));
            cec = e;
            if (e == asio::error::operation_aborted && cdl.fired()) cec = beast::error::timeout;
          }
          if (cec) {
            // Nothing was sent: any request may go elsewhere.
            fail_status = 502;
            fail_message = "cannot connect to " + target.id() + ": " + cec.message();
            break;
          }
          beast::error_code ignored;
          conn->socket.set_option(tcp::no_delay(true), ignored);  // best effort
          conn->socket.non_blocking(true, ignored);
        }

        // Until the first response byte, the group's first-byte timeout (if shorter) applies;
        // the whole response must come within the upstream timeout.
        deadline udl(w.deadlines, conn->socket);
        const auto first_byte = target.first_byte_timeout();
        bool awaiting_first_byte = first_byte.count() > 0 && first_byte < o.upstream_timeout;
        auto sent_at = clock::now();
        udl.expires_at(sent_at + (awaiting_first_byte ? first_byte : o.upstream_timeout));
        {
          // A request this edge may resend after the first-byte timeout carries a deadline of
          // half that timeout from now (or the received one, if earlier): a target that starts
          // it in time normally answers before the resend, and one that did not start it in
          // time (a frozen region, thawed later) refuses it instead of applying it twice. Only
          // when there is another endpoint to resend to: with none (a 100 % / 0 % dial), the
          // request waits for this one as it would without deadlines.
          std::int64_t attempt_deadline = received_deadline;
          if (retryable && awaiting_first_byte &&
              w.route.route(path, w.draw(client_hash), tried).target) {
            const std::int64_t own = request_deadline::now_ms() + first_byte.count() / 2;
            if (attempt_deadline == 0 || own < attempt_deadline) attempt_deadline = own;
          }
          write_deadline_field(up_head, deadline_at, deadline_len, attempt_deadline);
        }
        // A parser per response: interim (1xx) responses before the final one are read and
        // dropped — each is a whole message to the parser, and taking one for the answer
        // would leave the final response on the connection for the next request. (Made after
        // the request went, or, for a streamed one, before: its response is read meanwhile.)
        std::optional<downstream_response_parser> rpo;
        auto new_response = [&] {
          rpo.emplace(res_head, res_body, version, is_head);
          rpo->set_limits(response_header_limit, o.body_limit, o.stream_threshold);
          rpo->eager(true);
        };
        bool interim_seen = false;
        if (stream_up) {
          new_response();
          // The head and what is here of the body, then the rest as the client sends it: a
          // piece is read from the client only once the one before it went to the target; each
          // read and each write has its own timeout (request_timeout, upstream_timeout). The
          // response is read meanwhile: an early answer ends the exchange.
          const auto x = co_await exchange_streamed_request(
              w, client, dl, buffer, parser, up_head, up_body, *conn, udl, target, rpo, res_head,
              res_body, version, is_head, interim_seen, awaiting_first_byte);
          if (x.over) {
            // The target answered (or failed) before the whole body went: the upload stopped,
            // the connection to it is closed (it goes out of scope, never pooled), and so is the
            // client's after the answer (the rest of its body is not read).
            give_up = true;
            keep_alive = false;
            body_left_unread = !parser.is_done();
            if (x.answered) {
              answered = true;
              status = x.status;
              if (x.streamed_out)
                streamed = x.client_gone ? streamed_out_client_gone : streamed_out;
            } else {
              fail_status = x.response == beast::error::timeout ? 504 : 502;
              fail_message = "upstream " + target.id() +
                             " failed before the request body went: " + x.response.message();
              target.count_response(fail_status);
            }
            break;
          }
          auto [uec, cec] = x.upload;
          ec = uec;
          if (cec) {
            // The client stopped mid-upload: the target's connection is closed (it goes out of
            // scope, never pooled), and nothing answers as if the request had gone through.
            give_up = true;
            routed_once = true;
            if (cec == beast::error::timeout) {
              fail_status = 408;
              fail_message = "request body not received in time";
            } else if (cec == bhttp::error::body_limit) {
              fail_status = 413;
              fail_message = "request body too large";
            } else if (cec.category() == beast::error_code(bhttp::error::bad_chunk).category() &&
                       cec != bhttp::error::partial_message) {
              fail_status = 400;
              fail_message = "malformed HTTP request body: " + cec.message();
            } else {
              streamed = silent_close;
            }
            spdlog::debug("edge: client stopped sending the body of {}: {}", path, cec.message());
            break;
          }
          if (ec) {
            // The target stopped taking the body: nothing came back, and it cannot go elsewhere.
            fail_status = ec == beast::error::timeout ? 504 : 502;
            fail_message =
                "upstream " + target.id() + " did not take the request body: " + ec.message();
            target.count_response(fail_status);
            give_up = true;
            break;
          }
          // The whole request went: the response's timeouts start now.
          sent_at = clock::now();
          udl.expires_at(sent_at + (awaiting_first_byte ? first_byte : o.upstream_timeout));
        } else {
          std::string_view head = up_head, body = up_body;
          if (!send_now(conn->socket, head, body, ec) && !ec) {
            ec = co_await send_rest(conn->socket, head, body);
          }
          new_response();
        }
        while (!ec) {
          const auto st = parse_buffered(*rpo, conn->buffer, false, ec);
          if (st == parse_state::done && rpo->status() / 100 == 1) {
            if (rpo->status() == 101) {
              // The edge forwards no Upgrade, so a switch of protocols is the upstream's error.
              ec = bhttp::error::bad_status;
              break;
            }
            interim_seen = true;
            new_response();
            continue;
          }
          if (st != parse_state::need_more) break;
          if (rpo->is_header_done() && should_stream(*rpo, res_head, res_body.size(), o)) {
            // The head goes out now, then the body as it comes (relay_response_body).
            streamed = streamed_out;
            answered = true;
            status = rpo->status();
            target.count_response(status);
            keep_alive = client_keep_alive && !w.stopping->load(std::memory_order_relaxed);
            const bool has_length = rpo->content_length().has_value();
            const bool chunked_out = !has_length && version >= 11;
            if (!has_length && version < 11) keep_alive = false;  // ends when the edge closes
            rpo->finish_streamed(keep_alive);
            if (resent) {
              res_head.insert(res_head.size() - 2, "X-Edge-Resent: ");
              res_head.insert(res_head.size() - 2, resent);
              res_head.insert(res_head.size() - 2, "\r\n");
            }
            const auto relayed = co_await relay_response_body(client, dl, *conn, udl, *rpo,
                                                              res_head, res_body, chunked_out, o);
            ec = relayed.upstream;
            if (relayed.client_gone) streamed = streamed_out_client_gone;
            break;
          }
          if (chunk_line_over_limit(*rpo, conn->buffer, response_header_limit)) {
            ec = bhttp::error::bad_chunk;
            break;
          }
          if (udl.fired()) {  // as for the client's reads above: a fire that hit no read
            ec = asio::error::operation_aborted;
            break;
          }
          auto [rec, n] = co_await conn->socket.async_read_some(
              conn->buffer.prepare(beast::read_size(conn->buffer, read_chunk)),
              asio::as_tuple(asio::use_awaitable));
          if (rec) {
            ec = rec == asio::error::eof ? at_eof(*rpo) : rec;
            if (!ec && !rpo->is_done()) ec = bhttp::error::partial_message;
            break;
          }
          conn->buffer.commit(n);
          if (awaiting_first_byte) {
            awaiting_first_byte = false;
            target.note_response(clock::now());  // it answers: passive health keeps it
            udl.expires_at(sent_at + o.upstream_timeout);
          }
        }
        if (ec == asio::error::operation_aborted && udl.fired()) ec = beast::error::timeout;
        auto& rp = *rpo;
        if (streamed != not_streamed) {
          const bool client_gone = streamed == streamed_out_client_gone;
          // The head went out: the answer is this one, whatever happens now.
          if (!ec && !client_gone && rp.keep_alive() && !target.is_draining() &&
              !w.stopping->load(std::memory_order_relaxed)) {
            target.pool().give(w.index, std::move(conn), 64);
          } else {
            // Not pooled: closed as it goes out of scope.
            if (ec && !client_gone) {
              // Too late for a 502 / 504: the client sees a short body or no last chunk, and a
              // closed connection.
              target.count_cut_response();
              spdlog::debug("edge: response to {} from {} cut mid-body: {}", path, target.id(),
                            ec.message());
            }
            if (ec || client_gone) keep_alive = false;
          }
          break;
        }
        if (!ec && !stream_up && is_unrouted_response(rp.status(), res_head)) {
          // The target is an edge with nothing behind it (a region whose services are scaled
          // to zero): nothing was processed, so any request may go to another endpoint.
          target.count_response(503);
          if (rp.keep_alive() && !target.is_draining()) {
            target.pool().give(w.index, std::move(conn), 64);
          }
          fail_status = 503;
          fail_message = "no healthy target behind " + target.id();
          break;
        }
        if (!ec && !stream_up && is_expired_response(rp.status(), res_head)) {
          // The target refused it, its deadline passed (a slow region): nothing was applied, so
          // it may go to another endpoint with a deadline of its own.
          target.count_response(504);
          if (rp.keep_alive() && !target.is_draining()) {
            target.pool().give(w.index, std::move(conn), 64);
          }
          fail_status = 504;
          fail_message = "deadline passed before " + target.id() + " started the request";
          expired_unapplied = resent == nullptr;
          break;
        }
        if (!ec) {
          answered = true;
          status = rp.status();
          target.count_response(status);
          const bool stopping = w.stopping->load(std::memory_order_relaxed);
          keep_alive = client_keep_alive && !stopping;
          rp.finish(keep_alive);
          if (resent) {
            res_head.insert(res_head.size() - 2, "X-Edge-Resent: ");
            res_head.insert(res_head.size() - 2, resent);
            res_head.insert(res_head.size() - 2, "\r\n");
          }
          if (rp.keep_alive() && !target.is_draining() && !stopping) {
            target.pool().give(w.index, std::move(conn), 64);
          } else {
            beast::error_code ignored;
            conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
          }
          break;
        }
        const bool nothing_received = !interim_seen && !rp.got_some() && conn->buffer.size() == 0;
        if (ec == beast::error::timeout && awaiting_first_byte && nothing_received) {
          // No response byte within the first-byte timeout: a frozen or cut-off target (or a
          // very slow request). This connection is closed (it goes out of scope); passive
          // health takes the target out of rotation if nothing else came back from it since;
          // a retryable request goes to another target, though this one may still act on it.
          target.first_byte_timed_out(sent_at);
          fail_status = 504;
          fail_message = "no response byte from " + target.id() + " within " +
                         std::to_string(first_byte.count()) + " ms";
          if (retryable) {
            resent = "first-byte-timeout";
            spdlog::debug("edge: retrying {} after {}", path, fail_message);
          } else {
            target.count_response(504);
            give_up = true;  // it may still act on it: never send it twice
          }
          break;
        }
        if (ec == beast::error::timeout) {
          target.count_response(504);
          fail_status = 504;
          fail_message = "no response from " + target.id() + " in time";
          give_up = true;  // the target may still be working on it: never send it twice
          break;
        }
        if (reused && nothing_received && may_replay) {
          // The target had closed this pooled connection, and likely the others it had with
          // this worker (a restart): drop them and send the request again on a new connection.
          may_replay = false;
          ec = {};
          target.pool().close_all(w.index);
          continue;
        }
        fail_status = 502;
        fail_message = "upstream " + target.id() + " failed: " + ec.message();
        if (!nothing_received || !retryable) {
          target.count_response(502);
          give_up = true;
        } else {
          resent = "connection-lost";  // the target may have acted on it before failing
          spdlog::debug("edge: retrying {} after {}", path, fail_message);
        }
        break;
      }
      ec = {};
      if (give_up) break;
    }
    if (!answered) {
      if (fail_message.empty()) fail_message = "no healthy target";
      status = fail_status;
      keep_alive = client_keep_alive && !w.stopping->load(std::memory_order_relaxed);
      // The rest of a streamed request body is still on the connection.
      if (stream_up && !parser.is_done()) {
        keep_alive = false;
        body_left_unread = true;
      }
      write_error_response(res_head, res_body, status, fail_message, version, keep_alive);
      if (expired_unapplied) {
        res_head.insert(res_head.size() - 2, expired_field);
      } else if (!routed_once) {
        res_head.insert(res_head.size() - 2, unrouted_field);
      }
    }
    w.in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (streamed == silent_close) break;

    // Answer the client (a streamed response went already).
    stats.count_response(status);
    beast::error_code wec;
    if (streamed == streamed_out_client_gone) {
      wec = asio::error::broken_pipe;
    } else if (streamed == not_streamed) {
      std::string_view head = res_head;
      std::string_view body = is_head ? std::string_view() : std::string_view(res_body);
      if (!send_now(client, head, body, wec) && !wec) {
        dl.expires_after(o.request_timeout);
        wec = co_await send_rest(client, head, body);
      }
    }
    if (latency) {
      latency->observe(std::chrono::duration<double>(clock::now() - started_at).count());
    }
    if (wec || !keep_alive) {
      if (wec) body_left_unread = false;  // the client is gone
      break;
    }
    // A connection keeps its strings' capacity for the next request, but not a large body's.
    constexpr std::size_t keep_capacity = 64 * 1024;
    if (up_body.capacity() > keep_capacity) std::string().swap(up_body);
    if (res_body.capacity() > keep_capacity) std::string().swap(res_body);
  }
  if (body_left_unread) co_await linger_close(client, dl, o);
  beast::error_code ignored;
  client.shutdown(tcp::socket::shutdown_both, ignored);
  client.close(ignored);
}

}  // namespace mysfits::edge
