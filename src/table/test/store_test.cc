// Unit tests of storage::store (RocksDB wrapper), the key layout and the item record codec.
#include "storage/store.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <thread>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "storage/isal_crc.h"
#include "storage/keys.h"
#include "storage/rocksdb_crc32c.h"

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

// The memtable (storage/memtable.h, the project's skiplist) holds what a model map holds: gets,
// whole and bounded scans in both directions, a snapshot's older versions, with writes (puts,
// overwrites, deletes) in random order; then the same after a reopen (the WAL replayed into a new
// memtable) and after a flush (the memtable written to a table file).
TEST(Store, MemtableMatchesAModel) {
  temp_store t;
  std::mt19937 rng(7);
  std::map<std::string, std::string> model;
  auto key = [&] { return "key-" + std::to_string(rng() % 2000); };
  auto write_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      write_batch b;
      for (int j = 0; j < 1 + static_cast<int>(rng() % 3); ++j) {
        std::string k = key();
        if (rng() % 5 == 0) {
          b.del(k);
          model.erase(k);
        } else {
          std::string v = "v" + std::to_string(rng()) + std::string(rng() % 50, 'x');
          b.put(k, v);
          model[k] = v;
        }
      }
      ASSERT_TRUE(t.s->write(b));
    }
  };
  auto check = [&](const std::map<std::string, std::string>& want, const snapshot* snap) {
    for (int i = 0; i < 2000; ++i) {
      std::string k = "key-" + std::to_string(i);
      auto it = want.find(k);
      auto got = t.s->get(k, snap).value();
      if (it == want.end())
        EXPECT_EQ(got, std::nullopt) << k;
      else
        EXPECT_EQ(got, std::optional<std::string>(it->second)) << k;
    }
    for (int round = 0; round < 40; ++round) {
      std::string lo = round == 0 ? "" : key(), hi = round == 0 ? "z" : key();
      if (hi < lo) std::swap(lo, hi);
      for (bool reverse : {false, true}) {
        std::vector<std::pair<std::string, std::string>> seen, expected;
        ASSERT_TRUE(t.s->scan(
            lo, hi, reverse,
            [&](std::string_view k, std::string_view v) {
              seen.emplace_back(k, v);
              return true;
            },
            snap));
        for (auto it = want.lower_bound(lo); it != want.end() && it->first < hi; ++it)
          expected.emplace_back(*it);
        if (reverse) std::reverse(expected.begin(), expected.end());
        EXPECT_EQ(seen, expected) << lo << " .. " << hi << (reverse ? " reverse" : "");
      }
    }
  };
  write_some(3000);
  auto at_snapshot = model;
  auto snap = t.s->take_snapshot();
  write_some(3000);
  check(model, nullptr);
  check(at_snapshot, snap.get());
  snap.reset();
  t.reopen();
  check(model, nullptr);
  write_some(500);
  ASSERT_TRUE(t.s->flush());
  write_some(500);
  check(model, nullptr);
}

// With a comparator other than RocksDB's bytewise one the memtable compares through RocksDB's
// comparator objects (memtable.h): gets of overwritten and deleted keys, now and at a snapshot,
// still find the right version.
TEST(Store, MemtableWithAnotherComparatorFindsTheRightVersions) {
  std::string path = temp_dir();
  {
    auto opened =
        store::open({path, false, 8u << 20, "comparator=rocksdb.ReverseBytewiseComparator"});
    ASSERT_TRUE(opened) << opened.error().message;
    auto& s = **opened;
    std::mt19937 rng(5);
    std::map<std::string, std::string> model;
    std::unique_ptr<snapshot> snap;
    std::map<std::string, std::string> at_snapshot;
    for (int i = 0; i < 4000; ++i) {
      if (i == 2000) {
        snap = s.take_snapshot();
        at_snapshot = model;
      }
      write_batch b;
      std::string k = "key-" + std::to_string(rng() % 500);
      if (rng() % 4 == 0) {
        b.del(k);
        model.erase(k);
      } else {
        b.put(k, std::to_string(i));
        model[k] = std::to_string(i);
      }
      ASSERT_TRUE(s.write(b));
    }
    for (int i = 0; i < 500; ++i) {
      std::string k = "key-" + std::to_string(i);
      for (auto* m : {&model, &at_snapshot}) {
        auto it = m->find(k);
        auto got = s.get(k, m == &model ? nullptr : snap.get()).value();
        EXPECT_EQ(got, it == m->end() ? std::nullopt : std::optional<std::string>(it->second)) << k;
      }
    }
  }
  std::filesystem::remove_all(path);
}

// Readers scan while a writer inserts (the skiplist's readers take no lock): every scan sees its
// keys in order and each value is one that was written for that key.
TEST(Store, MemtableReadersRunBesideTheWriter) {
  temp_store t;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::mt19937 rng(11);
    for (int i = 0; i < 20000; ++i) {
      write_batch b;
      std::string k = "key-" + std::to_string(rng() % 5000);
      b.put(k, k + "=" + std::to_string(i));
      ASSERT_TRUE(t.s->write(b));
    }
    done = true;
  });
  std::vector<std::thread> readers;
  std::atomic<int> scans{0};
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      while (!done) {
        std::string last;
        bool reverse = r == 1;
        ASSERT_TRUE(t.s->scan("key-", "key.", reverse, [&](std::string_view k, std::string_view v) {
          if (!last.empty()) {
            if (reverse)
              EXPECT_LT(k, last);
            else
              EXPECT_GT(k, last);
          }
          EXPECT_EQ(v.substr(0, k.size() + 1), std::string(k) + "=");
          last = k;
          return true;
        }));
        ++scans;
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_GT(scans.load(), 0);
}

// The store uses its own memtable, and RocksDB's when concurrent memtable inserts are turned on
// (which the project's skiplist does not support).
TEST(Store, MemtableIsTheProjectsUnlessConcurrentInsertsAreOn) {
  auto recorded_options = [](const std::string& path) {
    std::string recorded;
    for (const auto& f : std::filesystem::directory_iterator(path)) {
      if (f.path().filename().string().rfind("OPTIONS-", 0) != 0) continue;
      std::ifstream in(f.path());
      recorded.assign(std::istreambuf_iterator<char>(in), {});
    }
    return recorded;
  };
  for (std::string extra : {"", "allow_concurrent_memtable_write=true"}) {
    std::string path = temp_dir();
    {
      auto s = store::open({path, false, 8u << 20, extra});
      ASSERT_TRUE(s) << s.error().message;
      write_batch b;
      b.put("k", "v");
      ASSERT_TRUE((*s)->write(b));
      EXPECT_EQ((*s)->get("k").value(), std::optional<std::string>("v"));
    }
    EXPECT_NE(recorded_options(path).find(extra.empty() ? "memtable_factory=MysfitsSkipListFactory"
                                                        : "memtable_factory=SkipListFactory"),
              std::string::npos)
        << extra;
    std::filesystem::remove_all(path);
  }
}

// Which components of the CPU's extended state are in use (XINUSE: XGETBV with ECX = 1), or
// nullopt on a CPU that cannot tell.
std::optional<std::uint64_t> extended_state_in_use() {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || (c & (1u << 27)) == 0) return std::nullopt;  // OSXSAVE
  if (!__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || (a & (1u << 2)) == 0) return std::nullopt;
  std::uint32_t lo = 0, hi = 0;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1u));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
#else
  return std::nullopt;
#endif
}

// ISA-L's CRCs (storage/isal_crc.h) give zlib's and the reference values, and leave the upper
// halves of the vector registers unused, as the rest of the process (compiled for baseline x86-64)
// needs them to be: ISA-L's AVX-512 kernels return with them dirty, which cost every request
// about a sixth of its server CPU (docs/table.md, "Dirty vector registers"). Where the CPU cannot
// report its state, only the values are checked.
TEST(IsalCrc, GivesTheReferenceValuesAndLeavesTheUpperVectorRegistersUnused) {
  EXPECT_EQ(crc32_gzip("123456789"), 0xCBF43926u);
  const auto* digits = reinterpret_cast<const unsigned char*>("123456789");
  EXPECT_EQ(crc32c_update(0xffffffffu, digits, 9) ^ 0xffffffffu, 0xE3069283u);
  std::mt19937 rng(5);
  std::string data(4096, '\0');
  for (auto& ch : data) ch = static_cast<char>(rng());
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  EXPECT_EQ(crc32_gzip(data), crc32(0L, bytes, static_cast<uInt>(data.size())));
  // The upper halves of ymm0-15 (component 2, AVX) and of zmm0-15 (component 6, ZMM_Hi256).
  constexpr std::uint64_t upper_halves = (1u << 2) | (1u << 6);
  (void)crc32_gzip(data);
  auto after_crc32 = extended_state_in_use();
  (void)crc32c_update(0, bytes, data.size());
  auto after_crc32c = extended_state_in_use();
  if (after_crc32 && after_crc32c) {
    EXPECT_EQ(*after_crc32 & upper_halves, 0u);
    EXPECT_EQ(*after_crc32c & upper_halves, 0u);
  }
}

// RocksDB's CRC-32C (storage/rocksdb_crc32c.h) gives the bitwise reference's bits, for any
// length and alignment, and combines two checksums as the checksum of the concatenation; and
// RocksDB itself uses it (its LOG says which one it has).
TEST(RocksDbCrc32c, MatchesTheBitwiseReferenceAndIsTheOneRocksDbUses) {
  auto reference = [](std::uint32_t crc, const char* p, std::size_t n) {
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) {
      crc ^= static_cast<unsigned char>(p[i]);
      for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  EXPECT_EQ(rocksdb::crc32c::Extend(0, "123456789", 9), 0xE3069283u);
  std::mt19937 rng(3);
  std::string data(70000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (std::size_t n : {0u, 1u, 7u, 8u, 63u, 64u, 65u, 200u, 4096u, 32768u, 40000u, 69990u}) {
    std::size_t off = rng() % 8;
    std::uint32_t init = rng() % 2 ? 0 : rng();
    EXPECT_EQ(rocksdb::crc32c::Extend(init, data.data() + off, n),
              reference(init, data.data() + off, n))
        << n;
    std::size_t split = n ? rng() % n : 0;
    std::uint32_t a = rocksdb::crc32c::Extend(0, data.data() + off, split);
    std::uint32_t b = rocksdb::crc32c::Extend(0, data.data() + off + split, n - split);
    EXPECT_EQ(rocksdb::crc32c::Crc32cCombine(a, b, n - split), reference(0, data.data() + off, n))
        << n << " split at " << split;
  }
  temp_store t;
  std::ifstream log(std::filesystem::path(t.path) / "LOG");
  std::string text(std::istreambuf_iterator<char>(log), {});
  EXPECT_NE(text.find("Fast CRC32 supported: " + rocksdb_crc32c_kind()), std::string::npos);
  EXPECT_NE(rocksdb_crc32c_kind().find("ISA-L"), std::string::npos);
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
