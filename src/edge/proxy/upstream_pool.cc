// upstream_pool: per-worker stacks of idle keep-alive connections (most recently used first).
#include "proxy/upstream_pool.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

namespace mysfits::edge {

namespace {

enum class idle_state { clean, closed, unexpected_bytes };

// What an idle connection has to read, without reading it: nothing (reusable), its end (the
// target closed it) or bytes nobody asked for.
idle_state peek(upstream_connection& c) {
  char byte;
  const ssize_t n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return idle_state::unexpected_bytes;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return idle_state::clean;
  return idle_state::closed;  // 0: end of stream; any error: not known to be clean
}

void close_connection(upstream_connection& c) {
  boost::system::error_code ignored;
  c.socket.close(ignored);
}

}  // namespace

void upstream_pool::drop_unexpected(upstream_connection& c) {
  if (unexpected_) unexpected_->inc();
  boost::system::error_code ec;
  const auto peer = c.socket.remote_endpoint(ec);
  spdlog::debug(
      "edge: closing upstream connection to {}: bytes sent after a complete response",
      ec ? std::string("?") : peer.address().to_string() + ":" + std::to_string(peer.port()));
  close_connection(c);
}

std::unique_ptr<upstream_connection> upstream_pool::take(std::size_t worker,
                                                         std::chrono::milliseconds max_idle) {
  auto& stack = idle_[worker];
  if (stack.empty()) return nullptr;
  auto now = std::chrono::steady_clock::now();
  while (!stack.empty()) {
    auto c = std::move(stack.back());
    stack.pop_back();
    if (!c->socket.is_open() || now - c->idle_since > max_idle) {
      close_connection(*c);
      continue;
    }
    switch (peek(*c)) {
      case idle_state::clean:
        c->reused = true;
        return c;
      case idle_state::unexpected_bytes:
        drop_unexpected(*c);
        break;
      case idle_state::closed:
        close_connection(*c);
        break;
    }
  }
  return nullptr;
}

void upstream_pool::give(std::size_t worker, std::unique_ptr<upstream_connection> c,
                         std::size_t max_per_worker) {
  if (c->buffer.size() != 0) {
    drop_unexpected(*c);  // read along with the response: more than the response was sent
    return;
  }
  auto& stack = idle_[worker];
  if (stack.size() >= max_per_worker) {
    close_connection(*c);
    return;
  }
  c->idle_since = std::chrono::steady_clock::now();
  stack.push_back(std::move(c));
}

void upstream_pool::close_all(std::size_t worker) {
  auto& stack = idle_[worker];
  for (auto& c : stack) {
    boost::system::error_code ignored;
    c->socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
  }
  stack.clear();
}

}  // namespace mysfits::edge
