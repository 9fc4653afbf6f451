// Router tests: the DynamoDB protocol through api::router::handle on a temporary store —
// error shapes, dispatch, and the operations' main behaviours (put/get/query/conditions/batch).
#include "api/router.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <future>
#include <random>
#include <regex>
#include <sstream>
#include <string>

#include "test/temp_store.h"

namespace mysfits::table::api {
namespace {

namespace json = boost::json;

struct fixture {
  std::string path;
  std::unique_ptr<storage::table_store> store;
  std::unique_ptr<router> r;
  explicit fixture(std::optional<sigv4_credentials> creds = std::nullopt,
                   bool log_requests = false) {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() /
            ("mysfits-router-test-" + std::to_string(rd()) + std::to_string(rd())))
               .string();
    storage::table_store_options o;
    o.store.path = path;
    o.store.sync_writes = false;
    o.region = "us-west-2";
    store = storage::table_store::open(o).value();
    router_options ro;
    ro.credentials = std::move(creds);
    ro.log_requests = log_requests;
    r = std::make_unique<router>(*store, ro);
  }
  ~fixture() {
    r.reset();
    store.reset();
    std::filesystem::remove_all(path);
  }
  http::response post(const std::string& op, const std::string& body) {
    http::request req{http::bhttp::verb::post, "/", 11};
    req.set("X-Amz-Target", "DynamoDB_20120810." + op);
    req.set(http::bhttp::field::content_type, "application/x-amz-json-1.0");
    req.body() = body;
    req.prepare_payload();
    return r->handle(req);
  }
  // The JSON body of a successful call (fails the test otherwise).
  json::object ok(const std::string& op, const std::string& body) {
    auto res = post(op, body);
    EXPECT_EQ(res.result_int(), 200u) << op << ": " << res.body();
    return json::parse(res.body()).as_object();
  }
  // "__type" suffix and message of a failed call.
  std::pair<std::string, std::string> fail(const std::string& op, const std::string& body) {
    auto res = post(op, body);
    EXPECT_EQ(res.result_int(), 400u) << res.body();
    auto o = json::parse(res.body()).as_object();
    std::string type(o.at("__type").as_string());
    return {type.substr(type.find('#') + 1), std::string(o.at("message").as_string())};
  }
  void create_music_table() {
    ok("CreateTable", R"({"TableName":"Music",
      "AttributeDefinitions":[{"AttributeName":"Artist","AttributeType":"S"},
        {"AttributeName":"Year","AttributeType":"N"},{"AttributeName":"Genre","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"Artist","KeyType":"HASH"},{"AttributeName":"Year","KeyType":"RANGE"}],
      "GlobalSecondaryIndexes":[{"IndexName":"ByGenre","KeySchema":[{"AttributeName":"Genre","KeyType":"HASH"}],
        "Projection":{"ProjectionType":"ALL"}}],
      "BillingMode":"PAY_PER_REQUEST"})");
    for (auto [artist, year, genre] : {std::tuple{"A", "1999", "rock"},
                                       {"A", "2001", "pop"},
                                       {"A", "1980", "rock"},
                                       {"B", "2010", "rock"}})
      ok("PutItem", std::string(R"({"TableName":"Music","Item":{"Artist":{"S":")") + artist +
                        R"("},"Year":{"N":")" + year + R"("},"Genre":{"S":")" + genre + R"("}}})");
  }
};

// An unknown X-Amz-Target gets UnknownOperationException, malformed JSON SerializationException.
// A peer's long poll (the internal replication protocol) waits on the router's own threads: the
// thread that handed it over is free at once, and the answer comes when the poll ends.
TEST(Router, InternalProtocolDoesNotHoldTheRequestThread) {
  struct blocking_hooks : replication_hooks {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::shared_ptr<const storage::table_info> update_replicas(op_context&,
                                                               const storage::table_info&,
                                                               const json::array&) override {
      throw api_error::unknown_operation();
    }
    void delete_replica_table(op_context&, const storage::table_info&) override {}
    json::object handle_internal(std::string_view op, const json::object&) override {
      released.wait();
      return {{"Op", op}};
    }
  } hooks;
  fixture f;
  router_options ro;
  ro.log_requests = false;
  ro.replication = &hooks;
  auto r = std::make_unique<router>(*f.store, ro);
  http::request req{http::bhttp::verb::post, "/", 11};
  req.set("X-Amz-Target", std::string(replication_target_prefix) + "PullChanges");
  req.body() = "{}";
  req.prepare_payload();
  std::promise<http::response> answered;
  auto answer = answered.get_future();
  auto handed_over = std::async(std::launch::async, [&] {
    r->handle_async(req, [&answered](http::response res) { answered.set_value(std::move(res)); });
  });
  bool returned = handed_over.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  EXPECT_TRUE(returned) << "handle_async waited for the long poll";
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  hooks.release.set_value();
  auto res = answer.get();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json::parse(res.body()).at("Op").as_string(), "PullChanges");
  r.reset();
}

TEST(Router, UnknownOperationAndMalformedJson) {
  fixture f;
  EXPECT_EQ(f.fail("Frobnicate", "{}").first, "UnknownOperationException");
  EXPECT_EQ(f.fail("ListTables", "{not json").first, "SerializationException");
}

// Item operations on a missing table say "Requested resource not found".
TEST(Router, MissingTableIsResourceNotFound) {
  fixture f;
  auto [type, message] = f.fail("GetItem", R"({"TableName":"Nope","Key":{"k":{"S":"x"}}})");
  EXPECT_EQ(type, "ResourceNotFoundException");
  EXPECT_EQ(message, "Requested resource not found");
  EXPECT_EQ(f.fail("DescribeTable", R"({"TableName":"Nope"})").second,
            "Requested resource not found: Table: Nope not found");
}

// Creating a table twice is ResourceInUseException; DescribeTable reports it ACTIVE with its ARN.
TEST(Router, CreateTwiceIsInUseAndDescribeShowsArn) {
  fixture f;
  f.create_music_table();
  auto d = f.ok("DescribeTable", R"({"TableName":"Music"})");
  EXPECT_EQ(d.at("Table").at("TableStatus").as_string(), "ACTIVE");
  EXPECT_EQ(d.at("Table").at("TableArn").as_string(),
            "arn:aws:dynamodb:us-west-2:000000000000:table/Music");
  EXPECT_EQ(d.at("Table").at("ItemCount").as_int64(), 4);
  EXPECT_EQ(f.fail("CreateTable", R"({"TableName":"Music",
      "AttributeDefinitions":[{"AttributeName":"Artist","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"Artist","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"})")
                .first,
            "ResourceInUseException");
}

// A key of the wrong type gets DynamoDB's exact message.
TEST(Router, WrongKeyTypeMessage) {
  fixture f;
  f.create_music_table();
  auto [type, message] =
      f.fail("PutItem", R"({"TableName":"Music","Item":{"Artist":{"N":"1"},"Year":{"N":"1"}}})");
  EXPECT_EQ(type, "ValidationException");
  EXPECT_EQ(message,
            "One or more parameter values were invalid: Type mismatch for key Artist expected: S "
            "actual: N");
}

// Every answer carries x-amz-crc32, the CRC-32 of its body as DynamoDB sends it (boto3 and the
// AWS SDKs reject an answer whose body does not match): small errors, items, and a Scan of
// items whose text is tens of kilobytes (zlib's crc32 is the reference).
TEST(Router, AnswersCarryTheCrc32OfTheirBody) {
  fixture f;
  f.create_music_table();
  auto crc_matches = [](const http::response& res) {
    const auto& body = res.body();
    auto expected =
        crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
    return std::string(res["x-amz-crc32"]) == std::to_string(expected);
  };
  EXPECT_TRUE(crc_matches(f.post("NoSuchOperation", "{}")));
  EXPECT_TRUE(crc_matches(f.post("GetItem", R"({"TableName":"Music","Key":{"Artist":{"S":"A"},
      "Year":{"N":"1980"}}})")));
  for (int i = 0; i < 40; ++i) {
    std::string text(1000 + i * 37, static_cast<char>('a' + i % 26));
    f.ok("PutItem", R"({"TableName":"Music","Item":{"Artist":{"S":"Big"},"Year":{"N":")" +
                        std::to_string(i) + R"("},"Text":{"S":")" + text + R"("}}})");
  }
  auto scan = f.post("Scan", R"({"TableName":"Music"})");
  ASSERT_EQ(scan.result_int(), 200u);
  EXPECT_GT(scan.body().size(), 40'000u);
  EXPECT_TRUE(crc_matches(scan));
}

// Query returns a partition in range-key order (numerically), backwards on request, and pages
// with Limit + LastEvaluatedKey.
TEST(Router, QueryOrdersAndPages) {
  fixture f;
  f.create_music_table();
  auto years = [](const json::object& resp) {
    std::vector<std::string> out;
    for (const auto& i : resp.at("Items").as_array())
      out.emplace_back(i.at("Year").at("N").as_string());
    return out;
  };
  auto q = f.ok("Query", R"({"TableName":"Music","KeyConditionExpression":"Artist = :a",
      "ExpressionAttributeValues":{":a":{"S":"A"}}})");
  EXPECT_EQ(years(q), (std::vector<std::string>{"1980", "1999", "2001"}));
  auto back =
      f.ok("Query", R"({"TableName":"Music","KeyConditionExpression":"Artist = :a AND #y > :y",
      "ExpressionAttributeNames":{"#y":"Year"},
      "ExpressionAttributeValues":{":a":{"S":"A"},":y":{"N":"1980"}},"ScanIndexForward":false})");
  EXPECT_EQ(years(back), (std::vector<std::string>{"2001", "1999"}));
  auto page1 = f.ok("Query", R"({"TableName":"Music","KeyConditionExpression":"Artist = :a",
      "ExpressionAttributeValues":{":a":{"S":"A"}},"Limit":2})");
  EXPECT_EQ(years(page1), (std::vector<std::string>{"1980", "1999"}));
  ASSERT_TRUE(page1.contains("LastEvaluatedKey"));
  json::object req2 = json::parse(R"({"TableName":"Music","KeyConditionExpression":"Artist = :a",
      "ExpressionAttributeValues":{":a":{"S":"A"}},"Limit":2})")
                          .as_object();
  req2["ExclusiveStartKey"] = page1.at("LastEvaluatedKey");
  auto page2 = f.ok("Query", json::serialize(req2));
  EXPECT_EQ(years(page2), (std::vector<std::string>{"2001"}));
}

// A GSI query finds items by the index key, and follows updates that change it.
TEST(Router, GsiQueryFollowsUpdates) {
  fixture f;
  f.create_music_table();
  std::string q =
      R"({"TableName":"Music","IndexName":"ByGenre","KeyConditionExpression":"Genre = :g",
      "ExpressionAttributeValues":{":g":{"S":"rock"}},"Select":"COUNT"})";
  EXPECT_EQ(f.ok("Query", q).at("Count").as_int64(), 3);
  f.ok("UpdateItem", R"({"TableName":"Music","Key":{"Artist":{"S":"B"},"Year":{"N":"2010"}},
      "UpdateExpression":"SET Genre = :p","ExpressionAttributeValues":{":p":{"S":"pop"}}})");
  EXPECT_EQ(f.ok("Query", q).at("Count").as_int64(), 2);
}

// A failed condition is ConditionalCheckFailedException, carrying the item when asked
// (ReturnValuesOnConditionCheckFailure=ALL_OLD), and writes nothing.
TEST(Router, ConditionFailureCarriesOldItem) {
  fixture f;
  f.create_music_table();
  auto res = f.post("PutItem", R"j({"TableName":"Music",
      "Item":{"Artist":{"S":"A"},"Year":{"N":"1999"},"X":{"S":"new"}},
      "ConditionExpression":"attribute_not_exists(Artist)",
      "ReturnValuesOnConditionCheckFailure":"ALL_OLD"})j");
  ASSERT_EQ(res.result_int(), 400u);
  auto body = json::parse(res.body()).as_object();
  EXPECT_EQ(body.at("__type").as_string(),
            "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException");
  EXPECT_EQ(body.at("Item").at("Genre").at("S").as_string(), "rock");
  auto got =
      f.ok("GetItem", R"({"TableName":"Music","Key":{"Artist":{"S":"A"},"Year":{"N":"1999"}}})");
  EXPECT_FALSE(got.at("Item").as_object().contains("X"));
}

// UpdateItem creates a missing item and ADD counts exactly (SET Likes = Likes + :n style).
TEST(Router, UpdateItemCreatesAndAdds) {
  fixture f;
  f.create_music_table();
  for (int i = 0; i < 3; ++i)
    f.ok("UpdateItem", R"({"TableName":"Music","Key":{"Artist":{"S":"C"},"Year":{"N":"1"}},
        "UpdateExpression":"ADD Likes :one","ExpressionAttributeValues":{":one":{"N":"1"}}})");
  auto got =
      f.ok("GetItem", R"({"TableName":"Music","Key":{"Artist":{"S":"C"},"Year":{"N":"1"}}})");
  EXPECT_EQ(got.at("Item").at("Likes").at("N").as_string(), "3");
}

// GetItem of a whole item answers with the stored text unparsed: the same bytes as the general
// path (here taken with ReturnConsumedCapacity), for every attribute type, and {} for an item
// that is missing or deleted.
TEST(Router, WholeItemGetItemIsTheStoredText) {
  fixture f;
  f.ok("CreateTable", R"({"TableName":"Whole","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],
       "AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],
       "BillingMode":"PAY_PER_REQUEST"})");
  const std::string item =
      R"({"k":{"S":"a"},"n":{"N":"-12345678901234567890.123456789012345678"},"b":{"B":"AAEC"},)"
      R"("t":{"BOOL":true},"z":{"NULL":true},"m":{"M":{"in":{"L":[{"S":"x"},{"N":"1"}]}}},)"
      R"("ss":{"SS":["p","q"]},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AQ=="]},"u":{"S":"\u00e9\"\\"}})";
  f.ok("PutItem", R"({"TableName":"Whole","Item":)" + item + "}");
  auto fast = f.post("GetItem", R"({"TableName":"Whole","Key":{"k":{"S":"a"}}})");
  ASSERT_EQ(fast.result_int(), 200u) << fast.body();
  auto general = f.ok(
      "GetItem", R"({"TableName":"Whole","Key":{"k":{"S":"a"}},"ReturnConsumedCapacity":"TOTAL"})");
  ASSERT_TRUE(general.contains("ConsumedCapacity"));
  EXPECT_EQ(fast.body(), json::serialize(json::object{{"Item", general.at("Item")}}));
  EXPECT_EQ(json::parse(fast.body()).at("Item"), json::parse(item));

  EXPECT_TRUE(f.ok("GetItem", R"({"TableName":"Whole","Key":{"k":{"S":"none"}}})").empty());
  f.ok("DeleteItem", R"({"TableName":"Whole","Key":{"k":{"S":"a"}}})");
  auto gone = f.post("GetItem", R"({"TableName":"Whole","Key":{"k":{"S":"a"}}})");
  EXPECT_EQ(gone.result_int(), 200u);
  EXPECT_EQ(gone.body(), "{}");
  // A projection still takes the general path.
  f.ok("PutItem", R"({"TableName":"Whole","Item":)" + item + "}");
  auto projected = f.ok(
      "GetItem", R"({"TableName":"Whole","Key":{"k":{"S":"a"}},"ProjectionExpression":"n, m.#i",
           "ExpressionAttributeNames":{"#i":"in"}})");
  EXPECT_EQ(projected.at("Item").as_object().size(), 2u);
}

// BatchWriteItem rejects duplicate keys; BatchGetItem returns what exists.
TEST(Router, BatchLimitsAndResults) {
  fixture f;
  f.create_music_table();
  EXPECT_EQ(f.fail("BatchWriteItem", R"({"RequestItems":{"Music":[
      {"PutRequest":{"Item":{"Artist":{"S":"D"},"Year":{"N":"1"}}}},
      {"DeleteRequest":{"Key":{"Artist":{"S":"D"},"Year":{"N":"1"}}}}]}})")
                .second,
            "Provided list of item keys contains duplicates");
  auto got = f.ok("BatchGetItem", R"({"RequestItems":{"Music":{"Keys":[
      {"Artist":{"S":"A"},"Year":{"N":"1999"}},{"Artist":{"S":"Z"},"Year":{"N":"1"}}]}}})");
  EXPECT_EQ(got.at("Responses").at("Music").as_array().size(), 1u);
}

// UpdateTable adds a GSI that is CREATING (Backfilling) and refuses reads until the store's
// back-fill has indexed the existing items (no back-filler runs here: the test runs it), then
// ACTIVE; and deletes it again.
TEST(Router, UpdateTableBackfillsAndDropsGsi) {
  fixture f;
  f.create_music_table();
  auto u = f.ok("UpdateTable", R"({"TableName":"Music",
      "AttributeDefinitions":[{"AttributeName":"Year","AttributeType":"N"}],
      "GlobalSecondaryIndexUpdates":[{"Create":{"IndexName":"ByYear",
        "KeySchema":[{"AttributeName":"Year","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}}]})");
  auto gsi = [](const json::value& table, std::string_view name) {
    for (const auto& g : table.at("GlobalSecondaryIndexes").as_array())
      if (g.at("IndexName").as_string() == name) return g.as_object();
    ADD_FAILURE() << "no index " << name;
    return json::object{};
  };
  EXPECT_EQ(u.at("TableDescription").at("TableStatus").as_string(), "ACTIVE");
  auto creating = gsi(u.at("TableDescription"), "ByYear");
  EXPECT_EQ(creating.at("IndexStatus").as_string(), "CREATING");
  EXPECT_EQ(creating.at("Backfilling"), json::value(true));
  EXPECT_EQ(gsi(f.ok("DescribeTable", R"({"TableName":"Music"})").at("Table"), "ByYear")
                .at("IndexStatus")
                .as_string(),
            "CREATING");
  auto refused = f.fail(
      "Query", R"({"TableName":"Music","IndexName":"ByYear","KeyConditionExpression":"#y = :y",
      "ExpressionAttributeNames":{"#y":"Year"},"ExpressionAttributeValues":{":y":{"N":"1999"}}})");
  EXPECT_EQ(refused.first, "ValidationException");
  EXPECT_EQ(refused.second, "Cannot read from backfilling global secondary index: ByYear");
  EXPECT_EQ(f.fail("Scan", R"({"TableName":"Music","IndexName":"ByYear"})").second,
            "Cannot read from backfilling global secondary index: ByYear");
  // Writes go on meanwhile.
  f.ok("PutItem", R"({"TableName":"Music","Item":{"Artist":{"S":"Q"},"Year":{"N":"1999"}}})");
  ASSERT_TRUE(testing::backfill_index(*f.store, "Music",
                                      f.store->tables().find("Music")->find_index("ByYear")->id));
  auto active = gsi(f.ok("DescribeTable", R"({"TableName":"Music"})").at("Table"), "ByYear");
  EXPECT_EQ(active.at("IndexStatus").as_string(), "ACTIVE");
  EXPECT_FALSE(active.contains("Backfilling"));  // as DynamoDB: absent once ACTIVE
  EXPECT_FALSE(gsi(f.ok("DescribeTable", R"({"TableName":"Music"})").at("Table"), "ByGenre")
                   .contains("Backfilling"));
  auto q =
      f.ok("Query", R"({"TableName":"Music","IndexName":"ByYear","KeyConditionExpression":"#y = :y",
      "ExpressionAttributeNames":{"#y":"Year"},"ExpressionAttributeValues":{":y":{"N":"1999"}}})");
  ASSERT_EQ(q.at("Count").as_int64(), 2);                                   // A's and Q's
  EXPECT_FALSE(q.at("Items").as_array()[0].as_object().contains("Genre"));  // KEYS_ONLY
  EXPECT_EQ(active.at("ItemCount").as_int64(), 5);
  auto d = f.ok("DescribeTable", R"({"TableName":"Music"})");
  EXPECT_EQ(d.at("Table").at("GlobalSecondaryIndexes").as_array().size(), 2u);
  f.ok("UpdateTable", R"({"TableName":"Music",
      "GlobalSecondaryIndexUpdates":[{"Delete":{"IndexName":"ByYear"}}]})");
  EXPECT_EQ(f.fail("Query",
                   R"({"TableName":"Music","IndexName":"ByYear","KeyConditionExpression":"#y = :y",
      "ExpressionAttributeNames":{"#y":"Year"},"ExpressionAttributeValues":{":y":{"N":"1999"}}})")
                .second,
            "The table does not have the specified index: ByYear");
}

// ListTables pages with Limit / LastEvaluatedTableName / ExclusiveStartTableName.
TEST(Router, ListTablesPages) {
  fixture f;
  for (auto name : {"Aaa", "Bbb", "Ccc"})
    f.ok("CreateTable", std::string(R"({"TableName":")") + name + R"(",
        "AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],
        "KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"})");
  auto p1 = f.ok("ListTables", R"({"Limit":2})");
  EXPECT_EQ(p1.at("TableNames").as_array().size(), 2u);
  EXPECT_EQ(p1.at("LastEvaluatedTableName").as_string(), "Bbb");
  auto p2 = f.ok("ListTables", R"({"Limit":2,"ExclusiveStartTableName":"Bbb"})");
  EXPECT_EQ(p2.at("TableNames").as_array().size(), 1u);
  EXPECT_FALSE(p2.contains("LastEvaluatedTableName"));
}

// Tags set on a table ARN are listed and removed; an unknown table's ARN is not found.
TEST(Router, TagsOnTableArn) {
  fixture f;
  f.create_music_table();
  std::string arn = "arn:aws:dynamodb:us-west-2:000000000000:table/Music";
  f.ok("TagResource", R"({"ResourceArn":")" + arn +
                          R"(","Tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]})");
  f.ok("UntagResource", R"({"ResourceArn":")" + arn + R"(","TagKeys":["a"]})");
  auto tags = f.ok("ListTagsOfResource", R"({"ResourceArn":")" + arn + R"("})");
  ASSERT_EQ(tags.at("Tags").as_array().size(), 1u);
  EXPECT_EQ(tags.at("Tags").as_array()[0].at("Key").as_string(), "b");
  EXPECT_EQ(f.fail("ListTagsOfResource",
                   R"({"ResourceArn":"arn:aws:dynamodb:us-west-2:000000000000:table/Nope"})")
                .first,
            "ResourceNotFoundException");
}

// With credentials configured, an unsigned request is refused with DynamoDB's error.
TEST(Router, CredentialsRequireSignature) {
  fixture f(sigv4_credentials{"AKID", "SECRET"});
  auto [type, message] = f.fail("ListTables", "{}");
  EXPECT_EQ(type, "MissingAuthenticationTokenException");
}

// /metrics exposes request counters by operation and status.
TEST(Router, MetricsCountRequests) {
  fixture f;
  (void)f.post("ListTables", "{}");
  http::request req{http::bhttp::verb::get, "/metrics", 11};
  auto res = f.r->handle(req);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_NE(
      res.body().find("mysfits_table_requests_total{operation=\"ListTables\",status=\"200\"}"),
      std::string::npos)
      << res.body();
}

// Every request gets one log line: operation, table, status and duration in milliseconds with
// three decimals; an unknown operation is logged as "unknown".
TEST(Router, LogsALinePerRequest) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%v");
  auto saved = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("router-test", sink));
  {
    fixture f(std::nullopt, true);
    (void)f.post("GetItem", R"({"TableName":"Nope","Key":{"k":{"S":"x"}}})");
    (void)f.post("Frobnicate", "{}");
  }
  spdlog::set_default_logger(saved);
  std::string text = out.str();
  EXPECT_TRUE(std::regex_search(
      text, std::regex(R"(op=GetItem table=Nope status=400 duration_ms=[0-9]+\.[0-9]{3}\n)")))
      << text;
  EXPECT_TRUE(std::regex_search(
      text, std::regex(R"(op=unknown table=- status=400 duration_ms=[0-9]+\.[0-9]{3}\n)")))
      << text;
}

}  // namespace
}  // namespace mysfits::table::api
