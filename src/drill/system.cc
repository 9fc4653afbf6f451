// Reading system.json (see include/mysfits/drill/system.h and /docs/drill.md).
#include "mysfits/drill/system.h"

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace mysfits::drill {

namespace json = boost::json;

namespace {

std::string str_of(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* obj_of(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

process_ref process_of(const json::object* o) {
  process_ref p;
  if (!o) return p;
  if (const auto* pid = o->if_contains("pid"); pid && pid->is_int64()) {
    p.pid = static_cast<int>(pid->get_int64());
  }
  if (const auto* r = obj_of(*o, "restart")) {
    restart_spec spec;
    if (const auto* a = r->if_contains("argv"); a && a->is_array()) {
      for (const auto& s : a->get_array()) {
        if (s.is_string()) spec.argv.emplace_back(s.get_string());
      }
    }
    if (const auto* e = obj_of(*r, "env")) {
      for (const auto& [k, v] : *e) {
        if (v.is_string()) spec.env[std::string(k)] = std::string(v.get_string());
      }
    }
    if (!spec.argv.empty()) p.restart = std::move(spec);
  }
  return p;
}

}  // namespace

const region_info* system_description::find_region(const std::string& name) const {
  for (const auto& r : regions) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

result<system_description> parse_system(const std::string& text,
                                        const std::filesystem::path& file) {
  const std::string where = file.empty() ? "system.json" : file.string();
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return error::invalid_argument(where + ": not a JSON object");
  }
  const auto& root = v.get_object();
  system_description s;
  s.file = file;
  s.state_dir = str_of(root, "state_dir");
  if (s.state_dir.empty() && !file.empty()) s.state_dir = file.parent_path();
  s.primary_region = str_of(root, "primary_region");
  if (const auto* regions = obj_of(root, "regions")) {
    for (const auto& [name, rv] : *regions) {
      if (!rv.is_object())
        return error::invalid_argument(where + ": regions." + std::string(name) +
                                       ": not an object");
      const auto& ro = rv.get_object();
      region_info r;
      r.name = name;
      if (const auto* t = obj_of(ro, "table")) {
        r.table_endpoint = str_of(*t, "endpoint");
        r.table = process_of(t);
      }
      r.agent = process_of(obj_of(ro, "agent"));
      if (const auto* lb = obj_of(ro, "load_balancer")) {
        r.lb_url = str_of(*lb, "url");
        r.lb_control = str_of(*lb, "control");
        r.lb = process_of(lb);
      }
      r.cluster = str_of(ro, "cluster");
      if (const auto* sv = obj_of(ro, "services")) {
        for (const auto& [k, n] : *sv) {
          if (n.is_string()) r.services[std::string(k)] = std::string(n.get_string());
        }
      }
      if (const auto* tasks = ro.if_contains("tasks"); tasks && tasks->is_array()) {
        for (const auto& tv : tasks->get_array()) {
          if (!tv.is_object()) continue;
          task_ref t;
          t.service = str_of(tv.get_object(), "service");
          t.address = str_of(tv.get_object(), "address");
          t.process = process_of(&tv.get_object());
          r.tasks.push_back(std::move(t));
        }
      }
      s.regions.push_back(std::move(r));
    }
  }
  if (s.regions.empty()) return error::invalid_argument(where + ": regions: none listed");
  if (s.primary_region.empty()) s.primary_region = s.regions.front().name;
  if (!s.find_region(s.primary_region)) {
    return error::invalid_argument(where + ": primary_region '" + s.primary_region +
                                   "' is not among the regions");
  }
  // Primary first, the others by name (a JSON object's order is not meaningful).
  std::stable_sort(s.regions.begin(), s.regions.end(), [&](const auto& a, const auto& b) {
    if ((a.name == s.primary_region) != (b.name == s.primary_region)) {
      return a.name == s.primary_region;
    }
    return a.name < b.name;
  });
  if (const auto* a = obj_of(root, "accelerator")) {
    accelerator_info acc;
    acc.url = str_of(*a, "url");
    acc.control = str_of(*a, "control");
    acc.process = process_of(a);
    acc.mode = str_of(*a, "mode");
    s.accelerator = std::move(acc);
  }
  if (const auto* d = obj_of(root, "dashboard")) s.dashboard_url = str_of(*d, "url");
  return s;
}

result<system_description> load_system(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return error::not_found("cannot read " + file.string() +
                            " (is the system running? `mysfits up` writes it)");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_system(text.str(), file);
}

result<void> update_pid(const std::filesystem::path& file, const std::vector<std::string>& path,
                        int pid) {
  std::ifstream in(file);
  if (!in) return error::not_found("cannot read " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  boost::system::error_code ec;
  auto v = json::parse(text.str(), ec);
  if (ec || !v.is_object()) return error::invalid_argument(file.string() + ": not a JSON object");
  json::value* at = &v;
  for (const auto& key : path) {
    if (at->is_object()) {
      auto* next = at->get_object().if_contains(key);
      if (!next) return error::not_found(file.string() + ": no key " + key);
      at = next;
    } else if (at->is_array()) {
      std::size_t i = std::stoul(key);
      if (i >= at->get_array().size()) return error::not_found(file.string() + ": no index " + key);
      at = &at->get_array()[i];
    } else {
      return error::not_found(file.string() + ": no key " + key);
    }
  }
  if (!at->is_object()) return error::invalid_argument(file.string() + ": not an object");
  at->get_object()["pid"] = pid;
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json::serialize(v) << "\n";
    if (!out) return error::io("cannot write " + tmp.string());
  }
  std::error_code fec;
  std::filesystem::rename(tmp, file, fec);
  if (fec) return error::io("cannot replace " + file.string() + ": " + fec.message());
  return ok();
}

}  // namespace mysfits::drill
