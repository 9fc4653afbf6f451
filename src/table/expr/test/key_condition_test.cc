// Unit tests of KeyConditionExpression parsing against a key schema, and range matching.
#include <gtest/gtest.h>

#include "expr/expressions.h"
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
