// key_codec: strings and binary encode as their raw bytes; numbers as a sign byte, a biased
// exponent byte and the digits (complemented for negatives, then a 0xFF terminator so a shorter
// negative mantissa sorts above a longer one). Hash keys are escaped (0x00 → 0x00 0xFF) and
// terminated with 0x00 0x01 so that a hash key's encoding is never a prefix of another's.
#include "types/key_codec.h"

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <stdexcept>

#include "api/api_error.h"
#include "types/attribute_value.h"
#include "types/decimal.h"

namespace mysfits::table {
namespace json = boost::json;
namespace {

constexpr char negative_tag = 0x01;
constexpr char zero_tag = 0x02;
constexpr char positive_tag = 0x03;
constexpr unsigned char negative_end = 0xFF;
constexpr int exponent_bias = -decimal::min_exponent;  // maps min_exponent to 0

std::string encode_number(const decimal& d) {
  std::string out;
  if (d.is_zero()) {
    out.push_back(zero_tag);
    return out;
  }
  const auto biased = static_cast<unsigned char>(d.exponent() + exponent_bias);
  if (!d.is_negative()) {
    out.push_back(positive_tag);
    out.push_back(static_cast<char>(biased));
    out += d.digits();
    return out;
  }
  out.push_back(negative_tag);
  out.push_back(static_cast<char>(255 - biased));
  for (char c : d.digits()) out.push_back(static_cast<char>('9' - c + '0'));
  out.push_back(static_cast<char>(negative_end));
  return out;
}

decimal decode_number(std::string_view b) {
  if (b.empty()) throw std::invalid_argument("key_codec: empty number");
  if (b[0] == zero_tag && b.size() == 1) return decimal{};
  if (b.size() < 3) throw std::invalid_argument("key_codec: short number");
  const auto e = static_cast<unsigned char>(b[1]);
  if (b[0] == positive_tag) {
    return decimal::from_parts(false, std::string(b.substr(2)), int{e} - exponent_bias);
  }
  if (b[0] != negative_tag || static_cast<unsigned char>(b.back()) != negative_end) {
    throw std::invalid_argument("key_codec: bad number tag");
  }
  std::string digits;
  for (char c : b.substr(2, b.size() - 3)) digits.push_back(static_cast<char>('9' - c + '0'));
  return decimal::from_parts(true, std::move(digits), (255 - int{e}) - exponent_bias);
}

}  // namespace

std::optional<key_type> parse_key_type(std::string_view type) {
  if (type == "S") return key_type::s;
  if (type == "N") return key_type::n;
  if (type == "B") return key_type::b;
  return std::nullopt;
}

std::string encode_key_value(const json::value& v) {
  const std::string_view t = attribute_type(v);
  if (t != "S" && t != "N" && t != "B") {
    throw api_error::validation(
        "One or more parameter values were invalid: Key attributes must be of type S, N or B");
  }
  const json::string& s = v.get_object().begin()->value().get_string();
  if (t == "S") return std::string(s);
  if (t == "N") return encode_number(decimal::parse(s));
  auto bytes = base64_decode(s);
  if (!bytes) throw api_error::serialization("Invalid base64 in key attribute");
  return std::move(*bytes);
}

json::value decode_key_value(std::string_view bytes, key_type t) {
  switch (t) {
    case key_type::s:
      return json::object{{"S", bytes}};
    case key_type::n:
      return json::object{{"N", decode_number(bytes).to_string()}};
    case key_type::b:
      return json::object{{"B", base64_encode(bytes)}};
  }
  throw std::invalid_argument("key_codec: bad key type");
}

std::string encode_hash_prefix(const json::value& hash) {
  std::string out = encode_key_value(hash);
  // Escape each 0x00 (rare: binary keys, number digits never) in place, then terminate.
  for (auto z = out.find('\0'); z != std::string::npos; z = out.find('\0', z + 2))
    out.insert(z + 1, 1, static_cast<char>(0xFF));
  out.push_back('\0');
  out.push_back('\x01');
  return out;
}

std::optional<std::size_t> hash_prefix_size(std::string_view bytes) {
  // A 0x00 in the key is escaped as 00 FF; the terminator is 00 01.
  for (auto z = bytes.find('\0'); z != std::string_view::npos && z + 1 < bytes.size();
       z = bytes.find('\0', z + 2)) {
    if (bytes[z + 1] == '\x01') return z + 2;
    if (bytes[z + 1] != static_cast<char>(0xFF)) return std::nullopt;
  }
  return std::nullopt;
}

std::string encode_primary_key(const json::value& hash, const json::value* range) {
  std::string out = encode_hash_prefix(hash);
  if (range) out += encode_key_value(*range);
  return out;
}

std::pair<json::value, std::optional<json::value>> decode_primary_key(
    std::string_view bytes, key_type hash_type, std::optional<key_type> range_type) {
  std::string raw;
  std::size_t i = 0;
  for (;; ++i) {
    if (i >= bytes.size()) throw std::invalid_argument("key_codec: unterminated hash key");
    if (bytes[i] != '\0') {
      raw.push_back(bytes[i]);
      continue;
    }
    if (i + 1 >= bytes.size()) throw std::invalid_argument("key_codec: truncated escape");
    if (bytes[i + 1] == static_cast<char>(0xFF)) {
      raw.push_back('\0');
      ++i;
      continue;
    }
    if (bytes[i + 1] != '\x01') throw std::invalid_argument("key_codec: bad escape");
    i += 2;
    break;
  }
  std::pair<json::value, std::optional<json::value>> out{decode_key_value(raw, hash_type),
                                                         std::nullopt};
  if (range_type) {
    out.second = decode_key_value(bytes.substr(i), *range_type);
  } else if (i != bytes.size()) {
    throw std::invalid_argument("key_codec: trailing bytes after hash key");
  }
  return out;
}

}  // namespace mysfits::table
