// The HTTP-aware session and its forwarding (with retries) of one request.
#include "proxy/downstream_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>

#include "balance/endpoint_group.h"

namespace mysfits::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

bool is_retryable_request(bhttp::verb method, bool has_idempotency_key) {
  switch (method) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::trace:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
      return true;
    default:
      return has_idempotency_key;
  }
}

namespace {

response error_response(unsigned status, std::string_view message, unsigned version) {
  response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "text/plain");
  res.set(bhttp::field::server, "mysfits-edge");
  res.body() = std::to_string(status) + " " + std::string(bhttp::obsolete_reason(res.result())) +
               ": " + std::string(message) + "\n";
  res.prepare_payload();
  return res;
}

void strip_hop_by_hop(bhttp::fields& f) {
  // Named in Connection too (RFC 9110 §7.6.1), but the fixed set is what clients send.
  for (auto field : {bhttp::field::connection, bhttp::field::keep_alive,
                     bhttp::field::proxy_connection, bhttp::field::te, bhttp::field::trailer,
                     bhttp::field::upgrade, bhttp::field::transfer_encoding}) {
    f.erase(field);
  }
}

std::string_view path_of(std::string_view target) {
  auto q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

struct forward_result {
  response res;
  endpoint_ptr target;
  metrics::histogram* latency = nullptr;
};

// Sends `up` (already rewritten for the upstream) to a target and reads the answer, retrying on
// another target when that is safe. Always yields a response, an error one if need be.
asio::awaitable<forward_result> forward(worker_context& w, const request& up, bool retryable,
                                        std::uint64_t client_hash) {
  const auto& o = w.opts;
  const bool is_head = up.method() == bhttp::verb::head;
  const std::string_view path = path_of(up.target());
  exclusion tried;
  forward_result out;
  unsigned fail_status = 503;
  std::string fail_message = "no healthy target";
  bool routed_once = false;
  for (int attempt = 0; attempt < o.max_attempts; ++attempt) {
    auto rr = w.route.route(path, w.draw(client_hash), tried);
    if (!rr.target) {
      if (!routed_once) fail_message = "no healthy target in group " + std::string(rr.group);
      break;
    }
    routed_once = true;
    out.latency = rr.latency;
    auto target = rr.target;
    tried.push_back(target.get());
    target->outstanding().fetch_add(1, std::memory_order_relaxed);
    struct outstanding_guard {
      endpoint* e;
      ~outstanding_guard() { e->outstanding().fetch_sub(1, std::memory_order_relaxed); }
    } guard{target.get()};

    auto conn = target->pool().take(w.index, o.upstream_idle_timeout);
    if (!conn) {
      conn = std::make_unique<upstream_connection>(beast::tcp_stream(w.io));
      conn->stream.expires_after(o.connect_timeout);
      auto [cec] = co_await conn->stream.async_connect(target->address(),
                                                       asio::as_tuple(asio::use_awaitable));
      if (cec) {
        // Nothing was sent: any request may go elsewhere.
        fail_status = 502;
        fail_message = "cannot connect to " + target->id() + ": " + cec.message();
        continue;
      }
      beast::error_code ignored;
      conn->stream.socket().set_option(tcp::no_delay(true), ignored);  // best effort
    }

    conn->stream.expires_after(o.upstream_timeout);
    auto [wec, wn] =
        co_await bhttp::async_write(conn->stream, up, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    beast::error_code rec;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(o.body_limit);
    parser.header_limit(64 * 1024);
    if (is_head) parser.skip(true);
    if (!wec) {
      auto [ec, rn] = co_await bhttp::async_read(conn->stream, conn->buffer, parser,
                                                 asio::as_tuple(asio::use_awaitable));
      (void)rn;
      rec = ec;
    }
    auto ec = wec ? wec : rec;
    if (!ec) {
      out.res = parser.release();
      out.target = target;
      target->count_response(out.res.result_int());
      bool reusable = out.res.keep_alive() && !target->is_draining() && !w.stopping->load();
      if (reusable) {
        target->pool().give(w.index, std::move(conn), 64);
      } else {
        beast::error_code ignored;
        conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      }
      co_return out;
    }
    const bool nothing_received = !parser.got_some() && conn->buffer.size() == 0;
    if (ec == beast::error::timeout) {
      target->count_response(504);
      fail_status = 504;
      fail_message = "no response from " + target->id() + " in time";
      break;  // the target may still be working on it: never send it twice
    }
    fail_status = 502;
    fail_message = "upstream " + target->id() + " failed: " + ec.message();
    if (!nothing_received || !retryable) {
      target->count_response(502);
      break;
    }
    spdlog::debug("edge: retrying {} {} after {}", up.method_string(), up.target(), fail_message);
  }
  out.res = error_response(fail_status, fail_message, 11);
  co_return out;
}

struct read_deadline {
  explicit read_deadline(beast::tcp_stream& s) : stream(s), timer(s.get_executor()) {}
  beast::tcp_stream& stream;
  asio::steady_timer timer;
  bool fired = false;
  std::uint64_t generation = 0;  // a late handler of an earlier arm() must not cancel a new read
  // tcp_stream's own expiry closes the socket, which would leave no way to answer 408, so a
  // separate timer cancels the pending read instead.
  void arm(std::chrono::milliseconds d) {
    fired = false;
    stream.expires_never();
    timer.expires_after(d);
    timer.async_wait([this, gen = ++generation](const beast::error_code& ec) {
      if (ec) return;  // re-armed or cancelled; `this` may be gone only in that case
      if (gen != generation) return;
      fired = true;
      beast::error_code ignored;
      stream.socket().cancel(ignored);
    });
  }
  void disarm() {
    ++generation;
    timer.cancel();
  }
};

asio::awaitable<void> write_response(beast::tcp_stream& s, response& res,
                                     std::chrono::milliseconds timeout, beast::error_code& ec) {
  s.expires_after(timeout);
  auto [wec, n] = co_await bhttp::async_write(s, res, asio::as_tuple(asio::use_awaitable));
  (void)n;
  ec = wec;
}

}  // namespace

void prepare_upstream_request(bhttp::request<bhttp::string_body>& req, const std::string& client_ip,
                              std::uint16_t listener_port) {
  // HTTP/1.1 keep-alive to the upstream, forwarding headers, no hop-by-hop ones.
  strip_hop_by_hop(req.base());
  req.erase(bhttp::field::expect);
  std::string xff(req["X-Forwarded-For"]);
  req.set("X-Forwarded-For", xff.empty() ? client_ip : xff + ", " + client_ip);
  req.set("X-Forwarded-Proto", "http");
  req.set("X-Forwarded-Port", std::to_string(listener_port));
  req.version(11);
  req.keep_alive(true);
  req.prepare_payload();
}

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
  beast::tcp_stream down(std::move(client));
  beast::flat_buffer buffer;
  read_deadline deadline(down);

  for (;;) {
    if (w.stopping->load()) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(o.header_limit);
    parser.body_limit(o.body_limit);
    if (buffer.size() == 0) {
      // Idle keep-alive: wait for the next request's first byte under the idle timeout (an
      // idle client is closed without a word); the request itself then gets request_timeout.
      deadline.arm(o.idle_timeout);
      auto [wec] = co_await down.socket().async_wait(tcp::socket::wait_read,
                                                     asio::as_tuple(asio::use_awaitable));
      deadline.disarm();
      if (wec || deadline.fired) break;
    }
    deadline.arm(o.request_timeout);
    auto [rec, rn] = co_await bhttp::async_read_header(down, buffer, parser,
                                                       asio::as_tuple(asio::use_awaitable));
    (void)rn;
    ec = rec;
    if (!ec && !parser.is_done()) {
      if (parser.get()[bhttp::field::expect] == "100-continue") {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        down.expires_after(o.request_timeout);
        auto [cec, cn] =
            co_await bhttp::async_write(down, cont, asio::as_tuple(asio::use_awaitable));
        (void)cn;
        if (cec) break;
      }
      deadline.arm(o.request_timeout);
      auto [bec, bn] =
          co_await bhttp::async_read(down, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)bn;
      ec = bec;
    }
    deadline.disarm();
    if (ec == asio::error::operation_aborted && deadline.fired) ec = beast::error::timeout;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
        break;
      }
      unsigned status = 400;
      std::string message = "malformed HTTP request: " + ec.message();
      if (ec == bhttp::error::body_limit) {
        status = 413;
        message = "request body too large";
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        message = "request headers too large";
      } else if (ec == beast::error::timeout) {
        if (buffer.size() == 0 && !parser.got_some()) break;  // idle keep-alive: just close
        status = 408;
        message = "request not received in time";
      }
      auto res = error_response(status, message, 11);
      res.keep_alive(false);
      stats.count_response(status);
      beast::error_code ignored;
      down.socket().shutdown(tcp::socket::shutdown_receive, ignored);
      co_await write_response(down, res, o.request_timeout, ignored);
      break;
    }

    const auto started = std::chrono::steady_clock::now();
    request req = parser.release();
    const bool client_keep_alive = req.keep_alive();
    const unsigned version = req.version();
    const bool is_head = req.method() == bhttp::verb::head;
    const bool retryable =
        is_retryable_request(req.method(), req.find("Idempotency-Key") != req.end());

    prepare_upstream_request(req, client_ip, stats.port);

    w.in_flight->fetch_add(1);
    auto fr = co_await forward(w, req, retryable, client_hash);
    w.in_flight->fetch_sub(1);

    response& res = fr.res;
    strip_hop_by_hop(res.base());
    res.version(version);
    res.keep_alive(client_keep_alive && !w.stopping->load());
    if (!is_head) res.prepare_payload();
    const unsigned status = res.result_int();
    stats.count_response(status);
    beast::error_code wec;
    co_await write_response(down, res, o.request_timeout, wec);
    if (fr.latency) {
      fr.latency->observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  down.socket().shutdown(tcp::socket::shutdown_both, ignored);
  down.socket().close(ignored);
}

}  // namespace mysfits::edge
