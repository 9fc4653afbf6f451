// The region agent: reads the region's desired ECS state from the state directory, runs tasks
// from images in the region's registry, and publishes what runs in tasks.json.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <set>
#include <thread>

#include "mysfits/cloud/local_cloud.h"
#include "mysfits/cloud/registry.h"
#include "mysfits/cloud/runtime.h"
#include "providers/local_records.h"
#include "registry/oci_layout.h"
#include "runtime/ecs_state.h"
#include "runtime/edge_fleet.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Unpacks the task's image into <root>/rootfs and builds the process from its config.
result<process_spec> prepare_from_registry(const registry& reg, const fs::path& reg_state,
                                           const std::string& region, const task_definition& td,
                                           const fs::path& root) {
  auto uri = parse_image_uri(td.image);
  if (!uri) return uri.error();
  if (uri->region != region) {
    return error::invalid_argument(
        fmt::format("image {} is in {}, but this task runs in {}: push the image to every region",
                    td.image, uri->region, region));
  }
  auto rootfs = root / "rootfs";
  auto info = reg.unpack(region, uri->repository, uri->reference, rootfs);
  if (!info) return info.error();
  process_spec p;
  const auto& cfg = info->config;
  if (auto* ep = cfg.if_contains("Entrypoint"); ep && ep->is_array()) {
    for (const auto& a : ep->as_array()) p.argv.push_back(std::string(a.as_string()));
  }
  if (p.argv.empty()) return error::invalid_argument("image " + td.image + " has no Entrypoint");
  // Image paths are inside the image's root.
  if (!p.argv[0].empty() && p.argv[0][0] == '/')
    p.argv[0] = (rootfs / p.argv[0].substr(1)).string();
  p.env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  if (auto* env = cfg.if_contains("Env"); env && env->is_array()) {
    for (const auto& e : env->as_array()) {
      std::string kv(e.as_string());
      auto eq = kv.find('=');
      if (eq != std::string::npos) p.env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  p.env["MYSFITS_IMAGE_ROOT"] = rootfs.string();
  // The region's table engine is the local equivalent of the regional DynamoDB endpoint.
  if (auto endpoint = records::read_region(reg_state, region).table_endpoint; !endpoint.empty())
    p.env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint;
  std::string wd = "/";
  if (auto* w = cfg.if_contains("WorkingDir"); w && w->is_string() && !w->as_string().empty()) {
    wd = std::string(w->as_string());
  }
  p.working_dir = rootfs / fs::path(wd).relative_path();
  return p;
}

json::array tasks_json(const cluster& c) {
  json::array out;
  for (const auto& t : c.tasks()) {
    out.push_back(json::object{{"taskId", t.id},
                               {"serviceName", t.service},
                               {"taskDefinition", t.task_definition},
                               {"address", t.address},
                               {"port", t.port},
                               {"pid", t.pid},
                               {"lastStatus", t.last_status},
                               {"healthStatus", t.health == task_health::healthy     ? "HEALTHY"
                                                : t.health == task_health::unhealthy ? "UNHEALTHY"
                                                                                     : "UNKNOWN"}});
  }
  return out;
}

fs::path default_edge_binary() {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path().parent_path() / "edge" / "mysfits-edge";
    if (fs::exists(beside, ec)) return beside;
    beside = self.parent_path() / "mysfits-edge";
    if (fs::exists(beside, ec)) return beside;
  }
  return "/usr/local/bin/mysfits-edge";
}

// The global agent: the accelerators only.
void run_global(const agent_options& options, const fs::path& edge_binary,
                const std::atomic<bool>& stop) {
  edge_runtime::fleet edges(options.state_dir, options.region, edge_binary);
  spdlog::info("agent for the global accelerators running");
  while (!stop) {
    edges.sync();
    std::this_thread::sleep_for(options.poll);
  }
  edges.stop_all();
}

}  // namespace

result<void> run_agent(const agent_options& options, const std::atomic<bool>& stop) {
  auto agents = options.state_dir / "agents";
  std::error_code ec;
  fs::create_directories(agents, ec);
  auto pid_path = agents / (options.region + ".pid");
  int fd = ::open(pid_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return error::io("cannot open " + pid_path.string());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return error::already_exists("an agent already runs for " + options.region);
  }
  auto pid_text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::write(fd, pid_text.data(), pid_text.size()) < 0) {
    spdlog::warn("cannot write {}", pid_path.string());
  }

  auto edge_binary = options.edge_binary.empty() ? default_edge_binary() : options.edge_binary;
  if (options.region == kGlobalRegion) {
    run_global(options, edge_binary, stop);
    fs::remove(pid_path, ec);
    ::close(fd);
    return ok();
  }
  {
    auto settings = records::read_region(options.state_dir, options.region);
    if (settings.address_prefix != options.address_prefix) {
      settings.address_prefix = options.address_prefix;
      auto w = records::write_region(options.state_dir, options.region, settings);
      if (!w) spdlog::warn("{}", w.error().message);
    }
  }

  registry reg(options.state_dir);
  ecs::state_store store(options.state_dir, options.region);
  edge_runtime::fleet edges(options.state_dir, options.region, edge_binary);
  std::map<std::string, std::vector<std::string>> service_groups;  // service → target groups
  cluster_hooks hooks;
  hooks.prepare_task = [&](const task_definition& td, const fs::path& root) {
    return prepare_from_registry(reg, options.state_dir, options.region, td, root);
  };
  hooks.register_target = [&](const std::string& service, const std::string& address, int port) {
    for (const auto& tg : service_groups[service])
      edges.register_target(tg, fmt::format("{}:{}", address, port));
  };
  hooks.deregister_target = [&](const std::string& service, const std::string& address, int port) {
    for (const auto& tg : service_groups[service])
      edges.deregister_target(tg, fmt::format("{}:{}", address, port));
  };
  hooks.health = [&](const std::string& service, const std::string& address, int port) {
    const auto& groups = service_groups[service];
    if (groups.empty()) return task_health::healthy;  // no load balancer: running is healthy
    bool all_healthy = true;
    for (const auto& tg : groups) {
      auto h = edges.health(tg, fmt::format("{}:{}", address, port));
      if (h == task_health::unhealthy) return task_health::unhealthy;
      all_healthy = all_healthy && h == task_health::healthy;
    }
    return all_healthy ? task_health::healthy : task_health::unknown;
  };
  cluster_options copts;
  copts.region = options.region;
  copts.work_dir = store.dir() / "work";
  copts.address_prefix = options.address_prefix;
  copts.stop_timeout = options.stop_timeout;
  cluster c(copts, hooks);

  std::string seen;
  std::string published;
  std::set<std::string> known;  // services the cluster runs
  spdlog::info("agent for {} running (tasks on {}.0/24)", options.region, options.address_prefix);
  while (!stop) {
    auto fp = store.fingerprint();
    if (fp != seen) {
      seen = fp;
      for (const auto& td : store.task_definitions()) c.put_task_definition(td);
      std::set<std::string> wanted;
      for (const auto& s : store.services()) {
        wanted.insert(s.spec.name);
        service_groups[s.spec.name] = s.target_group_arns;
        if (auto r = c.put_service(s.spec); !r) {
          spdlog::error("{} service {}: {}", options.region, s.spec.name, r.error().message);
        }
      }
      for (const auto& name : known) {
        if (!wanted.contains(name)) {
          auto r = c.delete_service(name);
          (void)r;  // already gone is fine
        }
      }
      known = std::move(wanted);
    }
    edges.sync();
    edges.refresh_health();
    c.reconcile();
    auto now = json::serialize(tasks_json(c));
    if (now != published) {
      published = now;
      if (auto w = store.write_tasks(tasks_json(c)); !w) spdlog::warn("{}", w.error().message);
    }
    std::this_thread::sleep_for(options.poll);
  }
  c.shutdown();
  edges.stop_all();
  auto w = store.write_tasks(json::array{});
  (void)w;  // best effort: the agent is going away
  fs::remove(pid_path, ec);
  ::close(fd);
  return ok();
}

}  // namespace mysfits::cloud
