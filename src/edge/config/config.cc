// Parses the edge's JSON configuration (AWS property names) into edge::config and validates it.
// Every error names the offending field by its path, e.g. "TargetGroups[0].Targets[1].Port".
#include "mysfits/edge/config.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <set>

namespace mysfits::edge {

namespace json = boost::json;

namespace {

// Validation failures inside the parser unwind to parse_config, which turns them into a result.
struct config_error {
  std::string message;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw config_error{path + ": " + what};
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const json::object& as_object(const json::value& v, const std::string& path) {
  if (!v.is_object()) fail(path, "must be an object");
  return v.get_object();
}

const json::array& as_array(const json::value& v, const std::string& path) {
  if (!v.is_array()) fail(path, "must be an array");
  return v.get_array();
}

const json::value* find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

std::string get_string(const json::value& v, const std::string& path) {
  if (!v.is_string()) fail(path, "must be a string");
  return std::string(v.get_string());
}

// CloudFormation passes numbers as strings as often as numbers; accept both.
double get_number(const json::value& v, const std::string& path) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  if (v.is_string()) {
    std::string s(v.get_string());
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && p == s.data() + s.size()) return d;
  }
  fail(path, "must be a number");
}

long get_int(const json::value& v, const std::string& path, long lo, long hi) {
  double d = get_number(v, path);
  if (d != std::floor(d)) fail(path, "must be a whole number");
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    fail(path, "must be " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<long>(d);
}

bool get_bool(const json::value& v, const std::string& path) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_string() && (v.get_string() == "true" || v.get_string() == "false")) {
    return v.get_string() == "true";
  }
  fail(path, "must be true or false");
}

std::chrono::milliseconds get_seconds(const json::value& v, const std::string& path, double lo,
                                      double hi) {
  double d = get_number(v, path);
  if (!(d >= lo && d <= hi)) {
    // Plain numbers ("0.05..300"), not JSON's exponent form ("5E-2..3E2").
    auto text = [](double x) {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, x);
      return std::string(buf, r.ptr);
    };
    fail(path, "must be " + text(lo) + ".." + text(hi) + " seconds");
  }
  return std::chrono::milliseconds(static_cast<long>(std::llround(d * 1000)));
}

void reject_unknown(const json::object& o, const std::string& path,
                    std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto k : known) ok = ok || kv.key() == k;
    if (!ok) fail(join(path, kv.key()), "unknown property");
  }
}

void check_matcher(const std::string& codes, const std::string& path) {
  auto r = parse_matcher(codes);
  if (!r) fail(path, r.error().message);
}

target_config parse_alb_target(const json::value& v, const std::string& path,
                               std::optional<std::uint16_t> default_port) {
  const auto& o = as_object(v, path);
  reject_unknown(o, path, {"Id", "Port", "AvailabilityZone", "Weight"});
  target_config t;
  const auto* id = find(o, "Id");
  if (!id) fail(join(path, "Id"), "is required");
  t.host = get_string(*id, join(path, "Id"));
  if (t.host.empty()) fail(join(path, "Id"), "must not be empty");
  if (const auto* p = find(o, "Port")) {
    t.port = static_cast<std::uint16_t>(get_int(*p, join(path, "Port"), 1, 65535));
  } else if (default_port) {
    t.port = *default_port;
  } else {
    fail(join(path, "Port"), "is required (or set the target group's Port)");
  }
  if (const auto* w = find(o, "Weight")) {
    t.weight = static_cast<int>(get_int(*w, join(path, "Weight"), 0, 255));
  }
  return t;
}

target_config parse_endpoint(const json::value& v, const std::string& path) {
  const auto& o = as_object(v, path);
  reject_unknown(o, path, {"EndpointId", "Weight", "ClientIPPreservationEnabled"});
  const auto* id = find(o, "EndpointId");
  if (!id) fail(join(path, "EndpointId"), "is required");
  auto t = parse_target_id(get_string(*id, join(path, "EndpointId")));
  if (!t) fail(join(path, "EndpointId"), t.error().message);
  target_config out = *t;
  if (const auto* w = find(o, "Weight")) {
    out.weight = static_cast<int>(get_int(*w, join(path, "Weight"), 0, 255));
  }
  if (const auto* c = find(o, "ClientIPPreservationEnabled")) {
    out.client_ip_preservation = get_bool(*c, join(path, "ClientIPPreservationEnabled"));
  }
  return out;
}

void parse_health_protocol(const json::object& o, const std::string& path, health_check_config& h) {
  if (const auto* p = find(o, "HealthCheckProtocol")) {
    h.protocol = get_string(*p, join(path, "HealthCheckProtocol"));
    if (h.protocol != "HTTP" && h.protocol != "TCP") {
      fail(join(path, "HealthCheckProtocol"), "must be HTTP or TCP");
    }
  }
  if (const auto* p = find(o, "HealthCheckPath")) {
    h.path = get_string(*p, join(path, "HealthCheckPath"));
    if (h.path.empty() || h.path[0] != '/')
      fail(join(path, "HealthCheckPath"), "must start with /");
  }
  if (const auto* p = find(o, "HealthCheckPort")) {
    // ALB allows "traffic-port", meaning the target's own port.
    if (!(p->is_string() && p->get_string() == "traffic-port")) {
      h.port = static_cast<std::uint16_t>(get_int(*p, join(path, "HealthCheckPort"), 1, 65535));
    }
  }
}

target_group_config parse_target_group(const json::value& v, const std::string& path) {
  const auto& o = as_object(v, path);
  reject_unknown(
      o, path,
      {"Name", "Port", "Protocol", "VpcId", "TargetType", "HealthCheckEnabled", "HealthCheckPath",
       "HealthCheckPort", "HealthCheckProtocol", "HealthCheckIntervalSeconds",
       "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher",
       "Targets", "TargetGroupAttributes", "Tags"});
  target_group_config tg;
  const auto* name = find(o, "Name");
  if (!name) fail(join(path, "Name"), "is required");
  tg.name = get_string(*name, join(path, "Name"));
  if (tg.name.empty()) fail(join(path, "Name"), "must not be empty");
  std::optional<std::uint16_t> port;
  if (const auto* p = find(o, "Port")) {
    port = static_cast<std::uint16_t>(get_int(*p, join(path, "Port"), 1, 65535));
  }
  if (const auto* p = find(o, "Protocol")) {
    if (get_string(*p, join(path, "Protocol")) != "HTTP")
      fail(join(path, "Protocol"), "must be HTTP");
  }
  auto& h = tg.health;
  parse_health_protocol(o, path, h);
  if (const auto* p = find(o, "HealthCheckIntervalSeconds")) {
    h.interval = get_seconds(*p, join(path, "HealthCheckIntervalSeconds"), 0.05, 300);
  }
  if (const auto* p = find(o, "HealthCheckTimeoutSeconds")) {
    h.timeout = get_seconds(*p, join(path, "HealthCheckTimeoutSeconds"), 0.01, 120);
  } else if (h.timeout > h.interval) {
    h.timeout = h.interval;
  }
  if (h.timeout > h.interval) {
    fail(join(path, "HealthCheckTimeoutSeconds"), "must not exceed HealthCheckIntervalSeconds");
  }
  if (const auto* p = find(o, "HealthyThresholdCount")) {
    h.healthy_threshold = static_cast<int>(get_int(*p, join(path, "HealthyThresholdCount"), 1, 10));
  }
  if (const auto* p = find(o, "UnhealthyThresholdCount")) {
    h.unhealthy_threshold =
        static_cast<int>(get_int(*p, join(path, "UnhealthyThresholdCount"), 1, 10));
  }
  if (const auto* m = find(o, "Matcher")) {
    const auto mpath = join(path, "Matcher");
    const auto& mo = as_object(*m, mpath);
    reject_unknown(mo, mpath, {"HttpCode"});
    if (const auto* c = find(mo, "HttpCode")) {
      h.matcher = get_string(*c, join(mpath, "HttpCode"));
      check_matcher(h.matcher, join(mpath, "HttpCode"));
    }
  }
  if (const auto* ts = find(o, "Targets")) {
    const auto tpath = join(path, "Targets");
    const auto& arr = as_array(*ts, tpath);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      auto t = parse_alb_target(arr[i], at(tpath, i), port);
      if (!seen.insert(t.id()).second) fail(at(tpath, i), "duplicate target " + t.id());
      tg.targets.push_back(std::move(t));
    }
  }
  if (const auto* as = find(o, "TargetGroupAttributes")) {
    const auto apath = join(path, "TargetGroupAttributes");
    const auto& arr = as_array(*as, apath);
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const auto ipath = at(apath, i);
      const auto& a = as_object(arr[i], ipath);
      reject_unknown(a, ipath, {"Key", "Value"});
      const auto* k = find(a, "Key");
      const auto* val = find(a, "Value");
      if (!k) fail(join(ipath, "Key"), "is required");
      if (!val) fail(join(ipath, "Value"), "is required");
      auto key = get_string(*k, join(ipath, "Key"));
      if (key == "deregistration_delay.timeout_seconds") {
        tg.deregistration_delay = get_seconds(*val, join(ipath, "Value"), 0, 3600);
      } else if (key == "load_balancing.algorithm.type") {
        auto alg = get_string(*val, join(ipath, "Value"));
        if (alg == "round_robin") {
          tg.algorithm = lb_algorithm::round_robin;
        } else if (alg == "least_outstanding_requests") {
          tg.algorithm = lb_algorithm::least_outstanding_requests;
        } else {
          fail(join(ipath, "Value"), "must be round_robin or least_outstanding_requests");
        }
      }
      // Other ALB attributes (stickiness, slow start…) are accepted and ignored.
    }
  }
  return tg;
}

std::string parse_forward_action(const json::value& actions, const std::string& path) {
  const auto& arr = as_array(actions, path);
  if (arr.size() != 1) fail(path, "must hold exactly one forward action");
  const auto ipath = at(path, 0);
  const auto& a = as_object(arr[0], ipath);
  reject_unknown(a, ipath, {"Type", "TargetGroupArn", "Order"});
  const auto* type = find(a, "Type");
  if (!type || get_string(*type, join(ipath, "Type")) != "forward") {
    fail(join(ipath, "Type"), "must be forward");
  }
  const auto* arn = find(a, "TargetGroupArn");
  if (!arn) fail(join(ipath, "TargetGroupArn"), "is required");
  return get_string(*arn, join(ipath, "TargetGroupArn"));
}

rule_config parse_rule(const json::value& v, const std::string& path) {
  const auto& o = as_object(v, path);
  reject_unknown(o, path, {"Priority", "Conditions", "Actions", "ListenerArn"});
  rule_config r;
  const auto* p = find(o, "Priority");
  if (!p) fail(join(path, "Priority"), "is required");
  r.priority = static_cast<int>(get_int(*p, join(path, "Priority"), 1, 50000));
  const auto* conds = find(o, "Conditions");
  if (!conds) fail(join(path, "Conditions"), "is required");
  const auto cpath = join(path, "Conditions");
  const auto& carr = as_array(*conds, cpath);
  if (carr.empty()) fail(cpath, "must not be empty");
  for (std::size_t i = 0; i < carr.size(); ++i) {
    const auto ipath = at(cpath, i);
    const auto& c = as_object(carr[i], ipath);
    reject_unknown(c, ipath, {"Field", "PathPatternConfig", "Values"});
    const auto* f = find(c, "Field");
    if (!f || get_string(*f, join(ipath, "Field")) != "path-pattern") {
      fail(join(ipath, "Field"), "must be path-pattern");
    }
    const json::value* vals = nullptr;
    std::string vpath;
    if (const auto* ppc = find(c, "PathPatternConfig")) {
      const auto ppath = join(ipath, "PathPatternConfig");
      const auto& po = as_object(*ppc, ppath);
      reject_unknown(po, ppath, {"Values"});
      vals = find(po, "Values");
      vpath = join(ppath, "Values");
    } else {
      vals = find(c, "Values");
      vpath = join(ipath, "Values");
    }
    if (!vals) fail(vpath, "is required");
    const auto& varr = as_array(*vals, vpath);
    if (varr.empty()) fail(vpath, "must not be empty");
    for (std::size_t j = 0; j < varr.size(); ++j) {
      auto s = get_string(varr[j], at(vpath, j));
      if (s.empty() || s.size() > 128) fail(at(vpath, j), "must be 1..128 characters");
      r.path_patterns.push_back(std::move(s));
    }
  }
  const auto* acts = find(o, "Actions");
  if (!acts) fail(join(path, "Actions"), "is required");
  r.target_group = parse_forward_action(*acts, join(path, "Actions"));
  return r;
}

load_balancer_config parse_load_balancer(const json::object& o) {
  reject_unknown(o, "", {"Role", "Listener", "ListenerRules", "TargetGroups"});
  load_balancer_config lb;
  const auto* l = find(o, "Listener");
  if (!l) fail("Listener", "is required");
  const auto& lo = as_object(*l, "Listener");
  reject_unknown(lo, "Listener", {"Port", "Protocol", "DefaultActions", "LoadBalancerArn"});
  if (const auto* p = find(lo, "Port")) {
    lb.port = static_cast<std::uint16_t>(get_int(*p, "Listener.Port", 0, 65535));
  }
  if (const auto* p = find(lo, "Protocol")) {
    if (get_string(*p, "Listener.Protocol") != "HTTP") fail("Listener.Protocol", "must be HTTP");
  }
  const auto* da = find(lo, "DefaultActions");
  if (!da) fail("Listener.DefaultActions", "is required");
  lb.default_target_group = parse_forward_action(*da, "Listener.DefaultActions");

  const auto* tgs = find(o, "TargetGroups");
  if (!tgs) fail("TargetGroups", "is required");
  const auto& tarr = as_array(*tgs, "TargetGroups");
  std::set<std::string> names;
  for (std::size_t i = 0; i < tarr.size(); ++i) {
    auto tg = parse_target_group(tarr[i], at("TargetGroups", i));
    if (!names.insert(tg.name).second) {
      fail(at("TargetGroups", i) + ".Name", "duplicate target group " + tg.name);
    }
    lb.target_groups.push_back(std::move(tg));
  }
  if (!names.count(lb.default_target_group)) {
    fail("Listener.DefaultActions[0].TargetGroupArn",
         "unknown target group " + lb.default_target_group);
  }
  if (const auto* rs = find(o, "ListenerRules")) {
    const auto& rarr = as_array(*rs, "ListenerRules");
    std::set<int> priorities;
    for (std::size_t i = 0; i < rarr.size(); ++i) {
      auto r = parse_rule(rarr[i], at("ListenerRules", i));
      if (!priorities.insert(r.priority).second) {
        fail(at("ListenerRules", i) + ".Priority",
             "duplicate priority " + std::to_string(r.priority));
      }
      if (!names.count(r.target_group)) {
        fail(at("ListenerRules", i) + ".Actions[0].TargetGroupArn",
             "unknown target group " + r.target_group);
      }
      lb.rules.push_back(std::move(r));
    }
  }
  return lb;
}

endpoint_group_config parse_endpoint_group(const json::value& v, const std::string& path) {
  const auto& o = as_object(v, path);
  reject_unknown(o, path,
                 {"EndpointGroupRegion", "TrafficDialPercentage", "HealthCheckIntervalSeconds",
                  "HealthCheckPath", "HealthCheckPort", "HealthCheckProtocol", "ThresholdCount",
                  "EndpointConfigurations", "ListenerArn", "PortOverrides",
                  "DeregistrationDelaySeconds", "FirstByteTimeoutSeconds"});
  endpoint_group_config g;
  // Global Accelerator's defaults: 30 s interval, 3 checks, TCP unless a path is given.
  g.health.interval = std::chrono::seconds(30);
  g.health.healthy_threshold = g.health.unhealthy_threshold = 3;
  g.health.protocol = "TCP";
  const auto* r = find(o, "EndpointGroupRegion");
  if (!r) fail(join(path, "EndpointGroupRegion"), "is required");
  g.region = get_string(*r, join(path, "EndpointGroupRegion"));
  if (g.region.empty()) fail(join(path, "EndpointGroupRegion"), "must not be empty");
  if (const auto* d = find(o, "TrafficDialPercentage")) {
    g.traffic_dial = get_number(*d, join(path, "TrafficDialPercentage"));
    if (!(g.traffic_dial >= 0 && g.traffic_dial <= 100)) {
      fail(join(path, "TrafficDialPercentage"), "must be 0..100");
    }
  }
  if (find(o, "HealthCheckPath")) g.health.protocol = "HTTP";
  parse_health_protocol(o, path, g.health);
  if (const auto* p = find(o, "HealthCheckIntervalSeconds")) {
    g.health.interval = get_seconds(*p, join(path, "HealthCheckIntervalSeconds"), 0.05, 300);
  }
  // GA has no timeout setting; a check must answer within its interval (at most 5 s).
  g.health.timeout =
      std::min<std::chrono::milliseconds>(g.health.interval, std::chrono::seconds(5));
  if (const auto* t = find(o, "ThresholdCount")) {
    g.health.healthy_threshold = g.health.unhealthy_threshold =
        static_cast<int>(get_int(*t, join(path, "ThresholdCount"), 1, 10));
  }
  if (const auto* d = find(o, "DeregistrationDelaySeconds")) {
    g.deregistration_delay = get_seconds(*d, join(path, "DeregistrationDelaySeconds"), 0, 3600);
  }
  if (const auto* f = find(o, "FirstByteTimeoutSeconds")) {
    g.first_byte_timeout = get_seconds(*f, join(path, "FirstByteTimeoutSeconds"), 0, 3600);
    if (g.first_byte_timeout->count() > 0 &&
        *g.first_byte_timeout < std::chrono::milliseconds(10)) {
      fail(join(path, "FirstByteTimeoutSeconds"), "must be 0 (off) or at least 0.01");
    }
  }
  if (const auto* es = find(o, "EndpointConfigurations")) {
    const auto epath = join(path, "EndpointConfigurations");
    const auto& arr = as_array(*es, epath);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      auto e = parse_endpoint(arr[i], at(epath, i));
      if (!seen.insert(e.id()).second) fail(at(epath, i), "duplicate endpoint " + e.id());
      g.endpoints.push_back(std::move(e));
    }
  }
  return g;
}

accelerator_config parse_accelerator(const json::object& o) {
  reject_unknown(o, "", {"Role", "Listeners", "EndpointGroups"});
  accelerator_config acc;
  const auto* ls = find(o, "Listeners");
  if (!ls) fail("Listeners", "is required");
  const auto& larr = as_array(*ls, "Listeners");
  if (larr.empty()) fail("Listeners", "must not be empty");
  for (std::size_t i = 0; i < larr.size(); ++i) {
    const auto lpath = at("Listeners", i);
    const auto& lo = as_object(larr[i], lpath);
    reject_unknown(
        lo, lpath,
        {"PortRanges", "Protocol", "ClientAffinity", "ForwardingMode", "AcceleratorArn"});
    if (const auto* p = find(lo, "Protocol")) {
      if (get_string(*p, join(lpath, "Protocol")) != "TCP") {
        fail(join(lpath, "Protocol"), "must be TCP (UDP is not supported)");
      }
    }
    if (const auto* a = find(lo, "ClientAffinity")) {
      auto s = get_string(*a, join(lpath, "ClientAffinity"));
      if (s == "NONE") {
        acc.affinity = client_affinity::none;
      } else if (s == "SOURCE_IP") {
        acc.affinity = client_affinity::source_ip;
      } else {
        fail(join(lpath, "ClientAffinity"), "must be NONE or SOURCE_IP");
      }
    }
    if (const auto* m = find(lo, "ForwardingMode")) {
      auto s = get_string(*m, join(lpath, "ForwardingMode"));
      if (s == "TCP") {
        acc.mode = forwarding_mode::tcp;
      } else if (s == "HTTP") {
        acc.mode = forwarding_mode::http;
      } else {
        fail(join(lpath, "ForwardingMode"), "must be TCP or HTTP");
      }
    }
    const auto* prs = find(lo, "PortRanges");
    if (!prs) fail(join(lpath, "PortRanges"), "is required");
    const auto rpath = join(lpath, "PortRanges");
    const auto& rarr = as_array(*prs, rpath);
    if (rarr.empty()) fail(rpath, "must not be empty");
    for (std::size_t j = 0; j < rarr.size(); ++j) {
      const auto ppath = at(rpath, j);
      const auto& pr = as_object(rarr[j], ppath);
      reject_unknown(pr, ppath, {"FromPort", "ToPort"});
      const auto* f = find(pr, "FromPort");
      const auto* t = find(pr, "ToPort");
      if (!f) fail(join(ppath, "FromPort"), "is required");
      if (!t) fail(join(ppath, "ToPort"), "is required");
      long from = get_int(*f, join(ppath, "FromPort"), 0, 65535);
      long to = get_int(*t, join(ppath, "ToPort"), 0, 65535);
      if (to < from) fail(join(ppath, "ToPort"), "must not be below FromPort");
      if (to - from >= 64) fail(ppath, "must span at most 64 ports");
      for (long port = from; port <= to; ++port) {
        acc.ports.push_back(static_cast<std::uint16_t>(port));
      }
    }
  }
  const auto* gs = find(o, "EndpointGroups");
  if (!gs) fail("EndpointGroups", "is required");
  const auto& garr = as_array(*gs, "EndpointGroups");
  if (garr.empty()) fail("EndpointGroups", "must not be empty");
  std::set<std::string> regions;
  for (std::size_t i = 0; i < garr.size(); ++i) {
    auto g = parse_endpoint_group(garr[i], at("EndpointGroups", i));
    if (!regions.insert(g.region).second) {
      fail(at("EndpointGroups", i) + ".EndpointGroupRegion", "duplicate region " + g.region);
    }
    acc.groups.push_back(std::move(g));
  }
  return acc;
}

}  // namespace

result<std::vector<std::pair<int, int>>> parse_matcher(std::string_view codes) {
  std::vector<std::pair<int, int>> out;
  auto number = [](std::string_view s) -> int {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 100 || v > 599) return -1;
    return v;
  };
  std::size_t start = 0;
  while (start <= codes.size()) {
    auto comma = codes.find(',', start);
    auto part = codes.substr(start, comma == std::string_view::npos ? codes.npos : comma - start);
    auto dash = part.find('-');
    int lo = number(part.substr(0, dash));
    int hi = dash == std::string_view::npos ? lo : number(part.substr(dash + 1));
    if (lo < 0 || hi < 0 || hi < lo) {
      return error::invalid_argument("'" + std::string(part) +
                                     "' is not an HTTP code or range like 200-299");
    }
    out.emplace_back(lo, hi);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

result<target_config> parse_target_id(std::string_view id) {
  auto colon = id.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return error::invalid_argument("'" + std::string(id) + "' must be host:port");
  }
  int port = 0;
  auto ps = id.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port < 1 || port > 65535) {
    return error::invalid_argument("'" + std::string(id) + "' must end in a port 1..65535");
  }
  target_config t;
  t.host = std::string(id.substr(0, colon));
  t.port = static_cast<std::uint16_t>(port);
  return t;
}

std::chrono::milliseconds first_byte_timeout_or_default(const endpoint_group_config& g) {
  if (g.first_byte_timeout) return *g.first_byte_timeout;
  return std::max<std::chrono::milliseconds>(
      g.health.interval * std::max(1, g.health.unhealthy_threshold),
      std::chrono::milliseconds(500));
}

result<config> parse_config(std::string_view json_text) {
  boost::system::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec) return error::invalid_argument("configuration is not valid JSON: " + ec.message());
  try {
    const auto& o = as_object(root, "(root)");
    const auto* r = find(o, "Role");
    if (!r) fail("Role", "is required (LoadBalancer or Accelerator)");
    auto role = get_string(*r, "Role");
    config c;
    if (role == "LoadBalancer") {
      c.role = role_kind::load_balancer;
      c.load_balancer = parse_load_balancer(o);
    } else if (role == "Accelerator") {
      c.role = role_kind::accelerator;
      c.accelerator = parse_accelerator(o);
    } else {
      fail("Role", "must be LoadBalancer or Accelerator");
    }
    return c;
  } catch (const config_error& e) {
    return error::invalid_argument(e.message);
  }
}

}  // namespace mysfits::edge
