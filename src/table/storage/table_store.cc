// Item reads and writes with index maintenance, stats and stream records (table_store.h).
#include "storage/table_store.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <map>
#include <set>
#include <unordered_set>

#include "mysfits/common/log.h"
#include "types/attribute_value.h"
#include "types/decimal.h"
#include "types/key_codec.h"

namespace mysfits::table::storage {

namespace json = boost::json;

namespace {

// Gives the indexes of `next` (a new description of a table) the back-fill state they have in
// `cur` (the stored one): the flag is the store's, whatever copy `next` was made from. An index
// `next` adds is back-filled. Returns whether one was added.
bool carry_backfill_state(table_info& next, const table_info& cur) {
  bool added = false;
  for (auto& i : next.indexes) {
    auto was = std::find_if(cur.indexes.begin(), cur.indexes.end(),
                            [&](const index_info& c) { return c.id == i.id; });
    if (was != cur.indexes.end()) {
      i.backfilling = was->backfilling;
    } else {
      i.backfilling = true;
      added = true;
    }
  }
  return added;
}

}  // namespace

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

// The attributes a KEYS_ONLY or INCLUDE index keeps.
std::set<std::string_view> projected_names(const table_info& t, const index_info& i) {
  std::set<std::string_view> keep{t.keys.hash_name, i.keys.hash_name};
  if (t.keys.range_name) keep.insert(*t.keys.range_name);
  if (i.keys.range_name) keep.insert(*i.keys.range_name);
  if (i.projection == projection_type::include)
    for (const auto& a : i.non_key_attributes) keep.insert(a);
  return keep;
}

json::object project_for_index(const json::object& item, const table_info& t, const index_info& i) {
  if (i.projection == projection_type::all) return item;
  auto keep = projected_names(t, i);
  json::object out;
  for (const auto& kv : item)
    if (keep.contains(kv.key())) out.emplace(kv.key(), kv.value());
  return out;
}

// item_size(project_for_index(item, t, i)) without building the projection; `whole` is
// item_size(item), which an ALL index's entry has.
std::size_t projected_size(const json::object& item, std::size_t whole, const table_info& t,
                           const index_info& i) {
  if (i.projection == projection_type::all) return whole;
  auto keep = projected_names(t, i);
  std::size_t n = 0;
  for (const auto& [k, v] : item)
    if (keep.contains(k)) n += k.size() + attribute_value_size(v);
  return n;
}

table_store::table_store(table_store_options options, std::unique_ptr<store> s)
    : options_(std::move(options)), store_(std::move(s)), catalog_(*store_) {}

table_store::~table_store() {
  stop_backfills();
  // The last waiting writes get their sync while the store is still open.
  if (committer_) committer_->stop();
}

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
  if (ts->options_.group_commit && ts->options_.store.sync_writes) {
    ts->committer_ =
        std::make_unique<committer>([t = ts.get()] { return t->sync_and_mark_durable(); });
    ts->committer_->start();
  }
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
    // What the store holds at open is durable: RocksDB flushes the recovered log to synced
    // tables before it opens.
    st->durable_through = last;
    // Back-fills cut short (a crash, a stop) resume where their last page committed.
    for (const auto& i : t->indexes) {
      if (!i.backfilling) continue;
      auto done = store_->get(backfill_key(t->id, i.id));
      if (!done) return done.error();
      if (!*done) continue;
      spdlog::info("back-fill of index {} of table {} resumes after its last committed page",
                   i.name, t->name);
      st->backfilled[i.id] = std::move(**done);
    }
  }
  return ok();
}

namespace {

// Holds several item stripe locks at once: taken in address order (so two holders never
// deadlock; item writes hold one stripe at a time), each once, released in reverse.
class stripe_locks {
 public:
  explicit stripe_locks(std::vector<std::mutex*> ms) : ms_(std::move(ms)) {
    std::sort(ms_.begin(), ms_.end());
    ms_.erase(std::unique(ms_.begin(), ms_.end()), ms_.end());
    for (auto* m : ms_) m->lock();
  }
  ~stripe_locks() {
    for (auto it = ms_.rbegin(); it != ms_.rend(); ++it) (*it)->unlock();
  }
  stripe_locks(const stripe_locks&) = delete;
  stripe_locks& operator=(const stripe_locks&) = delete;
  bool holds(std::mutex* m) const { return std::binary_search(ms_.begin(), ms_.end(), m); }

 private:
  std::vector<std::mutex*> ms_;
};

}  // namespace

std::shared_lock<std::shared_mutex> table_store::shared_writes(table_state& st) {
  if (st.exclusive_waiting.load() == 0) return std::shared_lock(st.writes);
  // Behind the exclusive taker that is waiting (or holds the lock).
  std::lock_guard gate(st.exclusive_gate);
  return std::shared_lock(st.writes);
}

table_store::exclusive_writes::exclusive_writes(table_state& st) : st_(st) {
  ++st_.exclusive_waiting;
  st_.exclusive_gate.lock();
  st_.writes.lock();
}

table_store::exclusive_writes::~exclusive_writes() {
  st_.writes.unlock();
  st_.exclusive_gate.unlock();
  --st_.exclusive_waiting;
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
  const exclusive_writes table_lock(*st);
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

std::uint64_t table_store::table_state::readable_through() {
  std::lock_guard lock(in_flight_mu);
  if (!in_flight.empty()) return *in_flight.begin() - 1;
  return stream_sequence.load();
}

std::uint64_t table_store::stream_readable_through(std::uint64_t table_id) {
  return state(table_id)->readable_through();
}

std::uint64_t table_store::stream_durable_through(std::uint64_t table_id) {
  auto st = state(table_id);
  std::uint64_t readable = st->readable_through();
  if (!committer_) return readable;
  return std::min(readable, st->durable_through.load());
}

void table_store::after_durable(committer::completion done) {
  if (committer_) {
    committer_->enqueue(std::move(done));
  } else if (done) {
    done(ok());
  }
}

result<void> table_store::write_deferred(write_batch& b) {
  return committer_ ? store_->write_unsynced(b) : store_->write(b);
}

result<void> table_store::sync_and_mark_durable() {
  // Every stream number at or below a table's readable mark belongs to a write whose batch
  // returned, so its log record is with the OS: the fsync below makes it durable.
  std::vector<std::pair<std::shared_ptr<table_state>, std::uint64_t>> marks;
  {
    std::lock_guard lock(states_mu_);
    marks.reserve(states_.size());
    for (const auto& [id, st] : states_) marks.emplace_back(st, 0);
  }
  for (auto& [st, mark] : marks) mark = st->readable_through();
  auto synced = options_.wal_sync ? options_.wal_sync() : store_->sync_wal();
  if (!synced) return synced;
  bool advanced = false;
  for (auto& [st, mark] : marks) {
    std::uint64_t prev = st->durable_through.load();
    while (prev < mark && !st->durable_through.compare_exchange_weak(prev, mark)) {
    }
    if (prev < mark) advanced = true;
  }
  if (advanced) notify_stream_write();  // long-polling replication pulls may now serve more
  return ok();
}

namespace {

// A stored stream record, in either format (keys.h), as the JSON object its readers see:
// {"seq", "ts", "origin", "label", "event", "keys", "old", "new", "deltas"}.
std::optional<json::object> stream_record_object(std::string_view value) {
  boost::system::error_code ec;
  if (is_json_stream_record(value)) {
    auto v = json::parse(value, ec, {}, json_parse_options());
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
  }
  auto r = decode_stream_record(value);
  if (!r) return std::nullopt;
  json::object o;
  o["seq"] = r->sequence;
  o["ts"] = r->timestamp_us;
  o["origin"] = r->origin;
  o["label"] = r->label;
  o["event"] = r->event;
  for (auto [name, text] : {std::pair{"keys", r->keys}, std::pair{"old", r->old_item},
                            std::pair{"new", r->new_item}, std::pair{"deltas", r->deltas}}) {
    if (text.empty()) continue;
    auto v = json::parse(text, ec, {}, json_parse_options());
    if (ec || !v.is_object()) return std::nullopt;
    o[name] = std::move(v.as_object());
  }
  return o;
}

}  // namespace

result<std::vector<stream_record>> table_store::read_stream(std::uint64_t table_id,
                                                            std::uint64_t after, std::size_t limit,
                                                            std::uint64_t through_cap) {
  std::vector<stream_record> out;
  std::uint64_t through = std::min(stream_readable_through(table_id), through_cap);
  if (after >= through || limit == 0) return out;
  std::optional<error> failure;
  auto r = store_->scan(stream_key(table_id, after + 1), stream_key(table_id, through + 1), false,
                        [&](std::string_view key, std::string_view value) {
                          auto o = stream_record_object(value);
                          if (!o) {
                            failure = error::corruption("unreadable stream record");
                            return false;
                          }
                          out.push_back({read_u64(key.substr(9)), std::move(*o)});
                          return out.size() < limit;
                        });
  if (!r) return r.error();
  if (failure) return *failure;
  return out;
}

result<std::uint64_t> table_store::read_stream_raw(std::uint64_t table_id, std::uint64_t after,
                                                   std::size_t limit, std::uint64_t through_cap,
                                                   const raw_stream_visitor& visit) {
  std::uint64_t through = std::min(stream_readable_through(table_id), through_cap);
  std::uint64_t last = after;
  if (after >= through || limit == 0) return last;
  std::size_t n = 0;
  std::optional<error> failure;
  auto r = store_->scan(
      stream_key(table_id, after + 1), stream_key(table_id, through + 1), false,
      [&](std::string_view key, std::string_view value) {
        std::uint64_t seq = read_u64(key.substr(9));
        if (!is_json_stream_record(value)) {
          auto v = decode_stream_record(value);
          if (!v) {
            failure = error::corruption("unreadable stream record");
            return false;
          }
          v->sequence = seq;
          visit(*v);
        } else {
          // A record written before the binary format: its parts serialized again.
          auto o = stream_record_object(value);
          if (!o) {
            failure = error::corruption("unreadable stream record");
            return false;
          }
          auto text = [&](const char* name) {
            const auto* p = o->if_contains(name);
            return p && p->is_object() ? json::serialize(*p) : std::string();
          };
          auto str = [&](const char* name) {
            const auto* p = o->if_contains(name);
            return p && p->is_string() ? std::string(p->as_string()) : std::string();
          };
          const auto* ts = o->if_contains("ts");
          std::string origin = str("origin"), label = str("label"), event = str("event");
          std::string keys = text("keys"), old_item = text("old"), new_item = text("new"),
                      deltas = text("deltas");
          stream_record_view v{
              .sequence = seq,
              .timestamp_us = ts && ts->is_number() ? ts->to_number<std::uint64_t>() : 0,
              .origin = origin,
              .label = label,
              .event = event,
              .keys = keys,
              .old_item = old_item,
              .new_item = new_item,
              .deltas = deltas};
          visit(v);
        }
        last = seq;
        return ++n < limit;
      });
  if (!r) return r.error();
  if (failure) return *failure;
  return last;
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
  auto r = store_->scan(streams_begin(table_id), stream_key(table_id, through + 1), false,
                        [&](std::string_view key, std::string_view value) {
                          std::uint64_t ts = 0;
                          if (auto v = decode_stream_record(value)) {
                            ts = v->timestamp_us;
                          } else if (auto o = stream_record_object(value)) {
                            const auto* t = o->if_contains("ts");
                            if (!t || !t->is_number()) return false;
                            ts = t->to_number<std::uint64_t>();
                          } else {
                            failure = error::corruption("unreadable stream record");
                            return false;
                          }
                          if (ts >= cutoff_us) return false;
                          old_keys.emplace_back(key);
                          return true;
                        });
  if (!r) return r.error();
  if (failure) return *failure;
  if (old_keys.empty()) return std::size_t{0};
  write_batch b;
  for (const auto& k : old_keys) b.del(k);
  if (auto w = write_deferred(b); !w) return w.error();
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

result<std::optional<std::string>> table_store::get_item_text(const table_info& t,
                                                              std::string_view pk) {
  auto v = store_->get(item_key(t.id, pk));
  if (!v) return v.error();
  if (!*v) return std::optional<std::string>{};
  bool tombstone = false;
  auto text = item_record_json(**v, tombstone);
  if (!text) return error::corruption("unreadable item in table " + t.name);
  if (tombstone) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(*text)};
}

namespace {

// Index work of a bulk batch (snapshot pages), staged apart: per-index (item count, size)
// deltas summed and written once, and the entries written after the items in key order, so
// the memtable sees two ascending runs instead of alternating keys (far fewer comparisons).
struct bulk_index_ops {
  std::map<std::uint32_t, std::pair<std::int64_t, std::int64_t>> deltas;
  std::vector<std::pair<std::string, std::optional<std::string>>> entries;  // nullopt: delete

  void write_to(write_batch& b, std::uint64_t table_id) {
    std::sort(entries.begin(), entries.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& [k, v] : entries)
      if (v)
        b.put(k, *v);
      else
        b.del(k);
    for (const auto& [id, d] : deltas)
      if (d.first != 0 || d.second != 0)
        b.add_counters(index_stats_key(table_id, id), d.first, d.second);
  }
};

// Whether a write of the item with primary key `pk` maintains index `i`: always, unless the
// index is back-filling and its back-fill has not reached `pk` yet (table_store.h, "Index
// back-fill": the page that reaches it reads the item as it is then). `progress` is
// table_store::backfill_progress.
bool maintains(const index_info& i, std::string_view pk,
               const std::map<std::uint32_t, std::string>* progress) {
  if (!i.backfilling) return true;
  if (!progress) return false;
  auto it = progress->find(i.id);
  return it != progress->end() && !it->second.empty() && pk <= std::string_view(it->second);
}

// An index entry of the whole item (an ALL index) from the item's stored record bytes: the
// record's JSON text under an empty header, as encode_item_record would write it (no copy of
// the item, no re-encoding). Empty for bytes too short to be a record.
std::string whole_item_entry(std::string_view raw) {
  if (raw.size() <= 11) return {};
  std::size_t json_at = 11 + static_cast<unsigned char>(raw[10]);
  std::string v(11, '\0');
  v[0] = 1;
  v.append(raw.substr(std::min(json_at, raw.size())));
  return v;
}

// What stage_item needs of the version an item write replaces: whether it exists, its size and,
// per index of the table (t.indexes order), its index key and the size of its index entry. Read
// before the write's decider runs, so a decider may take the stored item apart (write_item's
// consume_old).
struct old_version {
  bool exists = false;
  std::size_t size = 0;
  boost::container::small_vector<std::optional<std::string>, 2> index_keys;
  boost::container::small_vector<std::size_t, 2> projected_sizes;
};

old_version describe_old(const table_info& t, const json::object* old_item) {
  old_version o;
  if (!old_item) return o;
  o.exists = true;
  o.size = item_size(*old_item);
  for (const auto& i : t.indexes) {
    auto& k = o.index_keys.emplace_back(index_key_bytes(*old_item, i.keys));
    o.projected_sizes.push_back(k ? projected_size(*old_item, o.size, t, i) : 0);
  }
  return o;
}

// Stages in `b` the change of one item from `old` (the visible version, see describe_old) to
// `rec` (an item or a tombstone; null erases the key): the record, its index entries and the
// stats deltas. `raw`, when given, is encode_item_record(*rec) already (a snapshot page's
// record); `bulk` collects the index work instead of `b`; `new_size`, when not 0, is
// item_size(rec->item), computed by the caller. The record is encoded once: an ALL index's entry
// reuses its JSON text. A back-filling index is maintained only as far as its back-fill has come
// (`progress`, see maintains()).
void stage_item(write_batch& b, const table_info& t, std::string_view pk, const old_version& old,
                const item_record* rec, std::int64_t& count_delta, std::int64_t& size_delta,
                const std::map<std::uint32_t, std::string>* progress, std::string_view raw = {},
                bulk_index_ops* bulk = nullptr, std::size_t new_size_known = 0) {
  auto put_index = [&](std::string k, std::string v) {
    if (bulk)
      bulk->entries.emplace_back(std::move(k), std::move(v));
    else
      b.put(k, v);
  };
  auto del_index = [&](std::string k) {
    if (bulk)
      bulk->entries.emplace_back(std::move(k), std::nullopt);
    else
      b.del(k);
  };
  std::string key = item_key(t.id, pk);
  if (old.exists) {
    count_delta -= 1;
    size_delta -= static_cast<std::int64_t>(old.size);
  }
  std::string own;
  if (rec && raw.empty()) {
    own = encode_item_record(*rec);
    raw = own;
  }
  if (rec) {
    b.put(key, raw);
  } else {
    b.del(key);
  }
  const json::object* new_item = rec && !rec->is_tombstone ? &rec->item : nullptr;
  std::int64_t new_size = 0;
  if (new_item) {
    new_size = static_cast<std::int64_t>(new_size_known ? new_size_known : item_size(*new_item));
    count_delta += 1;
    size_delta += new_size;
  }
  for (std::size_t n_index = 0; n_index < t.indexes.size(); ++n_index) {
    const auto& i = t.indexes[n_index];
    if (!maintains(i, pk, progress)) continue;
    const std::optional<std::string>* old_ikey = old.exists ? &old.index_keys[n_index] : nullptr;
    std::optional<std::string> new_ikey =
        new_item ? index_key_bytes(*new_item, i.keys) : std::nullopt;
    std::int64_t n = 0;
    std::int64_t bytes = 0;
    if (old_ikey && *old_ikey) {
      n -= 1;
      bytes -= static_cast<std::int64_t>(old.projected_sizes[n_index]);
      if (!new_ikey || **old_ikey != *new_ikey) del_index(index_key(t.id, i.id, **old_ikey, pk));
    }
    if (new_ikey) {
      n += 1;
      if (i.projection == projection_type::all && raw.size() > 11) {
        bytes += new_size;
        put_index(index_key(t.id, i.id, *new_ikey, pk), whole_item_entry(raw));
      } else {
        item_record ir;
        ir.item = project_for_index(*new_item, t, i);
        bytes += static_cast<std::int64_t>(item_size(ir.item));
        put_index(index_key(t.id, i.id, *new_ikey, pk), encode_item_record(ir));
      }
    }
    if (bulk && (n != 0 || bytes != 0)) {
      auto& d = bulk->deltas[i.id];
      d.first += n;
      d.second += bytes;
    } else if (n != 0 || bytes != 0) {
      b.add_counters(index_stats_key(t.id, i.id), n, bytes);
    }
  }
}

// Counter merge (issue 7): the counters of `item` become the local value plus the remote
// change's increment, so increments made concurrently in several regions all count. When the
// remote change won and the local item lacks the counter, the remote value (its base plus its
// increment) stays; when the local version won and lacks it, the increment alone is set.
void add_counter_deltas(json::object& item, const json::object& local, const json::object& deltas,
                        bool remote_won) {
  for (const auto& [attr, dv] : deltas) {
    const auto* d = dv.is_object() ? dv.as_object().if_contains("N") : nullptr;
    if (!d || !d->is_string()) continue;
    auto delta = decimal::try_parse(d->as_string());
    if (!delta) continue;
    const auto* l = local.if_contains(attr);
    const auto* ln = l && l->is_object() ? l->as_object().if_contains("N") : nullptr;
    std::optional<decimal> base;
    if (ln && ln->is_string()) base = decimal::try_parse(ln->as_string());
    if (!base && remote_won) continue;
    try {
      decimal sum = (base ? *base : decimal()) + *delta;
      item[attr] = json::object{{"N", sum.to_string()}};
    } catch (const std::exception&) {
      // Overflow past 38 digits: the counter keeps the value last-writer-wins chose.
    }
  }
}

json::object key_attributes(const table_info& t, const json::object& item) {
  json::object keys;
  if (const auto* h = item.if_contains(t.keys.hash_name)) keys[t.keys.hash_name] = *h;
  if (t.keys.range_name)
    if (const auto* r = item.if_contains(*t.keys.range_name)) keys[*t.keys.range_name] = *r;
  return keys;
}

// The stored stream record (keys.h, binary format) of a change from the item whose JSON text is
// `old_json` to `new_json` (at least one is set; empty: absent); `keys_of` is either item.
std::string stream_record_bytes(const table_info& t, std::uint64_t seq, std::uint64_t ts,
                                std::string_view origin, std::string_view old_json,
                                std::string_view new_json, const json::object& keys_of,
                                const json::object* deltas = nullptr) {
  std::string keys = json::serialize(key_attributes(t, keys_of));
  std::string delta_text = deltas && !deltas->empty() ? json::serialize(*deltas) : std::string();
  // Which stream (label) the record belongs to: a re-enabled stream is a new one, and the
  // disabled one stays readable with only its own records (ops_streams.cc filters by it).
  return encode_stream_record({.sequence = seq,
                               .timestamp_us = ts,
                               .origin = origin,
                               .label = t.stream_label,
                               .event = old_json.empty()   ? "INSERT"
                                        : new_json.empty() ? "REMOVE"
                                                           : "MODIFY",
                               .keys = keys,
                               .old_item = old_json,
                               .new_item = new_json,
                               .deltas = delta_text});
}

// The item's JSON text inside stored record bytes (empty for a tombstone or unreadable bytes).
std::string_view visible_item_json(std::string_view record) {
  bool tombstone = false;
  auto text = item_record_json(record, tombstone);
  return text && !tombstone ? *text : std::string_view();
}

}  // namespace

std::uint64_t table_store::next_timestamp(std::uint64_t floor) {
  std::uint64_t now = options_.clock_us();
  std::uint64_t prev = hlc_.load();
  for (;;) {
    std::uint64_t next = std::max({now, prev + 1, floor});
    if (hlc_.compare_exchange_weak(prev, next)) return next;
  }
}

void table_store::observe_timestamp(std::uint64_t ts) {
  std::uint64_t prev = hlc_.load();
  while (prev < ts && !hlc_.compare_exchange_weak(prev, ts)) {
  }
}

std::uint64_t table_store::stream_generation() {
  std::lock_guard lock(stream_wait_mu_);
  return stream_generation_;
}

void table_store::notify_stream_write() {
  {
    std::lock_guard lock(stream_wait_mu_);
    ++stream_generation_;
  }
  stream_wait_cv_.notify_all();
}

void table_store::wake_stream_waiters() { notify_stream_write(); }

void table_store::wait_for_stream_write(std::uint64_t seen,
                                        std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(stream_wait_mu_);
  stream_wait_cv_.wait_until(lock, deadline, [&] { return stream_generation_ != seen; });
}

result<write_outcome> table_store::write_item(const table_info& given, std::string_view pk,
                                              const decider& decide, bool consume_old) {
  auto st = state(given.id);
  auto table_lock = shared_writes(*st);
  auto t = catalog_.find(given.name);
  if (!t || t->id != given.id) return error::not_found("table deleted: " + given.name);
  std::lock_guard item_lock(stripe(t->id, pk));

  std::string key = item_key(t->id, pk);
  auto current = store_->get(key);
  if (!current) return current.error();
  // The stored version and everything built from it live in one arena for this write: an item
  // of a dozen attributes is dozens of small allocations otherwise. The outcome's items keep it.
  json::storage_ptr arena = json::make_shared_resource<json::monotonic_resource>(
      1024 + (*current ? 3 * (*current)->size() : 0));
  std::optional<item_record> old;
  std::string_view old_json;        // the stored item's JSON text (empty: none visible)
  std::uint64_t old_timestamp = 0;  // of the stored version, tombstones included
  if (*current) {
    old = decode_item_record(**current, arena);
    bool tombstone = false;
    auto text = item_record_json(**current, tombstone);
    if (!old || !text) return error::corruption("unreadable item in table " + t->name);
    old_timestamp = old->timestamp_us;
    if (old->is_tombstone)
      old.reset();
    else
      old_json = *text;
  }
  // What the batch needs of the stored version, read before `decide` may take it apart.
  old_version before = describe_old(*t, old ? &old->item : nullptr);
  write_decision d = decide(old ? &old->item : nullptr);
  write_outcome out;
  out.old_size = before.size;
  if (d.what == write_decision::action::none) {
    out.new_size = before.size;
    if (old && !consume_old) {
      out.new_item = old->item;
      out.old_item = std::move(old->item);
    }
    return out;
  }

  write_batch b;
  std::int64_t count_delta = 0;
  std::int64_t size_delta = 0;
  bool keep_record = true;
  const bool put = d.what == write_decision::action::put;
  // Moved, not assigned, so the item keeps the storage the decider built it in.
  item_record rec{
      // Above the stored version's timestamp, so a causally later write always wins (issue 3).
      .timestamp_us = next_timestamp(old_timestamp + 1),
      .origin_region = options_.region,
      .is_tombstone = false,
      .item = put ? std::move(d.item) : json::object(arena)};
  if (!put && t->is_global()) {
    // A global table's delete leaves a tombstone that wins or loses against remote writes.
    rec.is_tombstone = true;
    rec.item = key_attributes(*t, old->item);
  } else if (!put) {
    keep_record = false;
  }
  // Numbers are kept as DynamoDB returns them ("1.50" → "1.5", "1e3" → "1000", "-0" → "0"),
  // whichever write path built the item: GetItem sends the stored text as it is.
  if (put) canonicalize_item(rec.item);
  const json::object* old_item = old && !consume_old ? &old->item : nullptr;
  // The record is encoded once: stored, and its item's text reused in the stream record.
  std::string rec_bytes = keep_record ? encode_item_record(rec) : std::string();
  // A decider that checked the item's size passes it on (canonical numbers have the same size).
  if (put) out.new_size = d.item_size ? d.item_size : item_size(rec.item);
  stage_item(b, *t, pk, before, keep_record ? &rec : nullptr, count_delta, size_delta,
             backfill_progress(*st, *t), rec_bytes, nullptr, out.new_size);
  if (count_delta != 0 || size_delta != 0)
    b.add_counters(stats_key(t->id), count_delta, size_delta);
  const json::object* new_item = put ? &rec.item : nullptr;
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
    std::string_view new_json = new_item ? visible_item_json(rec_bytes) : std::string_view();
    // (A delete is never decided with consume_old: the tombstone's keys come from old_item.)
    b.put(stream_key(t->id, seq),
          stream_record_bytes(*t, seq, rec.timestamp_us, rec.origin_region, old_json, new_json,
                              new_item ? *new_item : *old_item, &d.counter_deltas));
  }
  if (auto w = write_deferred(b); !w) return w.error();
  st->item_count += count_delta;
  st->size_bytes += size_delta;
  if (old && !consume_old) out.old_item = std::move(old->item);
  if (new_item) out.new_item = std::move(rec.item);
  if (t->stream_enabled) notify_stream_write();
  return out;
}

result<apply_stats> table_store::apply_remote(
    const std::string& table_name, std::uint64_t table_id,
    const std::vector<remote_change>& changes,
    const std::vector<std::pair<std::string, std::uint64_t>>& progress, bool write_stream,
    const description_change& change_description, bool sync) {
  auto st = state(table_id);
  // Shared like item writes, plus the stripe locks of every item in the batch, taken in address
  // order so two batches never deadlock (item writes hold one stripe at a time). A description
  // change holds the lock exclusively, as every description change does (modify_table).
  std::optional<exclusive_writes> exclusive;
  std::shared_lock<std::shared_mutex> shared;
  if (change_description)
    exclusive.emplace(*st);
  else
    shared = shared_writes(*st);
  auto t = catalog_.find(table_name);
  if (!t || t->id != table_id) return error::not_found("table deleted: " + table_name);
  // Primary keys computed once (empty: the change lacks a key attribute; refused below).
  std::vector<std::string> pks;
  pks.reserve(changes.size());
  std::vector<std::mutex*> stripes;
  for (const auto& c : changes) {
    if (c.item.contains(t->keys.hash_name) &&
        (!t->keys.range_name || c.item.contains(*t->keys.range_name))) {
      pks.push_back(primary_key_bytes(c.item, t->keys));
      stripes.push_back(&stripe(t->id, pks.back()));
    } else {
      pks.emplace_back();
    }
  }
  const stripe_locks locked(std::move(stripes));
  const auto* index_progress = backfill_progress(*st, *t);
  apply_stats stats;
  write_batch b;
  std::int64_t count_delta = 0;
  std::int64_t size_delta = 0;
  // Versions written earlier in this batch (the store does not see them yet), with their stored
  // bytes (whose item text is the next version's old image).
  struct version {
    std::optional<item_record> rec;
    std::string bytes;
  };
  std::unordered_map<std::string, version> pending;
  // Stream records of the applied changes, encoded with sequence number 0: the numbers are
  // taken once the batch is complete and written into each record's header (keys.h: bytes
  // 2-9) then.
  std::vector<std::string> stream_changes;
  for (std::size_t n = 0; n < changes.size(); ++n) {
    const auto& c = changes[n];
    const std::string& pk = pks[n];
    if (pk.empty())
      return error::invalid_argument("remote change without the table's key attributes");
    version cur;
    if (auto it = pending.find(pk); it != pending.end()) {
      cur = it->second;
    } else {
      auto v = store_->get(item_key(t->id, pk));
      if (!v) return v.error();
      if (*v) {
        cur.rec = decode_item_record(**v);
        if (!cur.rec) return error::corruption("unreadable item in table " + t->name);
        cur.bytes = std::move(**v);
      }
    }
    observe_timestamp(c.timestamp_us);
    const json::object* old_item = cur.rec && !cur.rec->is_tombstone ? &cur.rec->item : nullptr;
    bool wins = !cur.rec ||
                is_newer(c.timestamp_us, c.origin, cur.rec->timestamp_us, cur.rec->origin_region);
    bool merge = t->is_counter_merge() && !c.is_delete && !c.deltas.empty();
    if (!wins && !(merge && old_item)) {
      ++stats.superseded;
      continue;
    }
    // The winner's item is a copy in the change's own storage (a pulled answer's arena: no
    // malloc per value); else the local version keeps winning and only its counters take the
    // increments.
    item_record rec =
        wins ? item_record{.timestamp_us = c.timestamp_us,
                           .origin_region = c.origin,
                           .is_tombstone = c.is_delete,
                           .item = c.is_delete ? key_attributes(*t, c.item)
                                               : json::object(c.item, c.item.storage())}
             : *cur.rec;
    std::string rec_bytes;
    if (wins && !c.is_delete && !merge && !c.item_json.empty())
      rec_bytes = encode_item_record_text(rec.timestamp_us, rec.origin_region, false, c.item_json);
    if (merge && old_item) add_counter_deltas(rec.item, *old_item, c.deltas, wins);
    if (rec_bytes.empty()) rec_bytes = encode_item_record(rec);
    stage_item(b, *t, pk, describe_old(*t, old_item), &rec, count_delta, size_delta, index_progress,
               rec_bytes);
    const json::object* new_item = rec.is_tombstone ? nullptr : &rec.item;
    if (write_stream && t->stream_enabled && (old_item || new_item)) {
      // The remote change's own timestamp and origin, even when only its counter increments
      // were merged into the local version: peers never pull it back from here.
      stream_changes.push_back(stream_record_bytes(
          *t, 0, c.timestamp_us, c.origin, old_item ? visible_item_json(cur.bytes) : "",
          new_item ? visible_item_json(rec_bytes) : "", new_item ? *new_item : *old_item));
    }
    pending.insert_or_assign(pk, version{std::move(rec), std::move(rec_bytes)});
    ++stats.applied;
  }
  if (count_delta != 0 || size_delta != 0)
    b.add_counters(stats_key(t->id), count_delta, size_delta);
  for (const auto& [peer, seq] : progress) {
    std::string v;
    append_u64(v, seq);
    b.put(progress_key(t->id, peer), v);
  }
  // In flight until the batch is written, so stream readers never pass them.
  std::vector<std::uint64_t> seqs;
  if (!stream_changes.empty()) {
    std::lock_guard lock(st->in_flight_mu);
    for (std::size_t n = 0; n < stream_changes.size(); ++n) {
      seqs.push_back(st->stream_sequence.fetch_add(1) + 1);
      st->in_flight.insert(seqs.back());
    }
  }
  struct release {
    table_state* st;
    const std::vector<std::uint64_t>& seqs;
    ~release() {
      std::lock_guard lock(st->in_flight_mu);
      for (auto s : seqs) st->in_flight.erase(s);
    }
  } release_guard{st.get(), seqs};
  for (std::size_t n = 0; n < stream_changes.size(); ++n) {
    auto& rec = stream_changes[n];
    for (int k = 0; k < 8; ++k)
      rec[2 + static_cast<std::size_t>(k)] = static_cast<char>((seqs[n] >> (56 - 8 * k)) & 0xff);
    b.put(stream_key(t->id, seqs[n]), rec);
  }
  std::optional<table_info> next;
  if (change_description) {
    next = *t;
    if (!change_description(*next)) next.reset();
  }
  if (next) {
    // (An index it would add is back-filled: no item write maintains it before its first page.)
    if (carry_backfill_state(*next, *t)) wake_backfills();
    auto u = catalog_.update(std::move(*next), &b);
    if (!u) return u.error();
  } else if (b.count() > 0) {
    if (auto w = sync ? store_->write(b) : write_deferred(b); !w) return w.error();
  }
  st->item_count += count_delta;
  st->size_bytes += size_delta;
  if (!seqs.empty()) notify_stream_write();
  // Nobody waits for an applied batch (its progress commits with it: lost together, pulled
  // again), but its stream records become servable only once synced: ask for a sync.
  if (committer_ && b.count() > 0) committer_->enqueue({});
  return stats;
}

result<std::uint64_t> table_store::progress(std::uint64_t table_id, std::string_view peer_region) {
  auto v = store_->get(progress_key(table_id, peer_region));
  if (!v) return v.error();
  return *v ? read_u64(**v) : std::uint64_t{0};
}

result<void> table_store::scan_item_records(std::uint64_t table_id, std::string_view after,
                                            const record_visitor& visit) {
  std::string lo = items_begin(table_id);
  if (!after.empty()) {
    lo.append(after);
    lo.push_back('\0');  // the smallest key after `after`
  }
  std::optional<error> failure;
  auto r = store_->scan(lo, items_end(table_id), false,
                        [&](std::string_view key, std::string_view value) {
                          auto rec = decode_item_record(value);
                          if (!rec) {
                            failure = error::corruption("unreadable item record");
                            return false;
                          }
                          return visit(key.substr(9), *rec);
                        });
  if (!r) return r.error();
  if (failure) return *failure;
  return ok();
}

result<void> table_store::scan_raw_item_records(std::uint64_t table_id, std::string_view after,
                                                const raw_record_visitor& visit) {
  std::string lo = items_begin(table_id);
  if (!after.empty()) {
    lo.append(after);
    lo.push_back('\0');
  }
  return store_->scan(
      lo, items_end(table_id), false,
      [&](std::string_view key, std::string_view value) { return visit(key.substr(9), value); });
}

result<table_store::snapshot_page_stats> table_store::apply_snapshot_page(
    const std::string& table_name, std::uint64_t table_id, const std::vector<snapshot_item>& items,
    const snapshot_page_options& o) {
  auto st = state(table_id);
  auto table_lock = shared_writes(*st);
  auto t = catalog_.find(table_name);
  if (!t || t->id != table_id) return error::not_found("table deleted: " + table_name);
  // The page's key range: (after, through]. Primary keys are prefix-free, so key + '\0' is the
  // smallest key after it.
  std::string lo = items_begin(table_id);
  if (!o.after.empty()) {
    lo.append(o.after);
    lo.push_back('\0');
  }
  std::string hi = items_end(table_id);
  if (!o.through.empty()) {
    hi = item_key(table_id, o.through);
    hi.push_back('\0');
  }
  auto local_range = [&](const std::function<bool(std::string_view, std::string_view)>& visit) {
    return store_->scan(lo, hi, false, [&](std::string_view key, std::string_view value) {
      return visit(key.substr(9), value);
    });
  };
  // Lock the page's items and the local ones of its range (found by a first, unlocked scan;
  // an item written in the range meanwhile has a stripe not held and is left alone below).
  std::vector<std::mutex*> stripes;
  for (const auto& it : items) stripes.push_back(&stripe(table_id, it.pk));
  if (auto r = local_range([&](std::string_view pk, std::string_view) {
        stripes.push_back(&stripe(table_id, pk));
        return true;
      });
      !r)
    return r.error();
  const stripe_locks locked(std::move(stripes));
  auto held = [&](std::string_view pk) { return locked.holds(&stripe(table_id, pk)); };
  // The local versions, now stable for every held item.
  std::unordered_map<std::string, item_record> local;
  std::optional<error> failure;
  if (auto r = local_range([&](std::string_view pk, std::string_view value) {
        if (!held(pk)) return true;
        auto rec = decode_item_record(value);
        if (!rec) {
          failure = error::corruption("unreadable item in table " + t->name);
          return false;
        }
        local.emplace(std::string(pk), std::move(*rec));
        return true;
      });
      !r)
    return r.error();
  if (failure) return *failure;

  const auto* index_progress = backfill_progress(*st, *t);
  snapshot_page_stats stats;
  write_batch b;
  std::int64_t count_delta = 0;
  std::int64_t size_delta = 0;
  bulk_index_ops idx;
  std::unordered_set<std::string_view> in_page;  // only needed against local items
  bool check_dups = !local.empty();
  for (const auto& it : items) {
    const item_record& in = it.record;
    if (!in.item.contains(t->keys.hash_name) ||
        (t->keys.range_name && !in.item.contains(*t->keys.range_name)))
      return error::invalid_argument("snapshot item without the table's key attributes");
    observe_timestamp(in.timestamp_us);
    const item_record* cur = nullptr;
    if (check_dups) {
      if (!in_page.insert(it.pk).second) continue;  // a page holds each key once
      if (auto l = local.find(it.pk); l != local.end()) cur = &l->second;
    }
    if (!cur && o.skip_own_missing && in.origin_region == region() && held(it.pk)) {
      ++stats.superseded;
      continue;
    }
    if (cur &&
        !is_newer(in.timestamp_us, in.origin_region, cur->timestamp_us, cur->origin_region)) {
      ++stats.superseded;
      continue;
    }
    const json::object* old_item = cur && !cur->is_tombstone ? &cur->item : nullptr;
    stage_item(b, *t, it.pk, describe_old(*t, old_item), &in, count_delta, size_delta,
               index_progress, it.raw, &idx);
    ++stats.applied;
  }
  if (o.remove_absent) {
    for (const auto& [pk, rec] : local) {
      if (rec.is_tombstone || in_page.contains(pk)) continue;
      if (!(*o.remove_absent)(pk, rec)) continue;
      stage_item(b, *t, pk, describe_old(*t, &rec.item), nullptr, count_delta, size_delta,
                 index_progress, {}, &idx);
      ++stats.removed;
    }
  }
  if (count_delta != 0 || size_delta != 0)
    b.add_counters(stats_key(t->id), count_delta, size_delta);
  idx.write_to(b, t->id);
  if (b.count() > 0) {
    auto w = o.bulk ? store_->write_without_wal(b) : store_->write(b);
    if (!w) return w.error();
    if (o.bulk) st->bulk_unflushed = true;
  }
  st->item_count += count_delta;
  st->size_bytes += size_delta;
  return stats;
}

result<std::optional<std::uint64_t>> table_store::local_write_keys(const table_info& t,
                                                                   std::uint64_t after_seq,
                                                                   std::set<std::string>& pks) {
  std::uint64_t table_id = t.id;
  auto first = stream_first_sequence(table_id);
  if (!first) return first.error();
  std::uint64_t readable = stream_readable_through(table_id);
  if (*first == 0 ? readable > after_seq : *first > after_seq + 1)
    return std::optional<std::uint64_t>{};
  std::optional<error> failure;
  auto r = store_->scan(
      stream_key(table_id, after_seq + 1), streams_end(table_id), false,
      [&](std::string_view, std::string_view value) {
        if (auto v = decode_stream_record(value); v && v->origin != region())
          return true;  // not this region's write: no need to parse it
        auto parsed = stream_record_object(value);
        if (!parsed) {
          failure = error::corruption("unreadable stream record");
          return false;
        }
        const auto& o = *parsed;
        const auto* origin = o.if_contains("origin");
        const auto* keys = o.if_contains("keys");
        if (!origin || !origin->is_string() || origin->as_string() != region() || !keys ||
            !keys->is_object())
          return true;
        const auto& k = keys->as_object();
        if (!k.contains(t.keys.hash_name) || (t.keys.range_name && !k.contains(*t.keys.range_name)))
          return true;
        pks.insert(primary_key_bytes(k, t.keys));
        return true;
      });
  if (!r) return r.error();
  if (failure) return *failure;
  return std::optional<std::uint64_t>{std::max(readable, after_seq)};
}

result<std::size_t> table_store::purge_tombstones(std::uint64_t table_id, std::uint64_t cutoff_us) {
  std::vector<std::pair<std::string, std::uint64_t>> old;
  auto r = scan_item_records(table_id, "", [&](std::string_view pk, const item_record& rec) {
    if (rec.is_tombstone && rec.timestamp_us < cutoff_us) old.emplace_back(pk, rec.timestamp_us);
    return true;
  });
  if (!r) return r.error();
  std::size_t removed = 0;
  auto st = state(table_id);
  auto table_lock = shared_writes(*st);
  for (const auto& [pk, ts] : old) {
    std::lock_guard item_lock(stripe(table_id, pk));
    std::string key = item_key(table_id, pk);
    auto v = store_->get(key);
    if (!v) return v.error();
    if (!*v) continue;
    auto rec = decode_item_record(**v);
    // Only the very tombstone seen: a write since then replaced it.
    if (!rec || !rec->is_tombstone || rec->timestamp_us != ts) continue;
    write_batch b;
    b.del(key);
    if (auto w = write_deferred(b); !w) return w.error();
    ++removed;
  }
  return removed;
}

result<std::shared_ptr<const table_info>> table_store::modify_table(
    std::string_view table_name, const description_change& change) {
  auto found = catalog_.find(table_name);
  if (!found) return error::not_found("no table " + std::string(table_name));
  auto st = state(found->id);
  const exclusive_writes table_lock(*st);
  // Read again under the lock: the description every change before this one left.
  auto cur = catalog_.find(table_name);
  if (!cur || cur->id != found->id) return error::not_found("no table " + std::string(table_name));
  table_info t = *cur;
  if (!change(t)) return cur;
  t.id = cur->id;
  t.name = cur->name;
  bool added = carry_backfill_state(t, *cur);
  // A dropped index's entries, counters and back-fill progress go in the description's batch:
  // no write can add an entry afterwards (the lock), and a back-fill of it stops at its next
  // page (not_found).
  write_batch b;
  std::vector<std::uint32_t> dropped;
  for (const auto& i : cur->indexes) {
    if (std::any_of(t.indexes.begin(), t.indexes.end(),
                    [&](const index_info& n) { return n.id == i.id; }))
      continue;
    b.delete_range(index_begin(t.id, i.id), index_end(t.id, i.id));
    b.del(index_stats_key(t.id, i.id));
    b.del(backfill_key(t.id, i.id));
    dropped.push_back(i.id);
  }
  auto u = catalog_.update(std::move(t), &b);
  if (!u) return u;
  for (auto id : dropped) st->backfilled.erase(id);
  if (added) wake_backfills();
  return u;
}

const std::map<std::uint32_t, std::string>* table_store::backfill_progress(const table_state& st,
                                                                           const table_info& t) {
  for (const auto& i : t.indexes)
    if (i.backfilling) return &st.backfilled;
  return nullptr;
}

namespace {
// Decodes records from a range scan and hands items to the visitor.
result<void> scan_records(store& s, const std::string& begin, const std::string& end,
                          std::size_t prefix_len, std::string_view lower, std::string_view upper,
                          bool reverse, const table_store::item_visitor& visit,
                          const json::storage_ptr& sp, const table_store::key_filter& keep) {
  std::string lo = begin + std::string(lower);
  std::string hi = upper.empty() ? end : begin + std::string(upper);
  std::optional<error> failure;
  auto r = s.scan(lo, hi, reverse, [&](std::string_view key, std::string_view value) {
    if (keep && !keep(key.substr(prefix_len))) return true;
    auto rec = decode_item_record(value, sp);
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
// The same, handing over the items' stored JSON text.
result<void> scan_record_texts(store& s, const std::string& begin, const std::string& end,
                               std::size_t prefix_len, std::string_view lower,
                               std::string_view upper, bool reverse,
                               const table_store::item_text_visitor& visit,
                               const table_store::key_filter& keep) {
  std::string lo = begin + std::string(lower);
  std::string hi = upper.empty() ? end : begin + std::string(upper);
  std::optional<error> failure;
  auto r = s.scan(lo, hi, reverse, [&](std::string_view key, std::string_view value) {
    if (keep && !keep(key.substr(prefix_len))) return true;
    bool tombstone = false;
    auto text = item_record_json(value, tombstone);
    if (!text) {
      failure = error::corruption("unreadable item record");
      return false;
    }
    if (tombstone) return true;
    return visit(key.substr(prefix_len), *text);
  });
  if (!r) return r.error();
  if (failure) return *failure;
  return ok();
}
}  // namespace

result<void> table_store::scan_item_texts(const table_info& t, std::string_view lower,
                                          std::string_view upper, bool reverse,
                                          const item_text_visitor& visit, const key_filter& keep) {
  return scan_record_texts(*store_, items_begin(t.id), items_end(t.id), 9, lower, upper, reverse,
                           visit, keep);
}

result<void> table_store::scan_index_texts(const table_info& t, const index_info& i,
                                           std::string_view lower, std::string_view upper,
                                           bool reverse, const item_text_visitor& visit,
                                           const key_filter& keep) {
  return scan_record_texts(*store_, index_begin(t.id, i.id), index_end(t.id, i.id), 13, lower,
                           upper, reverse, visit, keep);
}

result<void> table_store::scan_items(const table_info& t, std::string_view lower,
                                     std::string_view upper, bool reverse,
                                     const item_visitor& visit, json::storage_ptr sp,
                                     const key_filter& keep) {
  return scan_records(*store_, items_begin(t.id), items_end(t.id), 9, lower, upper, reverse, visit,
                      sp, keep);
}

result<void> table_store::scan_index(const table_info& t, const index_info& i,
                                     std::string_view lower, std::string_view upper, bool reverse,
                                     const item_visitor& visit, json::storage_ptr sp,
                                     const key_filter& keep) {
  return scan_records(*store_, index_begin(t.id, i.id), index_end(t.id, i.id), 13, lower, upper,
                      reverse, visit, sp, keep);
}

result<bool> table_store::backfill_page(const std::string& table_name, std::uint32_t index_id) {
  auto t0 = catalog_.find(table_name);
  if (!t0) return error::not_found("no table " + table_name);
  auto st = state(t0->id);
  // Exclusive for this page only: no item write is in flight while the page reads the items
  // beyond the progress and moves it (writers get in between pages).
  const exclusive_writes table_lock(*st);
  auto t = catalog_.find(table_name);
  if (!t || t->id != t0->id) return error::not_found("table deleted: " + table_name);
  auto idx = std::find_if(t->indexes.begin(), t->indexes.end(),
                          [&](const index_info& i) { return i.id == index_id; });
  if (idx == t->indexes.end()) return error::not_found("index deleted");
  if (!idx->backfilling) return true;
  if (st->bulk_unflushed) {
    // Snapshot pages written without the log (a replica's copy in progress): on disk before
    // this page's logged entries describe their items, or a crash could keep the entries and
    // lose the items.
    if (auto f = store_->flush(); !f) return f.error();
    st->bulk_unflushed = false;
  }
  auto cursor = st->backfilled.find(index_id);
  if (cursor == st->backfilled.end()) {
    // Not loaded at open (an index a replicated description added): what is stored, if any.
    auto stored = store_->get(backfill_key(t->id, index_id));
    if (!stored) return stored.error();
    cursor = st->backfilled.emplace(index_id, *stored ? std::move(**stored) : "").first;
  }
  std::string lo = items_begin(t->id);
  if (!cursor->second.empty()) {
    lo.append(cursor->second);
    lo.push_back('\0');  // primary keys are prefix-free: the smallest key after it
  }
  const std::size_t limit = std::max<std::size_t>(options_.backfill_page_items, 1);
  write_batch b;
  std::int64_t count = 0;
  std::int64_t bytes = 0;
  std::size_t seen = 0;
  std::string last;
  std::optional<error> failure;
  auto r =
      store_->scan(lo, items_end(t->id), false, [&](std::string_view key, std::string_view value) {
        std::string_view pk = key.substr(9);
        last.assign(pk);
        ++seen;
        auto rec = decode_item_record(value);
        if (!rec) {
          failure = error::corruption("unreadable item in table " + t->name);
          return false;
        }
        if (rec->is_tombstone) return seen < limit;
        auto ikey = index_key_bytes(rec->item, idx->keys);
        if (!ikey) return seen < limit;
        std::string entry;
        if (idx->projection == projection_type::all) {
          bytes += static_cast<std::int64_t>(item_size(rec->item));
          entry = whole_item_entry(value);
        } else {
          item_record ir;
          ir.item = project_for_index(rec->item, *t, *idx);
          bytes += static_cast<std::int64_t>(item_size(ir.item));
          entry = encode_item_record(ir);
        }
        ++count;
        b.put(index_key(t->id, idx->id, *ikey, pk), entry);
        return seen < limit;
      });
  if (!r) return r.error();
  if (failure) return *failure;
  if (count != 0 || bytes != 0) b.add_counters(index_stats_key(t->id, idx->id), count, bytes);
  if (seen < limit) {
    // The last page: the index is complete, and ACTIVE in the same (synced) batch.
    b.del(backfill_key(t->id, idx->id));
    table_info next = *t;
    for (auto& i : next.indexes)
      if (i.id == index_id) i.backfilling = false;
    auto u = catalog_.update(std::move(next), &b);
    if (!u) return u.error();
    st->backfilled.erase(index_id);
    return true;
  }
  b.put(backfill_key(t->id, idx->id), last);
  // Not synced on its own (under group commit): a page lost in a power cut is lost with its
  // progress, and done again; a later write's fsync covers it (the log is written in order).
  if (auto w = write_deferred(b); !w) return w.error();
  cursor->second = std::move(last);
  return false;
}

void table_store::start_backfills() {
  std::lock_guard lock(backfill_mu_);
  if (backfiller_.joinable()) return;
  backfill_stop_ = false;
  backfill_wake_ = true;  // the back-fills of an earlier run first
  backfiller_ = std::thread([this] { run_backfills(); });
}

void table_store::stop_backfills() {
  {
    std::lock_guard lock(backfill_mu_);
    backfill_stop_ = true;
  }
  backfill_cv_.notify_all();
  if (backfiller_.joinable()) backfiller_.join();
}

void table_store::wake_backfills() {
  {
    std::lock_guard lock(backfill_mu_);
    backfill_wake_ = true;
  }
  backfill_cv_.notify_all();
}

void table_store::run_backfills() {
  log::every warn_every(std::chrono::seconds(30));
  std::unique_lock lock(backfill_mu_);
  for (;;) {
    backfill_cv_.wait(lock, [this] { return backfill_stop_ || backfill_wake_; });
    if (backfill_stop_) return;
    backfill_wake_ = false;
    lock.unlock();
    bool failed = false;
    bool stopping = false;
    for (const auto& t : catalog_.list()) {
      for (const auto& i : t->indexes) {
        if (!i.backfilling) continue;
        spdlog::info("back-filling index {} of table {}", i.name, t->name);
        for (;;) {
          auto began = std::chrono::steady_clock::now();
          auto done = backfill_page(t->name, i.id);
          if (!done) {
            // A deleted table or index just ends its back-fill.
            if (done.error().code != errc::not_found) {
              failed = true;
              if (auto n = warn_every.occurred(std::chrono::steady_clock::now()))
                spdlog::warn("back-fill of index {} of table {} failed, retried in {} ms: {}{}",
                             i.name, t->name, options_.backfill_retry_delay.count(),
                             done.error().message, log::every::passed_over(n));
            }
            break;
          }
          if (*done) {
            spdlog::info("index {} of table {} is back-filled: ACTIVE", i.name, t->name);
            break;
          }
          // A pause as long as the page (which held the table's writes) before the next one,
          // so writes get at least half of the time; longer with backfill_page_delay.
          auto pause = std::max<std::chrono::steady_clock::duration>(
              std::chrono::steady_clock::now() - began, options_.backfill_page_delay);
          std::unique_lock l(backfill_mu_);
          if (backfill_cv_.wait_for(l, pause, [this] { return backfill_stop_; })) {
            stopping = true;
            break;
          }
        }
        if (stopping) break;
      }
      if (stopping) break;
    }
    lock.lock();
    if (stopping || backfill_stop_) return;
    if (failed && !backfill_cv_.wait_for(lock, options_.backfill_retry_delay,
                                         [this] { return backfill_stop_ || backfill_wake_; }))
      backfill_wake_ = true;  // the retry
  }
}

}  // namespace mysfits::table::storage
