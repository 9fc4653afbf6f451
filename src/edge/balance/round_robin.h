// Round robin over the eligible members of a group (ALB load_balancing.algorithm.type
// round_robin): a cursor (the calling thread's own) advances once per pick, skipping ineligible
// members.
#pragma once

#include <cstdint>

#include "balance/group.h"

namespace mysfits::edge {

template <class Eligible>
endpoint_ptr round_robin_pick(const endpoint_list& members, std::uint64_t& cursor,
                              Eligible&& eligible) {
  const std::size_t n = members.size();
  if (n == 0) return nullptr;
  const std::uint64_t start = cursor++;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = members[(start + i) % n];
    if (eligible(*e)) return e;
  }
  return nullptr;
}

}  // namespace mysfits::edge
