// Core service routes against the fake table: listing, filters, one mysfit, adopt, like,
// the page, CORS, trace propagation and every error the issue lists.
#include "mysfits/app/core_service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_table.h"
#include "mysfits/common/request_deadline.h"

using namespace mysfits;
using namespace mysfits::app;
namespace json = boost::json;
namespace bhttp = http::bhttp;

namespace {

const std::string evangeline = "4e53920c-505a-4a90-a694-b9300791f0ae";

struct core_fixture {
  app::testing::fake_table table;
  core_service service{{"us-west-2", "MysfitsTable"}, table};
  core_fixture() { table.load_shipped(); }

  http::response send(bhttp::verb method, std::string target,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request req{method, target, 11};
    for (auto& [k, v] : headers) req.set(k, v);
    return service.handle(req);
  }
  json::value body(const http::response& res) { return json::parse(res.body()); }
};

}  // namespace

// GET /mysfits returns all twelve, following the Scan's pages.
TEST(CoreService, ListsAllMysfitsAcrossScanPages) {
  core_fixture f;
  auto res = f.send(bhttp::verb::get, "/mysfits");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(f.body(res).at("mysfits").as_array().size(), 12u);
  int scans = 0;
  for (auto& c : f.table.calls) scans += c.op == "Scan";
  EXPECT_EQ(scans, 3);  // pages of 5
}

// The GoodEvil filter goes through GoodEvilIndex with KeyConditions EQ, like the original.
TEST(CoreService, FiltersThroughGlobalSecondaryIndex) {
  core_fixture f;
  auto res = f.send(bhttp::verb::get, "/mysfits?filter=GoodEvil&value=Evil");
  ASSERT_EQ(res.result_int(), 200);
  auto list = f.body(res).at("mysfits").as_array();
  EXPECT_EQ(list.size(), 4u);
  for (auto& m : list) EXPECT_EQ(m.at("goodevil").as_string(), "Evil");
  const auto& q = f.table.calls.back();
  EXPECT_EQ(q.op, "Query");
  EXPECT_EQ(q.body.at("IndexName").as_string(), "GoodEvilIndex");
  EXPECT_EQ(q.body.at("KeyConditions").at("GoodEvil").at("ComparisonOperator").as_string(), "EQ");
  auto lc = f.send(bhttp::verb::get, "/mysfits?filter=LawChaos&value=Chaotic");
  EXPECT_EQ(f.body(lc).at("mysfits").as_array().size(), 4u);
}

// An unknown filter or a missing value is the caller's mistake: 400 JSON, no table call.
TEST(CoreService, RejectsBadFiltersWith400) {
  core_fixture f;
  for (auto target : {"/mysfits?filter=Species&value=Dragon", "/mysfits?filter=GoodEvil",
                      "/mysfits?filter=LawChaos&value="}) {
    auto res = f.send(bhttp::verb::get, target);
    EXPECT_EQ(res.result_int(), 400) << target;
    EXPECT_TRUE(f.body(res).as_object().contains("message"));
  }
  EXPECT_TRUE(f.table.calls.empty());
}

// One mysfit by id; an unknown id is 404, an impossible one 400.
TEST(CoreService, GetsOneMysfit) {
  core_fixture f;
  auto res = f.send(bhttp::verb::get, "/mysfits/" + evangeline);
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(f.body(res).at("name").as_string(), "Evangeline");
  EXPECT_EQ(f.send(bhttp::verb::get, "/mysfits/no-such-id").result_int(), 404);
  EXPECT_EQ(f.send(bhttp::verb::get, "/mysfits/bad%20id").result_int(), 400);
}

// Adoption is conditional: the first succeeds, the second is a conflict, unknown ids 404.
TEST(CoreService, AdoptsOnlyOnce) {
  core_fixture f;
  auto first = f.send(bhttp::verb::post, "/mysfits/" + evangeline + "/adopt");
  ASSERT_EQ(first.result_int(), 200);
  EXPECT_TRUE(f.body(first).at("adopted").as_bool());
  EXPECT_EQ(f.send(bhttp::verb::post, "/mysfits/" + evangeline + "/adopt").result_int(), 409);
  EXPECT_EQ(f.send(bhttp::verb::post, "/mysfits/nobody/adopt").result_int(), 404);
  auto get = f.send(bhttp::verb::get, "/mysfits/" + evangeline);
  EXPECT_TRUE(f.body(get).at("adopted").as_bool());
}

// The core service also takes likes, so the page works when it runs alone.
TEST(CoreService, LikesIncrementCount) {
  core_fixture f;
  auto r1 = f.send(bhttp::verb::post, "/mysfits/" + evangeline + "/like");
  ASSERT_EQ(r1.result_int(), 200);
  EXPECT_EQ(f.body(r1).at("likes").as_int64(), 1);
  auto r2 = f.send(bhttp::verb::post, "/mysfits/" + evangeline + "/like");
  EXPECT_EQ(f.body(r2).at("likes").as_int64(), 2);
  EXPECT_EQ(f.send(bhttp::verb::post, "/mysfits/nobody/like").result_int(), 404);
}

// Unknown routes are 404 JSON; wrong methods 405 JSON with Allow.
TEST(CoreService, AnswersUnknownRoutesAndWrongMethodsInJson) {
  core_fixture f;
  auto nf = f.send(bhttp::verb::get, "/nothing/here");
  EXPECT_EQ(nf.result_int(), 404);
  EXPECT_EQ(nf[bhttp::field::content_type], "application/json");
  EXPECT_EQ(f.send(bhttp::verb::get, "/mysfits/" + evangeline + "/pet").result_int(), 404);
  auto m = f.send(bhttp::verb::delete_, "/mysfits");
  EXPECT_EQ(m.result_int(), 405);
  EXPECT_EQ(m[bhttp::field::allow], "GET, HEAD");
  EXPECT_TRUE(f.body(m).as_object().contains("message"));
  EXPECT_EQ(f.send(bhttp::verb::get, "/mysfits/" + evangeline + "/adopt").result_int(), 405);
  EXPECT_EQ(f.send(bhttp::verb::put, "/").result_int(), 405);
}

// An unreachable table is a 503 with a JSON error, never a hang or a crash.
TEST(CoreService, ReportsUnreachableTableAs503) {
  core_fixture f;
  f.table.fail_with({"ConnectionError", "connection refused", 0});
  for (std::string target : {std::string("/mysfits"), "/mysfits/" + evangeline}) {
    auto res = f.send(bhttp::verb::get, target);
    EXPECT_EQ(res.result_int(), 503) << target;
    EXPECT_TRUE(f.body(res).as_object().contains("message"));
  }
  EXPECT_EQ(f.send(bhttp::verb::post, "/mysfits/" + evangeline + "/adopt").result_int(), 503);
}

// Every answer carries CORS; preflights get Flask-CORS's method list and echoed headers.
TEST(CoreService, SendsCorsHeaders) {
  core_fixture f;
  auto res = f.send(bhttp::verb::get, "/mysfits");
  EXPECT_EQ(res["Access-Control-Allow-Origin"], "*");
  auto pre = f.send(bhttp::verb::options, "/mysfits/x/like",
                    {{"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(pre.result_int(), 200);
  EXPECT_EQ(pre["Access-Control-Allow-Origin"], "*");
  EXPECT_EQ(pre["Access-Control-Allow-Methods"], "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
  EXPECT_EQ(pre["Access-Control-Allow-Headers"], "content-type");
}

// The incoming trace id reaches the table and comes back on the response.
TEST(CoreService, PropagatesTraceId) {
  core_fixture f;
  auto res = f.send(bhttp::verb::get, "/mysfits/" + evangeline,
                    {{"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"}});
  EXPECT_EQ(res["X-Amzn-Trace-Id"], "Root=1-5759e988-bd862e3fe1be46a994272793");
  ASSERT_FALSE(f.table.calls.empty());
  EXPECT_EQ(f.table.calls.back().ctx.trace_header, "X-Amzn-Trace-Id");
  EXPECT_EQ(f.table.calls.back().ctx.trace_value, "Root=1-5759e988-bd862e3fe1be46a994272793");
  f.send(bhttp::verb::get, "/mysfits", {{"traceparent", "00-abc-def-01"}});
  EXPECT_EQ(f.table.calls.back().ctx.trace_header, "traceparent");
  // Without one, a new X-Amzn-Trace-Id root is made.
  auto fresh = f.send(bhttp::verb::get, "/mysfits/" + evangeline);
  EXPECT_EQ(std::string(fresh["X-Amzn-Trace-Id"]).rfind("Root=1-", 0), 0u);
}

// GET / is the page, with the serving region filled in and no outside resources.
TEST(CoreService, ServesPageWithRegion) {
  core_fixture f;
  auto res = f.send(bhttp::verb::get, "/");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(res.body().find("us-west-2"), std::string::npos);
  EXPECT_EQ(res.body().find("__MYSFITS_REGION__"), std::string::npos);
  EXPECT_EQ(res.body().find("http://"), std::string::npos);
  EXPECT_EQ(res.body().find("https://"), std::string::npos);
  EXPECT_EQ(f.send(bhttp::verb::get, "/app.js").result_int(), 200);
  EXPECT_EQ(f.send(bhttp::verb::get, "/app.css").result_int(), 200);
  auto pic = f.send(bhttp::verb::get, "/img/dragon.svg");
  EXPECT_EQ(pic.result_int(), 200);
  EXPECT_EQ(pic[bhttp::field::content_type], "image/svg+xml");
  EXPECT_EQ(f.send(bhttp::verb::get, "/img/unicorn.svg").result_int(), 404);
}

// Every species in the data has a picture shipped with the binary.
TEST(CoreService, ShipsAPicturePerSpecies) {
  core_fixture f;
  auto res = f.send(bhttp::verb::get, "/mysfits");
  auto body = f.body(res);
  for (auto& m : body.at("mysfits").as_array()) {
    std::string uri(m.at("thumbImageUri").as_string());
    EXPECT_EQ(f.send(bhttp::verb::get, uri).result_int(), 200) << uri;
  }
}

// /metrics counts requests by route and status.
TEST(CoreService, ExportsRequestMetrics) {
  core_fixture f;
  (void)f.send(bhttp::verb::get, "/mysfits/nobody");
  auto res = f.send(bhttp::verb::get, "/metrics");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_NE(
      res.body().find(
          R"(mysfits_http_requests_total{service="core",route="/mysfits/{id}",status="404"})"),
      std::string::npos);
  EXPECT_NE(res.body().find("mysfits_http_request_duration_seconds_bucket"), std::string::npos);
}

// X-Edge-Deadline on the core service's writes: adopt and like refuse a request whose deadline
// has passed (marked 504 JSON, no table call); reads are served as before.
TEST(CoreService, WritesRefuseAPassedDeadline) {
  core_fixture f;
  const std::vector<std::pair<std::string, std::string>> past = {{"X-Edge-Deadline", "1000"}};
  for (const std::string route : {"/adopt", "/like"}) {
    auto res = f.send(bhttp::verb::post, "/mysfits/" + evangeline + route, past);
    EXPECT_EQ(res.result_int(), 504) << route;
    EXPECT_EQ(res["X-Edge-Error"], "deadline-expired");
    EXPECT_TRUE(f.body(res).at("message").is_string());
  }
  EXPECT_TRUE(f.table.calls.empty());
  EXPECT_EQ(f.send(bhttp::verb::get, "/mysfits/" + evangeline, past).result_int(), 200);
  const std::vector<std::pair<std::string, std::string>> future = {
      {"X-Edge-Deadline", std::to_string(request_deadline::now_ms() + 60000)}};
  auto adopted = f.send(bhttp::verb::post, "/mysfits/" + evangeline + "/adopt", future);
  EXPECT_EQ(adopted.result_int(), 200);
  EXPECT_TRUE(f.body(adopted).at("adopted").as_bool());
}
