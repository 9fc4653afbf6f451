// One-shot HTTP GET over a fresh connection, with every step bounded by one deadline.
#include "simple_http.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mysfits::ddbclient::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

result<simple_response> http_get(const std::string& host, std::uint16_t port,
                                 const std::string& target,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 std::chrono::milliseconds timeout) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buf;
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, host);
  for (const auto& [k, v] : headers) req.set(k, v);
  bhttp::response<bhttp::string_body> res;
  beast::error_code failure;

  stream.expires_after(timeout);
  resolver.async_resolve(host, std::to_string(port), [&](beast::error_code ec, auto results) {
    if (ec) {
      failure = ec;
      return;
    }
    stream.async_connect(results, [&](beast::error_code ec2, const auto&) {
      if (ec2) {
        failure = ec2;
        return;
      }
      bhttp::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
        if (ec3) {
          failure = ec3;
          return;
        }
        bhttp::async_read(stream, buf, res,
                          [&](beast::error_code ec4, std::size_t) { failure = ec4; });
      });
    });
  });
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!io.stopped()) return error::timeout("credentials endpoint " + host + " timed out");
  if (failure) return error::unavailable("credentials endpoint " + host + ": " + failure.message());
  return simple_response{res.result_int(), std::move(res.body())};
}

}  // namespace mysfits::ddbclient::detail
