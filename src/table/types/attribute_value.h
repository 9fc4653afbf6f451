// Attribute values in DynamoDB's JSON wire form ({"S":"x"}, {"N":"1"}, {"M":{…}}, …): validation
// with DynamoDB's errors, item size as DynamoDB counts it, equality, scalar ordering, base64.
// Used by the request handlers (api/), the expression engine (expr/) and storage.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <compare>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mysfits::table {

// Largest item DynamoDB stores (400 KB, names included).
inline constexpr std::size_t max_item_size = 400 * 1024;
// Longest attribute name DynamoDB accepts, top-level or a map key (bytes).
inline constexpr std::size_t max_attribute_name_size = 65535;
// DynamoDB's document nesting limit: 32 levels, the top-level attribute being the first (31
// M/L wrappers around a scalar are accepted, 32 are not).
inline constexpr int max_nesting_depth = 32;

// JSON nesting every parser of requests, stored items and records must accept: each M or L level
// takes two JSON levels, and the deepest envelope (BatchWriteItem's, a stream or replication
// record) adds a handful more. Boost.JSON's default (32) would refuse items nested 15 deep.
inline constexpr std::size_t max_json_depth = 2 * max_nesting_depth + 64;
[[nodiscard]] boost::json::parse_options json_parse_options();

// Throws api_error::validation unless `v` is one well-formed attribute value: exactly one type
// key, right JSON types, valid numbers and base64, non-empty duplicate-free sets, depth ≤ 32.
void validate_attribute_value(const boost::json::value& v);
// Validates every attribute of an item (names 1..max_attribute_name_size bytes, values as above,
// total ≤ 400 KB); returns its item_size.
std::size_t validate_item(const boost::json::object& item);
// One attribute of an item as validate_item checks it (name and value), without the size limit.
void validate_item_attribute(std::string_view name, const boost::json::value& v);

// As validate_attribute_value, plus the key rules: type S, N or B only (matching `expected_type`
// when given) and no empty string/binary. `name` is used in the messages.
void validate_key_attribute(std::string_view name, const boost::json::value& v,
                            std::optional<std::string_view> expected_type = std::nullopt);

// Rewrites every number inside a validated value (N, NS elements, nested in M/L) to decimal's
// canonical text, which is how DynamoDB returns numbers ("1.50" → "1.5", "1e3" → "1000").
void canonicalize_numbers(boost::json::value& v);
void canonicalize_item(boost::json::object& item);

// The type key of a (validated) value: "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS".
[[nodiscard]] std::string_view attribute_type(const boost::json::value& v);

// DynamoDB's size accounting: name bytes + value bytes (strings UTF-8 length, numbers about
// digits/2 + 1, binary decoded length, +3 per M/L and +1 per element…).
[[nodiscard]] std::size_t attribute_value_size(const boost::json::value& v);
[[nodiscard]] std::size_t item_size(const boost::json::object& item);

// Equality as DynamoDB compares values (numbers numerically, sets order-insensitive, binary by
// decoded bytes, M/L recursively).
[[nodiscard]] bool attribute_values_equal(const boost::json::value& a, const boost::json::value& b);
// The identity of a set element: the string for SS, the canonical number text for NS, the
// decoded bytes for BS (so "1.0" and "1" are one NS element). `set_type` is "SS", "NS" or "BS".
// Lets set operations use ordered containers instead of pairwise comparison.
[[nodiscard]] std::string set_element_key(std::string_view set_type, const boost::json::value& e);

// Order of two scalars for <, <=, >, >=, BETWEEN: S with S and B with B bytewise, N with N
// numerically; nullopt for any other pair (the comparison is then false).
[[nodiscard]] std::optional<std::strong_ordering> compare_scalar(const boost::json::value& a,
                                                                 const boost::json::value& b);

// Standard base64 (with padding). decode returns nullopt on malformed input.
[[nodiscard]] std::string base64_encode(std::string_view bytes);
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mysfits::table
