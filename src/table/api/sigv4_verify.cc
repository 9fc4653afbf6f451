// SigV4 verification (sigv4_verify.h) on the signer's own canonicalisation, hashing and key
// derivation (ddbclient::sigv4): our client and server share one implementation of the rules.
#include "api/sigv4_verify.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "api/api_error.h"
#include "mysfits/ddbclient/sigv4.h"

namespace mysfits::table::api {

namespace sigv4 = ddbclient::sigv4;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
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

// The signer's canonical request (ddbclient::sigv4, the same rules) over the headers the
// request says it signed; one it names but lacks counts with an empty value.
std::string sigv4_canonical_request(const sigv4_request& req,
                                    const std::vector<std::string>& signed_headers) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& name : signed_headers) {
    bool present = false;
    for (const auto& [k, v] : req.headers) {
      if (lower(k) != name) continue;
      headers.emplace_back(name, v);
      present = true;
    }
    if (!present) headers.emplace_back(name, "");
  }
  return sigv4::canonical_request(req.method, req.path, req.query, headers,
                                  sigv4::sha256_hex(req.body))
      .request;
}

std::string sigv4_string_to_sign(std::string_view amz_date, std::string_view scope,
                                 std::string_view canonical_request) {
  return sigv4::string_to_sign(amz_date, scope, canonical_request);
}

std::string sigv4_signature(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service, std::string_view string_to_sign) {
  return sigv4::hex(
      sigv4::hmac_sha256(sigv4::signing_key(secret, date, region, service), string_to_sign));
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
