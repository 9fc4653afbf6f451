// Unit tests of replication::parse_regions: the regions file of global tables (issue 3).
#include "replication/regions.h"

#include <gtest/gtest.h>

namespace mysfits::table::replication {
namespace {

// The documented shape parses into region → URL.
TEST(Regions, ParsesRegionToEndpoint) {
  auto r = parse_regions(
      R"({"us-west-2":"http://127.0.0.1:8000","us-east-1":"https://127.0.0.2:8443/"})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r->at("us-west-2"), "http://127.0.0.1:8000");
  EXPECT_EQ(r->at("us-east-1"), "https://127.0.0.2:8443/");
}

// Each kind of mistake gets an error that says what is wrong.
TEST(Regions, RejectsMalformedFilesWithClearErrors) {
  auto not_json = parse_regions("{\"us-west-2\": ");
  ASSERT_FALSE(not_json);
  EXPECT_NE(not_json.error().message.find("not valid JSON"), std::string::npos);
  auto not_object = parse_regions("[\"us-west-2\"]");
  ASSERT_FALSE(not_object);
  EXPECT_NE(not_object.error().message.find("JSON object"), std::string::npos);
  auto empty = parse_regions("{}");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("no region"), std::string::npos);
  auto bad_name = parse_regions(R"({"US West":"http://127.0.0.1:1"})");
  ASSERT_FALSE(bad_name);
  EXPECT_NE(bad_name.error().message.find("invalid region name 'US West'"), std::string::npos);
  auto not_string = parse_regions(R"({"us-west-2":8000})");
  ASSERT_FALSE(not_string);
  EXPECT_NE(not_string.error().message.find("must be a URL string"), std::string::npos);
  auto bad_url = parse_regions(R"({"us-west-2":"ftp://127.0.0.1:21"})");
  ASSERT_FALSE(bad_url);
  EXPECT_NE(bad_url.error().message.find("invalid URL"), std::string::npos);
}

// A missing file names the file.
TEST(Regions, MissingFileNamesIt) {
  auto r = load_regions_file("/nonexistent/mysfits-regions.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/mysfits-regions.json"), std::string::npos);
}

}  // namespace
}  // namespace mysfits::table::replication
