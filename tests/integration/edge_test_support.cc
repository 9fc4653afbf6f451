// Implementation of the edge integration tests' support code.
#include "edge_test_support.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/json.hpp>
#include <chrono>

namespace mysfits::edge::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

upstream::upstream(std::string name, int slow_ms) : upstream(std::move(name), slow_ms, {}) {}

upstream::upstream(std::string name, std::function<http::response(http::request&)> handler)
    : upstream(std::move(name), 0, std::move(handler)) {}

upstream::upstream(std::string name, int slow_ms,
                   std::function<http::response(http::request&)> handler)
    : name_(std::move(name)), slow_ms_(slow_ms), handler_(std::move(handler)) {
  http::server_options o;
  o.threads = 4;
  o.drain_timeout = std::chrono::seconds(2);
  server_ = std::make_unique<http::server>(o, [this](http::request& req) {
    {
      // Frozen: every handler thread blocks here, so nothing is answered until thawed.
      std::unique_lock lock(freeze_mu_);
      if (frozen_) {
        if (req.target() != "/health") ++held_;
        thawed_.wait(lock, [this] { return !frozen_; });
      }
    }
    if (slow_ms_ > 0 && req.target().starts_with("/slow")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
    }
    http::response res{bhttp::status::ok, req.version()};
    if (req.target() == "/health") {
      if (!healthy_) res.result(bhttp::status::service_unavailable);
      res.body() = "ok";
      return res;
    }
    ++hits_;
    if (handler_) res = handler_(req);
    res.set("X-Upstream", name_);
    res.set("X-Seen-Deadline", std::string(req["X-Edge-Deadline"]));
    last_status_ = res.result_int();
    ++answered_;
    if (handler_) return res;
    res.set("X-Seen-Forwarded-For", std::string(req["X-Forwarded-For"]));
    res.set("X-Seen-Forwarded-Proto", std::string(req["X-Forwarded-Proto"]));
    res.body() = name_ + " " + std::string(req.target()) + " " + req.body();
    return res;
  });
  auto r = server_->start();
  if (!r) throw std::runtime_error(r.error().message);
  port_ = server_->port();
}

upstream::~upstream() {
  thaw();
  server_->stop();
}

void upstream::freeze() {
  std::lock_guard lock(freeze_mu_);
  frozen_ = true;
}

void upstream::thaw() {
  {
    std::lock_guard lock(freeze_mu_);
    frozen_ = false;
  }
  thawed_.notify_all();
}

raw_upstream::raw_upstream(behaviour b) : b_(b), acceptor_(io_) {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(ep.protocol());
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

raw_upstream::~raw_upstream() {
  io_.stop();
  thread_.join();
}

asio::awaitable<void> raw_upstream::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    ++connections_;
    asio::co_spawn(
        io_,
        [](tcp::socket s, behaviour b, std::atomic<int>& unasked) -> asio::awaitable<void> {
          std::array<char, 4096> buf;
          auto [rec, n] =
              co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
          if (rec) co_return;
          if (b == behaviour::interim || b == behaviour::head_body || b == behaviour::late_extra ||
              b == behaviour::extra_with_body) {
            std::string in(buf.data(), n);
            for (;;) {
              auto end = in.find("\r\n\r\n");
              while (end == std::string::npos) {
                auto [e, m] = co_await s.async_read_some(asio::buffer(buf),
                                                         asio::as_tuple(asio::use_awaitable));
                if (e) co_return;
                in.append(buf.data(), m);
                end = in.find("\r\n\r\n");
              }
              const auto line = in.substr(0, in.find("\r\n"));
              const bool head_request = line.starts_with("HEAD ");
              const auto from = line.find(' ') + 1;
              const auto target = line.substr(from, line.find(' ', from) - from);
              in.erase(0, end + 4);
              if (b == behaviour::interim) {
                std::string interim =
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: "
                    "</a.css>\r\n\r\n";
                auto [we, wn] = co_await asio::async_write(s, asio::buffer(interim),
                                                           asio::as_tuple(asio::use_awaitable));
                if (we) co_return;
                asio::steady_timer t(s.get_executor(), std::chrono::milliseconds(100));
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
              }
              const std::string body = "final " + target;
              const std::string stale = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale";
              std::string final_response =
                  "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                  (head_request ? "" : body);  // a HEAD's body comes later, if at all
              if (b == behaviour::extra_with_body) final_response += stale;
              auto [fe, fn] = co_await asio::async_write(s, asio::buffer(final_response),
                                                         asio::as_tuple(asio::use_awaitable));
              if (fe) co_return;
              if (b == behaviour::extra_with_body) ++unasked;
              if ((b == behaviour::head_body && head_request) || b == behaviour::late_extra) {
                asio::steady_timer t(s.get_executor(), std::chrono::milliseconds(100));
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                auto [se, sn] = co_await asio::async_write(s, asio::buffer(stale),
                                                           asio::as_tuple(asio::use_awaitable));
                if (se) co_return;
                ++unasked;
              }
            }
          }
          if (b == behaviour::silent) {
            asio::steady_timer t(s.get_executor(), std::chrono::seconds(30));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
          } else if (b == behaviour::half_response) {
            std::string part = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
            co_await asio::async_write(s, asio::buffer(part), asio::as_tuple(asio::use_awaitable));
          }
          beast::error_code ignored;
          s.shutdown(tcp::socket::shutdown_both, ignored);
          s.close(ignored);
        }(std::move(sock), b_, unasked_),
        asio::detached);
  }
}

client::client(std::uint16_t port) {
  beast::error_code ec;
  stream_.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return;
  timeval tv{5, 0};
  ::setsockopt(stream_.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(stream_.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::optional<response> client::send(bhttp::request<bhttp::string_body> req) {
  // As every real HTTP/1.1 client does (the edge refuses a request without one).
  if (req.version() >= 11 && req.find(bhttp::field::host) == req.end()) {
    req.set(bhttp::field::host, "edge.test");
  }
  req.prepare_payload();
  beast::error_code ec;
  bhttp::write(stream_, req, ec);
  if (ec) return std::nullopt;
  response res;
  bhttp::read(stream_, buf_, res, ec);
  if (ec) return std::nullopt;
  return res;
}

std::optional<response> client::get(const std::string& target) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "edge.test");
  return send(std::move(req));
}

std::optional<response> client::raw(const std::string& bytes) {
  beast::error_code ec;
  asio::write(stream_, asio::buffer(bytes), ec);
  if (ec) return std::nullopt;
  response res;
  bhttp::read(stream_, buf_, res, ec);
  if (ec) return std::nullopt;
  return res;
}

std::optional<response> get_once(std::uint16_t port, const std::string& target) {
  client c(port);
  return c.get(target);
}

health_check_config fast_health(std::string protocol) {
  health_check_config h;
  h.protocol = std::move(protocol);
  h.path = "/health";
  h.interval = std::chrono::milliseconds(200);
  h.timeout = std::chrono::milliseconds(200);
  h.healthy_threshold = 2;
  h.unhealthy_threshold = 2;
  return h;
}

target_config target_of(std::uint16_t port, int weight) {
  target_config t;
  t.host = "127.0.0.1";
  t.port = port;
  t.weight = weight;
  return t;
}

endpoint_group_config region(const std::string& name, double dial,
                             const std::vector<std::uint16_t>& ports, health_check_config health) {
  endpoint_group_config g;
  g.region = name;
  g.traffic_dial = dial;
  g.health = std::move(health);
  g.deregistration_delay = std::chrono::milliseconds(500);
  for (auto p : ports) g.endpoints.push_back(target_of(p));
  return g;
}

options load_balancer_options(const std::vector<std::uint16_t>& core,
                              const std::vector<std::uint16_t>& like) {
  options o;
  o.config.role = role_kind::load_balancer;
  auto& lb = o.config.load_balancer;
  lb.default_target_group = "core";
  lb.rules.push_back({1, {"/mysfits/*/like"}, "like"});
  for (auto [name, ports] : {std::pair{"core", core}, std::pair{"like", like}}) {
    target_group_config tg;
    tg.name = name;
    tg.health = fast_health();
    tg.deregistration_delay = std::chrono::milliseconds(500);
    for (auto p : ports) tg.targets.push_back(target_of(p));
    lb.target_groups.push_back(tg);
  }
  return o;
}

options accelerator_options(std::vector<endpoint_group_config> groups, forwarding_mode mode) {
  options o;
  o.config.role = role_kind::accelerator;
  o.config.accelerator.ports = {0};
  o.config.accelerator.mode = mode;
  o.config.accelerator.groups = std::move(groups);
  return o;
}

bool eventually(const std::function<bool()>& pred) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::string target_health(std::uint16_t control_port, const std::string& group,
                          const std::string& id) {
  auto body = control_request("http://127.0.0.1:" + std::to_string(control_port), "GET", "/health");
  if (!body) return "";
  auto v = boost::json::parse(*body);
  const auto* g = v.as_object().if_contains(group);
  if (!g) return "";
  const auto* h = g->as_object().if_contains(id);
  return h ? std::string(h->as_string()) : "";
}

}  // namespace mysfits::edge::testing
