// Like service routes against the fake table, chaos mode with injected randomness.
#include "mysfits/app/like_service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_table.h"

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
  EXPECT_EQ(c.body.at("UpdateExpression").as_string(), "ADD Likes :one");
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
