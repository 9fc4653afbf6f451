// Keep-alive connections to one target, kept per worker thread so a worker reuses its own
// connections without locks (each worker runs one event loop). HTTP sessions take a connection,
// send one request, and give it back if the response allowed keep-alive and the target is not
// draining. An idle HTTP/1.1 connection must have nothing to read: the pool never hands out one
// on which the target sent bytes unasked (a second response, garbage) or that it closed.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "mysfits/common/metrics.h"

namespace mysfits::edge {

struct upstream_connection {
  explicit upstream_connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};
  bool reused = false;  // served an earlier request (so a failure may be a stale connection)
};

class upstream_pool {
 public:
  // `unexpected` (may be null) counts the connections dropped for bytes the target sent unasked.
  explicit upstream_pool(std::size_t workers, metrics::counter* unexpected = nullptr)
      : idle_(workers), unexpected_(unexpected) {}

  // An idle connection of this worker, or null. Drops connections idle longer than `max_idle`,
  // and, after one non-blocking peek per connection (a syscall), ones the target has closed or
  // sent bytes on unasked since they were given back (counted). A target may still close a
  // connection after the peek: the caller treats a failure before any response byte on a
  // reused connection as a stale connection. Worker thread only.
  std::unique_ptr<upstream_connection> take(std::size_t worker, std::chrono::milliseconds max_idle);
  // Keeps a connection for reuse (at most `max_per_worker`; extra ones are closed). A
  // connection whose read buffer still holds bytes after the response (sent with it, unasked)
  // is closed instead (counted).
  void give(std::size_t worker, std::unique_ptr<upstream_connection> c, std::size_t max_per_worker);
  // Closes this worker's idle connections (draining, shutdown). Worker thread only.
  void close_all(std::size_t worker);
  std::size_t idle_count(std::size_t worker) const { return idle_[worker].size(); }

 private:
  void drop_unexpected(upstream_connection& c);
  std::vector<std::vector<std::unique_ptr<upstream_connection>>> idle_;
  metrics::counter* unexpected_;
};

}  // namespace mysfits::edge
