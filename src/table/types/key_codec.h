// Order-preserving byte encoding of key attributes: memcmp order of the encodings equals
// DynamoDB's key order (numbers numerically, strings and binary bytewise). Storage builds its
// RocksDB keys from these; decode gives back the wire value for responses and LastEvaluatedKey.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mysfits::table {

// Type of a key attribute (AttributeDefinitions' AttributeType).
enum class key_type : char { s = 'S', n = 'N', b = 'B' };

// nullopt for anything other than "S", "N", "B".
[[nodiscard]] std::optional<key_type> parse_key_type(std::string_view type);

// Encodes a validated {"S"|"N"|"B": …} value. Throws api_error::validation for other types.
[[nodiscard]] std::string encode_key_value(const boost::json::value& v);
// Inverse of encode_key_value for a value of type `t`; throws std::invalid_argument on bytes that
// encode_key_value cannot have produced (corrupt storage, never user input).
[[nodiscard]] boost::json::value decode_key_value(std::string_view bytes, key_type t);

// Hash key encoding, escaped and terminated so that no encoded hash key is a prefix of another:
// all items of one hash key are contiguous and ordered by range key.
[[nodiscard]] std::string encode_primary_key(const boost::json::value& hash,
                                             const boost::json::value* range = nullptr);
// The prefix every primary key with this hash value starts with (for Query).
[[nodiscard]] std::string encode_hash_prefix(const boost::json::value& hash);
// The length of the encoded hash key that `bytes` starts with (encode_hash_prefix's output, its
// terminator included), read without decoding it; nullopt when `bytes` holds no terminated hash
// key (corrupt storage, never user input).
[[nodiscard]] std::optional<std::size_t> hash_prefix_size(std::string_view bytes);
// Inverse of encode_primary_key.
[[nodiscard]] std::pair<boost::json::value, std::optional<boost::json::value>> decode_primary_key(
    std::string_view bytes, key_type hash_type, std::optional<key_type> range_type);

}  // namespace mysfits::table
