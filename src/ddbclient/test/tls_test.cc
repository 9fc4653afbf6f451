// The https path against a local TLS server with a throw-away self-signed certificate: the
// handshake, SNI and host-name verification work, and an untrusted certificate is refused.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "mysfits/ddbclient/client.h"

using namespace mysfits::ddbclient;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Writes a self-signed EC certificate for "localhost" and its key; returns {cert, key} paths.
std::pair<std::string, std::string> make_localhost_cert(const std::filesystem::path& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_EXTENSION* bc =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(cert, bc, -1);
  X509_EXTENSION_free(bc);
  X509_sign(cert, key, EVP_sha256());
  std::string cert_path = (dir / "cert.pem").string(), key_path = (dir / "key.pem").string();
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return {cert_path, key_path};
}

// Serves TLS connections on 127.0.0.1 until stopped, answering every request with {"ok":1}.
struct tls_server {
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;

  tls_server(const std::string& cert, const std::string& key) {
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, ssl::context::pem);
    accept();
    thread = std::thread([this] { io.run(); });
  }
  ~tls_server() {
    io.stop();
    thread.join();
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket sock) {
      if (ec) return;
      auto s = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(sock), ctx);
      s->async_handshake(ssl::stream_base::server, [s](beast::error_code hec) {
        if (hec) return;
        auto buf = std::make_shared<beast::flat_buffer>();
        auto req = std::make_shared<bhttp::request<bhttp::string_body>>();
        bhttp::async_read(*s, *buf, *req, [s, buf, req](beast::error_code rec, std::size_t) {
          if (rec) return;
          auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::ok, 11);
          res->body() = R"({"ok":1})";
          res->keep_alive(false);
          res->prepare_payload();
          bhttp::async_write(*s, *res, [s, res](beast::error_code, std::size_t) {});
        });
      });
      accept();
    });
  }
};

client_options tls_options(std::uint16_t port) {
  client_options o;
  o.region = "us-east-1";
  o.endpoint_override = parse_endpoint("https://localhost:" + std::to_string(port)).value();
  o.credentials = static_credentials({"AK", "SK", "", std::nullopt});
  o.sleep = [](std::chrono::milliseconds) {};
  return o;
}

}  // namespace

// With the server's CA trusted, a call over https completes.
TEST(ClientTls, CallsHttpsEndpointWithTrustedCertificate) {
  auto dir = std::filesystem::temp_directory_path() / ("mysfits-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto [cert, key] = make_localhost_cert(dir);
  tls_server srv(cert, key);
  auto o = tls_options(srv.port());
  o.ca_file = cert;
  client c(o);
  auto r = c.call("ListTables", {});
  ASSERT_TRUE(r) << r.error().type << ": " << r.error().message;
  EXPECT_EQ(r->at("ok").as_int64(), 1);
  std::filesystem::remove_all(dir);
}

// An untrusted certificate fails the handshake: no request is sent in the clear.
TEST(ClientTls, RefusesUntrustedCertificate) {
  auto dir =
      std::filesystem::temp_directory_path() / ("mysfits-tls2-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto [cert, key] = make_localhost_cert(dir);
  tls_server srv(cert, key);
  client c(tls_options(srv.port()));  // system store only
  auto r = c.call("ListTables", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "ConnectionError");
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
  std::filesystem::remove_all(dir);
}
