// Logging setup shared by every executable: spdlog to stderr with the process name.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace mysfits::log {

// Sets the default logger's pattern and level. `level` is spdlog's name ("info", "debug", …);
// an unknown name keeps "info". MYSFITS_LOG_LEVEL in the environment overrides it.
void init(std::string_view process_name, std::string_view level = "info");

// The formatter init() gives the logger: lines as spdlog's pattern
// "%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v" (local time) renders them, without the pattern formatter's
// per-flag walk; it keeps its date text per thread, so threads may use one instance at once.
std::unique_ptr<spdlog::formatter> make_line_formatter();

}  // namespace mysfits::log
