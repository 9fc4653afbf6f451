// Blocking HTTP/1.1 client over Beast; each step runs asynchronously on the connection's own
// io_context so the stream's deadline applies (Beast's synchronous calls have none).
#include "http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

namespace mysfits::drill::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

result<http_url> parse_http_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return error::invalid_argument("URL must start with http://, got '" + url + "'");
  }
  std::string rest = url.substr(scheme.size());
  http_url u;
  auto slash = rest.find('/');
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string hostport = rest.substr(0, slash);
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    u.host = hostport;
  } else {
    u.host = hostport.substr(0, colon);
    unsigned port = 0;
    auto text = hostport.substr(colon + 1);
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || p != text.data() + text.size() || port == 0 || port > 65535) {
      return error::invalid_argument("bad port in URL '" + url + "'");
    }
    u.port = static_cast<std::uint16_t>(port);
  }
  if (u.host.empty()) return error::invalid_argument("no host in URL '" + url + "'");
  return u;
}

struct http_connection::impl {
  std::string host;
  std::uint16_t port;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the queued operation to completion (or its deadline).
  void run() {
    io.restart();
    io.run();
  }

  result<void> connect() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      asio::ip::tcp::resolver resolver(io);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty()) return error::unavailable("cannot resolve " + host);
      address = results.begin()->endpoint().address();
    }
    stream.emplace(io);
    stream->expires_after(timeout);
    boost::system::error_code cec = asio::error::would_block;
    stream->async_connect(asio::ip::tcp::endpoint(address, port),
                          [&](boost::system::error_code e) { cec = e; });
    run();
    if (cec) {
      stream.reset();
      return error::unavailable("connect " + host + ":" + std::to_string(port) + ": " +
                                cec.message());
    }
    stream->socket().set_option(asio::ip::tcp::no_delay(true), ec);
    buffer.clear();
    return ok();
  }
};

http_connection::http_connection(std::string host, std::uint16_t port,
                                 std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

http_connection::~http_connection() = default;

void http_connection::close() {
  if (impl_->stream) {
    boost::system::error_code ec;
    impl_->stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    impl_->stream->socket().close(ec);
    impl_->stream.reset();
  }
}

result<http_reply> http_connection::request(const std::string& method, const std::string& target,
                                            const std::string& body, const header_list& headers) {
  auto& d = *impl_;
  if (!d.stream) {
    if (auto c = d.connect(); !c) return c.error();
  }
  auto verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) return error::invalid_argument("unknown method " + method);
  bhttp::request<bhttp::string_body> req{verb, target, 11};
  req.set(bhttp::field::host, d.host + ":" + std::to_string(d.port));
  req.set(bhttp::field::user_agent, "mysfits-drill");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();

  boost::system::error_code ec = asio::error::would_block;
  d.stream->expires_after(d.timeout);
  bhttp::async_write(*d.stream, req, [&](boost::system::error_code e, std::size_t) { ec = e; });
  d.run();
  if (ec) {
    close();
    return error::unavailable("write: " + ec.message());
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  ec = asio::error::would_block;
  d.stream->expires_after(d.timeout);
  bhttp::async_read(*d.stream, d.buffer, parser,
                    [&](boost::system::error_code e, std::size_t) { ec = e; });
  d.run();
  if (ec) {
    close();
    return ec == beast::error::timeout ? error::timeout("read: timed out")
                                       : error::unavailable("read: " + ec.message());
  }
  auto res = parser.release();
  http_reply reply;
  reply.status = res.result_int();
  reply.body = std::move(res.body());
  if (auto it = res.find("X-Mysfits-Region"); it != res.end()) reply.region = it->value();
  if (auto it = res.find("X-Edge-Resent"); it != res.end()) reply.resent = it->value();
  if (!res.keep_alive()) close();
  return reply;
}

result<http_reply> http_fetch(const std::string& base_url, const std::string& method,
                              const std::string& target, const std::string& body,
                              std::chrono::milliseconds timeout) {
  auto u = parse_http_url(base_url);
  if (!u) return u.error();
  http_connection c(u->host, u->port, timeout);
  auto r = c.request(method, target, body);
  c.close();
  return r;
}

}  // namespace mysfits::drill::detail
