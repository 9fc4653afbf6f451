// Helpers shared by the operations: reading request fields with DynamoDB's validation
// messages, finding tables, checking keys and items, and the write path's condition handling.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "api/ops.h"
#include "expr/expression_cache.h"
#include "expr/expressions.h"
#include "storage/catalog.h"

namespace mysfits::table::api {

// Optional fields: nullptr / nullopt when absent; ValidationException (SerializationException
// for a wrong JSON type, as DynamoDB) when present with the wrong type.
const json::object* find_object(const json::object& req, std::string_view name);
const json::array* find_array(const json::object& req, std::string_view name);
std::optional<std::string_view> find_string(const json::object& req, std::string_view name);
std::optional<std::int64_t> find_int(const json::object& req, std::string_view name);
std::optional<bool> find_bool(const json::object& req, std::string_view name);
// Required fields.
const json::object& get_object(const json::object& req, std::string_view name);
std::string_view get_string(const json::object& req, std::string_view name);

// Validates TableName's shape (3–255 of [a-zA-Z0-9_.-]) with DynamoDB's message.
std::string_view get_table_name(const json::object& req, std::string_view field = "TableName");
// The table, or ResourceNotFoundException "Requested resource not found".
std::shared_ptr<const storage::table_info> get_table(op_context& ctx, std::string_view name);

std::string table_arn(const op_context& ctx, std::string_view table);

expr::key_schema_names names_of(const storage::key_schema& k);

// Validates a Key parameter (exactly the key attributes, right types) and returns its
// primary-key bytes. `table` names the table in messages.
std::string key_bytes_of_key(const storage::table_info& t, const json::object& key);
// Validates an item for PutItem (attribute values, size, key attributes present with the right
// types and lengths, index key types) and returns its primary-key bytes; `size`, when given,
// gets its item_size.
std::string key_bytes_of_item(const storage::table_info& t, const json::object& item,
                              std::size_t* size = nullptr);
// The checks of key_bytes_of_item for an item an UpdateItem built from a stored (valid) item:
// the attributes named in `written` (the top-level attributes the update set or added to) are
// validated, the others were when stored; then the key and index-key rules. Returns its
// item_size; throws "Item size to update has exceeded the maximum allowed size" first.
std::size_t check_updated_item(const storage::table_info& t, const json::object& item,
                               const std::vector<std::string_view>& written);
// Just the key attributes of an item.
json::object key_of(const storage::key_schema& k, const json::object& item);

// The condition of a write: ConditionExpression or Expected (never both), with the request's
// expression context. Parses everything up front so errors come before any read.
struct write_condition {
  std::optional<expr::condition> cond;
  bool return_old_on_failure = false;  // ReturnValuesOnConditionCheckFailure=ALL_OLD
};
write_condition parse_write_condition(const json::object& req, expr::expression_context& ctx,
                                      bool has_other_expression);
// Throws ConditionalCheckFailedException (with the old item if asked) when it does not hold.
void check_write_condition(const write_condition& wc, const json::object* old_item);

// Throws unless the request's ExpressionAttributeNames/Values are absent when no expression is
// used (DynamoDB's "… can only be specified when using expressions").
void check_no_placeholders_without_expressions(const json::object& req);

std::string_view get_return_values(const json::object& req,
                                   std::initializer_list<std::string_view> allowed);

// The TableDescription of DescribeTable / CreateTable / DeleteTable (ops_table.cc).
json::object describe(op_context& ctx, const storage::table_info& t);

// Turns a storage failure into the protocol's error (not_found → ResourceNotFoundException).
[[noreturn]] void throw_storage_error(const error& e);

// Size (in bytes) of an item as the 1 MB page limits count it.
std::size_t page_size_of(const json::object& item);

}  // namespace mysfits::table::api
