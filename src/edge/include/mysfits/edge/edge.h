// mysfits-edge's public API: one proxy engine with two roles, a regional load balancer (like an
// ALB) and a global accelerator (like Global Accelerator), configured by edge::config.
// `mysfits-edge serve`, the local cloud and the tests start it through edge::proxy.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mysfits/common/result.h"
#include "mysfits/edge/config.h"

namespace mysfits::edge {

struct options {
  // What to proxy: role, listeners, rules, groups, health checks. Fixed at start; groups'
  // dials, weights and members change at run time through the control API.
  edge::config config;
  // Address the traffic listeners bind. Default: 127.0.0.1.
  std::string listen_address = "127.0.0.1";
  // Loopback address and port of the control API (JSON state, changes, /metrics); port 0
  // picks a free one. Default: 127.0.0.1:0.
  std::string control_address = "127.0.0.1";
  std::uint16_t control_port = 0;
  // Worker threads, each running its own event loop (a connection lives on one). Default: 2.
  std::size_t threads = 2;
  // A worker that runs out of ready events keeps polling (a non-blocking epoll_wait, then
  // sched_yield so that any other runnable thread goes first) for this long after its last
  // event before it blocks. Fewer sleeps and wake-ups under load, none of it when idle; 0 blocks
  // at once. Default: 0 (off).
  std::chrono::microseconds busy_poll{0};
  // With two or more workers and at least as many CPUs as workers that the process may run on,
  // each worker thread is bound to a CPU of its own (worker i to the i-th such CPU), so the
  // workers neither migrate nor queue on one CPU behind each other. Softly: a watchdog probes
  // each bound worker that has connections every 5 ms, and one that has not run for 15 ms (its
  // CPU taken by other processes) is moved to the other CPUs, and bound again after a back-off
  // (1 s, doubling to 64 s while it keeps starving). With fewer CPUs than workers, or one
  // worker, nothing is bound. Default: true.
  bool pin_workers = true;
  // Idle keep-alive downstream connections are closed after this. Default: 60 s.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // A client must send a whole request (after its first byte) within this, else 408; while a
  // large request body is streamed (stream_threshold), it is the longest wait for each read
  // from the client instead, and it bounds every write to a client (a response, or each piece
  // of a streamed one). Default: 10 s.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // Connecting to a target fails (and is retried elsewhere) after this. Default: 2 s.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(2)};
  // An upstream must send its whole response within this, else 504. Once a response is streamed
  // (stream_threshold), it is the longest wait for each read from the upstream instead; it also
  // bounds each write of a streamed request body to the upstream. Default: 30 s.
  std::chrono::milliseconds upstream_timeout{std::chrono::seconds(30)};
  // Idle pooled upstream connections are dropped after this. Default: 30 s.
  std::chrono::milliseconds upstream_idle_timeout{std::chrono::seconds(30)};
  // Largest request header block; larger gets 431. Default: 16 KiB.
  std::uint32_t header_limit = 16 * 1024;
  // Largest request or response body the HTTP mode accepts at all (a larger request gets 413, a
  // larger response 502, or is cut once streamed); 0: no limit, as an ALB. Default: 0.
  std::uint64_t body_limit = 0;
  // HTTP mode: a body up to this size is read whole and passed on with a Content-Length (the
  // fast path); a larger one (a Content-Length over it, or a chunked or close-delimited body
  // that grows past it) is streamed as it arrives, with backpressure, in pieces of at most
  // 64 KiB (docs/edge.md "Bodies"). Default: 64 KiB.
  std::uint64_t stream_threshold = 64 * 1024;
  // Attempts per request in HTTP mode, the first included (retries go to other targets).
  // Default: 3.
  int max_attempts = 3;
  // Seed of the traffic-dial random draws; 0 seeds from the clock. Default: 0.
  std::uint64_t random_seed = 0;
  // Request deadlines (X-Edge-Deadline, Unix epoch ms; docs/edge.md): a request whose deadline
  // passed more than this ago is refused with 504 (`X-Edge-Error: deadline-expired`) instead
  // of forwarded. The allowance for clock skew between hosts, whose clocks are assumed
  // synchronised. Default: 50 ms.
  std::chrono::milliseconds deadline_tolerance{50};
};

class proxy {
 public:
  explicit proxy(options o);
  ~proxy();  // stops if still running
  proxy(const proxy&) = delete;
  proxy& operator=(const proxy&) = delete;

  // Resolves targets, binds the listeners and the control port, starts health checks.
  [[nodiscard]] result<void> start();
  // Stops accepting, closes connections and joins the threads. Idempotent.
  void stop();
  // Bound traffic ports, in configuration order (after start()).
  std::vector<std::uint16_t> ports() const;
  // Bound control API port (after start()).
  std::uint16_t control_port() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// A request to a control API, as the `mysfits-edge` subcommands send it. `url` is
// "http://127.0.0.1:PORT"; returns the response body, or an error naming the status and body.
[[nodiscard]] result<std::string> control_request(const std::string& url, const std::string& method,
                                                  const std::string& path,
                                                  const std::string& body = {});

}  // namespace mysfits::edge
