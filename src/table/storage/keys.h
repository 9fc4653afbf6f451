// The RocksDB key layout of the table engine, and the stored record of one item.
// Key spaces (first byte):
//   'c' + table name                          → table description (catalog.h)
//   'g' "next_table_id"                       → the next table id to hand out
//   'i' + table id(8) + primary key           → item record (below)
//   'x' + table id(8) + index id(4) + index key + primary key → projected item record
//   's' + table id(8) + sequence(8)           → stream record (issue 3)
//   'n' + table id(8) [+ index id(4)]         → item count and size counters (store.h)
//   'r' + table id(8) + peer region           → replication progress: the last sequence number
//                                               of that peer's stream applied here (issue 3)
//   'b' + table id(8) + index id(4)           → back-fill progress of an index being created
//                                               (UpdateTable): the last primary key indexed
// Ids and sequence numbers are big-endian so keys sort numerically. Table ids are never reused,
// so a deleted table's ranges can be dropped lazily with DeleteRange.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mysfits::table::storage {

std::string catalog_key(std::string_view table_name);
std::string catalog_prefix();
std::string next_table_id_key();

std::string item_key(std::uint64_t table_id, std::string_view primary_key);
// [begin, end) of all item keys of a table.
std::string items_begin(std::uint64_t table_id);
std::string items_end(std::uint64_t table_id);

std::string index_key(std::uint64_t table_id, std::uint32_t index_id, std::string_view index_key,
                      std::string_view primary_key);
std::string index_begin(std::uint64_t table_id, std::uint32_t index_id);
std::string index_end(std::uint64_t table_id, std::uint32_t index_id);
// [begin, end) of every index of a table.
std::string indexes_begin(std::uint64_t table_id);
std::string indexes_end(std::uint64_t table_id);

std::string stats_key(std::uint64_t table_id);
std::string index_stats_key(std::uint64_t table_id, std::uint32_t index_id);
std::string stream_key(std::uint64_t table_id, std::uint64_t sequence);
std::string streams_begin(std::uint64_t table_id);
std::string streams_end(std::uint64_t table_id);
std::string progress_key(std::uint64_t table_id, std::string_view peer_region);
std::string progresses_begin(std::uint64_t table_id);
std::string progresses_end(std::uint64_t table_id);
std::string backfill_key(std::uint64_t table_id, std::uint32_t index_id);
std::string backfills_begin(std::uint64_t table_id);
std::string backfills_end(std::uint64_t table_id);

// The smallest string greater than every string starting with `prefix` ("" if none exists).
std::string prefix_end(std::string_view prefix);

void append_u64(std::string& out, std::uint64_t v);
std::uint64_t read_u64(std::string_view bytes);

// What is stored for one item. The write timestamp and origin region are the replication
// metadata global tables use for last-writer-wins (issue 3): a replica applies a remote change
// only if (timestamp, origin) is greater than the stored one. `is_tombstone` marks a deleted item
// kept so that a late, older remote write cannot resurrect it.
struct item_record {
  std::uint64_t timestamp_us = 0;
  std::string origin_region;
  bool is_tombstone = false;
  boost::json::object item;
};

// Binary header [version=1][flags][timestamp(8)][origin length(1)][origin] + item JSON text.
std::string encode_item_record(const item_record& r);
// The same record from the item's JSON text as json::serialize wrote it (e.g. at a peer).
std::string encode_item_record_text(std::uint64_t timestamp_us, std::string_view origin,
                                    bool is_tombstone, std::string_view item_json);
// The item's JSON text inside a record (as encode_item_record wrote it, with json::serialize),
// without parsing it; nullopt for bytes encode_item_record cannot have produced. `tombstone`
// tells whether the record marks a deleted item.
std::optional<std::string_view> item_record_json(std::string_view bytes, bool& tombstone);
// nullopt for bytes encode_item_record cannot have produced. The item's values are allocated
// from `sp` (default: the heap).
std::optional<item_record> decode_item_record(std::string_view bytes,
                                              boost::json::storage_ptr sp = {});

// One stream record as stored (issue 3): a binary header, then the JSON texts of its parts as
// json::serialize wrote them, so that replication reads a record's origin and copies its item
// without parsing (and a write stores the texts it already has, without serializing again):
//   [version=2][event: 0 INSERT, 1 MODIFY, 2 REMOVE][seq(8)][ts(8)][origin length(1)][origin]
//   [label length(2)][label] then keys, old, new, deltas: each [length(4)][JSON text], length 0
//   when absent. Records written before this format are JSON text ('{'): decode_stream_record
//   refuses them and readers parse them as they are.
struct stream_record_view {
  std::uint64_t sequence = 0;
  std::uint64_t timestamp_us = 0;
  std::string_view origin;
  std::string_view label;
  std::string_view event;  // "INSERT", "MODIFY" or "REMOVE"
  std::string_view keys;   // JSON texts; empty when absent
  std::string_view old_item;
  std::string_view new_item;
  std::string_view deltas;
};
std::string encode_stream_record(const stream_record_view& r);
// nullopt for bytes encode_stream_record cannot have produced (legacy JSON records included).
std::optional<stream_record_view> decode_stream_record(std::string_view bytes);
// Whether the stored bytes are a legacy JSON stream record.
inline bool is_json_stream_record(std::string_view bytes) {
  return !bytes.empty() && bytes[0] == '{';
}

}  // namespace mysfits::table::storage
