// The DynamoDB Streams operations (X-Amz-Target DynamoDBStreams_20120810.<Op>): ListStreams,
// DescribeStream, GetShardIterator, GetRecords, over the stream records table_store writes in
// each item's batch (read with table_store::read_stream, which never passes an in-flight
// number). One shard per stream; iterators are self-contained (streams.h), so they survive a
// restart.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html
#include <boost/crc.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "api/ops.h"
#include "api/request.h"
#include "api/streams.h"
#include "types/attribute_value.h"

namespace mysfits::table::api {

namespace streams {

namespace {
constexpr std::string_view history_field = "stream_history";
constexpr std::string_view last_sequence_field = "stream_last_sequence";

std::uint64_t u64_of(const json::value* v) {
  if (!v) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() > 0) return static_cast<std::uint64_t>(v->as_int64());
  return 0;
}

std::uint32_t crc_of(std::string_view s) {
  boost::crc_32_type crc;
  crc.process_bytes(s.data(), s.size());
  return crc.checksum();
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (!all_digits(s) || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}
}  // namespace

std::vector<stream_info> streams_of(const storage::table_info& t) {
  std::vector<stream_info> out;
  if (const auto* h = t.extra.if_contains(history_field); h && h->is_array())
    for (const auto& e : h->as_array()) {
      if (!e.is_object()) continue;
      const auto& o = e.as_object();
      const auto* label = o.if_contains("label");
      const auto* vt = o.if_contains("view_type");
      if (!label || !label->is_string() || !vt || !vt->is_string()) continue;
      out.push_back({std::string(label->as_string()), std::string(vt->as_string()), false,
                     u64_of(o.if_contains("last_sequence"))});
    }
  if (!t.stream_label.empty())
    out.push_back({t.stream_label, t.stream_view_type, t.stream_enabled,
                   t.stream_enabled ? 0 : u64_of(t.extra.if_contains(last_sequence_field))});
  return out;
}

std::optional<stream_info> find_stream(const storage::table_info& t, std::string_view label) {
  for (auto& s : streams_of(t))
    if (s.label == label) return s;
  return std::nullopt;
}

void disable_stream(storage::table_info& t, std::uint64_t last_sequence) {
  t.stream_enabled = false;
  t.extra[last_sequence_field] = last_sequence;
}

std::string stream_arn(const op_context& ctx, std::string_view table, std::string_view label) {
  return table_arn(ctx, table) + "/stream/" + std::string(label);
}

std::optional<stream_arn_parts> parse_stream_arn(const op_context& ctx, std::string_view arn) {
  std::string prefix = table_arn(ctx, "");
  if (arn.substr(0, prefix.size()) != prefix) return std::nullopt;
  arn.remove_prefix(prefix.size());
  auto s = arn.find("/stream/");
  if (s == std::string_view::npos || s == 0) return std::nullopt;
  stream_arn_parts p{std::string(arn.substr(0, s)), std::string(arn.substr(s + 8))};
  if (p.label.empty() || p.label.find('/') != std::string::npos) return std::nullopt;
  return p;
}

std::string make_label(std::uint64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char label[48];
  std::snprintf(label, sizeof label, "%s.%03u", buf, static_cast<unsigned>(epoch_ms % 1000));
  return label;
}

double label_time(std::string_view label) {
  std::tm tm{};
  unsigned ms = 0;
  std::string text(label);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3u", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + ms / 1000.0;
}

std::string shard_id(const storage::table_info& t, std::string_view label) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "shardId-%020" PRIu64 "-%08x",
                static_cast<std::uint64_t>(label_time(label) * 1000),
                crc_of(t.table_uuid + "/" + std::string(label)));
  return buf;
}

std::string format_sequence_number(std::uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "1%020" PRIu64, seq);
  return buf;
}

std::optional<std::uint64_t> parse_sequence_number(std::string_view text) {
  if (text.size() != 21 || text[0] != '1') return std::nullopt;
  return parse_u64(text.substr(1));
}

std::string encode_iterator(const shard_iterator& it) {
  std::string body = it.stream_arn + "|1|" + std::to_string(it.table_id) + "." +
                     std::to_string(it.after) + "." + std::to_string(it.issued_ms);
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", crc_of(body));
  return body + "." + crc;
}

std::optional<shard_iterator> decode_iterator(std::string_view text) {
  auto bar = text.rfind("|1|");
  if (bar == std::string_view::npos) return std::nullopt;
  auto dot = text.rfind('.');
  if (dot == std::string_view::npos || dot < bar) return std::nullopt;
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", crc_of(text.substr(0, dot)));
  if (text.substr(dot + 1) != crc) return std::nullopt;
  std::string_view fields = text.substr(bar + 3, dot - bar - 3);
  std::uint64_t v[3];
  for (int n = 0; n < 3; ++n) {
    auto d = fields.find('.');
    if ((n < 2) == (d == std::string_view::npos)) return std::nullopt;
    auto parsed = parse_u64(fields.substr(0, d));
    if (!parsed) return std::nullopt;
    v[n] = *parsed;
    fields = n < 2 ? fields.substr(d + 1) : std::string_view();
  }
  return shard_iterator{std::string(text.substr(0, bar)), v[0], v[1], v[2]};
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace streams

namespace {

using streams::stream_info;

api_error trimmed_data_access(std::string m) {
  return {"TrimmedDataAccessException", std::move(m)};
}
api_error expired_iterator(std::string m) { return {"ExpiredIteratorException", std::move(m)}; }

api_error stream_not_found(std::string_view arn) {
  return api_error::resource_not_found("Requested resource not found: Stream: " + std::string(arn) +
                                       " not found");
}

struct resolved_stream {
  std::shared_ptr<const storage::table_info> table;
  stream_info stream;
  std::string arn;
};

// The table and stream an ARN names, or ResourceNotFoundException (a deleted table's streams
// are gone; a malformed ARN is a ValidationException, as in DynamoDB).
resolved_stream resolve_stream(op_context& ctx, std::string_view arn) {
  if (arn.size() < 37 || arn.size() > 1024)
    throw api_error::validation("1 validation error detected: Value '" + std::string(arn) +
                                "' at 'streamArn' failed to satisfy constraint: Member must have "
                                "length greater than or equal to 37");
  auto parts = streams::parse_stream_arn(ctx, arn);
  if (!parts) {
    if (arn.substr(0, 4) != "arn:") throw api_error::validation("Invalid StreamArn");
    throw stream_not_found(arn);
  }
  auto t = ctx.store.tables().find(parts->table);
  if (!t) throw stream_not_found(arn);
  auto s = streams::find_stream(*t, parts->label);
  if (!s) throw stream_not_found(arn);
  return {t, std::move(*s), std::string(arn)};
}

std::int64_t get_limit(const json::object& req, std::int64_t max, std::int64_t dflt) {
  auto limit = find_int(req, "Limit").value_or(dflt);
  if (limit < 1 || limit > max)
    throw api_error::validation(
        "1 validation error detected: Value '" + std::to_string(limit) +
        "' at 'limit' failed to satisfy constraint: Member must have value " +
        (limit < 1 ? "greater than or equal to 1"
                   : "less than or equal to " + std::to_string(max)));
  return limit;
}

// Whether a stored record belongs to the stream `label` (records written before labels were
// stored belong to the table's current stream).
bool belongs_to(const storage::stream_record& r, const storage::table_info& t,
                std::string_view label) {
  const auto* l = r.body.if_contains("label");
  if (!l || !l->is_string()) return label == t.stream_label;
  return l->as_string() == label;
}

struct stream_bounds {
  std::uint64_t first = 0;    // lowest kept sequence number, 0 when none is kept
  std::uint64_t through = 0;  // every number up to here has committed (or failed)
};

stream_bounds bounds_of(op_context& ctx, const storage::table_info& t) {
  auto first = ctx.store.stream_first_sequence(t.id);
  if (!first) throw_storage_error(first.error());
  return {*first, ctx.store.stream_readable_through(t.id)};
}

// True when records right after `after` have been trimmed: the next number has committed (it is
// not in flight: those are above `through`) yet is older than the first kept record. (A failed
// write also leaves a number with no record; only one failing before every kept record, which
// needs a failing disk, would be mistaken for trimming.)
bool is_trimmed(const stream_bounds& b, std::uint64_t after) {
  if (after >= b.through) return false;
  return b.first == 0 || after + 1 < b.first;
}

// Where TRIM_HORIZON starts: before the oldest kept record, never past a number in flight.
std::uint64_t trim_horizon(const stream_bounds& b) {
  return b.first == 0 ? b.through : std::min(b.first - 1, b.through);
}

// The first record of a stream still kept, found by reading forward (bounded: a stream's
// records follow the earlier streams' ones, which retention trims).
std::optional<std::uint64_t> first_sequence_of(op_context& ctx, const storage::table_info& t,
                                               std::string_view label, const stream_bounds& b) {
  std::uint64_t after = trim_horizon(b);
  for (int round = 0; round < 20; ++round) {
    auto recs = ctx.store.read_stream(t.id, after, 1000);
    if (!recs) throw_storage_error(recs.error());
    if (recs->empty()) return std::nullopt;
    for (const auto& r : *recs) {
      if (belongs_to(r, t, label)) return r.sequence;
      after = r.sequence;
    }
  }
  return std::nullopt;
}

json::array key_schema_json(const storage::key_schema& k) {
  json::array a;
  a.emplace_back(json::object{{"AttributeName", k.hash_name}, {"KeyType", "HASH"}});
  if (k.range_name)
    a.emplace_back(json::object{{"AttributeName", *k.range_name}, {"KeyType", "RANGE"}});
  return a;
}

// 32 hex digits, stable for a record (a re-read after a restart gives the same id).
std::string event_id(const storage::table_info& t, std::uint64_t seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08x%08x%016" PRIx64, streams::crc_of(t.table_uuid),
                streams::crc_of(t.name + "/" + t.table_uuid), seq);
  return buf;
}

// A stored record in DynamoDB's Record shape, with the images the stream's view type keeps.
json::object wire_record(op_context& ctx, const storage::table_info& t, const stream_info& s,
                         const storage::stream_record& r, std::size_t& size_bytes) {
  const json::object& b = r.body;
  json::object d;
  const auto* ts = b.if_contains("ts");
  std::uint64_t us = ts && ts->is_number() ? ts->to_number<std::uint64_t>() : 0;
  d["ApproximateCreationDateTime"] = static_cast<std::int64_t>(us / 1000000);
  std::size_t size = 0;
  if (const auto* k = b.if_contains("keys"); k && k->is_object()) {
    d["Keys"] = k->as_object();
    size += item_size(k->as_object());
  }
  bool want_new = s.view_type == "NEW_IMAGE" || s.view_type == "NEW_AND_OLD_IMAGES";
  bool want_old = s.view_type == "OLD_IMAGE" || s.view_type == "NEW_AND_OLD_IMAGES";
  if (const auto* n = b.if_contains("new"); want_new && n && n->is_object()) {
    d["NewImage"] = n->as_object();
    size += item_size(n->as_object());
  }
  if (const auto* o = b.if_contains("old"); want_old && o && o->is_object()) {
    d["OldImage"] = o->as_object();
    size += item_size(o->as_object());
  }
  d["SequenceNumber"] = streams::format_sequence_number(r.sequence);
  d["SizeBytes"] = static_cast<std::int64_t>(std::max<std::size_t>(size, 1));
  d["StreamViewType"] = s.view_type;
  size_bytes = size;
  const auto* ev = b.if_contains("event");
  return {{"eventID", event_id(t, r.sequence)},
          {"eventName", ev && ev->is_string() ? ev->as_string() : json::string("MODIFY")},
          {"eventVersion", "1.1"},
          {"eventSource", "aws:dynamodb"},
          {"awsRegion", ctx.region},
          {"dynamodb", std::move(d)}};
}

// A MODIFY that changed nothing (a PutItem of the same item): DynamoDB writes no stream record.
bool is_unchanged(const storage::stream_record& r) {
  const auto* o = r.body.if_contains("old");
  const auto* n = r.body.if_contains("new");
  return o && n && *o == *n;
}

}  // namespace

json::object list_streams(op_context& ctx, const json::object& req) {
  auto limit = get_limit(req, 100, 100);
  std::optional<std::string> only;
  if (req.contains("TableName") && !req.at("TableName").is_null()) {
    only = std::string(get_table_name(req));
    if (!ctx.store.tables().find(*only))
      throw api_error::resource_not_found("Requested resource not found: Table: " + *only +
                                          " not found");
  }
  std::optional<streams::stream_arn_parts> start;
  if (auto s = find_string(req, "ExclusiveStartStreamArn")) {
    start = streams::parse_stream_arn(ctx, *s);
    if (!start) throw api_error::validation("Invalid ExclusiveStartStreamArn: " + std::string(*s));
  }
  json::array out;
  std::string last;
  bool more = false;
  for (const auto& t : ctx.store.tables().list()) {
    if (only && t->name != *only) continue;
    for (const auto& s : streams::streams_of(*t)) {
      if (start && std::tie(t->name, s.label) <= std::tie(start->table, start->label)) continue;
      if (static_cast<std::int64_t>(out.size()) == limit) {
        more = true;
        break;
      }
      last = streams::stream_arn(ctx, t->name, s.label);
      out.emplace_back(
          json::object{{"StreamArn", last}, {"TableName", t->name}, {"StreamLabel", s.label}});
    }
    if (more) break;
  }
  json::object resp{{"Streams", std::move(out)}};
  if (more) resp["LastEvaluatedStreamArn"] = last;
  return resp;
}

json::object describe_stream(op_context& ctx, const json::object& req) {
  auto rs = resolve_stream(ctx, get_string(req, "StreamArn"));
  (void)get_limit(req, 100, 100);  // validated; a stream has one shard here
  const auto& t = *rs.table;
  const auto& s = rs.stream;
  std::string sid = streams::shard_id(t, s.label);
  bool list_shard = true;
  if (auto start = find_string(req, "ExclusiveStartShardId"); start && *start >= sid)
    list_shard = false;
  if (const auto* f = find_object(req, "ShardFilter")) {
    (void)f;  // CHILD_SHARDS of our only shard: there are none
    list_shard = false;
  }
  json::object d;
  d["StreamArn"] = rs.arn;
  d["StreamLabel"] = s.label;
  d["StreamStatus"] = s.enabled ? "ENABLED" : "DISABLED";
  d["StreamViewType"] = s.view_type;
  d["CreationRequestDateTime"] = streams::label_time(s.label);
  d["TableName"] = t.name;
  d["KeySchema"] = key_schema_json(t.keys);
  json::array shards;
  if (list_shard) {
    auto b = bounds_of(ctx, t);
    auto first = first_sequence_of(ctx, t, s.label, b);
    std::uint64_t starting = first ? *first : s.enabled ? b.through + 1 : s.last_sequence;
    json::object range{{"StartingSequenceNumber", streams::format_sequence_number(starting)}};
    if (!s.enabled)
      range["EndingSequenceNumber"] =
          streams::format_sequence_number(std::max(starting, s.last_sequence));
    shards.emplace_back(json::object{{"ShardId", sid}, {"SequenceNumberRange", std::move(range)}});
  }
  d["Shards"] = std::move(shards);
  return {{"StreamDescription", std::move(d)}};
}

json::object get_shard_iterator(op_context& ctx, const json::object& req) {
  auto arn = get_string(req, "StreamArn");
  auto sid = get_string(req, "ShardId");
  auto type = find_string(req, "ShardIteratorType");
  if (!type)
    throw api_error::validation(
        "1 validation error detected: Value null at 'shardIteratorType' failed to satisfy "
        "constraint: Member must not be null");
  if (*type != "TRIM_HORIZON" && *type != "LATEST" && *type != "AT_SEQUENCE_NUMBER" &&
      *type != "AFTER_SEQUENCE_NUMBER")
    throw api_error::validation(
        "1 validation error detected: Value '" + std::string(*type) +
        "' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value "
        "set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
  auto seq_text = find_string(req, "SequenceNumber");
  bool by_number = *type == "AT_SEQUENCE_NUMBER" || *type == "AFTER_SEQUENCE_NUMBER";
  if (by_number && !seq_text)
    throw api_error::validation("Must specify a sequence number for iterator type " +
                                std::string(*type));
  auto rs = resolve_stream(ctx, arn);
  const auto& t = *rs.table;
  if (sid != streams::shard_id(t, rs.stream.label))
    throw api_error::resource_not_found("Requested resource not found: Shard does not exist");
  auto b = bounds_of(ctx, t);
  std::uint64_t after = 0;
  if (*type == "TRIM_HORIZON") {
    after = trim_horizon(b);
  } else if (*type == "LATEST") {
    after = b.through;
  } else {
    auto seq = streams::parse_sequence_number(*seq_text);
    std::uint64_t issued = static_cast<std::uint64_t>(ctx.store.stats(t.id).stream_sequence);
    std::string bad = "Invalid SequenceNumber: " + std::string(*seq_text) + " for shard " +
                      std::string(sid) + " of stream " + std::string(arn);
    if (!seq || *seq == 0 || *seq > issued) throw api_error::validation(bad);
    if (is_trimmed(b, *seq - 1))
      throw trimmed_data_access("Attempted to access data that has been trimmed: SequenceNumber " +
                                std::string(*seq_text) + " is older than the stream's retention");
    auto at = ctx.store.read_stream(t.id, *seq - 1, 1);
    if (!at) throw_storage_error(at.error());
    if (!at->empty() && at->front().sequence == *seq &&
        !belongs_to(at->front(), t, rs.stream.label))
      throw api_error::validation(bad);
    after = *type == "AT_SEQUENCE_NUMBER" ? *seq - 1 : *seq;
  }
  return {{"ShardIterator", streams::encode_iterator({rs.arn, t.id, after, streams::now_ms()})}};
}

json::object get_records(op_context& ctx, const json::object& req) {
  auto text = get_string(req, "ShardIterator");
  if (text.empty() || text.size() > 2048)
    throw api_error::validation(
        "1 validation error detected: Value at 'shardIterator' failed to satisfy constraint: "
        "Member must have length less than or equal to 2048");
  auto limit = static_cast<std::size_t>(get_limit(req, 1000, 1000));
  auto it = streams::decode_iterator(text);
  if (!it) throw api_error::validation("Invalid ShardIterator");
  auto now = streams::now_ms();
  if (now > it->issued_ms + streams::iterator_lifetime_ms)
    throw expired_iterator("Iterator expired. The iterator was created at time " +
                           std::to_string(it->issued_ms) + " ms while right now the time is " +
                           std::to_string(now) + " ms (iterators are valid for 15 minutes)");
  auto rs = resolve_stream(ctx, it->stream_arn);
  const auto& t = *rs.table;
  if (t.id != it->table_id) throw stream_not_found(it->stream_arn);  // table re-created
  auto b = bounds_of(ctx, t);
  if (is_trimmed(b, it->after))
    throw trimmed_data_access(
        "Attempted to access data that has been trimmed: the iterator's position is older than "
        "the stream's retention");
  constexpr std::size_t max_scanned = 10000;      // records of other streams skipped per call
  constexpr std::size_t max_bytes = 1024 * 1024;  // DynamoDB's 1 MB response limit
  json::array records;
  std::uint64_t after = it->after;
  std::size_t scanned = 0;
  std::size_t bytes = 0;
  bool reached_end = false;
  while (records.size() < limit && scanned < max_scanned && bytes < max_bytes) {
    auto recs = ctx.store.read_stream(t.id, after, std::min<std::size_t>(limit, 1000));
    if (!recs) throw_storage_error(recs.error());
    if (recs->empty()) {
      reached_end = true;
      break;
    }
    for (const auto& r : *recs) {
      after = r.sequence;
      ++scanned;
      if (belongs_to(r, t, rs.stream.label) && !is_unchanged(r)) {
        std::size_t size = 0;
        records.emplace_back(wire_record(ctx, t, rs.stream, r, size));
        bytes += size;
      }
      if (records.size() == limit || bytes >= max_bytes) break;
    }
  }
  json::object resp{{"Records", std::move(records)}};
  // A disabled stream's shard is closed: once read past its end there is no next iterator.
  bool closed = !rs.stream.enabled &&
                (rs.stream.last_sequence != 0 ? after >= rs.stream.last_sequence : reached_end);
  if (!closed) resp["NextShardIterator"] = streams::encode_iterator({rs.arn, t.id, after, now});
  return resp;
}

}  // namespace mysfits::table::api
