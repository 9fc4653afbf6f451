// Logging setup shared by every executable: spdlog to stderr with the process name.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace mysfits::log {

// Sets the default logger's pattern and level. `level` is spdlog's name ("info", "debug", …);
// an unknown name keeps "info". MYSFITS_LOG_LEVEL in the environment overrides it.
void init(std::string_view process_name, std::string_view level = "info");

}  // namespace mysfits::log
