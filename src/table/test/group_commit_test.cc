// The commit path end to end (group commit, docs/table.md "Durability"): a write's answer waits
// for the write-ahead-log fsync that covers it while readers already see the write; a failed
// fsync answers DynamoDB's 500 InternalServerError (and is logged) instead of acknowledging;
// replication serves peers only durable stream records and wakes its long polls on a sync.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "api/router.h"
#include "replication/replicator.h"
#include "storage/table_store.h"
#include "test/global_table.h"
#include "test/sync_gate.h"

namespace mysfits::table {
namespace {

namespace json = boost::json;
using testing::sync_gate;

std::string temp_path(const std::string& what) {
  std::random_device rd;
  return (std::filesystem::temp_directory_path() /
          ("mysfits-" + what + "-" + std::to_string(rd()) + std::to_string(rd())))
      .string();
}

// A store with group commit whose fsync the test controls, and a router over it.
struct fixture {
  std::string path = temp_path("group-commit-test");
  sync_gate gate;
  std::unique_ptr<storage::table_store> store;
  std::unique_ptr<api::router> r;
  fixture() {
    storage::table_store_options o;
    o.store.path = path;
    o.store.sync_writes = true;
    o.group_commit = true;
    o.wal_sync = [this] { return gate.sync(); };
    o.region = "us-west-2";
    store = storage::table_store::open(o).value();
    api::router_options ro;
    ro.log_requests = false;
    r = std::make_unique<api::router>(*store, ro);
  }
  ~fixture() {
    gate.open();  // the committer's last syncs at close
    r.reset();
    store.reset();
    std::filesystem::remove_all(path);
  }
  static http::request request(const std::string& op, const std::string& body) {
    http::request req{http::bhttp::verb::post, "/", 11};
    req.set("X-Amz-Target", "DynamoDB_20120810." + op);
    req.set(http::bhttp::field::content_type, "application/x-amz-json-1.0");
    req.body() = body;
    req.prepare_payload();
    return req;
  }
  // Sends a request; the answer arrives in the returned future, whenever the router gives it.
  std::future<http::response> send(const std::string& op, const std::string& body) {
    auto answer = std::make_shared<std::promise<http::response>>();
    auto got = answer->get_future();
    auto req = request(op, body);
    r->handle_async(req, [answer](http::response res) { answer->set_value(std::move(res)); });
    return got;
  }
  static bool ready(std::future<http::response>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
  static http::response get(std::future<http::response>& f) {
    EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return f.get();
  }
  void create_table() {
    // CreateTable writes the catalog with its own fsync (not the gate), and does not wait.
    auto f = send("CreateTable", R"({"TableName":"Things",
      "AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"})");
    ASSERT_EQ(get(f).result_int(), 200u);
  }
};

constexpr const char* put_a = R"({"TableName":"Things","Item":{"id":{"S":"a"},"n":{"N":"1"}}})";
constexpr const char* get_a =
    R"({"TableName":"Things","Key":{"id":{"S":"a"}},"ConsistentRead":true})";

// PutItem is answered only after the fsync that covers it; a reader sees the item before that.
TEST(GroupCommit, WriteIsAnsweredOnlyAfterItsSync) {
  fixture f;
  f.create_table();
  auto put = f.send("PutItem", put_a);
  ASSERT_TRUE(f.gate.wait_entered(1));
  EXPECT_FALSE(fixture::ready(put)) << "PutItem answered before its fsync finished";
  // Readers do not wait: the write is in RocksDB, only not yet fsynced.
  auto read = f.send("GetItem", get_a);
  auto got = fixture::get(read);
  EXPECT_EQ(got.result_int(), 200u);
  EXPECT_NE(got.body().find("\"a\""), std::string::npos) << got.body();
  EXPECT_FALSE(fixture::ready(put));
  f.gate.release();
  auto res = fixture::get(put);
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  // UpdateItem, DeleteItem and BatchWriteItem wait the same way.
  for (auto [op, body] :
       {std::pair{"UpdateItem", R"({"TableName":"Things","Key":{"id":{"S":"a"}},
          "UpdateExpression":"SET n = n + :one","ExpressionAttributeValues":{":one":{"N":"1"}}})"},
        {"BatchWriteItem",
         R"({"RequestItems":{"Things":[{"PutRequest":{"Item":{"id":{"S":"b"}}}}]}})"},
        {"DeleteItem", R"({"TableName":"Things","Key":{"id":{"S":"b"}}})"}}) {
    int before = [&] {
      std::lock_guard lock(f.gate.mu);
      return f.gate.entered;
    }();
    auto w = f.send(op, body);
    ASSERT_TRUE(f.gate.wait_entered(before + 1));
    EXPECT_FALSE(fixture::ready(w)) << op << " answered before its fsync finished";
    f.gate.release();
    EXPECT_EQ(fixture::get(w).result_int(), 200u) << op;
  }
}

// A failed fsync: the waiting writes get DynamoDB's InternalServerError (500), never a 200, and
// the failure is logged.
TEST(GroupCommit, FailedSyncAnswersInternalServerErrorAndLogs) {
  fixture f;
  f.create_table();
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("group-commit-test", ring));
  auto put = f.send("PutItem", put_a);
  ASSERT_TRUE(f.gate.wait_entered(1));
  {
    std::lock_guard lock(f.gate.mu);
    f.gate.fail = true;
  }
  f.gate.release();
  auto res = fixture::get(put);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(res.result_int(), 500u);
  EXPECT_EQ(res[http::bhttp::field::content_type], "application/x-amz-json-1.0");
  auto body = json::parse(res.body()).as_object();
  EXPECT_EQ(body.at("__type").as_string(), "com.amazonaws.dynamodb.v20120810#InternalServerError");
  EXPECT_TRUE(body.contains("message"));
  bool logged = false;
  for (const auto& line : ring->last_formatted())
    if (line.find("injected fsync failure") != std::string::npos) logged = true;
  EXPECT_TRUE(logged) << "the failed sync was not logged";
  // The next sync succeeds: later writes are acknowledged again.
  {
    std::lock_guard lock(f.gate.mu);
    f.gate.fail = false;
  }
  auto again = f.send("PutItem", put_a);
  f.gate.open();
  EXPECT_EQ(fixture::get(again).result_int(), 200u);
}

// Replication's change feed (PullChanges) hands peers only records that are durable here, and a
// long poll waiting for them is woken by the sync that makes them durable.
TEST(GroupCommit, PullChangesServesOnlyDurableRecords) {
  fixture f;
  std::string regions = temp_path("group-commit-regions") + ".json";
  {
    std::ofstream out(regions);
    out << R"({"us-west-2":"http://127.0.0.1:1","us-east-1":"http://127.0.0.1:2"})";
  }
  replication::replicator_options ro;
  ro.region = "us-west-2";
  ro.regions_file = regions;
  auto rep = replication::replicator::create(*f.store, ro).value();  // not started
  auto table = f.store->tables().create(testing::global_table_info()).value();
  auto put = [&](const std::string& h) {
    json::object item{{"h", json::object{{"S", h}}}};
    ASSERT_TRUE(f.store->write_item(
        *table, storage::primary_key_bytes(item, table->keys), [&](const json::object*) {
          return storage::write_decision{storage::write_decision::action::put, item};
        }));
  };
  auto pull = [&](std::uint64_t after, int wait_ms) {
    json::object body{{"Tables", json::array{json::object{{"TableName", "G"}, {"After", after}}}},
                      {"WaitMs", wait_ms}};
    auto resp = rep->handle_internal("PullChanges", body);
    return resp.at("Tables").as_array().at(0).as_object();
  };

  put("x");  // written (readable here) but not fsynced
  EXPECT_EQ(f.store->stream_readable_through(table->id), 1u);
  EXPECT_EQ(f.store->stream_durable_through(table->id), 0u);
  auto before = pull(0, 0);
  EXPECT_TRUE(before.at("Records").as_array().empty()) << json::serialize(before);
  EXPECT_EQ(before.at("Through").as_uint64(), 0u);

  std::promise<void> synced;
  f.store->after_durable([&](const result<void>& r) {
    EXPECT_TRUE(r);
    synced.set_value();
  });
  ASSERT_TRUE(f.gate.wait_entered(1));
  f.gate.release();
  ASSERT_EQ(synced.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(f.store->stream_durable_through(table->id), 1u);
  auto after = pull(0, 0);
  ASSERT_EQ(after.at("Records").as_array().size(), 1u) << json::serialize(after);
  EXPECT_EQ(after.at("Through").as_uint64(), 1u);

  // A long poll (20 s) waiting for record 2, which is written but not durable: the sync wakes it.
  put("y");
  auto polled = std::async(std::launch::async, [&] { return pull(1, 20000); });
  f.store->after_durable({});
  ASSERT_TRUE(f.gate.wait_entered(2));
  EXPECT_NE(polled.wait_for(std::chrono::milliseconds(100)), std::future_status::ready)
      << "the poll answered before record 2 was durable";
  f.gate.release();
  auto woke = polled.get();
  ASSERT_EQ(woke.at("Records").as_array().size(), 1u) << json::serialize(woke);
  EXPECT_EQ(woke.at("Records").as_array().at(0).as_object().at("seq").as_uint64(), 2u);
  rep.reset();
  std::filesystem::remove(regions);
}

}  // namespace
}  // namespace mysfits::table
