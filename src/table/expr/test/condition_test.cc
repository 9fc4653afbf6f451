// Unit tests of ConditionExpression / FilterExpression parsing and evaluation.
#include <gtest/gtest.h>

#include "expr/expressions.h"
#include "test_util.h"

namespace mysfits::table::expr {
namespace {
using testing::error_of;
using testing::obj;

const boost::json::object values = obj(R"({
  ":one": {"N": "1"}, ":two": {"N": "2"}, ":ten": {"N": "10"}, ":five": {"N": "5.0"}, ":a": {"S": "a"},
  ":ab": {"S": "ab"}, ":x": {"S": "x"}, ":s": {"S": "S"}, ":n": {"S": "N"}, ":ss": {"S": "SS"},
  ":bool": {"BOOL": true}, ":list": {"L": [{"S": "x"}]}, ":bin": {"B": "AQI="}
})");
const boost::json::object names = obj(R"({"#name": "name", "#st": "status"})");

const boost::json::object item = obj(R"({
  "id": {"S": "abc"}, "n": {"N": "5"}, "name": {"S": "Gretta"}, "status": {"S": "Evil"},
  "tags": {"SS": ["x", "y"]}, "nums": {"NS": ["1", "2"]}, "l": {"L": [{"S": "x"}, {"N": "1"}]},
  "m": {"M": {"in1": {"N": "1"}, "deep": {"M": {"k": {"S": "ab"}}}}}, "b": {"B": "AQID"},
  "flag": {"BOOL": true}, "nothing": {"NULL": true}
})");

// Evaluates `text` against `item`, with unused placeholders allowed.
bool holds(std::string_view text, const boost::json::object* it = &item) {
  expression_context ctx(&names, &values);
  return evaluate_condition(parse_condition(text, ctx), it);
}

std::string parse_error(std::string_view text) {
  return error_of([&] {
    expression_context ctx(&names, &values);
    (void)parse_condition(text, ctx);
  });
}

// The comparators compare numbers numerically and strings bytewise.
TEST(ConditionExpression, Comparators) {
  EXPECT_TRUE(holds("n = :one OR n > :two"));
  EXPECT_TRUE(holds("n > :two AND n < :ten"));
  EXPECT_TRUE(holds("n >= :two AND n <= :ten AND n <> :one"));
  EXPECT_FALSE(holds("n < :two"));
  EXPECT_TRUE(holds("id > :ab"));
  EXPECT_FALSE(holds("n = :a"));  // type mismatch is false
  EXPECT_FALSE(holds("n < :a"));  // and so is an ordered comparison across types
  EXPECT_TRUE(holds("n <> :a"));
  EXPECT_TRUE(holds("gone <> :one"));
  EXPECT_FALSE(holds("gone = :one"));
  EXPECT_TRUE(holds(":one < n"));
  EXPECT_TRUE(holds("l[0] = :x AND m.deep.k = :ab AND m.in1 = :one"));
  EXPECT_TRUE(holds("l = :list OR flag = :bool"));
}

// BETWEEN is inclusive; IN matches any listed value.
TEST(ConditionExpression, BetweenAndIn) {
  EXPECT_TRUE(holds("n BETWEEN :one AND :ten"));
  EXPECT_FALSE(holds("n BETWEEN :one AND :two"));
  EXPECT_FALSE(holds("n IN (:one, :two, :ten)"));
  EXPECT_TRUE(holds("n IN (:one, :five)"));
  EXPECT_FALSE(holds("gone IN (:one, :five)"));
  // DynamoDB accepts 99 listed values (100 operands with the left one), not 100.
  std::string in99 = "n IN (:one";
  for (int i = 1; i < 99; ++i) in99 += ", :two";
  EXPECT_EQ(parse_error(in99 + ")"), "");
  EXPECT_NE(parse_error(in99 + ", :two)"), "");
  EXPECT_NE(parse_error("n BETWEEN :one AND :a").find("same data type"), std::string::npos);
  EXPECT_FALSE(holds("n BETWEEN n AND :a"));  // item-side type mismatch is just false
  EXPECT_EQ(parse_error("n BETWEEN :ten AND :one"),
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater "
            "than or equal to lower bound; lower operand: AttributeValue: {N:10}, upper operand: "
            "AttributeValue: {N:1}");
}

// NOT binds tighter than AND, which binds tighter than OR.
TEST(ConditionExpression, Precedence) {
  EXPECT_TRUE(holds("n = :one AND n = :two OR n > :two"));  // (F AND F) OR T
  EXPECT_FALSE(holds("n = :one AND (n = :two OR n > :two)"));
  EXPECT_TRUE(holds("NOT n = :one AND n > :one"));
  EXPECT_FALSE(holds("NOT (n = :one OR n > :one)"));
  EXPECT_TRUE(holds("not n = :one"));  // keywords are case-insensitive
  EXPECT_TRUE(holds("NOT NOT NOT NOT n = :five"));
  EXPECT_TRUE(holds("n BETWEEN :one AND :ten AnD :one < n"));  // BETWEEN's AND binds first
  EXPECT_TRUE(holds("(n < :one OR :one < n) AND (n < :ten AND (id = :x OR n = :five))"));
}

// The functions behave as the DynamoDB guide describes.
TEST(ConditionExpression, Functions) {
  EXPECT_TRUE(holds("attribute_exists(id) AND attribute_not_exists(gone)"));
  EXPECT_FALSE(holds("attribute_exists(m.nope)"));
  EXPECT_TRUE(holds("attribute_exists(m.deep.k)"));
  EXPECT_TRUE(holds("attribute_type(n, :n) AND attribute_type(tags, :ss)"));
  EXPECT_FALSE(holds("attribute_type(n, :s)"));
  EXPECT_TRUE(holds("attribute_type(:one, :n)"));
  EXPECT_NE(parse_error("attribute_type(n, id)"), "");
  EXPECT_TRUE(holds("begins_with(id, :ab) AND NOT begins_with(id, :x)"));
  EXPECT_TRUE(holds("contains(tags, :x) AND contains(id, :ab) AND contains(l, :x)"));
  EXPECT_TRUE(holds("contains(nums, :one) AND NOT contains(nums, :ten)"));
  EXPECT_TRUE(holds("size(id) = :two OR size(id) > :two"));
  EXPECT_TRUE(holds("size(tags) = :two AND size(l) = :two AND size(b) > :two"));
  EXPECT_FALSE(holds("size(n) = :one"));  // numbers have no size
  EXPECT_TRUE(holds("#name = :a OR #st <> :a"));
}

// A gone item makes every path absent.
TEST(ConditionExpression, NoItem) {
  EXPECT_TRUE(holds("attribute_not_exists(id)", nullptr));
  EXPECT_FALSE(holds("attribute_exists(id)", nullptr));
  EXPECT_FALSE(holds("n = :one", nullptr));
}

// Syntax errors name the offending token and its neighbourhood.
TEST(ConditionExpression, SyntaxErrors) {
  EXPECT_EQ(parse_error("n = :one :two"),
            "Invalid ConditionExpression: Syntax error; token: \":two\", near: \":one :two\"");
  EXPECT_EQ(parse_error("n ="),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\"");
  EXPECT_EQ(parse_error(""), "Invalid ConditionExpression: The expression can not be empty;");
  EXPECT_NE(parse_error("(n = :one"), "");
  EXPECT_NE(parse_error("n = :one)"), "");
  EXPECT_NE(parse_error("n $ :one"), "");
  EXPECT_NE(parse_error("n BETWEEN :one"), "");
  EXPECT_NE(parse_error("l[x] = :one"), "");
  EXPECT_NE(parse_error("n IN ()"), "");
}

// Function misuse gets DynamoDB's specific messages.
TEST(ConditionExpression, FunctionErrors) {
  EXPECT_EQ(parse_error("foo(n)"),
            "Invalid ConditionExpression: Invalid function name; function: foo");
  EXPECT_EQ(parse_error("size(n)"),
            "Invalid ConditionExpression: The function is not allowed to be used this way in an "
            "expression; function: size");
  EXPECT_EQ(parse_error("begins_with(id)"),
            "Invalid ConditionExpression: Incorrect number of operands for operator or function; "
            "operator or function: begins_with, number of operands: 1");
  EXPECT_EQ(parse_error("attribute_exists(:one)"),
            "Invalid ConditionExpression: Operator or function requires a document path; "
            "operator or function: attribute_exists");
  EXPECT_EQ(parse_error("begins_with(id, :one)"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N");
  EXPECT_NE(parse_error("attribute_type(n, :a)").find("Invalid attribute type name"),
            std::string::npos);
  // size() of a constant works, but a constant without a size is an error in the query
  // (scylladb/scylladb#14592 records DynamoDB's behaviour).
  EXPECT_TRUE(holds("size(:ab) = :two"));
  EXPECT_EQ(parse_error("size(:one) = :one"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: size, operand type: N");
  EXPECT_EQ(parse_error("size(size(id)) = :one"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: size, operand type: N");
  EXPECT_NE(parse_error("if_not_exists(n, :one) = :one"), "");
  EXPECT_NE(parse_error("attribute_exists(n) = :one"), "");
}

// Bare reserved words must be replaced by #placeholders.
TEST(ConditionExpression, ReservedWords) {
  EXPECT_EQ(parse_error("name = :a"),
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved "
            "keyword: name");
  EXPECT_EQ(parse_error("m.Status = :a"),
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved "
            "keyword: Status");
  EXPECT_TRUE(is_reserved_word("size"));
  EXPECT_TRUE(is_reserved_word("ZONE"));
  EXPECT_FALSE(is_reserved_word("likes"));
}

// The FilterExpression parameter name appears in its messages.
TEST(ConditionExpression, ParameterNameInMessages) {
  expression_context ctx(&names, &values);
  EXPECT_EQ(error_of([&] { (void)parse_condition("n =", ctx, "FilterExpression"); }),
            "Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"=\"");
}

// Deeply nested input is rejected instead of exhausting the stack.
TEST(ConditionExpression, NestingIsBounded) {
  std::string deep(150, '(');
  deep += "n = :one";
  deep += std::string(150, ')');
  EXPECT_NE(parse_error(deep), "");
  std::string nots;
  for (int i = 0; i < 300; ++i) nots += "NOT ";
  EXPECT_NE(parse_error(nots + "n = :one"), "");
  EXPECT_NE(parse_error(std::string(5000, 'a')).find("maximum allowed size"), std::string::npos);
}

}  // namespace
}  // namespace mysfits::table::expr
