// SigV4 against AWS's published test-suite values (credentials AKIDEXAMPLE /
// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830T123600Z, us-east-1, service "service").
#include "mysfits/ddbclient/sigv4.h"

#include <gtest/gtest.h>

using namespace mysfits::ddbclient;

namespace {

const credentials example_creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "",
                                std::nullopt};

std::chrono::system_clock::time_point example_time() {
  return std::chrono::system_clock::from_time_t(1440938160);  // 2015-08-30T12:36:00Z
}

std::string sign_suite(sigv4::signable_request req) {
  req.headers.emplace_back("Host", "example.amazonaws.com");
  return sigv4::sign(req, example_creds, "us-east-1", "service", example_time());
}

const std::string scope =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

}  // namespace

// The suite's get-vanilla case: canonical request, string to sign and signature all match.
TEST(Sigv4, GetVanillaMatchesSuite) {
  sigv4::signable_request req{
      "GET", "/", "", {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, ""};
  auto c = sigv4::canonical_request(req);
  EXPECT_EQ(c.request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto sts = sigv4::string_to_sign(
      "20150830T123600Z", sigv4::credential_scope("20150830", "us-east-1", "service"), c.request);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(sign_suite({"GET", "/", "", {}, ""}),
            scope +
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// post-vanilla: the method is part of the signature.
TEST(Sigv4, PostVanillaMatchesSuite) {
  EXPECT_EQ(sign_suite({"POST", "/", "", {}, ""}),
            scope +
                "SignedHeaders=host;x-amz-date, "
                "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

// get-vanilla-query-order-key-case: query parameters are sorted by name.
TEST(Sigv4, SortsQueryParameters) {
  EXPECT_EQ(sign_suite({"GET", "/", "Param2=value2&Param1=value1", {}, ""}),
            scope +
                "SignedHeaders=host;x-amz-date, "
                "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

// post-x-www-form-urlencoded: a body and a content type are covered by the signature.
TEST(Sigv4, SignsBodyAndContentType) {
  EXPECT_EQ(sign_suite({"POST",
                        "/",
                        "",
                        {{"Content-Type", "application/x-www-form-urlencoded"}},
                        "Param1=value1"}),
            scope +
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

// The signing key of AWS's documented example (IAM, 20150830, us-east-1).
TEST(Sigv4, DerivesDocumentedSigningKey) {
  EXPECT_EQ(sigv4::hex(sigv4::signing_key(example_creds.secret_access_key, "20150830", "us-east-1",
                                          "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

// get-header-value-trim: inner runs of spaces collapse and values are trimmed.
TEST(Sigv4, CanonicalisesHeaderValues) {
  sigv4::signable_request req{
      "GET", "/", "", {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}, ""};
  auto c = sigv4::canonical_request(req);
  EXPECT_NE(c.request.find("my-header1:value1\nmy-header2:\"a b c\"\n"), std::string::npos)
      << c.request;
  EXPECT_EQ(c.signed_headers, "my-header1;my-header2");
}

// A session token is sent and signed as X-Amz-Security-Token.
TEST(Sigv4, SignsSessionToken) {
  credentials c = example_creds;
  c.session_token = "TOKEN";
  sigv4::signable_request req{"POST", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
  auto auth = sigv4::sign(req, c, "us-east-1", "service", example_time());
  EXPECT_NE(auth.find("SignedHeaders=host;x-amz-date;x-amz-security-token,"), std::string::npos);
  EXPECT_EQ(req.headers.back().first, "X-Amz-Security-Token");
  EXPECT_EQ(req.headers.back().second, "TOKEN");
}

// The DynamoDB client's direct signing of a JSON POST gives exactly what sign() gives for the
// same request, with and without a session token, and another signature for another body.
TEST(Sigv4, JsonPostSignatureEqualsGeneralSigning) {
  for (std::string token : {"", "FwoGZXIvYXdzEXAMPLE//token+/="}) {
    credentials c = example_creds;
    c.session_token = token;
    const std::string body = R"({"TableName":"MysfitsTable","Key":{"MysfitId":{"S":"a \"b\""}}})";
    sigv4::signable_request req{"POST",
                                "/",
                                "",
                                {{"Content-Type", "application/x-amz-json-1.0"},
                                 {"Host", "127.0.0.1:8000"},
                                 {"X-Amz-Target", "DynamoDB_20120810.GetItem"}},
                                body};
    std::string expected = sigv4::sign(req, c, "us-west-2", "dynamodb", example_time());
    auto fast = sigv4::sign_json_post("127.0.0.1:8000", "DynamoDB_20120810.GetItem",
                                      "application/x-amz-json-1.0", body, c, "us-west-2",
                                      "dynamodb", example_time());
    EXPECT_EQ(fast.authorization, expected) << "token: " << token;
    EXPECT_EQ(fast.amz_date, "20150830T123600Z");
    auto other = sigv4::sign_json_post("127.0.0.1:8000", "DynamoDB_20120810.GetItem",
                                       "application/x-amz-json-1.0", body + " ", c, "us-west-2",
                                       "dynamodb", example_time());
    EXPECT_NE(other.authorization, expected);
  }
}

// HMACs under alternating keys (the cached HMAC context is re-keyed only when the key changes)
// keep matching the documented signing key.
TEST(Sigv4, HmacWithAlternatingKeys) {
  std::string a1 = sigv4::hex(sigv4::hmac_sha256("key-a", "data"));
  std::string b1 = sigv4::hex(sigv4::hmac_sha256("key-b", "data"));
  std::string a2 = sigv4::hex(sigv4::hmac_sha256("key-a", "data"));
  std::string a3 = sigv4::hex(sigv4::hmac_sha256("key-a", "data"));
  EXPECT_NE(a1, b1);
  EXPECT_EQ(a1, a2);
  EXPECT_EQ(a1, a3);
  // RFC 4231 test case 2.
  EXPECT_EQ(sigv4::hex(sigv4::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(sigv4::hex(sigv4::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
