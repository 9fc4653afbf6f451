// The fake table's request handling.
#include "fake_table.h"

#include "mysfit.h"

namespace mysfits::app::testing {

namespace json = boost::json;
using ddbclient::api_error;

namespace {
std::string s_of(const json::object& item, std::string_view attr) {
  auto* a = item.if_contains(attr);
  if (!a || !a->is_object()) return {};
  auto* s = a->as_object().if_contains("S");
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}
api_error condition_failed() {
  return {"ConditionalCheckFailedException", "The conditional request failed", 400};
}
}  // namespace

void fake_table::load_shipped() {
  exists = true;
  for (const auto& m : shipped_mysfits().value()) items[m.id] = to_item(m);
}

ddbclient::call_result<json::object> fake_table::call(std::string_view op, const json::object& body,
                                                      const ddbclient::call_context& ctx) {
  std::lock_guard lock(mu_);
  calls.push_back({std::string(op), body, ctx});
  if (failure_) return *failure_;
  if (op == "DescribeTable") {
    if (!exists) return api_error{"ResourceNotFoundException", "no table", 400};
    return json::object{{"Table", json::object{{"TableStatus", "ACTIVE"}}}};
  }
  if (op == "CreateTable") {
    if (exists) return api_error{"ResourceInUseException", "exists", 400};
    exists = true;
    return json::object{};
  }
  if (!exists) return api_error{"ResourceNotFoundException", "no table", 400};
  if (op == "Scan") {
    // Pages of 5 to make the caller follow LastEvaluatedKey.
    auto it = items.begin();
    if (auto* start = body.if_contains("ExclusiveStartKey")) {
      it = items.upper_bound(s_of(start->as_object(), "MysfitId"));
    }
    json::array page;
    for (; it != items.end() && page.size() < 5; ++it) page.push_back(it->second);
    json::object out{{"Items", page}, {"Count", page.size()}};
    if (it != items.end()) out["LastEvaluatedKey"] = key_of(std::prev(it)->first);
    return out;
  }
  if (op == "Query") {
    const auto& conds = body.at("KeyConditions").as_object();
    const auto& [attr, cond] = *conds.begin();
    std::string want(cond.at("AttributeValueList").as_array()[0].at("S").as_string());
    json::array out;
    for (const auto& [id, item] : items) {
      if (s_of(item, attr) == want) out.push_back(item);
    }
    return json::object{{"Items", out}, {"Count", out.size()}};
  }
  std::string id = body.contains("Key") ? s_of(body.at("Key").as_object(), "MysfitId") : "";
  if (op == "GetItem") {
    auto it = items.find(id);
    if (it == items.end()) return json::object{};
    return json::object{{"Item", it->second}};
  }
  if (op == "PutItem") {
    const auto& item = body.at("Item").as_object();
    std::string key = s_of(item, "MysfitId");
    if (body.contains("ConditionExpression") && items.contains(key)) return condition_failed();
    items[key] = item;
    return json::object{};
  }
  if (op == "UpdateItem") {
    auto it = items.find(id);
    if (it == items.end()) return condition_failed();
    std::string expr(body.at("UpdateExpression").as_string());
    if (expr == "ADD Likes :n") {
      std::int64_t likes = 0;
      if (auto* l = it->second.if_contains("Likes")) {
        likes = std::stoll(std::string(l->at("N").as_string()));
      }
      const auto& n = body.at("ExpressionAttributeValues").at(":n").at("N").as_string();
      it->second["Likes"] = json::object{{"N", std::to_string(likes + std::stoll(std::string(n)))}};
      return json::object{{"Attributes", json::object{{"Likes", it->second["Likes"]}}}};
    }
    if (expr == "SET Adopted = :yes") {
      auto* a = it->second.if_contains("Adopted");
      if (a && a->at("BOOL").as_bool()) return condition_failed();
      it->second["Adopted"] = json::object{{"BOOL", true}};
      return json::object{};
    }
    return api_error{"ValidationException", "fake table: unsupported update " + expr, 400};
  }
  return api_error{"UnknownOperationException", std::string(op), 400};
}

}  // namespace mysfits::app::testing
