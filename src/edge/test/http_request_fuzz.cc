// libFuzzer target for the HTTP request path: arbitrary bytes through the streaming request
// parser the sessions use (bounded as they bound it), its upstream rewrite and the listener
// rules, as a session does. Any input must end in a rewritten request or a parse error, never a
// crash or a sanitizer report; a rewritten request must itself be a complete HTTP/1.1 request
// that Beast's own parser accepts, with the body it carried. The same bytes also go through the
// fast path (parse_whole), which must either decline them or produce exactly what Beast's path
// does; and as an upstream response, through both paths of the response rewriter. A request
// with a body is also rewritten in its streamed form (finish_streamed, the body as received or
// re-chunked), which must parse back the same.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "proxy/http_codec.h"
#include "routing/rules.h"

namespace bhttp = boost::beast::http;
using mysfits::edge::downstream_response_parser;
using mysfits::edge::upstream_request_parser;

namespace {

// Feeds everything (eager); true if a whole message was parsed without error.
template <class Parser>
bool feed_all(Parser& p, const std::uint8_t* data, std::size_t size, bool eof) {
  p.eager(true);
  boost::beast::error_code ec;
  std::size_t used = p.put(boost::asio::buffer(data, size), ec);
  if (!ec && !p.is_done() && used < size) p.put(boost::asio::buffer(data + used, size - used), ec);
  if (eof && !ec && !p.is_done()) p.put_eof(ec);
  return !ec && p.is_done();
}

void check_response_paths(const std::uint8_t* data, std::size_t size) {
  for (unsigned version : {10u, 11u}) {
    std::string fast_head, fast_body, slow_head, slow_body;
    downstream_response_parser fast(fast_head, fast_body, version, false);
    fast.set_limits(16 * 1024, 64 * 1024);
    const std::size_t n = fast.parse_whole(reinterpret_cast<const char*>(data), size);
    if (n == 0) continue;
    downstream_response_parser slow(slow_head, slow_body, version, false);
    slow.header_limit(16 * 1024);
    slow.body_limit(64 * 1024);
    if (!feed_all(slow, data, n, false)) __builtin_trap();
    if (fast.status() != slow.status() || fast.keep_alive() != slow.keep_alive()) __builtin_trap();
    fast.finish(true);
    slow.finish(true);
    if (fast_head != slow_head || fast_body != slow_body) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mysfits::edge::rule_table rules(
      {{1, {"/mysfits/*/like"}, "like"}, {2, {"/v?/*", "*.png"}, "static"}}, "core");
  check_response_paths(data, size);

  std::string head, body;
  upstream_request_parser parser(head, body);
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  if (!feed_all(parser, data, size, false)) {
    // Beast declined it (or wants more): the fast path must decline it too, or take less.
    std::string fh, fb;
    upstream_request_parser fast(fh, fb);
    fast.set_limits(16 * 1024, 64 * 1024);
    const std::size_t n = fast.parse_whole(reinterpret_cast<const char*>(data), size);
    if (n != 0) {
      // A shorter prefix was a whole message (the rest would be the next one): Beast agrees.
      upstream_request_parser again(head, body);
      again.header_limit(16 * 1024);
      again.body_limit(64 * 1024);
      if (!feed_all(again, data, n, false)) __builtin_trap();
    }
    return 0;
  }
  auto target = parser.target();
  auto q = target.find_first_of("?#");
  auto path = q == std::string_view::npos ? target : target.substr(0, q);
  (void)rules.match(path);
  (void)mysfits::edge::is_retryable_request(parser.method(), parser.has_idempotency_key());
  const std::string sent_body = body;
  parser.finish("203.0.113.7", 80);

  // The fast path on the same bytes: declined, or the very same rewrite.
  std::string fh, fb;
  upstream_request_parser fast(fh, fb);
  fast.set_limits(16 * 1024, 64 * 1024);
  if (fast.parse_whole(reinterpret_cast<const char*>(data), size) != 0) {
    fast.finish("203.0.113.7", 80);
    if (fh != head || fb != body || fast.keep_alive() != parser.keep_alive() ||
        fast.method() != parser.method() || fast.version() != parser.version() ||
        fast.has_idempotency_key() != parser.has_idempotency_key()) {
      __builtin_trap();
    }
  }

  // The rewritten request must parse, whole, with the same body.
  const std::string out = head + body;
  bhttp::request_parser<bhttp::string_body> check;
  check.header_limit(64 * 1024);
  check.body_limit(64 * 1024);
  check.eager(true);
  boost::beast::error_code ec;
  std::size_t n = check.put(boost::asio::buffer(out), ec);
  if (ec || !check.is_done() || n != out.size()) __builtin_trap();
  if (check.get().body() != sent_body) __builtin_trap();

  // The streamed form, as a session sends a body over its stream threshold: finish_streamed's
  // head (the length as received, or chunked), then the body as received or re-chunked, must
  // parse back with the same body.
  std::string sh, sb;
  upstream_request_parser streamed(sh, sb);
  streamed.header_limit(16 * 1024);
  streamed.body_limit(64 * 1024);
  if (!feed_all(streamed, data, size, false)) __builtin_trap();
  if (streamed.content_length() || streamed.chunked()) {
    const bool chunked = !streamed.content_length();
    streamed.finish_streamed("203.0.113.7", 80);
    std::string framed = sh;
    if (!chunked) {
      framed += sb;
    } else {
      if (!sb.empty()) {
        char line[24];
        const int len = std::snprintf(line, sizeof line, "%zx\r\n", sb.size());
        framed.append(line, static_cast<std::size_t>(len));
        framed += sb;
        framed += "\r\n";
      }
      framed += "0\r\n\r\n";
    }
    bhttp::request_parser<bhttp::string_body> again;
    again.header_limit(64 * 1024);
    again.body_limit(64 * 1024);
    again.eager(true);
    n = again.put(boost::asio::buffer(framed), ec);
    if (ec || !again.is_done() || n != framed.size()) __builtin_trap();
    if (again.get().body() != sent_body || again.get().chunked() != chunked) __builtin_trap();
  }
  return 0;
}
