// Item reads and writes with index maintenance, stats and stream records (table_store.h).
#include "storage/table_store.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <set>

#include "types/attribute_value.h"
#include "types/key_codec.h"

namespace mysfits::table::storage {

namespace json = boost::json;

std::string_view key_type_name(key_type t) {
  switch (t) {
    case key_type::s:
      return "S";
    case key_type::n:
      return "N";
    case key_type::b:
      return "B";
  }
  return "S";
}

std::string key_part_bytes(const json::value& v) { return encode_hash_prefix(v); }

std::string primary_key_bytes(const json::object& item, const key_schema& k) {
  std::string out = key_part_bytes(item.at(k.hash_name));
  if (k.range_name) out += key_part_bytes(item.at(*k.range_name));
  return out;
}

std::optional<std::string> index_key_bytes(const json::object& item, const key_schema& k) {
  const auto* h = item.if_contains(k.hash_name);
  if (!h || attribute_type(*h) != key_type_name(k.hash_type)) return std::nullopt;
  std::string out = key_part_bytes(*h);
  if (k.range_name) {
    const auto* r = item.if_contains(*k.range_name);
    if (!r || attribute_type(*r) != key_type_name(*k.range_type)) return std::nullopt;
    out += key_part_bytes(*r);
  }
  return out;
}

json::object project_for_index(const json::object& item, const table_info& t, const index_info& i) {
  if (i.projection == projection_type::all) return item;
  std::set<std::string_view> keep{t.keys.hash_name, i.keys.hash_name};
  if (t.keys.range_name) keep.insert(*t.keys.range_name);
  if (i.keys.range_name) keep.insert(*i.keys.range_name);
  if (i.projection == projection_type::include)
    for (const auto& a : i.non_key_attributes) keep.insert(a);
  json::object out;
  for (const auto& kv : item)
    if (keep.contains(kv.key())) out.emplace(kv.key(), kv.value());
  return out;
}

table_store::table_store(table_store_options options, std::unique_ptr<store> s)
    : options_(std::move(options)), store_(std::move(s)), catalog_(*store_) {}

table_store::~table_store() = default;

result<std::unique_ptr<table_store>> table_store::open(table_store_options options) {
  if (!options.clock_us) {
    options.clock_us = [] {
      return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    };
  }
  auto s = store::open(options.store);
  if (!s) return s.error();
  std::unique_ptr<table_store> ts(new table_store(std::move(options), std::move(*s)));
  if (auto l = ts->catalog_.load(); !l) return l.error();
  if (auto l = ts->load_state(); !l) return l.error();
  return ts;
}

result<void> table_store::load_state() {
  for (const auto& t : catalog_.list()) {
    auto st = state(t->id);
    auto counters = store_->get(stats_key(t->id));
    if (!counters) return counters.error();
    if (*counters) {
      auto [n, bytes] = decode_counters(**counters);
      st->item_count = n;
      st->size_bytes = bytes;
    }
    std::uint64_t last = 0;
    auto scanned = store_->scan(streams_begin(t->id), streams_end(t->id), true,
                                [&](std::string_view key, std::string_view) {
                                  last = read_u64(key.substr(9));
                                  return false;
                                });
    if (!scanned) return scanned.error();
    st->stream_sequence = last;
  }
  return ok();
}

std::shared_ptr<table_store::table_state> table_store::state(std::uint64_t table_id) {
  std::lock_guard lock(states_mu_);
  auto& s = states_[table_id];
  if (!s) s = std::make_shared<table_state>();
  return s;
}

result<std::shared_ptr<const table_info>> table_store::delete_table(std::string_view name) {
  auto t = catalog_.find(name);
  if (!t) return error::not_found("no table " + std::string(name));
  auto st = state(t->id);
  std::unique_lock table_lock(st->writes);
  auto removed = catalog_.remove(name);
  if (!removed) return removed.error();
  std::lock_guard lock(states_mu_);
  states_.erase((*removed)->id);
  return removed;
}

std::mutex& table_store::stripe(std::uint64_t table_id, std::string_view pk) {
  std::size_t h = std::hash<std::string_view>{}(pk) ^ (table_id * 0x9e3779b97f4a7c15ull);
  return stripes_[h % stripes_.size()];
}

std::uint64_t table_store::stream_readable_through(std::uint64_t table_id) {
  auto st = state(table_id);
  std::lock_guard lock(st->in_flight_mu);
  if (!st->in_flight.empty()) return *st->in_flight.begin() - 1;
  return st->stream_sequence.load();
}

result<std::vector<stream_record>> table_store::read_stream(std::uint64_t table_id,
                                                            std::uint64_t after,
                                                            std::size_t limit) {
  std::vector<stream_record> out;
  std::uint64_t through = stream_readable_through(table_id);
  if (after >= through || limit == 0) return out;
  std::optional<error> failure;
  auto r = store_->scan(stream_key(table_id, after + 1), stream_key(table_id, through + 1), false,
                        [&](std::string_view key, std::string_view value) {
                          boost::system::error_code ec;
                          auto v = json::parse(value, ec);
                          if (ec || !v.is_object()) {
                            failure = error::corruption("unreadable stream record");
                            return false;
                          }
                          out.push_back({read_u64(key.substr(9)), std::move(v.as_object())});
                          return out.size() < limit;
                        });
  if (!r) return r.error();
  if (failure) return *failure;
  return out;
}

result<std::uint64_t> table_store::stream_first_sequence(std::uint64_t table_id) {
  std::uint64_t first = 0;
  auto r = store_->scan(streams_begin(table_id), streams_end(table_id), false,
                        [&](std::string_view key, std::string_view) {
                          first = read_u64(key.substr(9));
                          return false;
                        });
  if (!r) return r.error();
  return first;
}

result<std::size_t> table_store::trim_stream(std::uint64_t table_id, std::uint64_t cutoff_us) {
  // Records are in write order per item and nearly so across items: trim the prefix of records
  // older than the cutoff, stopping at the first younger one.
  std::uint64_t through = stream_readable_through(table_id);
  std::vector<std::string> old_keys;
  std::optional<error> failure;
  auto r =
      store_->scan(streams_begin(table_id), stream_key(table_id, through + 1), false,
                   [&](std::string_view key, std::string_view value) {
                     boost::system::error_code ec;
                     auto v = json::parse(value, ec);
                     if (ec || !v.is_object()) {
                       failure = error::corruption("unreadable stream record");
                       return false;
                     }
                     const auto* ts = v.as_object().if_contains("ts");
                     if (!ts || !ts->is_number() || ts->to_number<std::uint64_t>() >= cutoff_us)
                       return false;
                     old_keys.emplace_back(key);
                     return true;
                   });
  if (!r) return r.error();
  if (failure) return *failure;
  if (old_keys.empty()) return std::size_t{0};
  write_batch b;
  for (const auto& k : old_keys) b.del(k);
  if (auto w = store_->write(b); !w) return w.error();
  return old_keys.size();
}

table_stats table_store::stats(std::uint64_t table_id) {
  auto s = state(table_id);
  return {s->item_count.load(), s->size_bytes.load(),
          static_cast<std::int64_t>(s->stream_sequence.load())};
}

table_stats table_store::index_stats(std::uint64_t table_id, std::uint32_t index_id) {
  auto v = store_->get(index_stats_key(table_id, index_id));
  table_stats s;
  if (v && *v) std::tie(s.item_count, s.size_bytes) = decode_counters(**v);
  return s;
}

result<std::optional<json::object>> table_store::get_item(const table_info& t,
                                                          std::string_view pk) {
  auto v = store_->get(item_key(t.id, pk));
  if (!v) return v.error();
  if (!*v) return std::optional<json::object>{};
  auto r = decode_item_record(**v);
  if (!r) return error::corruption("unreadable item in table " + t.name);
  if (r->is_tombstone) return std::optional<json::object>{};
  return std::optional<json::object>{std::move(r->item)};
}

result<write_outcome> table_store::write_item(const table_info& given, std::string_view pk,
                                              const decider& decide) {
  auto st = state(given.id);
  std::shared_lock table_lock(st->writes);
  auto t = catalog_.find(given.name);
  if (!t || t->id != given.id) return error::not_found("table deleted: " + given.name);
  std::lock_guard item_lock(stripe(t->id, pk));

  std::string key = item_key(t->id, pk);
  auto current = store_->get(key);
  if (!current) return current.error();
  std::optional<item_record> old;
  if (*current) {
    old = decode_item_record(**current);
    if (!old) return error::corruption("unreadable item in table " + t->name);
    if (old->is_tombstone) old.reset();
  }
  write_decision d = decide(old ? &old->item : nullptr);
  write_outcome out;
  if (old) out.old_item = old->item;
  if (d.what == write_decision::action::none) {
    out.new_item = out.old_item;
    return out;
  }

  write_batch b;
  std::int64_t count_delta = 0;
  std::int64_t size_delta = 0;
  if (old) {
    count_delta -= 1;
    size_delta -= static_cast<std::int64_t>(item_size(old->item));
  }
  item_record rec;
  rec.timestamp_us = options_.clock_us();
  rec.origin_region = options_.region;
  if (d.what == write_decision::action::put) {
    rec.item = std::move(d.item);
    b.put(key, encode_item_record(rec));
    count_delta += 1;
    size_delta += static_cast<std::int64_t>(item_size(rec.item));
  } else {
    b.del(key);
  }
  const json::object* new_item = d.what == write_decision::action::put ? &rec.item : nullptr;
  for (const auto& i : t->indexes) {
    std::optional<std::string> old_ikey = old ? index_key_bytes(old->item, i.keys) : std::nullopt;
    std::optional<std::string> new_ikey =
        new_item ? index_key_bytes(*new_item, i.keys) : std::nullopt;
    std::int64_t n = 0;
    std::int64_t bytes = 0;
    if (old_ikey) {
      n -= 1;
      bytes -= static_cast<std::int64_t>(item_size(project_for_index(old->item, *t, i)));
      if (!new_ikey || *old_ikey != *new_ikey) b.del(index_key(t->id, i.id, *old_ikey, pk));
    }
    if (new_ikey) {
      item_record ir;
      ir.item = project_for_index(*new_item, *t, i);
      n += 1;
      bytes += static_cast<std::int64_t>(item_size(ir.item));
      b.put(index_key(t->id, i.id, *new_ikey, pk), encode_item_record(ir));
    }
    if (n != 0 || bytes != 0) b.add_counters(index_stats_key(t->id, i.id), n, bytes);
  }
  if (count_delta != 0 || size_delta != 0)
    b.add_counters(stats_key(t->id), count_delta, size_delta);
  std::uint64_t seq = 0;
  // Releases the stream number whether the batch commits or not (a failed write is a gap).
  struct in_flight_guard {
    table_state* st = nullptr;
    std::uint64_t seq = 0;
    ~in_flight_guard() {
      if (!st) return;
      std::lock_guard lock(st->in_flight_mu);
      st->in_flight.erase(seq);
    }
  } guard;
  if (t->stream_enabled) {
    {
      std::lock_guard lock(st->in_flight_mu);
      seq = st->stream_sequence.fetch_add(1) + 1;
      st->in_flight.insert(seq);
    }
    guard.st = st.get();
    guard.seq = seq;
    json::object sr;
    sr["seq"] = seq;
    sr["ts"] = rec.timestamp_us;
    sr["origin"] = rec.origin_region;
    // Which stream (label) the record belongs to: a re-enabled stream is a new one, and the
    // disabled one stays readable with only its own records (ops_streams.cc filters by it).
    sr["label"] = t->stream_label;
    sr["event"] = !old ? "INSERT" : new_item ? "MODIFY" : "REMOVE";
    json::object keys;
    const json::object& any = new_item ? *new_item : old->item;
    keys[t->keys.hash_name] = any.at(t->keys.hash_name);
    if (t->keys.range_name) keys[*t->keys.range_name] = any.at(*t->keys.range_name);
    sr["keys"] = std::move(keys);
    if (old) sr["old"] = old->item;
    if (new_item) sr["new"] = *new_item;
    b.put(stream_key(t->id, seq), json::serialize(sr));
  }
  if (auto w = store_->write(b); !w) return w.error();
  st->item_count += count_delta;
  st->size_bytes += size_delta;
  if (new_item) out.new_item = *new_item;
  return out;
}

namespace {
// Decodes records from a range scan and hands items to the visitor.
result<void> scan_records(store& s, const std::string& begin, const std::string& end,
                          std::size_t prefix_len, std::string_view lower, std::string_view upper,
                          bool reverse, const table_store::item_visitor& visit) {
  std::string lo = begin + std::string(lower);
  std::string hi = upper.empty() ? end : begin + std::string(upper);
  std::optional<error> failure;
  auto r = s.scan(lo, hi, reverse, [&](std::string_view key, std::string_view value) {
    auto rec = decode_item_record(value);
    if (!rec) {
      failure = error::corruption("unreadable item record");
      return false;
    }
    if (rec->is_tombstone) return true;
    return visit(key.substr(prefix_len), rec->item);
  });
  if (!r) return r.error();
  if (failure) return *failure;
  return ok();
}
}  // namespace

result<void> table_store::scan_items(const table_info& t, std::string_view lower,
                                     std::string_view upper, bool reverse,
                                     const item_visitor& visit) {
  return scan_records(*store_, items_begin(t.id), items_end(t.id), 9, lower, upper, reverse, visit);
}

result<void> table_store::scan_index(const table_info& t, const index_info& i,
                                     std::string_view lower, std::string_view upper, bool reverse,
                                     const item_visitor& visit) {
  return scan_records(*store_, index_begin(t.id, i.id), index_end(t.id, i.id), 13, lower, upper,
                      reverse, visit);
}

result<void> table_store::backfill_index(const std::string& table_name, std::uint32_t index_id) {
  auto t0 = catalog_.find(table_name);
  if (!t0) return error::not_found("no table " + table_name);
  auto st = state(t0->id);
  std::unique_lock table_lock(st->writes);
  auto t = catalog_.find(table_name);
  if (!t) return error::not_found("no table " + table_name);
  const index_info* idx = nullptr;
  for (const auto& i : t->indexes)
    if (i.id == index_id) idx = &i;
  if (!idx) return error::not_found("no index");
  write_batch b;
  std::optional<error> failure;
  auto flush = [&]() -> bool {
    if (b.count() == 0) return true;
    if (auto w = store_->write(b); !w) {
      failure = w.error();
      return false;
    }
    b = write_batch();
    return true;
  };
  auto r = scan_items(*t, "", "", false, [&](std::string_view pk, json::object& item) {
    if (auto ikey = index_key_bytes(item, idx->keys)) {
      item_record ir;
      ir.item = project_for_index(item, *t, *idx);
      b.add_counters(index_stats_key(t->id, idx->id), 1,
                     static_cast<std::int64_t>(item_size(ir.item)));
      b.put(index_key(t->id, idx->id, *ikey, pk), encode_item_record(ir));
    }
    return b.count() < 1000 || flush();
  });
  if (!r) return r.error();
  if (failure) return *failure;
  flush();
  if (failure) return *failure;
  return ok();
}

result<void> table_store::drop_index(std::uint64_t table_id, std::uint32_t index_id) {
  write_batch b;
  b.delete_range(index_begin(table_id, index_id), index_end(table_id, index_id));
  b.del(index_stats_key(table_id, index_id));
  return store_->write(b);
}

}  // namespace mysfits::table::storage
