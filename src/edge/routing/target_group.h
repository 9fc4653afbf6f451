// A target group of the load balancer role (AWS::ElasticLoadBalancingV2::TargetGroup): members,
// health check settings, algorithm (round robin or least outstanding requests) and the group's
// latency histogram. No eligible target means the session answers 503.
#pragma once

#include <atomic>

#include "balance/group.h"
#include "mysfits/common/metrics.h"

namespace mysfits::edge {

class target_group : public group {
 public:
  explicit target_group(const target_group_config& cfg);

  // A routable, non-draining member not in `exclude`, by the group's algorithm; null if none.
  endpoint_ptr pick(const exclusion& exclude);
  lb_algorithm algorithm() const { return algorithm_; }
  metrics::histogram& latency() { return *latency_; }

 private:
  lb_algorithm algorithm_;
  metrics::histogram* latency_;
};

}  // namespace mysfits::edge
