// Integration tests of a frozen endpoint in the accelerator's HTTP mode (issue 7, cut mode): an
// upstream that accepts connections and never answers — a region whose processes are stopped,
// or cut off from the network. The first-byte timeout gives up on it, passive health takes it
// out of rotation before the active check notices, retryable requests go to the other region
// (so no client sees an error), and a plain POST gets 504 without being sent twice; a like the
// frozen endpoint held is not applied there too once it thaws (request deadlines).
// Outcomes only: no assertion on how long anything took.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "edge_test_support.h"
#include "fake_table.h"
#include "mysfits/app/like_service.h"
#include "mysfits/common/metrics.h"

using namespace mysfits::edge;
using namespace mysfits::edge::testing;
using namespace std::chrono_literals;

namespace {

// An active check that would take many seconds to notice a frozen endpoint (3 failures of a
// 5 s interval), so what takes it out of rotation within a test's few seconds is passive health.
health_check_config slow_health() {
  health_check_config h;
  h.protocol = "HTTP";
  h.path = "/health";
  h.interval = 5s;
  h.timeout = 1s;
  h.healthy_threshold = h.unhealthy_threshold = 3;
  return h;
}

double counter(const std::string& name, const std::string& group, const std::string& id) {
  return mysfits::metrics::default_registry()
      .get_counter(name, "", {{"group", group}, {"endpoint", id}})
      .value();
}

// Waits until the accelerator sees both regions' endpoints healthy.
bool both_healthy(const proxy& p, const upstream& west, const upstream& east) {
  return eventually([&] {
    return target_health(p.control_port(), "us-west-2", west.id()) == "healthy" &&
           target_health(p.control_port(), "us-east-1", east.id()) == "healthy";
  });
}

bhttp::request<bhttp::string_body> like(const std::string& key) {
  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/mysfits/1/like", 11};
  post.set(bhttp::field::host, "edge.test");
  if (!key.empty()) post.set("Idempotency-Key", key);
  post.body() = "{}";
  post.prepare_payload();
  return post;
}

}  // namespace

// Steady GETs and Idempotency-Key POSTs from four clients over 50/50 dials; west freezes under
// load. Every request is answered 200, west ends out of rotation (passively), and each request
// the first-byte timeout took from west was answered by east with X-Edge-Resent.
TEST(EdgeFrozen, FrozenEndpointCostsNoFailedRequest) {
  upstream west("west"), east("east");
  auto west_group = region("us-west-2", 50, {west.port()}, slow_health());
  west_group.first_byte_timeout = 1s;
  auto east_group = region("us-east-1", 100, {east.port()}, slow_health());
  proxy p(accelerator_options({west_group, east_group}));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(both_healthy(p, west, east));

  constexpr int clients = 4, per_client = 60;
  std::atomic<int> sent{0}, ok{0}, failed{0}, resent{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      client cl(p.ports()[0]);
      for (int i = 0; i < per_client; ++i) {
        auto r = i % 2 ? cl.send(like("k-" + std::to_string(c) + "-" + std::to_string(i)))
                       : cl.get("/mysfits");
        ++sent;
        if (!r || r->result_int() != 200) {
          ++failed;
          continue;
        }
        ++ok;
        if ((*r)["X-Edge-Resent"] == "first-byte-timeout") ++resent;
        std::this_thread::sleep_for(10ms);
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return sent.load() >= clients * per_client / 4; }));
  west.freeze();
  for (auto& t : threads) t.join();

  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(ok.load(), clients * per_client);
  EXPECT_EQ(target_health(p.control_port(), "us-west-2", west.id()), "unhealthy");
  EXPECT_EQ(target_health(p.control_port(), "us-east-1", east.id()), "healthy");
  // Taken out by passive health (the active check could not have failed 3 times yet).
  EXPECT_EQ(counter("edge_passive_ejections_total", "us-west-2", west.id()), 1);
  const double timeouts = counter("edge_first_byte_timeouts_total", "us-west-2", west.id());
  EXPECT_GE(timeouts, 1);
  // Every request given up on west was resent to east and says so (a possible duplicate).
  EXPECT_EQ(resent.load(), static_cast<int>(timeouts));
  EXPECT_GE(west.held(), 1);
}

// A POST without an Idempotency-Key stuck on a frozen endpoint gets 504 and is not sent to the
// other region; the endpoint is then out of rotation, so the next one goes to east.
TEST(EdgeFrozen, PlainPostToFrozenEndpointGets504NotRetried) {
  upstream west("west"), east("east");
  auto west_group = region("us-west-2", 100, {west.port()}, slow_health());
  west_group.first_byte_timeout = 300ms;
  auto east_group = region("us-east-1", 100, {east.port()}, slow_health());
  proxy p(accelerator_options({west_group, east_group}));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(both_healthy(p, west, east));
  auto before = client(p.ports()[0]).send(like(""));
  ASSERT_TRUE(before);
  EXPECT_EQ((*before)["X-Upstream"], "west");

  west.freeze();
  auto stuck = client(p.ports()[0]).send(like(""));
  ASSERT_TRUE(stuck);
  EXPECT_EQ(stuck->result_int(), 504);
  EXPECT_EQ(east.hits(), 0);  // not sent twice
  EXPECT_EQ(target_health(p.control_port(), "us-west-2", west.id()), "unhealthy");

  auto next = client(p.ports()[0]).send(like(""));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->result_int(), 200);
  EXPECT_EQ((*next)["X-Upstream"], "east");
  EXPECT_EQ((*next)["X-Edge-Resent"], "");
}

// A slow request on an endpoint that keeps answering others is retried elsewhere after the
// first-byte timeout, but the endpoint stays in rotation (passive health only takes out
// endpoints from which nothing came back).
TEST(EdgeFrozen, SlowRequestDoesNotEjectALiveEndpoint) {
  upstream west("west", 3000), east("east");
  auto west_group = region("us-west-2", 100, {west.port()}, slow_health());
  west_group.first_byte_timeout = 1s;
  auto east_group = region("us-east-1", 100, {east.port()}, slow_health());
  proxy p(accelerator_options({west_group, east_group}));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(both_healthy(p, west, east));
  std::atomic<bool> done{false};
  std::atomic<int> failed{0};
  std::vector<std::thread> busy;
  for (int c = 0; c < 3; ++c) {
    busy.emplace_back([&] {
      client cl(p.ports()[0]);
      while (!done) {
        auto r = cl.get("/fast");
        if (!r || r->result_int() != 200) ++failed;
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  auto slow = client(p.ports()[0]).get("/slow");
  done = true;
  for (auto& t : busy) t.join();
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->result_int(), 200);
  EXPECT_EQ((*slow)["X-Upstream"], "east");
  EXPECT_EQ((*slow)["X-Edge-Resent"], "first-byte-timeout");
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(counter("edge_passive_ejections_total", "us-west-2", west.id()), 0);
  EXPECT_NE(target_health(p.control_port(), "us-west-2", west.id()), "unhealthy");
}

// The drill's cut, end to end but in-process: the accelerator → west's load balancer → west's
// like service (the app's own, on a fake table), and east's like service. West's like service
// freezes (its handler threads stop, as SIGSTOP would stop them) with a like in hand; the
// accelerator gives up on it after the first-byte timeout and resends it to east, which applies
// it. When west thaws, the like it held carries a deadline that has passed, so west refuses it
// (a marked 504) instead of applying it: the like counts exactly once.
TEST(EdgeFrozen, HeldLikeResentElsewhereIsAppliedOnceAfterThaw) {
  const std::string cole = "33e1fbd4-2fd8-45fb-a42f-f92551694506";
  mysfits::app::testing::fake_table west_table, east_table;
  west_table.load_shipped();
  east_table.load_shipped();
  mysfits::app::like_service west_likes({}, west_table), east_likes({}, east_table);
  upstream west_like("west-like", [&](mysfits::http::request& r) { return west_likes.handle(r); });
  upstream east_like("east-like", [&](mysfits::http::request& r) { return east_likes.handle(r); });
  upstream west_core("west-core");
  proxy west_lb(load_balancer_options({west_core.port()}, {west_like.port()}));
  ASSERT_TRUE(west_lb.start());
  auto west_group = region("us-west-2", 100, {west_lb.ports()[0]}, slow_health());
  // 3 s: the like sent before the freeze has its 1.5 s deadline to reach west's like service
  // even on a loaded machine.
  west_group.first_byte_timeout = 3s;
  auto east_group = region("us-east-1", 100, {east_like.port()}, slow_health());
  proxy acc(accelerator_options({west_group, east_group}));
  ASSERT_TRUE(acc.start());
  ASSERT_TRUE(eventually([&] {
    return target_health(acc.control_port(), "us-west-2",
                         "127.0.0.1:" + std::to_string(west_lb.ports()[0])) == "healthy" &&
           target_health(acc.control_port(), "us-east-1", east_like.id()) == "healthy";
  }));
  auto updates = [](mysfits::app::testing::fake_table& t) {
    int n = 0;
    for (const auto& c : t.calls) n += c.op == "UpdateItem";
    return n;
  };
  auto send_like = [&](const std::string& key) {
    auto req = like(key);
    req.target("/mysfits/" + cole + "/like");
    return client(acc.ports()[0]).send(req);
  };

  auto before = send_like("like-before");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->result_int(), 200);
  ASSERT_EQ((*before)["X-Upstream"], "west-like");
  ASSERT_EQ(updates(west_table), 1);

  west_like.freeze();
  auto held = send_like("like-held");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->result_int(), 200);
  EXPECT_EQ((*held)["X-Upstream"], "east-like");
  EXPECT_EQ((*held)["X-Edge-Resent"], "first-byte-timeout");
  EXPECT_EQ(updates(east_table), 1);
  EXPECT_EQ(west_like.held(), 1);

  const int answered = west_like.answered();
  west_like.thaw();
  ASSERT_TRUE(eventually([&] { return west_like.answered() > answered; }));
  EXPECT_EQ(west_like.last_status(), 504u);  // refused: its deadline had passed
  EXPECT_EQ(updates(west_table), 1);         // only the like from before the freeze
  EXPECT_EQ(updates(east_table), 1);         // the held like, once
}
