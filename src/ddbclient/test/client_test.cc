// The client against a local test server that fails on purpose: what is retried and what is
// not, connection reuse, signing headers, trace propagation and timeouts.
#include "mysfits/ddbclient/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "mysfits/common/http_server.h"

using namespace mysfits;
using namespace mysfits::ddbclient;
namespace json = boost::json;

namespace {

// A table stand-in that answers from a script of (status, body), then 200 {} forever.
struct scripted_table {
  std::mutex mu;
  std::deque<std::pair<unsigned, std::string>> script;
  std::vector<http::request> seen;
  http::server server{{}, [this](http::request& req) { return answer(req); }};

  http::response answer(http::request& req) {
    std::lock_guard lock(mu);
    seen.push_back(req);
    http::response res{http::bhttp::status::ok, req.version()};
    res.set(http::bhttp::field::content_type, "application/x-amz-json-1.0");
    res.body() = "{}";
    if (!script.empty()) {
      res.result(script.front().first);
      res.body() = script.front().second;
      script.pop_front();
    }
    return res;
  }
  std::size_t requests() {
    std::lock_guard lock(mu);
    return seen.size();
  }
};

struct fixture {
  std::vector<std::chrono::milliseconds> sleeps;
  client_options options(std::uint16_t port) {
    client_options o;
    o.region = "us-west-2";
    o.endpoint_override = parse_endpoint("http://127.0.0.1:" + std::to_string(port)).value();
    o.credentials = static_credentials({"AK", "SK", "", std::nullopt});
    o.random = [] { return 0.5; };
    o.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    return o;
  }
};

}  // namespace

// A 503 is a server error: the SDK standard mode retries it after a jittered backoff.
TEST(Client, RetriesServiceUnavailableThenSucceeds) {
  scripted_table t;
  t.script.push_back(
      {503,
       R"({"__type":"com.amazon.coral.availability#ServiceUnavailableException","message":"busy"})"});
  t.script.push_back({200, R"({"Count":1})"});
  ASSERT_TRUE(t.server.start());
  fixture f;
  client c(f.options(t.server.port()));
  auto r = c.call("Scan", {{"TableName", "T"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at("Count").as_int64(), 1);
  EXPECT_EQ(t.requests(), 2u);
  ASSERT_EQ(f.sleeps.size(), 1u);
  EXPECT_EQ(f.sleeps[0].count(), 25);  // random 0.5 × base 50 ms
}

// A plain 4xx (validation) is the caller's fault: never retried, surfaced as DynamoDB says.
TEST(Client, DoesNotRetryValidationErrors) {
  scripted_table t;
  t.script.push_back(
      {400,
       R"({"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"bad key"})"});
  ASSERT_TRUE(t.server.start());
  fixture f;
  client c(f.options(t.server.port()));
  auto r = c.call("GetItem", {{"TableName", "T"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "ValidationException");
  EXPECT_EQ(r.error().message, "bad key");
  EXPECT_EQ(r.error().http_status, 400u);
  EXPECT_EQ(t.requests(), 1u);
  EXPECT_TRUE(f.sleeps.empty());
}

// Throttling arrives as a 400 but is retryable; three attempts at most, backoff doubling.
TEST(Client, RetriesThrottlingUpToThreeAttempts) {
  scripted_table t;
  for (int i = 0; i < 5; ++i) {
    t.script.push_back(
        {400,
         R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"})"});
  }
  ASSERT_TRUE(t.server.start());
  fixture f;
  client c(f.options(t.server.port()));
  auto r = c.call("PutItem", {{"TableName", "T"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "ProvisionedThroughputExceededException");
  EXPECT_EQ(t.requests(), 3u);
  ASSERT_EQ(f.sleeps.size(), 2u);
  EXPECT_EQ(f.sleeps[0].count(), 25);
  EXPECT_EQ(f.sleeps[1].count(), 50);
}

// A refused connection is retried, then reported as a ConnectionError with status 0.
TEST(Client, RetriesRefusedConnectionThenFails) {
  std::uint16_t port = 0;
  {
    http::server s({}, [](http::request& req) { return http::response{{}, req.version()}; });
    ASSERT_TRUE(s.start());
    port = s.port();
  }  // stopped: the port now refuses connections
  fixture f;
  client c(f.options(port));
  auto r = c.call("Scan", {{"TableName", "T"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "ConnectionError");
  EXPECT_EQ(r.error().http_status, 0u);
  EXPECT_TRUE(r.error().is_unavailable());
  EXPECT_EQ(c.stats().attempts, 3u);
  EXPECT_EQ(f.sleeps.size(), 2u);
}

// Sequential calls share one keep-alive connection.
TEST(Client, ReusesPooledConnections) {
  scripted_table t;
  ASSERT_TRUE(t.server.start());
  fixture f;
  client c(f.options(t.server.port()));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.call("Scan", {{"TableName", "T"}}));
  EXPECT_EQ(c.stats().connections_opened, 1u);
  EXPECT_EQ(c.stats().connections_reused, 4u);
}

// Requests carry the DynamoDB target, a SigV4 Authorization for the region and service, and
// the caller's trace header.
TEST(Client, SendsSignedDynamoRequestWithTraceHeader) {
  scripted_table t;
  ASSERT_TRUE(t.server.start());
  fixture f;
  client c(f.options(t.server.port()));
  call_context ctx{"X-Amzn-Trace-Id", "Root=1-abc"};
  ASSERT_TRUE(c.call("GetItem", {{"TableName", "T"}}, ctx));
  ASSERT_EQ(t.seen.size(), 1u);
  auto& req = t.seen[0];
  EXPECT_EQ(req.method(), http::bhttp::verb::post);
  EXPECT_EQ(req["X-Amz-Target"], "DynamoDB_20120810.GetItem");
  EXPECT_EQ(req[http::bhttp::field::content_type], "application/x-amz-json-1.0");
  EXPECT_EQ(req["X-Amzn-Trace-Id"], "Root=1-abc");
  std::string auth(req[http::bhttp::field::authorization]);
  EXPECT_NE(auth.find("Credential=AK/"), std::string::npos) << auth;
  EXPECT_NE(auth.find("/us-west-2/dynamodb/aws4_request"), std::string::npos) << auth;
  EXPECT_EQ(json::parse(req.body()), json::parse(R"({"TableName":"T"})"));
}

// A call with a deadline (the request's X-Edge-Deadline) sends it on, and starts no retry
// attempt once it has passed: the request may have been resent elsewhere by then.
TEST(Client, SendsTheDeadlineAndDoesNotRetryPastIt) {
  scripted_table t;
  for (int i = 0; i < 2; ++i) {
    t.script.push_back({503, R"({"__type":"x#ServiceUnavailable","message":"busy"})"});
  }
  ASSERT_TRUE(t.server.start());
  fixture f;
  auto o = f.options(t.server.port());
  const auto now = std::chrono::system_clock::now();
  o.clock = [now] { return now; };
  client c(o);
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  call_context passed;
  passed.deadline_ms = now_ms - 1;
  auto r = c.call("UpdateItem", {{"TableName", "T"}}, passed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 503u);
  ASSERT_EQ(t.requests(), 1u);  // not retried
  EXPECT_EQ(t.seen[0]["X-Edge-Deadline"], std::to_string(now_ms - 1));
  call_context in_time;
  in_time.deadline_ms = now_ms + 60000;
  ASSERT_TRUE(c.call("UpdateItem", {{"TableName", "T"}}, in_time));  // 503, then retried: 200
  EXPECT_EQ(t.requests(), 3u);
  EXPECT_EQ(t.seen[2]["X-Edge-Deadline"], std::to_string(now_ms + 60000));
  ASSERT_TRUE(c.call("GetItem", {{"TableName", "T"}}));
  EXPECT_EQ(t.seen[3].count("X-Edge-Deadline"), 0u);
}

// A table that does not answer in time yields RequestTimeout instead of a hung call.
TEST(Client, TimesOutSlowTable) {
  http::server slow({}, [](http::request& req) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return http::response{http::bhttp::status::ok, req.version()};
  });
  ASSERT_TRUE(slow.start());
  fixture f;
  auto o = f.options(slow.port());
  o.request_timeout = std::chrono::milliseconds(100);
  o.max_attempts = 1;
  client c(o);
  auto r = c.call("Scan", {{"TableName", "T"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "RequestTimeout");
}

// Endpoint resolution follows the SDK order of environment variables.
TEST(Client, ResolvesEndpointFromEnvironment) {
  auto env = [](std::map<std::string, std::string> m) {
    return [m](const std::string& k) -> std::optional<std::string> {
      auto it = m.find(k);
      return it == m.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  };
  EXPECT_EQ(resolve_endpoint("eu-west-1", env({}))->url(),
            "https://dynamodb.eu-west-1.amazonaws.com");
  EXPECT_EQ(
      resolve_endpoint("eu-west-1", env({{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}}))->url(),
      "http://127.0.0.1:9000");
  EXPECT_EQ(resolve_endpoint("eu-west-1", env({{"AWS_ENDPOINT_URL", "http://a:1"},
                                               {"AWS_ENDPOINT_URL_DYNAMODB", "http://b:2/"}}))
                ->url(),
            "http://b:2");
  EXPECT_EQ(resolve_region(env({{"AWS_DEFAULT_REGION", "ap-south-1"}})), "ap-south-1");
  EXPECT_FALSE(parse_endpoint("ftp://x"));
}

// Scan pagination follows LastEvaluatedKey until it is absent.
TEST(Client, PaginateFollowsLastEvaluatedKey) {
  scripted_table t;
  t.script.push_back({200, R"({"Items":[{"K":{"S":"1"}}],"LastEvaluatedKey":{"K":{"S":"1"}}})"});
  t.script.push_back({200, R"({"Items":[{"K":{"S":"2"}}]})"});
  ASSERT_TRUE(t.server.start());
  fixture f;
  client c(f.options(t.server.port()));
  auto items = paginate(c, "Scan", {{"TableName", "T"}});
  ASSERT_TRUE(items);
  EXPECT_EQ(items->size(), 2u);
  ASSERT_EQ(t.seen.size(), 2u);
  EXPECT_NE(t.seen[1].body().find("ExclusiveStartKey"), std::string::npos);
}

// A table that closes each keep-alive connection after answering (as a restarted or idle-timing
// peer does): the next call notices the stale pooled connection and succeeds on a fresh one
// without spending a retry.
TEST(Client, RecoversFromStalePooledConnections) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::atomic<int> served{0};
  std::thread server([&] {
    for (int i = 0; i < 3; ++i) {
      boost::asio::ip::tcp::socket sock(io);
      acceptor.accept(sock);
      boost::beast::flat_buffer buf;
      http::request req;
      http::bhttp::read(sock, buf, req);
      http::response res{http::bhttp::status::ok, 11};
      res.body() = "{}";
      res.keep_alive(true);  // claims keep-alive, then closes anyway
      res.prepare_payload();
      http::bhttp::write(sock, res);
      ++served;
      sock.close();
    }
  });
  fixture f;
  client c(f.options(acceptor.local_endpoint().port()));
  for (int i = 0; i < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the FIN arrive
    auto r = c.call("Scan", {{"TableName", "T"}});
    ASSERT_TRUE(r) << r.error().message;
  }
  server.join();
  EXPECT_EQ(served.load(), 3);
  EXPECT_EQ(c.stats().retries, 0u);
  EXPECT_EQ(c.stats().connections_opened, 3u);
  EXPECT_TRUE(f.sleeps.empty());
}

// call_text answers with the table's body as sent (the app's list routes read it with their own
// parser), retries as call does, reports errors as call does; call still rejects an answer that
// is not a JSON object. A large answer arrives whole over a pooled connection.
TEST(Client, CallTextReturnsTheAnswerAsSent) {
  scripted_table t;
  const std::string big = R"({"Items":[)" + std::string(200000, ' ') + R"(],"Count":0})";
  t.script.push_back({503, R"({"__type":"x#ServiceUnavailable","message":"busy"})"});
  t.script.push_back({200, R"({"Items":[], "Count" : 0})"});
  t.script.push_back({400, R"({"__type":"x#ValidationException","message":"bad"})"});
  t.script.push_back({200, big});
  t.script.push_back({200, "[1,2]"});
  ASSERT_TRUE(t.server.start());
  fixture f;
  client c(f.options(t.server.port()));
  auto text = c.call_text("Scan", {{"TableName", "T"}});
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, R"({"Items":[], "Count" : 0})");
  EXPECT_EQ(f.sleeps.size(), 1u);
  auto bad = c.call_text("Scan", {{"TableName", "T"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().type, "ValidationException");
  EXPECT_EQ(bad.error().http_status, 400u);
  auto whole = c.call_text("Scan", {{"TableName", "T"}});
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, big);
  auto not_object = c.call("Scan", {{"TableName", "T"}});
  ASSERT_FALSE(not_object);
  EXPECT_EQ(not_object.error().type, "SerializationException");
  EXPECT_EQ(c.stats().connections_opened, 1u);
}
