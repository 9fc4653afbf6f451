// HTTP and TCP health probes (Beast), each bounded by the check timeout.
#include "health/http_checker.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mysfits::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

asio::awaitable<bool> probe_once(const probe_spec& spec) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  // One deadline for the whole probe: connect, write and read.
  stream.expires_after(spec.timeout);
  auto [cec] = co_await stream.async_connect(spec.address, asio::as_tuple(asio::use_awaitable));
  if (cec) co_return false;
  bool healthy = true;
  if (spec.http) {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, spec.path, 11};
    req.set(bhttp::field::host, spec.host_header);
    req.set(bhttp::field::user_agent, "mysfits-edge-health-check");
    req.keep_alive(false);
    auto [wec, wn] = co_await bhttp::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) co_return false;
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [rec, rn] =
        co_await bhttp::async_read(stream, buf, parser, asio::as_tuple(asio::use_awaitable));
    (void)rn;
    if (rec) co_return false;
    int status = parser.get().result_int();
    healthy = false;
    for (auto [lo, hi] : spec.success_codes) healthy = healthy || (status >= lo && status <= hi);
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  co_return healthy;
}

}  // namespace mysfits::edge
