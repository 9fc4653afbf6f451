// Request deadlines: the `X-Edge-Deadline` header (Unix epoch milliseconds) says when a request
// stops being wanted. The accelerator sets it on a request it may resend to another region after
// a first-byte timeout; the load balancer and the app's services refuse to start work (above
// all a table write) once it has passed, so a request held by a frozen region is not applied
// after it was resent elsewhere. Used by mysfits::edge and mysfits::app; see docs/edge.md
// ("Request deadlines").
//
// Clocks: the deadline is wall-clock time set by one host and read by another, so the regions'
// clocks are assumed synchronised (as on AWS with the Amazon Time Sync Service, whose error is
// well under a millisecond); a receiver allows `tolerance` of skew before it refuses.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mysfits::request_deadline {

// The header's name.
inline constexpr std::string_view header = "X-Edge-Deadline";
// The value of `X-Edge-Error` on an answer that refuses a request because its deadline had
// passed: nothing was applied, so whoever sent it may send it elsewhere.
inline constexpr std::string_view expired_error = "deadline-expired";
// Skew allowed between the clock that set a deadline and the one that checks it. Default of
// every receiver's option: 50 ms.
inline constexpr std::chrono::milliseconds default_tolerance{50};

// The header's value: 1 to 16 decimal digits (no sign, no spaces), else nullopt (malformed).
[[nodiscard]] inline std::optional<std::int64_t> parse(std::string_view value) {
  if (value.empty() || value.size() > 16) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v <= 0) return std::nullopt;
  return v;
}

// Now, in Unix epoch milliseconds (the system clock).
[[nodiscard]] inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Whether work on a request with deadline `deadline_ms` must not start at `now`.
[[nodiscard]] inline bool passed(std::int64_t deadline_ms, std::int64_t now,
                                 std::chrono::milliseconds tolerance) {
  return now > deadline_ms + tolerance.count();
}

}  // namespace mysfits::request_deadline
