// Tests for the local container service: tasks are real processes; the cluster keeps the
// desired count, replaces crashed and unhealthy tasks and rolls deployments safely.
#include "mysfits/cloud/runtime.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace mysfits;
using namespace mysfits::cloud;
namespace fs = std::filesystem;

namespace {

struct ClusterTest : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("mysfits-runtime-test-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::set<std::string> healthy;  // addresses the fake load balancer calls healthy
  std::set<std::string> registered;
  bool use_health = false;
  std::unique_ptr<cluster> c;

  void SetUp() override {
    fs::remove_all(dir);
    cluster_hooks hooks;
    hooks.prepare_task = [](const task_definition& td,
                            const fs::path& root) -> result<process_spec> {
      process_spec p;
      // The "image" names a shell snippet; a real one is unpacked from the registry.
      p.argv = {"/bin/sh", "-c", "echo \"$HOST:$PORT $REV\"; exec sleep 60", td.image};
      p.env = {{"PATH", "/usr/bin:/bin"}, {"REV", std::to_string(td.revision)}};
      p.working_dir = root;
      return p;
    };
    hooks.register_target = [this](const std::string&, const std::string& a, int) {
      registered.insert(a);
    };
    hooks.deregister_target = [this](const std::string&, const std::string& a, int) {
      registered.erase(a);
    };
    hooks.health = [this](const std::string&, const std::string& a, int) {
      if (!use_health) return task_health::healthy;
      return healthy.contains(a) ? task_health::healthy : task_health::unknown;
    };
    cluster_options o;
    o.region = "us-west-2";
    o.work_dir = dir;
    o.stop_timeout = std::chrono::milliseconds(2000);
    o.unhealthy_grace = std::chrono::hours(1);
    c = std::make_unique<cluster>(o, hooks);
    c->put_task_definition({"core", 1, "img", {}, {}, 8080});
    c->put_task_definition({"core", 2, "img", {}, {}, 8080});
  }
  void TearDown() override {
    c.reset();
    fs::remove_all(dir);
  }
  void reconcile(int n = 10) {
    for (int i = 0; i < n; ++i) c->reconcile();
  }
  int count(const std::string& td) {
    int n = 0;
    for (const auto& t : c->tasks()) n += t.task_definition == td;
    return n;
  }
};

}  // namespace

// Desired count 2 runs two processes with their own addresses, registered with the LB.
TEST_F(ClusterTest, RunsDesiredCount) {
  ASSERT_TRUE(c->put_service({"core", "core:1", 2}));
  reconcile();
  auto tasks = c->tasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_NE(tasks[0].address, tasks[1].address);
  EXPECT_EQ(registered.size(), 2u);
  for (const auto& t : tasks) EXPECT_EQ(::kill(t.pid, 0), 0);
}

// A task that dies is replaced by a new one.
TEST_F(ClusterTest, ReplacesCrashedTask) {
  ASSERT_TRUE(c->put_service({"core", "core:1", 1}));
  reconcile();
  auto first = c->tasks().at(0);
  ::kill(first.pid, SIGKILL);
  for (int i = 0; i < 200 && (c->tasks().empty() || c->tasks()[0].pid == first.pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c->reconcile();
  }
  ASSERT_EQ(c->tasks().size(), 1u);
  EXPECT_NE(c->tasks()[0].pid, first.pid);
}

// Desired count 0 (lab 5's way to break a region) stops every task and deregisters it.
TEST_F(ClusterTest, DesiredZeroStopsEverything) {
  ASSERT_TRUE(c->put_service({"core", "core:1", 2}));
  reconcile();
  auto pids = c->tasks();
  ASSERT_TRUE(c->put_service({"core", "core:1", 0}));
  reconcile();
  EXPECT_TRUE(c->tasks().empty());
  EXPECT_TRUE(registered.empty());
  for (const auto& t : pids) EXPECT_NE(::kill(t.pid, 0), 0);
}

// A rolling deployment keeps the old tasks until the new ones are healthy.
TEST_F(ClusterTest, RollingDeploymentWaitsForHealthyTasks) {
  use_health = true;
  ASSERT_TRUE(c->put_service({"core", "core:1", 2}));
  reconcile();
  for (const auto& t : c->tasks()) healthy.insert(t.address);
  ASSERT_TRUE(c->put_service({"core", "core:2", 2}));
  reconcile();
  EXPECT_EQ(count("core:1"), 2);  // new ones are not healthy yet: nothing old goes
  EXPECT_EQ(count("core:2"), 2);  // surge up to maximum percent 200
  for (const auto& t : c->tasks()) healthy.insert(t.address);
  reconcile();
  EXPECT_EQ(count("core:1"), 0);
  EXPECT_EQ(count("core:2"), 2);
}

// A new revision that never gets healthy leaves the old tasks serving.
TEST_F(ClusterTest, BrokenDeploymentKeepsOldTasks) {
  use_health = true;
  ASSERT_TRUE(c->put_service({"core", "core:1", 1}));
  reconcile();
  for (const auto& t : c->tasks()) healthy.insert(t.address);
  ASSERT_TRUE(c->put_service({"core", "core:2", 1}));
  reconcile(20);
  EXPECT_EQ(count("core:1"), 1);
  // Rolling back is putting the old revision back: the new task goes.
  ASSERT_TRUE(c->put_service({"core", "core:1", 1}));
  reconcile();
  EXPECT_EQ(count("core:1"), 1);
  EXPECT_EQ(count("core:2"), 0);
}

// Tasks get PORT and HOST in their environment and write to their log.
TEST_F(ClusterTest, TaskEnvironmentAndLog) {
  ASSERT_TRUE(c->put_service({"core", "core:1", 1}));
  reconcile();
  auto t = c->tasks().at(0);
  std::string line;
  for (int i = 0; i < 200 && line.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(dir / "logs" / ("core-" + t.id + ".log"));
    std::getline(in, line);
  }
  EXPECT_EQ(line, t.address + ":8080 1");
}

// Bad service definitions are refused with the reason.
TEST_F(ClusterTest, RejectsBadServices) {
  EXPECT_FALSE(c->put_service({"core", "core:9", 1}));
  EXPECT_FALSE(c->put_service({"core", "core:1", -1}));
  service_spec s{"core", "core:1", 1, 150, 100};
  EXPECT_FALSE(c->put_service(s));
  EXPECT_FALSE(c->delete_service("absent"));
}
