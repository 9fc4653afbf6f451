// Providers for AWS::ElasticLoadBalancingV2::{LoadBalancer,TargetGroup,Listener,ListenerRule}
// and AWS::GlobalAccelerator::{Accelerator,Listener,EndpointGroup}. Each resource becomes a
// record file (providers/local_records.h); the region's agent runs one mysfits-edge per load
// balancer from them, and `mysfits agent --region global` one per accelerator. References are
// checked at deploy time, so a template naming a missing target group fails with that name.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <random>
#include <set>

#include "mysfits/cloud/local_cloud.h"
#include "providers/local_records.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kAccount = "123456789012";
constexpr const char* kElb = "elb";
constexpr const char* kGa = "globalaccelerator";
constexpr const char* kGlobal = "global";

std::string random_hex(int n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (static_cast<int>(out.size()) < n) out += fmt::format("{:016x}", rng());
  return out.substr(0, static_cast<std::size_t>(n));
}

const json::object& props_of(const resource_request& req) {
  static const json::object empty;
  return req.properties.is_object() ? req.properties.as_object() : empty;
}

std::string str_of(const json::object& o, const char* key, std::string fallback = {}) {
  auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  return fallback;
}

// A created resource whose physical id is its record's Arn, also returned as the GetAtt
// attribute `arn_attribute` (none when null).
created_resource by_arn(const json::object& rec, const char* arn_attribute) {
  created_resource out;
  out.physical_id = std::string(rec.at("Arn").as_string());
  if (arn_attribute) out.attributes[arn_attribute] = out.physical_id;
  return out;
}

// A default name as CloudFormation makes one: stack-logical, at most `max` characters.
std::string default_name(const resource_request& req, std::size_t max) {
  auto n = fmt::format("{}-{}", req.stack_name, req.logical_id);
  if (n.size() > max - 9) n.resize(max - 9);
  n += "-" + random_hex(8);
  return n;
}

// The target group named by a forward action (TargetGroupArn or ForwardConfig's first group).
result<std::string> forward_target_group(const json::value& action, const std::string& where) {
  if (!action.is_object()) return error::invalid_argument(where + " must be an object");
  const auto& a = action.as_object();
  auto type = str_of(a, "Type");
  if (type != "forward") {
    return error::invalid_argument(fmt::format(
        "{}.Type: only 'forward' actions are supported locally, not '{}'", where, type));
  }
  auto tg = str_of(a, "TargetGroupArn");
  if (tg.empty()) {
    if (auto* fc = a.if_contains("ForwardConfig"); fc && fc->is_object()) {
      if (auto* tgs = fc->as_object().if_contains("TargetGroups");
          tgs && tgs->is_array() && tgs->as_array().size() == 1 && tgs->as_array()[0].is_object()) {
        tg = str_of(tgs->as_array()[0].as_object(), "TargetGroupArn");
      }
    }
  }
  if (tg.empty()) return error::invalid_argument(where + ".TargetGroupArn is required");
  return tg;
}

result<void> check_target_group(const fs::path& state, const std::string& region,
                                const std::string& arn, const std::string& where) {
  if (!records::find(state, kElb, region, "target-groups", arn)) {
    return error::invalid_argument(
        fmt::format("{}: target group {} does not exist in {}", where, arn, region));
  }
  return ok();
}

// ------------------------------------------------------------------------------------------
class load_balancer_provider : public resource_provider {
 public:
  explicit load_balancer_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    const auto& p = props_of(req);
    auto type = str_of(p, "Type", "application");
    if (type != "application") {
      return error::invalid_argument(
          fmt::format("Type {}: only application load balancers run locally", type));
    }
    auto name = str_of(p, "Name", default_name(req, 32));
    for (const auto& lb : records::list(state_, kElb, req.region, "load-balancers")) {
      if (str_of(lb, "Name") == name) {
        return error::already_exists(
            fmt::format("A load balancer with the name '{}' already exists", name));
      }
    }
    auto prefix = records::read_region(state_, req.region).address_prefix;
    auto host = prefix.empty() ? std::string("127.0.0.1") : prefix + ".1";
    auto port = records::free_port(host);
    if (!port) return port.error();
    auto id = random_hex(16);
    json::object rec{
        {"Arn", fmt::format("arn:aws:elasticloadbalancing:{}:{}:loadbalancer/app/{}/{}", req.region,
                            kAccount, name, id)},
        {"Name", name},
        {"Host", host},
        {"Port", *port},
        {"Properties", p}};
    if (auto w = records::put(state_, kElb, req.region, "load-balancers", rec); !w)
      return w.error();
    return created(rec, id);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto rec = records::find(state_, kElb, req.region, "load-balancers", cur.physical_id);
    if (!rec || str_of(props_of(req), "Name", str_of(*rec, "Name")) != str_of(*rec, "Name")) {
      return create(req);  // a new name is a new load balancer
    }
    (*rec)["Properties"] = props_of(req);
    if (auto w = records::put(state_, kElb, req.region, "load-balancers", *rec); !w)
      return w.error();
    return created(*rec, records::arn_id(cur.physical_id));
  }
  result<void> remove(const resource_request& req, const created_resource& cur) override {
    records::remove(state_, kElb, req.region, "load-balancers", cur.physical_id);
    return ok();
  }

 private:
  static created_resource created(const json::object& rec, const std::string& id) {
    created_resource out = by_arn(rec, nullptr);
    auto name = str_of(rec, "Name");
    out.attributes["LoadBalancerName"] = name;
    out.attributes["LoadBalancerFullName"] = fmt::format("app/{}/{}", name, id);
    // Locally the load balancer's address is host:port on the region's loopback block.
    out.attributes["DNSName"] =
        fmt::format("{}:{}", str_of(rec, "Host"), rec.at("Port").as_int64());
    out.attributes["CanonicalHostedZoneID"] = "Z1H1FL5HABSF5";
    json::array sgs;
    if (auto* s = rec.at("Properties").as_object().if_contains("SecurityGroups");
        s && s->is_array())
      sgs = s->as_array();
    out.attributes["SecurityGroups"] = sgs;
    return out;
  }
  fs::path state_;
};

// ------------------------------------------------------------------------------------------
class target_group_provider : public resource_provider {
 public:
  explicit target_group_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    const auto& p = props_of(req);
    if (auto r = validate(p); !r) return r.error();
    auto name = str_of(p, "Name", default_name(req, 32));
    for (const auto& tg : records::list(state_, kElb, req.region, "target-groups")) {
      if (str_of(tg, "Name") == name) {
        return error::already_exists(
            fmt::format("A target group with the name '{}' already exists", name));
      }
    }
    auto id = random_hex(16);
    json::object rec{{"Arn", fmt::format("arn:aws:elasticloadbalancing:{}:{}:targetgroup/{}/{}",
                                         req.region, kAccount, name, id)},
                     {"Name", name},
                     {"Properties", p}};
    if (auto w = records::put(state_, kElb, req.region, "target-groups", rec); !w) return w.error();
    return created(rec, id);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    const auto& p = props_of(req);
    if (auto r = validate(p); !r) return r.error();
    auto rec = records::find(state_, kElb, req.region, "target-groups", cur.physical_id);
    if (!rec || str_of(p, "Name", str_of(*rec, "Name")) != str_of(*rec, "Name")) return create(req);
    (*rec)["Properties"] = p;
    if (auto w = records::put(state_, kElb, req.region, "target-groups", *rec); !w)
      return w.error();
    return created(*rec, records::arn_id(cur.physical_id));
  }
  result<void> remove(const resource_request& req, const created_resource& cur) override {
    records::remove(state_, kElb, req.region, "target-groups", cur.physical_id);
    return ok();
  }

 private:
  static result<void> validate(const json::object& p) {
    auto protocol = str_of(p, "Protocol", "HTTP");
    if (protocol != "HTTP") {
      return error::invalid_argument(
          fmt::format("Protocol {}: only HTTP target groups run locally", protocol));
    }
    auto type = str_of(p, "TargetType", "ip");
    if (type != "ip" && type != "instance") {
      return error::invalid_argument(
          fmt::format("TargetType {}: only ip and instance targets run locally", type));
    }
    return ok();
  }
  static created_resource created(const json::object& rec, const std::string& id) {
    created_resource out = by_arn(rec, "TargetGroupArn");
    auto name = str_of(rec, "Name");
    out.attributes["TargetGroupName"] = name;
    out.attributes["TargetGroupFullName"] = fmt::format("targetgroup/{}/{}", name, id);
    out.attributes["LoadBalancerArns"] = json::array{};
    return out;
  }
  fs::path state_;
};

// ------------------------------------------------------------------------------------------
class listener_provider : public resource_provider {
 public:
  explicit listener_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    auto lb = check(req);
    if (!lb) return lb.error();
    for (const auto& l : records::list(state_, kElb, req.region, "listeners")) {
      if (str_of(l, "LoadBalancerArn") == str_of(*lb, "Arn")) {
        return error::invalid_argument(
            fmt::format("load balancer {} already has a listener; a local load balancer has one",
                        str_of(*lb, "Name")));
      }
    }
    auto lb_arn = str_of(*lb, "Arn");
    auto lb_path = lb_arn.substr(lb_arn.find(":loadbalancer/") + 14);  // app/name/id
    json::object rec{{"Arn", fmt::format("arn:aws:elasticloadbalancing:{}:{}:listener/{}/{}",
                                         req.region, kAccount, lb_path, random_hex(16))},
                     {"LoadBalancerArn", lb_arn},
                     {"Properties", props_of(req)}};
    if (auto w = records::put(state_, kElb, req.region, "listeners", rec); !w) return w.error();
    return created(rec);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto lb = check(req);
    if (!lb) return lb.error();
    auto rec = records::find(state_, kElb, req.region, "listeners", cur.physical_id);
    if (!rec || str_of(*rec, "LoadBalancerArn") != str_of(*lb, "Arn")) {
      return error::invalid_argument(
          "changing a listener's LoadBalancerArn replaces it; delete the listener first");
    }
    (*rec)["Properties"] = props_of(req);
    if (auto w = records::put(state_, kElb, req.region, "listeners", *rec); !w) return w.error();
    return created(*rec);
  }
  result<void> remove(const resource_request& req, const created_resource& cur) override {
    records::remove(state_, kElb, req.region, "listeners", cur.physical_id);
    return ok();
  }

 private:
  result<json::object> check(const resource_request& req) const {
    const auto& p = props_of(req);
    auto protocol = str_of(p, "Protocol", "HTTP");
    if (protocol != "HTTP") {
      return error::invalid_argument(
          fmt::format("Protocol {}: only HTTP listeners run locally", protocol));
    }
    auto lb_arn = str_of(p, "LoadBalancerArn");
    if (lb_arn.empty()) return error::invalid_argument("LoadBalancerArn is required");
    auto lb = records::find(state_, kElb, req.region, "load-balancers", lb_arn);
    if (!lb) {
      return error::invalid_argument(fmt::format(
          "LoadBalancerArn: load balancer {} does not exist in {}", lb_arn, req.region));
    }
    auto* actions = p.if_contains("DefaultActions");
    if (!actions || !actions->is_array() || actions->as_array().size() != 1) {
      return error::invalid_argument("DefaultActions: exactly one forward action is required");
    }
    auto tg = forward_target_group(actions->as_array()[0], "DefaultActions[0]");
    if (!tg) return tg.error();
    if (auto c = check_target_group(state_, req.region, *tg, "DefaultActions[0]"); !c)
      return c.error();
    return *lb;
  }
  static created_resource created(const json::object& rec) { return by_arn(rec, "ListenerArn"); }
  fs::path state_;
};

// ------------------------------------------------------------------------------------------
class listener_rule_provider : public resource_provider {
 public:
  explicit listener_rule_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    auto listener = check(req, "");
    if (!listener) return listener.error();
    auto l_arn = str_of(*listener, "Arn");
    auto l_path = l_arn.substr(l_arn.find(":listener/") + 10);
    json::object rec{{"Arn", fmt::format("arn:aws:elasticloadbalancing:{}:{}:listener-rule/{}/{}",
                                         req.region, kAccount, l_path, random_hex(16))},
                     {"ListenerArn", l_arn},
                     {"Properties", props_of(req)}};
    if (auto w = records::put(state_, kElb, req.region, "rules", rec); !w) return w.error();
    return created(rec);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto listener = check(req, cur.physical_id);
    if (!listener) return listener.error();
    auto rec = records::find(state_, kElb, req.region, "rules", cur.physical_id);
    if (!rec || str_of(*rec, "ListenerArn") != str_of(*listener, "Arn")) return create(req);
    (*rec)["Properties"] = props_of(req);
    if (auto w = records::put(state_, kElb, req.region, "rules", *rec); !w) return w.error();
    return created(*rec);
  }
  result<void> remove(const resource_request& req, const created_resource& cur) override {
    records::remove(state_, kElb, req.region, "rules", cur.physical_id);
    return ok();
  }

 private:
  result<json::object> check(const resource_request& req, const std::string& self) const {
    const auto& p = props_of(req);
    auto l_arn = str_of(p, "ListenerArn");
    if (l_arn.empty()) return error::invalid_argument("ListenerArn is required");
    auto listener = records::find(state_, kElb, req.region, "listeners", l_arn);
    if (!listener) {
      return error::invalid_argument(
          fmt::format("ListenerArn: listener {} does not exist in {}", l_arn, req.region));
    }
    auto priority = records::numeric(p.contains("Priority") ? p.at("Priority") : json::value());
    if (!priority.is_int64() || priority.as_int64() < 1 || priority.as_int64() > 50000) {
      return error::invalid_argument("Priority: must be an integer from 1 to 50000");
    }
    for (const auto& r : records::list(state_, kElb, req.region, "rules")) {
      if (str_of(r, "ListenerArn") != l_arn || str_of(r, "Arn") == self) continue;
      auto other = records::numeric(r.at("Properties").as_object().at("Priority"));
      if (other == priority) {
        return error::invalid_argument(
            fmt::format("Priority '{}' is currently in use", priority.as_int64()));
      }
    }
    auto* conditions = p.if_contains("Conditions");
    if (!conditions || !conditions->is_array() || conditions->as_array().empty()) {
      return error::invalid_argument("Conditions: at least one condition is required");
    }
    for (std::size_t i = 0; i < conditions->as_array().size(); ++i) {
      const auto& c = conditions->as_array()[i];
      auto field = c.is_object() ? str_of(c.as_object(), "Field") : std::string();
      if (field != "path-pattern") {
        return error::invalid_argument(fmt::format(
            "Conditions[{}].Field: only path-pattern conditions are supported locally, not '{}'", i,
            field));
      }
    }
    auto* actions = p.if_contains("Actions");
    if (!actions || !actions->is_array() || actions->as_array().size() != 1) {
      return error::invalid_argument("Actions: exactly one forward action is required");
    }
    auto tg = forward_target_group(actions->as_array()[0], "Actions[0]");
    if (!tg) return tg.error();
    if (auto c = check_target_group(state_, req.region, *tg, "Actions[0]"); !c) return c.error();
    return *listener;
  }
  static created_resource created(const json::object& rec) {
    created_resource out = by_arn(rec, "RuleArn");
    out.attributes["IsDefault"] = false;
    return out;
  }
  fs::path state_;
};

// ------------------------------------------------------------------------------------------
class accelerator_provider : public resource_provider {
 public:
  explicit accelerator_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    const auto& p = props_of(req);
    auto name = str_of(p, "Name");
    if (name.empty()) return error::invalid_argument("Name is required");
    auto port = records::free_port("127.0.0.1");
    if (!port) return port.error();
    auto id = fmt::format("{}-{}-{}-{}-{}", random_hex(8), random_hex(4), random_hex(4),
                          random_hex(4), random_hex(12));
    json::object rec{
        {"Arn", fmt::format("arn:aws:globalaccelerator::{}:accelerator/{}", kAccount, id)},
        {"Name", name},
        {"Host", "127.0.0.1"},
        {"Port", *port},
        {"Properties", p}};
    if (auto w = records::put(state_, kGa, kGlobal, "accelerators", rec); !w) return w.error();
    return created(rec);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto rec = records::find(state_, kGa, kGlobal, "accelerators", cur.physical_id);
    if (!rec) return create(req);
    auto name = str_of(props_of(req), "Name");
    if (name.empty()) return error::invalid_argument("Name is required");
    (*rec)["Name"] = name;
    (*rec)["Properties"] = props_of(req);
    if (auto w = records::put(state_, kGa, kGlobal, "accelerators", *rec); !w) return w.error();
    return created(*rec);
  }
  result<void> remove(const resource_request&, const created_resource& cur) override {
    records::remove(state_, kGa, kGlobal, "accelerators", cur.physical_id);
    return ok();
  }

 private:
  static created_resource created(const json::object& rec) {
    created_resource out = by_arn(rec, "AcceleratorArn");
    // Locally the accelerator is one address:port on the loopback.
    out.attributes["DnsName"] =
        fmt::format("{}:{}", str_of(rec, "Host"), rec.at("Port").as_int64());
    out.attributes["Ipv4Addresses"] = json::array{json::string(str_of(rec, "Host"))};
    out.attributes["Ipv6Addresses"] = json::array{};
    out.attributes["DualStackDnsName"] = out.attributes["DnsName"];
    return out;
  }
  fs::path state_;
};

class ga_listener_provider : public resource_provider {
 public:
  explicit ga_listener_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    auto acc = check(req);
    if (!acc) return acc.error();
    json::object rec{{"Arn", fmt::format("{}/listener/{}", str_of(*acc, "Arn"), random_hex(8))},
                     {"AcceleratorArn", str_of(*acc, "Arn")},
                     {"Properties", props_of(req)}};
    if (auto w = records::put(state_, kGa, kGlobal, "listeners", rec); !w) return w.error();
    return created(rec);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto acc = check(req);
    if (!acc) return acc.error();
    auto rec = records::find(state_, kGa, kGlobal, "listeners", cur.physical_id);
    if (!rec || str_of(*rec, "AcceleratorArn") != str_of(*acc, "Arn")) return create(req);
    (*rec)["Properties"] = props_of(req);
    if (auto w = records::put(state_, kGa, kGlobal, "listeners", *rec); !w) return w.error();
    return created(*rec);
  }
  result<void> remove(const resource_request&, const created_resource& cur) override {
    records::remove(state_, kGa, kGlobal, "listeners", cur.physical_id);
    return ok();
  }

 private:
  result<json::object> check(const resource_request& req) const {
    const auto& p = props_of(req);
    auto acc_arn = str_of(p, "AcceleratorArn");
    auto acc = records::find(state_, kGa, kGlobal, "accelerators", acc_arn);
    if (!acc) {
      return error::invalid_argument(
          fmt::format("AcceleratorArn: accelerator '{}' does not exist", acc_arn));
    }
    auto protocol = str_of(p, "Protocol", "TCP");
    if (protocol != "TCP") {
      return error::invalid_argument(
          fmt::format("Protocol {}: only TCP listeners run locally", protocol));
    }
    auto* ranges = p.if_contains("PortRanges");
    if (!ranges || !ranges->is_array() || ranges->as_array().empty()) {
      return error::invalid_argument("PortRanges: at least one port range is required");
    }
    auto affinity = str_of(p, "ClientAffinity", "NONE");
    if (affinity != "NONE" && affinity != "SOURCE_IP") {
      return error::invalid_argument("ClientAffinity: must be NONE or SOURCE_IP");
    }
    return *acc;
  }
  static created_resource created(const json::object& rec) { return by_arn(rec, "ListenerArn"); }
  fs::path state_;
};

class endpoint_group_provider : public resource_provider {
 public:
  explicit endpoint_group_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    auto listener = check(req, "");
    if (!listener) return listener.error();
    json::object rec{
        {"Arn", fmt::format("{}/endpoint-group/{}", str_of(*listener, "Arn"), random_hex(12))},
        {"ListenerArn", str_of(*listener, "Arn")},
        {"Created", std::chrono::system_clock::now().time_since_epoch().count()},
        {"Properties", props_of(req)}};
    if (auto w = records::put(state_, kGa, kGlobal, "endpoint-groups", rec); !w) return w.error();
    return created(rec);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto listener = check(req, cur.physical_id);
    if (!listener) return listener.error();
    auto rec = records::find(state_, kGa, kGlobal, "endpoint-groups", cur.physical_id);
    if (!rec || str_of(*rec, "ListenerArn") != str_of(*listener, "Arn")) return create(req);
    (*rec)["Properties"] = props_of(req);
    if (auto w = records::put(state_, kGa, kGlobal, "endpoint-groups", *rec); !w) return w.error();
    return created(*rec);
  }
  result<void> remove(const resource_request&, const created_resource& cur) override {
    records::remove(state_, kGa, kGlobal, "endpoint-groups", cur.physical_id);
    return ok();
  }

 private:
  result<json::object> check(const resource_request& req, const std::string& self) const {
    const auto& p = props_of(req);
    auto l_arn = str_of(p, "ListenerArn");
    auto listener = records::find(state_, kGa, kGlobal, "listeners", l_arn);
    if (!listener) {
      return error::invalid_argument(
          fmt::format("ListenerArn: accelerator listener '{}' does not exist", l_arn));
    }
    auto region = str_of(p, "EndpointGroupRegion");
    if (region.empty()) return error::invalid_argument("EndpointGroupRegion is required");
    for (const auto& g : records::list(state_, kGa, kGlobal, "endpoint-groups")) {
      if (str_of(g, "ListenerArn") == l_arn && str_of(g, "Arn") != self &&
          str_of(g.at("Properties").as_object(), "EndpointGroupRegion") == region) {
        return error::already_exists(
            fmt::format("the listener already has an endpoint group for {}", region));
      }
    }
    if (auto* d = p.if_contains("TrafficDialPercentage")) {
      auto n = records::numeric(*d);
      double v = n.is_int64()    ? static_cast<double>(n.as_int64())
                 : n.is_double() ? n.as_double()
                                 : -1;
      if (!(v >= 0 && v <= 100))
        return error::invalid_argument("TrafficDialPercentage: must be 0..100");
    }
    if (auto* es = p.if_contains("EndpointConfigurations"); es && es->is_array()) {
      for (std::size_t i = 0; i < es->as_array().size(); ++i) {
        const auto& e = es->as_array()[i];
        auto id = e.is_object() ? str_of(e.as_object(), "EndpointId") : std::string();
        if (id.rfind("arn:aws:elasticloadbalancing:", 0) == 0) {
          if (!records::find_any_region(state_, kElb, "load-balancers", id)) {
            return error::invalid_argument(fmt::format(
                "EndpointConfigurations[{}].EndpointId: load balancer {} does not exist", i, id));
          }
        } else if (id.find(':') == std::string::npos) {
          return error::invalid_argument(fmt::format(
              "EndpointConfigurations[{}].EndpointId: '{}' is neither a load balancer ARN nor "
              "host:port",
              i, id));
        }
      }
    }
    return *listener;
  }
  static created_resource created(const json::object& rec) {
    return by_arn(rec, "EndpointGroupArn");
  }
  fs::path state_;
};

}  // namespace

void add_elb_ga_providers(provider_registry& r, const fs::path& state_dir) {
  r.add("AWS::ElasticLoadBalancingV2::LoadBalancer",
        std::make_shared<load_balancer_provider>(state_dir));
  r.add("AWS::ElasticLoadBalancingV2::TargetGroup",
        std::make_shared<target_group_provider>(state_dir));
  r.add("AWS::ElasticLoadBalancingV2::Listener", std::make_shared<listener_provider>(state_dir));
  r.add("AWS::ElasticLoadBalancingV2::ListenerRule",
        std::make_shared<listener_rule_provider>(state_dir));
  r.add("AWS::GlobalAccelerator::Accelerator", std::make_shared<accelerator_provider>(state_dir));
  r.add("AWS::GlobalAccelerator::Listener", std::make_shared<ga_listener_provider>(state_dir));
  r.add("AWS::GlobalAccelerator::EndpointGroup",
        std::make_shared<endpoint_group_provider>(state_dir));
}

}  // namespace mysfits::cloud
