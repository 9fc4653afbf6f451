// One target of a target group or endpoint of an endpoint group: its address, weight, health,
// outstanding requests, draining flag, keep-alive pool and stats. Shared (shared_ptr) by the
// group, the health checker and the sessions using it, so deregistration never pulls it from
// under a request.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "health/host_health.h"
#include "mysfits/common/metrics.h"
#include "mysfits/edge/config.h"
#include "proxy/upstream_pool.h"

namespace mysfits::edge {

class endpoint {
 public:
  endpoint(const target_config& cfg, boost::asio::ip::tcp::endpoint address,
           const health_check_config& health, const std::string& group, std::size_t workers);

  const std::string& id() const { return id_; }
  const std::string& group() const { return group_; }
  const boost::asio::ip::tcp::endpoint& address() const { return address_; }
  int weight() const { return weight_.load(std::memory_order_relaxed); }
  void set_weight(int w) { weight_.store(w, std::memory_order_relaxed); }

  host_health& health() { return health_; }
  const host_health& health() const { return health_; }

  // Deregistered: gets no new requests; its connections close within the deregistration delay.
  bool is_draining() const { return draining_.load(std::memory_order_relaxed); }
  void set_draining() { draining_.store(true); }

  // Requests (HTTP mode) or connections (TCP mode) in flight to this endpoint. Each worker counts
  // its own on a cache line of its own, so the workers' request paths share no written line;
  // the total is their sum (what least-outstanding-requests compares).
  int outstanding() const;
  void add_outstanding(std::size_t worker, int delta) {
    outstanding_[worker % workers_].n.fetch_add(delta, std::memory_order_relaxed);
  }
  upstream_pool& pool() { return pool_; }

  // Open pass-through (TCP mode) connections register a closer so draining can end them.
  std::uint64_t track_connection(std::function<void()> closer);
  void untrack_connection(std::uint64_t id);
  void close_tracked_connections();
  std::size_t tracked_connections() const;

  // HTTP mode: how long a request may wait for the first response byte from this endpoint
  // (its endpoint group's FirstByteTimeoutSeconds); zero: no such limit.
  std::chrono::milliseconds first_byte_timeout() const { return first_byte_timeout_; }
  void set_first_byte_timeout(std::chrono::milliseconds t) { first_byte_timeout_ = t; }

  // Passive health. note_response() records that a response came back (only kept where a
  // first-byte timeout is set). first_byte_timed_out() counts a request that got no response
  // byte in time and, if no response at all came back from the endpoint since that request was
  // sent (a frozen or cut-off endpoint, not a merely slow request), takes the endpoint out of
  // rotation at once (one log line, a health transition); true if it did.
  using clock = std::chrono::steady_clock;
  void note_response(clock::time_point t) {
    last_response_.store(t.time_since_epoch().count(), std::memory_order_relaxed);
  }
  bool first_byte_timed_out(clock::time_point sent);

  // Stats (STYLE.md §6.10): requests by status class, health transitions.
  void count_response(unsigned status);
  void count_health_transition(health_state to);
  // A streamed response whose head had gone to the client and that the endpoint failed or
  // timed out in the middle of: the client connection was closed without completing it.
  void count_cut_response() { cut_responses_->inc(); }
  // A final response whose head came while a streamed request body was still being sent.
  void count_early_response() { early_responses_->inc(); }
  std::uint64_t requests_total() const { return static_cast<std::uint64_t>(total_.value()); }

 private:
  std::string id_;
  std::string group_;
  boost::asio::ip::tcp::endpoint address_;
  std::atomic<int> weight_;
  host_health health_;
  std::atomic<bool> draining_{false};
  struct alignas(64) outstanding_slot {
    std::atomic<int> n{0};
  };
  std::size_t workers_;
  std::unique_ptr<outstanding_slot[]> outstanding_;  // [worker]
  metrics::counter total_;                           // striped; not in the registry
  upstream_pool pool_;
  std::array<metrics::counter*, 6> by_class_{};  // 1xx..5xx, [0] = other
  std::array<metrics::counter*, 3> transitions_{};
  std::chrono::milliseconds first_byte_timeout_{0};
  // Written on every response where a first-byte timeout applies: a line of its own.
  alignas(64) std::atomic<clock::rep> last_response_{0};
  metrics::counter* first_byte_timeouts_;
  metrics::counter* passive_ejections_;
  metrics::counter* cut_responses_;
  metrics::counter* early_responses_;

  mutable std::mutex conns_mu_;
  std::map<std::uint64_t, std::function<void()>> conns_;
  std::uint64_t next_conn_ = 0;
};

}  // namespace mysfits::edge
