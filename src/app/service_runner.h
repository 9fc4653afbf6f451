// The shared main() of mysfits-core and mysfits-like: environment, the DynamoDB client, the
// HTTP server on PORT, the "listening on" line, and a clean stop on SIGINT/SIGTERM.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "mysfits/common/http_server.h"
#include "mysfits/ddbclient/client.h"

namespace mysfits::app::detail {

// A value from the environment, or `fallback`.
[[nodiscard]] std::string env_or(const char* name, std::string fallback);

// Client options from the environment (region, endpoint and credentials the SDK way) with
// timeouts bounded so that a request never hangs on an unreachable table.
[[nodiscard]] ddbclient::client_options client_options_from_env();

// MYSFITS_DEADLINE_TOLERANCE_MS (milliseconds, 0..60000), else the default of 50 ms.
[[nodiscard]] std::chrono::milliseconds deadline_tolerance_from_env();

// A service's handler: answers each request through the function it is given, now or later
// from another thread (core_service::handle_async).
using service_handler =
    std::function<void(http::request&, std::function<void(http::response)> answer)>;

// Serves `handler` on BIND_ADDRESS (default 0.0.0.0) : PORT (default 8080; 0 picks a free
// port) with MYSFITS_THREADS request threads (default 8), prints "<name> listening on
// http://ADDR:PORT" and blocks until SIGINT/SIGTERM, then finishes in-flight requests. Returns
// the process exit code.
int serve(const std::string& name, const service_handler& handler);

}  // namespace mysfits::app::detail
