// The legacy (pre-expression) request parameters, converted into the same trees as expressions:
// Expected + ConditionalOperator, QueryFilter / ScanFilter, AttributeUpdates, KeyConditions,
// AttributesToGet.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LegacyConditionalParameters.html
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string_view>

#include "expr/ast.h"
#include "expr/expressions.h"

namespace mysfits::table::expr {

// Expected: {"attr": {"Value": v} | {"Exists": false} | {"ComparisonOperator": …,
// "AttributeValueList": […]}}; `conditional_operator` is "AND" (default, empty) or "OR".
[[nodiscard]] condition convert_expected(const boost::json::object& expected,
                                         std::string_view conditional_operator);
// QueryFilter / ScanFilter: {"attr": {"ComparisonOperator": …, "AttributeValueList": […]}}.
[[nodiscard]] condition convert_filter(const boost::json::object& filter,
                                       std::string_view conditional_operator);
// AttributeUpdates: {"attr": {"Action": "PUT"|"ADD"|"DELETE", "Value": v}}.
[[nodiscard]] update convert_attribute_updates(const boost::json::object& attribute_updates);
// KeyConditions, checked against the key schema as KeyConditionExpression is.
[[nodiscard]] key_condition convert_key_conditions(const boost::json::object& key_conditions,
                                                   const key_schema_names& schema);
// AttributesToGet: ["a", "b"].
[[nodiscard]] projection convert_attributes_to_get(const boost::json::array& attributes);

}  // namespace mysfits::table::expr
