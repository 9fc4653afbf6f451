// A write-ahead-log sync for tests: each call waits until the test releases it (and fails if
// told to), so a test can see what happens while a sync is in progress, with no timing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "mysfits/common/result.h"

namespace mysfits::table::testing {

struct sync_gate {
  std::mutex mu;
  std::condition_variable cv;
  int entered = 0;   // syncs started
  int released = 0;  // syncs allowed to finish
  bool fail = false;
  bool opened = false;  // every sync goes through

  result<void> sync() {
    std::unique_lock lock(mu);
    int me = ++entered;
    cv.notify_all();
    cv.wait(lock, [&] { return opened || released >= me; });
    if (fail) return error::io("injected fsync failure");
    return ok();
  }
  // Waits (up to 30 s) until `n` syncs have started.
  bool wait_entered(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return entered >= n; });
  }
  void release(int n = 1) {
    std::lock_guard lock(mu);
    released += n;
    cv.notify_all();
  }
  // Lets every sync, present and future, through.
  void open() {
    std::lock_guard lock(mu);
    opened = true;
    cv.notify_all();
  }
};

}  // namespace mysfits::table::testing
