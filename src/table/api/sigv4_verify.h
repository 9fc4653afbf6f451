// Verification of AWS Signature Version 4 (AWS4-HMAC-SHA256 in the Authorization header), as
// DynamoDB does it: canonical request → string to sign → derived key → signature.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// Used by the router when the server is given credentials; throws api_error on failure.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mysfits::table::api {

struct sigv4_request {
  std::string method;  // "POST"
  std::string path;    // "/" (not yet URI-encoded)
  std::string query;   // raw query string without '?', may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string_view body;
};

struct sigv4_credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

// Throws MissingAuthenticationTokenException (no Authorization header), UnrecognizedClient
// (unknown access key id), InvalidSignatureException (malformed header, wrong signature, or an
// X-Amz-Date more than 5 minutes away from `now`, as DynamoDB).
void verify_sigv4(const sigv4_request& req, const sigv4_credentials& creds,
                  std::chrono::system_clock::time_point now);

// The pieces, exposed for tests against AWS's published examples.
std::string sigv4_canonical_request(const sigv4_request& req,
                                    const std::vector<std::string>& signed_headers);
std::string sigv4_string_to_sign(std::string_view amz_date, std::string_view scope,
                                 std::string_view canonical_request);
// Hex signature of `string_to_sign` for (secret, date "YYYYMMDD", region, service).
std::string sigv4_signature(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service, std::string_view string_to_sign);

}  // namespace mysfits::table::api
