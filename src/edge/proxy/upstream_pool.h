// Keep-alive connections to one target, kept per worker thread so a worker reuses its own
// connections without locks (each worker runs one event loop). HTTP sessions take a connection,
// send one request, and give it back if the response allowed keep-alive and the target is not
// draining.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace mysfits::edge {

struct upstream_connection {
  explicit upstream_connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};
  bool reused = false;  // served an earlier request (so a failure may be a stale connection)
  // Its last response had no body by rule (to a HEAD; a 204 or 304; after an interim one): an
  // upstream that breaks HTTP sends one anyway, maybe after the connection went back to the
  // pool, so take() peeks before reusing it even when the caller does not ask for a check.
  bool peek_before_reuse = false;
};

class upstream_pool {
 public:
  explicit upstream_pool(std::size_t workers) : idle_(workers) {}

  // An idle connection of this worker, or null. Drops connections idle longer than `max_idle`.
  // With `check_alive`, also drops ones the target has closed or sent bytes on unasked (one
  // non-blocking peek per connection, a syscall; also done without it on a connection marked
  // `peek_before_reuse`); without it, the caller must treat a failure before any response byte
  // on a reused connection as a stale connection. Worker thread only.
  std::unique_ptr<upstream_connection> take(std::size_t worker, std::chrono::milliseconds max_idle,
                                            bool check_alive = true);
  // Keeps a connection for reuse (at most `max_per_worker`; extra ones are closed).
  void give(std::size_t worker, std::unique_ptr<upstream_connection> c, std::size_t max_per_worker);
  // Closes this worker's idle connections (draining, shutdown). Worker thread only.
  void close_all(std::size_t worker);
  std::size_t idle_count(std::size_t worker) const { return idle_[worker].size(); }

 private:
  std::vector<std::vector<std::unique_ptr<upstream_connection>>> idle_;
};

}  // namespace mysfits::edge
