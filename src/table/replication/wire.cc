// The compact PullChanges record frames (wire.h).
#include "replication/wire.h"

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json/parse.hpp>

#include "types/attribute_value.h"

namespace mysfits::table::replication::wire {

namespace base64 = boost::beast::detail::base64;
namespace json = boost::json;

namespace {

void append_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 255));
}

std::uint64_t read_be(std::string_view bytes, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

// Reads `n` bytes at `at` (advancing it); false when fewer remain.
bool take(std::string_view bytes, std::size_t& at, std::size_t n, std::string_view& out) {
  if (bytes.size() - at < n) return false;
  out = bytes.substr(at, n);
  at += n;
  return true;
}

}  // namespace

void append_change(std::string& out, std::uint64_t sequence, std::uint64_t timestamp_us,
                   std::string_view origin, bool is_delete, std::string_view item_json,
                   std::string_view deltas_json) {
  origin = origin.substr(0, 255);
  auto body = static_cast<std::uint32_t>(8 + 8 + 1 + 1 + origin.size() + 4 + item_json.size() + 4 +
                                         deltas_json.size());
  append_u32(out, body);
  storage::append_u64(out, sequence);
  storage::append_u64(out, timestamp_us);
  out.push_back(is_delete ? 1 : 0);
  out.push_back(static_cast<char>(origin.size()));
  out.append(origin);
  append_u32(out, static_cast<std::uint32_t>(item_json.size()));
  out.append(item_json);
  append_u32(out, static_cast<std::uint32_t>(deltas_json.size()));
  out.append(deltas_json);
}

std::string to_base64(std::string_view bytes) {
  std::string text(base64::encoded_size(bytes.size()), '\0');
  text.resize(base64::encode(text.data(), bytes.data(), bytes.size()));
  return text;
}

result<std::vector<storage::remote_change>> decode_changes(std::string_view text,
                                                           std::string& bytes,
                                                           json::storage_ptr arena) {
  // Strict base64: whole quanta, padding only at the end.
  if (text.size() % 4 != 0) return error::invalid_argument("Records: not base64 (length)");
  bytes.resize(base64::decoded_size(text.size()));
  auto [written, read] = base64::decode(bytes.data(), text.data(), text.size());
  bytes.resize(written);
  if (text.size() - read > 2 || text.substr(read).find_first_not_of('=') != std::string_view::npos)
    return error::invalid_argument("Records: not base64");
  std::vector<storage::remote_change> out;
  std::string_view all = bytes;
  std::size_t at = 0;
  while (at < all.size()) {
    std::string_view len, frame;
    if (!take(all, at, 4, len) || !take(all, at, read_be(len, 4), frame))
      return error::invalid_argument("Records: cut frame");
    std::size_t f = 0;
    std::string_view head, origin_len, origin, n, item, deltas;
    if (!take(frame, f, 17, head) || !take(frame, f, 1, origin_len) ||
        !take(frame, f, static_cast<unsigned char>(origin_len[0]), origin) ||
        !take(frame, f, 4, n) || !take(frame, f, read_be(n, 4), item) || !take(frame, f, 4, n) ||
        !take(frame, f, read_be(n, 4), deltas) || f != frame.size())
      return error::invalid_argument("Records: malformed frame");
    if (origin.empty() || static_cast<unsigned char>(head[16]) > 1)
      return error::invalid_argument("Records: malformed frame header");
    boost::system::error_code ec;
    json::value v = json::parse(item, ec, arena, json_parse_options());
    if (ec || !v.is_object()) return error::invalid_argument("Records: item is not a JSON object");
    storage::remote_change c{.timestamp_us = read_be(head.substr(8), 8),
                             .origin = std::string(origin),
                             .is_delete = head[16] == 1,
                             .item = std::move(v.as_object()),
                             .deltas = json::object(arena),
                             .item_json = item};
    if (!deltas.empty()) {
      json::value d = json::parse(deltas, ec, arena, json_parse_options());
      if (ec || !d.is_object())
        return error::invalid_argument("Records: deltas are not a JSON object");
      c.deltas = std::move(d.as_object());
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace mysfits::table::replication::wire
