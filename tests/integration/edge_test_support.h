// Test support for the edge's integration tests: small upstream HTTP servers (healthy or not,
// named so a response says who served it), misbehaving raw upstreams, a blocking keep-alive
// client, and config builders for both roles.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "mysfits/common/http_server.h"
#include "mysfits/edge/edge.h"

namespace mysfits::edge::testing {

namespace bhttp = boost::beast::http;
using response = bhttp::response<bhttp::string_body>;

// An HTTP upstream that answers every path with its name; /health answers 200 or 503. Paths
// starting with /slow are answered after slow_ms. freeze() makes it a frozen process: its
// connections are accepted (by the kernel) and nothing is answered, health checks included,
// until thaw() (or its end), when what it held is answered late. Every answer says which
// X-Edge-Deadline it saw (X-Seen-Deadline).
class upstream {
 public:
  explicit upstream(std::string name, int slow_ms = 0);
  // Answers every request but /health with `handler` (an app service, say), after the freeze.
  upstream(std::string name, std::function<http::response(http::request&)> handler);
  ~upstream();
  std::uint16_t port() const { return port_; }
  void freeze();
  void thaw();
  // Requests (not health checks) that arrived while it was frozen.
  int held() const { return held_; }
  std::string id() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_healthy(bool h) { healthy_ = h; }
  int hits() const { return hits_; }
  // Requests (not health checks) answered, and the status of the last one.
  int answered() const { return answered_; }
  unsigned last_status() const { return last_status_; }
  void kill() { server_->stop(); }  // the process is gone: connections refused

 private:
  upstream(std::string name, int slow_ms, std::function<http::response(http::request&)> handler);
  std::string name_;
  int slow_ms_;
  std::function<http::response(http::request&)> handler_;
  std::atomic<bool> healthy_{true};
  std::atomic<int> hits_{0};
  std::atomic<int> held_{0};
  std::atomic<int> answered_{0};
  std::atomic<unsigned> last_status_{0};

  std::mutex freeze_mu_;
  std::condition_variable thawed_;
  bool frozen_ = false;
  std::unique_ptr<http::server> server_;
  std::uint16_t port_ = 0;
};

// A raw TCP upstream that misbehaves in one way for every connection.
class raw_upstream {
 public:
  enum class behaviour {
    silent,          // reads the request and never answers
    cut,             // reads the request and closes without a byte
    half_response,   // sends part of a response, then closes
    interim,         // per request on a keep-alive connection: a 100 and a 103, then, after
                     // 100 ms and in a write of its own, a 200 whose body is "final <target>"
    head_body,       // per request on a keep-alive connection: a 200 whose body is
                     // "final <target>"; to a HEAD, after 100 ms, a body anyway — that looks
                     // like a second response, a 200 whose body is "stale" (counted: unasked())
    late_extra,      // per request on a keep-alive connection: a 200 whose body is "final
                     // <target>", then, after 100 ms, a second response nobody asked for, a 200
                     // whose body is "stale" (counted: unasked())
    extra_with_body  // as late_extra, but the stray response goes in the same write as the
                     // answer
  };
  explicit raw_upstream(behaviour b);
  ~raw_upstream();
  std::uint16_t port() const { return port_; }
  std::string id() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }
  // Stray responses sent (behaviour::head_body, late_extra, extra_with_body).
  int unasked() const { return unasked_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  behaviour b_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> unasked_{0};
  std::thread thread_;
};

// A keep-alive HTTP/1.1 client with 5 s socket timeouts.
class client {
 public:
  explicit client(std::uint16_t port);
  // Null if the connection failed (which a test counts as a failed request).
  std::optional<response> get(const std::string& target);
  std::optional<response> send(bhttp::request<bhttp::string_body> req);
  // Writes raw bytes and reads one response (or null if the connection closed first).
  std::optional<response> raw(const std::string& bytes);
  boost::beast::tcp_stream& stream() { return stream_; }

 private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_{io_};
  boost::beast::flat_buffer buf_;
};

// One GET on a fresh connection.
std::optional<response> get_once(std::uint16_t port, const std::string& target);

// Health settings that act fast: 200 ms interval, thresholds of 2.
health_check_config fast_health(std::string protocol = "HTTP");

target_config target_of(std::uint16_t port, int weight = 128);

// An endpoint group with one endpoint per port.
endpoint_group_config region(const std::string& name, double dial,
                             const std::vector<std::uint16_t>& ports,
                             health_check_config health = fast_health());

// The workshop's load balancer: /mysfits/*/like → like, everything else → core.
options load_balancer_options(const std::vector<std::uint16_t>& core,
                              const std::vector<std::uint16_t>& like);

options accelerator_options(std::vector<endpoint_group_config> groups,
                            forwarding_mode mode = forwarding_mode::http);

// Polls `pred` every 20 ms for up to 10 s (a generous bound, never the assertion itself).
bool eventually(const std::function<bool()>& pred);

// Health of a target as the control API reports it ("healthy", "unhealthy", "draining"…), or
// "" when it is not listed.
std::string target_health(std::uint16_t control_port, const std::string& group,
                          const std::string& id);

}  // namespace mysfits::edge::testing
