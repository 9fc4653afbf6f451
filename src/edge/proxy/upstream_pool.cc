// upstream_pool: per-worker stacks of idle keep-alive connections (most recently used first).
#include "proxy/upstream_pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace mysfits::edge {

namespace {

// An idle HTTP/1.1 connection must have nothing to read: 0 bytes means the target closed it,
// data means it sent something unasked. Either way it cannot carry another request.
bool is_reusable(upstream_connection& c, bool check_alive) {
  auto& sock = c.socket;
  if (!sock.is_open() || c.buffer.size() != 0) return false;
  if (!check_alive) return true;
  char byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<upstream_connection> upstream_pool::take(std::size_t worker,
                                                         std::chrono::milliseconds max_idle,
                                                         bool check_alive) {
  auto& stack = idle_[worker];
  if (stack.empty()) return nullptr;
  auto now = std::chrono::steady_clock::now();
  while (!stack.empty()) {
    auto c = std::move(stack.back());
    stack.pop_back();
    if (now - c->idle_since <= max_idle && is_reusable(*c, check_alive || c->peek_before_reuse)) {
      c->reused = true;
      return c;
    }
    boost::system::error_code ignored;
    c->socket.close(ignored);
  }
  return nullptr;
}

void upstream_pool::give(std::size_t worker, std::unique_ptr<upstream_connection> c,
                         std::size_t max_per_worker) {
  auto& stack = idle_[worker];
  if (stack.size() >= max_per_worker) {
    boost::system::error_code ignored;
    c->socket.close(ignored);
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
