// Unit tests of storage::committer (group commit): a completion never runs before the sync that
// covers it, one sync covers everything that waited during the previous one, a failed sync fails
// its waiters, and stop() completes what is queued.
#include "storage/committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "test/sync_gate.h"

namespace mysfits::table::storage {
namespace {

using testing::sync_gate;

// What a completion saw: whether it ran and with which outcome.
struct outcome {
  std::promise<bool> done;  // the sync's success
  std::future<bool> seen = done.get_future();
  committer::completion completion() {
    return [this](const result<void>& synced) { done.set_value(static_cast<bool>(synced)); };
  }
  bool ready() { return seen.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
  // Waits (up to 30 s) and returns the sync's success.
  bool get() {
    EXPECT_EQ(seen.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return seen.get();
  }
};

// A write's completion (its client's answer) runs only after the sync that started after it was
// enqueued has finished; one enqueued during a sync waits for the next sync.
TEST(Committer, CompletionWaitsForItsSync) {
  sync_gate gate;
  committer c([&] { return gate.sync(); });
  c.start();
  outcome a;
  c.enqueue(a.completion());
  ASSERT_TRUE(gate.wait_entered(1));
  EXPECT_FALSE(a.ready()) << "answered while its sync was still running";
  outcome b;
  c.enqueue(b.completion());  // arrives during sync 1: its record may not be covered by it
  gate.release();
  EXPECT_TRUE(a.get());
  ASSERT_TRUE(gate.wait_entered(2));
  EXPECT_FALSE(b.ready()) << "answered before the sync that covers it";
  gate.release();
  EXPECT_TRUE(b.get());
  c.stop();
  EXPECT_EQ(c.syncs(), 2u);
}

// Everything that arrives while one sync runs shares the next one.
TEST(Committer, OneSyncCoversEveryWaiter) {
  sync_gate gate;
  committer c([&] { return gate.sync(); });
  c.start();
  outcome first;
  c.enqueue(first.completion());
  ASSERT_TRUE(gate.wait_entered(1));
  std::vector<std::unique_ptr<outcome>> rest;
  std::vector<std::thread> writers;
  for (int i = 0; i < 50; ++i) rest.push_back(std::make_unique<outcome>());
  for (int i = 0; i < 50; ++i)
    writers.emplace_back([&, i] { c.enqueue(rest[static_cast<std::size_t>(i)]->completion()); });
  for (auto& w : writers) w.join();
  gate.release();
  EXPECT_TRUE(first.get());
  ASSERT_TRUE(gate.wait_entered(2));
  gate.release();
  for (auto& o : rest) EXPECT_TRUE(o->get());
  EXPECT_EQ(c.syncs(), 2u);
  c.stop();
}

// A failed sync hands its failure to every waiter it covered; the next sync is tried afresh.
TEST(Committer, FailedSyncFailsItsWaiters) {
  sync_gate gate;
  committer c([&] { return gate.sync(); });
  c.start();
  outcome a;
  outcome b;
  c.enqueue(a.completion());
  ASSERT_TRUE(gate.wait_entered(1));
  {
    std::lock_guard lock(gate.mu);
    gate.fail = true;
  }
  gate.release();
  EXPECT_FALSE(a.get());
  {
    std::lock_guard lock(gate.mu);
    gate.fail = false;
  }
  c.enqueue(b.completion());
  ASSERT_TRUE(gate.wait_entered(2));
  gate.release();
  EXPECT_TRUE(b.get());
  c.stop();
}

// stop() syncs and completes what is queued; later writes sync on their own thread.
TEST(Committer, StopCompletesQueuedAndLaterWritesSyncInline) {
  sync_gate gate;
  gate.open();
  committer c([&] { return gate.sync(); });
  c.start();
  std::vector<std::unique_ptr<outcome>> all;
  for (int i = 0; i < 10; ++i) {
    all.push_back(std::make_unique<outcome>());
    c.enqueue(all.back()->completion());
  }
  c.enqueue({});  // a bare sync request
  c.stop();
  for (auto& o : all) EXPECT_TRUE(o->ready());
  std::uint64_t before = c.syncs();
  outcome late;
  c.enqueue(late.completion());
  EXPECT_TRUE(late.ready());
  EXPECT_TRUE(late.get());
  EXPECT_EQ(c.syncs(), before + 1);
}

}  // namespace
}  // namespace mysfits::table::storage
