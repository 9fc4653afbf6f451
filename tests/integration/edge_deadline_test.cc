// Integration tests of request deadlines (X-Edge-Deadline, docs/edge.md): the accelerator sets
// one only on a request it may resend after a first-byte timeout, a client's value never
// extends it, the load balancer passes it on and refuses (504, marked, nothing forwarded) a
// request whose deadline has passed, and the accelerator sends a request a target refused that
// way to another endpoint. Outcomes only: no assertion on how long anything took.
#include <gtest/gtest.h>

#include <charconv>
#include <string>

#include "edge_test_support.h"
#include "mysfits/common/metrics.h"
#include "mysfits/common/request_deadline.h"

using namespace mysfits::edge;
using namespace mysfits::edge::testing;
using namespace std::chrono_literals;
namespace request_deadline = mysfits::request_deadline;

namespace {

bhttp::request<bhttp::string_body> request(bhttp::verb method, const std::string& target,
                                           const std::string& key = "",
                                           const std::string& deadline = "") {
  bhttp::request<bhttp::string_body> r{method, target, 11};
  r.set(bhttp::field::host, "edge.test");
  if (!key.empty()) r.set("Idempotency-Key", key);
  if (!deadline.empty()) r.set("X-Edge-Deadline", deadline);
  if (method == bhttp::verb::post) r.body() = "{}";
  r.prepare_payload();
  return r;
}

// The deadline the upstream saw (X-Seen-Deadline), 0 when none, -1 when the request failed.
std::int64_t seen_deadline(const std::optional<response>& r) {
  if (!r || r->result_int() != 200) return -1;
  auto v = (*r)["X-Seen-Deadline"];
  if (v.empty()) return 0;
  std::int64_t d = -1;
  std::from_chars(v.data(), v.data() + v.size(), d);
  return d;
}

double deadline_expired_count(const proxy& p) {
  return mysfits::metrics::default_registry()
      .get_counter("edge_deadline_expired_total", "",
                   {{"listener", "http:" + std::to_string(p.ports()[0])}})
      .value();
}

}  // namespace

// Through an accelerator whose west group resends (to east) after a 20 s first-byte timeout: a
// GET and a POST with Idempotency-Key carry a deadline of send time + 10 s; a plain POST (never
// resent) carries none of the edge's; a client's later value is replaced by the edge's, an
// earlier one kept. (Long timeouts, so that no deadline here can pass on a loaded machine.)
TEST(EdgeDeadline, AcceleratorSetsADeadlineOnlyWhenItMayResend) {
  upstream west("west"), east("east");
  auto group = region("us-west-2", 100, {west.port()});
  group.first_byte_timeout = 20s;
  proxy acc(accelerator_options({group, region("us-east-1", 100, {east.port()})}));
  ASSERT_TRUE(acc.start());
  client c(acc.ports()[0]);

  for (const auto& req : {request(bhttp::verb::get, "/mysfits"),
                          request(bhttp::verb::post, "/mysfits/1/like", "key-1"),
                          // a later deadline from the client cannot extend the edge's
                          request(bhttp::verb::get, "/mysfits", "", "99999999999999")}) {
    const auto before = request_deadline::now_ms();
    auto r = c.send(req);
    const auto after = request_deadline::now_ms();
    const auto d = seen_deadline(r);
    EXPECT_GE(d, before + 10000) << req.target();
    EXPECT_LE(d, after + 10000) << req.target();
  }

  // An earlier deadline from the client is kept (and passed on as it is).
  const auto early = std::to_string(request_deadline::now_ms() + 5000);
  EXPECT_EQ(std::to_string(seen_deadline(c.send(request(bhttp::verb::get, "/x", "", early)))),
            early);

  // A plain POST is never resent: no deadline of the edge's, but the client's passes on.
  EXPECT_EQ(seen_deadline(c.send(request(bhttp::verb::post, "/mysfits/1/like"))), 0);
  const auto own = std::to_string(request_deadline::now_ms() + 60000);
  EXPECT_EQ(
      std::to_string(seen_deadline(c.send(request(bhttp::verb::post, "/mysfits/1/like", "", own)))),
      own);
  EXPECT_EQ(east.hits(), 0);

  // With nowhere to resend to (east's dial at 0 %), the request waits for west as it would
  // without deadlines: no deadline of the edge's.
  ASSERT_TRUE(control_request("http://127.0.0.1:" + std::to_string(acc.control_port()), "PUT",
                              "/groups/us-east-1/dial", "{\"TrafficDialPercentage\": 0}"));
  EXPECT_EQ(seen_deadline(c.send(request(bhttp::verb::get, "/mysfits"))), 0);
  EXPECT_EQ(seen_deadline(c.send(request(bhttp::verb::post, "/mysfits/1/like", "k"))), 0);
}

// With the first-byte timeout off (FirstByteTimeoutSeconds 0) nothing is ever resent after the
// target may have seen it, so no request gets a deadline of the edge's.
TEST(EdgeDeadline, NoDeadlineWithoutAFirstByteTimeout) {
  upstream west("west");
  auto group = region("us-west-2", 100, {west.port()});
  group.first_byte_timeout = 0ms;
  proxy acc(accelerator_options({group}));
  ASSERT_TRUE(acc.start());
  client c(acc.ports()[0]);
  EXPECT_EQ(seen_deadline(c.send(request(bhttp::verb::get, "/mysfits"))), 0);
  EXPECT_EQ(seen_deadline(c.send(request(bhttp::verb::post, "/mysfits/1/like", "k"))), 0);
}

// The load balancer passes a deadline on unchanged, refuses a request whose deadline has passed
// with its own marked 504 (nothing forwarded, counted), and a malformed value with 400.
TEST(EdgeDeadline, LoadBalancerPassesItOnAndRefusesAPassedOne) {
  upstream core("core"), like("like");
  proxy lb(load_balancer_options({core.port()}, {like.port()}));
  ASSERT_TRUE(lb.start());
  client c(lb.ports()[0]);
  const auto future = std::to_string(request_deadline::now_ms() + 60000);
  auto ok = c.send(request(bhttp::verb::post, "/mysfits/1/like", "k", future));
  EXPECT_EQ(std::to_string(seen_deadline(ok)), future);
  ASSERT_EQ(like.hits(), 1);

  const double refused_before = deadline_expired_count(lb);
  // Long past (1 s after the epoch), and just past (beyond the 50 ms tolerance).
  for (const auto& past :
       {std::string("1000"), std::to_string(request_deadline::now_ms() - 5000)}) {
    auto r = c.send(request(bhttp::verb::post, "/mysfits/1/like", "k", past));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 504);
    EXPECT_EQ((*r)["X-Edge-Error"], "deadline-expired");
    EXPECT_EQ((*r)["Server"], "mysfits-edge");
  }
  EXPECT_EQ(like.hits(), 1);  // neither was forwarded
  EXPECT_EQ(deadline_expired_count(lb), refused_before + 2);

  auto bad = c.send(request(bhttp::verb::get, "/mysfits", "", "tomorrow"));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->result_int(), 400);
  EXPECT_EQ(core.hits(), 0);
  // The connection stays usable.
  EXPECT_EQ(seen_deadline(c.get("/mysfits")), 0);
}

// A target that refuses a request because its deadline passed (a marked 504: not applied) —
// here a load balancer given an expired deadline, or any app service — makes the accelerator
// send the request to another endpoint, a plain POST included, without X-Edge-Resent.
TEST(EdgeDeadline, AcceleratorSendsARequestARegionRefusedElsewhere) {
  upstream refusing("west", [](mysfits::http::request& req) {
    mysfits::http::response res{bhttp::status::gateway_timeout, req.version()};
    res.set("X-Edge-Error", "deadline-expired");
    res.body() = "{\"message\":\"request deadline passed\"}";
    return res;
  });
  upstream east("east");
  proxy acc(accelerator_options(
      {region("us-west-2", 100, {refusing.port()}), region("us-east-1", 100, {east.port()})}));
  ASSERT_TRUE(acc.start());
  client c(acc.ports()[0]);
  for (const auto& req : {request(bhttp::verb::post, "/mysfits/1/like"),
                          request(bhttp::verb::post, "/mysfits/1/like", "k")}) {
    auto r = c.send(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 200) << req.target();
    EXPECT_EQ((*r)["X-Upstream"], "east");
    EXPECT_EQ((*r)["X-Edge-Resent"], "");
  }
  EXPECT_EQ(refusing.hits(), 2);
  EXPECT_EQ(east.hits(), 2);

  // When no other endpoint is left, the client gets the marked 504 (nothing was applied).
  proxy alone(accelerator_options({region("us-west-2", 100, {refusing.port()})}));
  ASSERT_TRUE(alone.start());
  auto r = client(alone.ports()[0]).send(request(bhttp::verb::post, "/mysfits/1/like", "k"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 504);
  EXPECT_EQ((*r)["X-Edge-Error"], "deadline-expired");
}
