// Process plumbing shared by the two service executables.
#include "service_runner.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "mysfits/common/process_metrics.h"
#include "service_kit.h"

namespace mysfits::app::detail {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

std::chrono::milliseconds deadline_tolerance_from_env() {
  const std::string text = env_or("MYSFITS_DEADLINE_TOLERANCE_MS", "");
  int ms = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || ms < 0 || ms > 60000) {
    if (!text.empty()) {
      spdlog::warn("MYSFITS_DEADLINE_TOLERANCE_MS must be 0..60000, got '{}': using 50", text);
    }
    return std::chrono::milliseconds(50);
  }
  return std::chrono::milliseconds(ms);
}

ddbclient::client_options client_options_from_env() {
  ddbclient::client_options o;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.request_timeout = std::chrono::milliseconds(3000);
  return o;
}

int serve(const std::string& name, const service_handler& handler) {
  http::server_options so;
  so.address = env_or("BIND_ADDRESS", "0.0.0.0");
  std::string port_text = env_or("PORT", "8080");
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535) {
    spdlog::error("PORT must be a number from 0 to 65535, got '{}'", port_text);
    return 2;
  }
  so.port = static_cast<std::uint16_t>(port);
  so.threads =
      static_cast<std::size_t>(std::max(1, std::atoi(env_or("MYSFITS_THREADS", "8").c_str())));
  so.body_limit = 64 * 1024;
  so.server_name = name;
  metrics::register_process_metrics();
  // Every answer names the region that served it, so a client behind the accelerator (the
  // drill, issue 7) can count where its requests went. Empty when AWS_REGION is not set.
  const std::string region = env_or("AWS_REGION", "");
  auto with_region = [&handler, region](http::request& req, http::responder respond) {
    handler(req, [region, respond = std::move(respond)](http::response res) {
      if (!region.empty()) res.set("X-Mysfits-Region", region);
      respond(std::move(res));
    });
  };
  http::server server(so, http::async_handler(with_region),
                      [region](unsigned status, std::string_view message) {
                        auto res = error_response(status, message, 11);
                        res.set("Access-Control-Allow-Origin", "*");
                        if (!region.empty()) res.set("X-Mysfits-Region", region);
                        return res;
                      });
  if (auto started = server.start(); !started) {
    spdlog::error("{}: cannot listen on {}:{}: {}", name, so.address, so.port,
                  started.error().message);
    return 1;
  }
  std::printf("%s listening on http://%s:%u\n", name.c_str(), so.address.c_str(),
              static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  http::wait_for_termination_signal();
  spdlog::info("{}: stopping, finishing in-flight requests", name);
  server.stop();
  return 0;
}

}  // namespace mysfits::app::detail
