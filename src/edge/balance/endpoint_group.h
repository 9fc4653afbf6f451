// Endpoint groups of the accelerator role (AWS::GlobalAccelerator::EndpointGroup) and the choice
// of an endpoint across them:
//  - groups are tried in order; a group keeps TrafficDialPercentage % of the traffic it would
//    get and the rest spills to the next group with a healthy endpoint;
//  - within a group, endpoints share by Weight (0..255) by weighted rendezvous hashing, so
//    SOURCE_IP affinity (the draw is a hash of the client address) keeps a client on one
//    endpoint while that endpoint stays healthy;
//  - when no endpoint anywhere is healthy, all of them get traffic (fail open, as GA does).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "balance/group.h"
#include "mysfits/common/metrics.h"

namespace mysfits::edge {

class endpoint_group : public group {
 public:
  explicit endpoint_group(const endpoint_group_config& cfg);

  double traffic_dial() const { return dial_.load(std::memory_order_relaxed); }
  void set_traffic_dial(double percent) { dial_.store(percent, std::memory_order_relaxed); }
  metrics::histogram& latency() { return *latency_; }
  std::chrono::milliseconds first_byte_timeout() const override { return first_byte_timeout_; }

  // The member with the highest weighted rendezvous score for `draw` among those that are
  // routable (or all, when `ignore_health`), not draining, weight > 0 and not excluded.
  endpoint_ptr pick(std::uint64_t draw, const exclusion& exclude, bool ignore_health) const;
  // Some member could take traffic (routable, not draining, weight > 0, not excluded).
  bool has_eligible(const exclusion& exclude) const;

 private:
  std::atomic<double> dial_;
  std::chrono::milliseconds first_byte_timeout_;
  metrics::histogram* latency_;
};

using endpoint_group_list = std::vector<std::shared_ptr<endpoint_group>>;

// The endpoint for one request (HTTP mode) or connection (TCP mode). `draw` is a uniform random
// 64-bit number, or a hash of the client address for SOURCE_IP affinity. Null if no group has
// an endpoint to give (every one is excluded, draining or weighted 0, or every dial is 0).
endpoint_ptr select_endpoint(const endpoint_group_list& groups, std::uint64_t draw,
                             const exclusion& exclude);

// A well-mixed 64-bit value from another (splitmix64's finaliser).
std::uint64_t mix64(std::uint64_t x);

}  // namespace mysfits::edge
