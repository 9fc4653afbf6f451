// Internals shared by the expr/ sources (not part of the public API).
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "expr/ast.h"
#include "expr/expressions.h"

namespace mysfits::table::expr {

using json_value = boost::json::value;

namespace detail {

// Turns a parsed condition into a key condition, checking it against the key schema with
// DynamoDB's errors (one condition per key, '=' on the hash key, no OR/NOT/IN/<>, …).
[[nodiscard]] key_condition to_key_condition(const condition& c, const key_schema_names& schema);

// The wire value of an operand evaluated against an item (nullptr: absent). Paths resolve in
// `item`; `scratch` holds computed values such as size().
[[nodiscard]] const json_value* operand_value(const operand& o, const boost::json::object* item,
                                              json_value& scratch);

}  // namespace detail
}  // namespace mysfits::table::expr
