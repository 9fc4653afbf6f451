// Tests for the CloudFormation template engine: parsing, parameters, conditions, intrinsics,
// dependency order and outputs — what `mysfits cloudformation deploy` relies on.
#include "mysfits/cloud/template.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "test/fake_resolver.h"

using namespace mysfits;
using namespace mysfits::cloud;
namespace json = boost::json;

namespace {

using test::fake_resolver;

stack_template bind(std::string_view text, std::map<std::string, std::string> params = {},
                    std::string region = "us-west-2") {
  auto doc = parse_template(text);
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
  auto t = stack_template::bind(*doc, params, {.region = region, .stack_name = "mm"});
  if (!t) ADD_FAILURE() << t.error().message;
  return std::move(t.value());
}

std::string bind_error(std::string_view text, std::map<std::string, std::string> params = {}) {
  auto doc = parse_template(text);
  if (!doc) return doc.error().message;
  auto t = stack_template::bind(*doc, params, {.stack_name = "mm"});
  return t ? std::string("no error") : t.error().message;
}

const char* kCore = R"(
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  IsDrRegion:
    Type: String
    Default: 'false'
    AllowedValues: ['true', 'false']
  Port:
    Type: Number
    Default: 8080
Conditions:
  IsPrimary: !Equals [!Ref IsDrRegion, 'false']
  IsDr: !Not [!Condition IsPrimary]
Mappings:
  Sizes:
    us-west-2: {Count: 2}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Condition: IsPrimary
    Properties:
      TableName: MysfitsTable
  Repo:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub '${AWS::StackName}-core-${AWS::Region}'
  Service:
    Type: AWS::ECS::Service
    DependsOn: Listener
    Properties:
      Image: !Sub '${Repo.RepositoryUri}:latest'
      Count: !FindInMap [Sizes, !Ref 'AWS::Region', Count]
      Table: !If [IsPrimary, !Ref Table, !Ref 'AWS::NoValue']
      Port: !Ref Port
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Arn: !GetAtt Repo.Arn
Outputs:
  SecondaryLikeServiceEcrRepo:
    Condition: IsDr
    Value: !Ref Repo
  RepoUri:
    Value: !Join [':', [!GetAtt Repo.RepositoryUri, latest]]
)";

}  // namespace

// YAML short forms expand to the long forms CloudFormation defines.
TEST(TemplateParser, ExpandsShortForms) {
  auto doc =
      parse_template("A: !Ref X\nB: !GetAtt R.Arn.Deep\nC: !Sub 'x'\nD: \"8080\"\nE: 8080\n");
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::serialize((*doc)["A"]), R"({"Ref":"X"})");
  EXPECT_EQ(json::serialize((*doc)["B"]), R"({"Fn::GetAtt":["R","Arn.Deep"]})");
  EXPECT_EQ(json::serialize((*doc)["C"]), R"({"Fn::Sub":"x"})");
  EXPECT_TRUE((*doc)["D"].is_string());
  EXPECT_TRUE((*doc)["E"].is_int64());
}

// JSON templates parse as JSON.
TEST(TemplateParser, AcceptsJson) {
  auto doc = parse_template(R"({"Resources":{"R":{"Type":"AWS::SNS::Topic"}}})");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->contains("Resources"));
}

// Malformed YAML and unknown tags are clear errors, not crashes.
TEST(TemplateParser, MalformedIsAnError) {
  EXPECT_FALSE(parse_template("a: [1, 2"));
  auto r = parse_template("a: !Bogus x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("!Bogus"), std::string::npos);
  EXPECT_FALSE(parse_template("- 1\n- 2\n"));
  EXPECT_FALSE(parse_template("a: 1\na: 2\n"));
}

// IsDrRegion=false: the table exists, the DR-only output does not.
TEST(StackTemplate, PrimaryRegionCreatesTable) {
  auto t = bind(kCore);
  EXPECT_TRUE(t.condition("IsPrimary"));
  EXPECT_FALSE(t.condition("IsDr"));
  const auto& order = t.creation_order();
  EXPECT_NE(std::find(order.begin(), order.end(), "Table"), order.end());
  auto outs = t.outputs(fake_resolver{});
  ASSERT_TRUE(outs);
  EXPECT_FALSE(outs->contains("SecondaryLikeServiceEcrRepo"));
  EXPECT_EQ((*outs)["RepoUri"].at("Value").as_string(), "Repo.RepositoryUri:latest");
}

// IsDrRegion=true: no table; Fn::If with AWS::NoValue removes the property.
TEST(StackTemplate, DrRegionSkipsTableAndRemovesNoValue) {
  auto t = bind(kCore, {{"IsDrRegion", "true"}}, "us-east-1");
  const auto& order = t.creation_order();
  EXPECT_EQ(std::find(order.begin(), order.end(), "Table"), order.end());
  auto props = t.resolve_properties("Service", fake_resolver{});
  ASSERT_FALSE(props);  // FindInMap has no us-east-1 entry
  EXPECT_NE(props.error().message.find("Unable to get mapping"), std::string::npos);
  auto outs = t.outputs(fake_resolver{});
  ASSERT_TRUE(outs);
  EXPECT_EQ((*outs)["SecondaryLikeServiceEcrRepo"].at("Value").as_string(), "Repo-physical");
}

// Properties resolve Sub with pseudo-parameters and attributes, FindInMap, Ref to parameters.
TEST(StackTemplate, ResolvesIntrinsics) {
  auto t = bind(kCore);
  auto repo = t.resolve_properties("Repo", fake_resolver{});
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->at("RepositoryName").as_string(), "mm-core-us-west-2");
  auto svc = t.resolve_properties("Service", fake_resolver{});
  ASSERT_TRUE(svc) << svc.error().message;
  EXPECT_EQ(svc->at("Image").as_string(), "Repo.RepositoryUri:latest");
  EXPECT_EQ(svc->at("Count").as_int64(), 2);
  EXPECT_EQ(svc->at("Table").as_string(), "Table-physical");
  EXPECT_EQ(svc->at("Port").as_string(), "8080");
}

// Dependencies (DependsOn, Ref, GetAtt, Sub) come first in creation order.
TEST(StackTemplate, OrdersByDependencies) {
  auto t = bind(kCore);
  const auto& o = t.creation_order();
  auto pos = [&](const char* id) { return std::find(o.begin(), o.end(), id) - o.begin(); };
  EXPECT_LT(pos("Repo"), pos("Listener"));
  EXPECT_LT(pos("Listener"), pos("Service"));
  EXPECT_LT(pos("Table"), pos("Service"));
  EXPECT_EQ(t.resource("Service").type, "AWS::ECS::Service");
}

// A dependency cycle is named.
TEST(StackTemplate, CircularDependencyIsAnError) {
  auto e = bind_error(R"(
Resources:
  A: {Type: AWS::SNS::Topic, Properties: {X: !Ref B}}
  B: {Type: AWS::SNS::Topic, DependsOn: A}
)");
  EXPECT_NE(e.find("Circular dependency between resources: [A, B]"), std::string::npos) << e;
}

// Parameters: missing values, unknown overrides and AllowedValues are checked.
TEST(StackTemplate, ParameterErrors) {
  const char* t = R"(
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod]}
  Size: {Type: Number, Default: 3, MinValue: 1, MaxValue: 5}
Resources:
  R: {Type: AWS::SNS::Topic}
)";
  EXPECT_EQ(bind_error(t), "Parameters: [Env] must have values");
  EXPECT_NE(bind_error(t, {{"Env", "qa"}}).find("AllowedValues"), std::string::npos);
  EXPECT_NE(bind_error(t, {{"Env", "dev"}, {"Nope", "1"}}).find("[Nope] do not exist"),
            std::string::npos);
  EXPECT_NE(bind_error(t, {{"Env", "dev"}, {"Size", "9"}}).find("not greater than"),
            std::string::npos);
  EXPECT_NE(bind_error(t, {{"Env", "dev"}, {"Size", "x"}}).find("must be a number"),
            std::string::npos);
  EXPECT_EQ(bind_error(t, {{"Env", "dev"}}), "no error");
}

// References to undefined resources and templates without Resources are format errors.
TEST(StackTemplate, UnresolvedReferences) {
  EXPECT_NE(bind_error("Resources:\n  A: {Type: X::Y, Properties: {P: !Ref Ghost}}\n")
                .find("Unresolved resource dependencies [Ghost]"),
            std::string::npos);
  EXPECT_NE(bind_error("Description: x\n").find("At least one Resources member"),
            std::string::npos);
  EXPECT_NE(bind_error("Resources:\n  A: {Properties: {}}\n").find("Type member"),
            std::string::npos);
  EXPECT_NE(bind_error("Bogus: 1\nResources:\n  A: {Type: X::Y}\n").find("[Bogus]"),
            std::string::npos);
}

// List functions: Split, Select, Join, GetAZs and CommaDelimitedList parameters (Fn::Length,
// which needs AWS::LanguageExtensions, is tested in language_extensions_test.cc).
TEST(StackTemplate, ListFunctions) {
  auto t = bind(R"(
Parameters:
  Subnets: {Type: CommaDelimitedList, Default: "a, b,c"}
Resources:
  R:
    Type: X::Y
    Properties:
      Second: !Select [1, !Ref Subnets]
      Parts: !Split ['-', 'x-y-z']
      Joined: !Join ['', [a, !Select [0, !GetAZs '']]]
      B64: !Base64 'hi'
)");
  auto p = t.resolve_properties("R", fake_resolver{});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->at("Second").as_string(), "b");
  EXPECT_EQ(json::serialize(p->at("Parts")), R"(["x","y","z"])");
  EXPECT_EQ(p->at("Joined").as_string(), "aus-west-2a");
  EXPECT_EQ(p->at("B64").as_string(), "aGk=");
}

// Fn::Sub with a variable map and the ${!Literal} escape.
TEST(StackTemplate, SubVariablesAndEscapes) {
  auto t = bind(R"(
Resources:
  R:
    Type: X::Y
    Properties:
      A: !Sub ['${Name}-${!Keep}-${AWS::AccountId}', {Name: !Ref 'AWS::Region'}]
)");
  auto p = t.resolve_properties("R", fake_resolver{});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->at("A").as_string(), "us-west-2-${Keep}-123456789012");
}

// An attribute the resolver does not know fails the resolution with its message.
TEST(StackTemplate, ResolverErrorsPropagate) {
  auto t = bind(
      "Resources:\n  A: {Type: X::Y}\n  B: {Type: X::Y, Properties: {P: !GetAtt A.Missing}}\n");
  auto p = t.resolve_properties("B", fake_resolver{});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "no attribute Missing");
}

// Conditions may not be circular.
TEST(StackTemplate, CircularConditionIsAnError) {
  auto e = bind_error(R"(
Conditions:
  A: !Not [!Condition B]
  B: !Not [!Condition A]
Resources:
  R: {Type: X::Y}
)");
  EXPECT_NE(e.find("Circular dependency between conditions"), std::string::npos) << e;
}
