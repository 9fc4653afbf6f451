// Key layout and item record codec (see keys.h).
#include "storage/keys.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "types/attribute_value.h"

namespace mysfits::table::storage {

void append_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t read_u64(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

namespace {
void append_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}
std::uint32_t read_u32(std::string_view bytes) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}
std::string table_prefix(char space, std::uint64_t table_id) {
  std::string k(1, space);
  append_u64(k, table_id);
  return k;
}
}  // namespace

std::string prefix_end(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c != 0xff) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

std::string catalog_key(std::string_view table_name) { return "c" + std::string(table_name); }
std::string catalog_prefix() { return "c"; }
std::string next_table_id_key() { return "gnext_table_id"; }

std::string item_key(std::uint64_t table_id, std::string_view primary_key) {
  std::string k = table_prefix('i', table_id);
  k.append(primary_key);
  return k;
}
std::string items_begin(std::uint64_t table_id) { return table_prefix('i', table_id); }
std::string items_end(std::uint64_t table_id) { return table_prefix('i', table_id + 1); }

std::string index_key(std::uint64_t table_id, std::uint32_t index_id, std::string_view ikey,
                      std::string_view primary_key) {
  std::string k = index_begin(table_id, index_id);
  k.append(ikey);
  k.append(primary_key);
  return k;
}
std::string index_begin(std::uint64_t table_id, std::uint32_t index_id) {
  std::string k = table_prefix('x', table_id);
  append_u32(k, index_id);
  return k;
}
std::string index_end(std::uint64_t table_id, std::uint32_t index_id) {
  return prefix_end(index_begin(table_id, index_id));
}
std::string indexes_begin(std::uint64_t table_id) { return table_prefix('x', table_id); }
std::string indexes_end(std::uint64_t table_id) { return table_prefix('x', table_id + 1); }

std::string stats_key(std::uint64_t table_id) { return table_prefix('n', table_id); }
std::string index_stats_key(std::uint64_t table_id, std::uint32_t index_id) {
  std::string k = stats_key(table_id);
  append_u32(k, index_id);
  return k;
}
std::string stream_key(std::uint64_t table_id, std::uint64_t sequence) {
  std::string k = table_prefix('s', table_id);
  append_u64(k, sequence);
  return k;
}
std::string streams_begin(std::uint64_t table_id) { return table_prefix('s', table_id); }
std::string streams_end(std::uint64_t table_id) { return table_prefix('s', table_id + 1); }

std::string progress_key(std::uint64_t table_id, std::string_view peer_region) {
  std::string k = table_prefix('r', table_id);
  k.append(peer_region);
  return k;
}
std::string progresses_begin(std::uint64_t table_id) { return table_prefix('r', table_id); }
std::string progresses_end(std::uint64_t table_id) { return table_prefix('r', table_id + 1); }

std::string backfill_key(std::uint64_t table_id, std::uint32_t index_id) {
  std::string k = table_prefix('b', table_id);
  append_u32(k, index_id);
  return k;
}
std::string backfills_begin(std::uint64_t table_id) { return table_prefix('b', table_id); }
std::string backfills_end(std::uint64_t table_id) { return table_prefix('b', table_id + 1); }

std::string encode_item_record_text(std::uint64_t timestamp_us, std::string_view origin,
                                    bool is_tombstone, std::string_view item_json) {
  std::string out;
  // Region names are short ("us-west-2"); longer ones are cut, never overflowing the length.
  if (origin.size() > 255) origin = origin.substr(0, 255);
  out.reserve(11 + origin.size() + item_json.size());
  out.push_back(1);
  out.push_back(is_tombstone ? 1 : 0);
  append_u64(out, timestamp_us);
  out.push_back(static_cast<char>(origin.size()));
  out.append(origin);
  out.append(item_json);
  return out;
}

std::string encode_item_record(const item_record& r) {
  return encode_item_record_text(r.timestamp_us, r.origin_region, r.is_tombstone,
                                 boost::json::serialize(r.item));
}

std::optional<std::string_view> item_record_json(std::string_view bytes, bool& tombstone) {
  if (bytes.size() < 11 || bytes[0] != 1) return std::nullopt;
  auto origin_len = static_cast<unsigned char>(bytes[10]);
  if (bytes.size() < 11u + origin_len) return std::nullopt;
  tombstone = (bytes[1] & 1) != 0;
  return bytes.substr(11 + origin_len);
}

std::optional<item_record> decode_item_record(std::string_view bytes, boost::json::storage_ptr sp) {
  if (bytes.size() < 11 || bytes[0] != 1) return std::nullopt;
  auto origin_len = static_cast<unsigned char>(bytes[10]);
  if (bytes.size() < 11u + origin_len) return std::nullopt;
  std::string_view json = bytes.substr(11 + origin_len);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec, std::move(sp), json_parse_options());
  if (ec || !v.is_object()) return std::nullopt;
  // Move-constructed, so the item keeps the storage it was parsed into (an assignment to a
  // default-constructed member would copy it to the heap).
  return item_record{.timestamp_us = read_u64(bytes.substr(2, 8)),
                     .origin_region = std::string(bytes.substr(11, origin_len)),
                     .is_tombstone = (bytes[1] & 1) != 0,
                     .item = std::move(v.as_object())};
}

std::string encode_stream_record(const stream_record_view& r) {
  std::string out;
  std::string_view origin = r.origin.substr(0, 255);
  std::string_view label = r.label.substr(0, 65535);
  out.reserve(30 + origin.size() + label.size() + r.keys.size() + r.old_item.size() +
              r.new_item.size() + r.deltas.size());
  out.push_back(2);
  out.push_back(static_cast<char>(r.event == "INSERT" ? 0 : r.event == "MODIFY" ? 1 : 2));
  append_u64(out, r.sequence);
  append_u64(out, r.timestamp_us);
  out.push_back(static_cast<char>(origin.size()));
  out.append(origin);
  out.push_back(static_cast<char>((label.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(label.size() & 0xff));
  out.append(label);
  for (auto part : {r.keys, r.old_item, r.new_item, r.deltas}) {
    append_u32(out, static_cast<std::uint32_t>(part.size()));
    out.append(part);
  }
  return out;
}

std::optional<stream_record_view> decode_stream_record(std::string_view bytes) {
  static constexpr std::string_view events[] = {"INSERT", "MODIFY", "REMOVE"};
  if (bytes.size() < 19 || bytes[0] != 2 || static_cast<unsigned char>(bytes[1]) > 2)
    return std::nullopt;
  stream_record_view r;
  r.event = events[static_cast<unsigned char>(bytes[1])];
  r.sequence = read_u64(bytes.substr(2, 8));
  r.timestamp_us = read_u64(bytes.substr(10, 8));
  std::size_t at = 18;
  std::size_t origin_len = static_cast<unsigned char>(bytes[at++]);
  if (bytes.size() - at < origin_len + 2) return std::nullopt;
  r.origin = bytes.substr(at, origin_len);
  at += origin_len;
  std::size_t label_len = (static_cast<std::size_t>(static_cast<unsigned char>(bytes[at])) << 8) |
                          static_cast<unsigned char>(bytes[at + 1]);
  at += 2;
  if (bytes.size() - at < label_len) return std::nullopt;
  r.label = bytes.substr(at, label_len);
  at += label_len;
  for (std::string_view* part : {&r.keys, &r.old_item, &r.new_item, &r.deltas}) {
    if (bytes.size() - at < 4) return std::nullopt;
    std::size_t n = read_u32(bytes.substr(at, 4));
    at += 4;
    if (bytes.size() - at < n) return std::nullopt;
    *part = bytes.substr(at, n);
    at += n;
  }
  if (at != bytes.size()) return std::nullopt;
  return r;
}

}  // namespace mysfits::table::storage
