// Unit tests of the order-preserving key encoding against decimal and bytewise order.
#include "types/key_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <random>

#include "types/decimal.h"

namespace mysfits::table {
namespace {

boost::json::value num(const std::string& s) { return boost::json::object{{"N", s}}; }
boost::json::value str(const std::string& s) { return boost::json::object{{"S", s}}; }

// memcmp order of encoded numbers must equal numeric order, including across exponents/signs.
TEST(KeyCodec, NumberOrderMatchesDecimalOrder) {
  std::vector<std::string> nums = {
      "0",       "1",        "-1",  "10", "-10", "0.1",   "-0.1",   "0.12",   "-0.12",
      "0.123",   "-0.123",   "9",   "-9", "99",  "1E125", "-1E125", "1E-130", "-1E-130",
      "123.456", "-123.456", "1.5", "2",  "15",  "-1.5",  "-15"};
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> digit(0, 9), len(1, 38), exp(-129, 125), coin(0, 1);
  for (int i = 0; i < 150; ++i) {
    std::string d;
    const int n = len(rng);
    d.push_back(static_cast<char>('1' + digit(rng) % 9));
    for (int k = 1; k < n; ++k) d.push_back(static_cast<char>('0' + digit(rng)));
    std::string s = (coin(rng) ? "-" : "") + d + "E" + std::to_string(exp(rng) - n + 1);
    if (decimal::try_parse(s)) nums.push_back(s);
  }
  for (const auto& a : nums) {
    const auto ea = encode_key_value(num(a));
    // Round trip gives the canonical text.
    EXPECT_EQ(decode_key_value(ea, key_type::n).at("N").as_string(), decimal::parse(a).to_string());
    for (const auto& b : nums) {
      const auto eb = encode_key_value(num(b));
      EXPECT_EQ(ea.compare(eb) <=> 0, decimal::parse(a) <=> decimal::parse(b)) << a << " " << b;
    }
  }
}

// Strings and binary order bytewise and round-trip.
TEST(KeyCodec, StringAndBinary) {
  EXPECT_LT(encode_key_value(str("a")), encode_key_value(str("b")));
  EXPECT_LT(encode_key_value(str("a")), encode_key_value(str("ab")));
  EXPECT_LT(encode_key_value(str("z")), encode_key_value(str("\xc3\xa9")));
  const boost::json::value b = boost::json::object{{"B", "AAEC"}};
  EXPECT_EQ(decode_key_value(encode_key_value(b), key_type::b), b);
  EXPECT_EQ(decode_key_value("hi", key_type::s), str("hi"));
}

// Items of one hash key are contiguous and ordered by range key; prefixes never collide.
// Scan's segments read the hash key's bytes off a stored key: hash_prefix_size is the length
// encode_hash_prefix gives, whatever follows and however many escaped zeros the hash holds.
TEST(KeyCodec, HashPrefixSizeFindsTheEncodedHashKey) {
  const auto r = num("7");
  for (const boost::json::value& h :
       {str("a"), num("-12.5"), boost::json::value(boost::json::object{{"B", "AABhAA=="}}),
        boost::json::value(boost::json::object{{"B", "AA=="}})}) {
    const auto prefix = encode_hash_prefix(h);
    EXPECT_EQ(hash_prefix_size(prefix), prefix.size());
    EXPECT_EQ(hash_prefix_size(encode_primary_key(h, &r)), prefix.size());
    EXPECT_EQ(hash_prefix_size(prefix + encode_hash_prefix(str("b"))), prefix.size());
  }
  // No terminator, a cut escape, an escape that cannot be: not a stored key.
  EXPECT_EQ(hash_prefix_size("abc"), std::nullopt);
  EXPECT_EQ(hash_prefix_size(std::string("a\0", 2)), std::nullopt);
  EXPECT_EQ(hash_prefix_size(std::string("a\0\x02", 3)), std::nullopt);
  EXPECT_EQ(hash_prefix_size(""), std::nullopt);
}

TEST(KeyCodec, PrimaryKeyGroupsByHashAndOrdersByRange) {
  const boost::json::value a = str("a"), a0 = boost::json::object{{"B", "YQA="}};  // "a\0"
  const boost::json::value ab = str("ab");
  const auto r1 = num("1"), r2 = num("2"), rneg = num("-5");
  const auto k_a_neg = encode_primary_key(a, &rneg), k_a_1 = encode_primary_key(a, &r1),
             k_a_2 = encode_primary_key(a, &r2), k_ab_neg = encode_primary_key(ab, &rneg);
  EXPECT_LT(k_a_neg, k_a_1);
  EXPECT_LT(k_a_1, k_a_2);
  EXPECT_LT(k_a_2, k_ab_neg);
  const auto prefix = encode_hash_prefix(a);
  EXPECT_TRUE(k_a_2.starts_with(prefix));
  EXPECT_FALSE(k_ab_neg.starts_with(prefix));
  EXPECT_FALSE(encode_primary_key(a0, &r1).starts_with(
      encode_hash_prefix(boost::json::object{{"B", "YQ=="}})));
  auto [h, r] = decode_primary_key(k_a_neg, key_type::s, key_type::n);
  EXPECT_EQ(h, a);
  EXPECT_EQ(r, rneg);
  // Every 0x00 is escaped, consecutive ones and a trailing one too.
  const boost::json::value zeros = boost::json::object{{"B", "AABhAA=="}};  // 00 00 'a' 00
  EXPECT_EQ(encode_hash_prefix(zeros), std::string("\0\xFF\0\xFF"
                                                   "a\0\xFF\0\x01",
                                                   9));
  EXPECT_EQ(decode_primary_key(encode_primary_key(zeros), key_type::b, std::nullopt).first, zeros);
  auto [h0, r0] = decode_primary_key(encode_primary_key(a0), key_type::b, std::nullopt);
  EXPECT_EQ(h0, a0);
  EXPECT_FALSE(r0.has_value());
  EXPECT_THROW((void)decode_primary_key("abc", key_type::s, std::nullopt), std::invalid_argument);
}

}  // namespace
}  // namespace mysfits::table
