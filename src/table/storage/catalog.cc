// Table descriptions: JSON (de)serialization and the cached, persistent catalog (catalog.h).
#include "storage/catalog.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <mutex>

#include "storage/keys.h"

namespace mysfits::table::storage {

namespace json = boost::json;

const replica_info* table_info::find_replica(std::string_view region) const {
  for (const auto& r : replicas)
    if (r.region == region) return &r;
  return nullptr;
}

namespace {
constexpr std::string_view replica_settings_key = "mysfits_replica_settings";
}

json::object table_info::replica_settings(std::string_view region) const {
  const auto* all = extra.if_contains(replica_settings_key);
  const auto* mine = all && all->is_object() ? all->as_object().if_contains(region) : nullptr;
  return mine && mine->is_object() ? mine->as_object() : json::object{};
}

void table_info::set_replica_settings(std::string_view region, json::object settings) {
  auto* all = extra.if_contains(replica_settings_key);
  if (!all || !all->is_object()) all = &(extra[replica_settings_key] = json::object{});
  if (settings.empty())
    all->as_object().erase(region);
  else
    all->as_object()[region] = std::move(settings);
  if (all->as_object().empty()) extra.erase(replica_settings_key);
}

std::uint64_t table_info::settings_version(const json::object& settings) {
  const auto* v = settings.if_contains(settings_version_key);
  if (v && v->is_uint64()) return v->as_uint64();
  if (v && v->is_int64() && v->as_int64() > 0) return static_cast<std::uint64_t>(v->as_int64());
  return 0;
}

bool table_info::settings_replace(const json::object& incoming, const json::object& local) {
  std::uint64_t in = settings_version(incoming), have = settings_version(local);
  if (in != have) return in > have;
  if (in == 0) return incoming != local;
  return json::serialize(incoming) > json::serialize(local);
}

bool table_info::has_tag(std::string_view key, std::string_view value) const {
  for (const auto& [k, v] : tags)
    if (k == key && v == value) return true;
  return false;
}

const index_info* table_info::find_index(std::string_view index_name) const {
  for (const auto& i : indexes)
    if (i.name == index_name) return &i;
  return nullptr;
}

namespace {

json::object keys_to_json(const key_schema& k) {
  json::object o;
  o["hash_name"] = k.hash_name;
  o["hash_type"] = std::string(1, static_cast<char>(k.hash_type));
  if (k.range_name) {
    o["range_name"] = *k.range_name;
    o["range_type"] = std::string(1, static_cast<char>(*k.range_type));
  }
  return o;
}

std::optional<key_schema> keys_from_json(const json::object& o) {
  key_schema k;
  const auto* hn = o.if_contains("hash_name");
  const auto* ht = o.if_contains("hash_type");
  if (!hn || !hn->is_string() || !ht || !ht->is_string()) return std::nullopt;
  k.hash_name = hn->as_string();
  auto t = parse_key_type(ht->as_string());
  if (!t) return std::nullopt;
  k.hash_type = *t;
  if (const auto* rn = o.if_contains("range_name")) {
    const auto* rt = o.if_contains("range_type");
    if (!rn->is_string() || !rt || !rt->is_string()) return std::nullopt;
    k.range_name = std::string(rn->as_string());
    k.range_type = parse_key_type(rt->as_string());
    if (!k.range_type) return std::nullopt;
  }
  return k;
}

const char* projection_name(projection_type p) {
  switch (p) {
    case projection_type::all:
      return "ALL";
    case projection_type::keys_only:
      return "KEYS_ONLY";
    case projection_type::include:
      return "INCLUDE";
  }
  return "ALL";
}

std::string str(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
std::int64_t num(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : 0;
}

}  // namespace

json::object to_json(const table_info& t) {
  json::object o;
  o["name"] = t.name;
  o["id"] = t.id;
  o["uuid"] = t.table_uuid;
  o["keys"] = keys_to_json(t.keys);
  o["attribute_definitions"] = t.attribute_definitions;
  json::array idx;
  for (const auto& i : t.indexes) {
    json::object io;
    io["name"] = i.name;
    io["id"] = i.id;
    io["global"] = i.is_global;
    io["keys"] = keys_to_json(i.keys);
    io["projection"] = projection_name(i.projection);
    json::array nk;
    for (const auto& a : i.non_key_attributes) nk.emplace_back(a);
    io["non_key_attributes"] = std::move(nk);
    io["rcu"] = i.read_capacity;
    io["wcu"] = i.write_capacity;
    if (i.backfilling) io["backfilling"] = true;
    idx.emplace_back(std::move(io));
  }
  o["indexes"] = std::move(idx);
  o["billing_mode"] = t.billing_mode;
  o["rcu"] = t.read_capacity;
  o["wcu"] = t.write_capacity;
  o["created"] = t.creation_time;
  json::array tags;
  for (const auto& [k, v] : t.tags)
    tags.emplace_back(json::array{json::string(k), json::string(v)});
  o["tags"] = std::move(tags);
  o["stream_enabled"] = t.stream_enabled;
  o["stream_view_type"] = t.stream_view_type;
  o["stream_label"] = t.stream_label;
  o["next_index_id"] = t.next_index_id;
  json::array replicas;
  for (const auto& r : t.replicas)
    replicas.emplace_back(json::object{{"region", r.region}, {"status", r.status}});
  o["replicas"] = std::move(replicas);
  o["extra"] = t.extra;
  return o;
}

result<table_info> table_info_from_json(const json::object& o) {
  auto bad = [] { return error::corruption("malformed table description"); };
  table_info t;
  t.name = str(o, "name");
  t.id = static_cast<std::uint64_t>(num(o, "id"));
  if (const auto* v = o.if_contains("id"); v && v->is_uint64()) t.id = v->as_uint64();
  t.table_uuid = str(o, "uuid");
  const auto* keys = o.if_contains("keys");
  if (!keys || !keys->is_object()) return bad();
  auto k = keys_from_json(keys->as_object());
  if (!k) return bad();
  t.keys = *k;
  if (const auto* ad = o.if_contains("attribute_definitions"); ad && ad->is_array())
    t.attribute_definitions = ad->as_array();
  if (const auto* idx = o.if_contains("indexes"); idx && idx->is_array()) {
    for (const auto& iv : idx->as_array()) {
      if (!iv.is_object()) return bad();
      const auto& io = iv.as_object();
      index_info i;
      i.name = str(io, "name");
      i.id = static_cast<std::uint32_t>(num(io, "id"));
      const auto* g = io.if_contains("global");
      i.is_global = g && g->is_bool() && g->as_bool();
      const auto* ik = io.if_contains("keys");
      if (!ik || !ik->is_object()) return bad();
      auto kk = keys_from_json(ik->as_object());
      if (!kk) return bad();
      i.keys = *kk;
      std::string p = str(io, "projection");
      i.projection = p == "KEYS_ONLY" ? projection_type::keys_only
                     : p == "INCLUDE" ? projection_type::include
                                      : projection_type::all;
      if (const auto* nk = io.if_contains("non_key_attributes"); nk && nk->is_array())
        for (const auto& a : nk->as_array())
          if (a.is_string()) i.non_key_attributes.emplace_back(a.as_string());
      i.read_capacity = num(io, "rcu");
      i.write_capacity = num(io, "wcu");
      const auto* bf = io.if_contains("backfilling");
      i.backfilling = bf && bf->is_bool() && bf->as_bool();
      t.indexes.push_back(std::move(i));
    }
  }
  t.billing_mode = str(o, "billing_mode");
  t.read_capacity = num(o, "rcu");
  t.write_capacity = num(o, "wcu");
  if (const auto* c = o.if_contains("created"); c && c->is_number())
    t.creation_time = c->to_number<double>();
  if (const auto* tags = o.if_contains("tags"); tags && tags->is_array())
    for (const auto& tv : tags->as_array())
      if (tv.is_array() && tv.as_array().size() == 2 && tv.as_array()[0].is_string() &&
          tv.as_array()[1].is_string())
        t.tags.emplace_back(tv.as_array()[0].as_string(), tv.as_array()[1].as_string());
  if (const auto* se = o.if_contains("stream_enabled"); se && se->is_bool())
    t.stream_enabled = se->as_bool();
  t.stream_view_type = str(o, "stream_view_type");
  t.stream_label = str(o, "stream_label");
  t.next_index_id = static_cast<std::uint32_t>(num(o, "next_index_id"));
  if (const auto* rs = o.if_contains("replicas"); rs && rs->is_array())
    for (const auto& rv : rs->as_array())
      if (rv.is_object())
        t.replicas.push_back({str(rv.as_object(), "region"), str(rv.as_object(), "status")});
  if (const auto* e = o.if_contains("extra"); e && e->is_object()) t.extra = e->as_object();
  return t;
}

result<void> catalog::load() {
  std::map<std::string, std::shared_ptr<const table_info>, std::less<>> tables;
  std::optional<error> failure;
  std::string begin = catalog_prefix();
  auto scanned =
      store_.scan(begin, prefix_end(begin), false, [&](std::string_view, std::string_view value) {
        boost::system::error_code ec;
        json::value v = json::parse(value, ec);
        if (ec || !v.is_object()) {
          failure = error::corruption("unreadable table description");
          return false;
        }
        auto t = table_info_from_json(v.as_object());
        if (!t) {
          failure = t.error();
          return false;
        }
        auto name = t->name;
        tables[name] = std::make_shared<const table_info>(std::move(*t));
        return true;
      });
  if (!scanned) return scanned.error();
  if (failure) return *failure;
  auto next = store_.get(next_table_id_key());
  if (!next) return next.error();
  std::unique_lock lock(mu_);
  tables_ = std::move(tables);
  next_table_id_ = *next ? read_u64(**next) : 1;
  return ok();
}

std::shared_ptr<const table_info> catalog::find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = tables_.find(name);
  return it == tables_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const table_info>> catalog::list() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const table_info>> out;
  out.reserve(tables_.size());
  for (const auto& [_, t] : tables_) out.push_back(t);
  return out;
}

result<std::shared_ptr<const table_info>> catalog::create(table_info t) {
  std::unique_lock lock(mu_);
  if (tables_.contains(t.name)) return error::already_exists("table exists: " + t.name);
  t.id = next_table_id_;
  write_batch b;
  std::string next;
  append_u64(next, t.id + 1);
  b.put(next_table_id_key(), next);
  b.put(catalog_key(t.name), json::serialize(to_json(t)));
  if (auto w = store_.write(b); !w) return w.error();
  ++next_table_id_;
  auto p = std::make_shared<const table_info>(std::move(t));
  tables_[p->name] = p;
  return p;
}

result<std::shared_ptr<const table_info>> catalog::update(table_info t, write_batch* extra) {
  std::unique_lock lock(mu_);
  auto it = tables_.find(t.name);
  if (it == tables_.end() || it->second->id != t.id) return error::not_found("no table " + t.name);
  write_batch own;
  write_batch& b = extra ? *extra : own;
  b.put(catalog_key(t.name), json::serialize(to_json(t)));
  if (auto w = store_.write(b); !w) return w.error();
  auto p = std::make_shared<const table_info>(std::move(t));
  it->second = p;
  return p;
}

result<std::shared_ptr<const table_info>> catalog::remove(std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = tables_.find(name);
  if (it == tables_.end()) return error::not_found("no table " + std::string(name));
  auto t = it->second;
  write_batch b;
  b.del(catalog_key(name));
  b.delete_range(items_begin(t->id), items_end(t->id));
  b.delete_range(indexes_begin(t->id), indexes_end(t->id));
  b.delete_range(stats_key(t->id), stats_key(t->id + 1));
  b.delete_range(streams_begin(t->id), streams_end(t->id));
  b.delete_range(progresses_begin(t->id), progresses_end(t->id));
  b.delete_range(backfills_begin(t->id), backfills_end(t->id));
  if (auto w = store_.write(b); !w) return w.error();
  tables_.erase(it);
  return t;
}

}  // namespace mysfits::table::storage
