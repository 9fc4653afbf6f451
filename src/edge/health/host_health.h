// The health state machine of one target: consecutive check results move it between healthy and
// unhealthy once they reach the configured threshold (ALB HealthyThresholdCount /
// UnhealthyThresholdCount, GA ThresholdCount). The checker feeds it; balancers read it.
#pragma once

#include <atomic>
#include <optional>
#include <string_view>

namespace mysfits::edge {

enum class health_state { initial, healthy, unhealthy };

std::string_view to_string(health_state s);

class host_health {
 public:
  host_health(int healthy_threshold, int unhealthy_threshold)
      : healthy_threshold_(healthy_threshold), unhealthy_threshold_(unhealthy_threshold) {}

  // Records one check result and returns the new state if it changed. A target starts in
  // `initial` (routable, so traffic flows before the first check); its first result decides at
  // once, later ones need the threshold in a row. Called by one checker at a time.
  std::optional<health_state> record(bool success);

  health_state state() const noexcept { return state_.load(std::memory_order_relaxed); }
  // Traffic may go to it: healthy, or not yet checked.
  bool is_routable() const noexcept { return state() != health_state::unhealthy; }
  bool is_healthy() const noexcept { return state() == health_state::healthy; }
  // Passive health: a request to the target timed out with nothing else answered since it was
  // sent, so it leaves rotation now instead of after the active check's threshold. True if
  // this call made it unhealthy (it was not already). Any thread; the active check then needs
  // the healthy threshold of successes in a row to bring it back.
  bool mark_unhealthy_passively() noexcept;
  // Forces a state (tests and the control API).
  void set_state_for_test(health_state s) noexcept { state_.store(s); }

 private:
  int healthy_threshold_;
  int unhealthy_threshold_;
  int successes_ = 0;
  int failures_ = 0;
  std::atomic<health_state> state_{health_state::initial};
  std::atomic<bool> restart_count_{false};  // set by mark_unhealthy_passively, read by record
};

}  // namespace mysfits::edge
