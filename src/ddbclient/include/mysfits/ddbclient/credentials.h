// Where the DynamoDB client gets its AWS credentials, in the SDKs' default order: environment
// variables, the shared credentials file, then ECS container credentials (refreshed before they
// expire). https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mysfits/common/result.h"

namespace mysfits::ddbclient {

struct credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  // When temporary credentials stop working; empty for long-term keys.
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Looks up an environment variable; returns empty when unset. Injectable for tests.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
// The process environment.
[[nodiscard]] env_lookup process_env();

class credentials_provider {
 public:
  virtual ~credentials_provider() = default;
  // Current credentials; may block briefly (container endpoint). Thread-safe.
  [[nodiscard]] virtual result<credentials> get() = 0;
};

struct credentials_options {
  // Environment to read (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_CONTAINER_* …). Default: process.
  env_lookup env = process_env();
  // Host[:port] behind AWS_CONTAINER_CREDENTIALS_RELATIVE_URI. Tests point it at a local server.
  // Default: 169.254.170.2 (ECS's task metadata address).
  std::string container_host = "169.254.170.2";
  // Container credentials are fetched again this long before they expire. Default: 5 min.
  std::chrono::seconds refresh_before{300};
  // Timeout for one container-endpoint request. Default: 2 s.
  std::chrono::milliseconds container_timeout{2000};
  // Clock, injectable for expiry tests. Default: system clock.
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
};

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
[[nodiscard]] std::shared_ptr<credentials_provider> env_credentials(credentials_options o = {});
// ~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE), section AWS_PROFILE (default "default").
[[nodiscard]] std::shared_ptr<credentials_provider> profile_credentials(credentials_options o = {});
// ECS: GET http://<container_host><AWS_CONTAINER_CREDENTIALS_RELATIVE_URI>, or
// AWS_CONTAINER_CREDENTIALS_FULL_URI (http only) with AWS_CONTAINER_AUTHORIZATION_TOKEN as the
// Authorization header. Cached until `refresh_before` ahead of Expiration.
[[nodiscard]] std::shared_ptr<credentials_provider> container_credentials(
    credentials_options o = {});
// Fixed credentials (tests, local engines).
[[nodiscard]] std::shared_ptr<credentials_provider> static_credentials(credentials c);
// The SDK chain: env, then profile file, then container; the first that has credentials wins.
[[nodiscard]] std::shared_ptr<credentials_provider> default_credentials_chain(
    credentials_options o = {});

// Parses the INI text of a shared credentials file and returns `profile`'s keys.
[[nodiscard]] result<credentials> parse_credentials_file(std::string_view text,
                                                         std::string_view profile);
// Parses an ISO 8601 UTC timestamp like "2026-11-28T13:00:00Z".
[[nodiscard]] result<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s);

}  // namespace mysfits::ddbclient
