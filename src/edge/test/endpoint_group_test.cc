// Tests for the accelerator's choice of endpoint: traffic dials with spill-over, weights,
// SOURCE_IP affinity, fail-open and retry exclusions (issue 5's ±5 pp figures).
#include "balance/endpoint_group.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace mysfits::edge;

namespace {

endpoint_group_config group_config(const std::string& region, double dial,
                                   std::vector<std::pair<int, int>> port_weights) {
  endpoint_group_config g;
  g.region = region;
  g.traffic_dial = dial;
  for (auto [port, weight] : port_weights) {
    target_config t;
    t.host = "127.0.0.1";
    t.port = static_cast<std::uint16_t>(port);
    t.weight = weight;
    g.endpoints.push_back(t);
  }
  return g;
}

endpoint_group_list make_groups(const std::vector<endpoint_group_config>& cfgs) {
  endpoint_group_list out;
  for (const auto& c : cfgs) {
    auto g = std::make_shared<endpoint_group>(c);
    for (const auto& t : c.endpoints) {
      boost::asio::ip::tcp::endpoint addr(boost::asio::ip::make_address(t.host), t.port);
      auto r = g->add(std::make_shared<endpoint>(t, addr, c.health, c.region, 1));
      EXPECT_TRUE(r);
    }
    out.push_back(g);
  }
  return out;
}

// Fraction of `n` random picks that land on each endpoint id.
std::map<std::string, double> shares(const endpoint_group_list& groups, int n,
                                     std::uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  std::map<std::string, double> out;
  for (int i = 0; i < n; ++i) {
    auto e = select_endpoint(groups, rng(), {});
    out[e ? e->id() : "none"] += 1.0 / n;
  }
  return out;
}

}  // namespace

// A dial of 50 keeps half of the group's traffic; the rest spills to the next group.
TEST(EndpointGroup, DialFiftySplitsHalfToTheNextGroup) {
  auto groups =
      make_groups({group_config("a", 50, {{1001, 128}}), group_config("b", 100, {{2001, 128}})});
  auto s = shares(groups, 2000);
  EXPECT_NEAR(s["127.0.0.1:1001"], 0.50, 0.05);
  EXPECT_NEAR(s["127.0.0.1:2001"], 0.50, 0.05);
}

// A dial of 90 sends 10 % to the next group.
TEST(EndpointGroup, DialNinetySendsTenPercentOn) {
  auto groups =
      make_groups({group_config("a", 90, {{1001, 128}}), group_config("b", 100, {{2001, 128}})});
  auto s = shares(groups, 2000, 7);
  EXPECT_NEAR(s["127.0.0.1:1001"], 0.90, 0.05);
  EXPECT_NEAR(s["127.0.0.1:2001"], 0.10, 0.05);
}

// Weights 1:3 within a group split 25/75.
TEST(EndpointGroup, WeightsOneToThreeSplitTwentyFiveSeventyFive) {
  auto groups = make_groups({group_config("a", 100, {{1001, 1}, {1002, 3}})});
  auto s = shares(groups, 2000, 9);
  EXPECT_NEAR(s["127.0.0.1:1001"], 0.25, 0.05);
  EXPECT_NEAR(s["127.0.0.1:1002"], 0.75, 0.05);
}

// Weight 0 and a dial of 0 take no traffic at all.
TEST(EndpointGroup, ZeroWeightAndZeroDialGetNothing) {
  auto groups = make_groups(
      {group_config("a", 0, {{1001, 128}}), group_config("b", 100, {{2001, 0}, {2002, 5}})});
  auto s = shares(groups, 500);
  EXPECT_DOUBLE_EQ(s["127.0.0.1:2002"], 1.0);
}

// A group with no healthy endpoint passes all its traffic on, whatever its dial.
TEST(EndpointGroup, UnhealthyGroupSpillsEverything) {
  auto groups =
      make_groups({group_config("a", 100, {{1001, 128}}), group_config("b", 100, {{2001, 128}})});
  groups[0]->find("127.0.0.1:1001")->health().set_state_for_test(health_state::unhealthy);
  auto s = shares(groups, 500);
  EXPECT_DOUBLE_EQ(s["127.0.0.1:2001"], 1.0);
}

// When no endpoint anywhere is healthy, traffic goes to all of them (GA's fail-open).
TEST(EndpointGroup, FailsOpenWhenEverythingIsUnhealthy) {
  auto groups =
      make_groups({group_config("a", 50, {{1001, 128}}), group_config("b", 100, {{2001, 128}})});
  for (auto& g : groups) {
    for (auto& e : *g->members()) e->health().set_state_for_test(health_state::unhealthy);
  }
  auto s = shares(groups, 2000);
  EXPECT_NEAR(s["127.0.0.1:1001"], 0.50, 0.05);
  EXPECT_NEAR(s["127.0.0.1:2001"], 0.50, 0.05);
}

// SOURCE_IP affinity: the same client hash always gets the same endpoint while it is healthy;
// when it fails only its clients move (rendezvous hashing), and they come back after.
TEST(EndpointGroup, AffinityKeepsClientsOnTheirEndpoint) {
  auto groups = make_groups({group_config("a", 100, {{1001, 128}, {1002, 128}, {1003, 128}})});
  std::map<std::uint64_t, std::string> first;
  for (std::uint64_t client = 0; client < 300; ++client) {
    auto h = mix64(client);
    first[h] = select_endpoint(groups, h, {})->id();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(select_endpoint(groups, h, {})->id(), first[h]);
  }
  auto victim = groups[0]->find("127.0.0.1:1002");
  victim->health().set_state_for_test(health_state::unhealthy);
  int moved = 0;
  for (auto& [h, id] : first) {
    auto now = select_endpoint(groups, h, {})->id();
    EXPECT_NE(now, "127.0.0.1:1002");
    if (id != "127.0.0.1:1002") {
      EXPECT_EQ(now, id);
    } else {
      ++moved;
    }
  }
  EXPECT_GT(moved, 50);  // about a third of 300 clients were on the victim
  victim->health().set_state_for_test(health_state::healthy);
  for (auto& [h, id] : first) EXPECT_EQ(select_endpoint(groups, h, {})->id(), id);
}

// A retry excludes the endpoint that failed and never falls back onto it.
TEST(EndpointGroup, RetriesSkipExcludedEndpoints) {
  auto groups =
      make_groups({group_config("a", 100, {{1001, 128}}), group_config("b", 100, {{2001, 128}})});
  auto a = groups[0]->find("127.0.0.1:1001");
  auto b = groups[1]->find("127.0.0.1:2001");
  for (std::uint64_t d = 0; d < 100; ++d) {
    EXPECT_EQ(select_endpoint(groups, d, {a.get()}), b);
  }
  EXPECT_EQ(select_endpoint(groups, 1, {a.get(), b.get()}), nullptr);
}
