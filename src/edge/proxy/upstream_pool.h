// Keep-alive connections to one target, kept per worker thread so a worker reuses its own
// connections without locks (each worker runs one event loop). HTTP sessions take a connection,
// send one request, and give it back if the response allowed keep-alive and the target is not
// draining.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace mysfits::edge {

struct upstream_connection {
  explicit upstream_connection(boost::beast::tcp_stream s) : stream(std::move(s)) {}
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};
  bool reused = false;  // served an earlier request (so a failure may be a stale connection)
};

class upstream_pool {
 public:
  explicit upstream_pool(std::size_t workers) : idle_(workers) {}

  // A live idle connection of this worker, or null. Drops connections idle longer than
  // `max_idle` and ones the target has closed (checked without blocking). Worker thread only.
  std::unique_ptr<upstream_connection> take(std::size_t worker, std::chrono::milliseconds max_idle);
  // Keeps a connection for reuse (at most `max_per_worker`; extra ones are closed).
  void give(std::size_t worker, std::unique_ptr<upstream_connection> c, std::size_t max_per_worker);
  // Closes this worker's idle connections (draining, shutdown). Worker thread only.
  void close_all(std::size_t worker);
  std::size_t idle_count(std::size_t worker) const { return idle_[worker].size(); }

 private:
  std::vector<std::vector<std::unique_ptr<upstream_connection>>> idle_;
};

}  // namespace mysfits::edge
