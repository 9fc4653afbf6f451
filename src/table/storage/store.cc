// RocksDB behind storage::store. Options are tuned for a small-item key-value workload: bloom
// filters for point reads, a shared block cache, and the WAL on (durability, see store.h).
#include "storage/store.h"

#include <fcntl.h>
#include <rocksdb/cache.h>
#include <rocksdb/comparator.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "storage/memtable.h"
#include "storage/rocksdb_crc32c.h"

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

// A failed append to a write-ahead-log file (a full disk) leaves RocksDB's writer of that file
// unusable, and syncing it again is a misuse that Debian's RocksDB build (assertions on) answers
// by aborting the process. RocksDB stops writes until it has recovered onto a new file, but keeps
// the old one among the logs SyncWAL syncs until it is retired. So a failed file counts here from
// its failure, recorded by the file system below RocksDB before RocksDB itself sees it and under
// the lock that store::sync_wal holds across each SyncWAL, until RocksDB closes it: a sync either
// ended before the failure or sees it and fails instead.
class wal_guard {
 public:
  // The lock is held for one fsync at most; the wait is bounded all the same, so that a path
  // not foreseen here could at worst bring back the abort, never hang a writer.
  void file_failed() {
    std::unique_lock lock(mu_, std::defer_lock);
    (void)lock.try_lock_for(std::chrono::seconds(5));
    ++failed_files_open_;
  }
  // Without the lock: a file going away never makes a sync unsafe (and RocksDB may close a log
  // while holding a mutex that a SyncWAL under our lock waits for).
  void failed_file_closed() { --failed_files_open_; }
  // Runs `sync` unless a log file that failed an append is still open.
  template <class Sync>
  rocksdb::Status sync_if_usable(Sync sync) {
    std::lock_guard lock(mu_);
    if (failed_files_open_.load() > 0)
      return rocksdb::Status::IOError("writes are stopped by a failed write-ahead-log append",
                                      "is the disk full?");
    return sync();
  }

 private:
  std::timed_mutex mu_;
  std::atomic<int> failed_files_open_{0};
};

class guarded_wal_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  guarded_wal_file(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<wal_guard> guard)
      : FSWritableFileOwnerWrapper(std::move(file)), guard_(std::move(guard)) {}
  ~guarded_wal_file() override {
    if (failed_) guard_->failed_file_closed();
  }

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
    if (!s.ok() && !failed_) {
      failed_ = true;  // appends to one file come from one writer at a time
      guard_->file_failed();
    }
    return s;
  }
  std::shared_ptr<wal_guard> guard_;
  bool failed_ = false;
};

// RocksDB's diagnostic log (the LOG file in the data directory), written by the engine rather
// than by RocksDB's own logger: that one, once a write to the file has failed (a full disk),
// aborts on its next line in Debian's assert-enabled build, and a full disk is when RocksDB logs
// the most (its flush and recovery attempts). Here a line that cannot be written is dropped. One
// write(2) per line on an O_APPEND descriptor, so threads need no lock. The previous run's file
// is kept as LOG.old.
class info_log final : public rocksdb::Logger {
 public:
  static std::shared_ptr<info_log> open(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string path = dir + "/LOG";
    std::filesystem::rename(path, path + ".old", ec);  // none yet: nothing to keep
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return nullptr;
    return std::make_shared<info_log>(fd);
  }
  explicit info_log(int fd) : fd_(fd) {}
  ~info_log() override { (void)CloseImpl(); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    localtime_r(&t, &tm);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) %
        std::chrono::seconds(1);
    char prefix[48];
    std::snprintf(prefix, sizeof prefix, "%04d/%02d/%02d-%02d:%02d:%02d.%06lld ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(micros.count()));
    std::string line(prefix);
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n < 0) return;
    const std::size_t at = line.size();
    line.resize(at + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(line.data() + at, static_cast<std::size_t>(n) + 1, format, ap);
    line.back() = '\n';                                           // over vsnprintf's terminator
    if (n > 0 && line[line.size() - 2] == '\n') line.pop_back();  // the text had its own
    (void)!::write(fd_, line.data(), line.size());  // a line that does not fit is dropped
  }

 protected:
  rocksdb::Status CloseImpl() override {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    return rocksdb::Status::OK();
  }

 private:
  int fd_;
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
  // The project's skiplist instead of RocksDB's, whose assertions (kept in Debian's build) were
  // two thirds of a memtable insert's key comparisons (storage/memtable.h).
  auto own_memtable = new_skiplist_memtable_factory(false);
  o.memtable_factory = own_memtable;
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
    // Concurrent memtable inserts (turned back on here) need RocksDB's own skiplist.
    if (o.allow_concurrent_memtable_write && !o.memtable_factory->IsInsertConcurrentlySupported())
      o.memtable_factory = std::make_shared<rocksdb::SkipListFactory>();
  }
  // RocksDB's checksums run on the CPU's CRC32 instruction (storage/rocksdb_crc32c.h); this
  // reference also makes the linker take those definitions rather than RocksDB's own.
  (void)rocksdb_crc32c_kind();
  // The skiplist compares keys inline when they are RocksDB's bytewise-ordered ones (always, but
  // for a `comparator` given in --rocksdb-options).
  if (o.memtable_factory == own_memtable)
    o.memtable_factory =
        new_skiplist_memtable_factory(o.comparator == rocksdb::BytewiseComparator());
  auto i = std::make_unique<impl>();
  i->guard = std::make_shared<wal_guard>();
  i->env = rocksdb::NewCompositeEnv(std::make_shared<guarded_file_system>(i->guard));
  o.env = i->env.get();
  if (!o.info_log) o.info_log = info_log::open(options.path);  // null: RocksDB's own
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
