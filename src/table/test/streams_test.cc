// Tests of the DynamoDB Streams API (api/ops_streams.cc, api/streams.h) through the router on a
// temporary store: sequence numbers and iterators, record shapes per view type, disable /
// re-enable, trimming, expiry and errors (issue 3).
#include "api/streams.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <random>

#include "api/router.h"

namespace mysfits::table::api {
namespace {

namespace json = boost::json;

struct fixture {
  std::string path;
  std::unique_ptr<storage::table_store> store;
  std::unique_ptr<router> r;
  fixture() {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() /
            ("mysfits-streams-test-" + std::to_string(rd()) + std::to_string(rd())))
               .string();
    storage::table_store_options o;
    o.store.path = path;
    o.store.sync_writes = false;
    o.region = "us-west-2";
    store = storage::table_store::open(o).value();
    router_options ro;
    ro.log_requests = false;
    r = std::make_unique<router>(*store, ro);
  }
  ~fixture() {
    r.reset();
    store.reset();
    std::filesystem::remove_all(path);
  }
  http::response post(const std::string& target, const std::string& body) {
    http::request req{http::bhttp::verb::post, "/", 11};
    req.set("X-Amz-Target", target);
    req.set(http::bhttp::field::content_type, "application/x-amz-json-1.0");
    req.body() = body;
    req.prepare_payload();
    return r->handle(req);
  }
  json::object call(const std::string& prefix, const std::string& op, const std::string& body) {
    auto res = post(prefix + op, body);
    EXPECT_EQ(res.result_int(), 200u) << op << ": " << res.body();
    return json::parse(res.body()).as_object();
  }
  json::object ddb(const std::string& op, const std::string& body) {
    return call("DynamoDB_20120810.", op, body);
  }
  json::object streams(const std::string& op, const json::object& body) {
    return call("DynamoDBStreams_20120810.", op, json::serialize(body));
  }
  // The error name (after '#') of a failed Streams call.
  std::string streams_error(const std::string& op, const json::object& body) {
    auto res = post("DynamoDBStreams_20120810." + op, json::serialize(body));
    EXPECT_EQ(res.result_int(), 400u) << res.body();
    auto o = json::parse(res.body()).as_object();
    std::string type(o.at("__type").as_string());
    return type.substr(type.find('#') + 1);
  }
  void create_table(const std::string& view_type) {
    ddb("CreateTable", R"({"TableName":"Tbl",
      "AttributeDefinitions":[{"AttributeName":"p","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"p","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST",
      "StreamSpecification":{"StreamEnabled":true,"StreamViewType":")" +
                           view_type + R"("}})");
  }
  void put(const std::string& p, const std::string& v) {
    ddb("PutItem",
        R"({"TableName":"Tbl","Item":{"p":{"S":")" + p + R"("},"v":{"S":")" + v + R"("}}})");
  }
  void del(const std::string& p) {
    ddb("DeleteItem", R"({"TableName":"Tbl","Key":{"p":{"S":")" + p + R"("}}})");
  }
  std::string latest_arn() {
    return std::string(ddb("DescribeTable", R"({"TableName":"Tbl"})")
                           .at("Table")
                           .at("LatestStreamArn")
                           .as_string());
  }
  std::string shard_of(const std::string& arn) {
    auto d = streams("DescribeStream", {{"StreamArn", arn}});
    return std::string(
        d.at("StreamDescription").at("Shards").as_array().at(0).at("ShardId").as_string());
  }
  std::string iterator(const std::string& arn, const std::string& type,
                       std::optional<std::string> seq = std::nullopt) {
    json::object req{{"StreamArn", arn}, {"ShardId", shard_of(arn)}, {"ShardIteratorType", type}};
    if (seq) req["SequenceNumber"] = *seq;
    return std::string(streams("GetShardIterator", req).at("ShardIterator").as_string());
  }
  // Every record from `it` on, following NextShardIterator until a page is empty (or closed).
  json::array read_all(std::string it, std::size_t limit = 1000) {
    json::array out;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = streams("GetRecords", {{"ShardIterator", it}, {"Limit", limit}});
      auto& recs = page.at("Records").as_array();
      for (auto& rec : recs) out.push_back(rec);
      if (!page.contains("NextShardIterator") || recs.empty()) break;
      it = std::string(page.at("NextShardIterator").as_string());
    }
    return out;
  }
};

std::string event_of(const json::value& rec) {
  return std::string(rec.at("eventName").as_string());
}

// Sequence numbers are 21 decimal digits that order as the underlying numbers do.
TEST(StreamsFormat, SequenceNumbersRoundTripAndRejectOtherText) {
  EXPECT_EQ(streams::format_sequence_number(42), "100000000000000000042");
  EXPECT_EQ(streams::parse_sequence_number("100000000000000000042"), 42u);
  EXPECT_EQ(streams::parse_sequence_number(streams::format_sequence_number(UINT64_MAX)),
            UINT64_MAX);
  EXPECT_LT(streams::format_sequence_number(9), streams::format_sequence_number(10));
  for (const char* bad : {"", "42", "1000000000000000000042", "200000000000000000042",
                          "10000000000000000004x", "199999999999999999999"})
    EXPECT_FALSE(streams::parse_sequence_number(bad)) << bad;
}

// An iterator decodes to what was encoded; an altered one is refused.
TEST(StreamsFormat, IteratorsRoundTripAndDetectTampering) {
  streams::shard_iterator it{"arn:aws:dynamodb:us-west-2:000000000000:table/T/stream/L", 7, 99,
                             123456};
  auto text = streams::encode_iterator(it);
  auto back = streams::decode_iterator(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->stream_arn, it.stream_arn);
  EXPECT_EQ(back->table_id, 7u);
  EXPECT_EQ(back->after, 99u);
  EXPECT_EQ(back->issued_ms, 123456u);
  std::string altered = text;
  altered[altered.find("|1|") + 3] = '8';
  EXPECT_FALSE(streams::decode_iterator(altered));
  EXPECT_FALSE(streams::decode_iterator("garbage"));
  EXPECT_FALSE(streams::decode_iterator(""));
}

// Labels are the enabling time in DynamoDB's format and read back as that time.
TEST(StreamsFormat, LabelsAreTimestamps) {
  EXPECT_EQ(streams::make_label(1700000000123), "2023-11-14T22:13:20.123");
  EXPECT_DOUBLE_EQ(streams::label_time("2023-11-14T22:13:20.123"), 1700000000.123);
}

// INSERT, MODIFY and REMOVE records carry DynamoDB's fields and both images with
// NEW_AND_OLD_IMAGES, in write order, with increasing 21-digit sequence numbers.
TEST(Streams, RecordsHaveDynamoDbShape) {
  fixture f;
  f.create_table("NEW_AND_OLD_IMAGES");
  f.put("a", "1");
  f.put("a", "2");
  f.del("a");
  auto arn = f.latest_arn();
  auto recs = f.read_all(f.iterator(arn, "TRIM_HORIZON"));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(event_of(recs[0]), "INSERT");
  EXPECT_EQ(event_of(recs[1]), "MODIFY");
  EXPECT_EQ(event_of(recs[2]), "REMOVE");
  std::string prev;
  for (auto& rv : recs) {
    const auto& rec = rv.as_object();
    EXPECT_EQ(rec.at("eventVersion").as_string(), "1.1");
    EXPECT_EQ(rec.at("eventSource").as_string(), "aws:dynamodb");
    EXPECT_EQ(rec.at("awsRegion").as_string(), "us-west-2");
    EXPECT_EQ(rec.at("eventID").as_string().size(), 32u);
    const auto& d = rec.at("dynamodb").as_object();
    EXPECT_EQ(json::serialize(d.at("Keys")), R"({"p":{"S":"a"}})");
    EXPECT_EQ(d.at("StreamViewType").as_string(), "NEW_AND_OLD_IMAGES");
    EXPECT_GT(d.at("SizeBytes").as_int64(), 0);
    EXPECT_GT(d.at("ApproximateCreationDateTime").as_int64(), 1600000000);
    std::string seq(d.at("SequenceNumber").as_string());
    EXPECT_EQ(seq.size(), 21u);
    EXPECT_GT(seq, prev);
    prev = seq;
  }
  const auto& insert = recs[0].at("dynamodb").as_object();
  EXPECT_FALSE(insert.contains("OldImage"));
  EXPECT_EQ(insert.at("NewImage").at("v").at("S").as_string(), "1");
  const auto& modify = recs[1].at("dynamodb").as_object();
  EXPECT_EQ(modify.at("OldImage").at("v").at("S").as_string(), "1");
  EXPECT_EQ(modify.at("NewImage").at("v").at("S").as_string(), "2");
  const auto& remove = recs[2].at("dynamodb").as_object();
  EXPECT_EQ(remove.at("OldImage").at("v").at("S").as_string(), "2");
  EXPECT_FALSE(remove.contains("NewImage"));
}

// Each view type keeps only its images.
TEST(Streams, ViewTypesSelectImages) {
  for (auto [vt, has_new, has_old] : {std::tuple{"KEYS_ONLY", false, false},
                                      {"NEW_IMAGE", true, false},
                                      {"OLD_IMAGE", false, true},
                                      {"NEW_AND_OLD_IMAGES", true, true}}) {
    fixture f;
    f.create_table(vt);
    f.put("a", "1");
    f.put("a", "2");
    auto recs = f.read_all(f.iterator(f.latest_arn(), "TRIM_HORIZON"));
    ASSERT_EQ(recs.size(), 2u) << vt;
    const auto& d = recs[1].at("dynamodb").as_object();
    EXPECT_EQ(d.contains("NewImage"), has_new) << vt;
    EXPECT_EQ(d.contains("OldImage"), has_old) << vt;
    EXPECT_TRUE(d.contains("Keys")) << vt;
  }
}

// LATEST starts after what exists; AT_ and AFTER_SEQUENCE_NUMBER start at / after a record;
// Limit pages through NextShardIterator without losing or repeating a record.
TEST(Streams, IteratorTypesAndPaging) {
  fixture f;
  f.create_table("KEYS_ONLY");
  for (int n = 0; n < 5; ++n) f.put("k" + std::to_string(n), "v");
  auto arn = f.latest_arn();
  auto latest = f.iterator(arn, "LATEST");
  auto all = f.read_all(f.iterator(arn, "TRIM_HORIZON"), 2);
  ASSERT_EQ(all.size(), 5u);
  std::string third(all[2].at("dynamodb").at("SequenceNumber").as_string());
  auto at = f.read_all(f.iterator(arn, "AT_SEQUENCE_NUMBER", third));
  ASSERT_EQ(at.size(), 3u);
  EXPECT_EQ(at[0].at("dynamodb").at("SequenceNumber").as_string(), third);
  auto after = f.read_all(f.iterator(arn, "AFTER_SEQUENCE_NUMBER", third));
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].at("eventID"), all[3].at("eventID"));
  f.put("new", "v");
  auto fresh = f.read_all(latest);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].at("dynamodb").at("Keys").at("p").at("S").as_string(), "new");
  // An open shard always hands out a next iterator, even when there is nothing new.
  auto page = f.streams("GetRecords", {{"ShardIterator", f.iterator(arn, "LATEST")}});
  EXPECT_TRUE(page.at("Records").as_array().empty());
  EXPECT_TRUE(page.contains("NextShardIterator"));
}

// A PutItem that changes nothing writes no stream record, as in DynamoDB.
TEST(Streams, UnchangedPutIsNotARecord) {
  fixture f;
  f.create_table("NEW_IMAGE");
  f.put("a", "1");
  f.put("a", "1");
  EXPECT_EQ(f.read_all(f.iterator(f.latest_arn(), "TRIM_HORIZON")).size(), 1u);
}

// Disabling keeps the stream listed and readable as DISABLED with a closed shard; re-enabling
// makes a new stream (new label and ARN) that holds only the records written since.
TEST(Streams, DisableThenReenableMakesANewStream) {
  fixture f;
  f.create_table("NEW_IMAGE");
  f.put("a", "1");
  auto first = f.latest_arn();
  f.ddb("UpdateTable", R"({"TableName":"Tbl","StreamSpecification":{"StreamEnabled":false}})");
  f.put("b", "1");  // written while no stream is on: in no stream
  auto d = f.streams("DescribeStream", {{"StreamArn", first}}).at("StreamDescription");
  EXPECT_EQ(d.at("StreamStatus").as_string(), "DISABLED");
  EXPECT_TRUE(
      d.at("Shards").at(0).at("SequenceNumberRange").as_object().contains("EndingSequenceNumber"));
  f.ddb("UpdateTable", R"({"TableName":"Tbl",
      "StreamSpecification":{"StreamEnabled":true,"StreamViewType":"KEYS_ONLY"}})");
  f.put("c", "1");
  auto second = f.latest_arn();
  EXPECT_NE(first, second);
  auto listed = f.streams("ListStreams", {{"TableName", "Tbl"}}).at("Streams").as_array();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].at("StreamArn").as_string(), first);
  EXPECT_EQ(listed[1].at("StreamArn").as_string(), second);
  EXPECT_EQ(f.streams("DescribeStream", {{"StreamArn", second}})
                .at("StreamDescription")
                .at("StreamStatus")
                .as_string(),
            "ENABLED");

  // The old stream: its one record, then the end of its closed shard (no next iterator).
  auto page = f.streams("GetRecords", {{"ShardIterator", f.iterator(first, "TRIM_HORIZON")}});
  ASSERT_EQ(page.at("Records").as_array().size(), 1u);
  EXPECT_EQ(page.at("Records").at(0).at("dynamodb").at("Keys").at("p").at("S").as_string(), "a");
  if (page.contains("NextShardIterator")) {
    auto next = f.streams("GetRecords", {{"ShardIterator", page.at("NextShardIterator")}});
    EXPECT_TRUE(next.at("Records").as_array().empty());
    EXPECT_FALSE(next.contains("NextShardIterator"));
  }
  auto recs = f.read_all(f.iterator(second, "TRIM_HORIZON"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].at("dynamodb").at("Keys").at("p").at("S").as_string(), "c");
  EXPECT_EQ(recs[0].at("dynamodb").at("StreamViewType").as_string(), "KEYS_ONLY");
}

// Positions older than what is kept give TrimmedDataAccessException; TRIM_HORIZON then starts
// at the oldest kept record.
TEST(Streams, TrimmedPositionsAreRefused) {
  fixture f;
  f.create_table("KEYS_ONLY");
  f.put("a", "1");
  f.put("b", "1");
  auto arn = f.latest_arn();
  auto old_it = f.iterator(arn, "TRIM_HORIZON");
  auto recs = f.read_all(old_it);
  ASSERT_EQ(recs.size(), 2u);
  std::string first_seq(recs[0].at("dynamodb").at("SequenceNumber").as_string());
  auto t = f.store->tables().find("Tbl");
  ASSERT_EQ(f.store->trim_stream(t->id, UINT64_MAX).value(), 2u);
  f.put("c", "1");
  EXPECT_EQ(f.streams_error("GetRecords", {{"ShardIterator", old_it}}),
            "TrimmedDataAccessException");
  EXPECT_EQ(f.streams_error("GetShardIterator", {{"StreamArn", arn},
                                                 {"ShardId", f.shard_of(arn)},
                                                 {"ShardIteratorType", "AT_SEQUENCE_NUMBER"},
                                                 {"SequenceNumber", first_seq}}),
            "TrimmedDataAccessException");
  auto kept = f.read_all(f.iterator(arn, "TRIM_HORIZON"));
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].at("dynamodb").at("Keys").at("p").at("S").as_string(), "c");
}

// An iterator older than 15 minutes is ExpiredIteratorException; a malformed one is a
// ValidationException.
TEST(Streams, ExpiredAndMalformedIterators) {
  fixture f;
  f.create_table("KEYS_ONLY");
  auto arn = f.latest_arn();
  auto t = f.store->tables().find("Tbl");
  auto stale = streams::encode_iterator(
      {arn, t->id, 0, streams::now_ms() - streams::iterator_lifetime_ms - 1000});
  EXPECT_EQ(f.streams_error("GetRecords", {{"ShardIterator", stale}}), "ExpiredIteratorException");
  EXPECT_EQ(f.streams_error("GetRecords", {{"ShardIterator", "not an iterator"}}),
            "ValidationException");
  EXPECT_EQ(f.streams_error("GetRecords",
                            {{"ShardIterator", f.iterator(arn, "LATEST")}, {"Limit", 1001}}),
            "ValidationException");
}

// Bad GetShardIterator input gets DynamoDB Streams' errors.
TEST(Streams, GetShardIteratorValidation) {
  fixture f;
  f.create_table("KEYS_ONLY");
  f.put("a", "1");
  auto arn = f.latest_arn();
  auto shard = f.shard_of(arn);
  auto req = [&](const char* type) {
    return json::object{{"StreamArn", arn}, {"ShardId", shard}, {"ShardIteratorType", type}};
  };
  EXPECT_EQ(f.streams_error("GetShardIterator", req("SIDEWAYS")), "ValidationException");
  EXPECT_EQ(f.streams_error("GetShardIterator", req("AT_SEQUENCE_NUMBER")), "ValidationException");
  auto bad_seq = req("AFTER_SEQUENCE_NUMBER");
  bad_seq["SequenceNumber"] = "12";
  EXPECT_EQ(f.streams_error("GetShardIterator", bad_seq), "ValidationException");
  bad_seq["SequenceNumber"] = streams::format_sequence_number(1000);  // never written
  EXPECT_EQ(f.streams_error("GetShardIterator", bad_seq), "ValidationException");
  auto other_shard = req("LATEST");
  other_shard["ShardId"] = "shardId-00000000000000000000-00000000";
  EXPECT_EQ(f.streams_error("GetShardIterator", other_shard), "ResourceNotFoundException");
  auto missing = req("LATEST");
  missing["StreamArn"] = arn + "x";
  EXPECT_EQ(f.streams_error("GetShardIterator", missing), "ResourceNotFoundException");
}

// A deleted table's streams are gone; its iterators too.
TEST(Streams, DeletedTableStreamsAreGone) {
  fixture f;
  f.create_table("KEYS_ONLY");
  auto arn = f.latest_arn();
  auto it = f.iterator(arn, "TRIM_HORIZON");
  f.ddb("DeleteTable", R"({"TableName":"Tbl"})");
  EXPECT_EQ(f.streams_error("DescribeStream", {{"StreamArn", arn}}), "ResourceNotFoundException");
  EXPECT_EQ(f.streams_error("GetRecords", {{"ShardIterator", it}}), "ResourceNotFoundException");
  EXPECT_TRUE(f.streams("ListStreams", {}).at("Streams").as_array().empty());
  // A new table of the same name does not inherit the old iterators.
  f.create_table("KEYS_ONLY");
  EXPECT_EQ(f.streams_error("GetRecords", {{"ShardIterator", it}}), "ResourceNotFoundException");
}

// CreateTable accepts a StreamSpecification that leaves the stream off (no stream then); turning
// on a stream that is already on is a ValidationException.
TEST(Streams, CreateWithStreamOffAndEnableTwice) {
  fixture f;
  auto d = f.ddb("CreateTable", R"({"TableName":"Off",
      "AttributeDefinitions":[{"AttributeName":"p","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"p","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST",
      "StreamSpecification":{"StreamEnabled":false}})");
  EXPECT_FALSE(d.at("TableDescription").as_object().contains("LatestStreamArn"));
  EXPECT_TRUE(f.streams("ListStreams", {}).at("Streams").as_array().empty());
  f.create_table("KEYS_ONLY");
  auto res = f.post("DynamoDB_20120810.UpdateTable", R"({"TableName":"Tbl",
      "StreamSpecification":{"StreamEnabled":true,"StreamViewType":"KEYS_ONLY"}})");
  EXPECT_EQ(res.result_int(), 400u);
}

// ListStreams pages with Limit / ExclusiveStartStreamArn over every table's streams.
TEST(Streams, ListStreamsPages) {
  fixture f;
  for (const char* name : {"Aaa", "Bbb", "Ccc"})
    f.ddb("CreateTable", std::string(R"({"TableName":")") + name + R"(",
      "AttributeDefinitions":[{"AttributeName":"p","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"p","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST",
      "StreamSpecification":{"StreamEnabled":true,"StreamViewType":"KEYS_ONLY"}})");
  auto page1 = f.streams("ListStreams", {{"Limit", 2}});
  ASSERT_EQ(page1.at("Streams").as_array().size(), 2u);
  ASSERT_TRUE(page1.contains("LastEvaluatedStreamArn"));
  auto page2 =
      f.streams("ListStreams",
                {{"Limit", 2}, {"ExclusiveStartStreamArn", page1.at("LastEvaluatedStreamArn")}});
  ASSERT_EQ(page2.at("Streams").as_array().size(), 1u);
  EXPECT_EQ(page2.at("Streams").at(0).at("TableName").as_string(), "Ccc");
  EXPECT_FALSE(page2.contains("LastEvaluatedStreamArn"));
  EXPECT_EQ(f.streams_error("ListStreams", {{"TableName", "Nope"}}), "ResourceNotFoundException");
  EXPECT_EQ(f.streams_error("ListStreams", {{"Limit", 0}}), "ValidationException");
}

// Streams operations exist only under the Streams target, and DynamoDB's only under DynamoDB's.
TEST(Streams, TargetsAreSeparate) {
  fixture f;
  EXPECT_EQ(f.post("DynamoDB_20120810.ListStreams", "{}").result_int(), 400u);
  EXPECT_EQ(f.post("DynamoDBStreams_20120810.ListTables", "{}").result_int(), 400u);
  EXPECT_EQ(f.post("DynamoDBStreams_20120810.ListStreams", "{}").result_int(), 200u);
}

// enable_stream (used by global tables): a new label each time, no change when already on with
// the same view type, an error for another view type.
TEST(Streams, EnableStreamHelper) {
  storage::table_info t;
  t.name = "T";
  enable_stream(t, "NEW_AND_OLD_IMAGES");
  EXPECT_TRUE(t.stream_enabled);
  EXPECT_EQ(t.stream_view_type, "NEW_AND_OLD_IMAGES");
  std::string label = t.stream_label;
  EXPECT_FALSE(label.empty());
  enable_stream(t, "NEW_AND_OLD_IMAGES");
  EXPECT_EQ(t.stream_label, label);
  EXPECT_THROW(enable_stream(t, "KEYS_ONLY"), api_error);
  streams::disable_stream(t, 5);
  enable_stream(t, "KEYS_ONLY");
  EXPECT_GT(t.stream_label, label);
  auto all = streams::streams_of(t);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].label, label);
  EXPECT_FALSE(all[0].enabled);
  EXPECT_EQ(all[0].last_sequence, 5u);
  EXPECT_TRUE(all[1].enabled);
  EXPECT_THROW(enable_stream(t, "SIDEWAYS"), api_error);
}

}  // namespace
}  // namespace mysfits::table::api
