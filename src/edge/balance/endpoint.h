// One target of a target group or endpoint of an endpoint group: its address, weight, health,
// outstanding requests, draining flag, keep-alive pool and stats. Shared (shared_ptr) by the
// group, the health checker and the sessions using it, so deregistration never pulls it from
// under a request.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
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

  std::atomic<int>& outstanding() { return outstanding_; }
  upstream_pool& pool() { return pool_; }

  // Open pass-through (TCP mode) connections register a closer so draining can end them.
  std::uint64_t track_connection(std::function<void()> closer);
  void untrack_connection(std::uint64_t id);
  void close_tracked_connections();
  std::size_t tracked_connections() const;

  // Stats (STYLE.md §6.10): requests by status class, health transitions.
  void count_response(unsigned status);
  void count_health_transition(health_state to);
  std::uint64_t requests_total() const { return total_.load(std::memory_order_relaxed); }

 private:
  std::string id_;
  std::string group_;
  boost::asio::ip::tcp::endpoint address_;
  std::atomic<int> weight_;
  host_health health_;
  std::atomic<bool> draining_{false};
  std::atomic<int> outstanding_{0};
  std::atomic<std::uint64_t> total_{0};
  upstream_pool pool_;
  std::array<metrics::counter*, 6> by_class_{};  // 1xx..5xx, [0] = other
  std::array<metrics::counter*, 3> transitions_{};

  mutable std::mutex conns_mu_;
  std::map<std::uint64_t, std::function<void()>> conns_;
  std::uint64_t next_conn_ = 0;
};

}  // namespace mysfits::edge
