// What a session needs from the proxy: the router that turns a request into a target (rules and
// target groups, or endpoint groups and dials), its worker's event loop, the options, and the
// listener's stats. Owned by edge::proxy::impl; sessions hold references for their lifetime.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "balance/group.h"
#include "mysfits/common/metrics.h"
#include "mysfits/edge/edge.h"
#include "proxy/deadline.h"

namespace mysfits::edge {

struct route_result {
  endpoint_ptr target;                    // null: nothing to send to
  metrics::histogram* latency = nullptr;  // the chosen group's latency histogram
  std::string_view group;                 // the chosen group's name (for messages)
};

// Picks the target of one request (HTTP mode) or connection (TCP mode). Thread-safe.
class router {
 public:
  virtual ~router() = default;
  // `path` is the request path without query ("" in TCP mode); `draw` a uniform random number
  // or, with SOURCE_IP affinity, a hash of the client address; `exclude` the targets this
  // request already failed on.
  virtual route_result route(std::string_view path, std::uint64_t draw,
                             const exclusion& exclude) = 0;
};

struct listener_stats {
  explicit listener_stats(const std::string& name);
  std::string name;  // "http:PORT" or "tcp:PORT"
  std::uint16_t port = 0;
  metrics::gauge* active_connections;
  std::array<metrics::counter*, 6> by_class{};  // requests answered, by status class
  // Requests refused (504) because their X-Edge-Deadline had passed.
  metrics::counter* deadline_expired;
  void count_response(unsigned status) {
    unsigned c = status / 100;
    by_class[c >= 1 && c <= 5 ? c : 0]->inc();
  }
};

struct worker_context {
  worker_context(std::size_t i, const options& o, router& r, std::uint64_t seed)
      : index(i), opts(o), route(r), rng(seed) {}
  std::size_t index;
  // Socket deadlines of this worker's connections (declared before `io` so that it outlives
  // the sessions that the loop's destruction ends).
  deadline_list deadlines;
  boost::asio::io_context io{1};
  const options& opts;
  router& route;
  std::mt19937_64 rng;  // used only on this worker's thread
  // SOURCE_IP affinity: a client's draws are the hash of its address instead of random.
  bool source_ip_affinity = false;
  std::uint64_t draw(std::uint64_t client_hash) { return source_ip_affinity ? client_hash : rng(); }
  const std::atomic<bool>* stopping = nullptr;
  // Requests this worker is forwarding (stop() waits for them); on its own cache line, so the
  // workers' counts do not share one.
  alignas(64) std::atomic<int> in_flight{0};
  // Client connections open on this worker (the pin watchdog probes only workers that have some).
  std::atomic<int> connections{0};
};

// Counts a client connection, while it is open, in its listener's gauge and its worker's count.
class open_connection {
 public:
  open_connection(worker_context& w, listener_stats& s) : w_(w), s_(s) {
    s_.active_connections->inc();
    w_.connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~open_connection() {
    w_.connections.fetch_sub(1, std::memory_order_relaxed);
    s_.active_connections->dec();
  }
  open_connection(const open_connection&) = delete;
  open_connection& operator=(const open_connection&) = delete;

 private:
  worker_context& w_;
  listener_stats& s_;
};

}  // namespace mysfits::edge
