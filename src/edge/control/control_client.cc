// edge::control_request: a small blocking HTTP/1.1 client for the control API, used by the
// `mysfits-edge status|set-dial|set-weight|register|deregister` subcommands.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url.hpp>

#include "mysfits/edge/edge.h"

namespace mysfits::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

result<std::string> control_request(const std::string& url, const std::string& method,
                                    const std::string& path, const std::string& body) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty()) {
    return error::invalid_argument("control URL must look like http://127.0.0.1:PORT, got '" + url +
                                   "'");
  }
  std::string port = u->has_port() ? std::string(u->port()) : "80";
  auto verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) return error::invalid_argument("unknown method " + method);
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(std::string(u->host()), port));
    bhttp::request<bhttp::string_body> req{verb, path, 11};
    req.set(bhttp::field::host, std::string(u->host()) + ":" + port);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.keep_alive(false);
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    if (res.result_int() >= 300) {
      return error::invalid_argument(std::to_string(res.result_int()) + ": " + res.body());
    }
    return res.body();
  } catch (const std::exception& e) {
    return error::unavailable("control API at " + url + ": " + e.what());
  }
}

}  // namespace mysfits::edge
