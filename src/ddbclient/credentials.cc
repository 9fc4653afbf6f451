// Credential sources: environment, shared credentials file, ECS container endpoint, and the
// default chain over them. Container credentials are cached and fetched again shortly before
// they expire; a failed refresh keeps serving the old ones while they are still valid.
#include "mysfits/ddbclient/credentials.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "simple_http.h"

namespace mysfits::ddbclient {

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

result<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &mon, &day, &hour, &min, &sec) !=
      6) {
    return error::invalid_argument("not an ISO 8601 time: " + str);
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

class env_provider final : public credentials_provider {
 public:
  explicit env_provider(credentials_options o) : o_(std::move(o)) {}
  result<credentials> get() override {
    auto id = o_.env("AWS_ACCESS_KEY_ID");
    auto secret = o_.env("AWS_SECRET_ACCESS_KEY");
    if (!id || !secret) return error::not_found("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset");
    return credentials{*id, *secret, o_.env("AWS_SESSION_TOKEN").value_or(""), std::nullopt};
  }

 private:
  credentials_options o_;
};

class profile_provider final : public credentials_provider {
 public:
  explicit profile_provider(credentials_options o) : o_(std::move(o)) {}
  result<credentials> get() override {
    std::string path;
    if (auto f = o_.env("AWS_SHARED_CREDENTIALS_FILE")) {
      path = *f;
    } else if (auto home = o_.env("HOME")) {
      path = *home + "/.aws/credentials";
    } else {
      return error::not_found("no HOME for ~/.aws/credentials");
    }
    std::ifstream in(path);
    if (!in) return error::not_found("no credentials file " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_credentials_file(ss.str(), o_.env("AWS_PROFILE").value_or("default"));
  }

 private:
  credentials_options o_;
};

class container_provider final : public credentials_provider {
 public:
  explicit container_provider(credentials_options o) : o_(std::move(o)) {}

  result<credentials> get() override {
    std::lock_guard lock(mu_);
    auto now = o_.clock();
    if (cached_ && (!cached_->expiration || now + o_.refresh_before < *cached_->expiration)) {
      return *cached_;
    }
    auto fresh = fetch();
    if (fresh) {
      cached_ = *fresh;
      return *fresh;
    }
    // Keep serving credentials that still work when a refresh fails.
    if (cached_ && cached_->expiration && now < *cached_->expiration) return *cached_;
    return fresh.error();
  }

 private:
  result<credentials> fetch() {
    std::string host;
    std::uint16_t port = 80;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    if (auto rel = o_.env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      host = o_.container_host;
      if (auto colon = host.rfind(':'); colon != std::string::npos) {
        port = static_cast<std::uint16_t>(std::stoi(host.substr(colon + 1)));
        host = host.substr(0, colon);
      }
      target = *rel;
    } else if (auto full = o_.env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      auto u = boost::urls::parse_uri(*full);
      if (!u || u->scheme() != "http") {
        return error::invalid_argument("AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http URL");
      }
      host = u->host();
      if (u->has_port()) port = u->port_number();
      target = u->encoded_target().empty() ? "/" : std::string(u->encoded_target());
      if (auto token = o_.env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
        headers.emplace_back("Authorization", *token);
      }
    } else {
      return error::not_found("no container credentials endpoint configured");
    }
    auto res = detail::http_get(host, port, target, headers, o_.container_timeout);
    if (!res) return res.error();
    if (res->status != 200) {
      return error::unavailable("container credentials endpoint answered " +
                                std::to_string(res->status));
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(res->body, ec);
    if (ec || !v.is_object()) return error::corruption("container credentials are not JSON");
    const auto& o = v.as_object();
    auto str = [&](std::string_view k) -> std::string {
      auto* p = o.if_contains(k);
      return p && p->is_string() ? std::string(p->as_string()) : std::string();
    };
    credentials c{str("AccessKeyId"), str("SecretAccessKey"), str("Token"), std::nullopt};
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return error::corruption("container credentials lack AccessKeyId/SecretAccessKey");
    }
    if (auto exp = str("Expiration"); !exp.empty()) {
      auto t = parse_iso8601(exp);
      if (!t) return t.error();
      c.expiration = *t;
    }
    return c;
  }

  credentials_options o_;
  std::mutex mu_;
  std::optional<credentials> cached_;
};

class static_provider final : public credentials_provider {
 public:
  explicit static_provider(credentials c) : c_(std::move(c)) {}
  result<credentials> get() override { return c_; }

 private:
  credentials c_;
};

class chain_provider final : public credentials_provider {
 public:
  explicit chain_provider(std::vector<std::shared_ptr<credentials_provider>> p)
      : providers_(std::move(p)) {}
  result<credentials> get() override {
    std::string why;
    for (auto& p : providers_) {
      auto c = p->get();
      if (c) return c;
      // A configured source that fails is an error; an unconfigured one passes to the next.
      if (c.error().code != errc::not_found) return c;
      why += (why.empty() ? "" : "; ") + c.error().message;
    }
    return error::not_found("no AWS credentials found (" + why + ")");
  }

 private:
  std::vector<std::shared_ptr<credentials_provider>> providers_;
};

}  // namespace

result<credentials> parse_credentials_file(std::string_view text, std::string_view profile) {
  std::istringstream in{std::string(text)};
  std::string line;
  bool in_profile = false;
  credentials c;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      in_profile = trim(std::string_view(t).substr(1, t.size() - 2)) == profile;
      continue;
    }
    if (!in_profile) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(std::string_view(t).substr(0, eq));
    std::string value = trim(std::string_view(t).substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return error::not_found("profile " + std::string(profile) + " has no keys");
  }
  return c;
}

std::shared_ptr<credentials_provider> env_credentials(credentials_options o) {
  return std::make_shared<env_provider>(std::move(o));
}
std::shared_ptr<credentials_provider> profile_credentials(credentials_options o) {
  return std::make_shared<profile_provider>(std::move(o));
}
std::shared_ptr<credentials_provider> container_credentials(credentials_options o) {
  return std::make_shared<container_provider>(std::move(o));
}
std::shared_ptr<credentials_provider> static_credentials(credentials c) {
  return std::make_shared<static_provider>(std::move(c));
}
std::shared_ptr<credentials_provider> default_credentials_chain(credentials_options o) {
  return std::make_shared<chain_provider>(std::vector<std::shared_ptr<credentials_provider>>{
      env_credentials(o), profile_credentials(o), container_credentials(o)});
}

}  // namespace mysfits::ddbclient
