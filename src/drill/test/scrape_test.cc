// Figures between two scrapes: what the dashboard charts and the drill compares against.
#include "scrape.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mysfits::drill::detail {
namespace {

TEST(DeriveFigures, RatesLatencyCpuMemoryAndHealth) {
  snapshot a, b;
  a.at = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
  b.at = a.at + std::chrono::seconds(2);
  auto& ra = a.regions["us-west-2"];
  auto& rb = b.regions["us-west-2"];
  ra.lb_up = rb.lb_up = true;
  ra.requests[2] = 100;
  rb.requests[2] = 300;  // 100/s 2xx
  rb.requests[5] = 20;   // 10/s 5xx
  ra.latency = {{0.01, 0.1, INFINITY}, {0, 0, 0}};
  rb.latency = {{0.01, 0.1, INFINITY}, {200, 220, 220}};
  ra.tasks.push_back({"core", "tg-core", "127.0.0.1:1", "healthy", true, 1.0, 10 * 1048576});
  rb.tasks.push_back({"core", "tg-core", "127.0.0.1:1", "healthy", true, 2.0, 12 * 1048576});
  rb.tasks.push_back({"core", "tg-core", "127.0.0.1:2", "unhealthy", false, 0, 0});
  rb.replication_latency_s["us-east-1"] = 0.25;
  a.accelerator.groups.push_back({"us-west-2", 100, 1, 1, {0, 0, 10, 0, 0, 0}});
  b.accelerator.groups.push_back({"us-west-2", 50, 1, 1, {0, 0, 30, 0, 0, 2}});
  b.accelerator.up = true;
  auto f = derive_figures(a, b);
  EXPECT_DOUBLE_EQ(f.at("us-west-2|rps_2xx"), 100);
  EXPECT_DOUBLE_EQ(f.at("us-west-2|rps_5xx"), 10);
  EXPECT_DOUBLE_EQ(f.at("us-west-2|rps"), 110);
  EXPECT_LE(f.at("us-west-2|p50_ms"), 10);
  EXPECT_GT(f.at("us-west-2|p99_ms"), 10);
  EXPECT_DOUBLE_EQ(f.at("us-west-2|cpu_pct|core"), 50);  // 1 CPU second in 2 s
  EXPECT_DOUBLE_EQ(f.at("us-west-2|rss_mb|core"), 12);
  EXPECT_DOUBLE_EQ(f.at("us-west-2|healthy|core"), 1);
  EXPECT_DOUBLE_EQ(f.at("repl|latency_ms|us-west-2>us-east-1"), 250);
  EXPECT_DOUBLE_EQ(f.at("acc|rps|us-west-2"), 11);
  EXPECT_DOUBLE_EQ(f.at("acc|dial|us-west-2"), 50);
}

// A load balancer that stopped answering has no rates (not zeros that look like calm).
TEST(DeriveFigures, DownPiecesAreLeftOut) {
  snapshot a, b;
  b.at = a.at + std::chrono::seconds(1);
  a.regions["r"].lb_up = true;
  b.regions["r"].lb_up = false;
  auto f = derive_figures(a, b);
  EXPECT_EQ(f.at("r|lb_up"), 0);
  EXPECT_FALSE(f.count("r|rps"));
}

TEST(ServiceOfGroup, MatchesServiceKeys) {
  std::map<std::string, std::string> services{{"core", "core-service"}, {"like", "like-service"}};
  EXPECT_EQ(service_of_group("mm-Core-TG", services), "core");
  EXPECT_EQ(service_of_group("like", services), "like");
  EXPECT_EQ(service_of_group("other", services), "other");
  EXPECT_EQ(service_of_group("like", {}), "like");
}

}  // namespace
}  // namespace mysfits::drill::detail
