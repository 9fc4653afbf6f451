// Unit tests of the legacy parameters: Expected, Query/ScanFilter, AttributeUpdates,
// KeyConditions, AttributesToGet.
#include "expr/legacy.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace mysfits::table::expr {
namespace {
using testing::error_of;
using testing::obj;

const boost::json::object item = obj(R"({
  "id": {"S": "abc"}, "n": {"N": "5"}, "tags": {"SS": ["x", "y"]}
})");

bool expected(std::string_view text, std::string_view op = "") {
  return evaluate_condition(convert_expected(obj(text), op), &item);
}

bool filter(std::string_view text, std::string_view op = "") {
  return evaluate_condition(convert_filter(obj(text), op), &item);
}

// Expected with Value / Exists, combined with AND or OR.
TEST(LegacyExpected, ValueAndExists) {
  EXPECT_TRUE(expected(R"({"n": {"Value": {"N": "5.0"}}})"));
  EXPECT_FALSE(expected(R"({"n": {"Value": {"N": "6"}}})"));
  EXPECT_TRUE(expected(R"({"zz": {"Exists": false}})"));
  EXPECT_FALSE(expected(R"({"n": {"Exists": false}})"));
  EXPECT_TRUE(expected(R"({"n": {"Exists": false}, "id": {"Value": {"S": "abc"}}})", "OR"));
  EXPECT_FALSE(expected(R"({"n": {"Exists": false}, "id": {"Value": {"S": "abc"}}})", "AND"));
  EXPECT_TRUE(evaluate_condition(convert_expected(obj("{}"), ""), nullptr));
  EXPECT_NE(error_of([] { (void)convert_expected(obj("{}"), "OR"); }).find("ConditionalOperator"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)expected(R"({"n": {"Exists": true}})"); }), "");
  EXPECT_NE(error_of([] { (void)expected(R"({"n": {"Exists": false, "Value": {"N": "1"}}})"); }),
            "");
}

// Every ComparisonOperator maps onto the matching expression semantics.
TEST(LegacyFilter, ComparisonOperators) {
  EXPECT_TRUE(filter(R"({"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "4"}]}})"));
  EXPECT_TRUE(filter(R"({"n": {"ComparisonOperator": "LE", "AttributeValueList": [{"N": "5"}]}})"));
  EXPECT_TRUE(filter(R"({"n": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "4"}]}})"));
  EXPECT_TRUE(filter(R"({"n": {"ComparisonOperator": "NOT_NULL"}})"));
  EXPECT_TRUE(filter(R"({"q": {"ComparisonOperator": "NULL"}})"));
  EXPECT_TRUE(filter(
      R"({"tags": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "x"}]}})"));
  EXPECT_TRUE(filter(
      R"({"tags": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "q"}]}})"));
  EXPECT_TRUE(filter(
      R"({"id": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "ab"}]}})"));
  EXPECT_TRUE(filter(
      R"({"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "5"}]}})"));
  EXPECT_TRUE(filter(
      R"({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "5"}]}})"));
  EXPECT_FALSE(filter(R"({"n": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]},
                          "id": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "abc"}]}})"));
}

// A long ScanFilter evaluates without deep recursion (the conditions stay one flat node).
TEST(LegacyFilter, ManyConditions) {
  boost::json::object f;
  for (int i = 0; i < 5000; ++i) {
    f["a" + std::to_string(i)] = obj(R"({"ComparisonOperator": "NULL"})");
  }
  EXPECT_TRUE(evaluate_condition(convert_filter(f, "AND"), &item));
  f["n"] = obj(R"({"ComparisonOperator": "NULL"})");
  EXPECT_FALSE(evaluate_condition(convert_filter(f, "AND"), &item));  // n exists
}

// Wrong argument counts and types get DynamoDB's messages.
TEST(LegacyFilter, Errors) {
  EXPECT_EQ(error_of([] { (void)filter(R"({"n": {"ComparisonOperator": "EQ"}})"); }),
            "One or more parameter values were invalid: Invalid number of argument(s) for the EQ "
            "ComparisonOperator");
  EXPECT_EQ(error_of([] {
              (void)filter(
                  R"({"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"BOOL": true}]}})");
            }),
            "One or more parameter values were invalid: ComparisonOperator LT is not valid for "
            "BOOL AttributeValue type");
  EXPECT_NE(error_of([] { (void)filter(R"({"n": {"ComparisonOperator": "XX"}})"); }), "");
  // Unlike the IN of expressions, the legacy IN wants values of one type.
  EXPECT_NE(
      error_of([] {
        (void)filter(
            R"({"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "3"}, {"S": "dog"}]}})");
      }),
      "");
  EXPECT_NE(
      error_of([] {
        (void)filter(
            R"({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "4"}, {"N": "3"}]}})");
      }),
      "");
  // NOT_CONTAINS is false on a missing attribute, while NE is true.
  EXPECT_FALSE(filter(
      R"({"q": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"N": "1"}]}})"));
  EXPECT_TRUE(filter(R"({"q": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "1"}]}})"));
}

// AttributeUpdates PUT / ADD / DELETE behave like SET / ADD / REMOVE|DELETE.
TEST(LegacyAttributeUpdates, Actions) {
  auto u = convert_attribute_updates(obj(R"({
    "a": {"Value": {"S": "new"}}, "n": {"Action": "ADD", "Value": {"N": "2"}},
    "tags": {"Action": "DELETE", "Value": {"SS": ["x"]}}, "id": {"Action": "DELETE"}
  })"));
  auto it = item;
  auto changed = apply_update(u, it);
  EXPECT_EQ(it, obj(R"({"n": {"N": "7"}, "tags": {"SS": ["y"]}, "a": {"S": "new"}})"));
  EXPECT_EQ(changed.size(), 4u);
  EXPECT_NE(error_of([] { (void)convert_attribute_updates(obj(R"({"a": {"Action": "PUT"}})")); }),
            "");
  EXPECT_NE(
      error_of([] {
        (void)convert_attribute_updates(obj(R"({"a": {"Action": "ADD", "Value": {"S": "x"}}})"));
      }),
      "");
}

// KeyConditions are checked like KeyConditionExpression.
TEST(LegacyKeyConditions, Converts) {
  const key_schema_names schema{"pk", std::string("sk"), "", ""};
  auto kc = convert_key_conditions(obj(R"({
    "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "h"}]},
    "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "a"}]}
  })"),
                                   schema);
  EXPECT_EQ(kc.hash_value, obj(R"({"S": "h"})"));
  ASSERT_TRUE(kc.range);
  EXPECT_EQ(kc.range->op, key_op::begins_with);
  EXPECT_EQ(
      error_of([&] {
        (void)convert_key_conditions(
            obj(R"({"pk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "h"}]}})"),
            schema);
      }),
      "Attempted conditional constraint is not an indexable operation");
}

// AttributesToGet is a projection of top-level names; duplicates are rejected.
TEST(LegacyAttributesToGet, Projects) {
  auto p = convert_attributes_to_get(boost::json::parse(R"(["id", "n", "zz"])").as_array());
  EXPECT_EQ(project(item, p), obj(R"({"id": {"S": "abc"}, "n": {"N": "5"}})"));
  EXPECT_NE(error_of([] {
              (void)convert_attributes_to_get(boost::json::parse(R"(["a", "a"])").as_array());
            }),
            "");
}

}  // namespace
}  // namespace mysfits::table::expr
