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

// One digest context per thread, reinitialised per hash: EVP_Digest allocates and frees a
// context on every call.
EVP_MD_CTX* sha256_ctx() {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free};
  return ctx.get();
}

constexpr char hex_digits[] = "0123456789abcdef";

// Appends the lower-case hex SHA-256 of `data` to `out`.
void append_sha256_hex(std::string& out, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = sha256_ctx();
  const EVP_MD* alg = sha256_md();
  if (!(ctx && alg && EVP_DigestInit_ex2(ctx, alg, nullptr) &&
        EVP_DigestUpdate(ctx, data.data(), data.size()) && EVP_DigestFinal_ex(ctx, md, &len))) {
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
    len = SHA256_DIGEST_LENGTH;
  }
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex_digits[md[i] >> 4]);
    out.push_back(hex_digits[md[i] & 0xf]);
  }
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::string out;
  out.reserve(64);
  append_sha256_hex(out, data);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  if (EVP_MAC_CTX* ctx = hmac_sha256_ctx()) {
    std::size_t len = 0;
    // Keying hashes the key's inner and outer pads; with the key the context already holds
    // (the day's signing key, request after request), OpenSSL restarts from the stored pads.
    thread_local std::string keyed_with;
    thread_local bool keyed = false;
    bool same_key = keyed && keyed_with == key;
    if (!same_key) keyed = false;
    if (EVP_MAC_init(ctx, same_key ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                     same_key ? 0 : key.size(), nullptr) &&
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) &&
        EVP_MAC_final(ctx, md, &len, sizeof md)) {
      if (!same_key) {
        keyed_with.assign(key);
        keyed = true;
      }
      return std::string(reinterpret_cast<const char*>(md), len);
    }
    keyed = false;
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
  return canonical_request(req.method, req.path, req.query, req.headers, sha256_hex(req.body));
}

canonical canonical_request(std::string_view method, std::string_view path, std::string_view query,
                            const std::vector<std::pair<std::string, std::string>>& req_headers,
                            std::string_view payload_hash) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : req_headers) {
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
  out.request = std::string(method) + "\n" + (path.empty() ? "/" : uri_encode(path, true)) + "\n" +
                canonical_query(query) + "\n" + header_block + "\n" + out.signed_headers + "\n" +
                std::string(payload_hash);
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

namespace {

// The signing key changes once a day per secret, region and service: derive it (four HMACs)
// only then, not for every request. One small cache per thread, so no lock.
const std::string& cached_signing_key(const credentials& creds, std::string_view date8,
                                      std::string_view region, std::string_view service) {
  struct cached_key {
    std::string secret, date8, region, service, key;
  };
  thread_local cached_key cache;
  if (cache.key.empty() || cache.secret != creds.secret_access_key || cache.date8 != date8 ||
      cache.region != region || cache.service != service) {
    cache = {creds.secret_access_key, std::string(date8), std::string(region), std::string(service),
             signing_key(creds.secret_access_key, date8, region, service)};
  }
  return cache.key;
}

}  // namespace

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
  std::string signature = hex(hmac_sha256(cached_signing_key(creds, date8, region, service), sts));
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
         ", SignedHeaders=" + c.signed_headers + ", Signature=" + signature;
}

json_post_signature sign_json_post(std::string_view host, std::string_view target,
                                   std::string_view content_type, std::string_view body,
                                   const credentials& creds, std::string_view region,
                                   std::string_view service,
                                   std::chrono::system_clock::time_point now) {
  json_post_signature out;
  out.amz_date = amz_date(now);
  std::string_view date = out.amz_date;
  std::string_view date8 = date.substr(0, 8);
  bool token = !creds.session_token.empty();
  std::string_view signed_headers = token ? "content-type;host;x-amz-date;x-amz-security-token;"
                                            "x-amz-target"
                                          : "content-type;host;x-amz-date;x-amz-target";
  // The canonical request, written in one buffer (names already lower case and sorted).
  thread_local std::string canonical;
  canonical.clear();
  canonical += "POST\n/\n\ncontent-type:";
  canonical += content_type;
  canonical += "\nhost:";
  canonical += host;
  canonical += "\nx-amz-date:";
  canonical += date;
  if (token) {
    canonical += "\nx-amz-security-token:";
    canonical += creds.session_token;
  }
  canonical += "\nx-amz-target:";
  canonical += target;
  canonical += "\n\n";
  canonical += signed_headers;
  canonical += '\n';
  append_sha256_hex(canonical, body);

  std::string scope;
  scope.reserve(date8.size() + region.size() + service.size() + 16);
  scope += date8;
  scope += '/';
  scope += region;
  scope += '/';
  scope += service;
  scope += "/aws4_request";
  thread_local std::string sts;
  sts.clear();
  sts += "AWS4-HMAC-SHA256\n";
  sts += date;
  sts += '\n';
  sts += scope;
  sts += '\n';
  append_sha256_hex(sts, canonical);
  std::string mac = hmac_sha256(cached_signing_key(creds, date8, region, service), sts);

  out.authorization.reserve(160 + creds.access_key_id.size() + scope.size());
  out.authorization += "AWS4-HMAC-SHA256 Credential=";
  out.authorization += creds.access_key_id;
  out.authorization += '/';
  out.authorization += scope;
  out.authorization += ", SignedHeaders=";
  out.authorization += signed_headers;
  out.authorization += ", Signature=";
  for (unsigned char c : mac) {
    out.authorization.push_back(hex_digits[c >> 4]);
    out.authorization.push_back(hex_digits[c & 0xf]);
  }
  return out;
}

}  // namespace mysfits::ddbclient::sigv4
