// Unit tests of storage::store (RocksDB wrapper), the key layout and the item record codec.
#include "storage/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "storage/keys.h"

namespace mysfits::table::storage {
namespace {

std::string temp_dir() {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() /
           ("mysfits-store-test-" + std::to_string(rd()) + std::to_string(rd()));
  return p.string();
}

struct temp_store {
  std::string path = temp_dir();
  std::unique_ptr<store> s;
  temp_store() { reopen(); }
  void reopen() {
    s.reset();
    s = store::open({path, false, 8u << 20, {}}).value();
  }
  ~temp_store() {
    s.reset();
    std::filesystem::remove_all(path);
  }
};

// A batch is applied whole, and a reopened store still has it (the WAL is replayed).
TEST(Store, BatchIsAtomicAndSurvivesReopen) {
  temp_store t;
  write_batch b;
  b.put("a", "1");
  b.put("b", "2");
  ASSERT_TRUE(t.s->write(b));
  t.reopen();
  EXPECT_EQ(t.s->get("a").value(), std::optional<std::string>("1"));
  EXPECT_EQ(t.s->get("b").value(), std::optional<std::string>("2"));
  EXPECT_EQ(t.s->get("c").value(), std::nullopt);
}

// Scans visit keys in byte order within bounds, forwards and backwards, and stop on request.
TEST(Store, ScanHonoursBoundsAndDirection) {
  temp_store t;
  write_batch b;
  for (auto k : {"k1", "k2", "k3", "l1"}) b.put(k, k);
  ASSERT_TRUE(t.s->write(b));
  std::vector<std::string> seen;
  ASSERT_TRUE(t.s->scan("k", "l", false, [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return true;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"k1", "k2", "k3"}));
  seen.clear();
  ASSERT_TRUE(t.s->scan("k", "l", true, [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return seen.size() < 2;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"k3", "k2"}));
}

// Counters merge by addition, including negative deltas, across batches and reopen.
TEST(Store, CountersAddUp) {
  temp_store t;
  for (int i = 0; i < 3; ++i) {
    write_batch b;
    b.add_counters("n", 2, 100);
    ASSERT_TRUE(t.s->write(b));
  }
  write_batch b;
  b.add_counters("n", -1, -30);
  ASSERT_TRUE(t.s->write(b));
  t.reopen();
  auto v = t.s->get("n").value();
  ASSERT_TRUE(v);
  EXPECT_EQ(decode_counters(*v), (std::pair<std::int64_t, std::int64_t>{5, 270}));
}

// RocksDB options given as a string apply over the store's own (they are what the database
// records in its OPTIONS file); an unknown name or a bad value is refused with RocksDB's word.
TEST(Store, RocksDbOptionsApplyAndBadOnesAreRefused) {
  std::string path = temp_dir();
  {
    auto s =
        store::open({path, false, 8u << 20, "write_buffer_size=1048576;max_write_buffer_number=3"});
    ASSERT_TRUE(s) << s.error().message;
    write_batch b;
    b.put("k", "v");
    ASSERT_TRUE((*s)->write(b));
    EXPECT_EQ((*s)->get("k").value(), std::optional<std::string>("v"));
  }
  std::string recorded;
  for (const auto& f : std::filesystem::directory_iterator(path)) {
    if (f.path().filename().string().rfind("OPTIONS-", 0) != 0) continue;
    std::ifstream in(f.path());
    recorded.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(recorded.find("write_buffer_size=1048576"), std::string::npos);
  EXPECT_NE(recorded.find("max_write_buffer_number=3"), std::string::npos);
  // The store's own choices for a 2-core machine stay unless overridden.
  EXPECT_NE(recorded.find("allow_concurrent_memtable_write=false"), std::string::npos);
  EXPECT_NE(recorded.find("min_write_buffer_number_to_merge=1"), std::string::npos);
  EXPECT_NE(recorded.find("level_compaction_dynamic_level_bytes=true"), std::string::npos);

  for (std::string bad : {"no_such_option=1", "write_buffer_size=lots", "write_buffer_size"}) {
    auto s = store::open({path, false, 8u << 20, bad});
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, errc::invalid_argument) << bad;
    EXPECT_NE(s.error().message.find("bad RocksDB options"), std::string::npos)
        << s.error().message;
  }
  // A refused option string left the data alone.
  auto s = store::open({path, false, 8u << 20, {}});
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->get("k").value(), std::optional<std::string>("v"));
  s->reset();
  std::filesystem::remove_all(path);
}

// DeleteRange drops exactly the range.
TEST(Store, DeleteRangeDropsOnlyTheRange) {
  temp_store t;
  write_batch b;
  b.put(item_key(1, "x"), "1");
  b.put(item_key(2, "x"), "2");
  ASSERT_TRUE(t.s->write(b));
  write_batch d;
  d.delete_range(items_begin(1), items_end(1));
  ASSERT_TRUE(t.s->write(d));
  EXPECT_FALSE(t.s->get(item_key(1, "x")).value());
  EXPECT_TRUE(t.s->get(item_key(2, "x")).value());
}

// The item record keeps the replication metadata and the item.
TEST(ItemRecord, RoundTrips) {
  item_record r;
  r.timestamp_us = 1234567890123;
  r.origin_region = "us-east-1";
  r.item["k"] = boost::json::object{{"S", "v"}};
  auto back = decode_item_record(encode_item_record(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->timestamp_us, r.timestamp_us);
  EXPECT_EQ(back->origin_region, "us-east-1");
  EXPECT_FALSE(back->is_tombstone);
  EXPECT_EQ(back->item, r.item);
  EXPECT_FALSE(decode_item_record("garbage"));
}

// Table ids order numerically in keys, so one table's items never interleave with another's.
TEST(Keys, TableIdsOrderNumerically) {
  EXPECT_LT(item_key(1, "\xff\xff"), item_key(2, ""));
  EXPECT_LT(item_key(255, "z"), item_key(256, "a"));
  EXPECT_EQ(prefix_end("a\xff"), "b");
}

}  // namespace
}  // namespace mysfits::table::storage
