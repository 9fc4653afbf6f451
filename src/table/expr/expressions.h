// DynamoDB expressions, parse → resolve → evaluate: ConditionExpression / FilterExpression,
// UpdateExpression, ProjectionExpression, KeyConditionExpression. Parsing resolves placeholders
// through the request's expression_context and throws api_error::validation with DynamoDB's
// messages. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.html
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "expr/ast.h"
#include "expr/expression_context.h"

namespace mysfits::table::expr {

// Key attribute names of a table or index.
struct key_schema_names {
  key_schema_names() = default;
  key_schema_names(std::string hash_name, std::optional<std::string> range_name,
                   std::string hash_attribute_type = {}, std::string range_attribute_type = {})
      : hash(std::move(hash_name)),
        range(std::move(range_name)),
        hash_type(std::move(hash_attribute_type)),
        range_type(std::move(range_attribute_type)) {}

  std::string hash;
  std::optional<std::string> range;
  // AttributeType ("S", "N", "B") of each key; when set, key conditions check their values'
  // types. Default: empty (not checked).
  std::string hash_type;
  std::string range_type;
};

// --- parse (+ resolve) ---------------------------------------------------------------------
// `parameter` names the request parameter in messages ("ConditionExpression", "FilterExpression").
[[nodiscard]] condition parse_condition(std::string_view text, expression_context& ctx,
                                        std::string_view parameter = "ConditionExpression");
[[nodiscard]] update parse_update(std::string_view text, expression_context& ctx);
[[nodiscard]] projection parse_projection(std::string_view text, expression_context& ctx);
[[nodiscard]] key_condition parse_key_condition(std::string_view text, expression_context& ctx,
                                                const key_schema_names& schema);

// --- evaluate ------------------------------------------------------------------------------
// True when the condition holds for `item` (nullptr: no such item — every path is missing).
// Type mismatches make a comparison false, as in DynamoDB; never throws for stored data.
[[nodiscard]] bool evaluate_condition(const condition& c, const boost::json::object* item);

// Throws "Cannot update attribute X. This attribute is part of the key" if any action's path
// starts at a key attribute. Call before reading the item.
void check_update_does_not_touch_keys(const update& u, const key_schema_names& keys);

// Applies the actions to `item` (an empty object when the item does not exist yet) and returns
// the top-level attribute names the update touched (for ReturnValues UPDATED_OLD/UPDATED_NEW).
// Throws api_error::validation for DynamoDB's runtime errors (wrong operand types, invalid
// document path, number overflow); `item` is unchanged when it throws.
// `item_exists` false: the item is new (it holds only its key); DynamoDB then ignores REMOVE of a
// nested path whose parent is missing instead of failing. Multiple SETs appending past the end of
// one list append in index order.
[[nodiscard]] std::set<std::string> apply_update(const update& u, boost::json::object& item,
                                                 bool item_exists = true);
// apply_update for an item the caller throws away if it throws (a write's working copy): the
// actions change `item` in place, without the copy that keeps it unchanged on an error, and
// without collecting the touched names.
void apply_update_to_scratch(const update& u, boost::json::object& item, bool item_exists = true);

// The projected copy of `item`: only the requested paths, nested structure kept (list elements
// renumbered in order, as DynamoDB does).
[[nodiscard]] boost::json::object project(const boost::json::object& item, const projection& p);

// True when a range key value satisfies the key condition's range part.
[[nodiscard]] bool matches_range(const range_condition& rc, const boost::json::value& range_value);

// Value of a document path in `item`, or nullptr when absent.
[[nodiscard]] const boost::json::value* find_path(const boost::json::object& item, const path& p);

// True if `word` (any case) is one of DynamoDB's reserved words.
[[nodiscard]] bool is_reserved_word(std::string_view word);

}  // namespace mysfits::table::expr
