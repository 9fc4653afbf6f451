// Like service routes against the fake table, chaos mode with injected randomness.
#include "mysfits/app/like_service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_table.h"
#include "mysfits/common/metrics.h"
#include "mysfits/common/request_deadline.h"

using namespace mysfits;
using namespace mysfits::app;
namespace json = boost::json;
namespace bhttp = http::bhttp;

namespace {
const std::string cole = "33e1fbd4-2fd8-45fb-a42f-f92551694506";

http::response send(like_service& s, bhttp::verb method, std::string target) {
  http::request req{method, target, 11};
  return s.handle(req);
}
}  // namespace

// GET / is the health check.
TEST(LikeService, AnswersHealthCheck) {
  app::testing::fake_table t;
  like_service s({}, t);
  auto res = send(s, bhttp::verb::get, "/");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::parse(res.body()).at("status").as_string(), "healthy");
}

// A like adds one atomically (ADD with attribute_exists), and unknown ids are 404.
TEST(LikeService, IncrementsLikes) {
  app::testing::fake_table t;
  t.load_shipped();
  like_service s({}, t);
  auto res = send(s, bhttp::verb::post, "/mysfits/" + cole + "/like");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::parse(res.body()).at("likes").as_int64(), 1);
  const auto& c = t.calls.back();
  EXPECT_EQ(c.body.at("UpdateExpression").as_string(), "ADD Likes :n");
  EXPECT_EQ(c.body.at("ExpressionAttributeValues").at(":n").at("N").as_string(), "1");
  EXPECT_EQ(c.body.at("ConditionExpression").as_string(), "attribute_exists(MysfitId)");
  EXPECT_EQ(send(s, bhttp::verb::post, "/mysfits/unknown/like").result_int(), 404);
  EXPECT_EQ(send(s, bhttp::verb::post, "/mysfits/bad!id/like").result_int(), 400);
  EXPECT_EQ(send(s, bhttp::verb::get, "/mysfits/" + cole + "/like").result_int(), 405);
  EXPECT_EQ(send(s, bhttp::verb::get, "/mysfits").result_int(), 404);
}

// CHAOSMODE=on: rolls below 0.3 give 500, below 0.6 give 404, the rest really like.
TEST(LikeService, ChaosModeFailsOnPurpose) {
  app::testing::fake_table t;
  t.load_shipped();
  double roll = 0;
  like_options o;
  o.chaos_mode = true;
  o.random = [&] { return roll; };
  like_service s(o, t);
  roll = 0.1;
  EXPECT_EQ(send(s, bhttp::verb::post, "/mysfits/" + cole + "/like").result_int(), 500);
  roll = 0.45;
  EXPECT_EQ(send(s, bhttp::verb::post, "/mysfits/" + cole + "/like").result_int(), 404);
  EXPECT_TRUE(t.calls.empty());
  roll = 0.9;
  EXPECT_EQ(send(s, bhttp::verb::post, "/mysfits/" + cole + "/like").result_int(), 200);
}

// An unreachable table is a 503 JSON error.
TEST(LikeService, ReportsUnreachableTableAs503) {
  app::testing::fake_table t;
  t.fail_with({"RequestTimeout", "timed out", 0});
  like_service s({}, t);
  auto res = send(s, bhttp::verb::post, "/mysfits/" + cole + "/like");
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_TRUE(json::parse(res.body()).as_object().contains("message"));
}

// X-Edge-Deadline: a like whose deadline has passed (the accelerator gave up on it and may have
// resent it to another region) is refused with a marked 504 JSON error and never reaches the
// table; one still in time is applied; a malformed value is a 400.
TEST(LikeService, RefusesALikeWhoseDeadlineHasPassed) {
  app::testing::fake_table t;
  t.load_shipped();
  like_service s({}, t);
  auto like = [&](const std::string& deadline) {
    http::request req{bhttp::verb::post, "/mysfits/" + cole + "/like", 11};
    req.set("X-Edge-Deadline", deadline);
    req.set("Idempotency-Key", "k-1");
    return s.handle(req);
  };
  auto& refused = metrics::default_registry().get_counter(
      "mysfits_deadline_expired_total", "", {{"service", "like"}, {"route", "/mysfits/{id}/like"}});
  const double refused_before = refused.value();
  const auto now = request_deadline::now_ms();
  for (const auto& past : {std::string("1000"), std::to_string(now - 5000)}) {
    auto res = like(past);
    EXPECT_EQ(res.result_int(), 504);
    EXPECT_EQ(res["X-Edge-Error"], "deadline-expired");
    EXPECT_EQ(res[bhttp::field::content_type], "application/json");
    EXPECT_TRUE(json::parse(res.body()).at("message").is_string());
  }
  EXPECT_TRUE(t.calls.empty());  // no table write
  EXPECT_EQ(refused.value(), refused_before + 2);

  EXPECT_EQ(like("soon").result_int(), 400);
  EXPECT_TRUE(t.calls.empty());

  auto ok = like(std::to_string(now + 60000));
  ASSERT_EQ(ok.result_int(), 200);
  EXPECT_EQ(json::parse(ok.body()).at("likes").as_int64(), 1);
  EXPECT_EQ(t.calls.size(), 1u);
}

// The tolerance for clock skew: a deadline passed by less than it still counts as in time.
TEST(LikeService, DeadlineToleranceAllowsClockSkew) {
  app::testing::fake_table t;
  t.load_shipped();
  like_options o;
  o.deadline_tolerance = std::chrono::hours(1);
  like_service s(o, t);
  http::request req{bhttp::verb::post, "/mysfits/" + cole + "/like", 11};
  req.set("X-Edge-Deadline", std::to_string(request_deadline::now_ms() - 5000));
  EXPECT_EQ(s.handle(req).result_int(), 200);
  EXPECT_EQ(t.calls.size(), 1u);
}
