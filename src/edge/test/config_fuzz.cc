// libFuzzer target for the configuration parser: any bytes give a config or an error naming a
// field, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mysfits/edge/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = mysfits::edge::parse_config(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!r && r.error().message.empty()) __builtin_trap();  // errors always say what is wrong
  (void)mysfits::edge::parse_matcher(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
