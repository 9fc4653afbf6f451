// Unit tests of table::decimal: parsing, canonical text, exact arithmetic, ordering, limits.
#include "types/decimal.h"

#include <gtest/gtest.h>

#include "api/api_error.h"

namespace mysfits::table {
namespace {

std::string canon(std::string_view s) { return decimal::parse(s).to_string(); }

std::string error_of(std::string_view s) {
  try {
    (void)decimal::parse(s);
  } catch (const api_error& e) {
    return e.message();
  }
  return "";
}

// DynamoDB returns numbers without exponent and without trailing zeros.
TEST(Decimal, CanonicalText) {
  EXPECT_EQ(canon("1.50"), "1.5");
  EXPECT_EQ(canon("1e3"), "1000");
  EXPECT_EQ(canon("-0"), "0");
  EXPECT_EQ(canon("0.000"), "0");
  EXPECT_EQ(canon("+7"), "7");
  EXPECT_EQ(canon(".5"), "0.5");
  EXPECT_EQ(canon("5."), "5");
  EXPECT_EQ(canon("00012.3400"), "12.34");
  EXPECT_EQ(canon("-1.5E-3"), "-0.0015");
  EXPECT_EQ(canon("123.456e1"), "1234.56");
  EXPECT_EQ(canon("1E-130"), "0." + std::string(129, '0') + "1");
  EXPECT_EQ(canon("9.9999999999999999999999999999999999999E+125"),
            std::string(38, '9') + std::string(88, '0'));
}

// Forms DynamoDB accepts (from its documented and observed behaviour).
TEST(Decimal, AcceptsDynamoDbForms) {
  for (auto s : {"3", "-7.1234", "-17e5", "-17.4E37", "+3", ".123", "0001.23", "1e+5", "0e1000"}) {
    EXPECT_EQ(error_of(s), "") << s;
  }
  for (auto s : {"Infinity", "-Infinity", "-NaN", "dog"}) EXPECT_NE(error_of(s), "") << s;
}

// Malformed text gets DynamoDB's "cannot be converted" message.
TEST(Decimal, RejectsMalformed) {
  for (auto s : {"", "abc", "1..2", "1e", "e5", "--1", "1 ", " 1", "0x10", "1e+", ".", "NaN"}) {
    EXPECT_EQ(error_of(s), "The parameter cannot be converted to a numeric value") << s;
  }
}

// The 38-digit precision and the 1E-130..1E+126 range are DynamoDB's limits.
TEST(Decimal, EnforcesLimits) {
  EXPECT_EQ(error_of("1" + std::string(38, '1')),
            "Attempting to store more than 38 significant digits in a Number");
  EXPECT_EQ(error_of(std::string(38, '9')), "");
  EXPECT_EQ(error_of("1" + std::string(50, '0')), "");  // trailing zeros are not significant
  EXPECT_EQ(error_of("1E126"),
            "Number overflow. Attempting to store a number with magnitude larger than supported "
            "range");
  EXPECT_EQ(error_of("1E-131"),
            "Number underflow. Attempting to store a number with magnitude smaller than "
            "supported range");
  EXPECT_EQ(error_of("0E999999999999"), "");
}

// ADD and SET a = a + :n are exact decimal arithmetic.
TEST(Decimal, ExactAddition) {
  auto add = [](std::string_view a, std::string_view b) {
    return (decimal::parse(a) + decimal::parse(b)).to_string();
  };
  auto sub = [](std::string_view a, std::string_view b) {
    return (decimal::parse(a) - decimal::parse(b)).to_string();
  };
  EXPECT_EQ(add("0.1", "0.2"), "0.3");
  EXPECT_EQ(add("999", "1"), "1000");
  EXPECT_EQ(add("-5", "3"), "-2");
  EXPECT_EQ(add("5", "-5"), "0");
  EXPECT_EQ(sub("1", "0.001"), "0.999");
  EXPECT_EQ(sub("-1", "-1"), "0");
  EXPECT_EQ(sub("0", "7.5"), "-7.5");
  EXPECT_EQ(add(std::string(37, '9'), "1"), "1" + std::string(37, '0'));
  EXPECT_EQ(add("12345678901234567890123456789012345678", "1"),
            "12345678901234567890123456789012345679");
  EXPECT_EQ(add("1E125", "1E125"), "2" + std::string(125, '0'));
}

// Results that need more than 38 digits or leave the range are rejected as DynamoDB does.
TEST(Decimal, ArithmeticOverflowIsValidationError) {
  EXPECT_THROW((void)(decimal::parse("1E37") + decimal::parse("0.1")), api_error);
  try {
    (void)(decimal::parse("1e50") + decimal::parse("1"));
    ADD_FAILURE() << "1e50 + 1 needs 51 digits";
  } catch (const api_error& e) {
    // DynamoDB reports lost precision with its overflow message.
    EXPECT_EQ(e.message(),
              "Number overflow. Attempting to store a number with magnitude larger than "
              "supported range");
  }
  EXPECT_THROW((void)(decimal::parse("9.9E125") + decimal::parse("9.9E125")), api_error);
  try {
    (void)(decimal::parse(std::string(38, '9')) + decimal::parse("1"));
    EXPECT_EQ("1" + std::string(38, '0'),
              (decimal::parse(std::string(38, '9')) + decimal::parse("1")).to_string());
  } catch (const api_error&) {
    ADD_FAILURE() << "10^38 has one significant digit and is in range";
  }
}

// Ordering is numeric, not textual.
TEST(Decimal, TotalOrder) {
  const char* sorted[] = {"-1E100", "-100",  "-10", "-9.99", "-1",     "-0.5", "-1E-100", "0",
                          "1E-130", "0.001", "0.5", "1",     "1.0001", "2",    "10",      "1E125"};
  const std::size_t n = std::size(sorted);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      EXPECT_EQ(decimal::parse(sorted[i]) <=> decimal::parse(sorted[j]), i <=> j)
          << sorted[i] << " vs " << sorted[j];
    }
  }
  EXPECT_EQ(decimal::parse("1.50"), decimal::parse("1.5"));
}

}  // namespace
}  // namespace mysfits::table
