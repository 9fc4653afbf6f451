// `mysfits up | status | down`; see include/mysfits/cloud/system.h.
#include "mysfits/cloud/system.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "mysfits/cloud/local_cloud.h"
#include "mysfits/cloud/pipeline.h"
#include "mysfits/cloud/stack.h"
#include "mysfits/ddbclient/client.h"
#include "mysfits/edge/edge.h"
#include "providers/local_records.h"
#include "registry/oci_layout.h"
#include "runtime/ecs_state.h"
#include "runtime/edge_fleet.h"

extern char** environ;

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTable = "MysfitsTable";
constexpr const char* kAcceleratorStack = "mm-accelerator";

std::string stack_name_for(std::size_t i, const std::string& region) {
  if (i == 0) return "mm-primary-region";
  if (i == 1) return "mm-secondary-region";
  return "mm-region-" + region;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string cmdline(int pid) {
  auto out = read_text(fmt::format("/proc/{}/cmdline", pid));
  std::replace(out.begin(), out.end(), '\0', ' ');
  return out;
}

// Alive and not a zombie (reaps our own exited children on the way).
bool alive(int pid) {
  if (pid <= 0) return false;
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
  if (::kill(pid, 0) != 0) return false;
  auto stat = read_text(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  return !(close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z');
}

// One of ours: alive, and its command line names the state directory.
bool ours(int pid, const fs::path& state) {
  return alive(pid) && cmdline(pid).find(state.string()) != std::string::npos;
}

int pid_of(const json::object& o, const char* key = "pid") {
  auto* p = o.if_contains(key);
  return p && p->is_number() ? static_cast<int>(p->to_number<int64_t>()) : 0;
}

// Starts a process in its own session (it outlives `up`), stdout and stderr to `log`.
result<int> spawn_detached(const std::vector<std::string>& argv, const fs::path& log,
                           const std::map<std::string, std::string>& extra_env = {}) {
  std::error_code ec;
  fs::create_directories(log.parent_path(), ec);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto key = kv.substr(0, kv.find('='));
    if (!extra_env.contains(key)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return error::io(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  return static_cast<int>(pid);
}

// Runs a command to its end; returns its exit status (and its output in `out`).
int run_to_end(const std::vector<std::string>& argv, const fs::path& log,
               const std::map<std::string, std::string>& extra_env = {}) {
  auto pid = spawn_detached(argv, log, extra_env);
  if (!pid) return -1;
  int status = 0;
  ::waitpid(*pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits for a line starting with `prefix` in `log`; returns the rest of the line.
result<std::string> wait_for_line(const fs::path& log, const std::string& prefix, int pid,
                                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream in(read_text(log));
    std::string line;
    while (std::getline(in, line)) {
      auto at = line.find(prefix);
      if (at != std::string::npos) return line.substr(at + prefix.size());
    }
    if (!alive(pid)) break;
    std::this_thread::sleep_for(50ms);
  }
  auto text = read_text(log);
  if (text.size() > 2000) text = text.substr(text.size() - 2000);
  return error::unavailable(fmt::format("{} did not start (log {}):\n{}", pid, log.string(), text));
}

std::optional<json::object> read_system(const fs::path& state) {
  return records::read_object(state / "system.json");
}

std::string version_of(const fs::path& source) {
  auto run = [&](const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[256];
      while (std::fgets(buf, sizeof buf, p)) out += buf;
      ::pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  };
  auto q = "'" + source.string() + "'";
  auto sha = run("git -C " + q + " rev-parse --short=12 HEAD 2>/dev/null");
  if (sha.empty()) return {};
  auto dirty =
      run("git -C " + q + " status --porcelain --untracked-files=no 2>/dev/null | head -1");
  return dirty.empty() ? sha : sha + "-dirty";
}

std::map<std::string, std::string> outputs_of(const fs::path& state, const std::string& region,
                                              const std::string& stack) {
  std::map<std::string, std::string> out;
  stack_engine engine(state, make_local_providers(state));
  if (auto d = engine.describe(region, stack)) {
    for (const auto& kv : d->outputs) out[kv.key()] = kv.value().at("Value").as_string();
  }
  return out;
}

result<void> deploy(const fs::path& state, const std::string& region, const std::string& stack,
                    const fs::path& template_file,
                    const std::map<std::string, std::string>& params) {
  auto body = oci::read_file(template_file);
  if (!body) return body.error();
  stack_engine engine(state, make_local_providers(state));
  deploy_request req{
      region, stack, *body, params, {"CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}};
  auto r = engine.deploy(req);
  if (!r)
    return error{r.error().code,
                 fmt::format("stack {} ({}): {}", stack, region, r.error().message)};
  return ok();
}

std::shared_ptr<ddbclient::client> table_client(const std::string& region,
                                                const std::string& endpoint) {
  ddbclient::client_options o;
  o.region = region;
  o.endpoint_override = *ddbclient::parse_endpoint(endpoint);
  o.max_attempts = 2;
  return std::make_shared<ddbclient::client>(o);
}

std::optional<json::object> first_runtime(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (e.path().extension() == ".json" && name.find(".config.") == std::string::npos) {
      if (auto o = records::read_object(e.path())) return o;
    }
  }
  return std::nullopt;
}

// `mysfits dashboard` exists in this build (CLI11 answers --help even after an unknown
// subcommand, so the answer must be the dashboard's own).
bool dashboard_available(const fs::path& cli, const fs::path& log) {
  std::error_code ec;
  fs::remove(log, ec);
  return run_to_end({cli.string(), "dashboard", "--help"}, log) == 0 &&
         read_text(log).find("--port-file") != std::string::npos;
}

struct region_view {
  std::string name, stack, prefix, table_endpoint, cluster, load_balancer_arn;
  int table_pid = 0, agent_pid = 0;
};

int agent_pid(const fs::path& state, const std::string& region) {
  auto text = read_text(state / "agents" / (region + ".pid"));
  try {
    return text.empty() ? 0 : std::stoi(text);
  } catch (const std::exception&) {
    return 0;
  }
}

// Healthy services: every service of the region runs its desired count, all HEALTHY.
bool region_healthy(const fs::path& state, const std::string& region, std::string& why) {
  ecs::state_store store(state, region);
  auto tasks = store.read_tasks();
  auto services = store.services();
  if (services.empty()) {
    why = region + ": no services";
    return false;
  }
  for (const auto& s : services) {
    int healthy = 0;
    for (const auto& t : tasks) {
      if (t.at("serviceName").as_string() == s.spec.name &&
          t.at("taskDefinition").as_string() == s.spec.task_definition &&
          t.at("healthStatus").as_string() == "HEALTHY")
        ++healthy;
    }
    if (healthy != s.spec.desired_count) {
      why = fmt::format("{} {}: {}/{} tasks healthy", region, s.spec.name, healthy,
                        s.spec.desired_count);
      return false;
    }
  }
  auto lb = first_runtime(edge_runtime::runtime_dir(state, region));
  if (!lb || !alive(pid_of(*lb))) {
    why = region + ": load balancer not running";
    return false;
  }
  return true;
}

}  // namespace

namespace {
result<json::object> up_impl(const up_options& o);
}

result<json::object> system_up(const up_options& o) {
  bool was_running = fs::exists(o.state_dir / "system.json");
  auto r = up_impl(o);
  if (!r && !was_running && r.error().code != errc::already_exists) {
    // A first `up` that failed leaves nothing running.
    auto stopped = system_down(o.state_dir, o.progress);
    if (stopped && *stopped > 0 && o.progress)
      o.progress(fmt::format("up failed; stopped the {} process(es) it had started", *stopped));
  }
  return r;
}

namespace {
result<json::object> up_impl(const up_options& o) {
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  if (o.regions.size() < 2) return error::invalid_argument("--regions needs at least two regions");
  std::set<std::string> unique(o.regions.begin(), o.regions.end());
  if (unique.size() != o.regions.size() || unique.contains(kGlobalRegion))
    return error::invalid_argument("--regions must name distinct regions (and not 'global')");
  std::error_code ec;
  fs::create_directories(o.state_dir, ec);
  auto state = fs::absolute(o.state_dir).lexically_normal();
  if (state.has_filename() == false) state = state.parent_path();
  auto source = fs::absolute(o.source_dir).lexically_normal();
  auto build = fs::absolute(o.build_dir).lexically_normal();

  // One `up` at a time per state directory.
  int lock_fd = ::open((state / "up.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (lock_fd >= 0) ::close(lock_fd);
    return error::already_exists("another `mysfits up` is running on " + state.string());
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } lock_guard{lock_fd};

  const auto bin = [&](const char* dir, const char* name) { return build / "src" / dir / name; };
  const auto table_bin = bin("table", "mysfits-table");
  const auto edge_bin = bin("edge", "mysfits-edge");
  const auto core_bin = bin("app", "mysfits-core");
  const auto like_bin = bin("app", "mysfits-like");
  const auto cli_bin = bin("cli", "mysfits");
  for (const auto& b : {table_bin, edge_bin, core_bin, like_bin, cli_bin}) {
    if (!fs::exists(b, ec))
      return error::not_found(
          fmt::format("{} is missing: build the tree first (--build-dir)", b.string()));
  }
  const auto core_template = source / "cfn" / "core.yml";
  const auto acc_template = source / "cfn" / "accelerator.yml";
  for (const auto& t : {core_template, acc_template}) {
    if (!fs::exists(t, ec)) return error::not_found(t.string() + " is missing (--source-dir)");
  }
  auto previous = read_system(state).value_or(json::object{});
  auto logs = state / "logs";
  fs::create_directories(logs, ec);

  // 1. Table engines, one per region, each on its region's loopback block.
  std::vector<region_view> regions;
  for (std::size_t i = 0; i < o.regions.size(); ++i) {
    region_view r;
    r.name = o.regions[i];
    r.stack = stack_name_for(i, r.name);
    auto settings = records::read_region(state, r.name);
    r.prefix = settings.address_prefix.empty()
                   ? fmt::format("127.0.{}", o.first_block + static_cast<int>(i))
                   : settings.address_prefix;
    r.table_endpoint = settings.table_endpoint;
    regions.push_back(r);
  }
  auto help = std::make_shared<std::string>();
  {
    auto log = logs / "table-help.txt";
    fs::remove(log, ec);
    run_to_end({table_bin.string(), "serve", "--help"}, log);
    *help = read_text(log);
  }
  const bool regions_file_flag = help->find("--regions-file") != std::string::npos;
  auto prev_region = [&](const std::string& name, const char* piece) -> json::object {
    if (auto* rs = previous.if_contains("regions"); rs && rs->is_object()) {
      if (auto* r = rs->as_object().if_contains(name); r && r->is_object()) {
        if (auto* p = r->as_object().if_contains(piece); p && p->is_object()) return p->as_object();
      }
    }
    return {};
  };
  // Endpoints first (a regions file lists all of them), then the processes.
  std::vector<bool> table_running(regions.size(), false);
  for (std::size_t i = 0; i < regions.size(); ++i) {
    auto& r = regions[i];
    auto prev = prev_region(r.name, "table");
    if (ours(pid_of(prev), state) && !r.table_endpoint.empty()) {
      r.table_pid = pid_of(prev);
      table_running[i] = true;
      continue;
    }
    auto host = r.prefix + ".2";
    int port = 0;
    if (!r.table_endpoint.empty()) {
      auto colon = r.table_endpoint.rfind(':');
      port = std::atoi(r.table_endpoint.c_str() + colon + 1);
    }
    if (port == 0) {
      auto p = records::free_port(host);
      if (!p) return p.error();
      port = *p;
    }
    r.table_endpoint = fmt::format("http://{}:{}", host, port);
  }
  json::object regions_file;
  for (const auto& r : regions) regions_file[r.name] = r.table_endpoint;
  auto regions_path = state / "table-regions.json";
  if (auto w = oci::write_file_atomically(regions_path, json::serialize(regions_file)); !w)
    return w.error();
  for (std::size_t i = 0; i < regions.size(); ++i) {
    auto& r = regions[i];
    if (!table_running[i]) {
      for (int attempt = 0; attempt < 2; ++attempt) {
        auto log = logs / ("table-" + r.name + ".log");
        fs::remove(log, ec);
        fs::create_directories(state / "table" / r.name, ec);
        std::vector<std::string> argv{table_bin.string(), "serve",
                                      "--listen",         r.table_endpoint.substr(7),
                                      "--data-dir",       (state / "table" / r.name).string(),
                                      "--region",         r.name};
        if (regions_file_flag) {
          argv.push_back("--regions-file");
          argv.push_back(regions_path.string());
        }
        auto pid = spawn_detached(argv, log);
        if (!pid) return pid.error();
        auto line = wait_for_line(log, "listening on ", *pid, 30s);
        if (line) {
          r.table_pid = *pid;
          auto w = oci::write_file_atomically(state / "table" / (r.name + ".pid"),
                                              std::to_string(*pid) + "\n");
          (void)w;  // `down` also finds the pid in system.json
          break;
        }
        if (alive(*pid)) ::kill(*pid, SIGKILL);
        if (attempt == 1) return line.error();
        // The recorded port was taken: pick another (and rewrite the regions file).
        auto p = records::free_port(r.prefix + ".2");
        if (!p) return p.error();
        r.table_endpoint = fmt::format("http://{}.2:{}", r.prefix, *p);
        regions_file[r.name] = r.table_endpoint;
        if (auto w = oci::write_file_atomically(regions_path, json::serialize(regions_file)); !w)
          return w.error();
      }
      say(fmt::format("table     {:<10} {} (pid {})", r.name, r.table_endpoint, r.table_pid));
    }
    if (auto w = records::write_region(state, r.name, {r.prefix, r.table_endpoint}); !w)
      return w.error();
  }

  // 2. Agents: one per region, and the global one for the accelerator.
  auto start_agent = [&](const std::string& region, const std::string& prefix) -> result<int> {
    int pid = agent_pid(state, region);
    if (ours(pid, state)) return pid;
    auto log = logs / ("agent-" + region + ".log");
    std::vector<std::string> argv{cli_bin.string(), "--state-dir", state.string(),
                                  "agent",          "--region",    region};
    if (!prefix.empty()) {
      argv.push_back("--address-prefix");
      argv.push_back(prefix);
    }
    auto started = spawn_detached(argv, log, {{"MYSFITS_EDGE_BINARY", edge_bin.string()}});
    if (!started) return started.error();
    for (int i = 0; i < 200; ++i) {
      if (agent_pid(state, region) == *started) return *started;
      if (!alive(*started)) break;
      std::this_thread::sleep_for(50ms);
    }
    return error::unavailable(fmt::format("the agent for {} did not start; see {}\n{}", region,
                                          log.string(), read_text(log)));
  };
  for (auto& r : regions) {
    auto pid = start_agent(r.name, r.prefix);
    if (!pid) return pid.error();
    r.agent_pid = *pid;
  }

  // 3. The region stacks.
  auto interval = fmt::format("{}", o.health_check_interval);
  auto timeout = fmt::format("{}", std::max(0.05, o.health_check_interval / 2));
  for (std::size_t i = 0; i < regions.size(); ++i) {
    std::map<std::string, std::string> params{{"IsDrRegion", i == 0 ? "false" : "true"},
                                              {"HealthCheckIntervalSeconds", interval},
                                              {"HealthCheckTimeoutSeconds", timeout}};
    if (auto d = deploy(state, regions[i].name, regions[i].stack, core_template, params); !d)
      return d.error();
    auto outs = outputs_of(state, regions[i].name, regions[i].stack);
    regions[i].cluster = outs["ClusterName"];
    regions[i].load_balancer_arn = outs["LoadBalancerArn"];
    if (regions[i].load_balancer_arn.empty()) {
      return error::invalid_argument(fmt::format("stack {} in {} has no LoadBalancerArn output",
                                                 regions[i].stack, regions[i].name));
    }
    say(fmt::format("stack     {:<10} {} deployed (load balancer {})", regions[i].name,
                    regions[i].stack, outs["LoadBalancerDNS"]));
  }

  // 4. The pipeline: build once, push to every region, roll every region's services.
  auto version = version_of(source);
  bool current = !version.empty();
  for (const auto& r : regions) {
    ecs::state_store store(state, r.name);
    for (const auto& name : {"core-service", "like-service"}) {
      auto svc = store.find_service(r.cluster, name);
      if (!svc) {
        current = false;
        continue;
      }
      bool found = false;
      for (const auto& td : store.task_definitions()) {
        // Pipeline tags are <commit>-<image digest>; any image of this commit counts.
        if (td.arn() == svc->spec.task_definition)
          found = td.image.find(":" + version + "-") != std::string::npos;
      }
      current = current && found;
    }
  }
  if (current) {
    say(fmt::format("pipeline  images {} already deployed in every region", version));
  } else {
    pipeline_options p;
    p.state_dir = state;
    p.source_dir = source;
    p.output_dir = state / "pipeline";
    p.deploy_timeout = 120s;
    p.services = {
        {"core-service",
         "core-service",
         "MythicalServiceEcrRepo",
         {{core_bin, "app/mysfits-core", 0755}},
         {"/app/mysfits-core"}},
        {"like-service",
         "like-service",
         "LikeServiceEcrRepo",
         {{like_bin, "app/mysfits-like", 0755}},
         {"/app/mysfits-like"}},
    };
    for (const auto& r : regions) p.regions.push_back({r.name, r.stack});
    p.on_stage = [&](const stage_status& s) {
      if (s.status != "InProgress")
        say(fmt::format("pipeline  {:<17} {:<9} {}", s.name, s.status, s.detail));
    };
    auto run = run_pipeline(p);
    if (!run) return run.error();
  }

  // 5. Seed the table (idempotent), then make it global.
  std::map<std::string, std::string> seed_env{
      {"AWS_REGION", regions[0].name},
      {"AWS_ENDPOINT_URL_DYNAMODB", regions[0].table_endpoint},
      {"DDB_TABLE_NAME", kTable}};
  if (int rc = run_to_end({core_bin.string(), "seed"}, logs / "seed.log", seed_env); rc != 0) {
    return error::unavailable(fmt::format("seeding {} failed (exit {}); see {}", kTable, rc,
                                          (logs / "seed.log").string()));
  }
  {
    auto primary = table_client(regions[0].name, regions[0].table_endpoint);
    auto d = primary->call("DescribeTable", {{"TableName", kTable}});
    std::set<std::string> replicas;
    if (d) {
      if (auto* rs = d->at("Table").as_object().if_contains("Replicas"); rs && rs->is_array()) {
        for (const auto& rep : rs->as_array())
          replicas.insert(std::string(rep.at("RegionName").as_string()));
      }
    }
    for (std::size_t i = 1; i < regions.size(); ++i) {
      if (replicas.contains(regions[i].name)) continue;
      json::object u{
          {"TableName", kTable},
          {"ReplicaUpdates",
           json::array{json::object{{"Create", json::object{{"RegionName", regions[i].name}}}}}}};
      auto r = primary->call("UpdateTable", u);
      if (r) {
        say(fmt::format("table     {} gets a replica in {}", kTable, regions[i].name));
        // Wait for the replica to be ACTIVE (as DescribeTable on the primary lists it).
        for (int k = 0; k < 600; ++k) {
          auto dd = primary->call("DescribeTable", {{"TableName", kTable}});
          bool active = false;
          if (dd) {
            if (auto* rs = dd->at("Table").as_object().if_contains("Replicas");
                rs && rs->is_array()) {
              for (const auto& rep : rs->as_array()) {
                const auto& ro = rep.as_object();
                if (ro.at("RegionName").as_string() == regions[i].name) {
                  auto* st = ro.if_contains("ReplicaStatus");
                  active = !st || (st->is_string() && st->as_string() == "ACTIVE");
                }
              }
            }
          }
          if (active) break;
          std::this_thread::sleep_for(100ms);
        }
      } else {
        say(fmt::format(
            "WARNING   the table engine refused to add a replica in {} ({}: {}); that region gets "
            "its own table, and likes will NOT replicate between regions",
            regions[i].name, r.error().type, r.error().message));
        auto env = seed_env;
        env["AWS_REGION"] = regions[i].name;
        env["AWS_ENDPOINT_URL_DYNAMODB"] = regions[i].table_endpoint;
        auto log = logs / ("seed-" + regions[i].name + ".log");
        if (int rc = run_to_end({core_bin.string(), "seed"}, log, env); rc != 0) {
          return error::unavailable(fmt::format("seeding {} in {} failed (exit {}); see {}", kTable,
                                                regions[i].name, rc, log.string()));
        }
      }
    }
  }

  // 6. The accelerator.
  auto global_pid = start_agent(kGlobalRegion, "");
  std::string accelerator_arn;
  if (!global_pid) return global_pid.error();
  {
    // One endpoint group per region: the template loops (Fn::ForEach) over the load balancers,
    // the primary's first.
    std::string arns;
    for (const auto& r : regions) arns += (arns.empty() ? "" : ",") + r.load_balancer_arn;
    stack_engine engine(state, make_local_providers(state));
    if (auto d = engine.describe(regions[0].name, kAcceleratorStack);
        d && d->parameters.contains("PrimaryLoadBalancerArn")) {
      // A state directory from the two-group template: its groups' logical ids differ, and a
      // listener takes one group per region, so that stack goes before the new one comes.
      say("accelerator replacing the two-region accelerator stack of an earlier `up`");
      if (auto rm = engine.remove(regions[0].name, kAcceleratorStack); !rm) return rm.error();
    }
    std::map<std::string, std::string> params{{"LoadBalancerArns", arns},
                                              {"HealthCheckIntervalSeconds", interval}};
    if (auto d = deploy(state, regions[0].name, kAcceleratorStack, acc_template, params); !d)
      return d.error();
    accelerator_arn = outputs_of(state, regions[0].name, kAcceleratorStack)["AcceleratorArn"];
  }

  // 7. Wait until every region's services are healthy and the page answers through the
  // accelerator.
  auto deadline = std::chrono::steady_clock::now() + o.timeout;
  std::string why;
  std::optional<json::object> acc_rt;
  for (;;) {
    bool all = true;
    for (const auto& r : regions) all = all && region_healthy(state, r.name, why);
    if (all) {
      // The edge of this stack's accelerator (a replaced one may still be stopping).
      acc_rt = records::read_object(edge_runtime::runtime_dir(state, kGlobalRegion) /
                                    (records::arn_id(accelerator_arn) + ".json"));
      if (!acc_rt || !alive(pid_of(*acc_rt))) {
        all = false;
        why = "accelerator not running";
      } else {
        auto page =
            edge::control_request(std::string(acc_rt->at("url").as_string()), "GET", "/", "");
        if (!page) {
          all = false;
          why = "page through the accelerator: " + page.error().message;
        }
      }
    }
    if (all) break;
    if (std::chrono::steady_clock::now() > deadline)
      return error::timeout("the system did not become healthy: " + why);
    std::this_thread::sleep_for(250ms);
  }

  // 8. system.json (and the dashboard, when this build has one).
  json::object sys{
      {"version", 1}, {"state_dir", state.string()}, {"primary_region", regions[0].name}};
  json::object rs;
  for (const auto& r : regions) {
    json::object ro{{"table", json::object{{"endpoint", r.table_endpoint}, {"pid", r.table_pid}}},
                    {"agent", json::object{{"pid", r.agent_pid}}},
                    {"cluster", r.cluster},
                    {"services", json::object{{"core", "core-service"}, {"like", "like-service"}}}};
    if (auto lb = first_runtime(edge_runtime::runtime_dir(state, r.name))) {
      ro["load_balancer"] = json::object{
          {"url", lb->at("url")}, {"control", lb->at("control")}, {"pid", lb->at("pid")}};
    }
    rs[r.name] = std::move(ro);
  }
  sys["regions"] = std::move(rs);
  {
    // Each group's ARN is output under its logical id: EndpointGroup + the load balancer ARN's
    // letters and digits (cfn/accelerator.yml).
    auto acc_outs = outputs_of(state, regions[0].name, kAcceleratorStack);
    json::object groups;
    for (const auto& r : regions) {
      std::string key = "EndpointGroup";
      for (char c : r.load_balancer_arn) {
        if (std::isalnum(static_cast<unsigned char>(c))) key += c;
      }
      groups[r.name] = acc_outs[key];
    }
    sys["accelerator"] = json::object{{"url", acc_rt->at("url")},
                                      {"control", acc_rt->at("control")},
                                      {"pid", acc_rt->at("pid")},
                                      {"mode", "http"},
                                      {"endpoint_groups", std::move(groups)}};
  }
  auto system_path = state / "system.json";
  if (auto w = oci::write_file_atomically(system_path, json::serialize(sys)); !w) return w.error();

  json::object dashboard;
  if (auto* d = previous.if_contains("dashboard");
      d && d->is_object() && ours(pid_of(d->as_object()), state)) {
    dashboard = d->as_object();
  } else if (dashboard_available(cli_bin, logs / "dashboard-help.txt")) {
    auto port_file = state / "dashboard.port";
    fs::remove(port_file, ec);
    auto log = logs / "dashboard.log";
    auto pid = spawn_detached(
        {cli_bin.string(), "--state-dir", state.string(), "dashboard", "--system",
         system_path.string(), "--listen", "127.0.0.1:0", "--port-file", port_file.string()},
        log);
    if (pid) {
      for (int i = 0; i < 200 && alive(*pid); ++i) {
        auto text = read_text(port_file);
        if (!text.empty() && text.back() == '\n') {
          dashboard = {{"url", fmt::format("http://127.0.0.1:{}", std::stoi(text))}, {"pid", *pid}};
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
      if (dashboard.empty()) say("WARNING   the dashboard did not start; see " + log.string());
    }
  }
  if (!dashboard.empty()) {
    sys["dashboard"] = dashboard;
    if (auto w = oci::write_file_atomically(system_path, json::serialize(sys)); !w)
      return w.error();
  }
  return sys;
}
}  // namespace

// Replication figures per peer region from a table's Prometheus /metrics: "from <peer>: latency
// N ms, backlog M" (empty when the table does not replicate).
static std::string replication_lines(const std::string& endpoint) {
  auto text = edge::control_request(endpoint, "GET", "/metrics", "");
  if (!text) return {};
  static const std::regex line(
      R"(^mysfits_table_replication_(latency_ms|backlog)\{([^}]*)\} ([-+0-9.eE]+|NaN)$)");
  static const std::regex peer(R"re(peer="([^"]+)")re");
  std::map<std::string, std::map<std::string, std::string>> by_peer;
  std::istringstream in(*text);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    std::smatch p;
    if (!std::regex_match(l, m, line)) continue;
    std::string labels = m[2].str();
    if (!std::regex_search(labels, p, peer)) continue;
    by_peer[p[1].str()][m[1].str()] = m[3].str();
  }
  std::string out;
  for (const auto& entry : by_peer) {
    const auto& name = entry.first;
    const auto& v = entry.second;
    auto get = [&v](const char* k) {
      auto it = v.find(k);
      return it == v.end() ? std::string("?") : it->second;
    };
    out += fmt::format("  replication    from {}: latency {} ms, backlog {}\n", name,
                       get("latency_ms"), get("backlog"));
  }
  return out;
}

result<std::string> system_status(const fs::path& state_dir) {
  auto state = fs::absolute(state_dir).lexically_normal();
  auto sys = read_system(state);
  if (!sys) return error::not_found("no system runs from " + state.string() + " (no system.json)");
  std::string out;
  auto mark = [&](int pid) { return ours(pid, state) ? "up  " : "DOWN"; };
  for (const auto& kv : sys->at("regions").as_object()) {
    const std::string region = kv.key();
    const auto& r = kv.value().as_object();
    out += fmt::format("region {}{}\n", region,
                       region == sys->at("primary_region").as_string() ? " (primary)" : "");
    if (auto* t = r.if_contains("table")) {
      const auto& to = t->as_object();
      std::string items = "?";
      std::string replicas;
      if (ours(pid_of(to), state)) {
        auto c = table_client(region, std::string(to.at("endpoint").as_string()));
        if (auto d = c->call("DescribeTable", {{"TableName", kTable}})) {
          const auto& table = d->at("Table").as_object();
          if (auto* n = table.if_contains("ItemCount")) items = json::serialize(*n);
          if (auto* rs = table.if_contains("Replicas"); rs && rs->is_array()) {
            for (const auto& rep : rs->as_array())
              replicas += fmt::format(" {}", std::string(rep.at("RegionName").as_string()));
          }
        } else {
          items = d.error().type;
        }
      }
      out += fmt::format("  table          {} {} (pid {}) {}: {} items{}\n", mark(pid_of(to)),
                         std::string(to.at("endpoint").as_string()), pid_of(to), kTable, items,
                         replicas.empty() ? "" : ", replicas:" + replicas);
      if (ours(pid_of(to), state))
        out += replication_lines(std::string(to.at("endpoint").as_string()));
    }
    if (auto* a = r.if_contains("agent")) {
      int pid = agent_pid(state, region);
      out += fmt::format("  agent          {} pid {}\n", mark(pid ? pid : pid_of(a->as_object())),
                         pid ? pid : pid_of(a->as_object()));
    }
    if (auto lb = first_runtime(edge_runtime::runtime_dir(state, region))) {
      int pid = pid_of(*lb);
      std::string groups;
      if (ours(pid, state)) {
        if (auto h = edge::control_request(std::string(lb->at("control").as_string()), "GET",
                                           "/health", "")) {
          boost::system::error_code ec;
          auto v = json::parse(*h, ec);
          if (!ec && v.is_object()) {
            for (const auto& g : v.as_object()) {
              int healthy = 0, total = 0;
              for (const auto& t : g.value().as_object()) {
                ++total;
                healthy += t.value().as_string() == "healthy";
              }
              groups += fmt::format(" {}={}/{} healthy", std::string(g.key()), healthy, total);
            }
          }
        }
      }
      out += fmt::format("  load balancer  {} {} (pid {}){}\n", mark(pid),
                         std::string(lb->at("url").as_string()), pid, groups);
    }
    ecs::state_store store(state, region);
    auto tasks = store.read_tasks();
    for (const auto& s : store.services()) {
      int running = 0, healthy = 0;
      for (const auto& t : tasks) {
        if (t.at("serviceName").as_string() != s.spec.name) continue;
        ++running;
        healthy += t.at("healthStatus").as_string() == "HEALTHY";
      }
      out +=
          fmt::format("  service        {:<13} desired {} running {} healthy {} ({})\n",
                      s.spec.name, s.spec.desired_count, running, healthy, s.spec.task_definition);
    }
  }
  if (auto* a = sys->if_contains("accelerator")) {
    const auto& ao = a->as_object();
    int pid = pid_of(ao);
    out += fmt::format("accelerator      {} {} (pid {})\n", mark(pid),
                       std::string(ao.at("url").as_string()), pid);
    if (ours(pid, state)) {
      if (auto st = edge::control_request(std::string(ao.at("control").as_string()), "GET",
                                          "/state", "")) {
        boost::system::error_code ec;
        auto v = json::parse(*st, ec);
        if (!ec && v.is_object()) {
          for (const auto& g : v.as_object().at("Groups").as_array()) {
            const auto& go = g.as_object();
            std::string endpoints;
            for (const auto& t : go.at("Targets").as_array())
              endpoints += fmt::format(" {} {}", std::string(t.at("Id").as_string()),
                                       std::string(t.at("Health").as_string()));
            out += fmt::format("  endpoint group {:<10} dial {:g}%{}\n",
                               std::string(go.at("Name").as_string()),
                               go.at("TrafficDialPercentage").to_number<double>(), endpoints);
          }
        }
      }
    }
  }
  if (auto* d = sys->if_contains("dashboard")) {
    const auto& dobj = d->as_object();
    out += fmt::format("dashboard        {} {} (pid {})\n", mark(pid_of(dobj)),
                       std::string(dobj.at("url").as_string()), pid_of(dobj));
  }
  return out;
}

result<int> system_down(const fs::path& state_dir,
                        const std::function<void(const std::string&)>& progress) {
  auto state = fs::absolute(state_dir).lexically_normal();
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  auto sys = read_system(state).value_or(json::object{});
  int stopped = 0;
  // SIGTERM, then SIGKILL after `grace`; only processes whose command line names the state dir.
  auto stop_all = [&](const std::vector<std::pair<std::string, int>>& procs,
                      std::chrono::milliseconds grace) {
    std::vector<std::pair<std::string, int>> live;
    std::set<int> seen;
    for (const auto& [what, pid] : procs) {
      if (seen.insert(pid).second && ours(pid, state)) {
        ::kill(pid, SIGTERM);
        live.emplace_back(what, pid);
      }
    }
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (const auto& [what, pid] : live) {
      while (alive(pid) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
      if (alive(pid)) {
        ::kill(pid, SIGKILL);
        for (int i = 0; i < 100 && alive(pid); ++i) std::this_thread::sleep_for(20ms);
      }
      say(fmt::format("stopped {} (pid {})", what, pid));
      ++stopped;
    }
  };
  // 1. The dashboard.
  if (auto* d = sys.if_contains("dashboard"); d && d->is_object())
    stop_all({{"dashboard", pid_of(d->as_object())}}, 5s);
  // 2. Agents (each stops its tasks and edges).
  std::vector<std::pair<std::string, int>> agents;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state / "agents", ec)) {
    if (e.path().extension() != ".pid") continue;
    auto region = e.path().stem().string();
    agents.emplace_back("agent " + region, agent_pid(state, region));
  }
  if (auto* rs = sys.if_contains("regions"); rs && rs->is_object()) {
    for (const auto& kv : rs->as_object()) {
      if (auto* a = kv.value().as_object().if_contains("agent"))
        agents.emplace_back("agent " + std::string(kv.key()), pid_of(a->as_object()));
    }
  }
  stop_all(agents, 20s);
  // 3. Anything an agent left behind (a killed agent cannot stop its children).
  std::vector<std::pair<std::string, int>> rest;
  for (const auto& e : fs::recursive_directory_iterator(state / "runtime", ec)) {
    if (e.path().extension() != ".json" ||
        e.path().filename().string().find(".config.") != std::string::npos)
      continue;
    if (auto o = records::read_object(e.path()))
      rest.emplace_back("edge " + e.path().stem().string(), pid_of(*o));
  }
  for (const auto& e : fs::directory_iterator(state / "ecs", ec)) {
    ecs::state_store store(state, e.path().filename().string());
    for (const auto& t : store.read_tasks())
      rest.emplace_back("task " + std::string(t.at("taskId").as_string()), pid_of(t.as_object()));
  }
  if (auto* a = sys.if_contains("accelerator"); a && a->is_object())
    rest.emplace_back("accelerator", pid_of(a->as_object()));
  if (auto* rs = sys.if_contains("regions"); rs && rs->is_object()) {
    for (const auto& kv : rs->as_object()) {
      if (auto* lb = kv.value().as_object().if_contains("load_balancer"))
        rest.emplace_back("load balancer " + std::string(kv.key()), pid_of(lb->as_object()));
    }
  }
  stop_all(rest, 5s);
  // 4. The tables.
  std::vector<std::pair<std::string, int>> tables;
  for (const auto& e : fs::directory_iterator(state / "table", ec)) {
    if (e.path().extension() != ".pid") continue;
    auto text = read_text(e.path());
    tables.emplace_back("table " + e.path().stem().string(), std::atoi(text.c_str()));
  }
  if (auto* rs = sys.if_contains("regions"); rs && rs->is_object()) {
    for (const auto& kv : rs->as_object()) {
      if (auto* t = kv.value().as_object().if_contains("table"))
        tables.emplace_back("table " + std::string(kv.key()), pid_of(t->as_object()));
    }
  }
  stop_all(tables, 15s);
  fs::remove(state / "system.json", ec);
  return stopped;
}

}  // namespace mysfits::cloud
