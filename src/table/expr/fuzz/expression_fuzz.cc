// libFuzzer target: arbitrary bytes as condition, update, projection and key condition
// expressions against fixed ExpressionAttributeNames/Values and a fixed item. Anything thrown
// must be api_error; evaluation and update must never crash.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/api_error.h"
#include "expr/expressions.h"
#include "types/decimal.h"
#include "types/key_codec.h"

namespace {

using namespace mysfits::table;

const boost::json::object& names() {
  static const auto o = boost::json::parse(R"({"#a": "a", "#n": "name", "#l": "l"})").as_object();
  return o;
}
const boost::json::object& values() {
  static const auto o = boost::json::parse(R"({
    ":v": {"N": "1"}, ":s": {"S": "x"}, ":l": {"L": [{"N": "2"}]}, ":ss": {"SS": ["x"]},
    ":ns": {"NS": ["1"]}, ":b": {"B": "AQ=="}, ":m": {"M": {"k": {"BOOL": true}}},
    ":big": {"N": "9.9999999999999999999999999999999999999E+125"}, ":t": {"S": "N"}
  })")
                            .as_object();
  return o;
}
const boost::json::object& item() {
  static const auto o = boost::json::parse(R"({
    "a": {"N": "5"}, "name": {"S": "xyz"}, "l": {"L": [{"N": "1"}, {"M": {"k": {"S": "v"}}}]},
    "ss": {"SS": ["x", "y"]}, "m": {"M": {"a": {"L": []}}}, "b": {"B": "AQID"}
  })")
                            .as_object();
  return o;
}

template <typename F>
void guarded(F&& f) {
  try {
    f();
  } catch (const api_error&) {
    // Expected for invalid input; any other exception escapes and is a finding.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Numbers: canonical text and key encoding must round-trip exactly.
  if (auto d = decimal::try_parse(text)) {
    if (decimal::parse(d->to_string()) != *d) __builtin_trap();
    const boost::json::value n = boost::json::object{{"N", d->to_string()}};
    if (decode_key_value(encode_key_value(n), key_type::n) != n) __builtin_trap();
  }
  guarded([&] {
    expr::expression_context ctx(&names(), &values());
    auto c = expr::parse_condition(text, ctx);
    (void)expr::evaluate_condition(c, &item());
    (void)expr::evaluate_condition(c, nullptr);
  });
  guarded([&] {
    expr::expression_context ctx(&names(), &values());
    auto u = expr::parse_update(text, ctx);
    auto copy = item();
    (void)expr::apply_update(u, copy);
    boost::json::object empty;
    (void)expr::apply_update(u, empty);
  });
  guarded([&] {
    expr::expression_context ctx(&names(), &values());
    (void)expr::project(item(), expr::parse_projection(text, ctx));
  });
  guarded([&] {
    expr::expression_context ctx(&names(), &values());
    auto kc = expr::parse_key_condition(text, ctx, {"a", std::string("name"), "", ""});
    if (kc.range) (void)expr::matches_range(*kc.range, item().at("name"));
  });
  return 0;
}
