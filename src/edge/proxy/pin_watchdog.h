// Soft binding of the worker threads to CPUs (options::pin_workers).
//
// A worker bound to a CPU of its own neither migrates nor queues behind the other worker, which
// keeps the latency tail short (docs/edge.md, "The tail, once more") — but it also cannot leave
// its CPU when something else holds it, and under heavy load from other processes bound workers
// stalled for seconds. The watchdog keeps the first without the second: every `interval` it posts
// a probe (a no-op) to each worker's loop, and a worker that has not run its probe within
// `starved_after` is unbound: the proxy moves it to its other CPUs (allowed every CPU, it would
// stay queued on its own until the scheduler balanced it away). It is bound again after a
// back-off that starts at `first_backoff` and doubles, up to `max_backoff`, each time the worker
// starves again; a worker that stayed bound for `calm_after` without starving starts from
// `first_backoff` again.
//
// A tick that comes late (the watchdog itself did not run: the process was stopped or starved as
// a whole) times the pending probes afresh instead of blaming the workers.
//
// Not thread-safe: tick() and the accessors run on one thread (the proxy's health thread); the
// probes run on the workers' loops and only set a flag.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace mysfits::edge {

class pin_watchdog {
 public:
  using clock = std::chrono::steady_clock;

  struct settings {
    std::chrono::milliseconds interval{5};
    std::chrono::milliseconds starved_after{15};
    std::chrono::milliseconds first_backoff{1000};
    std::chrono::milliseconds max_backoff{64000};
    std::chrono::milliseconds calm_after{60000};
  };
  struct hooks {
    // Runs `probe` on worker `w`'s loop.
    std::function<void(std::size_t w, std::function<void()> probe)> post;
    // Binds worker `w` to its CPU (`bind`) or moves it off it (false).
    std::function<void(std::size_t w, bool bind)> set_bound;
    // Whether worker `w` has anything to do (open connections): one without is not probed, so an
    // idle proxy is not woken every interval. Null: every worker is probed.
    std::function<bool(std::size_t w)> busy;
    // Told of each unbinding: the worker, how long its pending probe had waited, the back-off.
    std::function<void(std::size_t w, clock::duration waited, clock::duration backoff)> unbound;
  };

  // The workers are bound already when the watchdog starts.
  pin_watchdog(std::size_t workers, settings s, hooks h);

  // Checks the probes and sends new ones; call every settings().interval.
  void tick(clock::time_point now);

  const settings& config() const { return settings_; }
  bool bound(std::size_t w) const { return workers_[w].bound; }
  std::uint64_t unbinds() const { return unbinds_; }

 private:
  struct worker {
    std::shared_ptr<std::atomic<bool>> answered = std::make_shared<std::atomic<bool>>(false);
    bool outstanding = false;  // a probe was posted and has not run yet (as last seen)
    clock::time_point sent;
    bool bound = true;
    clock::time_point bound_since;
    clock::time_point rebind_at;
    clock::duration backoff;
  };

  settings settings_;
  hooks hooks_;
  std::vector<worker> workers_;
  std::uint64_t unbinds_ = 0;
  bool started_ = false;
  clock::time_point last_tick_;
};

}  // namespace mysfits::edge
