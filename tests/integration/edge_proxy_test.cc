// Integration tests of mysfits-edge in-process: the load balancer's rules, round robin, health
// failover and 503; the accelerator's dials, retries and zero-failure failover; control API
// changes and draining. Upstreams are real HTTP servers on loopback, port 0.
#include <gtest/gtest.h>
#include <sched.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "edge_test_support.h"

using namespace mysfits::edge;
using namespace mysfits::edge::testing;

namespace {

std::string served_by(const std::optional<response>& r) {
  if (!r) return "(failed)";
  if (r->result_int() != 200) return "(" + std::to_string(r->result_int()) + ")";
  return std::string((*r)["X-Upstream"]);
}

// Exact round-robin counts need every target in rotation: wait until all are seen healthy (a
// check can time out on a loaded machine, and a new target's first result decides at once).
bool all_healthy(const proxy& p, const std::string& group, const std::vector<std::string>& ids) {
  return eventually([&] {
    for (const auto& id : ids) {
      if (target_health(p.control_port(), group, id) != "healthy") return false;
    }
    return true;
  });
}

std::string control_url(const proxy& p) {
  return "http://127.0.0.1:" + std::to_string(p.control_port());
}

}  // namespace

// The like rule and the default action go to their own target groups, with forwarding headers.
TEST(EdgeLoadBalancer, RoutesLikePathsToLikeGroupAndTheRestToCore) {
  upstream core("core"), like("like");
  proxy p(load_balancer_options({core.port()}, {like.port()}));
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  auto r = c.get("/mysfits/4e53920c/like");
  ASSERT_TRUE(r);
  EXPECT_EQ(served_by(r), "like");
  EXPECT_EQ((*r)["X-Seen-Forwarded-For"], "127.0.0.1");
  EXPECT_EQ((*r)["X-Seen-Forwarded-Proto"], "http");
  EXPECT_EQ(served_by(c.get("/mysfits")), "core");
  EXPECT_EQ(served_by(c.get("/mysfits/4e53920c/likes")), "core");
  EXPECT_EQ(served_by(c.get("/")), "core");
}

// An absolute-form request-target is routed on its path like an origin-form one: writing the
// target in full does not sidestep a rule.
TEST(EdgeLoadBalancer, RoutesAbsoluteFormTargetsOnTheirPath) {
  upstream core("core"), like("like");
  proxy p(load_balancer_options({core.port()}, {like.port()}));
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  auto r =
      c.raw("GET http://edge.test/mysfits/4e53920c/like?x=1 HTTP/1.1\r\nHost: edge.test\r\n\r\n");
  EXPECT_EQ(served_by(r), "like");
  EXPECT_EQ(served_by(c.raw("GET http://edge.test/mysfits HTTP/1.1\r\nHost: edge.test\r\n\r\n")),
            "core");
}

// Requests alternate between the group's targets, also on one keep-alive connection.
TEST(EdgeLoadBalancer, RoundRobinsAcrossTargets) {
  upstream a("a"), b("b"), like("like");
  proxy p(load_balancer_options({a.port(), b.port()}, {like.port()}));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(all_healthy(p, "core", {a.id(), b.id()}));
  client c(p.ports()[0]);
  std::map<std::string, int> counts;
  for (int i = 0; i < 20; ++i) counts[served_by(c.get("/mysfits"))]++;
  EXPECT_EQ(counts["a"], 10);
  EXPECT_EQ(counts["b"], 10);
}

// With busy polling, workers that ran out of events keep polling for a while before they
// block: requests from several clients are all answered, in bursts and after idle gaps (the
// workers block and are woken again), round robin still alternates, and stop() ends the loops.
// Both loops: polling (200 µs) and blocking at once (0).
TEST(EdgeLoadBalancer, BusyPollingWorkersServeAndStop) {
  for (const int busy_poll_us : {200, 0}) {
    SCOPED_TRACE("busy_poll " + std::to_string(busy_poll_us) + " us");
    upstream a("a"), b("b"), like("like");
    auto o = load_balancer_options({a.port(), b.port()}, {like.port()});
    o.threads = 2;
    o.busy_poll = std::chrono::microseconds(busy_poll_us);
    proxy p(std::move(o));
    ASSERT_TRUE(p.start());
    ASSERT_TRUE(all_healthy(p, "core", {a.id(), b.id()}));
    std::vector<std::map<std::string, int>> counts(4);
    std::vector<std::thread> clients;
    for (int k = 0; k < 4; ++k) {
      clients.emplace_back([&, k] {
        client c(p.ports()[0]);
        for (int burst = 0; burst < 3; ++burst) {
          for (int i = 0; i < 10; ++i) counts[k][served_by(c.get("/mysfits"))]++;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the workers go idle
        }
      });
    }
    for (auto& t : clients) t.join();
    int a_count = 0, b_count = 0;
    for (auto& m : counts) {
      EXPECT_EQ(m["a"] + m["b"], 30) << "every request answered by a or b";
      a_count += m["a"];
      b_count += m["b"];
    }
    // Each worker's round-robin cursor alternates: the split stays even (within one a worker).
    EXPECT_EQ(a_count + b_count, 120);
    EXPECT_NEAR(a_count, 60, 2);
    p.stop();
  }
}

namespace {

// Threads of this process bound to exactly one CPU (/proc/self/task/*/status).
int threads_bound_to_one_cpu() {
  int n = 0;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream status(t.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (!line.starts_with("Cpus_allowed_list:")) continue;
      const auto list = line.substr(line.find(':') + 1);
      if (list.find_first_of(",-") == std::string::npos) ++n;  // one CPU: "\t1"
    }
  }
  return n;
}

}  // namespace

// With pin_workers, each of the two workers is bound to a CPU of its own (when the process may
// run on two or more), the watchdog that unbinds a starved one runs (pin_watchdog_test has its
// decisions), and the proxy serves and stops as usual; without it, none is bound.
TEST(EdgeLoadBalancer, PinnedWorkersServeAndStop) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  if (CPU_COUNT(&allowed) < 2) GTEST_SKIP() << "needs two CPUs to bind two workers to";
  const int bound_before = threads_bound_to_one_cpu();
  for (const bool pin : {true, false}) {
    SCOPED_TRACE(pin ? "pinned" : "not pinned");
    upstream a("a"), like("like");
    auto o = load_balancer_options({a.port()}, {like.port()});
    o.threads = 2;
    o.pin_workers = pin;
    proxy p(std::move(o));
    ASSERT_TRUE(p.start());
    ASSERT_TRUE(all_healthy(p, "core", {a.id()}));
    client c(p.ports()[0]);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(served_by(c.get("/mysfits")), "a");
    // The workers bind themselves as they start: by the time they answered, they are bound.
    EXPECT_EQ(threads_bound_to_one_cpu() - bound_before, pin ? 2 : 0);
    if (pin) {
      // The watchdog that unbinds a starved worker runs, and reports both as bound.
      auto m = control_request(control_url(p), "GET", "/metrics");
      ASSERT_TRUE(m);
      EXPECT_NE(m->find("edge_worker_bound{worker=\"0\"} 1"), std::string::npos) << *m;
      EXPECT_NE(m->find("edge_worker_bound{worker=\"1\"} 1"), std::string::npos);
      EXPECT_NE(m->find("edge_worker_unbinds_total{worker=\"1\"}"), std::string::npos);
    }
    p.stop();
  }
}

// A target whose health check fails stops getting requests: once it is seen unhealthy (at a
// 200 ms interval and a threshold of 2 that is well under a second), every request goes to
// the survivor.
TEST(EdgeLoadBalancer, FailingHealthCheckTakesTargetOutOfRotation) {
  upstream a("a"), b("b"), like("like");
  proxy p(load_balancer_options({a.port(), b.port()}, {like.port()}));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(
      eventually([&] { return target_health(p.control_port(), "core", a.id()) == "healthy"; }));
  a.set_healthy(false);
  ASSERT_TRUE(
      eventually([&] { return target_health(p.control_port(), "core", a.id()) == "unhealthy"; }));
  int a_before = a.hits();
  client c(p.ports()[0]);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(served_by(c.get("/x")), "b");
  EXPECT_EQ(a.hits(), a_before);
  a.set_healthy(true);  // and it comes back after the healthy threshold
  ASSERT_TRUE(all_healthy(p, "core", {a.id(), b.id()}));
  std::map<std::string, int> counts;
  for (int i = 0; i < 10; ++i) counts[served_by(c.get("/x"))]++;
  EXPECT_EQ(counts["a"], 5);
}

// A killed target (connections refused) is marked unhealthy, and with retries switched off
// every later request still succeeds on the survivor: none is sent to the dead one.
TEST(EdgeLoadBalancer, KilledTargetStopsGettingRequests) {
  upstream a("a"), b("b"), like("like");
  auto o = load_balancer_options({a.port(), b.port()}, {like.port()});
  o.max_attempts = 1;
  proxy p(o);
  ASSERT_TRUE(p.start());
  a.kill();
  ASSERT_TRUE(
      eventually([&] { return target_health(p.control_port(), "core", a.id()) == "unhealthy"; }));
  client c(p.ports()[0]);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(served_by(c.get("/x")), "b");
}

// No healthy target in the chosen group: 503, while the other group still serves.
TEST(EdgeLoadBalancer, Answers503WhenGroupHasNoHealthyTarget) {
  upstream core("core"), like("like");
  proxy p(load_balancer_options({core.port()}, {like.port()}));
  ASSERT_TRUE(p.start());
  like.kill();
  ASSERT_TRUE(eventually(
      [&] { return target_health(p.control_port(), "like", like.id()) == "unhealthy"; }));
  client c(p.ports()[0]);
  auto r = c.get("/mysfits/1/like");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 503);
  EXPECT_NE(r->body().find("like"), std::string::npos);
  EXPECT_EQ(served_by(c.get("/")), "core");
}

// A region scaled to zero (desired count 0): its load balancer has no target left and answers
// its own 503 marked X-Edge-Error; the accelerator in front sends any request — a plain POST
// included, since no application saw it — to the other region instead, and says no resend.
TEST(EdgeLoadBalancer, AcceleratorRetriesALoadBalancerWithNoTarget) {
  upstream core("core"), like("like"), east("east");
  proxy lb(load_balancer_options({core.port()}, {like.port()}));
  ASSERT_TRUE(lb.start());
  ASSERT_TRUE(control_request(control_url(lb), "DELETE", "/groups/like/targets/" + like.id()));
  ASSERT_TRUE(
      eventually([&] { return target_health(lb.control_port(), "like", like.id()).empty(); }));

  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/mysfits/1/like", 11};
  post.set(bhttp::field::host, "edge.test");
  post.body() = "{}";
  post.prepare_payload();
  auto direct = client(lb.ports()[0]).send(post);
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->result_int(), 503);
  EXPECT_EQ((*direct)["X-Edge-Error"], "no-healthy-target");

  // The load balancer's own health check path still answers (core is up), so the accelerator
  // keeps it in rotation: only the marked 503 makes it go elsewhere.
  proxy acc(accelerator_options(
      {region("us-west-2", 100, {lb.ports()[0]}), region("us-east-1", 100, {east.port()})}));
  ASSERT_TRUE(acc.start());
  auto through = client(acc.ports()[0]).send(post);
  ASSERT_TRUE(through);
  EXPECT_EQ(through->result_int(), 200);
  EXPECT_EQ((*through)["X-Upstream"], "east");
  EXPECT_EQ((*through)["X-Edge-Resent"], "");
  EXPECT_EQ(served_by(client(acc.ports()[0]).get("/")), "core");  // the region still serves core
  EXPECT_EQ(like.hits(), 0);
}

// Deregistering a target drains it: new requests stop at once, it shows as draining, and it is
// gone from the group after the deregistration delay; registering adds it back.
TEST(EdgeLoadBalancer, DeregisterDrainsThenRemovesTarget) {
  upstream a("a"), b("b"), like("like");
  proxy p(load_balancer_options({a.port(), b.port()}, {like.port()}));
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(served_by(c.get("/x")).size(), 1u);  // a or b, pooled
  ASSERT_TRUE(control_request(control_url(p), "DELETE", "/groups/core/targets/" + a.id()));
  EXPECT_EQ(target_health(p.control_port(), "core", a.id()), "draining");
  int a_before = a.hits();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(served_by(c.get("/x")), "b");
  EXPECT_EQ(a.hits(), a_before);
  EXPECT_TRUE(eventually([&] { return target_health(p.control_port(), "core", a.id()).empty(); }));
  ASSERT_TRUE(control_request(control_url(p), "POST", "/groups/core/targets",
                              "{\"Id\": \"" + a.id() + "\"}"));
  ASSERT_TRUE(all_healthy(p, "core", {a.id(), b.id()}));
  std::map<std::string, int> counts;
  for (int i = 0; i < 10; ++i) counts[served_by(c.get("/x"))]++;
  EXPECT_EQ(counts["a"], 5);
  // Bad input to the control API gets a clear error, not a change.
  auto bad = control_request(control_url(p), "POST", "/groups/core/targets", "{\"Id\": \"x\"}");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("host:port"), std::string::npos);
  EXPECT_FALSE(control_request(control_url(p), "DELETE", "/groups/nope/targets/" + a.id()));
}

// Dials changed through the control API apply to the next requests.
TEST(EdgeAccelerator, DialChangeAppliesAtOnce) {
  upstream west("west"), east("east");
  proxy p(accelerator_options(
      {region("us-west-2", 100, {west.port()}), region("us-east-1", 100, {east.port()})}));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(all_healthy(p, "us-west-2", {west.id()}));
  ASSERT_TRUE(all_healthy(p, "us-east-1", {east.id()}));
  client c(p.ports()[0]);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(served_by(c.get("/")), "west");
  ASSERT_TRUE(control_request(control_url(p), "PUT", "/groups/us-west-2/dial",
                              "{\"TrafficDialPercentage\": 0}"));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(served_by(c.get("/")), "east");
  auto bad = control_request(control_url(p), "PUT", "/groups/us-west-2/dial",
                             "{\"TrafficDialPercentage\": 101}");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("TrafficDialPercentage: must be 0..100"), std::string::npos);
  // Weight 0 on the only east endpoint and dial back to 50: all traffic returns west.
  ASSERT_TRUE(control_request(control_url(p), "PUT", "/groups/us-west-2/dial",
                              "{\"TrafficDialPercentage\": 50}"));
  ASSERT_TRUE(control_request(control_url(p), "PUT",
                              "/groups/us-east-1/targets/" + east.id() + "/weight",
                              "{\"Weight\": 0}"));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(served_by(c.get("/")), "west");
}

// A 50 % dial splits real requests about evenly between two regions.
TEST(EdgeAccelerator, DialSplitsRequestsBetweenRegions) {
  upstream west("west"), east("east");
  auto o = accelerator_options(
      {region("us-west-2", 50, {west.port()}), region("us-east-1", 100, {east.port()})});
  o.random_seed = 1234;
  proxy p(o);
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(all_healthy(p, "us-west-2", {west.id()}));
  ASSERT_TRUE(all_healthy(p, "us-east-1", {east.id()}));
  client c(p.ports()[0]);
  std::map<std::string, int> counts;
  for (int i = 0; i < 400; ++i) counts[served_by(c.get("/"))]++;
  EXPECT_NEAR(counts["west"] / 400.0, 0.5, 0.1);
  EXPECT_NEAR(counts["east"] / 400.0, 0.5, 0.1);
}

// Killing a region under steady load costs clients nothing in HTTP-aware mode: failed
// connects and connections cut before a response are retried on the other region.
TEST(EdgeAccelerator, RegionDyingUnderLoadFailsNoGet) {
  upstream west("west"), east("east");
  proxy p(accelerator_options(
      {region("us-west-2", 50, {west.port()}), region("us-east-1", 100, {east.port()})}));
  ASSERT_TRUE(p.start());
  const std::uint16_t port = p.ports()[0];
  std::atomic<int> done{0}, failed{0}, east_after_kill{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto c = std::make_unique<client>(port);
      for (int i = 0; i < 250; ++i) {
        auto r = c->get("/mysfits");
        if (!r || r->result_int() != 200) {
          ++failed;
          c = std::make_unique<client>(port);
        } else if (killed && (*r)["X-Upstream"] == "east") {
          ++east_after_kill;
        }
        ++done;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return done >= 200; }));
  west.kill();
  killed = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(done, 1000);
  EXPECT_GT(east_after_kill, 0);
  EXPECT_TRUE(eventually(
      [&] { return target_health(p.control_port(), "us-west-2", west.id()) == "unhealthy"; }));
}

// TCP pass-through splices bytes to an endpoint and fails over for new connections.
TEST(EdgeAccelerator, TcpModePassesThroughAndFailsOver) {
  upstream west("west"), east("east");
  proxy p(accelerator_options(
      {region("us-west-2", 100, {west.port()}), region("us-east-1", 100, {east.port()})},
      forwarding_mode::tcp));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(all_healthy(p, "us-west-2", {west.id()}));
  {
    client c(p.ports()[0]);
    auto r = c.get("/hello");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body(), "west /hello ");
    EXPECT_EQ(served_by(c.get("/again")), "west");  // same spliced connection
  }
  west.kill();
  ASSERT_TRUE(eventually(
      [&] { return target_health(p.control_port(), "us-west-2", west.id()) == "unhealthy"; }));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(served_by(get_once(p.ports()[0], "/")), "east");
}

// Control API reads: state, health, counters and Prometheus metrics.
TEST(EdgeControl, ReportsStateCountersAndMetrics) {
  upstream west("west");
  proxy p(accelerator_options({region("us-west-2", 100, {west.port()})}));
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(served_by(c.get("/")), "west");
  auto state = control_request(control_url(p), "GET", "/state");
  ASSERT_TRUE(state);
  auto v = boost::json::parse(*state);
  EXPECT_EQ(v.at("Role"), "Accelerator");
  EXPECT_EQ(v.at("Groups").at(0).at("TrafficDialPercentage").to_number<double>(), 100);
  EXPECT_EQ(v.at("Groups").at(0).at("Targets").at(0).at("Requests").to_number<int>(), 3);
  auto counters = control_request(control_url(p), "GET", "/counters");
  ASSERT_TRUE(counters);
  EXPECT_NE(counters->find("\"Requests\":3"), std::string::npos);
  auto m = control_request(control_url(p), "GET", "/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->find("edge_endpoint_requests_total{group=\"us-west-2\",endpoint=\"" + west.id() +
                    "\",code=\"2xx\"} 3"),
            std::string::npos);
  EXPECT_NE(m->find("edge_request_duration_seconds_bucket{group=\"us-west-2\""), std::string::npos);
  EXPECT_NE(m->find("edge_active_connections{listener=\"http:" + std::to_string(p.ports()[0])),
            std::string::npos);
  EXPECT_NE(m->find("edge_health_transitions_total"), std::string::npos);
}

// A configuration built in code is checked too: an action naming no target group fails start.
TEST(EdgeLoadBalancer, StartFailsOnUnknownTargetGroup) {
  auto o = load_balancer_options({}, {});
  o.config.load_balancer.rules.push_back({2, {"/x"}, "nope"});
  proxy p(o);
  auto r = p.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown target group nope"), std::string::npos);
}
