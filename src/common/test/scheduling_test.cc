// The scheduling policy helper: parsing the names a command line takes, applying a policy to the
// calling thread, and threads started afterwards inheriting it. Every change runs on a thread of
// its own, so the test process keeps its policy.
#include "mysfits/common/scheduling.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>

namespace sch = mysfits::scheduling;

TEST(Scheduling, ParsesTheTwoPolicyNames) {
  EXPECT_EQ(sch::parse("batch"), sch::policy::batch);
  EXPECT_EQ(sch::parse("normal"), sch::policy::normal);
  EXPECT_EQ(sch::parse("Batch"), std::nullopt);
  EXPECT_EQ(sch::parse(""), std::nullopt);
  EXPECT_EQ(sch::parse("fifo"), std::nullopt);
}

TEST(Scheduling, BatchAppliesToTheThreadAndToThreadsItStartsThenNormalRestores) {
  const auto own = sch::current();
  std::optional<sch::policy> after_batch, inherited, after_normal;
  bool batch_ok = false, normal_ok = false;
  std::thread t([&] {
    batch_ok = sch::apply(sch::policy::batch).has_value();
    after_batch = sch::current();
    std::thread child([&] { inherited = sch::current(); });
    child.join();
    normal_ok = sch::apply(sch::policy::normal).has_value();
    after_normal = sch::current();
  });
  t.join();
  ASSERT_TRUE(batch_ok);
  EXPECT_EQ(after_batch, sch::policy::batch);
  EXPECT_EQ(inherited, sch::policy::batch);
  ASSERT_TRUE(normal_ok);
  EXPECT_EQ(after_normal, sch::policy::normal);
  EXPECT_EQ(sch::current(), own);  // a thread's policy is its own: this one was never changed
}
