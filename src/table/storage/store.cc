// RocksDB behind storage::store. Options are tuned for a small-item key-value workload: bloom
// filters for point reads, a shared block cache, and the WAL on (durability, see store.h).
#include "storage/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

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
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;
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
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, options.path, &raw);
  if (!s.ok()) return to_error(s);
  auto i = std::make_unique<impl>();
  i->db.reset(raw);
  i->write_options.sync = options.sync_writes;
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

result<void> store::write(write_batch& batch) {
  rocksdb::Status s = impl_->db->Write(impl_->write_options, &batch.impl_->wb);
  if (!s.ok()) return to_error(s);
  return ok();
}

result<void> store::write_unsynced(write_batch& batch) {
  rocksdb::WriteOptions wo = impl_->write_options;
  wo.sync = false;
  rocksdb::Status s = impl_->db->Write(wo, &batch.impl_->wb);
  if (!s.ok()) return to_error(s);
  return ok();
}

result<void> store::sync_wal() {
  rocksdb::Status s = impl_->db->SyncWAL();
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
  rocksdb::WriteOptions o = impl_->write_options;
  o.sync = false;
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
