// Internals shared by the expr/ sources (not part of the public API).
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "expr/ast.h"
#include "expr/expression_context.h"
#include "expr/expressions.h"

namespace mysfits::table::expr {

using json_value = boost::json::value;

namespace detail {

// Turns a parsed condition into a key condition, checking it against the key schema with
// DynamoDB's errors (one condition per key, '=' on the hash key, no OR/NOT/IN/<>, …).
[[nodiscard]] key_condition to_key_condition(const condition& c, const key_schema_names& schema);

// The commonest key condition, `k = :v` or `#k = :v` on the hash key with a value of the key's
// type, read straight from its tokens; nullopt for anything else — including every error, which
// the full parser then reports in its own words. Never throws.
[[nodiscard]] std::optional<key_condition> simple_key_condition(std::string_view text,
                                                                expression_context& ctx,
                                                                const key_schema_names& schema);
// parse_key_condition without that shortcut (tests compare the two).
[[nodiscard]] key_condition parse_key_condition_fully(std::string_view text,
                                                      expression_context& ctx,
                                                      const key_schema_names& schema);

// The wire value of an operand evaluated against an item (nullptr: absent). Paths resolve in
// `item`; `scratch` holds computed values such as size().
[[nodiscard]] const json_value* operand_value(const operand& o, const boost::json::object* item,
                                              json_value& scratch);

}  // namespace detail
}  // namespace mysfits::table::expr
