// Key layout and item record codec (see keys.h).
#include "storage/keys.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

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

std::string encode_item_record(const item_record& r) {
  std::string out;
  out.push_back(1);
  out.push_back(r.is_tombstone ? 1 : 0);
  append_u64(out, r.timestamp_us);
  // Region names are short ("us-west-2"); longer ones are cut, never overflowing the length.
  std::string_view origin = r.origin_region;
  if (origin.size() > 255) origin = origin.substr(0, 255);
  out.push_back(static_cast<char>(origin.size()));
  out.append(origin);
  out.append(boost::json::serialize(r.item));
  return out;
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
  boost::json::value v = boost::json::parse(json, ec, std::move(sp));
  if (ec || !v.is_object()) return std::nullopt;
  // Move-constructed, so the item keeps the storage it was parsed into (an assignment to a
  // default-constructed member would copy it to the heap).
  return item_record{.timestamp_us = read_u64(bytes.substr(2, 8)),
                     .origin_region = std::string(bytes.substr(11, origin_len)),
                     .is_tombstone = (bytes[1] & 1) != 0,
                     .item = std::move(v.as_object())};
}

}  // namespace mysfits::table::storage
