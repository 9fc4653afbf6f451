// Unit tests of table_store's index back-fill (table_store.h, "Index back-fill"): a GSI added by
// modify_table is indexed in pages while item writes go on, resumes from its persisted progress
// after a reopen, and leaves nothing behind when its index or table is deleted meanwhile. Every
// test ends by comparing the index with what indexing every item at once gives.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "storage/keys.h"
#include "storage/table_store.h"
#include "test/temp_store.h"
#include "types/attribute_value.h"

namespace mysfits::table::storage {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct fixture : testing::temp_store {
  std::size_t page_items;
  std::chrono::milliseconds page_delay;
  explicit fixture(std::size_t page = 3, std::chrono::milliseconds delay = 0ms)
      : temp_store("mysfits-backfill-test-"), page_items(page), page_delay(delay) {
    reopen();
  }
  void reopen() {
    auto o = options();
    o.backfill_page_items = page_items;
    o.backfill_page_delay = page_delay;
    o.backfill_retry_delay = 50ms;
    open(std::move(o));
  }
  std::shared_ptr<const table_info> table() { return ts->tables().find("T"); }
  std::shared_ptr<const table_info> make_table() {
    table_info t = testing::hash_range_table();
    t.next_index_id = 1;
    return ts->tables().create(std::move(t)).value();
  }
  // Adds two GSIs through modify_table: ByShape (hash shape, ALL) and ByColor (hash color,
  // range h, INCLUDE p).
  std::shared_ptr<const table_info> add_indexes() {
    return ts
        ->modify_table("T",
                       [](table_info& t) {
                         index_info a;
                         a.name = "ByShape";
                         a.id = t.next_index_id++;
                         a.keys.hash_name = "shape";
                         a.keys.hash_type = key_type::s;
                         t.indexes.push_back(a);
                         index_info b;
                         b.name = "ByColor";
                         b.id = t.next_index_id++;
                         b.keys.hash_name = "color";
                         b.keys.hash_type = key_type::s;
                         b.keys.range_name = "h";
                         b.keys.range_type = key_type::s;
                         b.projection = projection_type::include;
                         b.non_key_attributes = {"p"};
                         t.indexes.push_back(b);
                         return true;
                       })
        .value();
  }
  static json::object item(const std::string& h, int r, std::mt19937& rng) {
    static const char* shapes[] = {"round", "square", ""};
    static const char* colors[] = {"red", "green", "blue", ""};
    json::object o{{"h", json::object{{"S", h}}},
                   {"r", json::object{{"N", std::to_string(r)}}},
                   {"p", json::object{{"N", std::to_string(rng() % 1000)}}}};
    std::string shape = shapes[rng() % 3];
    std::string color = colors[rng() % 4];
    if (!shape.empty()) o["shape"] = json::object{{"S", shape}};
    if (!color.empty()) o["color"] = json::object{{"S", color}};
    // A few items carry a shape of the wrong type: not in that index.
    if (rng() % 10 == 0) o["shape"] = json::object{{"N", "7"}};
    return o;
  }
  void put(const json::object& item) {
    auto t = table();
    ASSERT_TRUE(ts->write_item(*t, primary_key_bytes(item, t->keys), [&](const json::object*) {
      return write_decision{write_decision::action::put, item};
    }));
  }
  // Every entry of index `i` (key → stored item) and its counters, as stored.
  struct index_image {
    std::map<std::string, json::object> entries;
    std::int64_t count = 0;
    std::int64_t bytes = 0;
  };
  index_image stored(const table_info& t, const index_info& i) {
    index_image im;
    EXPECT_TRUE(ts->db().scan(index_begin(t.id, i.id), index_end(t.id, i.id), false,
                              [&](std::string_view k, std::string_view v) {
                                auto rec = decode_item_record(v);
                                EXPECT_TRUE(rec);
                                if (rec) im.entries.emplace(std::string(k), rec->item);
                                return true;
                              }));
    auto s = ts->index_stats(t.id, i.id);
    im.count = s.item_count;
    im.bytes = s.size_bytes;
    return im;
  }
  // The same computed from the table's items: what indexing every item at once gives.
  index_image expected(const table_info& t, const index_info& i) {
    index_image im;
    EXPECT_TRUE(ts->scan_items(t, "", "", false, [&](std::string_view pk, json::object& item) {
      auto ikey = index_key_bytes(item, i.keys);
      if (!ikey) return true;
      auto p = project_for_index(item, t, i);
      im.count += 1;
      im.bytes += static_cast<std::int64_t>(item_size(p));
      im.entries.emplace(index_key(t.id, i.id, *ikey, pk), std::move(p));
      return true;
    }));
    return im;
  }
  // The index is ACTIVE, exact (entries and counters) and without back-fill progress left.
  void expect_complete(const std::string& index_name) {
    auto t = table();
    ASSERT_TRUE(t);
    const auto* i = t->find_index(index_name);
    ASSERT_TRUE(i);
    EXPECT_FALSE(i->backfilling) << index_name;
    auto got = stored(*t, *i);
    auto want = expected(*t, *i);
    EXPECT_EQ(got.entries.size(), want.entries.size()) << index_name;
    EXPECT_TRUE(got.entries == want.entries) << index_name;
    EXPECT_EQ(got.count, want.count) << index_name;
    EXPECT_EQ(got.bytes, want.bytes) << index_name;
    EXPECT_GT(want.count, 0) << index_name;  // the premise: the index is not trivially empty
    EXPECT_FALSE(ts->db().get(backfill_key(t->id, i->id)).value()) << index_name;
  }
  // Keys under [begin, end) in the store.
  std::size_t keys_in(const std::string& begin, const std::string& end) {
    std::size_t n = 0;
    EXPECT_TRUE(ts->db().scan(begin, end, false, [&](std::string_view, std::string_view) {
      ++n;
      return true;
    }));
    return n;
  }
};

std::string hash_of(int n) { return "k" + std::to_string(n); }

// A new index is CREATING (backfilling) until its pages have covered every item; a write below
// the back-fill's progress is indexed at once, one beyond it is left to the pages.
TEST(IndexBackfill, PagesIndexExistingItemsAndWritesBelowTheProgress) {
  fixture f(4);
  f.make_table();
  std::mt19937 rng(1);
  for (int n = 0; n < 20; ++n) f.put(fixture::item(hash_of(n), 1, rng));
  auto t = f.add_indexes();
  ASSERT_TRUE(t->find_index("ByShape")->backfilling);
  const auto& shape = *t->find_index("ByShape");
  EXPECT_TRUE(f.stored(*t, shape).entries.empty());
  ASSERT_FALSE(f.ts->backfill_page("T", shape.id).value());  // 4 items of 20
  auto done = f.ts->db().get(backfill_key(t->id, shape.id)).value();
  ASSERT_TRUE(done);
  // Items at or below the progress are maintained by writes; beyond it, not yet.
  json::object below{{"h", json::object{{"S", ""}}},
                     {"r", json::object{{"N", "0"}}},
                     {"shape", json::object{{"S", "star"}}}};
  std::string below_pk = primary_key_bytes(below, t->keys);
  json::object beyond{{"h", json::object{{"S", "zzz"}}},
                      {"r", json::object{{"N", "0"}}},
                      {"shape", json::object{{"S", "star"}}}};
  ASSERT_LT(below_pk, *done);
  ASSERT_GT(primary_key_bytes(beyond, t->keys), *done);
  auto before = f.stored(*t, shape).entries.size();
  f.put(below);
  f.put(beyond);
  EXPECT_EQ(f.stored(*t, shape).entries.size(), before + 1);
  ASSERT_TRUE(testing::backfill_index(*f.ts, "T", shape.id));
  ASSERT_TRUE(testing::backfill_index(*f.ts, "T", t->find_index("ByColor")->id));
  f.expect_complete("ByShape");
  f.expect_complete("ByColor");
  // Done: a page of an ACTIVE index does nothing.
  EXPECT_TRUE(f.ts->backfill_page("T", shape.id).value());
}

// Writes, overwrites and deletes (item writes, replicated batches and a replica's snapshot pages)
// run on five threads all through two back-fills of 3-item pages: the finished indexes hold exactly
// the entries and counters that indexing the final items at once gives.
TEST(IndexBackfill, ConcurrentWritesLeaveTheIndexExact) {
  fixture f(3);
  f.make_table();
  std::mt19937 seed_rng(2);
  const int keys = 120;  // hash keys k0..k119, range 1..3: 360 possible items
  for (int n = 0; n < 240; ++n) f.put(fixture::item(hash_of(n % keys), 1 + n / keys, seed_rng));
  auto t = f.add_indexes();
  std::atomic<bool> backfill_started{false};
  std::atomic<bool> backfill_done{false};
  std::atomic<int> ready{0};
  std::atomic<std::int64_t> during{0};
  std::atomic<int> failures{0};
  auto writer = [&](unsigned seed) {
    std::mt19937 rng(seed);
    int ops = 0;
    while (!backfill_done || ops < 200) {
      auto cur = f.table();
      int h = static_cast<int>(rng() % keys);
      int r = 1 + static_cast<int>(rng() % 3);
      json::object it = fixture::item(hash_of(h), r, rng);
      std::string pk = primary_key_bytes(it, cur->keys);
      unsigned op = rng() % 4;
      auto w = f.ts->write_item(*cur, pk, [&](const json::object* old) {
        if (op == 0) return write_decision{write_decision::action::del, {}};
        if (op == 1 && old) {
          // An update: the index keys change or go, the rest stays.
          json::object n = *old;
          if (n.contains("color"))
            n.erase("color");
          else
            n["color"] = json::object{{"S", "blue"}};
          n["shape"] = json::object{{"S", rng() % 2 ? "round" : "oval"}};
          return write_decision{write_decision::action::put, n};
        }
        return write_decision{write_decision::action::put, it};
      });
      if (!w) ++failures;
      if (++ops == 5) ++ready;
      if (backfill_started && !backfill_done) ++during;
    }
  };
  auto replicated = [&](unsigned seed) {
    std::mt19937 rng(seed);
    int ops = 0;
    while (!backfill_done || ops < 50) {
      std::vector<remote_change> changes;
      for (int n = 0; n < 4; ++n) {
        remote_change c;
        c.timestamp_us = f.ts->next_timestamp();
        c.origin = "eu-west-1";
        c.item = fixture::item(hash_of(static_cast<int>(rng() % keys)),
                               1 + static_cast<int>(rng() % 3), rng);
        c.is_delete = rng() % 3 == 0;
        changes.push_back(std::move(c));
      }
      if (!f.ts->apply_remote("T", t->id, changes, {{"eu-west-1", 1}}, false)) ++failures;
      if (++ops == 5) ++ready;
      if (backfill_started && !backfill_done) ++during;
    }
  };
  // A replica's snapshot pages (re-sync), written without the log.
  auto snapshots = [&](unsigned seed) {
    std::mt19937 rng(seed);
    int ops = 0;
    while (!backfill_done || ops < 50) {
      std::map<std::string, item_record> page;
      for (int n = 0; n < 4; ++n) {
        item_record r;
        r.timestamp_us = f.ts->next_timestamp();
        r.origin_region = "eu-west-1";
        r.item = fixture::item(hash_of(static_cast<int>(rng() % keys)),
                               1 + static_cast<int>(rng() % 3), rng);
        page[primary_key_bytes(r.item, t->keys)] = std::move(r);
      }
      std::vector<std::string> raws;
      for (const auto& [pk, r] : page) raws.push_back(encode_item_record(r));
      std::vector<table_store::snapshot_item> items;
      std::size_t k = 0;
      for (const auto& [pk, r] : page) items.push_back({pk, r, raws[k++]});
      table_store::snapshot_page_options o;
      o.through = page.rbegin()->first;  // (start, last]: the local items between are kept
      o.bulk = true;
      if (!f.ts->apply_snapshot_page("T", t->id, items, o)) ++failures;
      if (++ops == 5) ++ready;
      if (backfill_started && !backfill_done) ++during;
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(writer, 11);
  threads.emplace_back(writer, 12);
  threads.emplace_back(writer, 13);
  threads.emplace_back(replicated, 14);
  threads.emplace_back(snapshots, 15);
  while (ready < 5) std::this_thread::yield();
  backfill_started = true;
  std::size_t pages = 0;
  for (bool shape_done = false, color_done = false; !shape_done || !color_done;) {
    for (auto [name, done] : {std::pair{"ByShape", &shape_done}, {"ByColor", &color_done}}) {
      if (*done) continue;
      auto r = f.ts->backfill_page("T", t->find_index(name)->id);
      ASSERT_TRUE(r) << r.error().message;
      *done = *r;
      ++pages;
      std::this_thread::yield();
    }
  }
  backfill_done = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(pages, 100u);  // the premise: many pages, each one a chance to interleave
  EXPECT_GT(during, 0);
  f.expect_complete("ByShape");
  f.expect_complete("ByColor");
}

// A back-fill cut short resumes from its persisted progress after a reopen: the pages already
// committed are not redone, writes below the progress keep being indexed, and the result is
// exact.
TEST(IndexBackfill, ResumesFromPersistedProgressAfterReopen) {
  fixture f(5);
  f.make_table();
  std::mt19937 rng(3);
  for (int n = 0; n < 40; ++n) f.put(fixture::item(hash_of(n), 1, rng));
  auto t = f.add_indexes();
  std::uint32_t shape_id = t->find_index("ByShape")->id;
  for (int n = 0; n < 3; ++n) ASSERT_FALSE(f.ts->backfill_page("T", shape_id).value());
  auto progress = f.ts->db().get(backfill_key(t->id, shape_id)).value();
  ASSERT_TRUE(progress);
  auto partial = f.stored(*t, *t->find_index("ByShape"));
  f.reopen();
  t = f.table();
  ASSERT_TRUE(t->find_index("ByShape")->backfilling);  // still CREATING after the reopen
  EXPECT_TRUE(f.stored(*t, *t->find_index("ByShape")).entries == partial.entries);
  // The reopened store knows the progress: a write below it is indexed at once.
  json::object below{{"h", json::object{{"S", ""}}},
                     {"r", json::object{{"N", "5"}}},
                     {"shape", json::object{{"S", "star"}}}};
  ASSERT_LT(primary_key_bytes(below, t->keys), *progress);
  f.put(below);
  EXPECT_EQ(f.stored(*t, *t->find_index("ByShape")).entries.size(), partial.entries.size() + 1);
  // The next page starts after the progress (the 15 items done are not read again).
  ASSERT_FALSE(f.ts->backfill_page("T", shape_id).value());
  auto next = f.ts->db().get(backfill_key(t->id, shape_id)).value();
  ASSERT_TRUE(next);
  EXPECT_GT(*next, *progress);
  for (int n = 0; n < 10; ++n) f.put(fixture::item(hash_of(n * 4), 2, rng));
  ASSERT_TRUE(testing::backfill_index(*f.ts, "T", shape_id));
  ASSERT_TRUE(testing::backfill_index(*f.ts, "T", t->find_index("ByColor")->id));
  f.expect_complete("ByShape");
  f.expect_complete("ByColor");
  f.reopen();  // ACTIVE is durable
  f.expect_complete("ByShape");
}

// Deleting the index during its back-fill drops its entries, counters and progress at once and
// ends the back-fill; deleting the table does the same for all of its back-fills.
TEST(IndexBackfill, DeletingTheIndexOrTableEndsTheBackfill) {
  fixture f(4);
  f.make_table();
  std::mt19937 rng(4);
  for (int n = 0; n < 30; ++n) f.put(fixture::item(hash_of(n), 1, rng));
  auto t = f.add_indexes();
  auto shape = *t->find_index("ByShape");
  auto color = *t->find_index("ByColor");
  ASSERT_FALSE(f.ts->backfill_page("T", shape.id).value());
  ASSERT_FALSE(f.ts->backfill_page("T", color.id).value());
  ASSERT_GT(f.keys_in(index_begin(t->id, shape.id), index_end(t->id, shape.id)), 0u);
  ASSERT_TRUE(f.ts->modify_table("T", [&](table_info& without) {
    return std::erase_if(without.indexes, [&](const index_info& i) { return i.id == shape.id; }) ==
           1;
  }));
  auto r = f.ts->backfill_page("T", shape.id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
  EXPECT_EQ(f.keys_in(index_begin(t->id, shape.id), index_end(t->id, shape.id)), 0u);
  EXPECT_FALSE(f.ts->db().get(index_stats_key(t->id, shape.id)).value());
  EXPECT_FALSE(f.ts->db().get(backfill_key(t->id, shape.id)).value());
  // The other index goes on, and writes keep working.
  f.put(fixture::item(hash_of(3), 2, rng));
  ASSERT_TRUE(f.ts->backfill_page("T", color.id));
  ASSERT_GT(f.keys_in(backfills_begin(t->id), backfills_end(t->id)), 0u);
  ASSERT_TRUE(f.ts->delete_table("T"));
  r = f.ts->backfill_page("T", color.id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
  EXPECT_EQ(f.keys_in(backfills_begin(t->id), backfills_end(t->id)), 0u);
  EXPECT_EQ(f.keys_in(indexes_begin(t->id), indexes_end(t->id)), 0u);
}

// The background back-filler completes an index added by modify_table; stopped in the middle
// it returns after its page in progress (the back-fill stays CREATING, its progress persisted)
// and resumes at the next start.
TEST(IndexBackfill, BackgroundBackfillStopsBetweenPagesAndResumes) {
  fixture f(5, 20ms);  // 100 items: 20 pages of 5, 20 ms apart
  f.make_table();
  std::mt19937 rng(5);
  for (int n = 0; n < 100; ++n) f.put(fixture::item(hash_of(n), 1, rng));
  f.ts->start_backfills();
  auto t = f.add_indexes();
  auto shape_id = t->find_index("ByShape")->id;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!f.ts->db().get(backfill_key(t->id, shape_id)).value() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  f.ts->stop_backfills();
  t = f.table();
  ASSERT_TRUE(t->find_index("ByShape")->backfilling);
  ASSERT_TRUE(f.ts->db().get(backfill_key(t->id, shape_id)).value());
  f.put(fixture::item(hash_of(1000), 1, rng));
  f.reopen();
  f.ts->start_backfills();
  deadline = std::chrono::steady_clock::now() + 120s;
  auto active = [&] {
    auto cur = f.table();
    return !cur->find_index("ByShape")->backfilling && !cur->find_index("ByColor")->backfilling;
  };
  while (!active() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(active());
  f.expect_complete("ByShape");
  f.expect_complete("ByColor");
}

// The catalog stores the back-filling flag only when set, and a description written before the
// flag existed loads with its indexes ACTIVE.
TEST(IndexBackfill, CatalogFlagRoundTripsAndOldCatalogsLoadActive) {
  table_info t;
  t.name = "T";
  t.keys.hash_name = "h";
  index_info i;
  i.name = "G";
  i.id = 1;
  i.keys.hash_name = "g";
  i.backfilling = true;
  t.indexes.push_back(i);
  auto o = to_json(t);
  EXPECT_TRUE(table_info_from_json(o).value().indexes[0].backfilling);
  auto& io = o["indexes"].as_array()[0].as_object();
  EXPECT_EQ(io.at("backfilling"), json::value(true));
  io.erase("backfilling");  // as an older engine wrote it
  EXPECT_FALSE(table_info_from_json(o).value().indexes[0].backfilling);
  t.indexes[0].backfilling = false;
  EXPECT_FALSE(to_json(t)["indexes"].as_array()[0].as_object().contains("backfilling"));
}

}  // namespace
}  // namespace mysfits::table::storage
