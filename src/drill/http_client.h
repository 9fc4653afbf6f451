// A small blocking HTTP/1.1 client with keep-alive and a deadline on every step, for scraping
// /metrics and control APIs and for the drill's load connections. Internal to mysfits::drill.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::drill::detail {

struct http_url {
  std::string host;
  std::uint16_t port = 80;
  std::string path;  // "/" when absent
};

// Parses "http://host:port[/path]"; only plain HTTP.
[[nodiscard]] result<http_url> parse_http_url(const std::string& url);

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::string region;  // X-Mysfits-Region, if any
  std::string resent;  // X-Edge-Resent, if any: a proxy sent it on after another target may
                       // have received it (a possible duplicate)
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// One keep-alive connection to host:port, reconnected when needed. Not thread-safe.
class http_connection {
 public:
  http_connection(std::string host, std::uint16_t port, std::chrono::milliseconds timeout);
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  // Sends one request (connecting first if needed) and reads the answer. A transport failure
  // closes the connection and returns an error (the next call reconnects).
  [[nodiscard]] result<http_reply> request(const std::string& method, const std::string& target,
                                           const std::string& body = {},
                                           const header_list& headers = {});
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One request on a fresh connection: GET/PUT/POST `url` + `target`.
[[nodiscard]] result<http_reply> http_fetch(const std::string& base_url, const std::string& method,
                                            const std::string& target, const std::string& body,
                                            std::chrono::milliseconds timeout);

}  // namespace mysfits::drill::detail
