// Unit tests of placeholder resolution and the unused/undefined placeholder errors.
#include "expr/expression_context.h"

#include <gtest/gtest.h>

#include "expr/expressions.h"
#include "test_util.h"

namespace mysfits::table::expr {
namespace {
using testing::error_of;
using testing::obj;

// Unused names are reported before unused values, keys sorted.
TEST(ExpressionContext, ReportsUnusedPlaceholders) {
  const auto names = obj(R"({"#a": "a", "#b": "b"})");
  const auto values = obj(R"({":v": {"N": "1"}, ":w": {"N": "2"}})");
  expression_context ctx(&names, &values);
  (void)parse_condition("#a = :v", ctx);
  EXPECT_EQ(error_of([&] { ctx.check_all_used(); }),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}");
  (void)parse_projection("#b", ctx);
  EXPECT_EQ(error_of([&] { ctx.check_all_used(); }),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}");
  (void)parse_update("SET x = :w", ctx);
  EXPECT_NO_THROW(ctx.check_all_used());
}

// Undefined placeholders name themselves, prefixed by the expression kind.
TEST(ExpressionContext, ReportsUndefinedPlaceholders) {
  expression_context ctx;
  EXPECT_EQ(error_of([&] { (void)parse_update("SET #n = :v", ctx); }),
            "Invalid UpdateExpression: An expression attribute name used in the document path is "
            "not defined; attribute name: #n");
  EXPECT_EQ(error_of([&] { (void)parse_condition("a = :v", ctx); }),
            "Invalid ConditionExpression: An expression attribute value used in expression is not "
            "defined; attribute value: :v");
}

// Values are validated up front; empty maps and bad keys are rejected.
TEST(ExpressionContext, ValidatesParameters) {
  const auto bad = obj(R"({":v": {"NS": []}})");
  EXPECT_EQ(error_of([&] { expression_context c(nullptr, &bad); }),
            "ExpressionAttributeValues contains invalid value: One or more parameter values were "
            "invalid: An number set  may not be empty for key :v");
  const auto empty = obj("{}");
  EXPECT_EQ(error_of([&] { expression_context c(&empty, nullptr); }),
            "ExpressionAttributeNames must not be empty");
  const auto bad_key = obj(R"({"v": {"N": "1"}})");
  EXPECT_NE(error_of([&] { expression_context c(nullptr, &bad_key); }), "");
  // A real DynamoDB message (quoted in a public bug report).
  const auto dash = obj(R"({"#sryLiyD8D-": "x"})");
  EXPECT_EQ(error_of([&] { expression_context c(&dash, nullptr); }),
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"#sryLiyD8D-\"");
}

}  // namespace
}  // namespace mysfits::table::expr
