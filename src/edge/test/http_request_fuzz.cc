// libFuzzer target for the HTTP request path: arbitrary bytes through the streaming request
// parser the sessions use (bounded as they bound it), its upstream rewrite and the listener
// rules, as a session does. Any input must end in a rewritten request or a parse error, never a
// crash or a sanitizer report — and a rewritten request must itself be a complete HTTP/1.1
// request that Beast's own parser accepts, with the body it carried.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/http_codec.h"
#include "routing/rules.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mysfits::edge::rule_table rules(
      {{1, {"/mysfits/*/like"}, "like"}, {2, {"/v?/*", "*.png"}, "static"}}, "core");
  std::string head, body;
  mysfits::edge::upstream_request_parser parser(head, body);
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done() && used < size) {
    parser.put(boost::asio::buffer(data + used, size - used), ec);
  }
  if (ec || !parser.is_done()) return 0;
  auto target = parser.target();
  auto q = target.find_first_of("?#");
  auto path = q == std::string_view::npos ? target : target.substr(0, q);
  (void)rules.match(path);
  (void)mysfits::edge::is_retryable_request(parser.method(), parser.has_idempotency_key());
  const std::string sent_body = body;
  parser.finish("203.0.113.7", 80);
  // The rewritten request must parse, whole, with the same body.
  const std::string out = head + body;
  bhttp::request_parser<bhttp::string_body> check;
  check.header_limit(64 * 1024);
  check.body_limit(64 * 1024);
  check.eager(true);
  std::size_t n = check.put(boost::asio::buffer(out), ec);
  if (ec || !check.is_done() || n != out.size()) __builtin_trap();
  if (check.get().body() != sent_body) __builtin_trap();
  return 0;
}
