// table::decimal: DynamoDB's Number type — up to 38 significant decimal digits, magnitude
// 1E-130 .. 9.9999999999999999999999999999999999999E+125, exact parse, exact + and -, total order.
// Used by attribute validation, key encoding (key_codec) and update arithmetic (ADD, SET a = a +
// :n).
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace mysfits::table {

class decimal {
 public:
  static constexpr int max_digits = 38;
  // value = 0.d1d2d3… × 10^exponent; these are the bounds of `exponent()` for non-zero values.
  static constexpr int min_exponent = -129;  // 1E-130
  static constexpr int max_exponent = 126;   // 9.99…E+125

  decimal() = default;  // zero

  // Parses DynamoDB's number syntax ("-12.5", "1e3", ".5", "+7"); throws api_error::validation
  // with DynamoDB's messages for bad syntax, too many digits, overflow and underflow.
  [[nodiscard]] static decimal parse(std::string_view text);
  // As parse, but returns nullopt instead of throwing.
  [[nodiscard]] static std::optional<decimal> try_parse(std::string_view text) noexcept;
  [[nodiscard]] static decimal from_int(long long v);

  // Canonical text as DynamoDB returns it: no exponent, no trailing zeros, "0" for zero.
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] bool is_zero() const noexcept { return digits_.empty(); }
  [[nodiscard]] bool is_negative() const noexcept { return negative_; }
  // Significant digits ('0'..'9', no leading or trailing zeros; empty for zero).
  [[nodiscard]] const std::string& digits() const noexcept { return digits_; }
  // Exponent of the 0.d1d2… form; meaningless for zero.
  [[nodiscard]] int exponent() const noexcept { return exponent_; }
  // Builds from parts (digits without leading/trailing zeros); no range check.
  [[nodiscard]] static decimal from_parts(bool negative, std::string digits, int exponent);

  // Exact arithmetic; throws api_error::validation ("Number overflow…") when the exact result
  // needs more than 38 digits or leaves the supported range.
  friend decimal operator+(const decimal& a, const decimal& b);
  friend decimal operator-(const decimal& a, const decimal& b);
  decimal operator-() const;

  friend std::strong_ordering operator<=>(const decimal& a, const decimal& b) noexcept;
  friend bool operator==(const decimal& a, const decimal& b) noexcept = default;

 private:
  bool negative_ = false;
  std::string digits_;
  int exponent_ = 0;
};

}  // namespace mysfits::table
