// The edge's configuration: plain structs named after the AWS resources they mirror
// (AWS::ElasticLoadBalancingV2::{Listener,ListenerRule,TargetGroup},
// AWS::GlobalAccelerator::{Listener,EndpointGroup}) and the JSON parser that validates them.
// Used by edge::proxy, the control API (register/weights/dials) and `mysfits-edge serve`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::edge {

enum class role_kind { load_balancer, accelerator };
enum class forwarding_mode { http, tcp };
enum class client_affinity { none, source_ip };
enum class lb_algorithm { round_robin, least_outstanding_requests };

// Health check settings shared by target groups and endpoint groups.
struct health_check_config {
  // "HTTP" (GET path, success codes) or "TCP" (connect only). Default: HTTP.
  std::string protocol = "HTTP";
  // Path of the HTTP check. Default: "/".
  std::string path = "/";
  // Port to check; unset means the target's own port. Default: unset.
  std::optional<std::uint16_t> port;
  // Time between checks of one target; fractions allowed (0.2 s). Default: 30 s (ALB), 30 s (GA).
  std::chrono::milliseconds interval{30000};
  // A check not answered within this time fails. Default: 5 s (GA: the interval, capped at 5 s).
  std::chrono::milliseconds timeout{5000};
  // Consecutive successes that make an unhealthy target healthy. Default: 5 (GA: 3).
  int healthy_threshold = 5;
  // Consecutive failures that make a healthy target unhealthy. Default: 2 (GA: 3).
  int unhealthy_threshold = 2;
  // Success codes, as ALB's Matcher.HttpCode: "200", "200,204", "200-299". Default: "200".
  std::string matcher = "200";
};

// One target (ALB Targets[i]) or endpoint (GA EndpointConfigurations[i]).
struct target_config {
  std::string host;  // numeric address or name resolved at start
  std::uint16_t port = 0;
  // Share of the group's traffic relative to the other targets, 0..255. Default: 128 (GA).
  int weight = 128;
  // GA ClientIPPreservationEnabled; the proxy always adds X-Forwarded-For in HTTP mode.
  bool client_ip_preservation = false;
  std::string id() const { return host + ":" + std::to_string(port); }
};

struct target_group_config {
  std::string name;  // what ListenerRule actions reference as TargetGroupArn
  health_check_config health;
  std::vector<target_config> targets;
  // TargetGroupAttributes deregistration_delay.timeout_seconds. Default: 300 s.
  std::chrono::milliseconds deregistration_delay{300000};
  // TargetGroupAttributes load_balancing.algorithm.type. Default: round_robin.
  lb_algorithm algorithm = lb_algorithm::round_robin;
};

struct rule_config {
  int priority = 1;                        // lower wins, 1..50000
  std::vector<std::string> path_patterns;  // any match; '*' and '?' wildcards
  std::string target_group;                // forward action's TargetGroupArn
};

struct load_balancer_config {
  std::uint16_t port = 0;  // Listener Port; 0 picks a free one
  std::vector<rule_config> rules;
  std::string default_target_group;  // Listener DefaultActions[0].TargetGroupArn
  std::vector<target_group_config> target_groups;
};

struct endpoint_group_config {
  std::string region;  // EndpointGroupRegion; the group's name in the control API
  // TrafficDialPercentage, 0..100: the share of the traffic this group would get that it keeps.
  double traffic_dial = 100;
  health_check_config health;
  std::vector<target_config> endpoints;
  // How long connections to a removed endpoint may finish. Default: 30 s (mysfits extension
  // "DeregistrationDelaySeconds"; GA's own is not configurable).
  std::chrono::milliseconds deregistration_delay{30000};
  // HTTP mode: how long a forwarded request may wait for the first byte of its response from an
  // endpoint of this group. Past it the upstream connection is closed, the endpoint is taken
  // out of rotation at once if nothing else came back from it since the request was sent
  // (passive health), and a retryable request goes to another endpoint (others get 504).
  // Mysfits extension "FirstByteTimeoutSeconds"; 0 turns it off (only the proxy's upstream
  // timeout applies). Unset: first_byte_timeout_or_default().
  std::optional<std::chrono::milliseconds> first_byte_timeout;
};

// The group's first-byte timeout: as configured, else HealthCheckIntervalSeconds ×
// ThresholdCount (the time the active check needs to notice a dead endpoint), at least 0.5 s.
std::chrono::milliseconds first_byte_timeout_or_default(const endpoint_group_config& g);

struct accelerator_config {
  std::vector<std::uint16_t> ports;  // from Listeners[].PortRanges; 0 picks a free one
  forwarding_mode mode = forwarding_mode::tcp;
  client_affinity affinity = client_affinity::none;
  std::vector<endpoint_group_config> groups;  // in order of preference
};

struct config {
  role_kind role = role_kind::load_balancer;
  load_balancer_config load_balancer;  // when role is load_balancer
  accelerator_config accelerator;      // when role is accelerator
};

// Parses and validates a JSON configuration. Errors name the field, e.g.
// "EndpointGroups[1].TrafficDialPercentage: must be 0..100".
[[nodiscard]] result<config> parse_config(std::string_view json_text);

// Parses an ALB Matcher.HttpCode list ("200", "200,202", "200-299") into ranges.
[[nodiscard]] result<std::vector<std::pair<int, int>>> parse_matcher(std::string_view codes);

// Parses "host:port" (EndpointId and the control API's target ids).
[[nodiscard]] result<target_config> parse_target_id(std::string_view id);

}  // namespace mysfits::edge
