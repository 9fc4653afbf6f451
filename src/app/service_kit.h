// What both app services share around their routes: trace ids (X-Amzn-Trace-Id / traceparent,
// propagated to the table), JSON and error responses, CORS as Flask-CORS sends it, the mapping
// of table errors to HTTP, and per-request metrics and log lines.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coalescer.h"
#include "mysfits/common/http_server.h"
#include "mysfits/common/metrics.h"
#include "mysfits/ddbclient/client.h"
#include "table_ops.h"

namespace mysfits::app::detail {

// The table calls a service shares between concurrent requests (coalescer.h), and the threads
// that make them: the list routes' bodies, and likes (one `ADD Likes :n` per batch and mysfit).
// Destroying it waits for the calls in flight.
class shared_calls {
 public:
  // `threads`: calls in flight at once (for different keys: a mysfit's likes, a filter, …).
  // `like_calls_per_key`: batches of one mysfit's likes in flight at once (coalescer.h).
  explicit shared_calls(std::size_t threads = 8, std::size_t like_calls_per_key = 4);
  ~shared_calls();
  shared_calls(const shared_calls&) = delete;
  shared_calls& operator=(const shared_calls&) = delete;

  // Runs `work` (a table call of its own, e.g. GET /mysfits/{id}) on the same threads.
  void run(std::function<void()> work);
  coalescer<ddbclient::call_result<std::string>>& lists() { return lists_; }
  coalescer<ddbclient::call_result<like_result>>& likes() { return likes_; }

 private:
  boost::asio::thread_pool pool_;
  coalescer<ddbclient::call_result<std::string>> lists_;
  // Several batches of one mysfit's likes in flight (4 by default): a durable write mostly
  // waits for its fsync, and the table's group commit covers concurrent batches with one.
  coalescer<ddbclient::call_result<like_result>> likes_;
};

// A route's answer, given now or later and from any thread.
using answer_fn = std::function<void(http::response)>;

// GET /mysfits, all or `filter`ed (GoodEvil / LawChaos, empty for all) to `value`: answers
// 200 with the route's body, or the table's failure. One Scan or Query answers every such
// request that arrived before it started.
void list_async(shared_calls& shared, ddbclient::table_api& table, const std::string& table_name,
                const std::string& filter, const std::string& value,
                const ddbclient::call_context& ctx, unsigned version, answer_fn answer);
// POST /mysfits/{id}/like, as both services answer it: increments Likes, 404 for an unknown id.
// Concurrent likes of one mysfit are added by one `ADD Likes :n` (shared.likes()); each answer
// carries the count its own like made, as if the likes had been applied one by one. Likes with
// a deadline batch only with likes that have one too (the batch's deadline is the earliest),
// so a like without one is never refused for another's.
void like_async(shared_calls& shared, ddbclient::table_api& table, const std::string& table_name,
                const std::string& id, const ddbclient::call_context& ctx, unsigned version,
                answer_fn answer);

// The request's trace header, or a new X-Amzn-Trace-Id root when it has none.
[[nodiscard]] ddbclient::call_context trace_of(const http::request& req);

// The request target split into decoded path segments and query parameters.
struct parsed_target {
  bool ok = false;
  std::vector<std::string> segments;  // "/mysfits/x/like" -> {"mysfits","x","like"}
  std::map<std::string, std::string> params;
};
[[nodiscard]] parsed_target parse_target(std::string_view target);

[[nodiscard]] http::response json_response(unsigned status, const boost::json::value& body,
                                           unsigned version);
// {"message": …}
[[nodiscard]] http::response error_response(unsigned status, std::string_view message,
                                            unsigned version);
// 405 with an Allow header.
[[nodiscard]] http::response method_not_allowed(std::string_view allow, unsigned version);
// A failed table call: 503 when the table is unreachable, overloaded or missing; 504 marked
// `X-Edge-Error: deadline-expired` when the table refused the write for its passed deadline
// (DeadlineExceededException: not applied); else 500.
[[nodiscard]] http::response table_error_response(const ddbclient::api_error& e, unsigned version);
// Request deadlines (X-Edge-Deadline, Unix epoch ms, set by the accelerator on a request it
// may resend to another region; mysfits/common/request_deadline.h): called before a route
// writes to the table. nullopt: go ahead (no deadline, or not passed by more than `tolerance`).
// Else the answer instead of the write: 400 for a malformed value; once passed, 504
// {"message": …} with `X-Edge-Error: deadline-expired` (nothing applied, so the edge may send
// it elsewhere), counted in mysfits_deadline_expired_total{service,route}.
[[nodiscard]] std::optional<http::response> refuse_after_deadline(
    const http::request& req, std::string_view service, const std::string& route,
    std::chrono::milliseconds tolerance);
// `ctx` for the table write of a request that passed refuse_after_deadline(): with its deadline,
// which the table (the local engine) checks again just before it applies the write.
[[nodiscard]] ddbclient::call_context with_deadline(const http::request& req,
                                                    const ddbclient::call_context& ctx);
// The answer to a CORS preflight (OPTIONS).
[[nodiscard]] http::response cors_preflight(const http::request& req);

// A route's answer and the route label it is counted under ("/mysfits/{id}").
struct routed {
  std::string route;
  http::response res;
};
using answer_route_fn = std::function<void(routed)>;
// A router: returns the answer, or nullopt when it will give it later through `later`.
using route_fn = std::function<std::optional<routed>(http::request&, const ddbclient::call_context&,
                                                     const answer_route_fn& later)>;

// Runs a router with CORS, the trace header, metrics
// (mysfits_http_requests_total{service,route,status},
// mysfits_http_request_duration_seconds{service,route}) and one log line per request, and gives
// its answer to `answer` (now, or later from another thread). `req` must stay valid until then.
void instrument(std::string_view service, http::request& req, const route_fn& route,
                answer_fn answer);

// Runs an asynchronous handler and waits for its answer (tests and tools).
[[nodiscard]] http::response answer_now(
    const std::function<void(http::request&, answer_fn)>& handler, http::request& req);
// A service's handle_async(req, answer), waited for: its handle().
template <class Service>
[[nodiscard]] http::response answer_now(Service& service, http::request& req) {
  return answer_now([&service](http::request& r,
                               answer_fn answer) { service.handle_async(r, std::move(answer)); },
                    req);
}

}  // namespace mysfits::app::detail
