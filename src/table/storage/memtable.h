// The RocksDB memtable the store uses: a skiplist built in this project, in place of RocksDB's own
// (docs/table.md, "The request path and what it costs").
//
// Why: Debian builds RocksDB without NDEBUG, so every assert of its InlineSkipList runs; on each
// insert they compare the new key with its neighbours at every level the search passes, about
// two thirds of a memtable insert's ~50 key comparisons, and a lookup pays one more comparison per
// step. This one is the classic single-writer skiplist (LevelDB's): one writer at a time (RocksDB
// serializes memtable inserts unless allow_concurrent_memtable_write is on, which needs RocksDB's
// own), readers without locks, the same order and the same entries as RocksDB's.
#pragma once

#include <memory>

namespace rocksdb {
class MemTableRepFactory;
}

namespace mysfits::table::storage {

// A factory for RocksDB's `memtable_factory` option. It does not support concurrent inserts
// (IsInsertConcurrentlySupported() is false): with allow_concurrent_memtable_write on, use
// RocksDB's SkipListFactory. `bytewise_comparator`: the column family's comparator is
// rocksdb::BytewiseComparator(), so keys are compared inline (memcmp and the sequence number)
// instead of through RocksDB's comparator objects; false: always through them.
std::shared_ptr<rocksdb::MemTableRepFactory> new_skiplist_memtable_factory(
    bool bytewise_comparator);

}  // namespace mysfits::table::storage
