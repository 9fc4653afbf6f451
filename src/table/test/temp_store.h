// A table_store in a fresh temporary directory that goes with it: the setup the storage tests
// share. A test's fixture holds one, fills in the options it needs and calls open(). And a
// back-fill run to its end in the calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "storage/table_store.h"

namespace mysfits::table::testing {

struct temp_store {
  std::string path;
  std::unique_ptr<storage::table_store> ts;

  // A new directory name under the system's temporary directory, starting with `prefix`.
  explicit temp_store(std::string_view prefix) {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() /
            (std::string(prefix) + std::to_string(rd()) + std::to_string(rd())))
               .string();
  }
  ~temp_store() {
    ts.reset();
    std::filesystem::remove_all(path);
  }
  temp_store(const temp_store&) = delete;
  temp_store& operator=(const temp_store&) = delete;

  // Options for this directory: unsynced writes (tests do not need the fsync) in us-west-2.
  storage::table_store_options options() const {
    storage::table_store_options o;
    o.store.path = path;
    o.store.sync_writes = false;
    o.region = "us-west-2";
    return o;
  }
  // Closes the store if open, and opens it again with `o` (from options()).
  void open(storage::table_store_options o) {
    ts.reset();
    ts = storage::table_store::open(std::move(o)).value();
  }
};

// The storage tests' table: "T", hash key h (S) and range key r (N), no index yet.
inline storage::table_info hash_range_table() {
  storage::table_info t;
  t.name = "T";
  t.keys.hash_name = "h";
  t.keys.hash_type = key_type::s;
  t.keys.range_name = "r";
  t.keys.range_type = key_type::n;
  return t;
}

// Runs every remaining page of an index's back-fill in the calling thread (tests that want a
// back-fill finished without the background worker).
inline result<void> backfill_index(storage::table_store& ts, const std::string& table_name,
                                   std::uint32_t index_id) {
  for (;;) {
    auto done = ts.backfill_page(table_name, index_id);
    if (!done) return done.error();
    if (*done) return ok();
  }
}

}  // namespace mysfits::table::testing
