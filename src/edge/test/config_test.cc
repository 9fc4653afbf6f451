// Tests for the JSON configuration parser: AWS property names, defaults, and errors that name
// the offending field.
#include "mysfits/edge/config.h"

#include <gtest/gtest.h>

using namespace mysfits::edge;

namespace {

const char* kLoadBalancer = R"({
  "Role": "LoadBalancer",
  "Listener": {"Port": 0, "Protocol": "HTTP",
               "DefaultActions": [{"Type": "forward", "TargetGroupArn": "core"}]},
  "ListenerRules": [{"Priority": 1,
    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/mysfits/*/like"]}}],
    "Actions": [{"Type": "forward", "TargetGroupArn": "like"}]}],
  "TargetGroups": [
    {"Name": "core", "Port": 8080, "HealthCheckPath": "/health", "HealthCheckIntervalSeconds": 0.2,
     "HealthCheckTimeoutSeconds": 0.1, "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 3,
     "Matcher": {"HttpCode": "200-299"}, "Targets": [{"Id": "127.0.0.1"}, {"Id": "127.0.0.1", "Port": 8081}],
     "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "5"},
                               {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}]},
    {"Name": "like", "Targets": [{"Id": "127.0.0.1", "Port": 9090}]}]
})";

const char* kAccelerator = R"({
  "Role": "Accelerator",
  "Listeners": [{"PortRanges": [{"FromPort": 0, "ToPort": 0}], "Protocol": "TCP",
                 "ClientAffinity": "SOURCE_IP", "ForwardingMode": "HTTP"}],
  "EndpointGroups": [
    {"EndpointGroupRegion": "us-west-2", "TrafficDialPercentage": 90,
     "HealthCheckIntervalSeconds": 0.2, "HealthCheckPath": "/health", "ThresholdCount": 2,
     "EndpointConfigurations": [{"EndpointId": "127.0.0.1:8080", "Weight": 3,
                                 "ClientIPPreservationEnabled": true}]},
    {"EndpointGroupRegion": "us-east-1",
     "EndpointConfigurations": [{"EndpointId": "127.0.0.1:8081"}]}]
})";

std::string error_of(const std::string& text) {
  auto r = parse_config(text);
  return r ? std::string("(parsed)") : r.error().message;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

}  // namespace

// A load balancer file maps ALB properties (with fractional intervals) onto the config.
TEST(Config, ParsesLoadBalancer) {
  auto r = parse_config(kLoadBalancer);
  ASSERT_TRUE(r) << r.error().message;
  const auto& lb = r->load_balancer;
  EXPECT_EQ(r->role, role_kind::load_balancer);
  EXPECT_EQ(lb.default_target_group, "core");
  ASSERT_EQ(lb.rules.size(), 1u);
  EXPECT_EQ(lb.rules[0].path_patterns[0], "/mysfits/*/like");
  EXPECT_EQ(lb.rules[0].target_group, "like");
  const auto& core = lb.target_groups[0];
  EXPECT_EQ(core.health.interval, std::chrono::milliseconds(200));
  EXPECT_EQ(core.health.timeout, std::chrono::milliseconds(100));
  EXPECT_EQ(core.health.healthy_threshold, 2);
  EXPECT_EQ(core.health.unhealthy_threshold, 3);
  EXPECT_EQ(core.health.matcher, "200-299");
  EXPECT_EQ(core.deregistration_delay, std::chrono::seconds(5));
  EXPECT_EQ(core.algorithm, lb_algorithm::least_outstanding_requests);
  ASSERT_EQ(core.targets.size(), 2u);
  EXPECT_EQ(core.targets[0].id(), "127.0.0.1:8080");  // the group's Port
  EXPECT_EQ(core.targets[1].id(), "127.0.0.1:8081");
}

// An accelerator file maps GA properties; unset ones get GA's defaults.
TEST(Config, ParsesAcceleratorWithDefaults) {
  auto r = parse_config(kAccelerator);
  ASSERT_TRUE(r) << r.error().message;
  const auto& acc = r->accelerator;
  EXPECT_EQ(acc.mode, forwarding_mode::http);
  EXPECT_EQ(acc.affinity, client_affinity::source_ip);
  ASSERT_EQ(acc.ports.size(), 1u);
  ASSERT_EQ(acc.groups.size(), 2u);
  EXPECT_EQ(acc.groups[0].traffic_dial, 90);
  EXPECT_EQ(acc.groups[0].health.interval, std::chrono::milliseconds(200));
  EXPECT_EQ(acc.groups[0].health.protocol, "HTTP");
  EXPECT_EQ(acc.groups[0].health.unhealthy_threshold, 2);
  EXPECT_EQ(acc.groups[0].endpoints[0].weight, 3);
  EXPECT_TRUE(acc.groups[0].endpoints[0].client_ip_preservation);
  EXPECT_EQ(acc.groups[1].traffic_dial, 100);
  EXPECT_EQ(acc.groups[1].health.interval, std::chrono::seconds(30));
  EXPECT_EQ(acc.groups[1].health.protocol, "TCP");
  EXPECT_EQ(acc.groups[1].endpoints[0].weight, 128);
}

// Errors name the field by its path so a template author can find it.
TEST(Config, ErrorsNameTheField) {
  std::string acc = kAccelerator;
  EXPECT_EQ(
      error_of(replace(acc, "\"us-east-1\",", "\"us-east-1\", \"TrafficDialPercentage\": 150,")),
      "EndpointGroups[1].TrafficDialPercentage: must be 0..100");
  EXPECT_EQ(error_of(replace(acc, "\"Weight\": 3", "\"Weight\": 256")),
            "EndpointGroups[0].EndpointConfigurations[0].Weight: must be 0..255");
  EXPECT_EQ(
      error_of(replace(acc, "127.0.0.1:8081", "127.0.0.1")),
      "EndpointGroups[1].EndpointConfigurations[0].EndpointId: '127.0.0.1' must be host:port");
  EXPECT_EQ(error_of(replace(acc, "SOURCE_IP", "COOKIE")),
            "Listeners[0].ClientAffinity: must be NONE or SOURCE_IP");
  std::string lb = kLoadBalancer;
  EXPECT_EQ(error_of(replace(lb, "\"TargetGroupArn\": \"like\"", "\"TargetGroupArn\": \"nope\"")),
            "ListenerRules[0].Actions[0].TargetGroupArn: unknown target group nope");
  EXPECT_EQ(error_of(replace(lb, "200-299", "2xx")),
            "TargetGroups[0].Matcher.HttpCode: '2xx' is not an HTTP code or range like 200-299");
  EXPECT_EQ(error_of(replace(lb, "\"HealthyThresholdCount\": 2", "\"HealthyThresholdCount\": 0")),
            "TargetGroups[0].HealthyThresholdCount: must be 1..10");
  EXPECT_EQ(
      error_of(
          replace(lb, "\"HealthCheckTimeoutSeconds\": 0.1", "\"HealthCheckTimeoutSeconds\": 1")),
      "TargetGroups[0].HealthCheckTimeoutSeconds: must not exceed HealthCheckIntervalSeconds");
  EXPECT_EQ(error_of(replace(lb, "\"Name\": \"like\", ", "")), "TargetGroups[1].Name: is required");
  EXPECT_EQ(error_of(replace(lb, "\"Port\": 8080,", "\"Prot\": 8080,")),
            "TargetGroups[0].Prot: unknown property");
  EXPECT_EQ(error_of("[1]"), "(root): must be an object");
  EXPECT_EQ(error_of("{\"Role\": \"Router\"}"), "Role: must be LoadBalancer or Accelerator");
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
}

// Matcher.HttpCode accepts lists and ranges and refuses nonsense.
TEST(Config, ParsesMatcherListsAndRanges) {
  auto m = parse_matcher("200,202-204");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1], std::make_pair(202, 204));
  EXPECT_FALSE(parse_matcher("204-200"));
  EXPECT_FALSE(parse_matcher(""));
  EXPECT_FALSE(parse_matcher("99"));
}

// FirstByteTimeoutSeconds (a mysfits extension) reaches the endpoint group; 0 turns it off; an
// unset one follows the health check: interval × ThresholdCount, at least 0.5 s.
TEST(Config, FirstByteTimeout) {
  using namespace std::chrono_literals;
  auto r = parse_config(kAccelerator);
  ASSERT_TRUE(r) << r.error().message;
  const auto& groups = r->accelerator.groups;
  EXPECT_FALSE(groups[0].first_byte_timeout);
  EXPECT_EQ(first_byte_timeout_or_default(groups[0]), 500ms);  // 0.2 s × 2 is below the floor
  EXPECT_EQ(first_byte_timeout_or_default(groups[1]), 90s);    // GA's 30 s × 3
  auto with = parse_config(replace(kAccelerator, R"("ThresholdCount": 2,)",
                                   R"("ThresholdCount": 4, "FirstByteTimeoutSeconds": 0.75,)"));
  ASSERT_TRUE(with) << with.error().message;
  EXPECT_EQ(first_byte_timeout_or_default(with->accelerator.groups[0]), 750ms);
  auto off = parse_config(replace(kAccelerator, R"("ThresholdCount": 2,)",
                                  R"("ThresholdCount": 2, "FirstByteTimeoutSeconds": 0,)"));
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_EQ(first_byte_timeout_or_default(off->accelerator.groups[0]), 0ms);
  auto interval_only =
      parse_config(replace(kAccelerator, R"("ThresholdCount": 2,)", R"("ThresholdCount": 3,)"));
  ASSERT_TRUE(interval_only);
  EXPECT_EQ(first_byte_timeout_or_default(interval_only->accelerator.groups[0]), 600ms);
  EXPECT_EQ(error_of(replace(kAccelerator, R"("ThresholdCount": 2,)",
                             R"("ThresholdCount": 2, "FirstByteTimeoutSeconds": -1,)")),
            "EndpointGroups[0].FirstByteTimeoutSeconds: must be 0..3600 seconds");
}
