// Table operations: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable.
// Tables become ACTIVE at once (CreateTable already reports ACTIVE so waiters finish at once);
// a GSI added by UpdateTable is back-filled before UpdateTable returns.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
#include <boost/json/serialize.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <chrono>
#include <set>

#include "api/ops.h"
#include "api/request.h"
#include "api/streams.h"
#include "types/key_codec.h"

namespace mysfits::table::api {

namespace {

using storage::index_info;
using storage::key_schema;
using storage::projection_type;
using storage::table_info;

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// Reads AttributeDefinitions into name → type.
std::map<std::string, key_type> parse_attribute_definitions(const json::array& defs) {
  std::map<std::string, key_type> out;
  std::size_t n = 0;
  for (const auto& d : defs) {
    ++n;
    if (!d.is_object())
      throw api_error::serialization("Unexpected value type in AttributeDefinitions");
    auto name = get_string(d.as_object(), "AttributeName");
    // Key attribute names (the only ones defined here) are 1..255 bytes.
    if (name.empty() || name.size() > 255)
      throw api_error::validation(
          "1 validation error detected: Value '" + std::string(name) +
          "' at 'attributeDefinitions." + std::to_string(n) +
          ".member.attributeName' failed to satisfy constraint: Member must " +
          (name.empty() ? "have length greater than or equal to 1"
                        : "have length less than or equal to 255"));
    auto type = get_string(d.as_object(), "AttributeType");
    auto t = parse_key_type(type);
    if (!t)
      throw api_error::validation(
          "1 validation error detected: Value '" + std::string(type) +
          "' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: "
          "Member must satisfy enum value set: [B, N, S]");
    if (out.contains(std::string(name)))
      throw api_error::validation("Cannot have two attributes with the same name. Attribute: " +
                                  std::string(name));
    out[std::string(name)] = *t;
  }
  return out;
}

key_schema parse_key_schema(const json::array& ks, const std::map<std::string, key_type>& defs,
                            std::set<std::string>& used, std::string_view what) {
  if (ks.empty() || ks.size() > 2)
    throw api_error::validation(
        "1 validation error detected: Value '[]' at 'keySchema' failed to satisfy constraint: "
        "Member must have length less than or equal to 2");
  key_schema k;
  std::set<std::string> missing;
  for (std::size_t n = 0; n < ks.size(); ++n) {
    if (!ks[n].is_object()) throw api_error::serialization("Unexpected value type in KeySchema");
    std::string name(get_string(ks[n].as_object(), "AttributeName"));
    auto kt = get_string(ks[n].as_object(), "KeyType");
    if (kt != "HASH" && kt != "RANGE")
      throw api_error::validation(
          "1 validation error detected: Value '" + std::string(kt) + "' at 'keySchema." +
          std::to_string(n + 1) +
          ".member.keyType' failed to satisfy constraint: Member must satisfy enum value set: "
          "[HASH, RANGE]");
    if ((n == 0 && kt != "HASH") || (n == 1 && kt != "RANGE"))
      throw api_error::validation(std::string("Invalid KeySchema: The ") +
                                  (n == 0 ? "first" : "second") + " KeySchemaElement is not a " +
                                  (n == 0 ? "HASH" : "RANGE") + " key type");
    auto it = defs.find(name);
    if (it == defs.end()) {
      missing.insert(name);
      continue;
    }
    used.insert(name);
    if (n == 0) {
      k.hash_name = name;
      k.hash_type = it->second;
    } else {
      if (name == k.hash_name)
        throw api_error::validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name");
      k.range_name = name;
      k.range_type = it->second;
    }
  }
  if (!missing.empty()) {
    std::set<std::string> all;
    for (const auto& [n, _] : defs) all.insert(n);
    throw api_error::validation(
        "One or more parameter values were invalid: Some index key attributes are not defined in "
        "AttributeDefinitions. Keys: [" +
        join(missing) + "], AttributeDefinitions: [" + join(all) + "]");
  }
  (void)what;
  return k;
}

void parse_projection(const json::object& p, index_info& i) {
  auto type = find_string(p, "ProjectionType").value_or("ALL");
  if (type == "ALL") {
    i.projection = projection_type::all;
  } else if (type == "KEYS_ONLY") {
    i.projection = projection_type::keys_only;
  } else if (type == "INCLUDE") {
    i.projection = projection_type::include;
  } else {
    throw api_error::validation(
        "1 validation error detected: Value '" + std::string(type) +
        "' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum "
        "value set: [ALL, INCLUDE, KEYS_ONLY]");
  }
  const auto* nk = find_array(p, "NonKeyAttributes");
  if (nk && i.projection != projection_type::include)
    throw api_error::validation("One or more parameter values were invalid: ProjectionType is " +
                                std::string(type) + ", but NonKeyAttributes is specified");
  if (!nk && i.projection == projection_type::include)
    throw api_error::validation(
        "One or more parameter values were invalid: NonKeyAttributes must be specified when "
        "ProjectionType is INCLUDE");
  if (nk)
    for (const auto& a : *nk) {
      if (!a.is_string())
        throw api_error::serialization("Unexpected value type in NonKeyAttributes");
      i.non_key_attributes.emplace_back(a.as_string());
    }
}

void parse_throughput(const json::object* pt, std::int64_t& rcu, std::int64_t& wcu) {
  if (!pt) return;
  auto r = find_int(*pt, "ReadCapacityUnits");
  auto w = find_int(*pt, "WriteCapacityUnits");
  if (!r || !w || *r < 1 || *w < 1)
    throw api_error::validation(
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
        "both be specified and greater than 0");
  rcu = *r;
  wcu = *w;
}

index_info parse_index(const json::object& o, bool is_global,
                       const std::map<std::string, key_type>& defs, std::set<std::string>& used,
                       bool pay_per_request) {
  index_info i;
  i.is_global = is_global;
  i.name = std::string(get_string(o, "IndexName"));
  if (i.name.size() < 3 || i.name.size() > 255)
    throw api_error::validation("1 validation error detected: Value '" + i.name +
                                "' at 'indexName' failed to satisfy constraint: Member must have "
                                "length greater than or equal to 3");
  const auto* ks = find_array(o, "KeySchema");
  if (!ks)
    throw api_error::validation(
        "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: "
        "Member must not be null");
  i.keys = parse_key_schema(*ks, defs, used, "index");
  const auto* p = find_object(o, "Projection");
  if (!p)
    throw api_error::validation(
        "1 validation error detected: Value null at 'projection' failed to satisfy constraint: "
        "Member must not be null");
  parse_projection(*p, i);
  const auto* pt = find_object(o, "ProvisionedThroughput");
  if (is_global) {
    if (pay_per_request && pt)
      throw api_error::validation(
          "One or more parameter values were invalid: ProvisionedThroughput should not be "
          "specified for index: " +
          i.name + " when BillingMode is PAY_PER_REQUEST");
    if (!pay_per_request && !pt)
      throw api_error::validation(
          "One or more parameter values were invalid: ProvisionedThroughput must be specified for "
          "index: " +
          i.name);
    parse_throughput(pt, i.read_capacity, i.write_capacity);
  }
  return i;
}

json::array key_schema_json(const key_schema& k) {
  json::array a;
  a.emplace_back(json::object{{"AttributeName", k.hash_name}, {"KeyType", "HASH"}});
  if (k.range_name)
    a.emplace_back(json::object{{"AttributeName", *k.range_name}, {"KeyType", "RANGE"}});
  return a;
}

json::object throughput_json(std::int64_t r, std::int64_t w) {
  return {{"NumberOfDecreasesToday", 0}, {"ReadCapacityUnits", r}, {"WriteCapacityUnits", w}};
}

}  // namespace

json::object describe(op_context& ctx, const table_info& t) {
  json::object d;
  d["AttributeDefinitions"] = t.attribute_definitions;
  d["TableName"] = t.name;
  d["KeySchema"] = key_schema_json(t.keys);
  d["TableStatus"] = "ACTIVE";
  d["CreationDateTime"] = t.creation_time;
  d["ProvisionedThroughput"] = throughput_json(t.read_capacity, t.write_capacity);
  auto stats = ctx.store.stats(t.id);
  d["TableSizeBytes"] = stats.size_bytes;
  d["ItemCount"] = stats.item_count;
  std::string arn = table_arn(ctx, t.name);
  d["TableArn"] = arn;
  d["TableId"] = t.table_uuid;
  if (t.billing_mode == "PAY_PER_REQUEST")
    d["BillingModeSummary"] = json::object{{"BillingMode", "PAY_PER_REQUEST"},
                                           {"LastUpdateToPayPerRequestDateTime", t.creation_time}};
  json::array gsis, lsis;
  for (const auto& i : t.indexes) {
    json::object o;
    o["IndexName"] = i.name;
    o["KeySchema"] = key_schema_json(i.keys);
    json::object p{{"ProjectionType", i.projection == projection_type::all         ? "ALL"
                                      : i.projection == projection_type::keys_only ? "KEYS_ONLY"
                                                                                   : "INCLUDE"}};
    if (i.projection == projection_type::include) {
      json::array nk;
      for (const auto& a : i.non_key_attributes) nk.emplace_back(a);
      p["NonKeyAttributes"] = std::move(nk);
    }
    o["Projection"] = std::move(p);
    auto is = ctx.store.index_stats(t.id, i.id);
    o["IndexSizeBytes"] = is.size_bytes;
    o["ItemCount"] = is.item_count;
    o["IndexArn"] = arn + "/index/" + i.name;
    if (i.is_global) {
      // A GSI added by UpdateTable is CREATING, with Backfilling, until its existing items are
      // indexed (table_store.h, "Index back-fill"); then ACTIVE without Backfilling, as in
      // DynamoDB, where Backfilling never appears for a CreateTable index either.
      o["IndexStatus"] = i.backfilling ? "CREATING" : "ACTIVE";
      if (i.backfilling) o["Backfilling"] = true;
      o["ProvisionedThroughput"] = throughput_json(i.read_capacity, i.write_capacity);
      gsis.emplace_back(std::move(o));
    } else {
      lsis.emplace_back(std::move(o));
    }
  }
  if (!gsis.empty()) d["GlobalSecondaryIndexes"] = std::move(gsis);
  if (!lsis.empty()) d["LocalSecondaryIndexes"] = std::move(lsis);
  if (t.stream_enabled)
    d["StreamSpecification"] =
        json::object{{"StreamEnabled", true}, {"StreamViewType", t.stream_view_type}};
  if (!t.stream_label.empty()) {
    // Still shown once the stream is disabled, as DynamoDB does: its records stay readable.
    d["LatestStreamLabel"] = t.stream_label;
    d["LatestStreamArn"] = streams::stream_arn(ctx, t.name, t.stream_label);
  }
  if (t.is_global()) {
    // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ReplicaDescription.html
    // Replicas lists the other regions' replicas; this region's is the table itself.
    d["GlobalTableVersion"] = "2019.11.21";
    json::array replicas;
    for (const auto& r : t.replicas) {
      json::object rd{{"RegionName", r.region}, {"ReplicaStatus", r.status}};
      for (const auto& kv : t.replica_settings(r.region))
        if (kv.key() != storage::table_info::settings_version_key) rd[kv.key()] = kv.value();
      replicas.emplace_back(std::move(rd));
    }
    d["Replicas"] = std::move(replicas);
  }
  return d;
}

void enable_stream(table_info& t, std::string_view view_type) {
  if (view_type != "NEW_IMAGE" && view_type != "OLD_IMAGE" && view_type != "NEW_AND_OLD_IMAGES" &&
      view_type != "KEYS_ONLY")
    throw api_error::validation(
        "1 validation error detected: Value '" + std::string(view_type) +
        "' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must "
        "satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]");
  if (t.stream_enabled) {
    if (t.stream_view_type == view_type) return;
    throw api_error::validation("Table already has an enabled stream: TableName: " + t.name);
  }
  // The previous (disabled) stream stays listed and readable under its own label.
  auto before = streams::streams_of(t);
  if (!t.stream_label.empty()) {
    auto* h = t.extra.if_contains("stream_history");
    if (!h || !h->is_array()) h = &(t.extra["stream_history"] = json::array());
    h->as_array().emplace_back(json::object{{"label", t.stream_label},
                                            {"view_type", t.stream_view_type},
                                            {"last_sequence", before.back().last_sequence}});
    t.extra.erase("stream_last_sequence");
  }
  // A new label (and so a new ARN), later than every earlier one even within one millisecond.
  std::uint64_t ms = streams::now_ms();
  std::string label = streams::make_label(ms);
  while (!before.empty() && label <= before.back().label) label = streams::make_label(++ms);
  t.stream_enabled = true;
  t.stream_view_type = std::string(view_type);
  t.stream_label = std::move(label);
}

namespace {
// StreamSpecification of CreateTable / UpdateTable. `last_sequence` is the table's last stream
// sequence number (where a stream being disabled ends).
void parse_stream_specification(const json::object& req, table_info& t, bool is_create,
                                std::uint64_t last_sequence) {
  const auto* ss = find_object(req, "StreamSpecification");
  if (!ss) return;
  auto enabled = find_bool(*ss, "StreamEnabled");
  if (!enabled)
    throw api_error::validation(
        "1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to "
        "satisfy constraint: Member must not be null");
  if (!*enabled) {
    if (find_string(*ss, "StreamViewType"))
      throw api_error::validation(
          "One or more parameter values were invalid: Disabling streams does not take a "
          "StreamViewType");
    if (is_create) return;
    if (!t.stream_enabled) throw api_error::validation("Table already has no stream enabled");
    if (t.is_global())
      throw api_error::validation(
          "One or more parameter values were invalid: Stream cannot be disabled on a global "
          "table (it carries the replication); delete its replicas first");
    streams::disable_stream(t, last_sequence);
    return;
  }
  auto vt = find_string(*ss, "StreamViewType");
  if (!vt)
    throw api_error::validation(
        "One or more parameter values were invalid: You must specify a StreamViewType when "
        "enabling a stream");
  if (t.stream_enabled)
    throw api_error::validation("Table already has an enabled stream: TableName: " + t.name);
  enable_stream(t, *vt);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

json::object create_table(op_context& ctx, const json::object& req) {
  table_info t;
  t.name = std::string(get_table_name(req));
  const auto* ad = find_array(req, "AttributeDefinitions");
  if (!ad)
    throw api_error::validation(
        "1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy "
        "constraint: Member must not be null");
  const auto* ks = find_array(req, "KeySchema");
  if (!ks)
    throw api_error::validation(
        "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: "
        "Member must not be null");
  auto defs = parse_attribute_definitions(*ad);
  std::set<std::string> used;
  t.keys = parse_key_schema(*ks, defs, used, "table");

  auto billing = find_string(req, "BillingMode").value_or("PROVISIONED");
  if (billing != "PROVISIONED" && billing != "PAY_PER_REQUEST")
    throw api_error::validation(
        "1 validation error detected: Value '" + std::string(billing) +
        "' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: "
        "[PROVISIONED, PAY_PER_REQUEST]");
  t.billing_mode = std::string(billing);
  bool on_demand = billing == "PAY_PER_REQUEST";
  const auto* pt = find_object(req, "ProvisionedThroughput");
  if (on_demand && pt)
    throw api_error::validation(
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
        "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
  if (!on_demand && !pt)
    throw api_error::validation(
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
        "both be specified when BillingMode is PROVISIONED");
  parse_throughput(pt, t.read_capacity, t.write_capacity);

  std::set<std::string> index_names;
  std::uint32_t next_id = 1;
  if (const auto* gsis = find_array(req, "GlobalSecondaryIndexes")) {
    if (gsis->empty()) throw api_error::validation("GSI list is empty/invalid");
    for (const auto& g : *gsis) {
      if (!g.is_object())
        throw api_error::serialization("Unexpected value type in GlobalSecondaryIndexes");
      auto i = parse_index(g.as_object(), true, defs, used, on_demand);
      if (!index_names.insert(i.name).second)
        throw api_error::validation(
            "One or more parameter values were invalid: Duplicate index name: " + i.name);
      i.id = next_id++;
      t.indexes.push_back(std::move(i));
    }
    if (t.indexes.size() > 20)
      throw api_error::limit_exceeded(
          "Subscriber limit exceeded: The number of global secondary indexes exceeds the limit of "
          "20");
  }
  if (const auto* lsis = find_array(req, "LocalSecondaryIndexes")) {
    if (lsis->empty()) throw api_error::validation("ListOfLocalSecondaryIndexes is empty");
    if (!t.keys.range_name)
      throw api_error::validation(
          "One or more parameter values were invalid: Table KeySchema does not have a range key, "
          "which is required when specifying a LocalSecondaryIndex");
    std::size_t n = 0;
    for (const auto& l : *lsis) {
      if (!l.is_object())
        throw api_error::serialization("Unexpected value type in LocalSecondaryIndexes");
      auto i = parse_index(l.as_object(), false, defs, used, on_demand);
      if (i.keys.hash_name != t.keys.hash_name || !i.keys.range_name)
        throw api_error::validation(
            "One or more parameter values were invalid: Index KeySchema does not have the same "
            "leading hash key as table KeySchema for index: " +
            i.name + ". index hash key: " + i.keys.hash_name +
            ", table hash key: " + t.keys.hash_name);
      if (!index_names.insert(i.name).second)
        throw api_error::validation(
            "One or more parameter values were invalid: Duplicate index name: " + i.name);
      i.id = next_id++;
      t.indexes.push_back(std::move(i));
      ++n;
    }
    if (n > 5)
      throw api_error::validation(
          "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds "
          "per-table limit of 5");
  }
  if (used.size() != defs.size())
    throw api_error::validation(
        "One or more parameter values were invalid: Number of attributes in KeySchema does not "
        "exactly match number of attributes defined in AttributeDefinitions");
  t.next_index_id = next_id;
  t.attribute_definitions = *ad;
  parse_stream_specification(req, t, true, 0);
  if (const auto* tags = find_array(req, "Tags"))
    for (const auto& tag : *tags)
      if (tag.is_object())
        t.tags.emplace_back(get_string(tag.as_object(), "Key"),
                            get_string(tag.as_object(), "Value"));
  t.creation_time = now_seconds();
  t.table_uuid = boost::uuids::to_string(boost::uuids::random_generator()());
  auto created = ctx.store.tables().create(std::move(t));
  if (!created) {
    if (created.error().code == errc::already_exists)
      throw api_error::resource_in_use("Table already exists: " +
                                       std::string(get_string(req, "TableName")));
    throw api_error::internal_server_error(created.error().message);
  }
  return {{"TableDescription", describe(ctx, **created)}};
}

json::object describe_table(op_context& ctx, const json::object& req) {
  auto name = get_table_name(req);
  auto t = ctx.store.tables().find(name);
  if (!t)
    throw api_error::resource_not_found(
        "Requested resource not found: Table: " + std::string(name) + " not found");
  return {{"Table", describe(ctx, *t)}};
}

json::object list_tables(op_context& ctx, const json::object& req) {
  auto limit = find_int(req, "Limit").value_or(100);
  if (limit < 1 || limit > 100)
    throw api_error::validation(
        "1 validation error detected: Value '" + std::to_string(limit) +
        "' at 'limit' failed to satisfy constraint: Member must have value " +
        (limit < 1 ? "greater than or equal to 1" : "less than or equal to 100"));
  auto start = find_string(req, "ExclusiveStartTableName");
  json::array names;
  std::string last;
  bool more = false;
  for (const auto& t : ctx.store.tables().list()) {
    if (start && t->name <= *start) continue;
    if (static_cast<std::int64_t>(names.size()) == limit) {
      more = true;
      break;
    }
    names.emplace_back(t->name);
    last = t->name;
  }
  json::object out{{"TableNames", std::move(names)}};
  if (more) out["LastEvaluatedTableName"] = last;
  return out;
}

json::object delete_table(op_context& ctx, const json::object& req) {
  auto name = get_table_name(req);
  auto t = ctx.store.tables().find(name);
  if (!t)
    throw api_error::resource_not_found(
        "Requested resource not found: Table: " + std::string(name) + " not found");
  // A replica of a global table: the other regions drop it from their replica sets first.
  if (t->is_global() && ctx.replication) ctx.replication->delete_replica_table(ctx, *t);
  json::object d = describe(ctx, *t);
  d["TableStatus"] = "DELETING";
  auto removed = ctx.store.delete_table(name);
  if (!removed) {
    if (removed.error().code == errc::not_found)
      throw api_error::resource_not_found(
          "Requested resource not found: Table: " + std::string(name) + " not found");
    throw api_error::internal_server_error(removed.error().message);
  }
  return {{"TableDescription", std::move(d)}};
}

json::object update_table(op_context& ctx, const json::object& req) {
  auto name = get_table_name(req);
  auto current = ctx.store.tables().find(name);
  if (!current)
    throw api_error::resource_not_found(
        "Requested resource not found: Table: " + std::string(name) + " not found");
  if (const auto* replica_updates = find_array(req, "ReplicaUpdates")) {
    // A replica change is its own request, as DynamoDB requires.
    for (const char* other : {"BillingMode", "ProvisionedThroughput", "GlobalSecondaryIndexUpdates",
                              "StreamSpecification"})
      if (req.contains(other))
        throw api_error::validation(
            "One or more parameter values were invalid: ReplicaUpdates cannot be combined with "
            "other table updates in the same request");
    if (!ctx.replication)
      throw api_error::validation(
          "One or more parameter values were invalid: this server has no regions configured "
          "(start mysfits-table with --regions-file to use global tables)");
    auto updated = ctx.replication->update_replicas(ctx, *current, *replica_updates);
    return {{"TableDescription", describe(ctx, *updated)}};
  }
  // The changes are made to the description as stored when the store applies them, under the
  // table's lock (table_store::modify_table), so a concurrent change (the replicator's, another
  // UpdateTable, tags) is neither lost nor undone.
  auto updated = ctx.store.modify_table(name, [&](table_info& t) {
    bool changed = false;
    if (auto billing = find_string(req, "BillingMode")) {
      if (*billing != "PROVISIONED" && *billing != "PAY_PER_REQUEST")
        throw api_error::validation(
            "1 validation error detected: Value '" + std::string(*billing) +
            "' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: "
            "[PROVISIONED, PAY_PER_REQUEST]");
      t.billing_mode = std::string(*billing);
      if (t.billing_mode == "PAY_PER_REQUEST") {
        t.read_capacity = t.write_capacity = 0;
        for (auto& i : t.indexes) i.read_capacity = i.write_capacity = 0;
      }
      changed = true;
    }
    if (const auto* pt = find_object(req, "ProvisionedThroughput")) {
      if (t.billing_mode == "PAY_PER_REQUEST")
        throw api_error::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
            "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
      parse_throughput(pt, t.read_capacity, t.write_capacity);
      changed = true;
    }
    std::map<std::string, key_type> defs;
    for (const auto& d : t.attribute_definitions)
      if (d.is_object())
        defs[std::string(d.as_object().at("AttributeName").as_string())] =
            *parse_key_type(d.as_object().at("AttributeType").as_string());
    if (const auto* ad = find_array(req, "AttributeDefinitions")) {
      for (const auto& [n, ty] : parse_attribute_definitions(*ad)) {
        auto it = defs.find(n);
        if (it != defs.end() && it->second != ty)
          throw api_error::validation("Cannot change the type of existing attribute " + n);
        if (it == defs.end()) {
          defs[n] = ty;
          t.attribute_definitions.emplace_back(json::object{
              {"AttributeName", n}, {"AttributeType", std::string(1, static_cast<char>(ty))}});
        }
      }
    }
    if (const auto* updates = find_array(req, "GlobalSecondaryIndexUpdates")) {
      for (const auto& u : *updates) {
        if (!u.is_object())
          throw api_error::serialization("Unexpected value type in GlobalSecondaryIndexUpdates");
        const auto& uo = u.as_object();
        if (const auto* c = find_object(uo, "Create")) {
          std::set<std::string> used;
          auto i = parse_index(*c, true, defs, used, t.billing_mode == "PAY_PER_REQUEST");
          if (t.find_index(i.name))
            throw api_error::validation(
                "One or more parameter values were invalid: Attempting to create an index which "
                "already exists: " +
                i.name);
          i.id = t.next_index_id++;
          t.indexes.push_back(std::move(i));
        } else if (const auto* d = find_object(uo, "Delete")) {
          std::string iname(get_string(*d, "IndexName"));
          auto it = std::find_if(t.indexes.begin(), t.indexes.end(), [&](const index_info& i) {
            return i.name == iname && i.is_global;
          });
          if (it == t.indexes.end())
            throw api_error::resource_not_found("Requested resource not found: Index: " + iname +
                                                " not found");
          t.indexes.erase(it);
        } else if (const auto* up = find_object(uo, "Update")) {
          std::string iname(get_string(*up, "IndexName"));
          auto it = std::find_if(t.indexes.begin(), t.indexes.end(), [&](const index_info& i) {
            return i.name == iname && i.is_global;
          });
          if (it == t.indexes.end())
            throw api_error::resource_not_found("Requested resource not found: Index: " + iname +
                                                " not found");
          parse_throughput(find_object(*up, "ProvisionedThroughput"), it->read_capacity,
                           it->write_capacity);
        } else {
          throw api_error::validation(
              "One or more parameter values were invalid: One of "
              "GlobalSecondaryIndexUpdate.Create, "
              "Update or Delete must be specified");
        }
        changed = true;
      }
    }
    if (find_object(req, "StreamSpecification")) {
      parse_stream_specification(req, t, false,
                                 static_cast<std::uint64_t>(ctx.store.stats(t.id).stream_sequence));
      changed = true;
    }
    if (!changed)
      throw api_error::validation(
          "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
          "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required");
    return true;
  });
  // The store drops a deleted index's entries with the new description, and back-fills a new
  // one in the background (table_store.h): the answer describes it CREATING.
  if (!updated) {
    if (updated.error().code == errc::not_found)
      throw api_error::resource_not_found(
          "Requested resource not found: Table: " + std::string(name) + " not found");
    throw api_error::internal_server_error(updated.error().message);
  }
  return {{"TableDescription", describe(ctx, **updated)}};
}

}  // namespace mysfits::table::api
