// RocksDB behind storage::store. Options are tuned for a small-item key-value workload: bloom
// filters for point reads, a shared block cache, and the WAL on (durability, see store.h).
#include "storage/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <mutex>

namespace mysfits::table::storage {

namespace {

error to_error(const rocksdb::Status& s) {
  if (s.IsCorruption()) return error::corruption(s.ToString());
  if (s.IsNotFound()) return error::not_found(s.ToString());
  if (s.IsInvalidArgument()) return error::invalid_argument(s.ToString());
  return error::io(s.ToString());
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

// Element-wise addition of two counters; keeps stats deltas commutative so concurrent writers
// of one table never read-modify-write the same key.
class counters_add final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    auto [a0, b0] = existing ? decode_counters({existing->data(), existing->size()})
                             : std::pair<std::int64_t, std::int64_t>{0, 0};
    auto [a1, b1] = decode_counters({value.data(), value.size()});
    *new_value = encode_counters(a0 + a1, b0 + b1);
    return true;
  }
  const char* Name() const override { return "mysfits.counters_add"; }
};

// A failed append to the write-ahead log (a full disk) leaves RocksDB's writer of that file
// unusable: RocksDB stops writes until it has recovered onto a new file, and syncing the old one
// again is a misuse that Debian's RocksDB build (assertions on) answers by aborting the process.
// The group commit fsyncs the log from its own thread while request threads append to it, so the
// failure is recorded here, by the file system below RocksDB, before RocksDB itself sees it, and
// under the lock that store::sync_wal holds across its SyncWAL: a sync either ended before the
// failure or sees it and fails instead. RocksDB's recovery (its listener call) clears it.
class wal_guard {
 public:
  // The lock is held for one fsync at most; the wait is bounded all the same, so that a path
  // not foreseen here could at worst bring back the abort, never hang a writer.
  void mark_broken() {
    std::unique_lock lock(mu_, std::defer_lock);
    (void)lock.try_lock_for(std::chrono::seconds(5));
    broken_.store(true);
  }
  void mark_recovered() {
    std::lock_guard lock(mu_);
    broken_.store(false);
  }
  // Runs `sync` unless an append has failed since the last recovery.
  template <class Sync>
  rocksdb::Status sync_if_usable(Sync sync) {
    std::lock_guard lock(mu_);
    if (broken_.load())
      return rocksdb::Status::IOError("writes are stopped by a failed write-ahead-log append",
                                      "is the disk full?");
    return sync();
  }

 private:
  std::timed_mutex mu_;
  std::atomic<bool> broken_{false};
};

class guarded_wal_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  guarded_wal_file(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<wal_guard> guard)
      : FSWritableFileOwnerWrapper(std::move(file)), guard_(std::move(guard)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    return checked(target()->Append(data, o, dbg));
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    return checked(target()->Append(data, o, v, dbg));
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    return checked(target()->PositionedAppend(data, offset, o, dbg));
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& v,
                                     rocksdb::IODebugContext* dbg) override {
    return checked(target()->PositionedAppend(data, offset, o, v, dbg));
  }

 private:
  rocksdb::IOStatus checked(rocksdb::IOStatus s) {
    if (!s.ok()) guard_->mark_broken();
    return s;
  }
  std::shared_ptr<wal_guard> guard_;
};

// The default file system, with write-ahead-log files (NNNNNN.log) wrapped in guarded_wal_file.
class guarded_file_system final : public rocksdb::FileSystemWrapper {
 public:
  explicit guarded_file_system(std::shared_ptr<wal_guard> guard)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), guard_(std::move(guard)) {}
  const char* Name() const override { return "mysfits.guarded_file_system"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    return wrapped(name, target()->NewWritableFile(name, o, file, dbg), file);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* file,
                                       rocksdb::IODebugContext* dbg) override {
    return wrapped(name, target()->ReopenWritableFile(name, o, file, dbg), file);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* file,
                                      rocksdb::IODebugContext* dbg) override {
    return wrapped(name, target()->ReuseWritableFile(name, old_name, o, file, dbg), file);
  }

 private:
  rocksdb::IOStatus wrapped(const std::string& name, rocksdb::IOStatus s,
                            std::unique_ptr<rocksdb::FSWritableFile>* file) {
    if (s.ok() && *file && name.ends_with(".log"))
      *file = std::make_unique<guarded_wal_file>(std::move(*file), guard_);
    return s;
  }
  std::shared_ptr<wal_guard> guard_;
};

class recovery_listener final : public rocksdb::EventListener {
 public:
  explicit recovery_listener(std::shared_ptr<wal_guard> guard) : guard_(std::move(guard)) {}
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) guard_->mark_recovered();
  }

 private:
  std::shared_ptr<wal_guard> guard_;
};

}  // namespace

std::string encode_counters(std::int64_t a, std::int64_t b) {
  std::string out;
  for (std::int64_t v : {a, b}) {
    auto u = static_cast<std::uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((u >> shift) & 0xff));
  }
  return out;
}

std::pair<std::int64_t, std::int64_t> decode_counters(std::string_view bytes) {
  if (bytes.size() != 16) return {0, 0};
  std::uint64_t v[2] = {0, 0};
  for (int k = 0; k < 2; ++k)
    for (int i = 0; i < 8; ++i) v[k] = (v[k] << 8) | static_cast<unsigned char>(bytes[k * 8 + i]);
  return {static_cast<std::int64_t>(v[0]), static_cast<std::int64_t>(v[1])};
}

struct write_batch::impl {
  rocksdb::WriteBatch wb;
};

write_batch::write_batch() : impl_(std::make_unique<impl>()) {}
write_batch::~write_batch() = default;
write_batch::write_batch(write_batch&&) noexcept = default;
write_batch& write_batch::operator=(write_batch&&) noexcept = default;

// WriteBatch operations only fail for column-family or size errors we never trigger; the
// Status is checked when the batch is written.
void write_batch::put(std::string_view key, std::string_view value) {
  impl_->wb.Put(slice(key), slice(value)).PermitUncheckedError();
}
void write_batch::del(std::string_view key) { impl_->wb.Delete(slice(key)).PermitUncheckedError(); }
void write_batch::add_counters(std::string_view key, std::int64_t a, std::int64_t b) {
  impl_->wb.Merge(slice(key), slice(encode_counters(a, b))).PermitUncheckedError();
}
void write_batch::delete_range(std::string_view begin, std::string_view end) {
  impl_->wb.DeleteRange(slice(begin), slice(end)).PermitUncheckedError();
}
std::size_t write_batch::count() const { return static_cast<std::size_t>(impl_->wb.Count()); }

snapshot::~snapshot() {
  static_cast<rocksdb::DB*>(db_)->ReleaseSnapshot(static_cast<const rocksdb::Snapshot*>(snap_));
}

struct store::impl {
  std::shared_ptr<wal_guard> guard;
  std::unique_ptr<rocksdb::Env> env;  // the guarded file system; outlives the database
  std::unique_ptr<rocksdb::DB> db;
  bool sync_writes = true;
};

store::store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

store::~store() {
  if (impl_ && impl_->db) {
    // Flushing is not needed for durability (the WAL has everything); closing cleanly just
    // makes the next open faster. A failure here leaves the WAL to replay, which is safe.
    impl_->db->Close().PermitUncheckedError();
  }
}

result<std::unique_ptr<store>> store::open(const store_options& options) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.merge_operator = std::make_shared<counters_add>();
  o.IncreaseParallelism(2);
  o.OptimizeLevelStyleCompaction();
  // Small memtables, flushed one at a time: every write of an item rewrites its ALL index
  // entries, and a Query walks each older version still in the memtables. With the 128 MiB
  // buffers (flushed in pairs) OptimizeLevelStyleCompaction picks, a Query after a burst of
  // updates answered less than half as many requests per second as on fresh data; with 8 MiB ones
  // the flush drops the old versions early, and a smaller skiplist makes inserts and lookups
  // cheaper too (docs/table.md, "An 8 MiB write buffer").
  o.write_buffer_size = 8u << 20;
  o.min_write_buffer_number_to_merge = 1;
  // Level sizes derived from the last level's, so most data lands there, compressed: a million
  // items take 667 MB on disk instead of 951 MB and load and Scan a little faster (same doc).
  o.level_compaction_dynamic_level_bytes = true;
  // On a machine of few cores, writers that meet in one write group cost more in thread
  // hand-offs than they gain: the group's leader inserts every member's batch into the memtable
  // (no second round of wake-ups for parallel inserts), and followers sleep at once instead of
  // spinning for up to 100 us on the core the leader needs (docs/table.md, "Write groups on
  // two cores").
  o.allow_concurrent_memtable_write = false;
  o.enable_write_thread_adaptive_yield = false;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  if (!options.rocksdb_options.empty()) {
    rocksdb::ConfigOptions config;
    config.ignore_unknown_options = false;
    rocksdb::Options tuned;
    rocksdb::Status parsed =
        rocksdb::GetOptionsFromString(config, o, options.rocksdb_options, &tuned);
    if (!parsed.ok())
      return error::invalid_argument("bad RocksDB options \"" + options.rocksdb_options +
                                     "\": " + parsed.ToString());
    o = std::move(tuned);
  }
  auto i = std::make_unique<impl>();
  i->guard = std::make_shared<wal_guard>();
  i->env = rocksdb::NewCompositeEnv(std::make_shared<guarded_file_system>(i->guard));
  o.env = i->env.get();
  o.listeners.push_back(std::make_shared<recovery_listener>(i->guard));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, options.path, &raw);
  if (!s.ok()) return to_error(s);
  i->db.reset(raw);
  i->sync_writes = options.sync_writes;
  return std::unique_ptr<store>(new store(std::move(i)));
}

result<std::optional<std::string>> store::get(std::string_view key, const snapshot* snap) const {
  rocksdb::ReadOptions ro;
  if (snap) ro.snapshot = static_cast<const rocksdb::Snapshot*>(snap->snap_);
  std::string value;
  rocksdb::Status s = impl_->db->Get(ro, slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return to_error(s);
  return std::optional<std::string>{std::move(value)};
}

// A synced write is an unsynced one followed by sync_wal() rather than RocksDB's sync=true: the
// write-ahead log is then only ever synced under wal_guard (a sync=true write would sync it inside
// RocksDB, unguarded, and hold the log marked as syncing while it appends).
result<void> store::write(write_batch& batch) {
  if (auto w = write_unsynced(batch); !w) return w;
  return impl_->sync_writes ? sync_wal() : ok();
}

result<void> store::write_unsynced(write_batch& batch) {
  rocksdb::Status s = impl_->db->Write(rocksdb::WriteOptions(), &batch.impl_->wb);
  if (!s.ok()) return to_error(s);
  return ok();
}

result<void> store::sync_wal() {
  rocksdb::Status s = impl_->guard->sync_if_usable([&] { return impl_->db->SyncWAL(); });
  if (!s.ok()) return to_error(s);
  return ok();
}

result<void> store::scan(std::string_view lower, std::string_view upper, bool reverse,
                         const visitor& visit, const snapshot* snap) const {
  rocksdb::ReadOptions ro;
  if (snap) ro.snapshot = static_cast<const rocksdb::Snapshot*>(snap->snap_);
  rocksdb::Slice lo = slice(lower);
  rocksdb::Slice up = slice(upper);
  ro.iterate_lower_bound = &lo;
  ro.iterate_upper_bound = &up;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
  if (reverse) {
    for (it->SeekToLast(); it->Valid(); it->Prev()) {
      if (!visit({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()}))
        break;
    }
  } else {
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!visit({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()}))
        break;
    }
  }
  if (!it->status().ok()) return to_error(it->status());
  return ok();
}

std::unique_ptr<snapshot> store::take_snapshot() const {
  return std::unique_ptr<snapshot>(new snapshot(impl_->db.get(), impl_->db->GetSnapshot()));
}

std::uint64_t store::approximate_disk_bytes() const {
  std::uint64_t sst = 0;
  std::uint64_t mem = 0;
  // Missing properties just read as 0: this is a metric, not a decision.
  (void)impl_->db->GetIntProperty("rocksdb.total-sst-files-size", &sst);
  (void)impl_->db->GetIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
  return sst + mem;
}

}  // namespace mysfits::table::storage

namespace mysfits::table::storage {

result<void> store::write_without_wal(write_batch& batch) {
  rocksdb::WriteOptions o;
  o.disableWAL = true;
  rocksdb::Status s = impl_->db->Write(o, &batch.impl_->wb);
  if (!s.ok()) return to_error(s);
  return ok();
}

result<void> store::flush() {
  rocksdb::FlushOptions o;
  o.wait = true;
  rocksdb::Status s = impl_->db->Flush(o);
  if (!s.ok()) return to_error(s);
  return ok();
}

}  // namespace mysfits::table::storage
