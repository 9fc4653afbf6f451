// mysfits-edge configurations from the records, and the edge processes of an agent.
#include "runtime/edge_fleet.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "mysfits/edge/edge.h"
#include "providers/local_records.h"
#include "registry/oci_layout.h"

namespace mysfits::cloud::edge_runtime {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string str_of(const json::object& o, const char* key, std::string fallback = {}) {
  auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  return fallback;
}

const json::object& props(const json::object& rec) {
  static const json::object empty;
  auto* p = rec.if_contains("Properties");
  return p && p->is_object() ? p->as_object() : empty;
}

std::string forward_arn(const json::value& action) {
  const auto& a = action.as_object();
  auto tg = str_of(a, "TargetGroupArn");
  if (tg.empty()) {
    if (auto* fc = a.if_contains("ForwardConfig"); fc && fc->is_object()) {
      if (auto* tgs = fc->as_object().if_contains("TargetGroups"); tgs && tgs->is_array()) {
        if (!tgs->as_array().empty()) tg = str_of(tgs->as_array()[0].as_object(), "TargetGroupArn");
      }
    }
  }
  return tg;
}

void copy_numeric(const json::object& from, json::object& to,
                  std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (auto* v = from.if_contains(k)) to[k] = records::numeric(*v);
  }
}

void copy_plain(const json::object& from, json::object& to,
                std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (auto* v = from.if_contains(k)) to[k] = *v;
  }
}

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

std::string cmdline(int pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  auto out = s.str();
  std::replace(out.begin(), out.end(), '\0', ' ');
  return out;
}

}  // namespace

fs::path runtime_dir(const fs::path& state, const std::string& region) {
  return region == "global" ? state / "runtime" / "globalaccelerator"
                            : state / "runtime" / "elb" / region;
}

result<json::object> load_balancer_config(const fs::path& state, const std::string& region,
                                          const json::object& lb, const target_map& targets) {
  auto lb_arn = str_of(lb, "Arn");
  std::optional<json::object> listener;
  for (auto& l : records::list(state, "elb", region, "listeners")) {
    if (str_of(l, "LoadBalancerArn") == lb_arn) listener = l;
  }
  if (!listener) return error::not_found(fmt::format("load balancer {} has no listener", lb_arn));
  std::map<std::string, json::object> groups;  // arn → record
  for (auto& tg : records::list(state, "elb", region, "target-groups"))
    groups[str_of(tg, "Arn")] = tg;
  std::vector<std::string> used;
  auto name_of = [&](const std::string& arn, const std::string& where) -> result<std::string> {
    auto it = groups.find(arn);
    if (it == groups.end()) {
      return error::not_found(fmt::format("{}: target group {} does not exist", where, arn));
    }
    if (std::find(used.begin(), used.end(), arn) == used.end()) used.push_back(arn);
    return str_of(it->second, "Name");
  };

  json::object out{{"Role", "LoadBalancer"}};
  const auto& lp = props(*listener);
  auto* da = lp.if_contains("DefaultActions");
  if (!da || !da->is_array() || da->as_array().empty())
    return error::invalid_argument("listener " + str_of(*listener, "Arn") +
                                   " has no DefaultActions");
  auto def = name_of(forward_arn(da->as_array()[0]), "DefaultActions[0]");
  if (!def) return def.error();
  out["Listener"] = json::object{
      {"Port", lb.at("Port")},
      {"Protocol", "HTTP"},
      {"DefaultActions", json::array{json::object{{"Type", "forward"}, {"TargetGroupArn", *def}}}}};

  json::array rules;
  for (const auto& r : records::list(state, "elb", region, "rules")) {
    if (str_of(r, "ListenerArn") != str_of(*listener, "Arn")) continue;
    const auto& rp = props(r);
    json::array conditions;
    for (const auto& c : rp.at("Conditions").as_array()) {
      const auto& co = c.as_object();
      json::value values = json::array{};
      if (auto* ppc = co.if_contains("PathPatternConfig"); ppc && ppc->is_object()) {
        if (auto* v = ppc->as_object().if_contains("Values")) values = *v;
      } else if (auto* v = co.if_contains("Values")) {
        values = *v;
      }
      conditions.push_back(json::object{{"Field", "path-pattern"}, {"Values", values}});
    }
    auto tg = name_of(forward_arn(rp.at("Actions").as_array()[0]), "rule " + str_of(r, "Arn"));
    if (!tg) return tg.error();
    rules.push_back(json::object{
        {"Priority", records::numeric(rp.at("Priority"))},
        {"Conditions", conditions},
        {"Actions", json::array{json::object{{"Type", "forward"}, {"TargetGroupArn", *tg}}}}});
  }
  out["ListenerRules"] = std::move(rules);

  json::array tgs;
  for (const auto& arn : used) {
    const auto& rec = groups[arn];
    const auto& p = props(rec);
    json::object g{{"Name", str_of(rec, "Name")}};
    copy_numeric(p, g,
                 {"Port", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
                  "HealthyThresholdCount", "UnhealthyThresholdCount"});
    copy_plain(
        p, g,
        {"Protocol", "HealthCheckPath", "HealthCheckProtocol", "Matcher", "TargetGroupAttributes"});
    if (auto* hp = p.if_contains("HealthCheckPort")) {
      g["HealthCheckPort"] =
          hp->is_string() && hp->as_string() == "traffic-port" ? *hp : records::numeric(*hp);
    }
    json::array members;
    if (auto it = targets.find(arn); it != targets.end()) {
      for (const auto& id : it->second) {
        auto colon = id.rfind(':');
        members.push_back(
            json::object{{"Id", id.substr(0, colon)}, {"Port", std::stoi(id.substr(colon + 1))}});
      }
    }
    g["Targets"] = std::move(members);
    tgs.push_back(std::move(g));
  }
  out["TargetGroups"] = std::move(tgs);
  return out;
}

result<json::object> accelerator_config(const fs::path& state, const json::object& acc) {
  auto acc_arn = str_of(acc, "Arn");
  std::optional<json::object> listener;
  for (auto& l : records::list(state, "globalaccelerator", "global", "listeners")) {
    if (str_of(l, "AcceleratorArn") == acc_arn && !listener) listener = l;
  }
  if (!listener) return error::not_found(fmt::format("accelerator {} has no listener", acc_arn));
  const auto& lp = props(*listener);
  json::object l{{"PortRanges", json::array{json::object{{"FromPort", acc.at("Port")},
                                                         {"ToPort", acc.at("Port")}}}},
                 {"Protocol", "TCP"},
                 {"ClientAffinity", str_of(lp, "ClientAffinity", "NONE")},
                 {"ForwardingMode", "HTTP"}};
  std::vector<json::object> egs;
  for (auto& g : records::list(state, "globalaccelerator", "global", "endpoint-groups")) {
    if (str_of(g, "ListenerArn") == str_of(*listener, "Arn")) egs.push_back(g);
  }
  // Groups in the order they were created (the template's order of preference).
  std::stable_sort(egs.begin(), egs.end(), [](const json::object& a, const json::object& b) {
    auto ca = a.if_contains("Created"), cb = b.if_contains("Created");
    return (ca ? ca->to_number<double>() : 0) < (cb ? cb->to_number<double>() : 0);
  });
  json::array groups;
  for (const auto& g : egs) {
    const auto& p = props(g);
    json::object o;
    copy_plain(p, o, {"EndpointGroupRegion", "HealthCheckPath", "HealthCheckProtocol"});
    copy_numeric(p, o, {"TrafficDialPercentage", "HealthCheckIntervalSeconds", "ThresholdCount"});
    json::array endpoints;
    if (auto* es = p.if_contains("EndpointConfigurations"); es && es->is_array()) {
      for (const auto& e : es->as_array()) {
        const auto& eo = e.as_object();
        auto id = str_of(eo, "EndpointId");
        if (id.rfind("arn:aws:elasticloadbalancing:", 0) == 0) {
          auto lb = records::find_any_region(state, "elb", "load-balancers", id);
          if (!lb) {
            return error::not_found(fmt::format(
                "endpoint group {}: load balancer {} does not exist", str_of(g, "Arn"), id));
          }
          id = fmt::format("{}:{}", str_of(*lb, "Host"), lb->at("Port").as_int64());
        }
        json::object ep{{"EndpointId", id}};
        copy_numeric(eo, ep, {"Weight"});
        copy_plain(eo, ep, {"ClientIPPreservationEnabled"});
        endpoints.push_back(std::move(ep));
      }
    }
    o["EndpointConfigurations"] = std::move(endpoints);
    groups.push_back(std::move(o));
  }
  return json::object{{"Role", "Accelerator"},
                      {"Listeners", json::array{l}},
                      {"EndpointGroups", std::move(groups)}};
}

// ------------------------------------------------------------------------------------------
struct fleet::impl {
  fs::path state;
  std::string region;
  fs::path edge_binary;
  process_supervisor supervisor{std::chrono::seconds(5)};
  struct running {
    json::object record;
    std::string key;  // the configuration without targets: a change restarts the edge
    int pid = 0;
    std::string url, control;
  };
  std::map<std::string, running> edges;  // record ARN → edge
  target_map targets;
  std::map<std::string, std::string> tg_names;  // target group ARN → name
  std::map<std::string, std::string> tg_owner;  // target group ARN → load balancer ARN
  std::map<std::string, std::map<std::string, task_health>> health_view;
  std::string seen;

  bool global() const { return region == "global"; }

  std::string records_fingerprint() const {
    if (global())
      return records::fingerprint(state / "globalaccelerator") + "|" +
             records::fingerprint(state / "elb");
    return records::fingerprint(state / "elb" / region);
  }

  std::vector<json::object> wanted() const {
    return global() ? records::list(state, "globalaccelerator", "global", "accelerators")
                    : records::list(state, "elb", region, "load-balancers");
  }

  result<json::object> config_for(const json::object& rec, const target_map& t) const {
    return global() ? accelerator_config(state, rec) : load_balancer_config(state, region, rec, t);
  }

  void stop(const std::string& arn) {
    auto it = edges.find(arn);
    if (it == edges.end()) return;
    spdlog::info("{}: stopping edge for {} (pid {})", region, arn, it->second.pid);
    supervisor.stop(it->second.pid);
    std::error_code ec;
    fs::remove(runtime_dir(state, region) / (records::arn_id(arn) + ".json"), ec);
    edges.erase(it);
  }

  void start(const json::object& rec, const json::object& cfg, const std::string& key) {
    auto arn = str_of(rec, "Arn");
    auto id = records::arn_id(arn);
    auto dir = runtime_dir(state, region);
    std::error_code ec;
    fs::create_directories(dir, ec);
    auto config_path = dir / (id + ".config.json");
    auto log = dir / (id + ".log");
    // An edge left running by an agent that was killed holds the port: end it (by its pid,
    // after checking it runs this very configuration).
    if (auto old = records::read_object(dir / (id + ".json"))) {
      int pid = old->contains("pid") ? static_cast<int>(old->at("pid").to_number<int64_t>()) : 0;
      if (alive(pid) && cmdline(pid).find(config_path.string()) != std::string::npos) {
        ::kill(pid, SIGKILL);
        for (int i = 0; i < 200 && alive(pid); ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (auto w = oci::write_file_atomically(config_path, json::serialize(cfg)); !w) {
      spdlog::error("{}: {}", region, w.error().message);
      return;
    }
    fs::remove(log, ec);
    auto host = str_of(rec, "Host", "127.0.0.1");
    process_spec spec;
    spec.argv = {edge_binary.string(), "serve", "--config",          config_path.string(),
                 "--listen-address",   host,    "--control-address", host,
                 "--control-port",     "0",     "--threads",         "2",
                 "--log-level",        "info"};
    if (const char* path = std::getenv("PATH")) spec.env["PATH"] = path;
    if (const char* asan = std::getenv("ASAN_OPTIONS")) spec.env["ASAN_OPTIONS"] = asan;
    spec.working_dir = dir;
    spec.log_file = log;
    auto pid = supervisor.start(spec);
    if (!pid) {
      spdlog::error("{}: cannot start {}: {}", region, edge_binary.string(), pid.error().message);
      return;
    }
    std::string control;
    for (int i = 0; i < 300 && control.empty(); ++i) {
      std::ifstream in(log);
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("control http://", 0) == 0) control = line.substr(8);
      }
      if (!control.empty()) break;
      if (!supervisor.reap().empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (control.empty()) {
      std::ifstream in(log);
      std::stringstream s;
      s << in.rdbuf();
      spdlog::error("{}: the edge for {} did not start: {}", region, arn, s.str());
      supervisor.stop(*pid);
      return;
    }
    running r{rec, key, *pid, fmt::format("http://{}:{}", host, rec.at("Port").as_int64()),
              control};
    json::object published{{"Arn", arn},
                           {"Name", str_of(rec, "Name")},
                           {"url", r.url},
                           {"control", control},
                           {"pid", *pid},
                           {"log", log.string()},
                           {"config", config_path.string()}};
    if (auto w = oci::write_file_atomically(dir / (id + ".json"), json::serialize(published)); !w)
      spdlog::warn("{}: {}", region, w.error().message);
    spdlog::info("{}: edge for {} serving {} (control {}, pid {})", region, arn, r.url, control,
                 *pid);
    edges[arn] = std::move(r);
  }

  void sync() {
    bool exited = false;
    for (const auto& [pid, status] : supervisor.reap()) {
      for (auto it = edges.begin(); it != edges.end(); ++it) {
        if (it->second.pid == pid) {
          spdlog::warn("{}: edge for {} exited (status {}); restarting", region, it->first, status);
          edges.erase(it);
          exited = true;
          break;
        }
      }
    }
    auto fp = records_fingerprint();
    if (fp == seen && !exited) return;
    seen = fp;
    tg_names.clear();
    tg_owner.clear();
    if (!global()) {
      for (const auto& tg : records::list(state, "elb", region, "target-groups"))
        tg_names[str_of(tg, "Arn")] = str_of(tg, "Name");
    }
    std::set<std::string> keep;
    for (const auto& rec : wanted()) {
      auto arn = str_of(rec, "Arn");
      auto bare = config_for(rec, {});
      if (!bare) {
        if (bare.error().code != errc::not_found || edges.contains(arn))
          spdlog::error("{}: {}", region, bare.error().message);
        continue;
      }
      keep.insert(arn);
      if (!global()) {
        for (const auto& g : bare->at("TargetGroups").as_array()) {
          for (const auto& [tg_arn, name] : tg_names) {
            if (name == g.at("Name").as_string()) tg_owner[tg_arn] = arn;
          }
        }
      }
      auto key = json::serialize(*bare);
      auto it = edges.find(arn);
      if (it != edges.end() && it->second.key == key) continue;
      if (it != edges.end()) stop(arn);
      auto full = config_for(rec, targets);
      if (full) start(rec, *full, key);
    }
    std::vector<std::string> gone;
    for (const auto& [arn, e] : edges)
      if (!keep.contains(arn)) gone.push_back(arn);
    for (const auto& arn : gone) stop(arn);
  }

  const running* owner_of(const std::string& tg_arn) const {
    auto o = tg_owner.find(tg_arn);
    if (o == tg_owner.end()) return nullptr;
    auto e = edges.find(o->second);
    return e == edges.end() ? nullptr : &e->second;
  }
};

fleet::fleet(fs::path state, std::string region, fs::path edge_binary)
    : impl_(std::make_unique<impl>()) {
  impl_->state = std::move(state);
  impl_->region = std::move(region);
  impl_->edge_binary = std::move(edge_binary);
}

fleet::~fleet() { stop_all(); }

void fleet::sync() { impl_->sync(); }

void fleet::register_target(const std::string& tg_arn, const std::string& id) {
  impl_->targets[tg_arn].insert(id);
  if (const auto* e = impl_->owner_of(tg_arn)) {
    auto r =
        edge::control_request(e->control, "POST", "/groups/" + impl_->tg_names[tg_arn] + "/targets",
                              json::serialize(json::object{{"Id", id}}));
    if (!r && r.error().message.rfind("409", 0) != 0)
      spdlog::warn("{}: registering {} with {}: {}", impl_->region, id, tg_arn, r.error().message);
  }
}

void fleet::deregister_target(const std::string& tg_arn, const std::string& id) {
  impl_->targets[tg_arn].erase(id);
  if (const auto* e = impl_->owner_of(tg_arn)) {
    auto r = edge::control_request(e->control, "DELETE",
                                   "/groups/" + impl_->tg_names[tg_arn] + "/targets/" + id, "");
    if (!r && r.error().message.rfind("404", 0) != 0)
      spdlog::warn("{}: deregistering {} from {}: {}", impl_->region, id, tg_arn,
                   r.error().message);
  }
}

void fleet::refresh_health() {
  impl_->health_view.clear();
  for (const auto& [tg_arn, lb_arn] : impl_->tg_owner) {
    const auto* e = impl_->owner_of(tg_arn);
    if (!e) continue;
    auto body = edge::control_request(e->control, "GET", "/health", "");
    if (!body) continue;
    boost::system::error_code ec;
    auto v = json::parse(*body, ec);
    if (ec || !v.is_object()) continue;
    auto* g = v.as_object().if_contains(impl_->tg_names[tg_arn]);
    if (!g || !g->is_object()) continue;
    for (const auto& kv : g->as_object()) {
      auto s = kv.value().is_string() ? std::string(kv.value().as_string()) : std::string();
      impl_->health_view[tg_arn][kv.key()] = s == "healthy"     ? task_health::healthy
                                             : s == "unhealthy" ? task_health::unhealthy
                                                                : task_health::unknown;
    }
  }
}

task_health fleet::health(const std::string& tg_arn, const std::string& id) const {
  auto g = impl_->health_view.find(tg_arn);
  if (g == impl_->health_view.end()) return task_health::unknown;
  auto t = g->second.find(id);
  return t == g->second.end() ? task_health::unknown : t->second;
}

void fleet::stop_all() {
  if (!impl_) return;
  std::vector<std::string> arns;
  for (const auto& [arn, e] : impl_->edges) arns.push_back(arn);
  for (const auto& arn : arns) impl_->stop(arn);
}

}  // namespace mysfits::cloud::edge_runtime
