// system.json as `mysfits up` writes it (notes: any key may be absent).
#include "mysfits/drill/system.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mysfits::drill {
namespace {

const char* kFull = R"({
  "version": 1, "state_dir": "/tmp/s", "primary_region": "us-west-2",
  "regions": {
    "us-east-1": {"table": {"endpoint": "http://127.0.0.1:2", "pid": 12},
                  "load_balancer": {"url": "http://127.0.2.1:3", "control": "http://127.0.0.1:4", "pid": 13}},
    "us-west-2": {"table": {"endpoint": "http://127.0.0.1:5", "pid": 22,
                            "restart": {"argv": ["/bin/t", "serve"], "env": {"A": "b"}}},
                  "agent": {"pid": 21},
                  "load_balancer": {"url": "http://127.0.1.1:6", "control": "http://127.0.0.1:7"},
                  "cluster": "mm-cluster", "services": {"core": "core-service", "like": "like-service"},
                  "tasks": [{"service": "core", "address": "127.0.0.1:9", "pid": 30}]}
  },
  "accelerator": {"url": "http://127.0.0.1:8", "control": "http://127.0.0.1:10", "pid": 40,
                  "mode": "http", "endpoint_groups": {"us-west-2": "a", "us-east-1": "b"}}
})";

// The primary comes first whatever the JSON order; every documented key is read.
TEST(SystemJson, ReadsEveryPiece) {
  auto s = parse_system(kFull);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->regions.size(), 2u);
  EXPECT_EQ(s->regions[0].name, "us-west-2");
  EXPECT_EQ(s->regions[1].name, "us-east-1");
  const auto& w = s->regions[0];
  EXPECT_EQ(w.table_endpoint, "http://127.0.0.1:5");
  EXPECT_EQ(w.table.pid, 22);
  ASSERT_TRUE(w.table.restart);
  EXPECT_EQ(w.table.restart->argv.size(), 2u);
  EXPECT_EQ(w.table.restart->env.at("A"), "b");
  EXPECT_EQ(w.agent.pid, 21);
  EXPECT_EQ(w.lb_control, "http://127.0.0.1:7");
  EXPECT_EQ(w.lb.pid, 0);
  EXPECT_EQ(w.services.at("like"), "like-service");
  ASSERT_EQ(w.tasks.size(), 1u);
  EXPECT_EQ(w.tasks[0].process.pid, 30);
  ASSERT_TRUE(s->accelerator);
  EXPECT_EQ(s->accelerator->mode, "http");
  EXPECT_EQ(s->state_dir, "/tmp/s");
}

// Pieces that are not running are simply absent.
TEST(SystemJson, CopesWithMissingPieces) {
  auto s = parse_system(R"({"regions": {"r1": {}, "r2": {"load_balancer": {}}}})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->primary_region, "r1");
  EXPECT_FALSE(s->accelerator);
  EXPECT_TRUE(s->regions[1].lb_url.empty());
}

TEST(SystemJson, RejectsWhatCannotBeUsed) {
  EXPECT_FALSE(parse_system("not json"));
  EXPECT_FALSE(parse_system("[]"));
  EXPECT_FALSE(parse_system(R"({"regions": {}})"));
  auto bad = parse_system(R"({"primary_region": "x", "regions": {"r1": {}}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("primary_region"), std::string::npos);
  EXPECT_FALSE(load_system("/nonexistent/system.json"));
}

// After restarting a process the drill records its new pid, keeping every other key.
TEST(SystemJson, UpdatePidKeepsTheRest) {
  auto dir = std::filesystem::temp_directory_path() / ("drill_sys_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "system.json";
  std::ofstream(file) << kFull;
  ASSERT_TRUE(update_pid(file, {"regions", "us-west-2", "table"}, 777));
  ASSERT_TRUE(update_pid(file, {"regions", "us-west-2", "tasks", "0"}, 778));
  EXPECT_FALSE(update_pid(file, {"regions", "nowhere", "table"}, 1));
  auto s = load_system(file);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->regions[0].table.pid, 777);
  EXPECT_EQ(s->regions[0].tasks[0].process.pid, 778);
  EXPECT_TRUE(s->regions[0].table.restart);
  EXPECT_EQ(s->regions[1].lb.pid, 13);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mysfits::drill
