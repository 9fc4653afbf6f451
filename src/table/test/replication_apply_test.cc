// Unit tests of table_store's global-table primitives (issue 3): last-writer-wins apply of
// remote changes (tombstones and timestamp ties included), progress committed atomically with
// the change, tombstones for local deletes, the hybrid logical clock and tombstone purging.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <deque>
#include <limits>

#include "storage/table_store.h"
#include "test/global_table.h"
#include "test/temp_store.h"

namespace mysfits::table::storage {
namespace {

namespace json = boost::json;

struct fixture : testing::temp_store {
  std::uint64_t clock = 1000;
  fixture() : temp_store("mysfits-repl-test-") { reopen(); }
  void reopen() {
    auto o = options();
    o.clock_us = [this] { return clock; };
    open(std::move(o));
  }
  std::shared_ptr<const table_info> make_global_table(bool counter_merge = false) {
    table_info t = testing::global_table_info();
    if (counter_merge) t.tags.emplace_back("mysfits:counter-merge", "true");
    index_info g;
    g.name = "ByColor";
    g.id = 1;
    g.keys.hash_name = "color";
    g.keys.hash_type = key_type::s;
    t.indexes.push_back(g);
    t.next_index_id = 2;
    return ts->tables().create(std::move(t)).value();
  }
  std::shared_ptr<const table_info> table() { return ts->tables().find("G"); }
  static json::object item(const std::string& h, const std::string& v) {
    return json::parse(R"({"h":{"S":")" + h + R"("},"v":{"S":")" + v + R"("},"color":{"S":"red"}})")
        .as_object();
  }
  static remote_change change(const std::string& h, const std::string& v, std::uint64_t ts,
                              const std::string& origin, bool del = false) {
    remote_change c;
    c.timestamp_us = ts;
    c.origin = origin;
    c.is_delete = del;
    c.item = del ? json::parse(R"({"h":{"S":")" + h + R"("}})").as_object() : item(h, v);
    return c;
  }
  std::optional<std::string> value_of(const std::string& h) {
    auto t = table();
    json::object key{{"h", json::object{{"S", h}}}};
    auto r = ts->get_item(*t, primary_key_bytes(key, t->keys)).value();
    // GetItem's whole-item answer reads the stored text instead: the same item, or none.
    auto text = ts->get_item_text(*t, primary_key_bytes(key, t->keys)).value();
    EXPECT_EQ(text.has_value(), r.has_value()) << h;
    if (text && r) EXPECT_EQ(*text, json::serialize(*r));
    if (!r) return std::nullopt;
    return std::string(r->at("v").at("S").as_string());
  }
  void local_put(const std::string& h, const std::string& v) {
    auto t = table();
    auto it = item(h, v);
    ASSERT_TRUE(ts->write_item(*t, primary_key_bytes(it, t->keys), [&](const json::object*) {
      return write_decision{write_decision::action::put, it};
    }));
  }
  void local_delete(const std::string& h) {
    auto t = table();
    json::object key{{"h", json::object{{"S", h}}}};
    ASSERT_TRUE(ts->write_item(*t, primary_key_bytes(key, t->keys), [&](const json::object* old) {
      return write_decision{old ? write_decision::action::del : write_decision::action::none, {}};
    }));
  }
};

// The later (timestamp, origin) wins whatever order the changes arrive in.
TEST(ReplicationApply, LastWriterWinsInAnyOrder) {
  fixture f;
  auto t = f.make_global_table();
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "new", 200, "us-east-1")}, {}, true));
  auto s =
      f.ts->apply_remote("G", t->id, {fixture::change("a", "old", 100, "eu-west-1")}, {}, true);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->applied, 0u);
  EXPECT_EQ(s->superseded, 1u);
  EXPECT_EQ(f.value_of("a"), "new");
  EXPECT_EQ(f.ts->stats(t->id).item_count, 1);
}

// Equal timestamps: the greater region name wins on every replica (deterministic tie-break);
// the same change applied twice is a no-op.
TEST(ReplicationApply, TimestampTiesBreakOnRegionName) {
  fixture f;
  auto t = f.make_global_table();
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "east", 500, "us-east-1")}, {}, true));
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "eu", 500, "eu-west-1")}, {}, true));
  EXPECT_EQ(f.value_of("a"), "east");  // "us-east-1" > "eu-west-1"
  auto again =
      f.ts->apply_remote("G", t->id, {fixture::change("a", "east", 500, "us-east-1")}, {}, true);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->applied, 0u);
  EXPECT_TRUE(is_newer(5, "b", 5, "a"));
  EXPECT_FALSE(is_newer(5, "a", 5, "a"));
  EXPECT_TRUE(is_newer(6, "a", 5, "z"));
}

// A remote delete leaves a tombstone: an older write arriving later cannot resurrect the item,
// a newer one can; the index entry and counts follow.
TEST(ReplicationApply, TombstonesWinAgainstOlderWrites) {
  fixture f;
  auto t = f.make_global_table();
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "v1", 100, "us-east-1")}, {}, true));
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "", 300, "us-east-1", true)}, {}, true));
  EXPECT_EQ(f.value_of("a"), std::nullopt);
  EXPECT_EQ(f.ts->stats(t->id).item_count, 0);
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 0);
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "late", 200, "eu-west-1")}, {}, true));
  EXPECT_EQ(f.value_of("a"), std::nullopt);
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "again", 400, "eu-west-1")}, {}, true));
  EXPECT_EQ(f.value_of("a"), "again");
  EXPECT_EQ(f.ts->stats(t->id).item_count, 1);
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 1);
}

// A local delete of a global table's item is a tombstone too, so a remote write older than the
// delete loses; the delete's stream record says REMOVE with this region as origin.
TEST(ReplicationApply, LocalDeleteLeavesTombstone) {
  fixture f;
  auto t = f.make_global_table();
  f.clock = 1000;
  f.local_put("a", "mine");
  f.clock = 2000;
  f.local_delete("a");
  bool tombstone = false;
  ASSERT_TRUE(f.ts->scan_item_records(t->id, "", [&](std::string_view, const item_record& r) {
    tombstone = r.is_tombstone && r.origin_region == "us-west-2";
    return true;
  }));
  EXPECT_TRUE(tombstone);
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("a", "older", 1500, "us-east-1")}, {}, true));
  EXPECT_EQ(f.value_of("a"), std::nullopt);
  auto recs = f.ts->read_stream(t->id, 0, 10).value();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].body.at("event").as_string(), "REMOVE");
  EXPECT_EQ(recs[1].body.at("origin").as_string(), "us-west-2");
}

// Applied changes go to the local stream with the REMOTE origin (so peers pulling only this
// region's own changes never echo them), and the progress commits with them, surviving reopen.
TEST(ReplicationApply, ProgressCommitsWithTheChangeAndSurvivesReopen) {
  fixture f;
  auto t = f.make_global_table();
  EXPECT_EQ(f.ts->progress(t->id, "us-east-1").value(), 0u);
  ASSERT_TRUE(f.ts->apply_remote(
      "G", t->id,
      {fixture::change("a", "1", 100, "us-east-1"), fixture::change("b", "2", 101, "us-east-1")},
      {{"us-east-1", 42}}, true));
  auto recs = f.ts->read_stream(t->id, 0, 10).value();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].body.at("origin").as_string(), "us-east-1");
  EXPECT_EQ(recs[0].body.at("ts").to_number<std::uint64_t>(), 100u);
  f.reopen();
  t = f.table();
  EXPECT_EQ(f.ts->progress(t->id, "us-east-1").value(), 42u);
  EXPECT_EQ(f.value_of("b"), "2");
  EXPECT_EQ(f.ts->stats(t->id).item_count, 2);
}

// A batch whose change is rejected commits nothing: neither the items before it nor the
// progress (all or nothing, so a retry applies each change exactly once).
TEST(ReplicationApply, FailedBatchCommitsNoProgress) {
  fixture f;
  auto t = f.make_global_table();
  storage::remote_change bad;
  bad.timestamp_us = 7;
  bad.origin = "us-east-1";
  bad.item = json::parse(R"({"nokey":{"S":"x"}})").as_object();
  auto r = f.ts->apply_remote("G", t->id, {fixture::change("a", "1", 5, "us-east-1"), bad},
                              {{"us-east-1", 9}}, true);
  EXPECT_FALSE(r);
  EXPECT_EQ(f.ts->progress(t->id, "us-east-1").value(), 0u);
  EXPECT_EQ(f.value_of("a"), std::nullopt);
}

// Repeated keys in one batch see each other (the second change compares with the first).
TEST(ReplicationApply, RepeatedKeysInOneBatch) {
  fixture f;
  auto t = f.make_global_table();
  ASSERT_TRUE(f.ts->apply_remote(
      "G", t->id,
      {fixture::change("a", "1", 10, "us-east-1"), fixture::change("a", "", 11, "us-east-1", true),
       fixture::change("a", "3", 12, "us-east-1"), fixture::change("a", "old", 9, "us-east-1")},
      {}, true));
  EXPECT_EQ(f.value_of("a"), "3");
  EXPECT_EQ(f.ts->stats(t->id).item_count, 1);
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 1);
}

// Hybrid logical clock: a local write after seeing a remote timestamp ahead of the wall clock
// gets a later timestamp, so the causally later local write wins everywhere.
TEST(ReplicationApply, LocalWritesAfterRemoteOnesGetLaterTimestamps) {
  fixture f;
  auto t = f.make_global_table();
  f.clock = 1000;
  ASSERT_TRUE(f.ts->apply_remote("G", t->id, {fixture::change("a", "remote", 5000, "us-east-1")},
                                 {}, true));
  f.local_put("a", "local");
  std::uint64_t ts = 0;
  ASSERT_TRUE(f.ts->scan_item_records(t->id, "", [&](std::string_view, const item_record& r) {
    ts = r.timestamp_us;
    return true;
  }));
  EXPECT_GT(ts, 5000u);
  EXPECT_EQ(f.value_of("a"), "local");
}

// Tombstones older than the cutoff are purged; younger ones and items stay.
TEST(ReplicationApply, PurgesOldTombstones) {
  fixture f;
  auto t = f.make_global_table();
  ASSERT_TRUE(f.ts->apply_remote("G", t->id,
                                 {fixture::change("a", "", 100, "us-east-1", true),
                                  fixture::change("b", "", 900, "us-east-1", true),
                                  fixture::change("c", "x", 100, "us-east-1")},
                                 {}, true));
  EXPECT_EQ(f.ts->purge_tombstones(t->id, 500).value(), 1u);
  std::size_t records = 0;
  ASSERT_TRUE(f.ts->scan_item_records(t->id, "", [&](std::string_view, const item_record&) {
    ++records;
    return true;
  }));
  EXPECT_EQ(records, 2u);
  EXPECT_EQ(f.value_of("c"), "x");
}

// Counter merge (issue 7): a remote increment is added to the local counter whether the remote
// version wins last-writer-wins (its other attributes then win too) or loses (only the counter
// changes); without the tag the losing increment is dropped.
TEST(ReplicationApply, CounterMergeAddsRemoteIncrements) {
  for (bool merge : {true, false}) {
    fixture f;
    auto t = f.make_global_table(merge);
    auto with_likes = [](std::uint64_t ts, const std::string& origin, int likes, int delta,
                         const std::string& v) {
      remote_change c = fixture::change("a", v, ts, origin);
      c.item["likes"] = json::object{{"N", std::to_string(likes)}};
      c.deltas["likes"] = json::object{{"N", std::to_string(delta)}};
      return c;
    };
    // Base: likes 0; then us-east-1 liked twice (its item says 2) at ts 300.
    ASSERT_TRUE(
        f.ts->apply_remote("G", t->id, {with_likes(100, "eu-west-1", 0, 0, "base")}, {}, true));
    ASSERT_TRUE(
        f.ts->apply_remote("G", t->id, {with_likes(300, "us-east-1", 2, 2, "east")}, {}, true));
    // eu-west-1 liked once concurrently, earlier (ts 200): loses LWW, its like still counts.
    ASSERT_TRUE(
        f.ts->apply_remote("G", t->id, {with_likes(200, "eu-west-1", 1, 1, "eu")}, {}, true));
    auto tt = f.table();
    json::object key{{"h", json::object{{"S", "a"}}}};
    auto item = f.ts->get_item(*tt, primary_key_bytes(key, tt->keys)).value().value();
    EXPECT_EQ(item.at("v").at("S").as_string(), "east");
    EXPECT_EQ(item.at("likes").at("N").as_string(), merge ? "3" : "2");
    // The merged-in increment is in the local stream with its remote origin (never echoed).
    auto recs = f.ts->read_stream(t->id, 0, 10).value();
    ASSERT_EQ(recs.size(), merge ? 3u : 2u);
    EXPECT_EQ(recs.back().body.at("origin").as_string(), merge ? "eu-west-1" : "us-east-1");
  }
}

// --- snapshot pages (back-fill and re-sync) ---

table_store::snapshot_item page_item(const table_info& t, const std::string& h,
                                     const std::string& v, std::uint64_t ts,
                                     const std::string& origin, bool del = false) {
  item_record r;
  r.timestamp_us = ts;
  r.origin_region = origin;
  r.is_tombstone = del;
  r.item = del ? json::parse(R"({"h":{"S":")" + h + R"("}})").as_object() : fixture::item(h, v);
  std::string pk = primary_key_bytes(r.item, t.keys);
  static std::deque<std::string> raws;  // snapshot_item::raw points into storage kept alive
  raws.push_back(encode_item_record(r));
  return {std::move(pk), std::move(r), raws.back()};
}

// A page into an empty replica writes every item with its index entries and stats, stored as
// the source stored it (origin and timestamp kept); tombstones stay tombstones.
TEST(SnapshotPage, FillsAnEmptyReplica) {
  fixture f;
  auto t = f.make_global_table();
  std::vector<table_store::snapshot_item> page{page_item(*t, "a", "1", 100, "us-east-1"),
                                               page_item(*t, "b", "2", 110, "us-east-1"),
                                               page_item(*t, "c", "", 120, "us-east-1", true)};
  table_store::snapshot_page_options o;
  o.bulk = true;
  auto s = f.ts->apply_snapshot_page("G", t->id, page, o);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->applied, 3u);
  EXPECT_EQ(f.value_of("a"), "1");
  EXPECT_EQ(f.value_of("b"), "2");
  EXPECT_EQ(f.value_of("c"), std::nullopt);
  EXPECT_EQ(f.ts->stats(t->id).item_count, 2);
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 2);
  // The tombstone is kept: an older write of c cannot resurrect it.
  auto late =
      f.ts->apply_remote("G", t->id, {fixture::change("c", "x", 115, "eu-west-1")}, {}, true);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->superseded, 1u);
  EXPECT_EQ(f.value_of("c"), std::nullopt);
}

// Over existing data (a back-fill restarted after a crash, a re-sync), each item is compared
// with the local version: the later write wins, applying the same page twice changes nothing.
TEST(SnapshotPage, LastWriterWinsAgainstLocalItemsAndIsIdempotent) {
  fixture f;
  auto t = f.make_global_table();
  f.clock = 500;
  f.local_put("a", "local-new");  // ts 500, origin us-west-2
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("b", "old", 100, "us-east-1")}, {}, true));
  std::vector<table_store::snapshot_item> page{page_item(*t, "a", "peer-old", 400, "us-east-1"),
                                               page_item(*t, "b", "peer-new", 300, "us-east-1")};
  table_store::snapshot_page_options o;
  auto s = f.ts->apply_snapshot_page("G", t->id, page, o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->applied, 1u);
  EXPECT_EQ(s->superseded, 1u);
  EXPECT_EQ(f.value_of("a"), "local-new");
  EXPECT_EQ(f.value_of("b"), "peer-new");
  auto again = f.ts->apply_snapshot_page("G", t->id, page, o);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->applied, 0u);
  EXPECT_EQ(f.ts->stats(t->id).item_count, 2);
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 2);
}

// Re-sync reconciliation: local items of the page's key range that the page lacks are offered
// to the decider (only those in (after, through]); the ones it picks are removed with their
// index entries, the others stay. Items outside the range are never offered.
TEST(SnapshotPage, RemovesAbsentItemsTheDeciderPicks) {
  fixture f;
  auto t = f.make_global_table();
  for (const char* h : {"a", "b", "c", "d", "e"})
    ASSERT_TRUE(
        f.ts->apply_remote("G", t->id, {fixture::change(h, "v", 100, "us-east-1")}, {}, true));
  f.clock = 200;
  f.local_put("x", "mine");
  auto pk = [&](const std::string& h) {
    return primary_key_bytes(json::object{{"h", json::object{{"S", h}}}}, t->keys);
  };
  // Key order is the encoded order; take the range around "c" from the actual encodings.
  std::vector<std::string> keys;
  for (const char* h : {"a", "b", "c", "d", "e", "x"}) keys.push_back(pk(h));
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> offered;
  table_store::absent_decider decide = [&](std::string_view k, const item_record& local) {
    offered.emplace_back(k);
    return local.origin_region == "us-east-1";  // the peer wrote it and no longer has it
  };
  // The whole table in one page holding only "c".
  std::vector<table_store::snapshot_item> page{page_item(*t, "c", "v", 100, "us-east-1")};
  table_store::snapshot_page_options o;
  o.remove_absent = &decide;
  auto s = f.ts->apply_snapshot_page("G", t->id, page, o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->removed, 4u);
  EXPECT_EQ(offered.size(), 5u);  // a, b, d, e, x — not c
  for (const char* h : {"a", "b", "d", "e"}) EXPECT_EQ(f.value_of(h), std::nullopt) << h;
  EXPECT_EQ(f.value_of("c"), "v");
  EXPECT_EQ(f.value_of("x"), "mine");
  EXPECT_EQ(f.ts->stats(t->id).item_count, 2);
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 2);
  // A bounded range: (keys[0], keys[1]] offers nothing else.
  offered.clear();
  o.after = keys[0];
  o.through = keys[1];
  ASSERT_TRUE(f.ts->apply_snapshot_page("G", t->id, {}, o));
  for (const auto& k : offered) {
    EXPECT_GT(k, keys[0]);
    EXPECT_LE(k, keys[1]);
  }
}

// In a re-sync, a page item written by this region that the replica holds no record of is
// skipped (this region deleted it and purged the tombstone); a back-fill applies it.
TEST(SnapshotPage, ResyncSkipsOwnWritesThisReplicaNoLongerHolds) {
  fixture f;
  auto t = f.make_global_table();
  std::vector<table_store::snapshot_item> page{page_item(*t, "gone", "v", 100, "us-west-2"),
                                               page_item(*t, "new", "v", 100, "us-east-1")};
  table_store::snapshot_page_options o;
  o.skip_own_missing = true;
  auto s = f.ts->apply_snapshot_page("G", t->id, page, o);
  ASSERT_TRUE(s);
  EXPECT_EQ(f.value_of("gone"), std::nullopt);
  EXPECT_EQ(f.value_of("new"), "v");
  o.skip_own_missing = false;
  ASSERT_TRUE(f.ts->apply_snapshot_page("G", t->id, page, o));
  EXPECT_EQ(f.value_of("gone"), "v");
}

// The keys of this region's own writes past a peer's progress: remote changes applied here
// are not among them; a trimmed stream gives "unknown".
TEST(SnapshotPage, LocalWriteKeysListsOwnUnpulledWrites) {
  fixture f;
  auto t = f.make_global_table();
  f.local_put("a", "1");  // seq 1
  ASSERT_TRUE(
      f.ts->apply_remote("G", t->id, {fixture::change("r", "v", 100, "us-east-1")}, {}, true));
  f.local_put("b", "1");  // seq 3
  auto pk = [&](const std::string& h) {
    return primary_key_bytes(json::object{{"h", json::object{{"S", h}}}}, t->keys);
  };
  std::set<std::string> keys;
  auto r = f.ts->local_write_keys(*t, 1, keys);
  ASSERT_TRUE(r);
  ASSERT_TRUE(*r);
  EXPECT_EQ(**r, 3u);
  EXPECT_EQ(keys, std::set<std::string>{pk("b")});
  keys.clear();
  ASSERT_TRUE(f.ts->local_write_keys(*t, 0, keys).value());
  EXPECT_EQ(keys, (std::set<std::string>{pk("a"), pk("b")}));
  f.clock = 10'000'000;
  ASSERT_TRUE(f.ts->trim_stream(t->id, 5'000'000));
  auto trimmed = f.ts->local_write_keys(*t, 0, keys);
  ASSERT_TRUE(trimmed);
  EXPECT_FALSE(*trimmed);
}

// Stream records are stored as a binary header and the JSON texts of their parts (keys.h);
// the codec gives back what it was given and refuses cut or stray bytes.
TEST(StreamRecordCodec, RoundTripsAndRejectsCutBytes) {
  stream_record_view v{.sequence = 12,
                       .timestamp_us = 34,
                       .origin = "us-east-1",
                       .label = "2026-11-29T00:00:00.000",
                       .event = "MODIFY",
                       .keys = R"({"h":{"S":"a"}})",
                       .old_item = R"({"h":{"S":"a"},"v":{"S":"1"}})",
                       .new_item = R"({"h":{"S":"a"},"v":{"S":"2"}})",
                       .deltas = ""};
  std::string bytes = encode_stream_record(v);
  auto d = decode_stream_record(bytes);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sequence, 12u);
  EXPECT_EQ(d->timestamp_us, 34u);
  EXPECT_EQ(d->origin, v.origin);
  EXPECT_EQ(d->label, v.label);
  EXPECT_EQ(d->event, "MODIFY");
  EXPECT_EQ(d->keys, v.keys);
  EXPECT_EQ(d->old_item, v.old_item);
  EXPECT_EQ(d->new_item, v.new_item);
  EXPECT_TRUE(d->deltas.empty());
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_stream_record(bytes.substr(0, n))) << "cut at " << n;
  EXPECT_FALSE(decode_stream_record(bytes + "x"));
  EXPECT_FALSE(decode_stream_record(R"({"seq":1})"));
}

// Stream records written before the binary format (JSON text) stay readable, parsed and raw.
TEST(ReplicationApply, LegacyJsonStreamRecordsStayReadable) {
  fixture f;
  auto t = f.make_global_table();
  {
    write_batch b;
    b.put(stream_key(t->id, 1),
          R"({"seq":1,"ts":77,"origin":"us-west-2","label":"L","event":"INSERT",)"
          R"("keys":{"h":{"S":"a"}},"new":{"h":{"S":"a"},"v":{"S":"x"}}})");
    ASSERT_TRUE(f.ts->db().write(b));
  }
  f.reopen();  // the stream's last sequence number is loaded from the store
  t = f.table();
  auto recs = f.ts->read_stream(t->id, 0, 10).value();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].body.at("new").at("v").at("S").as_string(), "x");
  f.local_put("a", "y");  // a binary record after it (the item itself is new)
  std::vector<std::string> seen;
  auto last = f.ts->read_stream_raw(
      t->id, 0, 10, std::numeric_limits<std::uint64_t>::max(), [&](const stream_record_view& r) {
        seen.push_back(std::string(r.event) + " " + std::string(r.origin) + " " +
                       std::string(r.new_item));
      });
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, 2u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], R"(INSERT us-west-2 {"h":{"S":"a"},"v":{"S":"x"}})");
  EXPECT_EQ(seen[1].substr(0, 17), "INSERT us-west-2 ");
  recs = f.ts->read_stream(t->id, 0, 10).value();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].body.at("seq").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(recs[1].body.at("new").at("v").at("S").as_string(), "y");
}

// A pulled change's item text is stored as the origin wrote it, and the local stream record of
// the apply carries the previous version and this one (old and new images).
TEST(ReplicationApply, StoresThePulledItemTextAndBothImages) {
  fixture f;
  auto t = f.make_global_table();
  f.local_put("a", "mine");
  auto c = fixture::change("a", "theirs", 5000, "us-east-1");
  std::string text = R"({"h":{"S":"a"},"v":{"S":"theirs"},"color":{"S":"red"}})";
  c.item_json = text;
  ASSERT_TRUE(f.ts->apply_remote("G", t->id, {c}, {{"us-east-1", 3}}, true));
  EXPECT_EQ(f.value_of("a"), "theirs");
  json::object key{{"h", json::object{{"S", "a"}}}};
  auto raw = f.ts->db().get(item_key(t->id, primary_key_bytes(key, t->keys))).value();
  ASSERT_TRUE(raw);
  bool tombstone = true;
  EXPECT_EQ(item_record_json(*raw, tombstone), std::optional<std::string_view>(text));
  EXPECT_FALSE(tombstone);
  auto recs = f.ts->read_stream(t->id, 0, 10).value();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].body.at("event").as_string(), "MODIFY");
  EXPECT_EQ(recs[1].body.at("origin").as_string(), "us-east-1");
  EXPECT_EQ(recs[1].body.at("old").at("v").at("S").as_string(), "mine");
  EXPECT_EQ(recs[1].body.at("new").at("v").at("S").as_string(), "theirs");
  // The index entry follows the item.
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 1);
}

}  // namespace
}  // namespace mysfits::table::storage
