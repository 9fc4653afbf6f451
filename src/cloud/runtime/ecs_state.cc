// ECS desired-state files; see ecs_state.h.
#include "runtime/ecs_state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/json.hpp>

#include "registry/oci_layout.h"

namespace mysfits::cloud::ecs {
namespace fs = std::filesystem;
namespace json = boost::json;

json::object to_json(const task_definition& td) {
  json::array command;
  for (const auto& c : td.command) command.push_back(json::string(c));
  json::object env;
  for (const auto& [k, v] : td.environment) env[k] = v;
  return {{"family", td.family}, {"revision", td.revision}, {"image", td.image},
          {"command", command},  {"environment", env},      {"containerPort", td.container_port}};
}

task_definition task_definition_from_json(const json::object& o) {
  task_definition td;
  td.family = o.at("family").as_string();
  td.revision = static_cast<int>(o.at("revision").as_int64());
  td.image = o.at("image").as_string();
  for (const auto& c : o.at("command").as_array()) td.command.push_back(std::string(c.as_string()));
  for (const auto& kv : o.at("environment").as_object()) {
    td.environment[kv.key()] = kv.value().as_string();
  }
  td.container_port = static_cast<int>(o.at("containerPort").as_int64());
  return td;
}

namespace {

json::object service_json(const service_record& s) {
  json::array tgs;
  for (const auto& t : s.target_group_arns) tgs.push_back(json::string(t));
  return {{"cluster", s.cluster},
          {"serviceName", s.spec.name},
          {"serviceArn", s.arn},
          {"taskDefinition", s.spec.task_definition},
          {"desiredCount", s.spec.desired_count},
          {"minimumHealthyPercent", s.spec.minimum_healthy_percent},
          {"maximumPercent", s.spec.maximum_percent},
          {"targetGroupArns", tgs}};
}

std::optional<service_record> service_from_json(const json::object& o) try {
  service_record s;
  s.cluster = o.at("cluster").as_string();
  s.arn = o.at("serviceArn").as_string();
  s.spec.name = o.at("serviceName").as_string();
  s.spec.task_definition = o.at("taskDefinition").as_string();
  s.spec.desired_count = static_cast<int>(o.at("desiredCount").as_int64());
  s.spec.minimum_healthy_percent = static_cast<int>(o.at("minimumHealthyPercent").as_int64());
  s.spec.maximum_percent = static_cast<int>(o.at("maximumPercent").as_int64());
  for (const auto& t : o.at("targetGroupArns").as_array()) {
    s.target_group_arns.push_back(std::string(t.as_string()));
  }
  return s;
} catch (const std::exception&) {
  return std::nullopt;
}

std::optional<json::object> read_json(const fs::path& p) {
  auto text = oci::read_file(p);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

}  // namespace

state_store::state_store(fs::path state_dir, std::string region)
    : dir_(std::move(state_dir) / "ecs" / region), region_(std::move(region)) {}

result<task_definition> state_store::register_task_definition(task_definition td) {
  int latest = 0;
  std::optional<task_definition> latest_td;
  for (const auto& existing : task_definitions()) {
    if (existing.family == td.family && existing.revision > latest) {
      latest = existing.revision;
      latest_td = existing;
    }
  }
  if (latest_td) {
    auto same = *latest_td;
    same.revision = 0;
    auto cand = td;
    cand.revision = 0;
    if (to_json(same) == to_json(cand)) return *latest_td;
  }
  td.revision = latest + 1;
  auto path = dir_ / "task-definitions" / fmt::format("{}.{}.json", td.family, td.revision);
  if (auto w = oci::write_file_atomically(path, json::serialize(to_json(td))); !w) return w.error();
  return td;
}

result<void> state_store::deregister_task_definition(const std::string& family, int revision) {
  std::error_code ec;
  fs::remove(dir_ / "task-definitions" / fmt::format("{}.{}.json", family, revision), ec);
  return ok();
}

std::vector<task_definition> state_store::task_definitions() const {
  std::vector<task_definition> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / "task-definitions", ec)) {
    if (e.path().extension() != ".json") continue;
    auto o = read_json(e.path());
    if (!o) continue;
    try {
      out.push_back(task_definition_from_json(*o));
    } catch (const std::exception&) {
      // a damaged file is skipped; the next register writes a good one
    }
  }
  return out;
}

result<void> state_store::put_service(const service_record& s) {
  return oci::write_file_atomically(
      dir_ / "services" / fmt::format("{}.{}.json", s.cluster, s.spec.name),
      json::serialize(service_json(s)));
}

result<void> state_store::delete_service(const std::string& cluster, const std::string& name) {
  std::error_code ec;
  if (!fs::remove(dir_ / "services" / fmt::format("{}.{}.json", cluster, name), ec)) {
    return error::not_found(fmt::format("Service not found: {} in cluster {}", name, cluster));
  }
  return ok();
}

std::optional<service_record> state_store::find_service(const std::string& cluster,
                                                        const std::string& name) const {
  auto o = read_json(dir_ / "services" / fmt::format("{}.{}.json", cluster, name));
  if (!o) return std::nullopt;
  return service_from_json(*o);
}

std::vector<service_record> state_store::services() const {
  std::vector<service_record> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / "services", ec)) {
    if (e.path().extension() != ".json") continue;
    if (auto o = read_json(e.path())) {
      if (auto s = service_from_json(*o)) out.push_back(std::move(*s));
    }
  }
  return out;
}

result<void> state_store::write_tasks(const json::array& tasks) {
  return oci::write_file_atomically(dir_ / "tasks.json", json::serialize(tasks));
}

json::array state_store::read_tasks() const {
  auto text = oci::read_file(dir_ / "tasks.json");
  if (!text) return {};
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  return !ec && v.is_array() ? v.as_array() : json::array{};
}

std::string state_store::fingerprint() const {
  std::vector<std::string> parts;
  std::error_code ec;
  for (const char* sub : {"task-definitions", "services"}) {
    for (const auto& e : fs::directory_iterator(dir_ / sub, ec)) {
      auto t = fs::last_write_time(e.path(), ec);
      parts.push_back(
          fmt::format("{}/{}@{}", sub, e.path().filename().string(), t.time_since_epoch().count()));
    }
  }
  std::sort(parts.begin(), parts.end());
  return fmt::format("{}", fmt::join(parts, ";"));
}

}  // namespace mysfits::cloud::ecs
