// DynamoDB requests for the app's routes.
#include "table_ops.h"

#include "mysfit.h"

namespace mysfits::app::detail {

namespace json = boost::json;
using ddbclient::call_result;

namespace {
json::object query_request(const std::string& table, const std::string& attribute,
                           const std::string& value);
}  // namespace

call_result<json::array> list_mysfits(ddbclient::table_api& t, const std::string& table,
                                      const ddbclient::call_context& ctx) {
  return ddbclient::paginate(t, "Scan", {{"TableName", table}}, ctx);
}

call_result<json::array> query_mysfits(ddbclient::table_api& t, const std::string& table,
                                       const std::string& attribute, const std::string& value,
                                       const ddbclient::call_context& ctx) {
  return ddbclient::paginate(t, "Query", query_request(table, attribute, value), ctx);
}

namespace {

json::object query_request(const std::string& table, const std::string& attribute,
                           const std::string& value) {
  json::object condition{{"AttributeValueList", json::array{json::object{{"S", value}}}},
                         {"ComparisonOperator", "EQ"}};
  return {{"TableName", table},
          {"IndexName", attribute + "Index"},
          {"KeyConditions", json::object{{attribute, condition}}}};
}

// paginate(), writing each page's items as the app's JSON instead of collecting them.
call_result<std::string> list_json(ddbclient::table_api& t, std::string_view op,
                                   json::object request, const ddbclient::call_context& ctx) {
  std::string out;
  out.reserve(8192);
  out += "{\"mysfits\":[";
  bool first = true;
  for (;;) {
    auto page = t.call_text(op, request, ctx);
    if (!page) return page.error();
    auto read = append_items_json(out, *page, first);
    if (!read.ok)
      return ddbclient::api_error{"SerializationException", "response is not a JSON object", 200};
    if (!read.has_last_key) break;
    // Another page (the table pages at 1 MB; twelve mysfits never do): the key to continue from
    // is read from the answer parsed in full.
    boost::system::error_code ec;
    auto v = json::parse(*page, ec);
    auto* last = ec || !v.is_object() ? nullptr : v.as_object().if_contains("LastEvaluatedKey");
    if (last == nullptr) break;
    request["ExclusiveStartKey"] = std::move(*last);
  }
  out += "]}";
  return out;
}

}  // namespace

call_result<std::string> list_mysfits_json(ddbclient::table_api& t, const std::string& table,
                                           const ddbclient::call_context& ctx) {
  return list_json(t, "Scan", {{"TableName", table}}, ctx);
}

call_result<std::string> query_mysfits_json(ddbclient::table_api& t, const std::string& table,
                                            const std::string& attribute, const std::string& value,
                                            const ddbclient::call_context& ctx) {
  return list_json(t, "Query", query_request(table, attribute, value), ctx);
}

call_result<std::optional<json::object>> get_mysfit(ddbclient::table_api& t,
                                                    const std::string& table, const std::string& id,
                                                    const ddbclient::call_context& ctx) {
  auto r = t.call("GetItem", {{"TableName", table}, {"Key", key_of(id)}}, ctx);
  if (!r) return r.error();
  auto* item = r->if_contains("Item");
  if (item == nullptr || !item->is_object() || item->as_object().empty()) {
    return std::optional<json::object>{};
  }
  return std::optional<json::object>{item->as_object()};
}

call_result<like_result> like_mysfit(ddbclient::table_api& t, const std::string& table,
                                     const std::string& id, std::size_t count,
                                     const ddbclient::call_context& ctx) {
  auto r =
      t.call("UpdateItem",
             {{"TableName", table},
              {"Key", key_of(id)},
              {"UpdateExpression", "ADD Likes :n"},
              {"ConditionExpression", "attribute_exists(MysfitId)"},
              {"ExpressionAttributeValues", json::object{{":n", {{"N", std::to_string(count)}}}}},
              {"ReturnValues", "UPDATED_NEW"}},
             ctx);
  if (!r) {
    if (r.error().type == "ConditionalCheckFailedException") {
      return like_result{write_outcome::not_found, nullptr};
    }
    return r.error();
  }
  like_result out;
  if (auto* attrs = r->if_contains("Attributes"); attrs && attrs->is_object()) {
    out.likes = to_json(attrs->as_object()).at("likes");
  }
  return out;
}

call_result<write_outcome> adopt_mysfit(ddbclient::table_api& t, const std::string& table,
                                        const std::string& id, const ddbclient::call_context& ctx) {
  auto r =
      t.call("UpdateItem",
             {{"TableName", table},
              {"Key", key_of(id)},
              {"UpdateExpression", "SET Adopted = :yes"},
              {"ConditionExpression",
               "attribute_exists(MysfitId) AND (Adopted = :no OR attribute_not_exists(Adopted))"},
              {"ExpressionAttributeValues",
               json::object{{":yes", {{"BOOL", true}}}, {":no", {{"BOOL", false}}}}}},
             ctx);
  if (r) return write_outcome::done;
  if (r.error().type != "ConditionalCheckFailedException") return r.error();
  // The condition failed: either there is no such mysfit or it is already adopted.
  auto existing = get_mysfit(t, table, id, ctx);
  if (!existing) return existing.error();
  return existing->has_value() ? write_outcome::conflict : write_outcome::not_found;
}

}  // namespace mysfits::app::detail
