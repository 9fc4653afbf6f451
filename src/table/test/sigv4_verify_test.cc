// SigV4 verification against AWS's published signing test suite (get-vanilla and
// get-vanilla-query-order-key-case: AKIDEXAMPLE, 20150830T123600Z, us-east-1, service "service").
#include "api/sigv4_verify.h"

#include <gtest/gtest.h>

#include "api/api_error.h"

namespace mysfits::table::api {
namespace {

const sigv4_credentials example_credentials{"AKIDEXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};

sigv4_request vanilla(std::string signature, std::string query = "") {
  sigv4_request r;
  r.method = "GET";
  r.path = "/";
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"},
               {"X-Amz-Date", "20150830T123600Z"},
               {"Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=" +
                    signature}};
  return r;
}

// The published example's own time, so its signature is current.
const auto example_time = std::chrono::system_clock::from_time_t(1440938160);  // 20150830T123600Z

std::string error_type_of(const sigv4_request& r, const sigv4_credentials& c,
                          std::chrono::system_clock::time_point now = example_time) {
  try {
    verify_sigv4(r, c, now);
  } catch (const api_error& e) {
    return e.type();
  }
  return "accepted";
}

// The canonical request and string to sign match the published intermediate values.
TEST(SigV4Verify, CanonicalFormsMatchPublishedVanilla) {
  auto r = vanilla("x");
  std::string cr = sigv4_canonical_request(r, {"host", "x-amz-date"});
  EXPECT_EQ(cr,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string sts =
      sigv4_string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", cr);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(sigv4_signature(example_credentials.secret_access_key, "20150830", "us-east-1",
                            "service", sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// A correctly signed request passes; the published query-order vector too (sorted params).
TEST(SigV4Verify, AcceptsPublishedSignatures) {
  EXPECT_EQ(
      error_type_of(vanilla("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
                    example_credentials),
      "accepted");
  EXPECT_EQ(
      error_type_of(vanilla("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
                            "Param2=value2&Param1=value1"),
                    example_credentials),
      "accepted");
}

// A changed signature, secret or body is rejected with DynamoDB's InvalidSignatureException.
TEST(SigV4Verify, RejectsWrongSignatureSecretOrBody) {
  const std::string good = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
  EXPECT_EQ(error_type_of(vanilla(std::string(64, '0')), example_credentials),
            "InvalidSignatureException");
  EXPECT_EQ(error_type_of(vanilla(good), {"AKIDEXAMPLE", "another-secret"}),
            "InvalidSignatureException");
  auto tampered = vanilla(good);
  tampered.body = "{}";
  EXPECT_EQ(error_type_of(tampered, example_credentials), "InvalidSignatureException");
}

// An unknown key id and a missing header get DynamoDB's own exception names.
TEST(SigV4Verify, UnknownKeyAndMissingHeaderHaveTheirOwnErrors) {
  const std::string good = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
  EXPECT_EQ(error_type_of(vanilla(good), {"OTHERKEY", example_credentials.secret_access_key}),
            "UnrecognizedClientException");
  auto unsigned_request = vanilla(good);
  unsigned_request.headers.pop_back();
  EXPECT_EQ(error_type_of(unsigned_request, example_credentials),
            "MissingAuthenticationTokenException");
}

// A correct signature older (or newer) than 5 minutes is refused, as DynamoDB does.
TEST(SigV4Verify, RejectsSignaturesOutsideFiveMinutes) {
  auto r = vanilla("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(error_type_of(r, example_credentials, example_time + std::chrono::minutes(4)),
            "accepted");
  EXPECT_EQ(error_type_of(r, example_credentials, example_time + std::chrono::minutes(6)),
            "InvalidSignatureException");
  EXPECT_EQ(error_type_of(r, example_credentials, example_time - std::chrono::minutes(6)),
            "InvalidSignatureException");
}

}  // namespace
}  // namespace mysfits::table::api
