// Tests for the AWS::LanguageExtensions transform in the template engine: Fn::ForEach in
// Conditions, Resources (and Properties) and Outputs, identifier substitution, collections,
// nested loops, the errors for malformed loops, Fn::Length, Fn::ToJsonString and Fn::FindInMap
// DefaultValue. cfn/accelerator.yml relies on these (one endpoint group per region).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "mysfits/cloud/template.h"
#include "test/fake_resolver.h"

using namespace mysfits;
using namespace mysfits::cloud;
namespace json = boost::json;

namespace {

using test::fake_resolver;

result<stack_template> try_bind(std::string_view text,
                                std::map<std::string, std::string> params = {}) {
  auto doc = parse_template(text);
  if (!doc) return doc.error();
  return stack_template::bind(*doc, params, {.region = "us-west-2", .stack_name = "mm"});
}

stack_template bind_ok(std::string_view text, std::map<std::string, std::string> params = {}) {
  auto t = try_bind(text, std::move(params));
  if (!t) ADD_FAILURE() << t.error().message;
  return std::move(t.value());
}

std::string bind_error(std::string_view text, std::map<std::string, std::string> params = {}) {
  auto t = try_bind(text, std::move(params));
  return t ? std::string("no error") : t.error().message;
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// The accelerator's shape: one endpoint group per load balancer ARN of a CommaDelimitedList.
const char* kGroups = R"(
Transform: AWS::LanguageExtensions
Parameters:
  LoadBalancerArns:
    Type: CommaDelimitedList
Resources:
  Listener:
    Type: AWS::GlobalAccelerator::Listener
  Fn::ForEach::EndpointGroups:
    - LoadBalancerArn
    - !Ref LoadBalancerArns
    - EndpointGroup&{LoadBalancerArn}:
        Type: AWS::GlobalAccelerator::EndpointGroup
        Properties:
          ListenerArn: !Ref Listener
          EndpointGroupRegion: !Select [3, !Split [':', !Ref LoadBalancerArn]]
          EndpointConfigurations:
            - EndpointId: !Ref LoadBalancerArn
Outputs:
  Fn::ForEach::GroupArns:
    - LoadBalancerArn
    - !Ref LoadBalancerArns
    - EndpointGroup&{LoadBalancerArn}:
        Value: !Ref
          Fn::Sub: EndpointGroup&{LoadBalancerArn}
)";

const std::string kArnWest = "arn:aws:elasticloadbalancing:us-west-2:1:loadbalancer/app/lb/a1";
const std::string kArnEast = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/lb/b2";
const std::string kArnEu = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/lb/c3";

}  // namespace

// A loop over a CommaDelimitedList parameter makes one resource per item; &{Id} keeps only the
// alphanumeric characters of an ARN in the logical id, Ref Id is the item itself.
TEST(LanguageExtensions, ForEachOverListParameter) {
  auto t = bind_ok(kGroups, {{"LoadBalancerArns", kArnWest + "," + kArnEast + "," + kArnEu}});
  const std::string west = "EndpointGrouparnawselasticloadbalancinguswest21loadbalancerapplba1";
  const auto& order = t.creation_order();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[0], "Listener");
  EXPECT_EQ(order[1], west);  // in the collection's order: the primary's group first
  EXPECT_TRUE(order[2].find("useast1") != std::string::npos) << order[2];
  EXPECT_TRUE(order[3].find("euwest1") != std::string::npos) << order[3];
  EXPECT_EQ(t.resource(west).type, "AWS::GlobalAccelerator::EndpointGroup");
  auto p = t.resolve_properties(order[3], fake_resolver{});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->at("EndpointGroupRegion").as_string(), "eu-west-1");
  EXPECT_EQ(p->at("EndpointConfigurations").at(0).at("EndpointId").as_string(), kArnEu);
  EXPECT_EQ(p->at("ListenerArn").as_string(), "Listener-physical");
  // Outputs: Ref: !Sub names the generated resource.
  auto outs = t.outputs(fake_resolver{});
  ASSERT_TRUE(outs) << outs.error().message;
  EXPECT_EQ(outs->size(), 3u);
  EXPECT_EQ(outs->at(west).at("Value").as_string(), west + "-physical");
  // The processed template holds no loop any more.
  EXPECT_FALSE(
      t.processed_template().at("Resources").as_object().contains("Fn::ForEach::EndpointGroups"));
  EXPECT_TRUE(t.has_language_extensions());
}

// Two regions or five: the same template, re-bound, follows the list.
TEST(LanguageExtensions, CollectionSizeFollowsTheParameter) {
  EXPECT_EQ(
      bind_ok(kGroups, {{"LoadBalancerArns", kArnWest + "," + kArnEast}}).creation_order().size(),
      3u);
  EXPECT_EQ(bind_ok(kGroups, {{"LoadBalancerArns", kArnEu}}).creation_order().size(), 2u);
}

// ${Id} in keys, Fn::Sub strings (a Sub left with only other variables stays a Sub), GetAtt
// with a Sub'd logical id, DependsOn and a literal collection.
TEST(LanguageExtensions, IdentifierSubstitution) {
  auto t = bind_ok(R"(
Transform: [AWS::LanguageExtensions]
Resources:
  Fn::ForEach::Topics:
    - Name
    - [Success, Failure]
    - Topic${Name}:
        Type: AWS::SNS::Topic
        Properties:
          TopicName: !Sub '${Name}-topic'
          Regional: !Sub '${Name}-${AWS::Region}'
          Joined: !Join ['.', [!Ref Name, fifo]]
          Plain: '${Name} stays as written'
      Queue${Name}:
        Type: AWS::SQS::Queue
        DependsOn: !Sub Topic${Name}
        Properties:
          TopicArn: !GetAtt [!Sub 'Topic${Name}', TopicArn]
)");
  auto p = t.resolve_properties("TopicFailure", fake_resolver{});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->at("TopicName").as_string(), "Failure-topic");
  EXPECT_EQ(p->at("Regional").as_string(), "Failure-us-west-2");
  EXPECT_EQ(p->at("Joined").as_string(), "Failure.fifo");
  EXPECT_EQ(p->at("Plain").as_string(), "${Name} stays as written");
  auto q = t.resolve_properties("QueueSuccess", fake_resolver{});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->at("TopicArn").as_string(), "TopicSuccess.TopicArn");
  EXPECT_EQ(t.resource("QueueSuccess").depends_on, std::vector<std::string>{"TopicSuccess"});
  const auto& processed = t.processed_template().at("Resources").at("TopicSuccess");
  EXPECT_EQ(processed.at("Properties").at("TopicName"), "Success-topic");
}

// Outside loops too, the transform lets Ref and Fn::GetAtt take a function naming the target.
TEST(LanguageExtensions, RefAndGetAttTakeFunctions) {
  auto t = bind_ok(R"(
Transform: AWS::LanguageExtensions
Parameters:
  Kind: {Type: String, Default: Topic}
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Literal: !Ref {Fn::Sub: Topic}
      Chosen: !Ref {Fn::Sub: '${Kind}'}
      Att: !GetAtt [!Ref Kind, TopicArn]
)");
  EXPECT_EQ(t.resource("Queue").depends_on, std::vector<std::string>{"Topic"});
  auto p = t.resolve_properties("Queue", fake_resolver{});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->at("Literal").as_string(), "Topic-physical");
  EXPECT_EQ(p->at("Chosen").as_string(), "Topic-physical");
  EXPECT_EQ(p->at("Att").as_string(), "Topic.TopicArn");
}

// Loops in Conditions make one condition per item; a resource's Condition: !Sub picks its own.
TEST(LanguageExtensions, ForEachInConditions) {
  auto t = bind_ok(R"(
Transform: AWS::LanguageExtensions
Parameters:
  Enabled: {Type: String, Default: b}
Conditions:
  Fn::ForEach::IsEnabled:
    - Item
    - [a, b]
    - Is${Item}: !Equals [!Ref Item, !Ref Enabled]
Resources:
  Fn::ForEach::Topics:
    - Item
    - [a, b]
    - Topic${Item}:
        Type: AWS::SNS::Topic
        Condition: !Sub Is${Item}
)");
  EXPECT_FALSE(t.condition("Isa"));
  EXPECT_TRUE(t.condition("Isb"));
  EXPECT_EQ(t.creation_order(), std::vector<std::string>{"Topicb"});
}

// Nested loops (the AWS example: outputs for each bucket and each attribute), and a loop inside
// a resource's Properties.
TEST(LanguageExtensions, NestedLoopsAndLoopsInProperties) {
  auto t = bind_ok(R"(
Transform: AWS::LanguageExtensions
Resources:
  Fn::ForEach::Buckets:
    - Id
    - [A, B]
    - Bucket${Id}:
        Type: AWS::S3::Bucket
        Properties:
          Fn::ForEach::Tags:
            - Tag
            - [x, y]
            - Tag${Tag}: !Sub '${Id}-${Tag}'
Outputs:
  Fn::ForEach::BucketOutputs:
    - Id
    - [A, B]
    - Fn::ForEach::Attributes:
        - Attribute
        - [Arn, DomainName]
        - Bucket${Id}${Attribute}:
            Value: !GetAtt [!Sub 'Bucket${Id}', !Ref Attribute]
)");
  auto p = t.resolve_properties("BucketB", fake_resolver{});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(json::serialize(*p), R"({"Tagx":"B-x","Tagy":"B-y"})");
  auto outs = t.outputs(fake_resolver{});
  ASSERT_TRUE(outs) << outs.error().message;
  EXPECT_EQ(outs->size(), 4u);
  EXPECT_EQ(outs->at("BucketBDomainName").at("Value").as_string(), "BucketB.DomainName");
}

// Collections from Fn::Split over a parameter, and from a list with a Ref item.
TEST(LanguageExtensions, CollectionsFromIntrinsics) {
  auto t = bind_ok(R"(
Transform: AWS::LanguageExtensions
Parameters:
  Names: {Type: String, Default: 'one;two'}
  Extra: {Type: String, Default: three}
Resources:
  Fn::ForEach::Split:
    - N
    - !Split [';', !Ref Names]
    - Topic${N}: {Type: AWS::SNS::Topic}
  Fn::ForEach::Literal:
    - M
    - [four, !Ref Extra]
    - Queue${M}: {Type: AWS::SQS::Queue}
)");
  EXPECT_EQ(t.creation_order(),
            (std::vector<std::string>{"Topicone", "Topictwo", "Queuefour", "Queuethree"}));
}

// Fn::Length, Fn::ToJsonString and Fn::FindInMap's DefaultValue come with the transform.
TEST(LanguageExtensions, LengthToJsonStringAndFindInMapDefault) {
  const char* body = R"(
Mappings:
  Sizes:
    us-west-2: {Count: 2}
Resources:
  R:
    Type: X::Y
    Properties:
      N: !Length [1, 2, 3]
      J: !ToJsonString {a: [1, !Ref 'AWS::Region']}
      Found: !FindInMap [Sizes, !Ref 'AWS::Region', Count, {DefaultValue: 1}]
      Missing: !FindInMap [Sizes, eu-west-1, Count, {DefaultValue: 1}]
)";
  auto t = bind_ok(std::string("Transform: AWS::LanguageExtensions\n") + body);
  auto p = t.resolve_properties("R", fake_resolver{});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->at("N").as_int64(), 3);
  EXPECT_EQ(p->at("J").as_string(), R"({"a":[1,"us-west-2"]})");
  EXPECT_EQ(p->at("Found").as_int64(), 2);
  EXPECT_EQ(p->at("Missing").as_int64(), 1);
  // Without the transform they are errors, as in CloudFormation.
  auto plain = bind_ok(body);
  auto e = plain.resolve_properties("R", fake_resolver{});
  ASSERT_FALSE(e);
  EXPECT_TRUE(has(e.error().message, "needs Transform: AWS::LanguageExtensions"))
      << e.error().message;
}

// A resource's Condition may be Fn::FindInMap with DefaultValue AWS::NoValue (RFC example).
TEST(LanguageExtensions, ConditionAttributeFromFindInMap) {
  auto t = bind_ok(R"(
Transform: AWS::LanguageExtensions
Conditions:
  Never: !Equals [a, b]
Mappings:
  Gateway:
    Condition: {B: Never}
Resources:
  Fn::ForEach::Gateways:
    - Id
    - [A, B]
    - Gateway${Id}:
        Type: AWS::EC2::NatGateway
        Condition: !FindInMap [Gateway, Condition, !Ref Id, {DefaultValue: !Ref 'AWS::NoValue'}]
)");
  EXPECT_EQ(t.creation_order(), std::vector<std::string>{"GatewayA"});
}

// Each malformed loop is an error that names the loop and where it is.
TEST(LanguageExtensions, MalformedLoopsAreNamed) {
  auto loop = [](const std::string& fragment) {
    return "Transform: AWS::LanguageExtensions\nParameters:\n  P: {Type: String, Default: x}\n"
           "Resources:\n  Fn::ForEach::Groups:\n" +
           fragment;
  };
  auto e = bind_error(loop("    - Id\n    - [a]\n"));
  EXPECT_TRUE(has(e, "Resources/Fn::ForEach::Groups")) << e;
  EXPECT_TRUE(has(e, "[Identifier, Collection, {OutputKey: OutputValue}]")) << e;

  e = bind_error(loop("    - Id\n    - [a]\n    - Group: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "the OutputKey 'Group' must contain ${Id} or &{Id}")) << e;

  e = bind_error(loop("    - Region\n    - [us-west-2]\n    - Group${Region}: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "Resources/Fn::ForEach::Groups")) << e;
  EXPECT_TRUE(has(e, "'Groupus-west-2' is not alphanumeric")) << e;
  EXPECT_TRUE(has(e, "&{Region}")) << e;

  e = bind_error(loop("    - Id\n    - [a, a]\n    - Group${Id}: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "duplicate key 'Groupa'")) << e;

  e = bind_error(loop("    - Id\n    - !Ref P\n    - Group${Id}: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "the collection must be a list")) << e;

  e = bind_error(loop("    - Id\n    - !Select [5, [[a]]]\n    - Group${Id}: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "Resources/Fn::ForEach::Groups: collection: ")) << e;
  EXPECT_TRUE(has(e, "Fn::Select cannot select nonexistent value at index 5")) << e;

  e =
      bind_error(loop("    - Id\n    - !Ref Other\n    - Group${Id}: {Type: X::Y}\n"
                      "  Other: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "A Fn::ForEach collection cannot refer to resource Other")) << e;

  e = bind_error(loop("    - P\n    - [a]\n    - Group${P}: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "the identifier P is also a parameter's name")) << e;

  e = bind_error(loop("    - 'a-b'\n    - [a]\n    - Group${a-b}: {Type: X::Y}\n"));
  EXPECT_TRUE(has(e, "the identifier must be an alphanumeric string")) << e;

  e = bind_error(loop("    - Id\n    - [a]\n    - []\n"));
  EXPECT_TRUE(has(e, "the third element must be a map")) << e;

  e = bind_error(
      "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach: [Id, [a], {'T${Id}': "
      "{Type: X::Y}}]\n");
  EXPECT_TRUE(has(e, "Fn::ForEach::<UniqueLoopName>")) << e;

  e = bind_error(
      "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Topics: [Id, [a], "
      "{'T${Id}': {Type: X::Y}}]\nOutputs:\n  Fn::ForEach::Topics: [Id, [a], {'O${Id}': "
      "{Value: x}}]\n");
  EXPECT_TRUE(has(e,
                  "Outputs/Fn::ForEach::Topics: the loop name Topics is also used at "
                  "Resources/Fn::ForEach::Topics"))
      << e;
}

// Loops stand only where AWS allows them, need the transform, and nest boundedly.
TEST(LanguageExtensions, WhereLoopsMayStand) {
  auto e = bind_error("Resources:\n  Fn::ForEach::Topics: [Id, [a], {'T${Id}': {Type: X::Y}}]\n");
  EXPECT_TRUE(has(e, "Resources/Fn::ForEach::Topics needs Transform: AWS::LanguageExtensions"))
      << e;

  e = bind_error(
      "Transform: AWS::LanguageExtensions\nMappings:\n  Fn::ForEach::M: [Id, [a], {'M${Id}': "
      "{k: {v: 1}}}]\nResources:\n  R: {Type: X::Y}\n");
  EXPECT_TRUE(has(e, "Mappings/Fn::ForEach::M: Fn::ForEach can stand only in")) << e;

  e = bind_error(
      "Transform: AWS::LanguageExtensions\nResources:\n  R:\n    Type: X::Y\n"
      "    Fn::ForEach::A: [Id, [a], {'Condition${Id}': x}]\n");
  EXPECT_TRUE(has(e, "Resources/R/Fn::ForEach::A: Fn::ForEach can stand only in")) << e;

  e = bind_error("Transform: AWS::Serverless-2016-10-31\nResources:\n  R: {Type: X::Y}\n");
  EXPECT_TRUE(has(e, "Transform AWS::Serverless-2016-10-31 is not supported")) << e;

  // Seven loops, each inside the previous one's fragment (JSON, built from the inside out).
  std::string key;
  for (int i = 0; i < 7; ++i) key += "${I" + std::to_string(i) + "}";
  json::value fragment = json::object{{"R" + key, json::object{{"Type", "X::Y"}}}};
  for (int i = 6; i >= 0; --i) {
    auto n = std::to_string(i);
    fragment = json::object{
        {"Fn::ForEach::L" + n, json::array{json::string("I" + n), json::array{"a"}, fragment}}};
  }
  e = bind_error(json::serialize(
      json::object{{"Transform", "AWS::LanguageExtensions"}, {"Resources", fragment}}));
  EXPECT_TRUE(has(e, "nests deeper than 6 loops")) << e;
}
