// Logging setup shared by every executable: spdlog to stderr with the process name.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace mysfits::log {

// Sets the default logger's pattern and level. `level` is spdlog's name ("info", "debug", …);
// an unknown name keeps "info". MYSFITS_LOG_LEVEL in the environment overrides it.
void init(std::string_view process_name, std::string_view level = "info");

// The formatter init() gives the logger: lines as spdlog's pattern
// "%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v" (local time) renders them, without the pattern formatter's
// per-flag walk; it keeps its date text per thread, so threads may use one instance at once.
std::unique_ptr<spdlog::formatter> make_line_formatter();

// A condition that repeats until it clears (accepts failing while the process is out of file
// descriptors) logged at most once per `period`: the first occurrence at once, later ones with
// the count of those passed over. One instance per loop; not thread-safe.
class every {
 public:
  explicit every(std::chrono::steady_clock::duration period) : period_(period) {}
  // 0 when this occurrence is not to be logged; otherwise how many it stands for (itself and
  // those passed over since the last one logged).
  std::uint64_t occurred(std::chrono::steady_clock::time_point now) {
    ++count_;
    if (logged_ && now - last_ < period_) return 0;
    logged_ = true;
    last_ = now;
    return std::exchange(count_, 0);
  }
  // What a logged line adds for the count occurred() returned: " (N times since the last
  // warning)" when it stands for more than itself, else nothing.
  static std::string passed_over(std::uint64_t n) {
    return n > 1 ? fmt::format(" ({} times since the last warning)", n) : std::string();
  }

 private:
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point last_{};
  bool logged_ = false;
  std::uint64_t count_ = 0;
};

}  // namespace mysfits::log
