// Shared request plumbing for the app services.
#include "service_kit.h"

#include <spdlog/spdlog.h>

#include <boost/url/parse.hpp>
#include <chrono>
#include <future>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "mysfits/common/request_deadline.h"
#include "table_ops.h"

namespace mysfits::app::detail {

namespace json = boost::json;
namespace bhttp = http::bhttp;

ddbclient::call_context trace_of(const http::request& req) {
  if (auto it = req.find("X-Amzn-Trace-Id"); it != req.end() && !it->value().empty()) {
    return {"X-Amzn-Trace-Id", std::string(it->value())};
  }
  if (auto it = req.find("traceparent"); it != req.end() && !it->value().empty()) {
    return {"traceparent", std::string(it->value())};
  }
  thread_local std::mt19937_64 gen{std::random_device{}()};
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "Root=1-%08llx-%012llx%012llx",
                static_cast<unsigned long long>(secs),
                static_cast<unsigned long long>(gen() & 0xffffffffffffULL),
                static_cast<unsigned long long>(gen() & 0xffffffffffffULL));
  return {"X-Amzn-Trace-Id", buf};
}

parsed_target parse_target(std::string_view target) {
  parsed_target out;
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return out;
  for (auto seg : u->segments()) out.segments.emplace_back(seg);
  // "/mysfits/" has a trailing empty segment; drop it so it routes as "/mysfits".
  if (!out.segments.empty() && out.segments.back().empty() && out.segments.size() > 1) {
    out.segments.pop_back();
  }
  if (out.segments.size() == 1 && out.segments[0].empty()) out.segments.clear();
  for (auto p : u->params()) out.params[p.key] = p.has_value ? std::string(p.value) : "";
  out.ok = true;
  return out;
}

http::response json_response(unsigned status, const json::value& body, unsigned version) {
  http::response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json::serialize(body);
  return res;
}

http::response error_response(unsigned status, std::string_view message, unsigned version) {
  return json_response(status, json::object{{"message", message}}, version);
}

http::response method_not_allowed(std::string_view allow, unsigned version) {
  auto res = error_response(405, "method not allowed", version);
  res.set(bhttp::field::allow, allow);
  return res;
}

namespace {

// Counts the requests answered by a table call they shared with others.
void count_shared(const char* route, std::size_t size) {
  if (size < 2) return;
  thread_local std::map<std::string_view, metrics::counter*> cache;
  auto& c = cache[route];
  if (c == nullptr) {
    c = &metrics::default_registry().get_counter(
        "mysfits_app_shared_table_call_requests_total",
        "Requests answered by a table call shared with concurrent requests (one Scan, Query or "
        "ADD Likes :n for a batch)",
        {{"route", route}});
  }
  c->inc();
}

}  // namespace

shared_calls::shared_calls(std::size_t threads, std::size_t like_calls_per_key)
    : pool_(threads),
      lists_(pool_.get_executor()),
      likes_(pool_.get_executor(), like_calls_per_key) {}

shared_calls::~shared_calls() { pool_.join(); }

void shared_calls::run(std::function<void()> work) {
  boost::asio::post(pool_, [work = std::move(work)] {
    try {
      work();
    } catch (const std::exception& ex) {
      spdlog::error("table call: {}", ex.what());
    }
  });
}

void list_async(shared_calls& shared, ddbclient::table_api& table, const std::string& table_name,
                const std::string& filter, const std::string& value,
                const ddbclient::call_context& ctx, unsigned version, answer_fn answer) {
  // Reads carry no deadline; one key per distinct read.
  std::string key = filter.empty() ? std::string("scan") : "query\n" + filter + "\n" + value;
  shared.lists().join(
      key, ctx,
      [&table, table_name, filter, value](std::size_t, const ddbclient::call_context& c) {
        return filter.empty() ? list_mysfits_json(table, table_name, c)
                              : query_mysfits_json(table, table_name, filter, value, c);
      },
      [version, answer = std::move(answer)](auto got) {
        if (!got) return answer(error_response(500, "internal error", version));
        count_shared("/mysfits", got->size);
        auto& body = got->result;
        if (!body) return answer(table_error_response(body.error(), version));
        // Written as text straight from the table's answer (append_items_json): parsing it into
        // objects, then writing twelve of them, cost more than the rest of the route.
        http::response res{bhttp::status::ok, version};
        res.set(bhttp::field::content_type, "application/json");
        res.body() = std::move(*body);
        answer(std::move(res));
      });
}

void like_async(shared_calls& shared, ddbclient::table_api& table, const std::string& table_name,
                const std::string& id, const ddbclient::call_context& ctx, unsigned version,
                answer_fn answer) {
  std::string key = (ctx.deadline_ms != 0 ? "deadline\n" : "none\n") + id;
  shared.likes().join(
      key, ctx,
      [&table, table_name, id](std::size_t size, const ddbclient::call_context& c) {
        return like_mysfit(table, table_name, id, size, c);
      },
      [id, version, answer = std::move(answer)](auto got) {
        if (!got) return answer(error_response(500, "internal error", version));
        count_shared("/mysfits/{id}/like", got->size);
        auto& r = got->result;
        if (!r) return answer(table_error_response(r.error(), version));
        if (r->outcome == write_outcome::not_found)
          return answer(error_response(404, "no such mysfit", version));
        // The batch's likes were added at once; this member's like is the (index+1)-th of them.
        json::value likes = r->likes;
        if (likes.is_int64())
          likes = likes.as_int64() - static_cast<std::int64_t>(got->size - 1 - got->index);
        answer(json_response(
            200, json::object{{"Update", "Success"}, {"mysfitId", id}, {"likes", likes}}, version));
      });
}

http::response table_error_response(const ddbclient::api_error& e, unsigned version) {
  if (e.type == "DeadlineExceededException") {
    auto res = error_response(504,
                              "request deadline passed before the table applied the write; "
                              "not applied",
                              version);
    res.set("X-Edge-Error", request_deadline::expired_error);
    return res;
  }
  if (e.is_unavailable() || e.type == "ResourceNotFoundException") {
    return error_response(503, "table unavailable: " + e.type + ": " + e.message, version);
  }
  return error_response(500, "table error: " + e.type + ": " + e.message, version);
}

std::optional<http::response> refuse_after_deadline(const http::request& req,
                                                    std::string_view service,
                                                    const std::string& route,
                                                    std::chrono::milliseconds tolerance) {
  auto it = req.find(request_deadline::header);
  if (it == req.end()) return std::nullopt;
  const std::string_view text(it->value().data(), it->value().size());
  auto deadline = request_deadline::parse(text);
  if (!deadline) {
    return error_response(400, "malformed X-Edge-Deadline (Unix epoch milliseconds expected)",
                          req.version());
  }
  const auto now = request_deadline::now_ms();
  if (!request_deadline::passed(*deadline, now, tolerance)) return std::nullopt;
  metrics::default_registry()
      .get_counter("mysfits_deadline_expired_total",
                   "Writes refused because the request's X-Edge-Deadline had passed",
                   {{"service", std::string(service)}, {"route", route}})
      .inc();
  spdlog::debug("{} {}: deadline {} passed {} ms ago, not applied", req.method_string(),
                req.target(), *deadline, now - *deadline);
  auto res = error_response(504, "request deadline passed before the write started; not applied",
                            req.version());
  res.set("X-Edge-Error", request_deadline::expired_error);
  return res;
}

ddbclient::call_context with_deadline(const http::request& req,
                                      const ddbclient::call_context& ctx) {
  auto out = ctx;
  if (auto it = req.find(request_deadline::header); it != req.end()) {
    const std::string_view text(it->value().data(), it->value().size());
    out.deadline_ms = request_deadline::parse(text).value_or(0);
  }
  return out;
}

http::response cors_preflight(const http::request& req) {
  http::response res{bhttp::status::ok, req.version()};
  // Flask-CORS's defaults: every method, and whatever headers the browser asks for.
  res.set("Access-Control-Allow-Methods", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
  if (auto it = req.find("Access-Control-Request-Headers"); it != req.end()) {
    res.set("Access-Control-Allow-Headers", it->value());
  }
  return res;
}

namespace {

// Counts a request in mysfits_http_requests_total{service,route,status} and
// mysfits_http_request_duration_seconds{service,route}. The series are looked up in the registry
// once per thread and label set (its lookup locks and renders label strings); the registry is
// process-wide and never drops a series, so the cached references stay valid.
void count_request(std::string_view service, const std::string& route, unsigned status,
                   double secs) {
  struct series {
    metrics::histogram* latency = nullptr;
    std::vector<std::pair<unsigned, metrics::counter*>> by_status;
  };
  thread_local std::map<std::string, std::map<std::string, series, std::less<>>, std::less<>> cache;
  auto& reg = metrics::default_registry();
  auto sit = cache.find(service);
  if (sit == cache.end()) sit = cache.emplace(std::string(service), decltype(sit->second){}).first;
  auto rit = sit->second.find(route);
  if (rit == sit->second.end()) {
    rit = sit->second.emplace(route, series{}).first;
    rit->second.latency =
        &reg.get_histogram("mysfits_http_request_duration_seconds", "HTTP request latency",
                           {{"service", std::string(service)}, {"route", route}});
  }
  metrics::counter* requests = nullptr;
  for (const auto& [st, c] : rit->second.by_status)
    if (st == status) requests = c;
  if (!requests) {
    requests = &reg.get_counter(
        "mysfits_http_requests_total", "HTTP requests by service, route and status",
        {{"service", std::string(service)}, {"route", route}, {"status", std::to_string(status)}});
    rit->second.by_status.emplace_back(status, requests);
  }
  requests->inc();
  rit->second.latency->observe(secs);
}

}  // namespace

void instrument(std::string_view service, http::request& req, const route_fn& route,
                answer_fn answer) {
  auto started = std::chrono::steady_clock::now();
  auto trace = trace_of(req);
  // Called once, now or from the thread that has the answer; `req` is valid until then. Made a
  // std::function once: the route keeps a copy only when it answers later.
  answer_route_fn finish = [service, &req, started, trace, answer = std::move(answer)](routed r) {
    r.res.set("Access-Control-Allow-Origin", "*");
    r.res.set(trace.trace_header, trace.trace_value);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    unsigned status = r.res.result_int();
    count_request(service, r.route, status, secs);
    spdlog::info("{} {} {} route={} {:.2f}ms {}={}", req.method_string(), req.target(), status,
                 r.route, secs * 1000, trace.trace_header, trace.trace_value);
    answer(std::move(r.res));
  };
  std::optional<routed> now;
  try {
    now = route(req, trace, finish);
  } catch (const std::exception& ex) {
    spdlog::error("{} {}: unhandled: {}", req.method_string(), req.target(), ex.what());
    now = routed{"error", error_response(500, "internal error", req.version())};
  }
  if (now) finish(std::move(*now));
}

http::response answer_now(const std::function<void(http::request&, answer_fn)>& handler,
                          http::request& req) {
  std::promise<http::response> answered;
  auto res = answered.get_future();
  handler(req, [&answered](http::response r) { answered.set_value(std::move(r)); });
  return res.get();
}

}  // namespace mysfits::app::detail
