// table::decimal implementation: a sign, up to 38 significant digits as a digit string and a
// power-of-ten exponent. Arithmetic aligns both operands on a plain digit string (at most a few
// hundred digits, since exponents are bounded), adds or subtracts, then renormalises.
#include "types/decimal.h"

#include <algorithm>
#include <cstddef>

#include "api/api_error.h"

namespace mysfits::table {
namespace {

constexpr std::string_view not_numeric = "The parameter cannot be converted to a numeric value";
constexpr std::string_view overflow =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
constexpr std::string_view underflow =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";
constexpr std::string_view too_precise =
    "Attempting to store more than 38 significant digits in a Number";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Result of parsing without range checks: nullopt on syntax errors.
struct raw_number {
  bool negative = false;
  std::string digits;  // stripped of leading and trailing zeros
  long exponent = 0;
};

std::optional<raw_number> parse_raw(std::string_view s) {
  raw_number r;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) r.negative = s[i++] == '-';
  std::string all;
  long point = -1;
  bool any_digit = false;
  for (; i < s.size(); ++i) {
    if (is_digit(s[i])) {
      all.push_back(s[i]);
      any_digit = true;
    } else if (s[i] == '.' && point < 0) {
      point = static_cast<long>(all.size());
    } else {
      break;
    }
  }
  if (!any_digit) return std::nullopt;
  if (point < 0) point = static_cast<long>(all.size());
  long exp10 = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i == s.size()) return std::nullopt;
    for (; i < s.size(); ++i) {
      if (!is_digit(s[i])) return std::nullopt;
      // Saturate: anything this large is out of range either way.
      if (exp10 < 1'000'000) exp10 = exp10 * 10 + (s[i] - '0');
    }
    if (neg) exp10 = -exp10;
  }
  if (i != s.size()) return std::nullopt;
  std::size_t lead = 0;
  while (lead < all.size() && all[lead] == '0') ++lead;
  std::size_t end = all.size();
  while (end > lead && all[end - 1] == '0') --end;
  r.digits = all.substr(lead, end - lead);
  r.exponent = point - static_cast<long>(lead) + exp10;
  if (r.digits.empty()) {
    r.negative = false;
    r.exponent = 0;
  }
  return r;
}

// Range and precision checks shared by parse and arithmetic; returns the message on failure.
std::optional<std::string_view> check_range(const raw_number& r) {
  if (r.digits.empty()) return std::nullopt;
  if (r.exponent > decimal::max_exponent) return overflow;
  if (r.exponent < decimal::min_exponent) return underflow;
  if (r.digits.size() > static_cast<std::size_t>(decimal::max_digits)) return too_precise;
  return std::nullopt;
}

// Compares two digit strings of equal length as unsigned integers.
int compare_same_length(const std::string& a, const std::string& b) { return a.compare(b); }

}  // namespace

decimal decimal::from_parts(bool negative, std::string digits, int exponent) {
  decimal d;
  d.digits_ = std::move(digits);
  d.negative_ = d.digits_.empty() ? false : negative;
  d.exponent_ = d.digits_.empty() ? 0 : exponent;
  return d;
}

decimal decimal::parse(std::string_view text) {
  auto r = parse_raw(text);
  if (!r) throw api_error::validation(std::string(not_numeric));
  if (auto msg = check_range(*r)) throw api_error::validation(std::string(*msg));
  return from_parts(r->negative, std::move(r->digits), static_cast<int>(r->exponent));
}

std::optional<decimal> decimal::try_parse(std::string_view text) noexcept {
  try {
    auto r = parse_raw(text);
    if (!r || check_range(*r)) return std::nullopt;
    return from_parts(r->negative, std::move(r->digits), static_cast<int>(r->exponent));
  } catch (...) {  // only std::bad_alloc can get here
    return std::nullopt;
  }
}

decimal decimal::from_int(long long v) { return parse(std::to_string(v)); }

std::string decimal::to_string() const {
  if (is_zero()) return "0";
  std::string out = negative_ ? "-" : "";
  const int n = static_cast<int>(digits_.size());
  if (exponent_ <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent_), '0');
    out += digits_;
  } else if (exponent_ >= n) {
    out += digits_;
    out.append(static_cast<std::size_t>(exponent_ - n), '0');
  } else {
    out.append(digits_, 0, static_cast<std::size_t>(exponent_));
    out += '.';
    out.append(digits_, static_cast<std::size_t>(exponent_));
  }
  return out;
}

decimal decimal::operator-() const {
  decimal d = *this;
  if (!d.is_zero()) d.negative_ = !d.negative_;
  return d;
}

decimal operator+(const decimal& a, const decimal& b) {
  if (a.is_zero()) return b;
  if (b.is_zero()) return a;
  // Digit i (0-based) of x has weight 10^(exponent - 1 - i).
  const int high = std::max(a.exponent_, b.exponent_);
  const int low = std::min(a.exponent_ - static_cast<int>(a.digits_.size()),
                           b.exponent_ - static_cast<int>(b.digits_.size()));
  const auto width = static_cast<std::size_t>(high - low);
  auto aligned = [&](const decimal& x) {
    std::string s(width, '0');
    const auto start = static_cast<std::size_t>(high - x.exponent_);
    std::copy(x.digits_.begin(), x.digits_.end(), s.begin() + static_cast<long>(start));
    return s;
  };
  std::string x = aligned(a);
  std::string y = aligned(b);
  bool negative = a.negative_;
  std::string sum(width + 1, '0');
  if (a.negative_ == b.negative_) {
    int carry = 0;
    for (std::size_t i = width; i-- > 0;) {
      int d = (x[i] - '0') + (y[i] - '0') + carry;
      carry = d / 10;
      sum[i + 1] = static_cast<char>('0' + d % 10);
    }
    sum[0] = static_cast<char>('0' + carry);
  } else {
    int c = compare_same_length(x, y);
    if (c == 0) return decimal{};
    if (c < 0) {
      std::swap(x, y);
      negative = b.negative_;
    }
    int borrow = 0;
    for (std::size_t i = width; i-- > 0;) {
      int d = (x[i] - '0') - (y[i] - '0') - borrow;
      borrow = d < 0 ? 1 : 0;
      if (d < 0) d += 10;
      sum[i + 1] = static_cast<char>('0' + d);
    }
  }
  // sum holds the value × 10^-low, with one extra leading position (weight 10^high).
  raw_number r;
  r.negative = negative;
  std::size_t lead = 0;
  while (lead < sum.size() && sum[lead] == '0') ++lead;
  std::size_t end = sum.size();
  while (end > lead && sum[end - 1] == '0') --end;
  r.digits = sum.substr(lead, end - lead);
  r.exponent = static_cast<long>(high) + 1 - static_cast<long>(lead);
  if (r.digits.empty()) return decimal{};
  if (auto msg = check_range(r)) {
    // DynamoDB reports lost precision in arithmetic as an overflow too.
    throw api_error::validation(std::string(*msg == underflow ? underflow : overflow));
  }
  return decimal::from_parts(r.negative, std::move(r.digits), static_cast<int>(r.exponent));
}

decimal operator-(const decimal& a, const decimal& b) { return a + (-b); }

std::strong_ordering operator<=>(const decimal& a, const decimal& b) noexcept {
  auto sign = [](const decimal& x) { return x.is_zero() ? 0 : (x.negative_ ? -1 : 1); };
  const int sa = sign(a);
  const int sb = sign(b);
  if (sa != sb) return sa <=> sb;
  if (sa == 0) return std::strong_ordering::equal;
  std::strong_ordering mag = a.exponent_ <=> b.exponent_;
  if (mag == 0) {
    const int c = a.digits_.compare(b.digits_);
    mag = c <=> 0;
  }
  if (sa < 0) return 0 <=> mag;
  return mag;
}

}  // namespace mysfits::table
