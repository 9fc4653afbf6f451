// Tests for target group picks: round robin, least outstanding requests, health and draining.
#include "routing/target_group.h"

#include <gtest/gtest.h>

#include <map>

using namespace mysfits::edge;

namespace {

std::shared_ptr<target_group> make_group(lb_algorithm alg, int n, std::size_t workers = 1) {
  target_group_config c;
  c.name = "tg-" + std::to_string(static_cast<int>(alg)) + "-" + std::to_string(n);
  c.algorithm = alg;
  auto g = std::make_shared<target_group>(c);
  for (int i = 0; i < n; ++i) {
    target_config t;
    t.host = "127.0.0.1";
    t.port = static_cast<std::uint16_t>(3000 + i);
    boost::asio::ip::tcp::endpoint addr(boost::asio::ip::make_address(t.host), t.port);
    EXPECT_TRUE(g->add(std::make_shared<endpoint>(t, addr, c.health, c.name, workers)));
  }
  return g;
}

}  // namespace

// Round robin visits every target once per cycle.
TEST(TargetGroup, RoundRobinCyclesThroughTargets) {
  auto g = make_group(lb_algorithm::round_robin, 3);
  std::map<std::string, int> counts;
  for (int i = 0; i < 30; ++i) counts[g->pick({})->id()]++;
  ASSERT_EQ(counts.size(), 3u);
  for (auto& [id, n] : counts) EXPECT_EQ(n, 10) << id;
}

// Unhealthy and draining targets get nothing; with none left the pick is empty (→ 503).
TEST(TargetGroup, SkipsUnhealthyAndDrainingTargets) {
  auto g = make_group(lb_algorithm::round_robin, 3);
  g->find("127.0.0.1:3000")->health().set_state_for_test(health_state::unhealthy);
  g->find("127.0.0.1:3001")->set_draining();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(g->pick({})->id(), "127.0.0.1:3002");
  g->find("127.0.0.1:3002")->health().set_state_for_test(health_state::unhealthy);
  EXPECT_EQ(g->pick({}), nullptr);
}

// Least outstanding requests prefers the least busy target and spreads ties.
TEST(TargetGroup, LeastOutstandingPrefersIdleTargets) {
  auto g = make_group(lb_algorithm::least_outstanding_requests, 3);
  g->find("127.0.0.1:3000")->add_outstanding(0, 5);
  g->find("127.0.0.1:3001")->add_outstanding(0, 1);
  std::map<std::string, int> counts;
  for (int i = 0; i < 20; ++i) counts[g->pick({})->id()]++;
  EXPECT_EQ(counts["127.0.0.1:3002"], 20);
  g->find("127.0.0.1:3002")->add_outstanding(0, 1);
  counts.clear();
  for (int i = 0; i < 20; ++i) counts[g->pick({})->id()]++;
  EXPECT_EQ(counts["127.0.0.1:3000"], 0);
  EXPECT_GT(counts["127.0.0.1:3001"], 0);
  EXPECT_GT(counts["127.0.0.1:3002"], 0);
}

// Each worker counts its own requests in flight; least outstanding requests compares the totals
// over all workers, and a finished request (counted down by its worker) no longer counts.
TEST(TargetGroup, LeastOutstandingSumsEveryWorkersRequests) {
  auto g = make_group(lb_algorithm::least_outstanding_requests, 2, 2);
  auto a = g->find("127.0.0.1:3000");
  auto b = g->find("127.0.0.1:3001");
  a->add_outstanding(0, 1);
  a->add_outstanding(1, 2);  // a: 3 in flight over the two workers
  b->add_outstanding(1, 2);  // b: 2, all on worker 1
  EXPECT_EQ(a->outstanding(), 3);
  EXPECT_EQ(b->outstanding(), 2);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(g->pick({})->id(), "127.0.0.1:3001");
  a->add_outstanding(1, -2);  // a: 1 left, on worker 0
  for (int i = 0; i < 10; ++i) EXPECT_EQ(g->pick({})->id(), "127.0.0.1:3000");
}
