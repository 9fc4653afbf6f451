// target_group picks.
#include "routing/target_group.h"

#include "balance/least_outstanding_requests.h"
#include "balance/round_robin.h"

namespace mysfits::edge {

target_group::target_group(const target_group_config& cfg)
    : group(cfg.name, cfg.health, cfg.deregistration_delay),
      algorithm_(cfg.algorithm),
      latency_(&metrics::default_registry().get_histogram(
          "edge_request_duration_seconds", "Time from request read to response written, per group",
          {{"group", cfg.name}})) {}

endpoint_ptr target_group::pick(const exclusion& exclude) {
  auto view = current_members();
  auto eligible = [&](const endpoint& e) {
    return e.health().is_routable() && !e.is_draining() && !is_excluded(exclude, &e);
  };
  if (algorithm_ == lb_algorithm::least_outstanding_requests) {
    return least_outstanding_pick(view.members, view.cursor, eligible);
  }
  return round_robin_pick(view.members, view.cursor, eligible);
}

}  // namespace mysfits::edge
