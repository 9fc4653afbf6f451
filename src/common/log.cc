// Logging setup; see include/mysfits/common/log.h.
#include "mysfits/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <string>

namespace mysfits::log {

void init(std::string_view process_name, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(std::string(process_name));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v");
  std::string lvl(level);
  if (const char* env = std::getenv("MYSFITS_LOG_LEVEL")) lvl = env;
  auto parsed = spdlog::level::from_str(lvl);
  logger->set_level(parsed == spdlog::level::off && lvl != "off" ? spdlog::level::info : parsed);
  spdlog::set_default_logger(logger);
}

}  // namespace mysfits::log
