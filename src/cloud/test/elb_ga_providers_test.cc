// Load balancer and accelerator providers: what a deploy records, the mysfits-edge
// configuration the agents build from it, updates in place, deletes, and errors that name the
// resource and the cause.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>

#include "mysfits/cloud/local_cloud.h"
#include "providers/local_records.h"
#include "runtime/edge_fleet.h"

using namespace mysfits;
using namespace mysfits::cloud;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const char* kRegion = R"(
Parameters:
  Interval: {Type: Number, Default: 10}
  LikePath: {Type: String, Default: /mysfits/*/like}
Resources:
  LB: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Name: mm-alb, Subnets: [a, b]}}
  CoreTG:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {Name: mm-core, Port: 8080, Protocol: HTTP, HealthCheckPath: /,
                 HealthCheckIntervalSeconds: !Ref Interval, HealthyThresholdCount: 2,
                 Matcher: {HttpCode: '200-299'},
                 TargetGroupAttributes: [{Key: deregistration_delay.timeout_seconds, Value: '5'}]}
  LikeTG:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {Name: mm-like, Port: 8080, Protocol: HTTP, HealthCheckPath: /}
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref LB
      Port: 80
      Protocol: HTTP
      DefaultActions: [{Type: forward, TargetGroupArn: !Ref CoreTG}]
  Rule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Listener
      Priority: 1
      Conditions: [{Field: path-pattern, PathPatternConfig: {Values: [!Ref LikePath]}}]
      Actions: [{Type: forward, TargetGroupArn: !Ref LikeTG}]
Outputs:
  DNS: {Value: !GetAtt LB.DNSName}
  Arn: {Value: !Ref LB}
)";

const char* kAccelerator = R"(
Parameters:
  First: {Type: String}
  Second: {Type: String}
Resources:
  Acc: {Type: AWS::GlobalAccelerator::Accelerator, Properties: {Name: mm, Enabled: true}}
  L:
    Type: AWS::GlobalAccelerator::Listener
    Properties: {AcceleratorArn: !Ref Acc, Protocol: TCP, PortRanges: [{FromPort: 80, ToPort: 80}]}
  G1:
    Type: AWS::GlobalAccelerator::EndpointGroup
    Properties:
      ListenerArn: !Ref L
      EndpointGroupRegion: us-west-2
      TrafficDialPercentage: 100
      HealthCheckPath: /
      HealthCheckIntervalSeconds: '1'
      EndpointConfigurations: [{EndpointId: !Ref First, Weight: 128}]
  G2:
    Type: AWS::GlobalAccelerator::EndpointGroup
    DependsOn: G1
    Properties:
      ListenerArn: !Ref L
      EndpointGroupRegion: us-east-1
      TrafficDialPercentage: 50
      EndpointConfigurations: [{EndpointId: !Ref Second}]
Outputs:
  Dns: {Value: !GetAtt Acc.DnsName}
)";

struct ElbGaProviders : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("mysfits-elb-test-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::unique_ptr<stack_engine> engine;
  void SetUp() override {
    fs::remove_all(dir);
    engine = std::make_unique<stack_engine>(dir, make_local_providers(dir));
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string output(const stack_description& d, const char* key) {
    return std::string(d.outputs.at(key).at("Value").as_string());
  }
};

}  // namespace

TEST_F(ElbGaProviders, LoadBalancerBecomesAnEdgeConfiguration) {
  ASSERT_TRUE(records::write_region(dir, "us-west-2", {"127.0.9", ""}));
  auto d = engine->deploy({"us-west-2", "mm", kRegion, {{"Interval", "1"}}, {}});
  ASSERT_TRUE(d) << d.error().message;
  // The load balancer listens on the region's block, .1, on a port picked at deploy time.
  auto dns = output(*d, "DNS");
  EXPECT_EQ(dns.rfind("127.0.9.1:", 0), 0u) << dns;
  auto lbs = records::list(dir, "elb", "us-west-2", "load-balancers");
  ASSERT_EQ(lbs.size(), 1u);
  EXPECT_EQ(lbs[0].at("Arn").as_string(), output(*d, "Arn"));

  edge_runtime::target_map targets;
  for (const auto& tg : records::list(dir, "elb", "us-west-2", "target-groups")) {
    if (tg.at("Name").as_string() == "mm-core")
      targets[std::string(tg.at("Arn").as_string())] = {"127.0.9.10:8080"};
  }
  auto cfg = edge_runtime::load_balancer_config(dir, "us-west-2", lbs[0], targets);
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& c = *cfg;
  EXPECT_EQ(c.at("Role"), "LoadBalancer");
  EXPECT_EQ(c.at("Listener").at("Port"), lbs[0].at("Port"));
  EXPECT_EQ(c.at("Listener").at("DefaultActions").at(0).at("TargetGroupArn"), "mm-core");
  const auto& rule = c.at("ListenerRules").at(0);
  EXPECT_EQ(rule.at("Priority"), 1);
  EXPECT_EQ(rule.at("Conditions").at(0).at("Values").at(0), "/mysfits/*/like");
  EXPECT_EQ(rule.at("Actions").at(0).at("TargetGroupArn"), "mm-like");
  const auto& core = c.at("TargetGroups").at(0);
  EXPECT_EQ(core.at("Name"), "mm-core");
  EXPECT_EQ(core.at("HealthCheckIntervalSeconds"), 1);  // the parameter's "1" as a number
  EXPECT_EQ(core.at("Targets").at(0).at("Id"), "127.0.9.10");
  EXPECT_EQ(core.at("Targets").at(0).at("Port"), 8080);
  EXPECT_TRUE(c.at("TargetGroups").at(1).at("Targets").as_array().empty());
}

TEST_F(ElbGaProviders, UpdatesInPlaceAndDeletes) {
  auto d = engine->deploy({"us-west-2", "mm", kRegion, {}, {}});
  ASSERT_TRUE(d) << d.error().message;
  auto arn = output(*d, "Arn");
  auto dns = output(*d, "DNS");
  auto d2 = engine->deploy({"us-west-2", "mm", kRegion, {{"LikePath", "/like/*"}}, {}});
  ASSERT_TRUE(d2) << d2.error().message;
  EXPECT_EQ(output(*d2, "Arn"), arn);  // same load balancer, same address
  EXPECT_EQ(output(*d2, "DNS"), dns);
  auto rules = records::list(dir, "elb", "us-west-2", "rules");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(
      rules[0].at("Properties").at("Conditions").at(0).at("PathPatternConfig").at("Values").at(0),
      "/like/*");
  ASSERT_TRUE(engine->remove("us-west-2", "mm"));
  for (const char* kind : {"load-balancers", "target-groups", "listeners", "rules"})
    EXPECT_TRUE(records::list(dir, "elb", "us-west-2", kind).empty()) << kind;
}

TEST_F(ElbGaProviders, ErrorsNameTheResourceAndCause) {
  // A listener forwarding to a target group that does not exist.
  const char* missing_tg = R"(
Resources:
  LB: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Name: x}}
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref LB
      Protocol: HTTP
      DefaultActions: [{Type: forward, TargetGroupArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/nope/1'}]
)";
  auto d = engine->deploy({"us-west-2", "bad", missing_tg, {}, {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("Listener"), std::string::npos) << d.error().message;
  EXPECT_NE(d.error().message.find("targetgroup/nope/1 does not exist"), std::string::npos)
      << d.error().message;
  // The failed deploy rolled back: the load balancer it created is gone.
  EXPECT_TRUE(records::list(dir, "elb", "us-west-2", "load-balancers").empty());

  // A rule condition the local load balancer does not have.
  std::string host_rule = kRegion;
  host_rule.replace(host_rule.find("Field: path-pattern"), 19, "Field: host-header");
  d = engine->deploy({"us-west-2", "mm", host_rule, {}, {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("Rule"), std::string::npos) << d.error().message;
  EXPECT_NE(d.error().message.find("Conditions[0].Field"), std::string::npos) << d.error().message;

  // HTTPS listeners and network load balancers do not run locally.
  std::string https = kRegion;
  https.replace(https.find("      Protocol: HTTP\n      DefaultActions"), 20,
                "      Protocol: HTTPS");
  d = engine->deploy({"us-west-2", "mm", https, {}, {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("Protocol HTTPS"), std::string::npos) << d.error().message;
}

TEST_F(ElbGaProviders, AcceleratorPointsAtTheRegionsLoadBalancers) {
  ASSERT_TRUE(records::write_region(dir, "us-west-2", {"127.0.9", ""}));
  ASSERT_TRUE(records::write_region(dir, "us-east-1", {"127.0.8", ""}));
  auto west = engine->deploy({"us-west-2", "mm", kRegion, {}, {}});
  ASSERT_TRUE(west) << west.error().message;
  auto east = engine->deploy({"us-east-1", "mm", kRegion, {}, {}});
  ASSERT_TRUE(east) << east.error().message;
  auto acc = engine->deploy({"us-west-2",
                             "acc",
                             kAccelerator,
                             {{"First", output(*west, "Arn")}, {"Second", output(*east, "Arn")}},
                             {}});
  ASSERT_TRUE(acc) << acc.error().message;
  EXPECT_EQ(output(*acc, "Dns").rfind("127.0.0.1:", 0), 0u);

  auto accs = records::list(dir, "globalaccelerator", "global", "accelerators");
  ASSERT_EQ(accs.size(), 1u);
  auto cfg = edge_runtime::accelerator_config(dir, accs[0]);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->at("Role"), "Accelerator");
  EXPECT_EQ(cfg->at("Listeners").at(0).at("PortRanges").at(0).at("FromPort"), accs[0].at("Port"));
  const auto& groups = cfg->at("EndpointGroups").as_array();
  ASSERT_EQ(groups.size(), 2u);
  // In creation order, the primary first; load balancer ARNs become their local addresses.
  EXPECT_EQ(groups[0].at("EndpointGroupRegion"), "us-west-2");
  EXPECT_EQ(groups[0].at("EndpointConfigurations").at(0).at("EndpointId").as_string(),
            output(*west, "DNS"));
  EXPECT_EQ(groups[0].at("HealthCheckIntervalSeconds"), 1);
  EXPECT_EQ(groups[1].at("EndpointGroupRegion"), "us-east-1");
  EXPECT_EQ(groups[1].at("EndpointConfigurations").at(0).at("EndpointId").as_string(),
            output(*east, "DNS"));
  EXPECT_EQ(groups[1].at("TrafficDialPercentage"), 50);

  // A dial change is an update in place.
  std::string dial = kAccelerator;
  dial.replace(dial.find("TrafficDialPercentage: 50"), 25, "TrafficDialPercentage: 0");
  auto acc2 = engine->deploy({"us-west-2",
                              "acc",
                              dial,
                              {{"First", output(*west, "Arn")}, {"Second", output(*east, "Arn")}},
                              {}});
  ASSERT_TRUE(acc2) << acc2.error().message;
  EXPECT_EQ(output(*acc2, "Dns"), output(*acc, "Dns"));
  cfg = edge_runtime::accelerator_config(dir, accs[0]);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->at("EndpointGroups").at(1).at("TrafficDialPercentage"), 0);

  ASSERT_TRUE(engine->remove("us-west-2", "acc"));
  EXPECT_TRUE(records::list(dir, "globalaccelerator", "global", "endpoint-groups").empty());
  EXPECT_TRUE(records::list(dir, "globalaccelerator", "global", "accelerators").empty());
}

TEST_F(ElbGaProviders, EndpointGroupErrorsNameTheResource) {
  auto d = engine->deploy(
      {"us-west-2",
       "acc",
       kAccelerator,
       {{"First", "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/gone/1"},
        {"Second", "127.0.0.1:1"}},
       {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("G1"), std::string::npos) << d.error().message;
  EXPECT_NE(d.error().message.find("app/gone/1 does not exist"), std::string::npos)
      << d.error().message;
  EXPECT_TRUE(records::list(dir, "globalaccelerator", "global", "accelerators").empty());

  std::string dial = kAccelerator;
  dial.replace(dial.find("TrafficDialPercentage: 50"), 25, "TrafficDialPercentage: 150");
  d = engine->deploy(
      {"us-west-2", "acc", dial, {{"First", "127.0.0.1:1"}, {"Second", "127.0.0.1:2"}}, {}});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("G2"), std::string::npos) << d.error().message;
  EXPECT_NE(d.error().message.find("TrafficDialPercentage"), std::string::npos);
}
