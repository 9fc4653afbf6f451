// SigV4 signing with OpenSSL's SHA-256 and HMAC. Header canonicalisation follows the AWS
// test suite: lower-case names, trimmed values with inner runs of spaces collapsed, duplicate
// names joined with ',', sorted by name.
#include "mysfits/ddbclient/sigv4.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <memory>

namespace mysfits::ddbclient::sigv4 {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

namespace {

// OpenSSL 3's one-shot SHA256() and HMAC() look their algorithm up by name on every call
// (locks, property queries: most of their cost for a short input). The digest is fetched once
// per process, and each thread keeps one HMAC context set to SHA-256, re-keyed per call.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // process lifetime
  return md;
}

EVP_MAC_CTX* hmac_sha256_ctx() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // process lifetime
  thread_local std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx{nullptr,
                                                                             &EVP_MAC_CTX_free};
  if (!ctx && mac) {
    ctx.reset(EVP_MAC_CTX_new(mac));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    if (ctx && !EVP_MAC_CTX_set_params(ctx.get(), params)) ctx.reset();
  }
  return ctx.get();
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (const EVP_MD* alg = sha256_md();
      alg && EVP_Digest(data.data(), data.size(), md, &len, alg, nullptr)) {
    return hex(std::string_view(reinterpret_cast<const char*>(md), len));
  }
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return hex(std::string_view(reinterpret_cast<const char*>(md), SHA256_DIGEST_LENGTH));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  if (EVP_MAC_CTX* ctx = hmac_sha256_ctx()) {
    std::size_t len = 0;
    if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     nullptr) &&
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) &&
        EVP_MAC_final(ctx, md, &len, sizeof md)) {
      return std::string(reinterpret_cast<const char*>(md), len);
    }
  }
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string k = percent_decode(part.substr(0, eq));
    std::string v = eq == std::string_view::npos ? "" : percent_decode(part.substr(eq + 1));
    params.emplace_back(uri_encode(k, false), uri_encode(v, false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string canonical_value(std::string_view v) {
  std::string out;
  bool in_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

}  // namespace

canonical canonical_request(const signable_request& req) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : req.headers) {
    std::string lname = name;
    std::transform(lname.begin(), lname.end(), lname.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto [it, inserted] = headers.emplace(lname, canonical_value(value));
    if (!inserted) it->second += "," + canonical_value(value);
  }
  canonical out;
  std::string header_block;
  for (const auto& [name, value] : headers) {
    header_block += name + ":" + value + "\n";
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += name;
  }
  // Non-S3 services encode each path segment of the (already encoded) path once more.
  std::string path = req.path.empty() ? "/" : uri_encode(req.path, true);
  out.request = req.method + "\n" + path + "\n" + canonical_query(req.query) + "\n" + header_block +
                "\n" + out.signed_headers + "\n" + sha256_hex(req.body);
  return out;
}

std::string credential_scope(std::string_view date8, std::string_view region,
                             std::string_view service) {
  return std::string(date8) + "/" + std::string(region) + "/" + std::string(service) +
         "/aws4_request";
}

std::string string_to_sign(std::string_view date, std::string_view scope,
                           std::string_view canonical_req) {
  return "AWS4-HMAC-SHA256\n" + std::string(date) + "\n" + std::string(scope) + "\n" +
         sha256_hex(canonical_req);
}

std::string signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                        std::string_view service) {
  std::string k = hmac_sha256("AWS4" + std::string(secret), date8);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  return hmac_sha256(k, "aws4_request");
}

std::string sign(signable_request& req, const credentials& creds, std::string_view region,
                 std::string_view service, std::chrono::system_clock::time_point now) {
  std::string date = amz_date(now);
  std::string date8 = date.substr(0, 8);
  req.headers.emplace_back("X-Amz-Date", date);
  if (!creds.session_token.empty()) {
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  canonical c = canonical_request(req);
  std::string scope = credential_scope(date8, region, service);
  std::string sts = string_to_sign(date, scope, c.request);
  // The signing key changes once a day per secret, region and service: derive it (four HMACs)
  // only then, not for every request. One small cache per thread, so no lock.
  struct cached_key {
    std::string secret, date8, region, service, key;
  };
  thread_local cached_key cache;
  if (cache.key.empty() || cache.secret != creds.secret_access_key || cache.date8 != date8 ||
      cache.region != region || cache.service != service) {
    cache = {creds.secret_access_key, date8, std::string(region), std::string(service),
             signing_key(creds.secret_access_key, date8, region, service)};
  }
  std::string signature = hex(hmac_sha256(cache.key, sts));
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
         ", SignedHeaders=" + c.signed_headers + ", Signature=" + signature;
}

}  // namespace mysfits::ddbclient::sigv4
