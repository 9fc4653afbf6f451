// AWS Signature Version 4 for requests the DynamoDB client sends: canonical request, string to
// sign, signing key (HMAC-SHA256 chain) and the Authorization header. Pure functions, tested
// against AWS's published SigV4 test-suite values (test/sigv4_test.cc).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mysfits/ddbclient/credentials.h"

namespace mysfits::ddbclient::sigv4 {

// The parts of an HTTP request that SigV4 covers. `path` is the request path as sent
// ("/" for DynamoDB); `query` is the raw query string without '?'.
struct signable_request {
  std::string method;
  std::string path = "/";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // every header here is signed
  std::string body;
};

// Lower-case hex SHA-256 of `data`.
[[nodiscard]] std::string sha256_hex(std::string_view data);
// Raw HMAC-SHA256 of `data` under `key`.
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);
// Lower-case hex of raw bytes.
[[nodiscard]] std::string hex(std::string_view bytes);
// "YYYYMMDDTHHMMSSZ" in UTC.
[[nodiscard]] std::string amz_date(std::chrono::system_clock::time_point t);
// RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper case).
// With `keep_slash`, '/' stays as is (paths).
[[nodiscard]] std::string uri_encode(std::string_view s, bool keep_slash);

// The canonical request and its semicolon-separated signed header list.
struct canonical {
  std::string request;
  std::string signed_headers;
};
[[nodiscard]] canonical canonical_request(const signable_request& req);
// The same from parts, with the payload's hex SHA-256 given (a verifier hashes the body it
// received without copying it into a signable_request).
[[nodiscard]] canonical canonical_request(
    std::string_view method, std::string_view path, std::string_view query,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view payload_hash);

// "<date>/<region>/<service>/aws4_request"
[[nodiscard]] std::string credential_scope(std::string_view date8, std::string_view region,
                                           std::string_view service);
[[nodiscard]] std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                                         std::string_view canonical_request);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"), raw.
[[nodiscard]] std::string signing_key(std::string_view secret, std::string_view date8,
                                      std::string_view region, std::string_view service);

// Adds X-Amz-Date (and X-Amz-Security-Token when the credentials have a session token) to
// `req.headers`, then returns the Authorization header value for it.
[[nodiscard]] std::string sign(signable_request& req, const credentials& creds,
                               std::string_view region, std::string_view service,
                               std::chrono::system_clock::time_point now);

// What a DynamoDB JSON request needs signed: a POST to "/" with no query and exactly the headers
// Content-Type (`content_type`), Host, X-Amz-Date, X-Amz-Target (and X-Amz-Security-Token when
// the credentials carry one). Same result as sign() on that request, without building a header
// list, a map of canonical headers and the intermediate strings: the DynamoDB client signs every
// request it sends this way. Values must not need canonicalising (no leading, trailing or
// repeated spaces), which holds for the host, target, content type and AWS tokens.
struct json_post_signature {
  std::string amz_date;       // X-Amz-Date to send
  std::string authorization;  // Authorization to send
};
[[nodiscard]] json_post_signature sign_json_post(std::string_view host, std::string_view target,
                                                 std::string_view content_type,
                                                 std::string_view body, const credentials& creds,
                                                 std::string_view region, std::string_view service,
                                                 std::chrono::system_clock::time_point now);

}  // namespace mysfits::ddbclient::sigv4
