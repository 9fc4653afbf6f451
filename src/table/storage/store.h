// storage::store: the table engine's one RocksDB database, behind a small byte-oriented API.
// Everything above it (catalog, item writes, queries) speaks keys and values laid out in
// keys.h; rocksdb::Status never leaves this file pair (STYLE.md §2): it becomes mysfits::error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::table::storage {

struct store_options {
  // Directory of the RocksDB database; created if missing. Fixed at open.
  std::string path;
  // fsync the WAL before a write is acknowledged, so it survives power loss as well as kill -9.
  // With false, an acknowledged write survives kill -9 (it is in the OS page cache) but not a
  // machine crash. Default: true.
  bool sync_writes = true;
  // Block cache size in bytes. Default: 64 MiB.
  std::size_t block_cache_bytes = 64u << 20;
  // RocksDB options applied over the ones open() chooses, in RocksDB's option-string form
  // ("name=value;name=value", DB and column-family options). Default: empty.
  std::string rocksdb_options;
};

// One atomic group of changes (a rocksdb::WriteBatch underneath).
class write_batch {
 public:
  write_batch();
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  write_batch& operator=(write_batch&&) noexcept;

  void put(std::string_view key, std::string_view value);
  void del(std::string_view key);
  // Adds (a, b) to the pair of signed 64-bit counters stored at key (missing = (0, 0));
  // read them back with decode_counters. Used for per-table item count and size.
  void add_counters(std::string_view key, std::int64_t a, std::int64_t b);
  // Removes every key in [begin, end).
  void delete_range(std::string_view begin, std::string_view end);
  std::size_t count() const;

 private:
  friend class store;
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A consistent point-in-time view for reads that span several keys.
class snapshot {
 public:
  ~snapshot();
  snapshot(const snapshot&) = delete;
  snapshot& operator=(const snapshot&) = delete;

 private:
  friend class store;
  snapshot(void* db, const void* snap) : db_(db), snap_(snap) {}
  void* db_;
  const void* snap_;
};

std::string encode_counters(std::int64_t a, std::int64_t b);
std::pair<std::int64_t, std::int64_t> decode_counters(std::string_view bytes);

class store {
 public:
  [[nodiscard]] static result<std::unique_ptr<store>> open(const store_options& options);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // The value at key, or nullopt if absent.
  [[nodiscard]] result<std::optional<std::string>> get(std::string_view key,
                                                       const snapshot* snap = nullptr) const;
  // Applies the whole batch or nothing; durable per store_options::sync_writes.
  [[nodiscard]] result<void> write(write_batch& batch);
  // Applies the whole batch or nothing with its write-ahead-log record handed to the OS but not
  // fsynced: it survives kill -9 at once, a power cut only after the next sync_wal(). Readers see
  // it at once. For group commit (committer.h).
  [[nodiscard]] result<void> write_unsynced(write_batch& batch);
  // fsyncs the write-ahead log: when it returns ok, every write that returned before it was
  // called is durable. Safe to call while other threads write.
  [[nodiscard]] result<void> sync_wal();
  // Bulk loads (snapshot pages): the batch skips the write-ahead log, so it is lost on any
  // crash until flush() has written the memtables to table files. Callers keep a marker of the
  // unfinished load (written with write()) and redo it after a crash.
  [[nodiscard]] result<void> write_without_wal(write_batch& batch);
  // Writes every memtable to table files and waits: what write_without_wal wrote is durable.
  [[nodiscard]] result<void> flush();

  // Visits keys in [lower, upper) in order (or reverse order); stop by returning false.
  using visitor = std::function<bool(std::string_view key, std::string_view value)>;
  [[nodiscard]] result<void> scan(std::string_view lower, std::string_view upper, bool reverse,
                                  const visitor& visit, const snapshot* snap = nullptr) const;

  [[nodiscard]] std::unique_ptr<snapshot> take_snapshot() const;

  // Approximate bytes on disk (SST + WAL), for metrics and reports.
  std::uint64_t approximate_disk_bytes() const;

 private:
  struct impl;
  explicit store(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace mysfits::table::storage
