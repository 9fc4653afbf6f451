// Seeding: CreateTable when missing, wait for ACTIVE, then a conditional PutItem per mysfit so
// running it again changes nothing (likes and adoptions survive).
#include "mysfits/app/seed.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "mysfit.h"

namespace mysfits::app {

namespace json = boost::json;
using ddbclient::api_error;

json::object create_table_request(const std::string& table_name) {
  auto attr = [](const char* name) {
    return json::object{{"AttributeName", name}, {"AttributeType", "S"}};
  };
  auto key = [](const char* name, const char* type) {
    return json::object{{"AttributeName", name}, {"KeyType", type}};
  };
  auto gsi = [&](const char* index, const char* hash) {
    return json::object{{"IndexName", index},
                        {"KeySchema", json::array{key(hash, "HASH"), key("MysfitId", "RANGE")}},
                        {"Projection", json::object{{"ProjectionType", "ALL"}}}};
  };
  return {
      {"TableName", table_name},
      {"AttributeDefinitions", json::array{attr("MysfitId"), attr("GoodEvil"), attr("LawChaos")}},
      {"KeySchema", json::array{key("MysfitId", "HASH")}},
      {"GlobalSecondaryIndexes",
       json::array{gsi("GoodEvilIndex", "GoodEvil"), gsi("LawChaosIndex", "LawChaos")}},
      {"BillingMode", "PAY_PER_REQUEST"}};
}

namespace {

bool is_active(const json::object& describe) {
  auto* t = describe.if_contains("Table");
  if (t == nullptr || !t->is_object()) return false;
  auto* status = t->as_object().if_contains("TableStatus");
  if (status == nullptr || !status->is_string() || status->as_string() != "ACTIVE") return false;
  if (auto* gsis = t->as_object().if_contains("GlobalSecondaryIndexes"); gsis && gsis->is_array()) {
    for (const auto& g : gsis->as_array()) {
      if (!g.is_object()) continue;
      auto* s = g.as_object().if_contains("IndexStatus");
      if (s && s->is_string() && s->as_string() != "ACTIVE") return false;
    }
  }
  return true;
}

}  // namespace

ddbclient::call_result<seed_report> seed(ddbclient::table_api& table, const seed_options& options) {
  seed_report report;
  auto pause = options.pause ? options.pause
                             : [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); };
  auto described = table.call("DescribeTable", {{"TableName", options.table_name}});
  if (!described) {
    if (described.error().type != "ResourceNotFoundException") return described.error();
    auto created = table.call("CreateTable", create_table_request(options.table_name));
    if (!created && created.error().type != "ResourceInUseException") return created.error();
    report.created_table = static_cast<bool>(created);
    spdlog::info("seed: created table {}", options.table_name);
  }
  auto deadline = std::chrono::steady_clock::now() + options.wait_timeout;
  for (;;) {
    auto d = table.call("DescribeTable", {{"TableName", options.table_name}});
    if (d && is_active(*d)) break;
    if (!d && d.error().type != "ResourceNotFoundException") return d.error();
    if (std::chrono::steady_clock::now() > deadline) {
      return api_error{"Timeout", "table " + options.table_name + " did not become ACTIVE", 0};
    }
    pause();
  }

  auto mysfits = shipped_mysfits();
  if (!mysfits) return api_error{"SeedDataError", mysfits.error().message, 0};
  for (const auto& m : *mysfits) {
    auto put = table.call("PutItem", {{"TableName", options.table_name},
                                      {"Item", to_item(m)},
                                      {"ConditionExpression", "attribute_not_exists(MysfitId)"}});
    if (put) {
      ++report.inserted;
    } else if (put.error().type == "ConditionalCheckFailedException") {
      ++report.existing;
    } else {
      return put.error();
    }
  }
  spdlog::info("seed: {} mysfits inserted, {} already present", report.inserted, report.existing);
  return report;
}

}  // namespace mysfits::app
