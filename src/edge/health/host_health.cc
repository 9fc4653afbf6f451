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

std::optional<health_state> host_health::record(bool success) {
  auto current = state();
  if (success) {
    failures_ = 0;
    ++successes_;
    if (current == health_state::healthy) return std::nullopt;
    if (current == health_state::initial || successes_ >= healthy_threshold_) {
      state_.store(health_state::healthy);
      return health_state::healthy;
    }
  } else {
    successes_ = 0;
    ++failures_;
    if (current == health_state::unhealthy) return std::nullopt;
    if (current == health_state::initial || failures_ >= unhealthy_threshold_) {
      state_.store(health_state::unhealthy);
      return health_state::unhealthy;
    }
  }
  return std::nullopt;
}

}  // namespace mysfits::edge
