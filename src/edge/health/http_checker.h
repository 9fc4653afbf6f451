// One health probe of one target: an HTTP GET of the check path whose status must match the
// success codes, or (protocol TCP) a plain connect. Bounded by the check's timeout. The checker
// runs it every interval.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mysfits::edge {

struct probe_spec {
  boost::asio::ip::tcp::endpoint address;
  bool http = true;
  std::string path = "/";
  std::string host_header;
  std::vector<std::pair<int, int>> success_codes{{200, 200}};
  std::chrono::milliseconds timeout{5000};
};

// True if the target answered as a healthy one within the timeout. Never throws.
boost::asio::awaitable<bool> probe_once(const probe_spec& spec);

}  // namespace mysfits::edge
