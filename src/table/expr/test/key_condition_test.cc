// Unit tests of KeyConditionExpression parsing against a key schema, and range matching.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

#include "expr/expressions.h"
#include "expr/parse_detail.h"
#include "test_util.h"

namespace mysfits::table::expr {
namespace {
using testing::error_of;
using testing::obj;

const boost::json::object values = obj(R"({
  ":h": {"S": "hash"}, ":one": {"N": "1"}, ":five": {"N": "5"}, ":p": {"S": "ab"}
})");
const key_schema_names schema{"pk", std::string("sk"), "S", "N"};

key_condition parse(std::string_view text) {
  expression_context ctx(nullptr, &values);
  return parse_key_condition(text, ctx, schema);
}

std::string error(std::string_view text) {
  return error_of([&] { (void)parse(text); });
}

// Hash equality alone or with one range condition of each supported kind.
TEST(KeyConditionExpression, ParsesSupportedShapes) {
  auto kc = parse("pk = :h");
  EXPECT_EQ(kc.hash_value, obj(R"({"S": "hash"})"));
  EXPECT_FALSE(kc.range);
  kc = parse("pk = :h AND sk BETWEEN :one AND :five");
  ASSERT_TRUE(kc.range);
  EXPECT_EQ(kc.range->op, key_op::between);
  EXPECT_TRUE(matches_range(*kc.range, obj(R"({"N": "3"})")));
  EXPECT_FALSE(matches_range(*kc.range, obj(R"({"N": "6"})")));
  kc = parse("((sk <= :five) AND (pk = :h))");
  EXPECT_EQ(error("((sk <= :five) AND ((pk = :h)))"),
            "Invalid KeyConditionExpression: The expression has redundant parentheses;");
  EXPECT_NE(error("pk = sk"), "");
  EXPECT_NE(error(":h = :one"), "");
  EXPECT_NE(error("pk"), "");
  EXPECT_EQ(kc.range->op, key_op::le);
  kc = parse(":one < sk AND pk = :h");  // value first flips the operator
  EXPECT_EQ(kc.range->op, key_op::gt);
  EXPECT_TRUE(matches_range(*kc.range, obj(R"({"N": "2"})")));
}

// The shortcut for `k = :v` answers exactly what the full parser answers — the same key
// condition, or the same error — and leaves the same placeholders used, for the simple shapes
// it takes and for the near misses it must leave to the parser.
TEST(KeyConditionExpression, HashOnlyShortcutMatchesTheFullParser) {
  const boost::json::object names = obj(R"({"#k": "pk", "#s": "sk", "#x": "other", "#r": "Name"})");
  const boost::json::object vals = obj(R"({
    ":h": {"S": "hash"}, ":n": {"N": "7"}, ":b": {"B": "AQ=="}, ":unused": {"S": "u"}
  })");
  const std::vector<std::string> texts = {"pk = :h",
                                          "  pk=:h  ",
                                          "#k = :h",
                                          "pk = :n",
                                          "#k = :b",
                                          "sk = :h",
                                          "#s = :n",
                                          "#x = :h",
                                          "other = :h",
                                          "pk = :missing",
                                          "#missing = :h",
                                          ":h = pk",
                                          "pk = pk",
                                          "pk = :h AND sk = :n",
                                          "pk == :h",
                                          "pk <> :h",
                                          "pk < :h",
                                          "(pk = :h)",
                                          "pk.a = :h",
                                          "pk[0] = :h",
                                          "Name = :h",
                                          "#r = :h",
                                          "pk = :h,",
                                          "pk = :h)",
                                          "",
                                          "   ",
                                          "pk",
                                          "pk =",
                                          "= :h",
                                          "PK = :h",
                                          "pk = :H",
                                          "p$k = :h",
                                          std::string(300, ' ') + "pk = :h"};
  for (const key_schema_names& sch :
       {schema, key_schema_names{"pk", std::nullopt, "S", ""}, key_schema_names{"Name", {}, "S"}}) {
    for (const auto& text : texts) {
      auto run = [&](bool shortcut) {
        expression_context ctx(&names, &vals);
        std::string out;
        try {
          auto kc = shortcut ? parse_key_condition(text, ctx, sch)
                             : detail::parse_key_condition_fully(text, ctx, sch);
          out = "ok " + boost::json::serialize(kc.hash_value) + (kc.range ? " +range" : "");
        } catch (const std::exception& e) {
          out = std::string("error ") + e.what();
        }
        try {
          ctx.check_all_used();
        } catch (const std::exception& e) {
          out += std::string(" | ") + e.what();
        }
        return out;
      };
      EXPECT_EQ(run(true), run(false)) << "[" << text << "] hash key " << sch.hash;
    }
  }
  // And the shortcut does take the simple shapes.
  expression_context ctx(&names, &vals);
  EXPECT_TRUE(detail::simple_key_condition("pk = :h", ctx, schema));
  EXPECT_TRUE(detail::simple_key_condition("#k = :h", ctx, schema));
  EXPECT_FALSE(detail::simple_key_condition("pk = :n", ctx, schema));  // type mismatch: parser
}

// begins_with works on string range keys.
TEST(KeyConditionExpression, BeginsWith) {
  const key_schema_names s{"pk", std::string("sk"), "S", "S"};
  expression_context ctx(nullptr, &values);
  auto kc = parse_key_condition("pk = :h AND begins_with(sk, :p)", ctx, s);
  EXPECT_TRUE(matches_range(*kc.range, obj(R"({"S": "abc"})")));
  EXPECT_FALSE(matches_range(*kc.range, obj(R"({"S": "b"})")));
}

// Everything a Query key condition cannot be is rejected with DynamoDB's messages.
TEST(KeyConditionExpression, Errors) {
  EXPECT_EQ(error("sk = :one"), "Query condition missed key schema element: pk");
  EXPECT_EQ(error("pk < :h"), "Query key condition not supported");
  EXPECT_EQ(error("pk = :h AND extra = :one"), "Query key condition not supported");
  EXPECT_EQ(error("pk = :h AND pk = :h"),
            "KeyConditionExpressions must only contain one condition per key");
  EXPECT_EQ(error("begins_with(pk, :h)"), "Query key condition not supported");
  EXPECT_EQ(error("pk = :h OR sk = :one"),
            "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR");
  EXPECT_NE(error("pk = :h AND sk <> :one"), "");
  EXPECT_NE(error("pk = :h AND NOT sk = :one"), "");
  EXPECT_NE(error("pk = :h AND attribute_exists(sk)"), "");
  EXPECT_EQ(error("pk = :one"),
            "One or more parameter values were invalid: Condition parameter type does not match "
            "schema type");
  EXPECT_NE(error("pk.x = :h"), "");
}

}  // namespace
}  // namespace mysfits::table::expr
