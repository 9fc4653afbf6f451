#include "proxy/pin_watchdog.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace mysfits::edge {
namespace {

using namespace std::chrono_literals;
using clock = pin_watchdog::clock;

// Two workers whose loops run their probes only when the test says so, and a record of every
// bind and unbind the watchdog asks for.
struct fixture {
  std::vector<std::vector<std::function<void()>>> queued{2};
  std::vector<std::pair<std::size_t, bool>> affinity;  // (worker, bound) in order
  std::vector<clock::duration> waited;
  std::vector<bool> busy{true, true};  // whether each worker has open connections
  pin_watchdog wd;
  clock::time_point now = clock::time_point{} + 1h;

  fixture()
      : wd(2, pin_watchdog::settings{},
           {.post = [this](std::size_t w, std::function<void()> p) { queued[w].push_back(p); },
            .set_bound = [this](std::size_t w, bool b) { affinity.emplace_back(w, b); },
            .busy = [this](std::size_t w) { return static_cast<bool>(busy[w]); },
            .unbound = [this](std::size_t, clock::duration d,
                              clock::duration) { waited.push_back(d); }}) {}

  // Worker `w`'s loop runs what was posted to it.
  void run(std::size_t w) {
    for (auto& p : queued[w]) p();
    queued[w].clear();
  }
  // `d` passes in ticks of the watchdog's interval; the listed workers run their loops before
  // each tick, the others do not.
  void pass(clock::duration d, std::vector<std::size_t> running) {
    for (auto end = now + d; now < end; now += wd.config().interval) {
      for (auto w : running) run(w);
      wd.tick(now);
    }
  }
};

TEST(PinWatchdog, WorkersThatRunTheirProbesStayBound) {
  fixture f;
  f.pass(10s, {0, 1});
  EXPECT_TRUE(f.wd.bound(0));
  EXPECT_TRUE(f.wd.bound(1));
  EXPECT_EQ(f.wd.unbinds(), 0u);
  EXPECT_TRUE(f.affinity.empty());
  // One probe at a time per worker: never more than one waiting in a loop.
  EXPECT_EQ(f.queued[0].size(), 1u);
}

TEST(PinWatchdog, AStarvedWorkerIsUnboundAndBoundAgainAfterItsBackoff) {
  fixture f;
  f.pass(100ms, {0, 1});
  // Worker 1 stops running (its CPU is held by something else); worker 0 goes on.
  // Its last probe was posted 5 ms before this; after two ticks it has waited 10 ms.
  f.pass(9ms, {0});
  EXPECT_TRUE(f.wd.bound(1)) << "not yet: a probe may wait up to starved_after";
  f.pass(10ms, {0});
  EXPECT_FALSE(f.wd.bound(1));
  EXPECT_TRUE(f.wd.bound(0));
  ASSERT_EQ(f.affinity.size(), 1u);
  EXPECT_EQ(f.affinity[0], std::make_pair(std::size_t{1}, false));
  ASSERT_EQ(f.waited.size(), 1u);
  EXPECT_GE(f.waited[0], 15ms);
  EXPECT_EQ(f.wd.unbinds(), 1u);
  // Unbound, it runs again: it stays unbound for the first back-off (1 s), then is bound again.
  f.pass(900ms, {0, 1});
  EXPECT_FALSE(f.wd.bound(1));
  f.pass(200ms, {0, 1});
  EXPECT_TRUE(f.wd.bound(1));
  ASSERT_EQ(f.affinity.size(), 2u);
  EXPECT_EQ(f.affinity[1], std::make_pair(std::size_t{1}, true));
}

TEST(PinWatchdog, AWorkerThatStaysStarvedIsNotBoundAgainUntilItRuns) {
  fixture f;
  f.pass(100ms, {0, 1});
  f.pass(5s, {0});  // worker 1 never runs
  EXPECT_FALSE(f.wd.bound(1));
  EXPECT_EQ(f.wd.unbinds(), 1u);
  EXPECT_EQ(f.affinity.size(), 1u) << "no bind while its probe is still waiting";
  f.pass(100ms, {0, 1});  // it runs again, long after its back-off: bound at once
  EXPECT_TRUE(f.wd.bound(1));
}

TEST(PinWatchdog, TheBackoffDoublesWhileAWorkerKeepsStarvingAndResetsWhenCalm) {
  fixture f;
  f.pass(100ms, {0, 1});
  // Starve, run unbound until bound again; measure how long it stayed unbound each time (from
  // 10 ms after the unbinding, at the tick's granularity).
  auto unbound_for = [&] {
    f.pass(20ms, {0});
    EXPECT_FALSE(f.wd.bound(1));
    auto from = f.now;
    while (!f.wd.bound(1)) f.pass(f.wd.config().interval, {0, 1});
    return f.now - from;
  };
  auto first = unbound_for();
  auto second = unbound_for();
  auto third = unbound_for();
  EXPECT_GE(first, 950ms);
  EXPECT_LT(first, 1050ms);
  EXPECT_GE(second, 1950ms);
  EXPECT_LT(second, 2050ms);
  EXPECT_GE(third, 3950ms);
  EXPECT_LT(third, 4050ms);
  // A minute bound without starving: the next back-off is the first one again.
  f.pass(61s, {0, 1});
  auto after_calm = unbound_for();
  EXPECT_GE(after_calm, 950ms);
  EXPECT_LT(after_calm, 1050ms);
  EXPECT_EQ(f.wd.unbinds(), 4u);
}

TEST(PinWatchdog, AStoppedProcessDoesNotBlameItsWorkers) {
  fixture f;
  f.pass(100ms, {0, 1});
  f.now += 5s;       // SIGSTOP, then SIGCONT: no tick and no loop ran meanwhile
  f.pass(10ms, {});  // the first ticks after it, before the loops have caught up
  f.pass(100ms, {0, 1});
  EXPECT_TRUE(f.wd.bound(0));
  EXPECT_TRUE(f.wd.bound(1));
  EXPECT_EQ(f.wd.unbinds(), 0u);
  // A worker that then does not run is still found out.
  f.pass(30ms, {0});
  EXPECT_FALSE(f.wd.bound(1));
}

TEST(PinWatchdog, AWorkerWithoutConnectionsIsNotProbed) {
  fixture f;
  f.busy[1] = false;
  f.pass(1s, {0});  // worker 1 never runs its loop: with nothing to do, it is not woken either
  EXPECT_TRUE(f.queued[1].empty());
  EXPECT_TRUE(f.wd.bound(1));
  EXPECT_EQ(f.wd.unbinds(), 0u);
  // Once it has connections it is probed, and starving it counts.
  f.busy[1] = true;
  f.pass(30ms, {0});
  EXPECT_FALSE(f.wd.bound(1));
  // A probe already posted is still checked after its connections are gone.
  f.busy[0] = false;
  f.pass(30ms, {});
  EXPECT_FALSE(f.wd.bound(0));
}

TEST(PinWatchdog, TheBackoffStopsGrowingAtItsMaximum) {
  fixture f;
  f.pass(100ms, {0, 1});
  clock::duration last{};
  for (int i = 0; i < 9; ++i) {
    f.pass(20ms, {0});
    auto from = f.now;
    while (!f.wd.bound(1)) f.pass(100ms, {0, 1});
    last = f.now - from;
  }
  EXPECT_GE(last, 63s);  // 1, 2, 4, … 64, then 64 s again
  EXPECT_LT(last, 65s);
}

}  // namespace
}  // namespace mysfits::edge
