// The HTTP-aware session and its forwarding (with retries) of one request.
//
// Per request, on the usual path: the client's request is parsed straight from the connection's
// read buffer into the upstream request (http_codec.h: no message object, no per-field
// allocations; the strings are the connection's and keep their capacity), sent with one
// sendmsg of head + body on a pooled connection, the response parsed straight into the
// client's response and sent with one sendmsg. Deadlines are per-socket time points that the
// worker's ticker checks (deadline.h), so no timer is armed or cancelled per request.
#include "proxy/downstream_session.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>
#include <functional>

#include "balance/endpoint_group.h"

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
}

namespace {

std::string_view path_of(std::string_view target) {
  auto q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// The strings a client connection reuses for every request it sends.
struct exchange {
  std::string up_head, up_body;    // the request for the upstream
  std::string res_head, res_body;  // the response for the client
};

struct request_info {
  std::string_view path;
  bool retryable = false;
  bool is_head = false;
  unsigned client_version = 11;
  bool client_keep_alive = true;
};

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

// Feeds `buf` to `p`, reading more from `s` as needed, until `p` is done (or has the whole
// header, with `header_only`) — what beast::http::async_read / async_read_header do, with the
// same errors (end_of_stream when the peer closed before a byte, partial_message, the parser's
// own). When the message's first byte is at hand, `started` is set and, if
// `first_byte_timeout` is set, the deadline moved to that long from then.
template <class Parser>
asio::awaitable<beast::error_code> read_message(tcp::socket& s, beast::flat_buffer& buf, Parser& p,
                                                bool header_only, deadline& dl,
                                                std::chrono::milliseconds first_byte_timeout,
                                                bool& started) {
  beast::error_code ec;
  for (;;) {
    if (buf.size() > 0) {
      if (!started) {
        started = true;
        if (first_byte_timeout.count() > 0) dl.expires_after(first_byte_timeout);
      }
      const auto used = p.put(buf.data(), ec);
      buf.consume(used);
      if (ec && ec != bhttp::error::need_more) co_return ec;
      if (p.is_done() || (header_only && p.is_header_done())) co_return beast::error_code{};
      const bool progress = !ec && used > 0 && buf.size() > 0;
      ec = {};
      if (progress) continue;
    }
    auto [rec, n] = co_await s.async_read_some(buf.prepare(beast::read_size(buf, 65536)),
                                               asio::as_tuple(asio::use_awaitable));
    if (rec == asio::error::eof) {
      if (!p.got_some()) co_return bhttp::error::end_of_stream;
      p.put_eof(ec);
      co_return ec;
    }
    if (rec) co_return rec;
    buf.commit(n);
  }
}

enum class attempt_result { answered, try_next, give_up };

struct forward_result {
  metrics::histogram* latency = nullptr;  // the chosen group's
  unsigned status = 0;                    // what the client gets
  bool keep_alive = false;                // the client connection stays open after it
};

// One try of the request in `x.up_head` / `x.up_body` on `target`, over a pooled connection or
// a new one. On `answered`, `x.res_head` / `x.res_body` hold the response for the client.
asio::awaitable<attempt_result> try_target(worker_context& w, exchange& x, endpoint& target,
                                           const request_info& rq, forward_result& out,
                                           unsigned& fail_status, std::string& fail_message) {
  const auto& o = w.opts;
  // A pooled connection is checked for liveness (a peek, one syscall) only for a request that
  // could not be sent again: a replayable one that fails on a pooled connection before any
  // response byte is sent again once, on a new connection to the same target.
  bool may_replay = rq.retryable;
  for (;;) {
    auto conn = target.pool().take(w.index, o.upstream_idle_timeout, !rq.retryable);
    const bool reused = conn != nullptr;
    if (!conn) {
      conn = std::make_unique<upstream_connection>(tcp::socket(w.io));
      deadline cdl(w.deadlines, conn->socket);
      cdl.expires_after(o.connect_timeout);
      auto [cec] = co_await conn->socket.async_connect(target.address(),
                                                       asio::as_tuple(asio::use_awaitable));
      if (cec == asio::error::operation_aborted && cdl.fired()) cec = beast::error::timeout;
      if (cec) {
        // Nothing was sent: any request may go elsewhere.
        fail_status = 502;
        fail_message = "cannot connect to " + target.id() + ": " + cec.message();
        co_return attempt_result::try_next;
      }
      beast::error_code ignored;
      conn->socket.set_option(tcp::no_delay(true), ignored);  // best effort
      conn->socket.non_blocking(true, ignored);
    }

    deadline dl(w.deadlines, conn->socket);
    dl.expires_after(o.upstream_timeout);
    beast::error_code ec;
    std::string_view head = x.up_head, body = x.up_body;
    if (!send_now(conn->socket, head, body, ec) && !ec) {
      ec = co_await send_rest(conn->socket, head, body);
    }
    downstream_response_parser parser(x.res_head, x.res_body, rq.client_version, rq.is_head);
    parser.body_limit(o.body_limit);
    parser.header_limit(64 * 1024);
    bool started = false;
    if (!ec) {
      ec = co_await read_message(conn->socket, conn->buffer, parser, false, dl,
                                 std::chrono::milliseconds(0), started);
    }
    if (ec == asio::error::operation_aborted && dl.fired()) ec = beast::error::timeout;
    if (!ec) {
      out.status = parser.status();
      target.count_response(out.status);
      const bool stopping = w.stopping->load(std::memory_order_relaxed);
      out.keep_alive = rq.client_keep_alive && !stopping;
      parser.finish(out.keep_alive);
      if (parser.keep_alive() && !target.is_draining() && !stopping) {
        target.pool().give(w.index, std::move(conn), 64);
      } else {
        beast::error_code ignored;
        conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
      }
      co_return attempt_result::answered;
    }
    const bool nothing_received = !parser.got_some() && conn->buffer.size() == 0;
    if (ec == beast::error::timeout) {
      target.count_response(504);
      fail_status = 504;
      fail_message = "no response from " + target.id() + " in time";
      co_return attempt_result::give_up;  // the target may still be working on it: never twice
    }
    if (reused && nothing_received && may_replay) {
      // The target had closed this pooled connection, and likely the others it had with this
      // worker (a restart): drop them and send the request again on a new connection.
      may_replay = false;
      target.pool().close_all(w.index);
      continue;
    }
    fail_status = 502;
    fail_message = "upstream " + target.id() + " failed: " + ec.message();
    if (!nothing_received || !rq.retryable) {
      target.count_response(502);
      co_return attempt_result::give_up;
    }
    spdlog::debug("edge: retrying {} after {}", rq.path, fail_message);
    co_return attempt_result::try_next;
  }
}

// Sends the request to a target and reads the answer into `x.res_head` / `x.res_body`,
// retrying on another target when that is safe. Always yields a response, an error one if
// need be.
asio::awaitable<forward_result> forward(worker_context& w, exchange& x, const request_info& rq,
                                        std::uint64_t client_hash) {
  const auto& o = w.opts;
  exclusion tried;
  forward_result out;
  unsigned fail_status = 503;
  std::string fail_message;  // built only when something fails
  bool routed_once = false;
  for (int attempt = 0; attempt < o.max_attempts; ++attempt) {
    auto rr = w.route.route(rq.path, w.draw(client_hash), tried);
    if (!rr.target) {
      if (!routed_once) fail_message = "no healthy target in group " + std::string(rr.group);
      break;
    }
    routed_once = true;
    out.latency = rr.latency;
    tried.push_back(rr.target.get());
    rr.target->outstanding().fetch_add(1, std::memory_order_relaxed);
    struct outstanding_guard {
      endpoint* e;
      ~outstanding_guard() { e->outstanding().fetch_sub(1, std::memory_order_relaxed); }
    } guard{rr.target.get()};
    auto r = co_await try_target(w, x, *rr.target, rq, out, fail_status, fail_message);
    if (r == attempt_result::answered) co_return out;
    if (r == attempt_result::give_up) break;
  }
  if (fail_message.empty()) fail_message = "no healthy target";
  out.status = fail_status;
  out.keep_alive = rq.client_keep_alive && !w.stopping->load(std::memory_order_relaxed);
  write_error_response(x.res_head, x.res_body, fail_status, fail_message, rq.client_version,
                       out.keep_alive);
  co_return out;
}

}  // namespace

asio::awaitable<void> run_http_session(worker_context& w, listener_stats& stats,
                                       tcp::socket client) {
  const auto& o = w.opts;
  stats.active_connections->inc();
  struct active_guard {
    listener_stats& s;
    ~active_guard() { s.active_connections->dec(); }
  } active{stats};

  beast::error_code ec;
  auto peer = client.remote_endpoint(ec);
  const std::string client_ip = ec ? std::string() : peer.address().to_string();
  const std::uint64_t client_hash = mix64(std::hash<std::string>{}(client_ip));
  client.set_option(tcp::no_delay(true), ec);  // best effort
  client.non_blocking(true, ec);               // for send_now; async operations are unaffected
  beast::flat_buffer buffer;
  deadline dl(w.deadlines, client);
  exchange x;

  for (;;) {
    if (w.stopping->load(std::memory_order_relaxed)) break;
    upstream_request_parser parser(x.up_head, x.up_body);
    parser.header_limit(o.header_limit);
    parser.body_limit(o.body_limit);
    // Idle keep-alive: the next request's first byte must come within idle_timeout (an idle
    // client is closed without a word); the whole request then within request_timeout of it.
    bool started = false;
    if (buffer.size() == 0) dl.expires_after(o.idle_timeout);
    ec = co_await read_message(client, buffer, parser, true, dl, o.request_timeout, started);
    if (!ec && !parser.is_done()) {
      if (parser.expects_continue()) {
        std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n", none;
        if (!send_now(client, cont, none, ec) && !ec) ec = co_await send_rest(client, cont, none);
        if (ec) break;
      }
      ec = co_await read_message(client, buffer, parser, false, dl, o.request_timeout, started);
    }
    if (ec == asio::error::operation_aborted && dl.fired()) ec = beast::error::timeout;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
        break;
      }
      unsigned status = 400;
      std::string message;
      if (ec == bhttp::error::body_limit) {
        status = 413;
        message = "request body too large";
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        message = "request headers too large";
      } else if (ec == beast::error::timeout) {
        if (!started) break;  // idle keep-alive: just close
        status = 408;
        message = "request not received in time";
      } else {
        message = "malformed HTTP request: " + ec.message();
      }
      write_error_response(x.res_head, x.res_body, status, message, 11, false);
      stats.count_response(status);
      beast::error_code ignored;
      client.shutdown(tcp::socket::shutdown_receive, ignored);
      std::string_view head = x.res_head, body = x.res_body;
      if (!send_now(client, head, body, ignored) && !ignored) {
        dl.expires_after(o.request_timeout);
        ignored = co_await send_rest(client, head, body);
      }
      break;
    }
    dl.expires_never();  // the client owes nothing while its request is forwarded

    const auto started_at = clock::now();
    request_info rq;
    rq.client_keep_alive = parser.keep_alive();
    rq.client_version = parser.version();
    rq.is_head = parser.method() == bhttp::verb::head;
    rq.retryable = is_retryable_request(parser.method(), parser.has_idempotency_key());
    parser.finish(client_ip, stats.port);
    rq.path = path_of(parser.target());

    w.in_flight.fetch_add(1, std::memory_order_relaxed);
    auto fr = co_await forward(w, x, rq, client_hash);
    w.in_flight.fetch_sub(1, std::memory_order_relaxed);

    stats.count_response(fr.status);
    std::string_view head = x.res_head;
    std::string_view body = rq.is_head ? std::string_view() : std::string_view(x.res_body);
    beast::error_code wec;
    if (!send_now(client, head, body, wec) && !wec) {
      dl.expires_after(o.request_timeout);
      wec = co_await send_rest(client, head, body);
    }
    if (fr.latency) {
      fr.latency->observe(std::chrono::duration<double>(clock::now() - started_at).count());
    }
    if (wec || !fr.keep_alive) break;
    // A connection keeps its strings' capacity for the next request, but not a large body's.
    constexpr std::size_t keep_capacity = 64 * 1024;
    if (x.up_body.capacity() > keep_capacity) std::string().swap(x.up_body);
    if (x.res_body.capacity() > keep_capacity) std::string().swap(x.res_body);
  }
  beast::error_code ignored;
  client.shutdown(tcp::socket::shutdown_both, ignored);
  client.close(ignored);
}

}  // namespace mysfits::edge
