// AWS::DynamoDB::Table: the template's properties become DynamoDB calls (CreateTable with keys,
// indexes, billing, stream and tags; UpdateTable / TagResource for differences; DeleteTable),
// against a fake table that keeps what it was told.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>

#include "mysfits/cloud/local_cloud.h"
#include "mysfits/ddbclient/client.h"

using namespace mysfits;
using namespace mysfits::cloud;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// One region's tables, as DynamoDB would describe them.
struct fake_tables : ddbclient::table_api {
  std::map<std::string, json::object> tables;
  std::map<std::string, std::map<std::string, std::string>> tags;  // arn → tags
  std::vector<std::pair<std::string, json::object>> calls;

  static ddbclient::api_error err(std::string type, std::string msg) {
    return {std::move(type), std::move(msg), 400};
  }
  ddbclient::call_result<json::object> call(std::string_view op, const json::object& body,
                                            const ddbclient::call_context&) override {
    calls.emplace_back(std::string(op), body);
    auto name = body.contains("TableName") ? std::string(body.at("TableName").as_string()) : "";
    if (op == "CreateTable") {
      if (tables.contains(name)) return err("ResourceInUseException", "Table already exists");
      json::object t = body;
      t["TableStatus"] = "ACTIVE";
      t["TableArn"] = "arn:aws:dynamodb:us-west-2:123456789012:table/" + name;
      if (body.contains("BillingMode"))
        t["BillingModeSummary"] = json::object{{"BillingMode", body.at("BillingMode")}};
      if (body.contains("StreamSpecification"))
        t["LatestStreamArn"] =
            "arn:aws:dynamodb:us-west-2:123456789012:table/" + name + "/stream/1";
      t.erase("Tags");
      if (auto* tg = body.if_contains("Tags")) {
        for (const auto& kv : tg->as_array())
          tags[std::string(t["TableArn"].as_string())][std::string(kv.at("Key").as_string())] =
              kv.at("Value").as_string();
      }
      tables[name] = t;
      return json::object{{"TableDescription", t}};
    }
    if (!name.empty() && !tables.contains(name))
      return err("ResourceNotFoundException", "Requested resource not found");
    if (op == "DescribeTable") return json::object{{"Table", tables[name]}};
    if (op == "DeleteTable") {
      tables.erase(name);
      return json::object{};
    }
    if (op == "UpdateTable") {
      auto& t = tables[name];
      if (auto* b = body.if_contains("BillingMode"))
        t["BillingModeSummary"] = json::object{{"BillingMode", *b}};
      if (auto* s = body.if_contains("StreamSpecification")) t["StreamSpecification"] = *s;
      if (auto* g = body.if_contains("GlobalSecondaryIndexUpdates")) {
        auto& gsis = t["GlobalSecondaryIndexes"];
        if (!gsis.is_array()) gsis = json::array{};
        for (const auto& u : g->as_array()) {
          if (auto* c = u.as_object().if_contains("Create")) gsis.as_array().push_back(*c);
          if (auto* d = u.as_object().if_contains("Delete")) {
            auto& a = gsis.as_array();
            for (auto it = a.begin(); it != a.end(); ++it) {
              if (it->at("IndexName") == d->at("IndexName")) {
                a.erase(it);
                break;
              }
            }
          }
        }
      }
      return json::object{{"TableDescription", t}};
    }
    auto arn = body.contains("ResourceArn") ? std::string(body.at("ResourceArn").as_string()) : "";
    if (op == "ListTagsOfResource") {
      json::array out;
      for (const auto& [k, v] : tags[arn]) out.push_back(json::object{{"Key", k}, {"Value", v}});
      return json::object{{"Tags", out}};
    }
    if (op == "TagResource") {
      for (const auto& kv : body.at("Tags").as_array())
        tags[arn][std::string(kv.at("Key").as_string())] = kv.at("Value").as_string();
      return json::object{};
    }
    if (op == "UntagResource") {
      for (const auto& k : body.at("TagKeys").as_array())
        tags[arn].erase(std::string(k.as_string()));
      return json::object{};
    }
    return err("UnknownOperationException", std::string(op));
  }
  int count(std::string_view op) const {
    int n = 0;
    for (const auto& c : calls) n += c.first == op;
    return n;
  }
};

// `text` with its first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

const char* kTemplate = R"(
Parameters:
  Rcu: {Type: Number, Default: 5}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: MysfitsTable
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: MysfitId, AttributeType: S}
        - {AttributeName: GoodEvil, AttributeType: S}
        - {AttributeName: LawChaos, AttributeType: S}
      KeySchema: [{AttributeName: MysfitId, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: GoodEvilIndex
          KeySchema: [{AttributeName: GoodEvil, KeyType: HASH}, {AttributeName: MysfitId, KeyType: RANGE}]
          Projection: {ProjectionType: ALL}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      Tags: [{Key: app, Value: mysfits}]
Outputs:
  Arn: {Value: !GetAtt Table.Arn}
  Stream: {Value: !GetAtt Table.StreamArn}
)";

struct DynamoDbProvider : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("mysfits-ddb-provider-test-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::shared_ptr<fake_tables> fake = std::make_shared<fake_tables>();
  std::unique_ptr<stack_engine> engine;
  void SetUp() override {
    fs::remove_all(dir);
    auto f = fake;
    engine = std::make_unique<stack_engine>(
        dir,
        make_local_providers(
            dir, [f](const std::string& region) -> result<std::shared_ptr<ddbclient::table_api>> {
              if (region != "us-west-2") return error::unavailable("no table engine in " + region);
              return std::shared_ptr<ddbclient::table_api>(f);
            }));
  }
  void TearDown() override { fs::remove_all(dir); }
};

}  // namespace

TEST_F(DynamoDbProvider, CreatesTheTableWithItsIndexesStreamAndTags) {
  auto d = engine->deploy({"us-west-2", "mm", kTemplate, {}, {}});
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(fake->count("CreateTable"), 1);
  const auto& create = fake->calls.front().second;
  EXPECT_EQ(create.at("TableName"), "MysfitsTable");
  EXPECT_EQ(create.at("BillingMode"), "PAY_PER_REQUEST");
  EXPECT_EQ(create.at("KeySchema").at(0).at("AttributeName"), "MysfitId");
  EXPECT_EQ(create.at("GlobalSecondaryIndexes").at(0).at("IndexName"), "GoodEvilIndex");
  EXPECT_EQ(create.at("StreamSpecification").at("StreamEnabled"), true);
  EXPECT_EQ(create.at("StreamSpecification").at("StreamViewType"), "NEW_AND_OLD_IMAGES");
  EXPECT_EQ(create.at("Tags").at(0).at("Key"), "app");
  EXPECT_EQ(d->outputs.at("Arn").at("Value"),
            "arn:aws:dynamodb:us-west-2:123456789012:table/MysfitsTable");
  EXPECT_NE(std::string(d->outputs.at("Stream").at("Value").as_string()).find("/stream/"),
            std::string::npos);
}

TEST_F(DynamoDbProvider, ProvisionedThroughputFromParametersIsNumeric) {
  std::string t = kTemplate;
  t = replaced(t, "BillingMode: PAY_PER_REQUEST",
               "ProvisionedThroughput: {ReadCapacityUnits: !Ref Rcu, WriteCapacityUnits: 5}");
  t = replaced(
      t, "          Projection: {ProjectionType: ALL}",
      "          Projection: {ProjectionType: ALL}\n"
      "          ProvisionedThroughput: {ReadCapacityUnits: !Ref Rcu, WriteCapacityUnits: 1}");
  auto d = engine->deploy({"us-west-2", "mm", t, {{"Rcu", "7"}}, {}});
  ASSERT_TRUE(d) << d.error().message;
  const auto& create = fake->calls.front().second;
  EXPECT_EQ(create.at("ProvisionedThroughput").at("ReadCapacityUnits"), 7);
  EXPECT_EQ(
      create.at("GlobalSecondaryIndexes").at(0).at("ProvisionedThroughput").at("ReadCapacityUnits"),
      7);
}

TEST_F(DynamoDbProvider, UpdatesApplyOnlyTheDifferences) {
  ASSERT_TRUE(engine->deploy({"us-west-2", "mm", kTemplate, {}, {}}));
  std::string t = kTemplate;
  // A second index, no stream, other tags.
  t = replaced(t, "      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}\n",
               "        - IndexName: LawChaosIndex\n"
               "          KeySchema: [{AttributeName: LawChaos, KeyType: HASH}]\n"
               "          Projection: {ProjectionType: ALL}\n");
  t = replaced(t, "Tags: [{Key: app, Value: mysfits}]", "Tags: [{Key: team, Value: lab3}]");
  t = replaced(t, "  Stream: {Value: !GetAtt Table.StreamArn}\n", "");
  fake->calls.clear();
  auto d = engine->deploy({"us-west-2", "mm", t, {}, {}});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(fake->count("CreateTable"), 0);
  const auto& table = fake->tables.at("MysfitsTable");
  ASSERT_EQ(table.at("GlobalSecondaryIndexes").as_array().size(), 2u);
  EXPECT_EQ(table.at("GlobalSecondaryIndexes").at(1).at("IndexName"), "LawChaosIndex");
  EXPECT_EQ(table.at("StreamSpecification").at("StreamEnabled"), false);
  auto& tags = fake->tags.at(std::string(table.at("TableArn").as_string()));
  EXPECT_FALSE(tags.contains("app"));
  EXPECT_EQ(tags.at("team"), "lab3");
}

TEST_F(DynamoDbProvider, ErrorsNameTheTable) {
  // A key schema change would replace a named table: refused, as CloudFormation does.
  ASSERT_TRUE(engine->deploy({"us-west-2", "mm", kTemplate, {}, {}}));
  std::string t = kTemplate;
  t = replaced(t, "KeySchema: [{AttributeName: MysfitId, KeyType: HASH}]",
               "KeySchema: [{AttributeName: GoodEvil, KeyType: HASH}]");
  auto d = engine->deploy({"us-west-2", "mm", t, {}, {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("Rename MysfitsTable"), std::string::npos) << d.error().message;
  EXPECT_NE(d.error().message.find("Table"), std::string::npos);

  // A second stack creating the same table.
  d = engine->deploy({"us-west-2", "other", kTemplate, {}, {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("Table MysfitsTable already exists"), std::string::npos)
      << d.error().message;

  // A region without a table engine.
  d = engine->deploy({"eu-west-1", "mm", kTemplate, {}, {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("no table engine in eu-west-1"), std::string::npos)
      << d.error().message;
}

TEST_F(DynamoDbProvider, DeleteStackDeletesTheTable) {
  ASSERT_TRUE(engine->deploy({"us-west-2", "mm", kTemplate, {}, {}}));
  ASSERT_TRUE(engine->remove("us-west-2", "mm"));
  EXPECT_FALSE(fake->tables.contains("MysfitsTable"));
  // Already gone is fine.
  EXPECT_TRUE(engine->deploy({"us-west-2", "mm", kTemplate, {}, {}}));
  fake->tables.clear();
  EXPECT_TRUE(engine->remove("us-west-2", "mm"));
}
