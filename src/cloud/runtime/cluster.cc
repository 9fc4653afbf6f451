// cluster: the reconcile loop of the local container service.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "mysfits/cloud/runtime.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string task_definition::arn() const { return fmt::format("{}:{}", family, revision); }

struct cluster::impl {
  cluster_options opts;
  cluster_hooks hooks;
  process_supervisor supervisor;
  std::map<std::string, task_definition> task_definitions;  // family:revision → definition
  std::map<std::string, service_spec> services;
  struct task {
    task_status status;
    clock_type::time_point started;
    bool draining = false;
  };
  std::map<std::string, task> tasks;  // id → task
  std::mt19937_64 rng{std::random_device{}()};

  impl(cluster_options o, cluster_hooks h)
      : opts(std::move(o)), hooks(std::move(h)), supervisor(opts.stop_timeout) {}

  std::string next_address() {
    std::set<std::string> used;
    for (const auto& [id, t] : tasks) used.insert(t.status.address);
    for (int n = 10; n < 255; ++n) {
      auto a = fmt::format("{}.{}", opts.address_prefix, n);
      if (!used.contains(a)) return a;
    }
    return {};
  }

  task_health health_of(const task& t) const {
    if (t.status.last_status != "RUNNING") return task_health::unknown;
    if (!hooks.health) return task_health::healthy;  // no load balancer: running is healthy
    return hooks.health(t.status.service, t.status.address, t.status.port);
  }

  void start_task(const service_spec& s) {
    auto td = task_definitions.find(s.task_definition);
    if (td == task_definitions.end()) {
      spdlog::warn("{} service {}: task definition {} is not registered", opts.region, s.name,
                   s.task_definition);
      return;
    }
    auto address = next_address();
    if (address.empty()) {
      spdlog::error("{}: no free task address in {}.0/24", opts.region, opts.address_prefix);
      return;
    }
    auto id = fmt::format("{:016x}", rng());
    auto root = opts.work_dir / "tasks" / id;
    if (!hooks.prepare_task) {
      spdlog::error("{}: no task preparation configured", opts.region);
      return;
    }
    auto spec = hooks.prepare_task(td->second, root);
    if (!spec) {
      spdlog::error("{} service {}: task {} cannot start: {}", opts.region, s.name, id,
                    spec.error().message);
      return;
    }
    for (const auto& [k, v] : td->second.environment) spec->env[k] = v;
    spec->env["PORT"] = std::to_string(td->second.container_port);
    spec->env["HOST"] = address;
    spec->env["BIND_ADDRESS"] = address;  // the app services' name for it
    spec->env["AWS_REGION"] = opts.region;
    spec->env["ECS_TASK_ID"] = id;
    for (const auto& c : td->second.command) spec->argv.push_back(c);
    if (spec->log_file.empty())
      spec->log_file = opts.work_dir / "logs" / (s.name + "-" + id + ".log");
    auto pid = supervisor.start(*spec);
    if (!pid) {
      spdlog::error("{} service {}: {}", opts.region, s.name, pid.error().message);
      return;
    }
    task t;
    t.status = {id,   s.name,    s.task_definition,    address, td->second.container_port,
                *pid, "RUNNING", task_health::unknown, 0};
    t.started = clock_type::now();
    spdlog::info("{} service {}: started task {} ({}) at {}:{} pid {}", opts.region, s.name, id,
                 s.task_definition, address, t.status.port, *pid);
    if (hooks.register_target) hooks.register_target(s.name, address, t.status.port);
    tasks.emplace(id, std::move(t));
  }

  void stop_task(const std::string& id, std::string_view why) {
    auto it = tasks.find(id);
    if (it == tasks.end()) return;
    auto& t = it->second;
    spdlog::info("{} service {}: stopping task {} ({})", opts.region, t.status.service, id, why);
    if (hooks.deregister_target)
      hooks.deregister_target(t.status.service, t.status.address, t.status.port);
    supervisor.stop(t.status.pid);
    tasks.erase(it);
  }

  void reap() {
    auto exited = supervisor.reap();
    for (auto it = tasks.begin(); it != tasks.end();) {
      if (exited.contains(it->second.status.pid)) {
        spdlog::warn("{} service {}: task {} exited (status {}); it will be replaced", opts.region,
                     it->second.status.service, it->first, exited[it->second.status.pid]);
        if (hooks.deregister_target) {
          hooks.deregister_target(it->second.status.service, it->second.status.address,
                                  it->second.status.port);
        }
        it = tasks.erase(it);
      } else {
        ++it;
      }
    }
  }

  void reconcile_service(const service_spec& s) {
    std::vector<std::string> current, old;
    int healthy = 0;
    auto now = clock_type::now();
    std::vector<std::string> unhealthy_expired;
    for (auto& [id, t] : tasks) {
      if (t.status.service != s.name) continue;
      t.status.health = health_of(t);
      if (t.status.health == task_health::healthy) ++healthy;
      if (t.status.health != task_health::healthy && now - t.started > opts.unhealthy_grace) {
        unhealthy_expired.push_back(id);
      }
      (t.status.task_definition == s.task_definition ? current : old).push_back(id);
    }
    // A task the load balancer has failed for longer than the grace period is replaced.
    if (!unhealthy_expired.empty()) {
      stop_task(unhealthy_expired.front(), "unhealthy");
      return;
    }
    int desired = std::max(0, s.desired_count);
    int max_total =
        std::max(desired, static_cast<int>(std::floor(desired * s.maximum_percent / 100.0)));
    int min_healthy = static_cast<int>(std::ceil(desired * s.minimum_healthy_percent / 100.0));
    int total = static_cast<int>(current.size() + old.size());
    int have = static_cast<int>(current.size());

    if (have > desired) {
      stop_task(current.back(), "scale-in");
      return;
    }
    // An old task that is not healthy can always go: it serves nothing.
    for (const auto& id : old) {
      if (tasks[id].status.health != task_health::healthy) {
        stop_task(id, "deployment");
        return;
      }
    }
    if (have < desired && total < max_total) {
      start_task(s);
      return;
    }
    // Retire an old task only while enough healthy ones remain.
    if (!old.empty() && healthy - 1 >= min_healthy) stop_task(old.front(), "deployment");
  }
};

cluster::cluster(cluster_options options, cluster_hooks hooks)
    : impl_(std::make_unique<impl>(std::move(options), std::move(hooks))) {}

cluster::~cluster() { shutdown(); }

void cluster::put_task_definition(const task_definition& td) {
  impl_->task_definitions[td.arn()] = td;
}

result<void> cluster::put_service(const service_spec& s) {
  if (s.name.empty()) return error::invalid_argument("a service needs a name");
  if (s.desired_count < 0) return error::invalid_argument("desiredCount must be >= 0");
  if (s.minimum_healthy_percent < 0 || s.maximum_percent < 100 ||
      s.minimum_healthy_percent > s.maximum_percent) {
    return error::invalid_argument(
        "deploymentConfiguration: minimumHealthyPercent must be 0..maximumPercent and "
        "maximumPercent at least 100");
  }
  if (!impl_->task_definitions.contains(s.task_definition)) {
    return error::invalid_argument("TaskDefinition not found: " + s.task_definition);
  }
  impl_->services[s.name] = s;
  return ok();
}

result<void> cluster::delete_service(const std::string& name) {
  if (!impl_->services.erase(name)) return error::not_found("Service not found: " + name);
  std::vector<std::string> ids;
  for (const auto& [id, t] : impl_->tasks) {
    if (t.status.service == name) ids.push_back(id);
  }
  for (const auto& id : ids) impl_->stop_task(id, "service deleted");
  return ok();
}

std::vector<task_status> cluster::tasks() const {
  std::vector<task_status> out;
  for (const auto& [id, t] : impl_->tasks) out.push_back(t.status);
  return out;
}

std::optional<service_spec> cluster::service(const std::string& name) const {
  auto it = impl_->services.find(name);
  if (it == impl_->services.end()) return std::nullopt;
  return it->second;
}

void cluster::reconcile() {
  impl_->reap();
  for (const auto& [name, s] : impl_->services) impl_->reconcile_service(s);
}

void cluster::shutdown() {
  if (!impl_) return;
  std::vector<std::string> ids;
  for (const auto& [id, t] : impl_->tasks) ids.push_back(id);
  for (const auto& id : ids) impl_->stop_task(id, "shutdown");
}

}  // namespace mysfits::cloud
