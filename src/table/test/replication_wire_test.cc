// Unit tests of the compact PullChanges record frames (replication/wire.h) and of the answer a
// replica serves with them (replicator PullChanges, "Format": "raw"): round trip, malformed
// frames refused as a whole, echoes left out.
#include <gtest/gtest.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "replication/replicator.h"
#include "replication/wire.h"
#include "storage/table_store.h"
#include "test/global_table.h"

namespace mysfits::table::replication {
namespace {

namespace json = boost::json;

json::storage_ptr arena() { return json::make_shared_resource<json::monotonic_resource>(); }

std::string two_changes() {
  std::string frames;
  wire::append_change(frames, 7, 1000, "us-west-2", false, R"({"h":{"S":"a"},"n":{"N":"3"}})",
                      R"({"n":{"N":"1"}})");
  wire::append_change(frames, 9, 1001, "us-west-2", true, R"({"h":{"S":"b"}})", "");
  return frames;
}

// What the serving side frames is what the puller decodes: timestamps, origins, deletes, the
// items (parsed, and their texts as sent) and counter deltas.
TEST(ReplicationWire, RoundTrip) {
  std::string bytes;
  auto d = wire::decode_changes(wire::to_base64(two_changes()), bytes, arena());
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->size(), 2u);
  const auto& put = (*d)[0];
  EXPECT_EQ(put.timestamp_us, 1000u);
  EXPECT_EQ(put.origin, "us-west-2");
  EXPECT_FALSE(put.is_delete);
  EXPECT_EQ(put.item.at("n").at("N").as_string(), "3");
  EXPECT_EQ(put.item_json, R"({"h":{"S":"a"},"n":{"N":"3"}})");
  EXPECT_EQ(put.deltas.at("n").at("N").as_string(), "1");
  const auto& del = (*d)[1];
  EXPECT_TRUE(del.is_delete);
  EXPECT_EQ(del.item.at("h").at("S").as_string(), "b");
  EXPECT_TRUE(del.deltas.empty());
  // No records: an empty string.
  auto none = wire::decode_changes(wire::to_base64(""), bytes, arena());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// Anything malformed fails the whole string (never part of an answer applied): not base64, a
// frame cut short or followed by stray bytes, an item that is not a JSON object, no origin.
TEST(ReplicationWire, RejectsMalformedFrames) {
  std::string good = two_changes();
  std::string bytes;
  auto rejects = [&](const std::string& text) {
    auto d = wire::decode_changes(text, bytes, arena());
    return !d && d.error().code == errc::invalid_argument;
  };
  EXPECT_TRUE(rejects("not base64!"));
  EXPECT_TRUE(rejects(wire::to_base64(good) + "A"));
  EXPECT_TRUE(rejects(wire::to_base64(good.substr(0, good.size() - 1))));
  EXPECT_TRUE(rejects(wire::to_base64(good.substr(0, 3))));
  EXPECT_TRUE(rejects(wire::to_base64(good + "x")));
  std::string cut_inside = good;
  cut_inside[3] = static_cast<char>(cut_inside[3] - 4);  // frame shorter than its parts
  EXPECT_TRUE(rejects(wire::to_base64(cut_inside)));
  std::string not_object;
  wire::append_change(not_object, 1, 1, "us-west-2", false, R"(["h"])", "");
  EXPECT_TRUE(rejects(wire::to_base64(not_object)));
  std::string bad_json;
  wire::append_change(bad_json, 1, 1, "us-west-2", false, R"({"h":)", "");
  EXPECT_TRUE(rejects(wire::to_base64(bad_json)));
  std::string bad_deltas;
  wire::append_change(bad_deltas, 1, 1, "us-west-2", false, R"({"h":{"S":"a"}})", "[1]");
  EXPECT_TRUE(rejects(wire::to_base64(bad_deltas)));
  std::string no_origin;
  wire::append_change(no_origin, 1, 1, "", false, R"({"h":{"S":"a"}})", "");
  EXPECT_TRUE(rejects(wire::to_base64(no_origin)));
  // The good string still decodes (the failures above did not depend on state).
  EXPECT_TRUE(wire::decode_changes(wire::to_base64(good), bytes, arena()));
}

struct store_fixture {
  std::string path;
  std::string regions;
  std::unique_ptr<storage::table_store> ts;
  store_fixture() {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() /
            ("mysfits-wire-test-" + std::to_string(rd()) + std::to_string(rd())))
               .string();
    regions = path + "-regions.json";
    std::ofstream(regions)
        << R"({"us-west-2":"http://127.0.0.1:1","us-east-1":"http://127.0.0.1:2"})";
    storage::table_store_options o;
    o.store.path = path;
    o.store.sync_writes = false;
    o.region = "us-west-2";
    ts = storage::table_store::open(o).value();
  }
  ~store_fixture() {
    ts.reset();
    std::filesystem::remove_all(path);
    std::filesystem::remove(regions);
  }
};

// A replica serves its own changes as frames and leaves out the changes it applied from the
// peer asking (no echoes), while its position (Through) still passes them; the peer decodes
// the answer back into the changes and their stored texts.
TEST(ReplicationWire, PullChangesServesOwnChangesAsFrames) {
  store_fixture f;
  auto t = f.ts->tables().create(testing::global_table_info()).value();
  auto put = [&](const std::string& h, const std::string& v) {
    json::object item{{"h", json::object{{"S", h}}}, {"v", json::object{{"S", v}}}};
    ASSERT_TRUE(
        f.ts->write_item(*t, storage::primary_key_bytes(item, t->keys), [&](const json::object*) {
          return storage::write_decision{storage::write_decision::action::put, item};
        }));
  };
  put("a", "1");
  storage::remote_change echo;
  echo.timestamp_us = 5;
  echo.origin = "us-east-1";
  echo.item = json::parse(R"({"h":{"S":"e"},"v":{"S":"from-east"}})").as_object();
  ASSERT_TRUE(f.ts->apply_remote("G", t->id, {echo}, {{"us-east-1", 1}}, true));
  put("a", "2");

  replicator_options ro;
  ro.region = "us-west-2";
  ro.regions_file = f.regions;
  auto rep = replicator::create(*f.ts, ro).value();  // not started: only its handlers
  json::object body{{"Tables", json::array{json::object{{"TableName", "G"}, {"After", 0}}}},
                    {"WaitMs", 0},
                    {"Format", "raw"}};
  // Through the wire as a peer reads it.
  auto answer = json::parse(json::serialize(rep->handle_internal("PullChanges", body)));
  const auto& e = answer.at("Tables").at(0).as_object();
  EXPECT_EQ(e.at("Through").to_number<std::uint64_t>(), 3u);
  ASSERT_TRUE(e.at("Records").is_string()) << json::serialize(e);
  std::string bytes;
  auto d = wire::decode_changes(e.at("Records").as_string(), bytes, arena());
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->size(), 2u);
  for (const auto& c : *d) EXPECT_EQ(c.origin, "us-west-2");
  EXPECT_EQ((*d)[0].item.at("v").at("S").as_string(), "1");
  EXPECT_EQ((*d)[1].item.at("v").at("S").as_string(), "2");
  EXPECT_EQ(json::parse((*d)[1].item_json), json::parse(R"({"h":{"S":"a"},"v":{"S":"2"}})"));
  EXPECT_LT((*d)[0].timestamp_us, (*d)[1].timestamp_us);
}

}  // namespace
}  // namespace mysfits::table::replication
