// Credential sources: environment, shared file, and ECS container endpoint with refresh.
#include "mysfits/ddbclient/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "mysfits/common/http_server.h"

using namespace mysfits;
using namespace mysfits::ddbclient;

namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

// Environment keys win and carry the session token.
TEST(Credentials, ReadsEnvironment) {
  credentials_options o;
  o.env = fake_env(
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "TK"}});
  auto c = default_credentials_chain(o)->get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AK");
  EXPECT_EQ(c->secret_access_key, "SK");
  EXPECT_EQ(c->session_token, "TK");
}

// The shared credentials file is read per profile.
TEST(Credentials, ParsesProfilesFromFile) {
  std::string text =
      "[default]\naws_access_key_id = D1\naws_secret_access_key = D2\n\n"
      "# comment\n[prod]\naws_access_key_id=P1\naws_secret_access_key=P2\naws_session_token=P3\n";
  auto d = parse_credentials_file(text, "default");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->access_key_id, "D1");
  auto p = parse_credentials_file(text, "prod");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->secret_access_key, "P2");
  EXPECT_EQ(p->session_token, "P3");
  EXPECT_FALSE(parse_credentials_file(text, "missing"));
}

// With nothing configured the chain reports not_found (so local engines can go unsigned).
TEST(Credentials, ChainReportsNotFoundWhenNothingIsConfigured) {
  credentials_options o;
  o.env = fake_env({{"HOME", "/nonexistent-home"}});
  auto c = default_credentials_chain(o)->get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, errc::not_found);
}

// Container credentials come from the relative URI on the configured host, are cached, and are
// fetched again once they come within `refresh_before` of expiring.
TEST(Credentials, FetchesAndRefreshesContainerCredentials) {
  std::atomic<int> fetches{0};
  http::server srv({}, [&](http::request& req) {
    http::response res{http::bhttp::status::ok, req.version()};
    if (req.target() != "/v2/credentials/abc") {
      res.result(http::bhttp::status::not_found);
      return res;
    }
    int n = ++fetches;
    res.body() = R"({"AccessKeyId":"AK)" + std::to_string(n) +
                 R"(","SecretAccessKey":"SK","Token":"TK","Expiration":"2030-01-01T01:00:00Z"})";
    return res;
  });
  ASSERT_TRUE(srv.start());
  auto now = std::chrono::system_clock::from_time_t(1893456000);  // 2030-01-01T00:00:00Z
  credentials_options o;
  o.env = fake_env({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}});
  o.container_host = "127.0.0.1:" + std::to_string(srv.port());
  o.clock = [&] { return now; };
  auto p = container_credentials(o);
  auto c1 = p->get();
  ASSERT_TRUE(c1) << c1.error().message;
  EXPECT_EQ(c1->access_key_id, "AK1");
  EXPECT_EQ(c1->session_token, "TK");
  ASSERT_TRUE(p->get());
  EXPECT_EQ(fetches.load(), 1);     // cached
  now += std::chrono::minutes(56);  // within 5 minutes of expiry
  auto c2 = p->get();
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->access_key_id, "AK2");
}

// FULL_URI sends AWS_CONTAINER_AUTHORIZATION_TOKEN as the Authorization header.
TEST(Credentials, FullUriSendsAuthorizationToken) {
  http::server srv({}, [&](http::request& req) {
    http::response res{http::bhttp::status::ok, req.version()};
    if (req[http::bhttp::field::authorization] != "secret-token") {
      res.result(http::bhttp::status::forbidden);
      return res;
    }
    res.body() = R"({"AccessKeyId":"AK","SecretAccessKey":"SK"})";
    return res;
  });
  ASSERT_TRUE(srv.start());
  credentials_options o;
  o.env = fake_env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     "http://127.0.0.1:" + std::to_string(srv.port()) + "/creds"},
                    {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token"}});
  auto c = container_credentials(o)->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AK");
  o.env = fake_env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     "http://127.0.0.1:" + std::to_string(srv.port()) + "/creds"}});
  EXPECT_FALSE(container_credentials(o)->get());
}
