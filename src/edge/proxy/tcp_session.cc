// TCP pass-through (what Global Accelerator does): connect to one endpoint (trying another if
// the connect fails), then copy bytes both ways until either side closes or the connection
// idles out. Deregistration closes it after the delay through the endpoint's registry.
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <functional>

#include "balance/endpoint_group.h"
#include "proxy/downstream_session.h"

namespace mysfits::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using clock = std::chrono::steady_clock;

namespace {

struct spliced {
  spliced(tcp::socket d, asio::io_context& io) : down(std::move(d)), up(io) {}
  tcp::socket down;
  tcp::socket up;
  clock::time_point last_activity = clock::now();
  void close() {
    beast::error_code ignored;
    down.shutdown(tcp::socket::shutdown_both, ignored);
    up.shutdown(tcp::socket::shutdown_both, ignored);
    down.close(ignored);
    up.close(ignored);
  }
};

// Copies from -> to until EOF or error; on EOF passes the half-close on.
asio::awaitable<void> pump(std::shared_ptr<spliced> s, tcp::socket& from, tcp::socket& to) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    auto [rec, n] =
        co_await from.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec) {
      beast::error_code ignored;
      if (rec == asio::error::eof) {
        to.shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        s->close();
      }
      co_return;
    }
    s->last_activity = clock::now();
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n),
                                                asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) {
      s->close();
      co_return;
    }
  }
}

// Returns once the connection has been idle for `idle` (which ends the splice).
asio::awaitable<void> watchdog(std::shared_ptr<spliced> s, std::chrono::milliseconds idle) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (;;) {
    auto due = s->last_activity + idle;
    if (clock::now() >= due) co_return;
    t.expires_at(due);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace

asio::awaitable<void> run_tcp_session(worker_context& w, listener_stats& stats,
                                      tcp::socket client) {
  const open_connection counted(w, stats);

  beast::error_code ec;
  auto peer = client.remote_endpoint(ec);
  const std::string client_ip = ec ? std::string() : peer.address().to_string();
  const std::uint64_t client_hash = mix64(std::hash<std::string>{}(client_ip));
  client.set_option(tcp::no_delay(true), ec);  // best effort
  auto s = std::make_shared<spliced>(std::move(client), w.io);

  exclusion tried;
  endpoint_ptr target;
  for (int attempt = 0; attempt < w.opts.max_attempts && !target; ++attempt) {
    auto rr = w.route.route("", w.draw(client_hash), tried);
    if (!rr.target) break;
    tried.push_back(rr.target.get());
    beast::tcp_stream conn(w.io);
    conn.expires_after(w.opts.connect_timeout);
    auto [cec] =
        co_await conn.async_connect(rr.target->address(), asio::as_tuple(asio::use_awaitable));
    if (cec) continue;
    conn.expires_never();
    s->up = conn.release_socket();
    s->up.set_option(tcp::no_delay(true), ec);
    target = rr.target;
  }
  if (!target) {
    stats.count_response(503);
    s->close();
    co_return;
  }
  target->add_outstanding(w.index, 1);
  auto id = target->track_connection([s, &io = w.io] { asio::post(io, [s] { s->close(); }); });
  co_await ((pump(s, s->down, s->up) && pump(s, s->up, s->down)) ||
            watchdog(s, w.opts.idle_timeout));
  target->untrack_connection(id);
  target->add_outstanding(w.index, -1);
  target->count_response(200);  // a completed pass-through connection
  stats.count_response(200);
  s->close();
}

}  // namespace mysfits::edge
