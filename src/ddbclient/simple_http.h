// A one-shot HTTP/1.1 GET with a deadline, for the container credentials endpoint. Internal.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::ddbclient::detail {

struct simple_response {
  unsigned status = 0;
  std::string body;
};

// GET http://host:port/target with the given extra headers; fails on connection errors or when
// `timeout` passes.
[[nodiscard]] result<simple_response> http_get(
    const std::string& host, std::uint16_t port, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout);

}  // namespace mysfits::ddbclient::detail
