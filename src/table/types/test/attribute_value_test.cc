// Unit tests of attribute value validation, sizes, equality, scalar order and base64.
#include "types/attribute_value.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "api/api_error.h"
#include "types/decimal.h"

namespace mysfits::table {
namespace {

boost::json::value j(std::string_view s) {
  boost::json::parse_options opts;
  opts.max_depth = 1000;  // the request parser must allow deep documents too
  return boost::json::parse(s, {}, opts);
}

std::string validation_error(std::string_view text) {
  try {
    validate_attribute_value(j(text));
  } catch (const api_error& e) {
    return e.type() + ": " + e.message();
  }
  return "";
}

// Well-formed values of every type pass.
TEST(AttributeValue, AcceptsEveryType) {
  for (auto s : {R"({"S":""})", R"({"N":"-1.5"})", R"({"B":"AAEC"})", R"({"BOOL":false})",
                 R"({"NULL":true})", R"({"M":{"a":{"L":[{"S":"x"},{"N":"1"}]}}})",
                 R"({"SS":["a","b"]})", R"({"NS":["1","2.5"]})", R"({"BS":["AA==","AQ=="]})"}) {
    EXPECT_EQ(validation_error(s), "") << s;
  }
}

// attribute_type names each of the ten types and nothing else (it picks by length and first
// letter, so near misses must still come back empty).
TEST(AttributeValue, TypeOfEachShape) {
  for (std::string_view t : {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}) {
    boost::json::object o;
    o[t] = "x";
    EXPECT_EQ(attribute_type(o), t);
  }
  for (std::string_view t : {"", "X", "s", "SSS", "SN", "LL", "MM", "BOOX", "NULX", "bool", "NUL",
                             "BOOLS", "L ", "Bs"}) {
    boost::json::object o;
    o[t] = "x";
    EXPECT_EQ(attribute_type(o), "") << t;
  }
  EXPECT_EQ(attribute_type(boost::json::value("S")), "");
  EXPECT_EQ(attribute_type(boost::json::object{{"S", "x"}, {"N", "1"}}), "");
}

// Each malformed shape gets DynamoDB's message.
TEST(AttributeValue, RejectsMalformedValues) {
  const std::string inv = "ValidationException: One or more parameter values were invalid: ";
  EXPECT_EQ(validation_error(R"({"NS":[]})"), inv + "An number set  may not be empty");
  EXPECT_EQ(validation_error(R"({"SS":[]})"), inv + "An string set  may not be empty");
  EXPECT_EQ(validation_error(R"({"BS":[]})"), inv + "Binary sets should not be empty");
  EXPECT_EQ(validation_error(R"({"SS":["a","a"]})"),
            inv + "Input collection [a, a] contains duplicates.");
  EXPECT_EQ(validation_error(R"({"NS":["1","1.0"]})"),
            inv + "Input collection [1, 1.0] contains duplicates.");
  EXPECT_EQ(validation_error(R"({"NULL":false})"),
            inv + "Null attribute value types must have the value of true");
  EXPECT_EQ(validation_error(R"({"N":"x"})"),
            "ValidationException: The parameter cannot be converted to a numeric value");
  EXPECT_EQ(validation_error(R"({})"),
            "ValidationException: Supplied AttributeValue is empty, must contain exactly one of "
            "the supported datatypes");
  EXPECT_NE(validation_error(R"({"S":"a","N":"1"})").find("more than one datatypes"),
            std::string::npos);
  EXPECT_NE(validation_error(R"({"B":"abc"})"), "");
  EXPECT_NE(validation_error(R"({"S":1})"), "");
  EXPECT_NE(validation_error(R"({"X":"1"})"), "");
}

// DynamoDB refuses documents nested deeper than 32 levels, the attribute itself being the first:
// 31 lists around a scalar are fine, 32 are not.
TEST(AttributeValue, LimitsNesting) {
  std::string deep = R"({"S":"x"})";
  for (int i = 0; i < 31; ++i) deep = R"({"L":[)" + deep + "]}";
  EXPECT_EQ(validation_error(deep), "");
  deep = R"({"L":[)" + deep + "]}";
  EXPECT_EQ(validation_error(deep),
            "ValidationException: Nesting Levels have exceeded supported limits: Attributes in "
            "the item have nested levels beyond supported limit");
}

// Keys must be S/N/B of the declared type and not empty.
TEST(AttributeValue, ValidatesKeyAttributes) {
  EXPECT_NO_THROW(validate_key_attribute("id", j(R"({"S":"a"})"), "S"));
  EXPECT_THROW(validate_key_attribute("id", j(R"({"S":""})"), "S"), api_error);
  EXPECT_THROW(validate_key_attribute("id", j(R"({"N":"1"})"), "S"), api_error);
  EXPECT_THROW(validate_key_attribute("id", j(R"({"BOOL":true})")), api_error);
}

// Items over 400 KB are refused; exactly 400 KB is fine.
TEST(AttributeValue, ItemSizeLimit) {
  boost::json::object item;
  item["k"] = boost::json::object{{"S", std::string(400 * 1024 - 1, 'x')}};
  EXPECT_NO_THROW(validate_item(item));
  item["k"] = boost::json::object{{"S", std::string(400 * 1024, 'x')}};
  EXPECT_THROW(validate_item(item), api_error);
}

// Stored numbers come back in DynamoDB's canonical form, nested ones too.
TEST(AttributeValue, CanonicalizesNumbers) {
  auto item = j(R"({"n": {"N": "1.50"}, "s": {"NS": ["1e3", "-0.0"]},
                   "m": {"M": {"l": {"L": [{"N": "007"}, {"S": "1.50"}]}}}})")
                  .as_object();
  canonicalize_item(item);
  EXPECT_EQ(item, j(R"({"n": {"N": "1.5"}, "s": {"NS": ["1000", "0"]},
                        "m": {"M": {"l": {"L": [{"N": "7"}, {"S": "1.50"}]}}}})")
                      .as_object());
}

// Texts already in canonical form are kept without a parse; every other form is rewritten to
// what the decimal renders, at each boundary of the canonical shape.
TEST(AttributeValue, CanonicalFormIsRecognisedExactly) {
  for (std::string text :
       {"0",   "7",    "-7",   "10",    "0.1",  "-0.05", "123.456", "1000", "-0",
        "00",  "-00",  "007",  "0.10",  "1.0",  "1.",    ".5",      "-.5",  "+5",
        "1e3", "1E+2", "5e-1", "0.000", "-0.0", "12a",   "",        "-",    "1.2.3"}) {
    boost::json::object item{{"n", boost::json::object{{"N", text}}}};
    canonicalize_item(item);
    auto parsed = decimal::try_parse(text);
    EXPECT_EQ(std::string_view(item["n"].as_object()["N"].as_string()),
              parsed ? parsed->to_string() : text)
        << text;
  }
}

// Sizes follow DynamoDB's accounting: name + value bytes.
TEST(AttributeValue, ItemSize) {
  EXPECT_EQ(item_size(j(R"({"ab":{"S":"xyz"}})").get_object()), 5u);
  EXPECT_EQ(item_size(j(R"({"n":{"N":"12345"}})").get_object()), 1u + 4u);
  EXPECT_EQ(item_size(j(R"({"b":{"B":"AAEC"}})").get_object()), 1u + 3u);
  EXPECT_EQ(item_size(j(R"({"t":{"BOOL":true}})").get_object()), 2u);
  EXPECT_EQ(item_size(j(R"({"m":{"M":{"k":{"S":"v"}}}})").get_object()), 1u + 3u + 1u + 1u + 1u);
}

// Equality is numeric for numbers and order-insensitive for sets.
TEST(AttributeValue, Equality) {
  EXPECT_TRUE(attribute_values_equal(j(R"({"N":"1.50"})"), j(R"({"N":"1.5"})")));
  EXPECT_TRUE(attribute_values_equal(j(R"({"SS":["a","b"]})"), j(R"({"SS":["b","a"]})")));
  EXPECT_TRUE(attribute_values_equal(j(R"({"NS":["1","2"]})"), j(R"({"NS":["2.0","1"]})")));
  EXPECT_FALSE(attribute_values_equal(j(R"({"SS":["a"]})"), j(R"({"SS":["a","b"]})")));
  EXPECT_FALSE(attribute_values_equal(j(R"({"S":"1"})"), j(R"({"N":"1"})")));
  EXPECT_TRUE(attribute_values_equal(j(R"({"M":{"a":{"N":"1"},"b":{"L":[{"S":"x"}]}}})"),
                                     j(R"({"M":{"b":{"L":[{"S":"x"}]},"a":{"N":"1.0"}}})")));
  EXPECT_FALSE(attribute_values_equal(j(R"({"L":[{"S":"x"},{"S":"y"}]})"),
                                      j(R"({"L":[{"S":"y"},{"S":"x"}]})")));
}

// Large sets (a 400 KB item holds tens of thousands of elements) validate and compare by sorted
// keys; a pairwise implementation would take minutes here.
TEST(AttributeValue, LargeSets) {
  boost::json::array a, b;
  for (int i = 0; i < 10000; ++i) a.push_back(boost::json::string(std::to_string(i)));
  for (int i = 10000; i-- > 0;) b.push_back(boost::json::string(std::to_string(i) + ".0"));
  const boost::json::value x = boost::json::object{{"NS", a}}, y = boost::json::object{{"NS", b}};
  EXPECT_NO_THROW(validate_attribute_value(x));
  EXPECT_TRUE(attribute_values_equal(x, y));
  a.push_back(boost::json::string("0.00"));
  EXPECT_THROW(validate_attribute_value(boost::json::object{{"NS", a}}), api_error);
}

// Only S/S, N/N and B/B compare; strings bytewise (UTF-8 bytes unsigned).
TEST(AttributeValue, CompareScalar) {
  EXPECT_EQ(compare_scalar(j(R"({"N":"10"})"), j(R"({"N":"9"})")), std::strong_ordering::greater);
  EXPECT_EQ(compare_scalar(j(R"({"S":"10"})"), j(R"({"S":"9"})")), std::strong_ordering::less);
  EXPECT_EQ(compare_scalar(j(R"({"S":"\u00e9"})"), j(R"({"S":"z"})")),
            std::strong_ordering::greater);
  EXPECT_EQ(compare_scalar(j(R"({"B":"/w=="})"), j(R"({"B":"AA=="})")),
            std::strong_ordering::greater);
  EXPECT_EQ(compare_scalar(j(R"({"S":"1"})"), j(R"({"N":"1"})")), std::nullopt);
  EXPECT_EQ(compare_scalar(j(R"({"BOOL":true})"), j(R"({"BOOL":true})")), std::nullopt);
}

// Base64 round-trips and rejects malformed text.
TEST(AttributeValue, Base64) {
  EXPECT_EQ(base64_encode(std::string("\0\1\2", 3)), "AAEC");
  EXPECT_EQ(base64_decode("AAEC"), std::string("\0\1\2", 3));
  EXPECT_EQ(base64_decode("aGk="), "hi");
  EXPECT_EQ(base64_decode("aGk"), std::nullopt);
  EXPECT_EQ(base64_decode("a=Gk"), std::nullopt);
  EXPECT_EQ(base64_decode("a*Gk"), std::nullopt);
}

}  // namespace
}  // namespace mysfits::table
