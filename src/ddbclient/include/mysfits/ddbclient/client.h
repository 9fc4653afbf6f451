// The project's DynamoDB client: JSON 1.0 protocol over HTTP(S) with SigV4, a keep-alive
// connection pool, per-attempt timeouts and the AWS SDKs' "standard" retry mode (exponential
// backoff with full jitter, a retry quota). The app services, the CLI and tests use it.
// Requests and responses are Boost.JSON objects in DynamoDB's wire shape.
#pragma once

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mysfits/ddbclient/credentials.h"

namespace mysfits::ddbclient {

// A failed call, as DynamoDB reports it: `type` is the short exception name from `__type`
// ("ConditionalCheckFailedException"); transport failures have http_status 0 and the types
// "ConnectionError" or "RequestTimeout".
struct api_error {
  std::string type;
  std::string message;
  unsigned http_status = 0;

  // The table could not be reached or answered with a server error.
  [[nodiscard]] bool is_unavailable() const { return http_status == 0 || http_status >= 500; }
};

[[noreturn]] void throw_exception_from_error(const api_error& e, const boost::source_location&);

template <class T>
using call_result = boost::system::result<T, api_error>;

// Per-call extras.
struct call_context {
  // A trace header to propagate to the table ("X-Amzn-Trace-Id" or "traceparent"); empty: none.
  std::string trace_header;
  std::string trace_value;
  // The request's deadline (Unix epoch ms; 0: none), from the X-Edge-Deadline the service got:
  // sent on as X-Edge-Deadline (the local table refuses a write that arrives after it, AWS
  // ignores the header), and no retry attempt starts after it.
  std::int64_t deadline_ms = 0;
};

// The generic DynamoDB interface the services program against; tests substitute a fake table.
class table_api {
 public:
  virtual ~table_api() = default;
  // Calls operation `op` ("Scan", "PutItem", …) with `body`; returns the response object.
  [[nodiscard]] virtual call_result<boost::json::object> call(std::string_view op,
                                                              const boost::json::object& body,
                                                              const call_context& ctx = {}) = 0;
  // The same call, answering with the response's JSON text instead of a parsed object: for a
  // caller that reads the answer once with its own streaming parser (the app's list routes).
  // Default: call()'s object, serialized.
  [[nodiscard]] virtual call_result<std::string> call_text(std::string_view op,
                                                           const boost::json::object& body,
                                                           const call_context& ctx = {});
};

// Where requests go.
struct endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::uint16_t port = 0;
  [[nodiscard]] bool is_tls() const { return scheme == "https"; }
  [[nodiscard]] std::string host_header() const;  // host, plus ":port" when not the default
  [[nodiscard]] std::string url() const;
};

// Parses "http://host:port" / "https://host" (a trailing "/" is allowed).
[[nodiscard]] result<endpoint> parse_endpoint(std::string_view url);
// AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else https://dynamodb.<region>.amazonaws.com.
[[nodiscard]] result<endpoint> resolve_endpoint(std::string_view region, const env_lookup& env);
// AWS_REGION, else AWS_DEFAULT_REGION, else "us-east-1".
[[nodiscard]] std::string resolve_region(const env_lookup& env);

struct client_options {
  // Signing region. Default: resolve_region(process env).
  std::string region;
  // Target; Default: resolve_endpoint(region, process env).
  std::optional<endpoint> endpoint_override;
  // Default: default_credentials_chain(); with a non-AWS endpoint and no credentials found, the
  // client signs with placeholder keys (local engines do not check them).
  std::shared_ptr<credentials_provider> credentials;
  // TCP (and TLS) connect timeout per attempt. Default: 1 s.
  std::chrono::milliseconds connect_timeout{1000};
  // Time for one attempt's write + read. Default: 3 s.
  std::chrono::milliseconds request_timeout{3000};
  // Attempts per call, the first included (SDK standard mode). Default: 3.
  int max_attempts = 3;
  // Backoff before retry n (n = 1, 2, …) is random() * min(cap, base * 2^(n-1)).
  // Default: base 50 ms, cap 20 s.
  std::chrono::milliseconds backoff_base{50};
  std::chrono::milliseconds backoff_cap{20000};
  // Idle keep-alive connections kept for reuse, and how long one may idle. Default: 64, 20 s.
  std::size_t max_idle_connections = 64;
  std::chrono::milliseconds max_idle_time{20000};
  // Retry quota (SDK standard mode): retries spend 5 tokens (10 after a timeout), successes
  // refund. Default: 500.
  int retry_quota = 500;
  // Uniform random in [0, 1) for jitter. Default: a thread-local Mersenne Twister.
  std::function<double()> random;
  // Sleeps between attempts; injectable so tests do not wait. Default: this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // PEM file of certificate authorities to trust for https endpoints instead of the system
  // store (private CAs, tests). Default: empty (system store).
  std::string ca_file;
  // Clock for signing. Default: system clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  // X-Amz-Target prefix (the service and version before ".<Op>"); other JSON 1.0 protocols of
  // the same engine use their own (the table engine's internal replication protocol).
  // Default: DynamoDB_20120810.
  std::string target_prefix = "DynamoDB_20120810";
};

// Counters that show what the client did (also exported as Prometheus metrics).
struct client_stats {
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t attempts = 0;
  std::uint64_t retries = 0;
};

// Is this error worth another attempt under the standard retry mode? Throttling errors (any
// status), 5xx, timeouts and connection failures are; every other 4xx is not.
[[nodiscard]] bool is_retryable(const api_error& e);

class client : public table_api {
 public:
  explicit client(client_options options = {});
  ~client() override;
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  [[nodiscard]] call_result<boost::json::object> call(std::string_view op,
                                                      const boost::json::object& body,
                                                      const call_context& ctx = {}) override;
  // The answer's text as the table sent it (a 200's body; errors as call() reports them).
  [[nodiscard]] call_result<std::string> call_text(std::string_view op,
                                                   const boost::json::object& body,
                                                   const call_context& ctx = {}) override;

  [[nodiscard]] const endpoint& target() const;
  [[nodiscard]] client_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Small helpers over table_api.
// Scan (or Query) following LastEvaluatedKey until the end; returns every item.
[[nodiscard]] call_result<boost::json::array> paginate(table_api& t, std::string_view op,
                                                       boost::json::object request,
                                                       const call_context& ctx = {});

}  // namespace mysfits::ddbclient
