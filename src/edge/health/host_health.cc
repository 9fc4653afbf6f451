// host_health transitions.
#include "health/host_health.h"

namespace mysfits::edge {

std::string_view to_string(health_state s) {
  switch (s) {
    case health_state::initial:
      return "initial";
    case health_state::healthy:
      return "healthy";
    case health_state::unhealthy:
      return "unhealthy";
  }
  return "unknown";
}

bool host_health::mark_unhealthy_passively() noexcept {
  auto current = state();
  while (current != health_state::unhealthy) {
    if (state_.compare_exchange_weak(current, health_state::unhealthy)) {
      restart_count_.store(true);
      return true;
    }
  }
  return false;
}

std::optional<health_state> host_health::record(bool success) {
  if (restart_count_.exchange(false)) successes_ = failures_ = 0;
  auto current = state();
  if (success) {
    failures_ = 0;
    ++successes_;
    if (current == health_state::healthy) return std::nullopt;
    if (current == health_state::initial || successes_ >= healthy_threshold_) {
      // A passive mark in between wins (the next check decides again).
      if (!state_.compare_exchange_strong(current, health_state::healthy)) return std::nullopt;
      return health_state::healthy;
    }
  } else {
    successes_ = 0;
    ++failures_;
    if (current == health_state::unhealthy) return std::nullopt;
    if (current == health_state::initial || failures_ >= unhealthy_threshold_) {
      // A passive mark in between wins (the next check decides again).
      if (!state_.compare_exchange_strong(current, health_state::unhealthy)) return std::nullopt;
      return health_state::unhealthy;
    }
  }
  return std::nullopt;
}

}  // namespace mysfits::edge
