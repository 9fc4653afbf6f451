// listener: bind, accept loop, hand-off to workers.
#include "proxy/listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>

#include "mysfits/common/log.h"
#include "proxy/downstream_session.h"

namespace mysfits::edge {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

listener::listener(std::vector<worker_context*> workers, forwarding_mode mode)
    : workers_(std::move(workers)), mode_(mode), acceptor_(std::in_place, workers_.front()->io) {}

result<void> listener::start(const std::string& address, std::uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return error::invalid_argument("bad listen address '" + address + "'");
  tcp::endpoint ep{addr, port};
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return error::io("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                     ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  stats_ = std::make_unique<listener_stats>(
      std::string(mode_ == forwarding_mode::http ? "http:" : "tcp:") + std::to_string(port_));
  stats_->port = port_;
  asio::co_spawn(workers_.front()->io, accept_loop(), [](std::exception_ptr e) {
    if (e) spdlog::error("edge: accept loop ended with an exception");
  });
  return ok();
}

void listener::stop() {
  asio::post(workers_.front()->io, [this] {
    boost::system::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
  });
}

void listener::release() { acceptor_.reset(); }

asio::awaitable<void> listener::accept_loop() {
  std::size_t next = 0;
  log::every warn_every(std::chrono::seconds(1));
  for (;;) {
    auto* w = workers_[next++ % workers_.size()];
    auto [ec, sock] = co_await acceptor_->async_accept(w->io, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      if (auto n = warn_every.occurred(std::chrono::steady_clock::now()))
        spdlog::warn("edge: accept failed: {}{}", ec.message(), log::every::passed_over(n));
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer t(acceptor_->get_executor(), std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto on_done = [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("edge: session ended with an exception: {}", ex.what());
      }
    };
    // The session runs on the accepting worker's single-threaded loop: its implicit strand.
    if (mode_ == forwarding_mode::http) {
      asio::co_spawn(w->io, run_http_session(*w, *stats_, std::move(sock)), on_done);
    } else {
      asio::co_spawn(w->io, run_tcp_session(*w, *stats_, std::move(sock)), on_done);
    }
  }
}

}  // namespace mysfits::edge
