// libFuzzer target for the HTTP request path: arbitrary bytes through the bounded Beast request
// parser the sessions use, then the upstream rewrite and the listener rules, as a session does.
// Any input must end in a parsed request or a parse error, never a crash or a sanitizer report.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "proxy/downstream_session.h"
#include "routing/rules.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mysfits::edge::rule_table rules(
      {{1, {"/mysfits/*/like"}, "like"}, {2, {"/v?/*", "*.png"}, "static"}}, "core");
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done() && used < size) {
    parser.put(boost::asio::buffer(data + used, size - used), ec);
  }
  if (ec || !parser.is_header_done()) return 0;
  auto req = parser.release();
  auto target = req.target();
  auto q = target.find_first_of("?#");
  auto path = q == boost::beast::string_view::npos ? target : target.substr(0, q);
  (void)rules.match(std::string_view(path.data(), path.size()));
  (void)mysfits::edge::is_retryable_request(req.method(), req.find("Idempotency-Key") != req.end());
  mysfits::edge::prepare_upstream_request(req, "203.0.113.7", 80);
  // The rewritten request must serialize.
  std::ostringstream out;
  out << req;
  if (out.str().empty()) __builtin_trap();
  return 0;
}
