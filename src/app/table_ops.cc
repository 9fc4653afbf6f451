// DynamoDB requests for the app's routes.
#include "table_ops.h"

#include "mysfit.h"

namespace mysfits::app::detail {

namespace json = boost::json;
using ddbclient::call_result;

call_result<json::array> list_mysfits(ddbclient::table_api& t, const std::string& table,
                                      const ddbclient::call_context& ctx) {
  return ddbclient::paginate(t, "Scan", {{"TableName", table}}, ctx);
}

call_result<json::array> query_mysfits(ddbclient::table_api& t, const std::string& table,
                                       const std::string& attribute, const std::string& value,
                                       const ddbclient::call_context& ctx) {
  json::object condition{{"AttributeValueList", json::array{json::object{{"S", value}}}},
                         {"ComparisonOperator", "EQ"}};
  return ddbclient::paginate(t, "Query",
                             {{"TableName", table},
                              {"IndexName", attribute + "Index"},
                              {"KeyConditions", json::object{{attribute, condition}}}},
                             ctx);
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
                                     const std::string& id, const ddbclient::call_context& ctx) {
  auto r = t.call("UpdateItem",
                  {{"TableName", table},
                   {"Key", key_of(id)},
                   {"UpdateExpression", "ADD Likes :one"},
                   {"ConditionExpression", "attribute_exists(MysfitId)"},
                   {"ExpressionAttributeValues", json::object{{":one", {{"N", "1"}}}}},
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
