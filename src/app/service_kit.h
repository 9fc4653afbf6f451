// What both app services share around their routes: trace ids (X-Amzn-Trace-Id / traceparent,
// propagated to the table), JSON and error responses, CORS as Flask-CORS sends it, the mapping
// of table errors to HTTP, and per-request metrics and log lines.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mysfits/common/http_server.h"
#include "mysfits/common/metrics.h"
#include "mysfits/ddbclient/client.h"

namespace mysfits::app::detail {

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
// POST /mysfits/{id}/like, as both services answer it: increments Likes, 404 for an unknown id.
[[nodiscard]] http::response like_response(ddbclient::table_api& table,
                                           const std::string& table_name, const std::string& id,
                                           const ddbclient::call_context& ctx, unsigned version);
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
using route_fn = std::function<routed(http::request&, const ddbclient::call_context&)>;

// Runs a router with CORS, the trace header, metrics
// (mysfits_http_requests_total{service,route,status},
// mysfits_http_request_duration_seconds{service,route}) and one log line per request.
[[nodiscard]] http::response instrument(std::string_view service, http::request& req,
                                        const route_fn& route);

}  // namespace mysfits::app::detail
