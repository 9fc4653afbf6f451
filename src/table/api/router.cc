// The protocol front of the engine (router.h): signature, JSON decoding, dispatch, errors,
// metrics and the per-request log line.
#include "api/router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <utility>
#include <vector>

#include "mysfits/common/metrics.h"
#include "mysfits/common/request_deadline.h"
#include "storage/isal_crc.h"
#include "types/attribute_value.h"

namespace mysfits::table::api {

namespace {

using op_fn = json::object (*)(op_context&, const json::object&);

const std::map<std::string, op_fn, std::less<>>& operations() {
  static const std::map<std::string, op_fn, std::less<>> ops = {
      {"CreateTable", &create_table},
      {"DescribeTable", &describe_table},
      {"ListTables", &list_tables},
      {"DeleteTable", &delete_table},
      {"UpdateTable", &update_table},
      {"PutItem", &put_item},
      {"GetItem", &get_item},
      {"UpdateItem", &update_item},
      {"DeleteItem", &delete_item},
      {"Query", &query},
      {"Scan", &scan},
      {"BatchGetItem", &batch_get_item},
      {"BatchWriteItem", &batch_write_item},
      {"TagResource", &tag_resource},
      {"UntagResource", &untag_resource},
      {"ListTagsOfResource", &list_tags_of_resource},
  };
  return ops;
}

// DynamoDB Streams ops share the listener, the signature check (SigV4 service name "dynamodb",
// as boto3's dynamodbstreams client signs) and the error shapes.
const std::map<std::string, op_fn, std::less<>>& stream_operations() {
  static const std::map<std::string, op_fn, std::less<>> ops = {
      {"ListStreams", &list_streams},
      {"DescribeStream", &describe_stream},
      {"GetShardIterator", &get_shard_iterator},
      {"GetRecords", &get_records},
  };
  return ops;
}

const std::map<std::string, op_fn, std::less<>>& operations_of(api_service s) {
  return s == api_service::dynamodb_streams ? stream_operations() : operations();
}

// The operations that write items through the store's group commit: their answer waits for the
// fsync. (Table DDL writes the catalog with its own fsync; reads never wait.)
bool writes_items(std::string_view op) {
  return op == "PutItem" || op == "UpdateItem" || op == "DeleteItem" || op == "BatchWriteItem";
}

constexpr std::string_view target_prefix = "DynamoDB_20120810.";
constexpr std::string_view streams_target_prefix = "DynamoDBStreams_20120810.";

std::string_view table_of(std::string_view body) {
  // Only for the log line: a cheap look for "TableName" without a second parse.
  auto p = body.find("\"TableName\"");
  if (p == std::string_view::npos) return "-";
  p = body.find('"', body.find(':', p));
  if (p == std::string_view::npos) return "-";
  auto e = body.find('"', p + 1);
  if (e == std::string_view::npos || e - p > 256) return "-";
  return body.substr(p + 1, e - p - 1);
}

// The per-request log line (issue 2: operation, table, status, duration), formatted without
// floating point: "op=GetItem table=T status=200 duration_ms=0.421". An info line is only
// built when info is logged.
void log_request(spdlog::level::level_enum level, std::string_view op, std::string_view table,
                 unsigned status, double seconds, std::string_view suffix = {}) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  auto us = static_cast<std::uint64_t>(seconds * 1e6 + 0.5);
  // Put together by hand: a format string is parsed again on every call, which was a third of
  // the line's cost.
  fmt::memory_buffer line;
  auto add = [&line](std::string_view s) { line.append(s.data(), s.data() + s.size()); };
  add("op=");
  add(op);
  add(" table=");
  add(table);
  add(" status=");
  fmt::format_int code(status);
  add({code.data(), code.size()});
  add(" duration_ms=");
  fmt::format_int ms(us / 1000);
  add({ms.data(), ms.size()});
  char frac[4] = {'.', static_cast<char>('0' + us / 100 % 10),
                  static_cast<char>('0' + us / 10 % 10), static_cast<char>('0' + us % 10)};
  add({frac, 4});
  add(suffix);
  logger->log(level, spdlog::string_view_t(line.data(), line.size()));
}

std::uint32_t checksum(std::string_view body) {
  // ISA-L's CRC-32 (the same checksum as zlib's and DynamoDB's) folds 64 bytes per step with
  // the CPU's carry-less multiply: zlib's table loop was a quarter of the table's instructions
  // on a list answer of a dozen items. (Through storage/isal_crc.h, which cleans up after it.)
  return storage::crc32_gzip(body);
}

http::response make_response(unsigned status, std::string body, unsigned version,
                             const std::string& content_type) {
  http::response res{static_cast<http::bhttp::status>(status), version};
  // Inserted, not set: the message is new, so there is nothing to look up and replace, and the
  // names are given with their text (no lookup of a name among Beast's known fields). The HTTP
  // server adds Server and Content-Length (prepare_payload) after these, in that order.
  res.insert(http::bhttp::field::content_type, "Content-Type", content_type);
  // One Mersenne Twister per thread, seeded once from the OS: boost::uuids::random_generator
  // (random_generator_pure) asks the OS (getrandom) for every id, a system call per request.
  // Request ids need to be unique, not unpredictable.
  thread_local boost::uuids::random_generator_mt19937 request_ids;
  char id[36];
  boost::uuids::to_chars(request_ids(), id);
  res.insert(http::bhttp::field::unknown, "x-amzn-RequestId", std::string_view(id, sizeof id));
  // The CRC-32 of the body, as DynamoDB sends it (SDKs check it when present).
  fmt::format_int crc(checksum(body));
  res.insert(http::bhttp::field::unknown, "x-amz-crc32", std::string_view(crc.data(), crc.size()));
  res.body() = std::move(body);
  return res;
}

// Counts a request in mysfits_table_requests_total{operation,status} and
// mysfits_table_request_duration_seconds{operation}. The series are looked up in the registry
// once per thread and label set: the registry's lookup takes its lock and renders the label
// strings, which per request cost more than the rest of a GetItem's bookkeeping. The registry is
// process-wide and never drops a series, so the cached references stay valid.
void count_request(const std::string& op_label, unsigned status, double seconds) {
  struct series {
    metrics::histogram* latency = nullptr;
    std::vector<std::pair<unsigned, metrics::counter*>> by_status;
  };
  thread_local std::map<std::string, series, std::less<>> cache;
  auto& reg = metrics::default_registry();
  auto it = cache.find(op_label);
  if (it == cache.end()) {
    it = cache.emplace(op_label, series{}).first;
    it->second.latency =
        &reg.get_histogram("mysfits_table_request_duration_seconds", "Request latency by operation",
                           {{"operation", op_label}});
  }
  metrics::counter* requests = nullptr;
  for (const auto& [s, c] : it->second.by_status)
    if (s == status) requests = c;
  if (!requests) {
    requests =
        &reg.get_counter("mysfits_table_requests_total", "Requests by operation and HTTP status",
                         {{"operation", op_label}, {"status", std::to_string(status)}});
    it->second.by_status.emplace_back(status, requests);
  }
  requests->inc();
  it->second.latency->observe(seconds);
}

}  // namespace

std::string error_body(const api_error& e) {
  json::object o{{"__type", e.wire_type()}, {"message", e.message()}};
  if (!e.item_json().empty()) {
    boost::system::error_code ec;
    auto item = json::parse(e.item_json(), ec, {}, json_parse_options());
    if (!ec) o["Item"] = std::move(item);
  }
  return json::serialize(o);
}

router::router(storage::table_store& store, router_options options)
    : store_(store),
      options_(std::move(options)),
      ctx_{store, options_.region, options_.replication},
      gauges_(std::make_shared<gauge_source>()) {
  gauges_->store = &store_;
  register_table_metrics();
  if (options_.replication)
    internal_pool_ = std::make_unique<boost::asio::thread_pool>(
        std::max<std::size_t>(1, options_.internal_threads));
}

router::~router() {
  if (internal_pool_) internal_pool_->join();  // long polls end at once once replication stops
  std::lock_guard lock(gauges_->mu);
  gauges_->store = nullptr;
}

void router::register_table_metrics() {
  auto& reg = metrics::default_registry();
  for (const auto& t : store_.tables().list()) {
    std::string name = t->name;
    auto stat = [src = gauges_, name](bool bytes) -> double {
      std::lock_guard lock(src->mu);
      if (!src->store) return 0;
      auto cur = src->store->tables().find(name);
      if (!cur) return 0;
      auto s = src->store->stats(cur->id);
      return static_cast<double>(bytes ? s.size_bytes : s.item_count);
    };
    reg.set_callback_gauge("mysfits_table_items", "Items in a table", {{"table", name}},
                           [stat] { return stat(false); });
    reg.set_callback_gauge("mysfits_table_bytes", "Bytes of items in a table (DynamoDB sizes)",
                           {{"table", name}}, [stat] { return stat(true); });
  }
}

std::pair<unsigned, std::string> router::dispatch(std::string_view operation, std::string_view body,
                                                  api_service service) {
  try {
    const auto& ops = operations_of(service);
    auto it = ops.find(operation);
    if (it == ops.end()) throw api_error::unknown_operation();
    boost::system::error_code ec;
    // The parsed body lives in one arena: a request's dozens of small allocations become one or
    // two. The arena is reference-counted, so a value an operation keeps beyond the request (a
    // table's attribute definitions) keeps its block alive.
    json::value v = json::parse(
        body, ec, json::make_shared_resource<json::monotonic_resource>(body.size() * 2 + 512),
        json_parse_options());
    if (ec) throw api_error::serialization("Start of structure or map found where not expected.");
    if (!v.is_object()) throw api_error::serialization("Unexpected JSON structure");
    (void)take_preformatted_response();  // nothing left over from an earlier request
    json::object resp = it->second(ctx_, v.as_object());
    if (auto text = take_preformatted_response()) return {200, std::move(*text)};
    if (operation == "CreateTable" || operation == "DeleteTable" || operation == "UpdateTable")
      register_table_metrics();
    return {200, json::serialize(resp)};
  } catch (const api_error& e) {
    if (e.http_status() >= 500) spdlog::error("{}: {}", operation, e.message());
    return {e.http_status(), error_body(e)};
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", operation, e.what());
    metrics::default_registry()
        .get_counter("mysfits_table_internal_errors_total", "Requests that failed unexpectedly")
        .inc();
    return {500, error_body(api_error::internal_server_error())};
  }
}

std::pair<unsigned, std::string> router::dispatch_internal(std::string_view operation,
                                                           std::string_view body) {
  try {
    if (!options_.replication) throw api_error::unknown_operation();
    boost::system::error_code ec;
    json::value v = json::parse(body, ec, {}, json_parse_options());
    if (ec || !v.is_object()) throw api_error::serialization("Unexpected JSON structure");
    json::object resp = options_.replication->handle_internal(operation, v.as_object());
    if (operation == "CreateReplica") register_table_metrics();
    return {200, json::serialize(resp)};
  } catch (const api_error& e) {
    if (e.http_status() >= 500) spdlog::error("{}: {}", operation, e.message());
    return {e.http_status(), error_body(e)};
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", operation, e.what());
    return {500, error_body(api_error::internal_server_error())};
  }
}

http::response router::handle(http::request& req) {
  std::promise<http::response> answer;
  auto got = answer.get_future();
  handle_async(req, [&answer](http::response res) { answer.set_value(std::move(res)); });
  auto res = got.get();
  res.prepare_payload();  // as the HTTP server does before writing it
  return res;
}

void router::serve_internal(http::request& req, const std::string& operation, reply_fn reply) {
  auto r = dispatch_internal(operation, req.body());
  auto res =
      make_response(r.first, std::move(r.second), req.version(), "application/x-amz-json-1.0");
  // A snapshot page may hold writes not yet fsynced: a peer gets it once they are durable.
  if (operation != "Snapshot" || !store_.defers_sync()) return reply(std::move(res));
  store_.after_durable([reply = std::move(reply), res = std::move(res),
                        version = req.version()](const mysfits::result<void>& synced) mutable {
    if (!synced) {
      res = make_response(500, error_body(api_error::internal_server_error()), version,
                          "application/x-amz-json-1.0");
    }
    reply(std::move(res));
  });
}

void router::handle_async(http::request& req, reply_fn reply) {
  auto start = std::chrono::steady_clock::now();
  std::string target(req["X-Amz-Target"]);
  if (req.method() == http::bhttp::verb::get) {
    if (req.target() == "/metrics")
      return reply(make_response(200, metrics::default_registry().render(), req.version(),
                                 "text/plain; version=0.0.4"));
    // DynamoDB's own answer to GET /, which load balancers and SDK probes read.
    return reply(make_response(200, "healthy: dynamodb." + options_.region + ".amazonaws.com",
                               req.version(), "text/plain"));
  }
  api_service service = target.rfind(streams_target_prefix, 0) == 0 ? api_service::dynamodb_streams
                                                                    : api_service::dynamodb;
  bool known_service =
      service == api_service::dynamodb_streams || target.rfind(target_prefix, 0) == 0;
  std::string operation = known_service ? target.substr(service == api_service::dynamodb_streams
                                                            ? streams_target_prefix.size()
                                                            : target_prefix.size())
                                        : std::string(target.empty() ? "-" : target);
  std::pair<unsigned, std::string> result;
  try {
    if (req.method() != http::bhttp::verb::post)
      throw api_error("UnknownOperationException", "", 400);
    if (options_.credentials) {
      sigv4_request sr;
      sr.method = std::string(req.method_string());
      std::string_view t = req.target();
      auto q = t.find('?');
      sr.path = std::string(t.substr(0, q));
      if (q != std::string_view::npos) sr.query = std::string(t.substr(q + 1));
      for (const auto& f : req) sr.headers.emplace_back(f.name_string(), f.value());
      sr.body = req.body();
      verify_sigv4(sr, *options_.credentials, std::chrono::system_clock::now());
    }
    if (target.rfind(replication_target_prefix, 0) == 0) {
      // Internal traffic between regions: no per-request log line or op metrics (long polls).
      std::string internal_op = target.substr(replication_target_prefix.size());
      if (!internal_pool_) return serve_internal(req, internal_op, std::move(reply));
      boost::asio::post(*internal_pool_, [this, &req, internal_op = std::move(internal_op),
                                          reply = std::move(reply)]() mutable {
        serve_internal(req, internal_op, std::move(reply));
      });
      return;
    }
    if (!known_service) throw api_error::unknown_operation();
    if (service == api_service::dynamodb && writes_items(operation)) {
      // A project extension (DynamoDB ignores the header): the app's services pass on the
      // X-Edge-Deadline of the request they serve (docs/edge.md, "Request deadlines"); a write
      // that arrives after it — a region frozen with the call in hand, thawed after the
      // accelerator resent the request elsewhere — is refused before anything is applied.
      if (auto it = req.find(request_deadline::header); it != req.end()) {
        const std::string_view text(it->value().data(), it->value().size());
        auto deadline = request_deadline::parse(text);
        const auto now = request_deadline::now_ms();
        if (deadline &&
            request_deadline::passed(*deadline, now, request_deadline::default_tolerance)) {
          metrics::default_registry()
              .get_counter("mysfits_table_deadline_expired_total",
                           "Writes refused because their X-Edge-Deadline had passed")
              .inc();
          throw api_error("DeadlineExceededException",
                          "The request's deadline (X-Edge-Deadline) passed " +
                              std::to_string(now - *deadline) + " ms ago; nothing was written");
        }
      }
    }
    result = dispatch(operation, req.body(), service);
  } catch (const api_error& e) {
    result = {e.http_status(), error_body(e)};
  }
  std::string op_label =
      known_service && operations_of(service).contains(operation) ? operation : "unknown";
  bool log = options_.log_requests;
  if (service == api_service::dynamodb && writes_items(op_label) && store_.defers_sync()) {
    // Group commit: the write is in RocksDB (readers see it) but not yet fsynced; the answer
    // waits on the committer thread for the fsync that covers it.
    auto res = make_response(result.first, std::move(result.second), req.version(),
                             "application/x-amz-json-1.0");
    store_.after_durable([reply = std::move(reply), res = std::move(res), status = result.first,
                          op_label, table = log ? std::string(table_of(req.body())) : std::string(),
                          log, start,
                          version = req.version()](const mysfits::result<void>& synced) mutable {
      if (!synced) {
        status = 500;
        res = make_response(500, error_body(api_error::internal_server_error()), version,
                            "application/x-amz-json-1.0");
        metrics::default_registry()
            .get_counter("mysfits_table_internal_errors_total", "Requests that failed unexpectedly")
            .inc();
      }
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      count_request(op_label, status, seconds);
      if (log)
        log_request(synced ? spdlog::level::info : spdlog::level::err, op_label, table, status,
                    seconds, synced ? "" : " (write-ahead log sync failed)");
      reply(std::move(res));
    });
    return;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  count_request(op_label, result.first, seconds);
  if (log) log_request(spdlog::level::info, op_label, table_of(req.body()), result.first, seconds);
  reply(make_response(result.first, std::move(result.second), req.version(),
                      "application/x-amz-json-1.0"));
}

}  // namespace mysfits::table::api
