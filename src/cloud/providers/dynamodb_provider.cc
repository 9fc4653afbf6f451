// AWS::DynamoDB::Table: a table in the region's mysfits-table engine (or any DynamoDB
// endpoint), created, changed and deleted through the project's DynamoDB client. The template's
// property names are DynamoDB's own, so most pass straight through; StreamSpecification gains
// StreamEnabled, Tags go through TagResource / UntagResource on update.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "mysfits/cloud/local_cloud.h"
#include "mysfits/ddbclient/client.h"
#include "providers/local_records.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;
using ddbclient::table_api;

namespace {

std::string str_of(const json::object& o, const char* key, std::string fallback = {}) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : fallback;
}

// Converts numeric strings (parameters arrive as strings) inside a throughput object.
json::value throughput(const json::value& v) {
  if (!v.is_object()) return v;
  json::object out;
  for (const auto& kv : v.as_object()) out[kv.key()] = records::numeric(kv.value());
  return out;
}

json::value index_list(const json::value& v) {
  if (!v.is_array()) return v;
  json::array out;
  for (const auto& i : v.as_array()) {
    if (!i.is_object()) {
      out.push_back(i);
      continue;
    }
    json::object o;
    for (const auto& kv : i.as_object()) {
      if (kv.key() == "ContributorInsightsSpecification") continue;  // recorded only
      o[kv.key()] = kv.key() == "ProvisionedThroughput" ? throughput(kv.value()) : kv.value();
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::string api_message(std::string_view op, const ddbclient::api_error& e) {
  return fmt::format("{} failed: {}{}{}", op, e.type, e.message.empty() ? "" : ": ", e.message);
}

class dynamodb_table_provider : public resource_provider {
 public:
  explicit dynamodb_table_provider(table_client_factory factory) : factory_(std::move(factory)) {}

  result<created_resource> create(const resource_request& req) override {
    auto client = factory_(req.region);
    if (!client) return client.error();
    const auto& p = props(req);
    auto name = table_name(req);
    json::object body{{"TableName", name}};
    for (const char* key : {"AttributeDefinitions", "KeySchema", "BillingMode", "TableClass",
                            "DeletionProtectionEnabled"}) {
      if (auto* v = p.if_contains(key)) body[key] = *v;
    }
    if (auto* v = p.if_contains("ProvisionedThroughput"))
      body["ProvisionedThroughput"] = throughput(*v);
    if (auto* v = p.if_contains("GlobalSecondaryIndexes"))
      body["GlobalSecondaryIndexes"] = index_list(*v);
    if (auto* v = p.if_contains("LocalSecondaryIndexes"))
      body["LocalSecondaryIndexes"] = index_list(*v);
    if (auto s = stream_spec(p)) body["StreamSpecification"] = *s;
    if (auto* t = p.if_contains("Tags"); t && t->is_array() && !t->as_array().empty()) {
      body["Tags"] = *t;
    }
    // CloudFormation's default billing mode is PROVISIONED, which needs a throughput.
    if (!body.contains("BillingMode") && !body.contains("ProvisionedThroughput")) {
      return error::invalid_argument(
          "ProvisionedThroughput is required when BillingMode is PROVISIONED (the default)");
    }
    auto r = (*client)->call("CreateTable", body);
    if (!r) {
      if (r.error().type == "ResourceInUseException") {
        return error::already_exists(fmt::format("Table {} already exists", name));
      }
      return error::unavailable(api_message("CreateTable", r.error()));
    }
    return wait_active(**client, name, req.region);
  }

  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto client = factory_(req.region);
    if (!client) return client.error();
    auto& api = **client;
    const auto& p = props(req);
    auto name = table_name(req, cur.physical_id);
    if (name != cur.physical_id) return create(req);  // a new name is a new table (replacement)
    auto d = api.call("DescribeTable", {{"TableName", name}});
    if (!d) return error::unavailable(api_message("DescribeTable", d.error()));
    const auto& table = d->at("Table").as_object();
    if (auto* ks = p.if_contains("KeySchema");
        ks && table.contains("KeySchema") &&
        json::serialize(*ks) != json::serialize(table.at("KeySchema"))) {
      return error::invalid_argument(
          fmt::format("CloudFormation cannot update a stack when a custom-named resource requires "
                      "replacing. Rename {} and update the stack again (KeySchema changed).",
                      name));
    }

    // Billing.
    auto billing = str_of(p, "BillingMode", "PROVISIONED");
    std::string current_billing = "PROVISIONED";
    if (auto* bs = table.if_contains("BillingModeSummary"); bs && bs->is_object())
      current_billing = str_of(bs->as_object(), "BillingMode", "PROVISIONED");
    json::object billing_update{{"TableName", name}};
    if (billing != current_billing) billing_update["BillingMode"] = billing;
    if (billing == "PROVISIONED") {
      if (auto* tp = p.if_contains("ProvisionedThroughput")) {
        billing_update["ProvisionedThroughput"] = throughput(*tp);
        if (billing == current_billing && table.contains("ProvisionedThroughput")) {
          auto now = table.at("ProvisionedThroughput").as_object();
          auto want = throughput(*tp).as_object();
          if (now.contains("ReadCapacityUnits") && want.contains("ReadCapacityUnits") &&
              now.at("ReadCapacityUnits") == want.at("ReadCapacityUnits") &&
              now.at("WriteCapacityUnits") == want.at("WriteCapacityUnits")) {
            billing_update.erase("ProvisionedThroughput");
          }
        }
      }
    }
    if (billing_update.size() > 1) {
      if (auto r = api.call("UpdateTable", billing_update); !r)
        return error::unavailable(api_message("UpdateTable", r.error()));
      if (auto w = wait_active(api, name, req.region); !w) return w.error();
    }

    // Global secondary indexes: deletes, then creates, one at a time as DynamoDB requires.
    std::map<std::string, json::value> want, have;
    if (auto* g = p.if_contains("GlobalSecondaryIndexes"); g && g->is_array()) {
      auto wanted = index_list(*g);
      for (const auto& i : wanted.as_array()) want[str_of(i.as_object(), "IndexName")] = i;
    }
    if (auto* g = table.if_contains("GlobalSecondaryIndexes"); g && g->is_array()) {
      for (const auto& i : g->as_array()) have[str_of(i.as_object(), "IndexName")] = i;
    }
    for (const auto& [index, _] : have) {
      if (want.contains(index)) continue;
      json::object u{{"TableName", name},
                     {"GlobalSecondaryIndexUpdates",
                      json::array{json::object{{"Delete", json::object{{"IndexName", index}}}}}}};
      if (auto r = api.call("UpdateTable", u); !r)
        return error::unavailable(api_message("UpdateTable", r.error()));
      if (auto w = wait_active(api, name, req.region); !w) return w.error();
    }
    for (const auto& [index, spec] : want) {
      if (have.contains(index)) continue;
      json::object u{{"TableName", name},
                     {"GlobalSecondaryIndexUpdates", json::array{json::object{{"Create", spec}}}}};
      if (auto* a = p.if_contains("AttributeDefinitions")) u["AttributeDefinitions"] = *a;
      if (auto r = api.call("UpdateTable", u); !r)
        return error::unavailable(api_message("UpdateTable", r.error()));
      if (auto w = wait_active(api, name, req.region); !w) return w.error();
    }

    // Stream.
    auto want_stream = stream_spec(p);
    bool has_stream = false;
    std::string has_view;
    if (auto* ss = table.if_contains("StreamSpecification"); ss && ss->is_object()) {
      auto* en = ss->as_object().if_contains("StreamEnabled");
      has_stream = en && en->is_bool() && en->as_bool();
      has_view = str_of(ss->as_object(), "StreamViewType");
    }
    bool stream_change = want_stream
                             ? (!has_stream || has_view != str_of(*want_stream, "StreamViewType"))
                             : has_stream;
    if (stream_change) {
      if (want_stream && has_stream) {  // a new view type: disable, then enable
        json::object off{{"TableName", name},
                         {"StreamSpecification", json::object{{"StreamEnabled", false}}}};
        if (auto r = api.call("UpdateTable", off); !r)
          return error::unavailable(api_message("UpdateTable", r.error()));
      }
      json::object u{{"TableName", name},
                     {"StreamSpecification",
                      want_stream ? json::value(*want_stream)
                                  : json::value(json::object{{"StreamEnabled", false}})}};
      if (auto r = api.call("UpdateTable", u); !r)
        return error::unavailable(api_message("UpdateTable", r.error()));
    }

    // Tags.
    auto arn = str_of(table, "TableArn");
    auto listed = api.call("ListTagsOfResource", {{"ResourceArn", arn}});
    if (!listed) return error::unavailable(api_message("ListTagsOfResource", listed.error()));
    std::map<std::string, std::string> tags_have, tags_want;
    if (auto* t = listed->if_contains("Tags"); t && t->is_array()) {
      for (const auto& kv : t->as_array())
        tags_have[str_of(kv.as_object(), "Key")] = str_of(kv.as_object(), "Value");
    }
    if (auto* t = p.if_contains("Tags"); t && t->is_array()) {
      for (const auto& kv : t->as_array())
        if (kv.is_object())
          tags_want[str_of(kv.as_object(), "Key")] = str_of(kv.as_object(), "Value");
    }
    json::array remove_keys, add;
    for (const auto& [k, v] : tags_have)
      if (!tags_want.contains(k)) remove_keys.push_back(json::string(k));
    for (const auto& [k, v] : tags_want) {
      auto it = tags_have.find(k);
      if (it == tags_have.end() || it->second != v)
        add.push_back(json::object{{"Key", k}, {"Value", v}});
    }
    if (!remove_keys.empty()) {
      if (auto r = api.call("UntagResource", {{"ResourceArn", arn}, {"TagKeys", remove_keys}}); !r)
        return error::unavailable(api_message("UntagResource", r.error()));
    }
    if (!add.empty()) {
      if (auto r = api.call("TagResource", {{"ResourceArn", arn}, {"Tags", add}}); !r)
        return error::unavailable(api_message("TagResource", r.error()));
    }
    return wait_active(api, name, req.region);
  }

  result<void> remove(const resource_request& req, const created_resource& cur) override {
    auto client = factory_(req.region);
    if (!client) return client.error();
    auto r = (*client)->call("DeleteTable", {{"TableName", cur.physical_id}});
    if (!r && r.error().type != "ResourceNotFoundException")
      return error::unavailable(api_message("DeleteTable", r.error()));
    return ok();
  }

 private:
  static const json::object& props(const resource_request& req) {
    static const json::object empty;
    return req.properties.is_object() ? req.properties.as_object() : empty;
  }
  // TableName, or the name CloudFormation would generate (stack-logical-RANDOM).
  static std::string table_name(const resource_request& req, const std::string& current = {}) {
    auto n = str_of(props(req), "TableName");
    if (!n.empty()) return n;
    if (!current.empty()) return current;
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{}-{}-{:012X}", req.stack_name, req.logical_id, rng() & 0xffffffffffffULL);
  }
  static std::optional<json::object> stream_spec(const json::object& p) {
    auto* s = p.if_contains("StreamSpecification");
    if (!s || !s->is_object()) return std::nullopt;
    auto view = str_of(s->as_object(), "StreamViewType");
    if (view.empty()) return std::nullopt;
    return json::object{{"StreamEnabled", true}, {"StreamViewType", view}};
  }
  static result<created_resource> wait_active(table_api& api, const std::string& name,
                                              const std::string& region) {
    for (int attempt = 0; attempt < 600; ++attempt) {
      auto d = api.call("DescribeTable", {{"TableName", name}});
      if (!d) return error::unavailable(api_message("DescribeTable", d.error()));
      const auto& t = d->at("Table").as_object();
      bool active = str_of(t, "TableStatus") == "ACTIVE";
      if (auto* g = t.if_contains("GlobalSecondaryIndexes"); g && g->is_array()) {
        for (const auto& i : g->as_array())
          active = active && str_of(i.as_object(), "IndexStatus", "ACTIVE") == "ACTIVE";
      }
      if (active) {
        created_resource out;
        out.physical_id = name;
        out.attributes["Arn"] = str_of(
            t, "TableArn", fmt::format("arn:aws:dynamodb:{}:123456789012:table/{}", region, name));
        if (auto s = str_of(t, "LatestStreamArn"); !s.empty()) out.attributes["StreamArn"] = s;
        return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return error::timeout(fmt::format("table {} did not become ACTIVE within 60 s", name));
  }

  table_client_factory factory_;
};

}  // namespace

table_client_factory region_table_clients(const fs::path& state_dir) {
  return [state_dir](const std::string& region) -> result<std::shared_ptr<table_api>> {
    auto settings = records::read_region(state_dir, region);
    if (settings.table_endpoint.empty()) {
      return error::unavailable(
          fmt::format("no table engine is known for {} (`mysfits up` starts one and records it in "
                      "{}/regions/{}.json)",
                      region, state_dir.string(), region));
    }
    auto ep = ddbclient::parse_endpoint(settings.table_endpoint);
    if (!ep) return ep.error();
    ddbclient::client_options o;
    o.region = region;
    o.endpoint_override = *ep;
    return std::shared_ptr<table_api>(std::make_shared<ddbclient::client>(o));
  };
}

std::shared_ptr<resource_provider> make_dynamodb_table_provider(table_client_factory factory) {
  return std::make_shared<dynamodb_table_provider>(std::move(factory));
}

}  // namespace mysfits::cloud
