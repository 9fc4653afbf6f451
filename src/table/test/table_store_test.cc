// Unit tests of storage::table_store: item writes with index maintenance, stats, streams,
// ordering and durability across reopen.
#include "storage/table_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "storage/keys.h"
#include "test/temp_store.h"

namespace mysfits::table::storage {
namespace {

namespace json = boost::json;

struct fixture : testing::temp_store {
  std::uint64_t clock = 1000;
  std::string rocksdb_options;
  explicit fixture(std::string options = {})
      : temp_store("mysfits-ts-test-"), rocksdb_options(std::move(options)) {
    reopen();
  }
  void reopen() {
    auto o = options();
    o.store.rocksdb_options = rocksdb_options;
    o.clock_us = [this] { return ++clock; };
    open(std::move(o));
  }
  std::shared_ptr<const table_info> make_table(bool with_stream = false) {
    table_info t = testing::hash_range_table();
    index_info g;
    g.name = "ByColor";
    g.id = 1;
    g.keys.hash_name = "color";
    g.keys.hash_type = key_type::s;
    g.projection = projection_type::keys_only;
    t.indexes.push_back(g);
    t.next_index_id = 2;
    t.stream_enabled = with_stream;
    return ts->tables().create(std::move(t)).value();
  }
  void put(const table_info& t, const std::string& item_json) {
    json::object item = json::parse(item_json).as_object();
    std::string pk = primary_key_bytes(item, t.keys);
    ASSERT_TRUE(ts->write_item(t, pk, [&](const json::object*) {
      return write_decision{write_decision::action::put, item};
    }));
  }
  std::vector<std::string> index_hashes(const table_info& t) {
    std::vector<std::string> out;
    EXPECT_TRUE(
        ts->scan_index(t, t.indexes[0], "", "", false, [&](std::string_view, json::object& i) {
          out.emplace_back(i.at("h").at("S").as_string());
          return true;
        }));
    return out;
  }
};

// Items come back in DynamoDB order: by hash key, then numerically by range key.
TEST(TableStore, ScanOrdersByKeyWithNumbersNumerically) {
  fixture f;
  auto t = f.make_table();
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"10"}})");
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"9"}})");
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"-1.5"}})");
  std::vector<std::string> ranges;
  ASSERT_TRUE(f.ts->scan_items(*t, "", "", false, [&](std::string_view, json::object& i) {
    ranges.emplace_back(i.at("r").at("N").as_string());
    return true;
  }));
  EXPECT_EQ(ranges, (std::vector<std::string>{"-1.5", "9", "10"}));
}

// Index entries follow the item: added, moved when the index key changes, removed on delete,
// and only the projected attributes are stored (KEYS_ONLY).
TEST(TableStore, IndexEntriesFollowTheItem) {
  fixture f;
  auto t = f.make_table();
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"},"color":{"S":"red"},"size":{"N":"3"}})");
  f.put(*t, R"({"h":{"S":"b"},"r":{"N":"1"}})");  // no index key: not in the index
  EXPECT_EQ(f.index_hashes(*t), (std::vector<std::string>{"a"}));
  json::object projected;
  ASSERT_TRUE(
      f.ts->scan_index(*t, t->indexes[0], "", "", false, [&](std::string_view, json::object& i) {
        projected = i;
        return false;
      }));
  EXPECT_FALSE(projected.contains("size"));
  EXPECT_TRUE(projected.contains("color"));
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"},"color":{"S":"blue"}})");
  EXPECT_EQ(f.index_hashes(*t), (std::vector<std::string>{"a"}));
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 1);
  json::object key = json::parse(R"({"h":{"S":"a"},"r":{"N":"1"}})").as_object();
  ASSERT_TRUE(f.ts->write_item(*t, primary_key_bytes(key, t->keys), [](const json::object* old) {
    EXPECT_NE(old, nullptr);
    return write_decision{write_decision::action::del, {}};
  }));
  EXPECT_TRUE(f.index_hashes(*t).empty());
  EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, 0);
}

// With a tiny write buffer the memtable is flushed and compacted many times while items move
// between index keys: the index still holds exactly one entry per item, under its current key,
// forward and backward, and after a reopen (flushes drop the entries' older versions, and
// compactions merge the files that hold them).
TEST(TableStore, IndexStaysExactThroughFlushesAndCompactions) {
  fixture f("write_buffer_size=65536;level0_file_num_compaction_trigger=2");
  auto t = f.make_table();
  const std::vector<std::string> colors = {"red", "green", "blue", "none"};
  std::map<std::string, std::string> model;  // hash key -> color ("none": no index key)
  std::mt19937 rng(7);
  const std::string payload(300, 'x');
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 150; ++i) {
      std::string h = "item-" + std::to_string(i);
      std::string color = colors[rng() % colors.size()];
      model[h] = color;
      std::string attr = color == "none" ? "" : R"(,"color":{"S":")" + color + R"("})";
      f.put(*t, R"({"h":{"S":")" + h + R"("},"r":{"N":"1"},"p":{"S":")" + payload + R"("})" + attr +
                    "}");
    }
  }
  auto check = [&] {
    for (const auto& color : colors) {
      if (color == "none") continue;
      std::vector<std::string> expected;
      for (const auto& [h, c] : model)
        if (c == color) expected.push_back(h);
      std::string lo = key_part_bytes(json::value{{"S", color}});
      for (bool reverse : {false, true}) {
        std::vector<std::string> got;
        ASSERT_TRUE(f.ts->scan_index(*t, t->indexes[0], lo, prefix_end(lo), reverse,
                                     [&](std::string_view, json::object& i) {
                                       EXPECT_EQ(i.at("color").at("S").as_string(), color);
                                       got.emplace_back(i.at("h").at("S").as_string());
                                       return true;
                                     }));
        std::sort(got.begin(), got.end());
        EXPECT_EQ(got, expected) << color << (reverse ? " backward" : " forward");
      }
    }
    std::size_t indexed = 0;
    for (const auto& [h, c] : model) indexed += c != "none";
    EXPECT_EQ(f.index_hashes(*t).size(), indexed);
    EXPECT_EQ(f.ts->index_stats(t->id, 1).item_count, static_cast<std::int64_t>(indexed));
  };
  check();
  // The premise: the writes went through flushes into table files.
  int tables = 0;
  for (const auto& e : std::filesystem::directory_iterator(f.path))
    tables += e.path().extension() == ".sst";
  EXPECT_GT(tables, 0);
  f.reopen();
  check();
}

// A decider that throws writes nothing (a failed condition leaves the item as it was).
TEST(TableStore, ThrowingDeciderWritesNothing) {
  fixture f;
  auto t = f.make_table();
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"},"v":{"S":"old"}})");
  json::object key = json::parse(R"({"h":{"S":"a"},"r":{"N":"1"}})").as_object();
  EXPECT_THROW((void)f.ts->write_item(*t, primary_key_bytes(key, t->keys),
                                      [](const json::object*) -> write_decision {
                                        throw std::runtime_error("condition failed");
                                      }),
               std::runtime_error);
  auto got = f.ts->get_item(*t, primary_key_bytes(key, t->keys)).value();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->at("v").at("S").as_string(), "old");
}

// Items, stats, index entries and stream sequence survive closing and reopening the store.
TEST(TableStore, ReopenKeepsItemsStatsAndStreamSequence) {
  fixture f;
  auto t = f.make_table(true);
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"},"color":{"S":"red"}})");
  f.put(*t, R"({"h":{"S":"b"},"r":{"N":"2"}})");
  auto before = f.ts->stats(t->id);
  f.reopen();
  auto t2 = f.ts->tables().find("T");
  ASSERT_TRUE(t2);
  auto after = f.ts->stats(t2->id);
  EXPECT_EQ(after.item_count, 2);
  EXPECT_EQ(after.size_bytes, before.size_bytes);
  EXPECT_EQ(after.stream_sequence, 2);
  EXPECT_EQ(f.index_hashes(*t2), (std::vector<std::string>{"a"}));
}

// Stream records read back in order with their events and images; trimming drops only the
// records older than the cutoff.
TEST(TableStore, StreamReadsInOrderAndTrimsByAge) {
  fixture f;
  auto t = f.make_table(true);
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"}})");
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"},"x":{"S":"y"}})");
  f.put(*t, R"({"h":{"S":"b"},"r":{"N":"2"}})");
  EXPECT_EQ(f.ts->stream_readable_through(t->id), 3u);
  auto all = f.ts->read_stream(t->id, 0, 100).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sequence, 1u);
  EXPECT_EQ(all[0].body.at("event").as_string(), "INSERT");
  EXPECT_EQ(all[1].body.at("event").as_string(), "MODIFY");
  EXPECT_EQ(all[1].body.at("new").as_object().at("x").at("S").as_string(), "y");
  EXPECT_FALSE(all[1].body.at("old").as_object().contains("x"));
  auto page = f.ts->read_stream(t->id, 1, 1).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].sequence, 2u);
  EXPECT_TRUE(f.ts->read_stream(t->id, 3, 10).value().empty());

  std::uint64_t cutoff = all[2].body.at("ts").to_number<std::uint64_t>();
  EXPECT_EQ(f.ts->trim_stream(t->id, cutoff).value(), 2u);
  EXPECT_EQ(f.ts->stream_first_sequence(t->id).value(), 3u);
  auto rest = f.ts->read_stream(t->id, 0, 100).value();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].sequence, 3u);
}

// Back-filling a new index indexes the items already in the table.
TEST(TableStore, BackfillIndexesExistingItems) {
  fixture f;
  auto t = f.make_table();
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"},"shape":{"S":"round"}})");
  f.put(*t, R"({"h":{"S":"b"},"r":{"N":"1"}})");
  index_info g;
  auto updated = f.ts->modify_table("T",
                                    [&](table_info& copy) {
                                      g.name = "ByShape";
                                      g.id = copy.next_index_id++;
                                      g.keys.hash_name = "shape";
                                      copy.indexes.push_back(g);
                                      return true;
                                    })
                     .value();
  ASSERT_TRUE(updated->indexes[1].backfilling);
  ASSERT_TRUE(testing::backfill_index(*f.ts, "T", g.id));
  updated = f.ts->tables().find("T");
  EXPECT_FALSE(updated->indexes[1].backfilling);
  int n = 0;
  ASSERT_TRUE(f.ts->scan_index(*updated, updated->indexes[1], "", "", false,
                               [&](std::string_view, json::object& i) {
                                 EXPECT_EQ(i.at("h").at("S").as_string(), "a");
                                 ++n;
                                 return true;
                               }));
  EXPECT_EQ(n, 1);
}

// A deleted table's items are gone, and writes to it report not_found.
TEST(TableStore, DeletedTableRejectsWrites) {
  fixture f;
  auto t = f.make_table();
  f.put(*t, R"({"h":{"S":"a"},"r":{"N":"1"}})");
  ASSERT_TRUE(f.ts->delete_table("T"));
  json::object item = json::parse(R"({"h":{"S":"a"},"r":{"N":"2"}})").as_object();
  auto r = f.ts->write_item(*t, primary_key_bytes(item, t->keys), [&](const json::object*) {
    return write_decision{write_decision::action::put, item};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
}

// Description changes made at the same time from several threads (a client's UpdateTable or
// TagResource, the replicator's replica changes, a replicated description with a snapshot's
// progress) are all kept: each edits the description as the change before it left it. A change
// that throws stores nothing, and one that answers false changes nothing. A table that is not
// there is not_found.
TEST(TableStore, ConcurrentDescriptionChangesAreAllKept) {
  fixture f;
  auto t = f.make_table();
  constexpr int per_thread = 60;
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w)
    threads.emplace_back([&, w] {
      for (int n = 0; n < per_thread; ++n) {
        std::string key = std::to_string(w) + "-" + std::to_string(n);
        if (w == 2) {
          // As the replicator commits a snapshot's progress with a description change.
          auto r = f.ts->apply_remote("T", t->id, {}, {}, false, [&](table_info& d) {
            d.extra[key] = n;
            return true;
          });
          EXPECT_TRUE(r) << r.error().message;
        } else {
          auto r = f.ts->modify_table("T", [&](table_info& d) {
            d.tags.emplace_back(key, "v");
            return true;
          });
          EXPECT_TRUE(r) << r.error().message;
        }
      }
    });
  for (auto& th : threads) th.join();
  auto check = [&](const table_info& d) {
    EXPECT_EQ(d.tags.size(), 2u * per_thread);
    EXPECT_EQ(d.extra.size(), static_cast<std::size_t>(per_thread));
    for (int w = 0; w < 2; ++w)
      for (int n = 0; n < per_thread; ++n) {
        std::string key = std::to_string(w) + "-" + std::to_string(n);
        EXPECT_TRUE(std::any_of(d.tags.begin(), d.tags.end(), [&](const auto& kv) {
          return kv.first == key;
        })) << key;
      }
  };
  check(*f.ts->tables().find("T"));
  f.reopen();  // and so they were stored
  check(*f.ts->tables().find("T"));

  EXPECT_THROW((void)f.ts->modify_table("T",
                                        [](table_info& d) -> bool {
                                          d.tags.clear();
                                          throw std::runtime_error("refused");
                                        }),
               std::runtime_error);
  auto unchanged = f.ts->modify_table("T", [](table_info& d) {
    d.tags.clear();
    return false;
  });
  ASSERT_TRUE(unchanged);
  EXPECT_EQ((*unchanged)->tags.size(), 2u * per_thread);
  EXPECT_EQ(f.ts->tables().find("T")->tags.size(), 2u * per_thread);
  auto missing = f.ts->modify_table("Nope", [](table_info&) { return true; });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::not_found);
}

// Replica settings (ReplicaUpdates Update) travel between regions in both directions: a report
// sent before an update can arrive after it. Whether incoming settings replace the local ones:
// the higher version wins whichever arrives last; equal versions pick the same settings in every
// region; unversioned settings (written before versions existed) behave as they did.
TEST(ReplicaSettings, AHigherVersionReplacesAndAnOlderOneDoesNot) {
  auto settings = [](std::int64_t version, std::string_view table_class) {
    json::object o{{"ReplicaTableClassSummary", {{"TableClass", table_class}}}};
    if (version) o[table_info::settings_version_key] = version;
    return o;
  };
  const json::object updated = settings(2'000, "STANDARD_INFREQUENT_ACCESS");
  const json::object stale = settings(1'000, "STANDARD");
  EXPECT_EQ(table_info::settings_version(updated), 2'000u);
  EXPECT_EQ(table_info::settings_version(json::object{}), 0u);
  EXPECT_TRUE(table_info::settings_replace(updated, stale));
  EXPECT_FALSE(table_info::settings_replace(stale, updated));
  EXPECT_FALSE(table_info::settings_replace(updated, updated));
  // Unversioned reports never undo a versioned update; unversioned ones replace each other.
  EXPECT_FALSE(table_info::settings_replace(settings(0, "STANDARD"), updated));
  EXPECT_FALSE(table_info::settings_replace(json::object{}, updated));
  EXPECT_TRUE(table_info::settings_replace(settings(0, "STANDARD"), json::object{}));
  EXPECT_FALSE(table_info::settings_replace(settings(0, "STANDARD"), settings(0, "STANDARD")));
  // Equal versions, different settings: exactly one direction replaces.
  const json::object a = settings(3'000, "STANDARD"),
                     b = settings(3'000, "STANDARD_INFREQUENT_ACCESS");
  EXPECT_NE(table_info::settings_replace(a, b), table_info::settings_replace(b, a));
  // A version read back from stored JSON (an int64 there) is the same version.
  auto parsed = json::parse(json::serialize(updated)).as_object();
  EXPECT_EQ(table_info::settings_version(parsed), 2'000u);
  EXPECT_FALSE(table_info::settings_replace(parsed, updated));
}

}  // namespace
}  // namespace mysfits::table::storage
