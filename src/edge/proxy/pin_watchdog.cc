#include "proxy/pin_watchdog.h"

#include <algorithm>

namespace mysfits::edge {

pin_watchdog::pin_watchdog(std::size_t workers, settings s, hooks h)
    : settings_(s), hooks_(std::move(h)), workers_(workers) {
  for (auto& w : workers_) w.backoff = settings_.first_backoff;
}

void pin_watchdog::tick(clock::time_point now) {
  if (!started_) {
    for (auto& w : workers_) w.bound_since = now;
    started_ = true;
  } else if (now - last_tick_ > settings_.starved_after) {
    // The watchdog itself did not run for that long: the whole process was stopped (SIGSTOP) or
    // starved, not one worker on its CPU. Its probes are timed from now.
    for (auto& w : workers_) w.sent = now;
  }
  last_tick_ = now;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    auto& w = workers_[i];
    if (w.outstanding) {
      if (!w.answered->load(std::memory_order_acquire)) {
        // Still waiting: a bound worker that has not run for this long is starved on its CPU.
        if (w.bound && now - w.sent >= settings_.starved_after) {
          w.bound = false;
          ++unbinds_;
          w.rebind_at = now + w.backoff;
          hooks_.set_bound(i, false);
          if (hooks_.unbound) hooks_.unbound(i, now - w.sent, w.backoff);
          w.backoff = std::min<clock::duration>(w.backoff * 2, settings_.max_backoff);
        }
        continue;  // one probe at a time
      }
      w.outstanding = false;
    }
    if (!w.bound && now >= w.rebind_at) {
      w.bound = true;
      w.bound_since = now;
      hooks_.set_bound(i, true);
    }
    if (w.bound && w.backoff != settings_.first_backoff &&
        now - w.bound_since >= settings_.calm_after)
      w.backoff = settings_.first_backoff;
    if (hooks_.busy && !hooks_.busy(i)) continue;
    w.answered->store(false, std::memory_order_relaxed);
    w.outstanding = true;
    w.sent = now;
    hooks_.post(i, [answered = w.answered] { answered->store(true, std::memory_order_release); });
  }
}

}  // namespace mysfits::edge
