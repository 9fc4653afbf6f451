// Least outstanding requests (ALB load_balancing.algorithm.type least_outstanding_requests):
// the eligible member with the fewest requests in flight; ties go round robin so equal targets
// share the load.
#pragma once

#include <cstdint>

#include "balance/group.h"

namespace mysfits::edge {

template <class Eligible>
endpoint_ptr least_outstanding_pick(const endpoint_list& members, std::uint64_t& cursor,
                                    Eligible&& eligible) {
  const std::size_t n = members.size();
  if (n == 0) return nullptr;
  const std::uint64_t start = cursor++;
  endpoint_ptr best;
  int best_load = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = members[(start + i) % n];
    if (!eligible(*e)) continue;
    int load = e->outstanding();
    if (!best || load < best_load) {
      best = e;
      best_load = load;
    }
  }
  return best;
}

}  // namespace mysfits::edge
