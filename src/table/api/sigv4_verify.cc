// SigV4 verification with OpenSSL's HMAC-SHA256 and SHA-256 (sigv4_verify.h).
#include "api/sigv4_verify.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>

#include "api/api_error.h"

namespace mysfits::table::api {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return hex(md, sizeof md);
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Trims and collapses runs of spaces, as the canonical headers require.
std::string trim_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
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

std::string canonical_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string k = percent_decode(part.substr(0, eq));
    std::string v = eq == std::string_view::npos ? "" : percent_decode(part.substr(eq + 1));
    params.emplace_back(uri_encode(k, false), uri_encode(v, false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

const std::string* find_header(const sigv4_request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers)
    if (lower(k) == name) return &v;
  return nullptr;
}

[[noreturn]] void bad_signature() {
  throw api_error::invalid_signature(
      "The request signature we calculated does not match the signature you provided. Check "
      "your AWS Secret Access Key and signing method. Consult the service documentation for "
      "details.");
}

}  // namespace

std::string sigv4_canonical_request(const sigv4_request& req,
                                    const std::vector<std::string>& signed_headers) {
  std::map<std::string, std::string> values;
  for (const auto& [k, v] : req.headers) {
    auto& slot = values[lower(k)];
    slot += (slot.empty() ? "" : ",") + trim_value(v);
  }
  std::string out = req.method + "\n" + uri_encode(req.path.empty() ? "/" : req.path, true) + "\n" +
                    canonical_query(req.query) + "\n";
  std::string names;
  for (const auto& h : signed_headers) {
    out += h + ":" + values[h] + "\n";
    names += (names.empty() ? "" : ";") + h;
  }
  out += "\n" + names + "\n" + sha256_hex(req.body);
  return out;
}

std::string sigv4_string_to_sign(std::string_view amz_date, std::string_view scope,
                                 std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         sha256_hex(canonical_request);
}

std::string sigv4_signature(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service, std::string_view string_to_sign) {
  std::string k = hmac("AWS4" + std::string(secret), date);
  k = hmac(k, region);
  k = hmac(k, service);
  k = hmac(k, "aws4_request");
  std::string sig = hmac(k, string_to_sign);
  return hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

namespace {
// "20150830T123600Z" ↔ time_t (UTC).
std::optional<std::time_t> parse_amz_date(std::string_view s) {
  std::tm tm{};
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::string copy(s);
  if (!strptime(copy.c_str(), "%Y%m%dT%H%M%SZ", &tm)) return std::nullopt;
  return timegm(&tm);
}
std::string format_amz_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}
}  // namespace

void verify_sigv4(const sigv4_request& req, const sigv4_credentials& creds,
                  std::chrono::system_clock::time_point now) {
  const std::string* auth = find_header(req, "authorization");
  if (!auth)
    throw api_error::missing_authentication_token("Request is missing Authentication Token");
  std::string_view a = *auth;
  constexpr std::string_view algo = "AWS4-HMAC-SHA256 ";
  if (a.substr(0, algo.size()) != algo)
    throw api_error::missing_authentication_token("Request is missing Authentication Token");
  a.remove_prefix(algo.size());
  std::string credential, signed_headers, signature;
  while (!a.empty()) {
    auto comma = a.find(',');
    std::string_view part = a.substr(0, comma);
    a = comma == std::string_view::npos ? std::string_view() : a.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = part.substr(0, eq);
    std::string value(part.substr(eq + 1));
    if (key == "Credential") credential = value;
    if (key == "SignedHeaders") signed_headers = value;
    if (key == "Signature") signature = value;
  }
  if (credential.empty() || signed_headers.empty() || signature.empty())
    throw api_error("IncompleteSignatureException",
                    "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                    "parameters.");
  // Credential = AKID/date/region/service/aws4_request
  std::vector<std::string> scope_parts;
  std::string_view c = credential;
  while (true) {
    auto slash = c.find('/');
    scope_parts.emplace_back(c.substr(0, slash));
    if (slash == std::string_view::npos) break;
    c.remove_prefix(slash + 1);
  }
  if (scope_parts.size() != 5 || scope_parts[4] != "aws4_request")
    throw api_error("IncompleteSignatureException", "Credential should be scoped correctly.");
  if (scope_parts[0] != creds.access_key_id)
    throw api_error::unrecognized_client("The security token included in the request is invalid.");
  const std::string* date = find_header(req, "x-amz-date");
  if (!date) bad_signature();
  std::vector<std::string> names;
  std::string_view sh = signed_headers;
  while (!sh.empty()) {
    auto semi = sh.find(';');
    names.emplace_back(sh.substr(0, semi));
    sh = semi == std::string_view::npos ? std::string_view() : sh.substr(semi + 1);
  }
  std::string scope =
      scope_parts[1] + "/" + scope_parts[2] + "/" + scope_parts[3] + "/aws4_request";
  std::string cr = sigv4_canonical_request(req, names);
  std::string sts = sigv4_string_to_sign(*date, scope, cr);
  std::string expected =
      sigv4_signature(creds.secret_access_key, scope_parts[1], scope_parts[2], scope_parts[3], sts);
  if (expected.size() != signature.size() ||
      CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0)
    bad_signature();
  // A valid signature is only good within 5 minutes of its date (replay protection).
  auto signed_at = parse_amz_date(*date);
  if (!signed_at) bad_signature();
  std::time_t t_now = std::chrono::system_clock::to_time_t(now);
  constexpr std::time_t skew = 5 * 60;
  if (*signed_at < t_now - skew)
    throw api_error::invalid_signature("Signature expired: " + *date + " is now earlier than " +
                                       format_amz_date(t_now - skew) + " (" +
                                       format_amz_date(t_now) + " - 5 min.)");
  if (*signed_at > t_now + skew)
    throw api_error::invalid_signature("Signature not yet current: " + *date +
                                       " is still later than " + format_amz_date(t_now + skew) +
                                       " (" + format_amz_date(t_now) + " + 5 min.)");
}

}  // namespace mysfits::table::api
