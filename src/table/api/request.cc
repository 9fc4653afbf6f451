// Request helpers shared by the operations (request.h).
#include "api/request.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>

#include "expr/legacy.h"
#include "types/attribute_value.h"
#include "types/key_codec.h"

namespace mysfits::table::api {

namespace {
std::string lower_first(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}
[[noreturn]] void wrong_type(std::string_view name) {
  throw api_error::serialization("Unexpected value type for field " + std::string(name));
}
}  // namespace

const json::object* find_object(const json::object& req, std::string_view name) {
  const auto* v = req.if_contains(name);
  if (!v || v->is_null()) return nullptr;
  if (!v->is_object()) wrong_type(name);
  return &v->as_object();
}
const json::array* find_array(const json::object& req, std::string_view name) {
  const auto* v = req.if_contains(name);
  if (!v || v->is_null()) return nullptr;
  if (!v->is_array()) wrong_type(name);
  return &v->as_array();
}
std::optional<std::string_view> find_string(const json::object& req, std::string_view name) {
  const auto* v = req.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) wrong_type(name);
  return std::string_view(v->as_string());
}
std::optional<std::int64_t> find_int(const json::object& req, std::string_view name) {
  const auto* v = req.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64())
    return static_cast<std::int64_t>(std::min<std::uint64_t>(v->as_uint64(), INT64_MAX));
  if (v->is_double()) {
    // Integral doubles (1e3, or numbers too long for 64 bits) clamp like the uint64 case; the
    // range check comes first, since converting an out-of-range double is undefined.
    double d = v->as_double();
    if (d >= 9.2233720368547758e18) return INT64_MAX;
    if (d <= -9.2233720368547758e18) return INT64_MIN;
    if (d == std::trunc(d)) return static_cast<std::int64_t>(d);
  }
  wrong_type(name);
}
std::optional<bool> find_bool(const json::object& req, std::string_view name) {
  const auto* v = req.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) wrong_type(name);
  return v->as_bool();
}
const json::object& get_object(const json::object& req, std::string_view name) {
  const auto* o = find_object(req, name);
  if (!o)
    throw api_error::validation("1 validation error detected: Value null at '" + lower_first(name) +
                                "' failed to satisfy constraint: Member must not be null");
  return *o;
}
std::string_view get_string(const json::object& req, std::string_view name) {
  auto s = find_string(req, name);
  if (!s)
    throw api_error::validation("1 validation error detected: Value null at '" + lower_first(name) +
                                "' failed to satisfy constraint: Member must not be null");
  return *s;
}

std::string_view get_table_name(const json::object& req, std::string_view field) {
  std::string_view name = get_string(req, field);
  // The message is built only for a bad name: every item request passes here.
  auto invalid = [&](std::string_view must) {
    return api_error::validation(
        "1 validation error detected: Value '" + std::string(name) + "' at '" + lower_first(field) +
        "' failed to satisfy constraint: Member must " + std::string(must));
  };
  if (name.size() < 3) throw invalid("have length greater than or equal to 3");
  if (name.size() > 255) throw invalid("have length less than or equal to 255");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      throw invalid("satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  return name;
}

std::shared_ptr<const storage::table_info> get_table(op_context& ctx, std::string_view name) {
  auto t = ctx.store.tables().find(name);
  if (!t) throw api_error::resource_not_found("Requested resource not found");
  return t;
}

std::string table_arn(const op_context& ctx, std::string_view table) {
  return "arn:aws:dynamodb:" + ctx.region + ":000000000000:table/" + std::string(table);
}

expr::key_schema_names names_of(const storage::key_schema& k) {
  expr::key_schema_names n;
  n.hash = k.hash_name;
  n.range = k.range_name;
  n.hash_type = std::string(storage::key_type_name(k.hash_type));
  if (k.range_type) n.range_type = std::string(storage::key_type_name(*k.range_type));
  return n;
}

namespace {
char type_char(key_type t) { return static_cast<char>(t); }

void check_key_lengths(const storage::table_info& t, const json::object& item) {
  const auto& h = item.at(t.keys.hash_name);
  if (attribute_value_size(h) > 2048)
    throw api_error::validation(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
        "limit of2048 bytes");
  if (t.keys.range_name && attribute_value_size(item.at(*t.keys.range_name)) > 1024)
    throw api_error::validation(
        "One or more parameter values were invalid: Aggregated size of all range keys has "
        "exceeded the size limit of 1024 bytes");
}

bool is_empty_key_value(const json::value& v) {
  const auto& o = v.as_object();
  const auto& inner = o.begin()->value();
  return inner.is_string() && inner.as_string().empty();
}
}  // namespace

std::string key_bytes_of_key(const storage::table_info& t, const json::object& key) {
  std::size_t expected = t.keys.range_name ? 2 : 1;
  if (key.size() != expected)
    throw api_error::validation("The provided key element does not match the schema");
  auto check = [&](const std::string& name, key_type type) {
    const auto* v = key.if_contains(name);
    if (!v) throw api_error::validation("The provided key element does not match the schema");
    validate_attribute_value(*v);
    if (attribute_type(*v) != storage::key_type_name(type))
      throw api_error::validation("The provided key element does not match the schema");
    if (is_empty_key_value(*v))
      throw api_error::validation(
          "One or more parameter values are not valid. The AttributeValue for a key attribute "
          "cannot contain an empty string value. Key: " +
          name);
  };
  check(t.keys.hash_name, t.keys.hash_type);
  if (t.keys.range_name) check(*t.keys.range_name, *t.keys.range_type);
  check_key_lengths(t, key);
  return storage::primary_key_bytes(key, t.keys);
}

namespace {
// The key rules of key_bytes_of_item: key attributes present with the right types, index key
// attributes (when present) of the right types, no empty key strings, key lengths.
void check_item_keys(const storage::table_info& t, const json::object& item) {
  auto check = [&](const std::string& name, key_type type) {
    const auto* v = item.if_contains(name);
    if (!v)
      throw api_error::validation("One or more parameter values were invalid: Missing the key " +
                                  name + " in the item");
    std::string_view actual = attribute_type(*v);
    if (actual != storage::key_type_name(type))
      throw api_error::validation(
          "One or more parameter values were invalid: Type mismatch for key " + name +
          " expected: " + std::string(1, type_char(type)) + " actual: " + std::string(actual));
    if (is_empty_key_value(*v))
      throw api_error::validation(
          "One or more parameter values are not valid. The AttributeValue for a key attribute "
          "cannot contain an empty string value. Key: " +
          name);
  };
  check(t.keys.hash_name, t.keys.hash_type);
  if (t.keys.range_name) check(*t.keys.range_name, *t.keys.range_type);
  for (const auto& i : t.indexes) {
    auto check_index = [&](const std::string& name, key_type type) {
      const auto* v = item.if_contains(name);
      if (!v) return;
      std::string_view actual = attribute_type(*v);
      if (actual != storage::key_type_name(type))
        throw api_error::validation(
            "One or more parameter values were invalid: Type mismatch for Index Key " + name +
            " Expected: " + std::string(1, type_char(type)) + " Actual: " + std::string(actual) +
            " IndexName: " + i.name);
      if (is_empty_key_value(*v))
        throw api_error::validation(
            "One or more parameter values are not valid. A value specified for a secondary index "
            "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
            "string value. IndexName: " +
            i.name + ", IndexKey: " + name);
    };
    check_index(i.keys.hash_name, i.keys.hash_type);
    if (i.keys.range_name) check_index(*i.keys.range_name, *i.keys.range_type);
  }
  check_key_lengths(t, item);
}
}  // namespace

std::string key_bytes_of_item(const storage::table_info& t, const json::object& item,
                              std::size_t* size) {
  std::size_t n = validate_item(item);  // the size limit included
  check_item_keys(t, item);
  if (size) *size = n;
  return storage::primary_key_bytes(item, t.keys);
}

std::size_t check_updated_item(const storage::table_info& t, const json::object& item,
                               const std::vector<std::string_view>& written) {
  std::size_t size = item_size(item);
  if (size > max_item_size)
    throw api_error::validation("Item size to update has exceeded the maximum allowed size");
  // In the item's order, as validate_item would find the first bad one.
  if (!written.empty())
    for (const auto& [name, v] : item)
      if (std::find(written.begin(), written.end(), std::string_view(name)) != written.end())
        validate_item_attribute(name, v);
  check_item_keys(t, item);
  return size;
}

json::object key_of(const storage::key_schema& k, const json::object& item) {
  json::object out;
  if (const auto* h = item.if_contains(k.hash_name)) out[k.hash_name] = *h;
  if (k.range_name)
    if (const auto* r = item.if_contains(*k.range_name)) out[*k.range_name] = *r;
  return out;
}

void check_no_placeholders_without_expressions(const json::object& req) {
  if (find_object(req, "ExpressionAttributeNames"))
    throw api_error::validation(
        "ExpressionAttributeNames can only be specified when using expressions");
  if (find_object(req, "ExpressionAttributeValues"))
    throw api_error::validation(
        "ExpressionAttributeValues can only be specified when using expressions");
}

write_condition parse_write_condition(const json::object& req, expr::expression_context& ctx,
                                      bool has_other_expression) {
  write_condition wc;
  auto ce = find_string(req, "ConditionExpression");
  const auto* expected = find_object(req, "Expected");
  if (ce && expected)
    throw api_error::validation(
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}");
  if (ce) {
    wc.cond = expr::parse_condition_cached(*ce, ctx, "ConditionExpression");
  } else {
    if (!has_other_expression) check_no_placeholders_without_expressions(req);
    if (expected) {
      auto op = find_string(req, "ConditionalOperator").value_or("");
      wc.cond = expr::convert_expected(*expected, op);
    }
  }
  if (auto r = find_string(req, "ReturnValuesOnConditionCheckFailure")) {
    if (*r == "ALL_OLD")
      wc.return_old_on_failure = true;
    else if (*r != "NONE")
      throw api_error::validation(
          "1 validation error detected: Value '" + std::string(*r) +
          "' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must "
          "satisfy enum value set: [ALL_OLD, NONE]");
  }
  return wc;
}

void check_write_condition(const write_condition& wc, const json::object* old_item) {
  if (!wc.cond || expr::evaluate_condition(*wc.cond, old_item)) return;
  auto e = api_error::conditional_check_failed();
  if (wc.return_old_on_failure && old_item) e.with_item(json::serialize(*old_item));
  throw e;
}

std::string_view get_return_values(const json::object& req,
                                   std::initializer_list<std::string_view> allowed) {
  auto rv = find_string(req, "ReturnValues");
  if (!rv) return "NONE";
  for (auto a : allowed)
    if (*rv == a) return *rv;
  throw api_error::validation("Return values set to invalid value");
}

void throw_storage_error(const error& e) {
  if (e.code == errc::not_found)
    throw api_error::resource_not_found("Requested resource not found");
  throw api_error::internal_server_error(e.message);
}

std::size_t page_size_of(const json::object& item) { return item_size(item); }

}  // namespace mysfits::table::api
