// Tests for stack deploys: create, no-op re-deploy, differences only, rollback on failure,
// delete, unknown types and capabilities — what `mysfits cloudformation` promises.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>

#include "mysfits/cloud/stack.h"

using namespace mysfits;
using namespace mysfits::cloud;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Keeps "live" resources in a map, like a real provider would keep processes or files.
struct fake_provider : resource_provider {
  std::map<std::string, json::value> live;  // physical id → properties
  std::string fail_on;                      // logical id whose create/update fails
  int creates = 0, updates = 0, removes = 0;
  int next_id = 0;

  result<created_resource> create(const resource_request& req) override {
    if (req.logical_id == fail_on) return error::invalid_argument("boom");
    ++creates;
    auto id = req.logical_id + "-" + std::to_string(next_id++);
    live[id] = req.properties;
    return created_resource{id, {{"Arn", "arn:" + id}}};
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    if (req.logical_id == fail_on) return error::invalid_argument("boom");
    ++updates;
    live[cur.physical_id] = req.properties;
    return cur;
  }
  result<void> remove(const resource_request&, const created_resource& cur) override {
    ++removes;
    live.erase(cur.physical_id);
    return ok();
  }
};

struct StackEngineTest : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("mysfits-stack-test-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::shared_ptr<fake_provider> fake = std::make_shared<fake_provider>();
  std::shared_ptr<provider_registry> registry;
  std::unique_ptr<stack_engine> engine;

  void SetUp() override {
    fs::remove_all(dir);
    registry = std::make_shared<provider_registry>(provider_registry::with_recorded_types());
    registry->add("Local::Thing", fake);
    engine = std::make_unique<stack_engine>(dir, registry);
  }
  void TearDown() override { fs::remove_all(dir); }

  result<stack_description> deploy(const std::string& body,
                                   std::map<std::string, std::string> params = {}) {
    return engine->deploy({"us-west-2", "mm", body, std::move(params), {"CAPABILITY_NAMED_IAM"}});
  }
};

const char* kTwo = R"(
Parameters:
  Size: {Type: Number, Default: 1}
Resources:
  A: {Type: Local::Thing, Properties: {Size: !Ref Size}}
  B: {Type: Local::Thing, Properties: {Peer: !GetAtt A.Arn}}
  Role: {Type: AWS::IAM::Role, Properties: {RoleName: mysfits-role}}
Outputs:
  BArn: {Value: !GetAtt B.Arn, Export: {Name: !Sub '${AWS::StackName}-b'}}
)";

}  // namespace

// A first deploy creates every resource in order and records outputs.
TEST_F(StackEngineTest, CreatesResourcesAndOutputs) {
  auto d = deploy(kTwo);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->status, "CREATE_COMPLETE");
  EXPECT_EQ(fake->creates, 2);
  EXPECT_EQ(d->outputs.at("BArn").at("Value").as_string(), "arn:B-1");
  EXPECT_EQ(d->outputs.at("BArn").at("ExportName").as_string(), "mm-b");
  EXPECT_EQ(fake->live.at("B-1").at("Peer").as_string(), "arn:A-0");
  auto again = engine->describe("us-west-2", "mm");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->resources.size(), 3u);
  EXPECT_EQ(again->resources[2].physical_id.empty(), false);
}

// Deploying the same template twice changes nothing.
TEST_F(StackEngineTest, RedeployWithoutChangesIsNoOp) {
  ASSERT_TRUE(deploy(kTwo));
  auto d = deploy(kTwo);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->changed);
  EXPECT_EQ(fake->creates, 2);
  EXPECT_EQ(fake->updates, 0);
}

// A changed parameter updates only the resource that uses it; others are untouched.
TEST_F(StackEngineTest, AppliesOnlyDifferences) {
  ASSERT_TRUE(deploy(kTwo));
  auto d = deploy(kTwo, {{"Size", "3"}});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->status, "UPDATE_COMPLETE");
  EXPECT_EQ(fake->updates, 1);
  EXPECT_EQ(fake->live.at("A-0").at("Size").as_string(), "3");
  // The parameter sticks on the next deploy without overrides.
  auto d2 = deploy(kTwo);
  ASSERT_TRUE(d2);
  EXPECT_FALSE(d2->changed);
}

// A resource removed from the template is deleted.
TEST_F(StackEngineTest, RemovesResourcesNoLongerInTemplate) {
  ASSERT_TRUE(deploy(kTwo));
  auto d = deploy("Resources:\n  A: {Type: Local::Thing, Properties: {Size: '1'}}\n");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(fake->live.size(), 1u);
  EXPECT_TRUE(fake->live.contains("A-0"));
}

// A failing create rolls back: nothing is left and no stack is recorded.
TEST_F(StackEngineTest, FailedCreateRollsBack) {
  fake->fail_on = "B";
  auto d = deploy(kTwo);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("boom"), std::string::npos);
  EXPECT_NE(d.error().message.find("ROLLBACK_COMPLETE"), std::string::npos);
  EXPECT_TRUE(fake->live.empty());
  EXPECT_FALSE(engine->describe("us-west-2", "mm"));
}

// A failing update restores the previous properties and keeps the previous record.
TEST_F(StackEngineTest, FailedUpdateRestoresPreviousState) {
  ASSERT_TRUE(deploy(kTwo));
  fake->fail_on = "C";
  std::string body = std::string(kTwo) + "";
  auto bigger = R"(
Parameters:
  Size: {Type: Number, Default: 1}
Resources:
  A: {Type: Local::Thing, Properties: {Size: !Ref Size}}
  B: {Type: Local::Thing, Properties: {Peer: !GetAtt A.Arn}}
  C: {Type: Local::Thing, DependsOn: A}
  Role: {Type: AWS::IAM::Role, Properties: {RoleName: mysfits-role}}
)";
  auto d = deploy(bigger, {{"Size", "5"}});
  ASSERT_FALSE(d);
  EXPECT_EQ(fake->live.at("A-0").at("Size").as_string(), "1");
  EXPECT_EQ(fake->live.size(), 2u);
  auto rec = engine->describe("us-west-2", "mm");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->parameters.at("Size"), "1");
}

// delete-stack removes everything and forgets the stack; a second delete is fine.
TEST_F(StackEngineTest, DeleteStackRemovesEverything) {
  ASSERT_TRUE(deploy(kTwo));
  ASSERT_TRUE(engine->remove("us-west-2", "mm"));
  EXPECT_TRUE(fake->live.empty());
  EXPECT_FALSE(engine->describe("us-west-2", "mm"));
  EXPECT_TRUE(engine->remove("us-west-2", "mm"));
}

// Unknown types are named before anything is created.
TEST_F(StackEngineTest, UnknownTypeIsNamed) {
  auto d = deploy("Resources:\n  A: {Type: Local::Thing}\n  X: {Type: AWS::Foo::Bar}\n");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message,
            "Template format error: Unrecognized resource types: [AWS::Foo::Bar]");
  EXPECT_EQ(fake->creates, 0);
}

// Named IAM resources need CAPABILITY_NAMED_IAM, as CloudFormation requires.
TEST_F(StackEngineTest, NamedIamNeedsCapability) {
  auto d = engine->deploy({"us-west-2", "mm", kTwo, {}, {}});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Requires capabilities : [CAPABILITY_NAMED_IAM]");
}

// Stacks in different regions are separate.
TEST_F(StackEngineTest, RegionsAreSeparate) {
  ASSERT_TRUE(deploy(kTwo));
  auto other = engine->deploy({"us-east-1", "mm", kTwo, {}, {"CAPABILITY_NAMED_IAM"}});
  ASSERT_TRUE(other);
  EXPECT_EQ(fake->creates, 4);
  auto list = engine->list("us-east-1");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
  EXPECT_NE(other->stack_id.find("us-east-1"), std::string::npos);
}
