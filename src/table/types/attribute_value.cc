// Attribute value rules: validation (DynamoDB's ValidationException/SerializationException
// messages), size accounting, equality and scalar order, base64 through Boost.Beast.
#include "types/attribute_value.h"

#include <algorithm>
#include <array>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <set>
#include <vector>

#include "api/api_error.h"
#include "types/decimal.h"

namespace mysfits::table {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 10> type_names = {"S", "N", "B",  "BOOL", "NULL",
                                                         "M", "L", "SS", "NS",   "BS"};

const std::string invalid = "One or more parameter values were invalid: ";

[[noreturn]] void fail_serialization(std::string_view what) {
  throw api_error::serialization(std::string(what));
}

const json::string& expect_string(const json::value& v) {
  if (!v.is_string()) fail_serialization("Unexpected value type in payload");
  return v.get_string();
}

const json::array& expect_array(const json::value& v) {
  if (!v.is_array()) fail_serialization("Unexpected field type");
  return v.get_array();
}

bool valid_base64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '+' || c == '/';
    if (c == '=') {
      ++pad;
      if (pad > 2) return false;
    } else if (!alpha || pad > 0) {
      return false;
    }
  }
  return true;
}

void validate_binary(const json::value& v) {
  const auto& s = expect_string(v);
  if (!valid_base64(s)) {
    fail_serialization("Base64 encoded length is expected a multiple of 4 bytes but found: " +
                       std::to_string(s.size()));
  }
}

std::string join_set(const json::array& a) {
  std::string out = "[";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i) out += ", ";
    if (a[i].is_string()) out += std::string_view(a[i].get_string());
  }
  return out + "]";
}

void validate_set(std::string_view type, const json::array& a) {
  if (a.empty()) {
    if (type == "SS") throw api_error::validation(invalid + "An string set  may not be empty");
    if (type == "NS") throw api_error::validation(invalid + "An number set  may not be empty");
    throw api_error::validation(invalid + "Binary sets should not be empty");
  }
  if (type == "NS") {
    std::set<decimal> seen;  // ordered: validation stays O(n log n) on 400 KB sets
    for (const auto& e : a) {
      if (!seen.insert(decimal::parse(expect_string(e))).second) {
        throw api_error::validation(invalid + "Input collection " + join_set(a) +
                                    " contains duplicates.");
      }
    }
    return;
  }
  std::set<std::string_view> seen;
  for (const auto& e : a) {
    const auto& s = expect_string(e);
    if (type == "BS") validate_binary(e);
    if (!seen.insert(std::string_view(s)).second) {
      throw api_error::validation(invalid + "Input collection " + join_set(a) +
                                  " contains duplicates.");
    }
  }
}

api_error nesting_error() {
  return api_error::validation(
      "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels "
      "beyond supported limit");
}

void check_name_size(std::string_view name) {
  if (name.size() > max_attribute_name_size)
    throw api_error::validation(
        "1 validation error detected: Attribute name is too large, must be less than 65536 bytes");
}

void validate(const json::value& v, int depth) {
  if (depth >= max_nesting_depth) throw nesting_error();  // depth 0: the top-level attribute
  if (!v.is_object()) fail_serialization("Unexpected value type in payload");
  const auto& o = v.get_object();
  if (o.empty()) {
    throw api_error::validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  }
  if (o.size() > 1) {
    throw api_error::validation(
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
        "the supported datatypes");
  }
  const auto& [key, inner] = *o.begin();
  const std::string_view type = key;
  if (type == "S") {
    (void)expect_string(inner);
  } else if (type == "N") {
    (void)decimal::parse(expect_string(inner));
  } else if (type == "B") {
    validate_binary(inner);
  } else if (type == "BOOL") {
    if (!inner.is_bool()) fail_serialization("Unexpected value type in payload");
  } else if (type == "NULL") {
    if (!inner.is_bool()) fail_serialization("Unexpected value type in payload");
    if (!inner.get_bool()) {
      throw api_error::validation(invalid +
                                  "Null attribute value types must have the value of true");
    }
  } else if (type == "M") {
    if (!inner.is_object()) fail_serialization("Unexpected value type in payload");
    for (const auto& [k, e] : inner.get_object()) {
      check_name_size(k);
      validate(e, depth + 1);
    }
  } else if (type == "L") {
    for (const auto& e : expect_array(inner)) validate(e, depth + 1);
  } else if (type == "SS" || type == "NS" || type == "BS") {
    validate_set(type, expect_array(inner));
  } else {
    fail_serialization("Unknown AttributeValue type: " + std::string(type));
  }
}

std::size_t number_size(std::string_view text) {
  auto d = decimal::try_parse(text);
  if (!d || d->is_zero()) return 1;
  // Digits are stored two per byte plus one byte of exponent and sign.
  return (d->digits().size() + 1) / 2 + 1;
}

std::size_t binary_size(std::string_view b64) {
  auto d = base64_decode(b64);
  return d ? d->size() : b64.size();
}

}  // namespace

void validate_attribute_value(const json::value& v) { validate(v, 0); }

json::parse_options json_parse_options() {
  json::parse_options o;
  o.max_depth = max_json_depth;
  return o;
}

void validate_item_attribute(std::string_view name, const json::value& v) {
  if (name.empty()) {
    throw api_error::validation(invalid + "An AttributeValue may not contain an empty string");
  }
  check_name_size(name);
  validate(v, 0);
}

std::size_t validate_item(const json::object& item) {
  for (const auto& [name, v] : item) validate_item_attribute(name, v);
  std::size_t size = item_size(item);
  if (size > max_item_size) {
    throw api_error::validation("Item size has exceeded the maximum allowed size");
  }
  return size;
}

void validate_key_attribute(std::string_view name, const json::value& v,
                            std::optional<std::string_view> expected_type) {
  validate(v, 0);
  const std::string_view t = attribute_type(v);
  if (expected_type && t != *expected_type) {
    throw api_error::validation(invalid + "Type mismatch for key " + std::string(name) +
                                " expected: " + std::string(*expected_type) +
                                " actual: " + std::string(t));
  }
  if (t != "S" && t != "N" && t != "B") {
    throw api_error::validation(invalid + "Type mismatch for key " + std::string(name));
  }
  if ((t == "S" || t == "B") && v.get_object().begin()->value().get_string().empty()) {
    throw api_error::validation(
        invalid + "The AttributeValue for a key attribute cannot contain an empty " +
        (t == "S" ? "string" : "binary") + " value. Key: " + std::string(name));
  }
}

namespace {

// Whether `s` is already written as decimal::to_string() writes it: plain digits, no exponent or
// '+', no leading zeros, no trailing zeros after the point, no negative zero. Most numbers
// clients send are; this spares them the parse and the rendering.
bool written_canonically(std::string_view s) {
  auto digits_from = [&](std::size_t i) {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i;
  };
  const std::size_t whole = s.starts_with('-') ? 1 : 0;
  const std::size_t point = digits_from(whole);
  const std::size_t whole_digits = point - whole;
  if (whole_digits == 0 || (whole_digits > 1 && s[whole] == '0')) return false;
  if (point == s.size()) return !(whole == 1 && s[whole] == '0');  // "-0"
  if (s[point] != '.') return false;
  const std::size_t end = digits_from(point + 1);
  return end == s.size() && end > point + 1 && s.back() != '0';
}

}  // namespace

void canonicalize_numbers(json::value& v) {
  const std::string_view t = attribute_type(v);
  if (t.empty()) return;
  json::value& inner = v.get_object().begin()->value();
  auto canonical = [](json::value& n) {
    if (!n.is_string() || written_canonically(n.get_string())) return;
    if (auto d = decimal::try_parse(n.get_string())) {
      std::string text = d->to_string();
      if (std::string_view(n.get_string()) != text) n = text;  // most numbers are canonical already
    }
  };
  if (t == "N") {
    canonical(inner);
  } else if (t == "NS") {
    for (auto& e : inner.get_array()) canonical(e);
  } else if (t == "L") {
    for (auto& e : inner.get_array()) canonicalize_numbers(e);
  } else if (t == "M") {
    for (auto& [k, e] : inner.get_object()) {
      (void)k;
      canonicalize_numbers(e);
    }
  }
}

void canonicalize_item(json::object& item) {
  for (auto& [k, v] : item) {
    (void)k;
    canonicalize_numbers(v);
  }
}

std::string_view attribute_type(const json::value& v) {
  if (!v.is_object() || v.get_object().size() != 1) return {};
  const std::string_view k = v.get_object().begin()->key();
  for (auto t : type_names) {
    if (t == k) return t;
  }
  return {};
}

std::size_t attribute_value_size(const json::value& v) {
  const std::string_view t = attribute_type(v);
  if (t.empty()) return 0;
  const json::value& inner = v.get_object().begin()->value();
  if (t == "S") return inner.get_string().size();
  if (t == "N") return number_size(inner.get_string());
  if (t == "B") return binary_size(inner.get_string());
  if (t == "BOOL" || t == "NULL") return 1;
  if (t == "M") {
    std::size_t n = 3;
    for (const auto& [k, e] : inner.get_object()) n += k.size() + attribute_value_size(e) + 1;
    return n;
  }
  if (t == "L") {
    std::size_t n = 3;
    for (const auto& e : inner.get_array()) n += attribute_value_size(e) + 1;
    return n;
  }
  std::size_t n = 0;
  for (const auto& e : inner.get_array()) {
    const std::string_view s = e.get_string();
    n += t == "SS" ? s.size() : (t == "NS" ? number_size(s) : binary_size(s));
  }
  return n;
}

std::size_t item_size(const json::object& item) {
  std::size_t n = 0;
  for (const auto& [k, v] : item) n += k.size() + attribute_value_size(v);
  return n;
}

bool attribute_values_equal(const json::value& a, const json::value& b) {
  const std::string_view ta = attribute_type(a);
  const std::string_view tb = attribute_type(b);
  if (ta.empty() || ta != tb) return false;
  const json::value& x = a.get_object().begin()->value();
  const json::value& y = b.get_object().begin()->value();
  if (ta == "N") {
    auto dx = decimal::try_parse(x.get_string());
    auto dy = decimal::try_parse(y.get_string());
    return dx && dy && *dx == *dy;
  }
  if (ta == "B") return base64_decode(x.get_string()) == base64_decode(y.get_string());
  if (ta == "S" || ta == "BOOL" || ta == "NULL") return x == y;
  if (ta == "L") {
    const auto& la = x.get_array();
    const auto& lb = y.get_array();
    if (la.size() != lb.size()) return false;
    for (std::size_t i = 0; i < la.size(); ++i) {
      if (!attribute_values_equal(la[i], lb[i])) return false;
    }
    return true;
  }
  if (ta == "M") {
    const auto& ma = x.get_object();
    const auto& mb = y.get_object();
    if (ma.size() != mb.size()) return false;
    for (const auto& [k, e] : ma) {
      auto it = mb.find(k);
      if (it == mb.end() || !attribute_values_equal(e, it->value())) return false;
    }
    return true;
  }
  // Sets: the same elements in any order (sorted keys, so large sets stay O(n log n)).
  const auto& sa = x.get_array();
  const auto& sb = y.get_array();
  if (sa.size() != sb.size()) return false;
  std::vector<std::string> ka, kb;
  ka.reserve(sa.size());
  kb.reserve(sb.size());
  for (const auto& e : sa) ka.push_back(set_element_key(ta, e));
  for (const auto& e : sb) kb.push_back(set_element_key(ta, e));
  std::sort(ka.begin(), ka.end());
  std::sort(kb.begin(), kb.end());
  return ka == kb;
}

std::string set_element_key(std::string_view set_type, const json::value& e) {
  if (!e.is_string()) return {};
  const std::string_view s = e.get_string();
  if (set_type == "NS") {
    auto d = decimal::try_parse(s);
    return d ? d->to_string() : std::string(s);
  }
  if (set_type == "BS") {
    auto b = base64_decode(s);
    return b ? std::move(*b) : std::string(s);
  }
  return std::string(s);
}

std::optional<std::strong_ordering> compare_scalar(const json::value& a, const json::value& b) {
  const std::string_view ta = attribute_type(a);
  const std::string_view tb = attribute_type(b);
  if (ta != tb || (ta != "S" && ta != "N" && ta != "B")) return std::nullopt;
  const json::value& x = a.get_object().begin()->value();
  const json::value& y = b.get_object().begin()->value();
  if (!x.is_string() || !y.is_string()) return std::nullopt;
  if (ta == "N") {
    auto dx = decimal::try_parse(x.get_string());
    auto dy = decimal::try_parse(y.get_string());
    if (!dx || !dy) return std::nullopt;
    return *dx <=> *dy;
  }
  std::string bx, by;
  if (ta == "B") {
    auto ox = base64_decode(x.get_string());
    auto oy = base64_decode(y.get_string());
    if (!ox || !oy) return std::nullopt;
    bx = std::move(*ox);
    by = std::move(*oy);
  } else {
    bx = x.get_string();
    by = y.get_string();
  }
  // Bytewise, unsigned: std::string::compare uses char_traits<char>, which compares as unsigned.
  const int c = bx.compare(by);
  return c <=> 0;
}

std::string base64_encode(std::string_view bytes) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  namespace b64 = boost::beast::detail::base64;
  if (!valid_base64(text)) return std::nullopt;
  std::string out(b64::decoded_size(text.size()), '\0');
  auto [written, read] = b64::decode(out.data(), text.data(), text.size());
  (void)read;  // validated above, so the whole input is consumed
  out.resize(written);
  return out;
}

}  // namespace mysfits::table
