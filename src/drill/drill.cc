// `mysfits drill` (lab 5): load through the accelerator, dial splits checked against what was
// observed, a broken primary with measured failover and loss, healing with measured
// convergence. Every figure in the report is measured here; see docs/drill.md.
#include "mysfits/drill/drill.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "http_client.h"
#include "load.h"
#include "mysfits/ddbclient/client.h"
#include "scrape.h"

extern char** environ;

namespace mysfits::drill {

namespace json = boost::json;
using detail::request_record;
using detail::seconds_since;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

result<break_kind> parse_break_kind(const std::string& s) {
  if (s == "desired-count") return break_kind::desired_count;
  if (s == "kill") return break_kind::kill;
  if (s == "cut") return break_kind::cut;
  if (s == "none") return break_kind::none;
  return error::invalid_argument("--break must be desired-count, kill, cut or none, got '" + s +
                                 "'");
}

namespace {

const char* to_string(break_kind k) {
  switch (k) {
    case break_kind::desired_count:
      return "desired-count";
    case break_kind::kill:
      return "kill";
    case break_kind::cut:
      return "cut";
    case break_kind::none:
      break;
  }
  return "none";
}

double round3(double v) { return std::round(v * 1000) / 1000; }

bool is_ok(const request_record& r) { return r.status >= 200 && r.status < 300; }

// Runs a command, capturing stdout; returns the exit status (or -1 if it could not start).
int run_command(const std::vector<std::string>& argv, std::string& out) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipefd[2];
  if (::pipe(pipefd) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return -1;
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Starts a process detached (own session, output to `log`), for restarting a killed region.
result<int> spawn_detached(const restart_spec& spec, const std::filesystem::path& log) {
  std::vector<std::string> env_strings;
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.env) env[k] = v;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return error::io("cannot start " + spec.argv[0] + ": " + std::strerror(rc));
  return static_cast<int>(pid);
}

// Reaps children the drill restarted that exited (they are otherwise left to init).
void reap_children() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// A client for one region's table endpoint, for the drill's own short calls.
result<std::unique_ptr<ddbclient::client>> table_client(const region_info& r) {
  if (r.table_endpoint.empty()) return error::not_found(r.name + ": no table endpoint");
  auto ep = ddbclient::parse_endpoint(r.table_endpoint);
  if (!ep) return ep.error();
  ddbclient::client_options co;
  co.region = r.name;
  co.endpoint_override = *ep;
  co.max_attempts = 1;
  co.connect_timeout = 500ms;
  co.request_timeout = 2000ms;
  return std::make_unique<ddbclient::client>(co);
}

// Tags (on) or untags (off) the table in one region with mysfits:counter-merge = true.
result<void> set_counter_merge(const region_info& r, const std::string& table, bool on) {
  auto c = table_client(r);
  if (!c) return c.error();
  auto d = (*c)->call("DescribeTable", json::object{{"TableName", table}});
  if (!d) return error::unavailable(r.name + " DescribeTable: " + d.error().message);
  const auto* t = d->if_contains("Table");
  const auto* arn = t && t->is_object() ? t->get_object().if_contains("TableArn") : nullptr;
  if (!arn || !arn->is_string()) return error::unavailable(r.name + ": no TableArn");
  json::object body{{"ResourceArn", *arn}};
  if (on) {
    body["Tags"] = json::array{json::object{{"Key", "mysfits:counter-merge"}, {"Value", "true"}}};
  } else {
    body["TagKeys"] = json::array{"mysfits:counter-merge"};
  }
  auto res = (*c)->call(on ? "TagResource" : "UntagResource", body);
  if (!res) return error::unavailable(r.name + " tagging: " + res.error().message);
  return ok();
}

// Likes per mysfit in one region's table (a consistent Scan).
result<std::map<std::string, long long>> read_likes(const region_info& r,
                                                    const std::string& table) {
  auto client = table_client(r);
  if (!client) return client.error();
  ddbclient::client& c = **client;
  std::map<std::string, long long> out;
  json::object body{
      {"TableName", table}, {"ConsistentRead", true}, {"ProjectionExpression", "MysfitId, Likes"}};
  for (int page = 0; page < 1000; ++page) {
    auto res = c.call("Scan", body);
    if (!res) return error::unavailable(r.name + " table: " + res.error().message);
    if (const auto* items = res->if_contains("Items"); items && items->is_array()) {
      for (const auto& it : items->get_array()) {
        const auto& o = it.as_object();
        const auto* id = o.if_contains("MysfitId");
        if (!id || !id->is_object() || !id->get_object().contains("S")) continue;
        long long likes = 0;
        if (const auto* l = o.if_contains("Likes"); l && l->is_object()) {
          if (const auto* n = l->get_object().if_contains("N"); n && n->is_string()) {
            likes = std::atoll(n->get_string().c_str());
          }
        }
        out[std::string(id->get_object().at("S").get_string())] = likes;
      }
    }
    const auto* lek = res->if_contains("LastEvaluatedKey");
    if (!lek || !lek->is_object() || lek->get_object().empty()) break;
    body["ExclusiveStartKey"] = *lek;
  }
  return out;
}

// Dials that give each group (in the accelerator's order) the wanted share: a group keeps its
// dial's share of what reaches it and passes the rest on.
std::map<std::string, double> dials_for(const std::vector<std::string>& order,
                                        const std::map<std::string, double>& share) {
  std::map<std::string, double> dials;
  double remaining = 1;
  for (const auto& g : order) {
    double want = share.count(g) ? share.at(g) : 0;
    double dial = remaining > 1e-9 ? std::clamp(want / remaining, 0.0, 1.0) * 100 : 0;
    dials[g] = std::round(dial * 100) / 100;
    remaining -= want;
  }
  return dials;
}

struct process_target {
  std::string what;               // "us-west-2 table"
  std::vector<std::string> path;  // keys in system.json, for rewriting the pid
  process_ref proc;
};

// The primary's processes in the order they are stopped: agent first (nothing restarts the
// others), then tasks, load balancer, table.
std::vector<process_target> region_processes(const region_info& r, const std::string& exe,
                                             const std::filesystem::path& state_dir) {
  std::vector<process_target> out;
  if (r.agent.pid > 0) out.push_back({r.name + " agent", {"regions", r.name, "agent"}, r.agent});
  for (std::size_t i = 0; i < r.tasks.size(); ++i) {
    if (r.tasks[i].process.pid > 0) {
      out.push_back({r.name + " task " + r.tasks[i].service + " " + r.tasks[i].address,
                     {"regions", r.name, "tasks", std::to_string(i)},
                     r.tasks[i].process});
    }
  }
  if (r.tasks.empty() && !exe.empty()) {
    // Tasks the region's agent runs: `mysfits ecs list-tasks`.
    std::string out_text;
    if (run_command(
            {exe, "--state-dir", state_dir.string(), "ecs", "list-tasks", "--region", r.name},
            out_text) == 0) {
      boost::system::error_code ec;
      auto v = json::parse(out_text, ec);
      if (!ec && v.is_object() && v.get_object().contains("tasks")) {
        for (const auto& t : v.get_object().at("tasks").as_array()) {
          const auto* pid = t.as_object().if_contains("pid");
          if (pid && pid->is_int64() && pid->get_int64() > 0) {
            process_target pt;
            pt.what = r.name + " task pid " + std::to_string(pid->get_int64());
            pt.proc.pid = static_cast<int>(pid->get_int64());
            out.push_back(std::move(pt));
          }
        }
      }
    }
  }
  if (r.lb.pid > 0)
    out.push_back({r.name + " load balancer", {"regions", r.name, "load_balancer"}, r.lb});
  if (r.table.pid > 0) out.push_back({r.name + " table", {"regions", r.name, "table"}, r.table});
  return out;
}

class drill_run {
 public:
  explicit drill_run(const drill_options& o) : o_(o) {}

  result<json::object> run();

 private:
  void say(const std::string& s) {
    if (o_.progress) o_.progress(s);
  }
  void sleep_for(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }
  result<void> set_dials(const std::map<std::string, double>& dials);
  json::object dial_phase(const std::string& label, const std::map<std::string, double>& share);
  json::object break_primary();
  json::object heal();
  json::object measure_loss(const std::map<std::string, long long>& surviving_now,
                            const std::map<std::string, long long>& baseline);

  const drill_options& o_;
  system_description sys_;
  std::vector<std::string> order_;  // endpoint groups, in the accelerator's order
  std::map<std::string, double> initial_dials_;
  std::string primary_, secondary_;
  std::vector<std::string> ids_;
  steady::time_point epoch_;
  std::unique_ptr<detail::load_generator> load_;
  int phase_ = 0;
  // Break bookkeeping.
  std::vector<process_target> broken_;
  std::map<std::string, int> saved_desired_;
  double t_break_ = 0;
  double t_unhealthy_ = -1;
  std::vector<std::string> notes_;
};

result<void> drill_run::set_dials(const std::map<std::string, double>& dials) {
  for (const auto& [g, d] : dials) {
    auto r =
        detail::http_fetch(sys_.accelerator->control, "PUT", "/groups/" + g + "/dial",
                           json::serialize(json::object{{"TrafficDialPercentage", d}}), 3000ms);
    if (!r) return r.error();
    if (r->status != 200) return error::unavailable("set dial " + g + ": " + r->body);
  }
  return ok();
}

json::object drill_run::dial_phase(const std::string& label,
                                   const std::map<std::string, double>& share) {
  auto dials = dials_for(order_, share);
  json::object out{{"split", label}};
  json::object dj;
  for (const auto& [g, d] : dials) dj[g] = d;
  out["dials"] = dj;
  if (auto r = set_dials(dials); !r) {
    out["error"] = r.error().message;
    return out;
  }
  load_->set_phase(++phase_);
  sleep_for(o_.settle);
  double t0 = seconds_since(epoch_);
  auto a0 = detail::scrape_accelerator(*sys_.accelerator, 2000ms);
  sleep_for(o_.phase);
  auto a1 = detail::scrape_accelerator(*sys_.accelerator, 2000ms);
  double t1 = seconds_since(epoch_);
  say("  " + label + ": measured " + std::to_string(t1 - t0).substr(0, 4) + " s");
  // Observed by the client: the region that answered (X-Mysfits-Region).
  std::map<std::string, double> by_region;
  std::int64_t answered = 0, total = 0, failed = 0;
  for (const auto& r : load_->records()) {
    if (r.sent < t0 || r.done > t1) continue;
    ++total;
    if (!is_ok(r)) ++failed;
    if (!r.region.empty()) {
      by_region[r.region] += 1;
      ++answered;
    }
  }
  // What the dashboard shows: the accelerator's per-group request counters.
  std::map<std::string, double> by_metric;
  double metric_total = 0;
  for (const auto& g1 : a1.groups) {
    for (const auto& g0 : a0.groups) {
      if (g0.name != g1.name) continue;
      double d = 0;
      for (int i = 0; i < 6; ++i) d += g1.requests[i] - g0.requests[i];
      by_metric[g1.name] = d;
      metric_total += d;
    }
  }
  json::object expected, observed, metric;
  bool ok_split = answered > 0 && metric_total > 0;
  for (const auto& g : order_) {
    double want = share.count(g) ? share.at(g) : 0;
    double seen = answered > 0 ? by_region[g] / static_cast<double>(answered) : 0;
    double from_metric = metric_total > 0 ? by_metric[g] / metric_total : 0;
    expected[g] = want;
    observed[g] = round3(seen);
    metric[g] = round3(from_metric);
    // Binomial tolerance: 4 standard deviations, at least 5 percentage points.
    double tol = std::max(
        0.05, 4 * std::sqrt(want * (1 - want) / std::max(1.0, static_cast<double>(answered))));
    if (std::fabs(seen - want) > tol || std::fabs(from_metric - want) > tol) ok_split = false;
  }
  out["expected_share"] = expected;
  out["observed_share"] = observed;
  out["dashboard_share"] = metric;
  out["requests"] = total;
  out["failed"] = failed;
  out["answered_with_region"] = answered;
  out["accelerator_requests"] = static_cast<std::int64_t>(metric_total);
  out["matches"] = ok_split;
  return out;
}

json::object drill_run::break_primary() {
  json::object out{{"how", to_string(o_.how)}, {"region", primary_}};
  const auto* r = sys_.find_region(primary_);
  if (o_.how == break_kind::desired_count) {
    if (o_.mysfits_exe.empty() || r->cluster.empty() || r->services.empty()) {
      out["error"] =
          "desired-count needs the mysfits executable, the region's cluster and services";
      return out;
    }
    for (const auto& [key, svc] : r->services) {
      std::string text;
      run_command(
          {o_.mysfits_exe, "--state-dir", sys_.state_dir.string(), "ecs", "describe-services",
           "--cluster", r->cluster, "--services", svc, "--region", primary_},
          text);
      boost::system::error_code ec;
      auto v = json::parse(text, ec);
      int desired = 1;
      if (!ec && v.is_object()) {
        for (const auto& s : v.get_object().at("services").as_array()) {
          desired = static_cast<int>(s.at("desiredCount").to_number<long long>());
        }
      }
      saved_desired_[svc] = desired;
    }
    t_break_ = seconds_since(epoch_);
    for (const auto& [svc, n] : saved_desired_) {
      std::string text;
      int rc = run_command(
          {o_.mysfits_exe, "--state-dir", sys_.state_dir.string(), "ecs", "update-service",
           "--cluster", r->cluster, "--service", svc, "--desired-count", "0", "--region", primary_},
          text);
      if (rc != 0) notes_.push_back("update-service " + svc + " exited " + std::to_string(rc));
    }
    return out;
  }
  broken_ = region_processes(*r, o_.mysfits_exe, sys_.state_dir);
  json::array names;
  t_break_ = seconds_since(epoch_);
  for (const auto& p : broken_) {
    int rc = ::kill(p.proc.pid, o_.how == break_kind::kill ? SIGKILL : SIGSTOP);
    names.push_back(json::string(p.what + " (pid " + std::to_string(p.proc.pid) +
                                 (rc == 0 ? ")" : ", already gone)")));
  }
  out["processes"] = names;
  if (broken_.empty()) out["error"] = "no process of the primary region is known (no pids)";
  return out;
}

json::object drill_run::heal() {
  json::object out;
  const auto* r = sys_.find_region(primary_);
  if (o_.how == break_kind::desired_count) {
    for (const auto& [svc, n] : saved_desired_) {
      std::string text;
      run_command({o_.mysfits_exe, "--state-dir", sys_.state_dir.string(), "ecs", "update-service",
                   "--cluster", r->cluster, "--service", svc, "--desired-count", std::to_string(n),
                   "--region", primary_},
                  text);
    }
    out["how"] = "desired counts restored";
  } else if (o_.how == break_kind::cut) {
    for (auto it = broken_.rbegin(); it != broken_.rend(); ++it) ::kill(it->proc.pid, SIGCONT);
    out["how"] = "SIGCONT";
  } else if (o_.how == break_kind::kill) {
    bool all_restartable = !broken_.empty();
    for (const auto& p : broken_) all_restartable = all_restartable && p.proc.restart.has_value();
    if (all_restartable) {
      // Table first, then tasks, then the load balancer (each needs the one before it).
      json::array started;
      for (auto it = broken_.rbegin(); it != broken_.rend(); ++it) {
        auto log = sys_.state_dir / ("drill-restart-" + std::to_string(it->proc.pid) + ".log");
        auto pid = spawn_detached(*it->proc.restart, log);
        if (!pid) {
          notes_.push_back(pid.error().message);
          continue;
        }
        started.push_back(json::string(it->what + " (pid " + std::to_string(*pid) + ")"));
        if (!it->path.empty() && !sys_.file.empty()) {
          if (auto u = update_pid(sys_.file, it->path, *pid); !u)
            notes_.push_back(u.error().message);
        }
      }
      out["how"] = "restarted";
      out["processes"] = started;
    } else if (!o_.mysfits_exe.empty()) {
      std::string text;
      int rc = run_command({o_.mysfits_exe, "--state-dir", sys_.state_dir.string(), "up"}, text);
      out["how"] = "mysfits up";
      out["exit_status"] = rc;
    } else {
      out["how"] = "none";
      out["error"] =
          "the killed processes have no restart command and no mysfits executable is known";
    }
  } else {
    out["how"] = "nothing broken";
  }
  return out;
}

result<json::object> drill_run::run() {
  auto s = load_system(o_.system_file);
  if (!s) return s.error();
  sys_ = std::move(*s);
  if (!sys_.accelerator || sys_.accelerator->url.empty() || sys_.accelerator->control.empty()) {
    return error::invalid_argument(o_.system_file.string() +
                                   ": no accelerator (url and control) to drive traffic through");
  }
  auto target = detail::parse_http_url(sys_.accelerator->url);
  if (!target) return target.error();
  primary_ = sys_.primary_region;
  auto acc = detail::scrape_accelerator(*sys_.accelerator, 3000ms);
  if (!acc.up) return error::unavailable("the accelerator's control API does not answer");
  for (const auto& g : acc.groups) {
    order_.push_back(g.name);
    initial_dials_[g.name] = g.dial;
  }
  for (const auto& g : order_) {
    if (g != primary_ && sys_.find_region(g) && secondary_.empty()) secondary_ = g;
  }
  if (std::find(order_.begin(), order_.end(), primary_) == order_.end() || secondary_.empty()) {
    return error::invalid_argument("the accelerator needs endpoint groups for the primary region " +
                                   primary_ + " and another region of the system");
  }
  say("drill: primary " + primary_ + ", secondary " + secondary_ + ", accelerator " +
      sys_.accelerator->url);

  // The mysfits, through the accelerator (as a visitor sees them).
  for (int attempt = 0; attempt < 20 && ids_.empty(); ++attempt) {
    auto r = detail::http_fetch(sys_.accelerator->url, "GET", "/mysfits", {}, 5000ms);
    if (r && r->status == 200) {
      boost::system::error_code ec;
      auto v = json::parse(r->body, ec);
      if (!ec && v.is_object() && v.get_object().contains("mysfits")) {
        for (const auto& m : v.get_object().at("mysfits").as_array()) {
          if (const auto* id = m.as_object().if_contains("mysfitId"); id && id->is_string()) {
            ids_.emplace_back(id->get_string());
          }
        }
      }
    }
    if (ids_.empty()) sleep_for(500ms);
  }
  if (ids_.empty())
    return error::unavailable("GET /mysfits through the accelerator found no mysfits");

  json::object report;
  report["system"] = o_.system_file.string();
  report["primary_region"] = primary_;
  report["secondary_region"] = secondary_;
  report["accelerator_mode"] = sys_.accelerator->mode;
  report["rate"] = o_.rate;
  report["like_fraction"] = o_.like_fraction;
  report["connections"] = o_.connections;
  report["phase_seconds"] = std::chrono::duration<double>(o_.phase).count();
  report["idempotency_keys"] = o_.idempotency_keys;
  report["break"] = to_string(o_.how);
  report["counter_merge"] = !o_.counter_merge ? "unchanged" : *o_.counter_merge ? "on" : "off";
  if (o_.counter_merge) {
    for (const auto& r : sys_.regions) {
      if (auto t = set_counter_merge(r, o_.table_name, *o_.counter_merge); !t) {
        return error::unavailable("--counter-merge: " + t.error().message);
      }
    }
    say(std::string("drill: conflict-free likes (mysfits:counter-merge) ") +
        (*o_.counter_merge ? "on" : "off") + " in every region");
  }

  // Likes before: every region's table.
  std::map<std::string, std::map<std::string, long long>> baseline;
  json::object baseline_j;
  for (const auto& r : sys_.regions) {
    auto l = read_likes(r, o_.table_name);
    if (l) {
      baseline[r.name] = *l;
      long long sum = 0;
      for (const auto& [id, n] : *l) sum += n;
      baseline_j[r.name] = sum;
    } else {
      notes_.push_back("baseline: " + l.error().message);
    }
  }
  report["likes_before"] = baseline_j;
  report["regions_agreed_before"] =
      baseline.size() == sys_.regions.size() &&
      std::all_of(baseline.begin(), baseline.end(),
                  [&](const auto& kv) { return kv.second == baseline.begin()->second; });

  epoch_ = steady::now();
  detail::load_options lo;
  lo.target = *target;
  lo.rate = o_.rate;
  lo.like_fraction = o_.like_fraction;
  lo.connections = o_.connections;
  lo.idempotency_keys = o_.idempotency_keys;
  lo.mysfit_ids = ids_;
  load_ = std::make_unique<detail::load_generator>(lo, epoch_);
  load_->start();
  say("drill: load " + std::to_string(static_cast<int>(o_.rate)) +
      " req/s through the accelerator");

  json::array splits;
  splits.push_back(dial_phase("100% " + primary_, {{primary_, 1.0}}));
  splits.push_back(dial_phase("100% " + secondary_, {{secondary_, 1.0}}));
  splits.push_back(dial_phase("50/50", {{primary_, 0.5}, {secondary_, 0.5}}));
  report["splits"] = splits;

  // Break the primary under 50/50 traffic; watch the accelerator every 50 ms.
  json::object failover;
  // The primary's refusals of requests whose deadline had passed (X-Edge-Deadline), before the
  // break: a frozen region refuses, once thawed, what it held past the deadline.
  std::optional<detail::region_snapshot> refusals_before;
  if (o_.how == break_kind::cut) {
    if (const auto* p = sys_.find_region(primary_)) {
      refusals_before = detail::scrape_region(*p, 2000ms);
    }
  }
  if (o_.how != break_kind::none) {
    say("drill: breaking " + primary_ + " (" + to_string(o_.how) + ")");
    load_->set_phase(++phase_);
    failover["break"] = break_primary();
    double window = std::max(5.0, 2 * std::chrono::duration<double>(o_.phase).count());
    double last_primary_count_change = -1;
    double prev_count = -1;
    while (seconds_since(epoch_) < t_break_ + window) {
      auto a = detail::scrape_accelerator(*sys_.accelerator, 1000ms);
      double now = seconds_since(epoch_);
      for (const auto& g : a.groups) {
        if (g.name != primary_) continue;
        if (g.healthy == 0 && t_unhealthy_ < 0) t_unhealthy_ = now;
        double c = 0;
        for (int i = 0; i < 6; ++i) c += g.requests[i];
        if (prev_count >= 0 && c != prev_count) last_primary_count_change = now;
        prev_count = c;
      }
      sleep_for(50ms);
    }
    // Stop the load first: requests still in flight (a frozen region holds them until the
    // client's timeout) must be counted with their outcome, not left out.
    load_->stop();
    auto recs = load_->records();
    double last_fail = -1, last_primary = -1, slowest = 0;
    int failed = 0, after = 0, primary_after_failover = 0, resent_after = 0;
    std::map<unsigned, int> failed_by_status;
    for (const auto& r : recs) {
      if (r.done < t_break_) continue;
      ++after;
      slowest = std::max(slowest, r.done - r.sent);
      if (r.resent) ++resent_after;
      if (!is_ok(r)) {
        ++failed;
        ++failed_by_status[r.status];
        last_fail = std::max(last_fail, r.done);
      }
      if (r.region == primary_) last_primary = std::max(last_primary, r.done);
      if (t_unhealthy_ >= 0 && r.sent > t_unhealthy_ && r.region == primary_)
        ++primary_after_failover;
    }
    failover["observed_seconds"] = round3(window);
    failover["accelerator_marked_unhealthy_s"] =
        t_unhealthy_ >= 0 ? json::value(round3(t_unhealthy_ - t_break_)) : json::value(nullptr);
    failover["last_response_from_primary_s"] =
        last_primary >= 0 ? json::value(round3(last_primary - t_break_)) : json::value(0.0);
    failover["last_primary_counter_change_s"] =
        last_primary_count_change >= 0 ? json::value(round3(last_primary_count_change - t_break_))
                                       : json::value(nullptr);
    // Recovery: from the break until the last failed answer (every later request succeeded).
    double last_done = 0;
    for (const auto& r : recs) last_done = std::max(last_done, r.done);
    bool failing_at_end = last_fail >= 0 && last_done - last_fail < 1.0;
    failover["recovery_s"] =
        last_fail >= 0 ? json::value(round3(last_fail - t_break_)) : json::value(0.0);
    failover["recovered"] = !failing_at_end;
    failover["requests_after_break"] = after;
    // What a frozen region costs the clients that were not failed: the longest wait of a
    // request answered after the break, and how many the accelerator sent on to the other
    // region after the first may have received them (X-Edge-Resent).
    failover["slowest_answer_after_break_s"] = round3(slowest);
    failover["requests_resent"] = resent_after;
    failover["failed_requests"] = failed;
    json::object fbs;
    for (const auto& [st, n] : failed_by_status)
      fbs[st == 0 ? "no answer" : std::to_string(st)] = n;
    failover["failed_by_status"] = fbs;
    failover["primary_answers_after_failover"] = primary_after_failover;
    failover["dead_region_unused_after_failover"] =
        t_unhealthy_ >= 0 && primary_after_failover == 0;
  }
  load_->stop();
  auto recs = load_->records();
  int total_failed = 0;
  for (const auto& r : recs) total_failed += is_ok(r) ? 0 : 1;
  report["requests"] = static_cast<std::int64_t>(recs.size());
  report["failed_requests_total"] = total_failed;
  double load_end = 0;
  for (const auto& r : recs) load_end = std::max(load_end, r.done);
  report["load_seconds"] = round3(load_end);

  // Acknowledged likes per mysfit, and which regions acknowledged them when.
  std::map<std::string, long long> acked, resent_likes, unacked_likes;
  long long acked_total = 0, resent_total = 0, unacked_total = 0;
  json::object acked_by_region;
  std::map<std::string, long long> acked_region_count;
  for (const auto& r : recs) {
    if (r.like && is_ok(r)) {
      ++acked[ids_[static_cast<std::size_t>(r.mysfit)]];
      ++acked_total;
      ++acked_region_count[r.region.empty() ? "?" : r.region];
      if (r.resent) {
        ++resent_likes[ids_[static_cast<std::size_t>(r.mysfit)]];
        ++resent_total;
      }
    } else if (r.like) {
      ++unacked_likes[ids_[static_cast<std::size_t>(r.mysfit)]];
      ++unacked_total;
    }
  }
  for (const auto& [g, n] : acked_region_count) acked_by_region[g] = n;
  report["likes_acknowledged"] = acked_total;
  report["likes_acknowledged_by_region"] = acked_by_region;

  // Likes of the mysfits in the surviving region before healing.
  const auto* survivor = sys_.find_region(secondary_);
  auto survivor_base =
      baseline.count(secondary_) ? baseline[secondary_] : std::map<std::string, long long>{};
  if (o_.how != break_kind::none) {
    auto now_likes = read_likes(*survivor, o_.table_name);
    if (now_likes) {
      long long missing = 0;
      for (const auto& id : ids_) {
        long long expected = survivor_base[id] + acked[id];
        long long have = now_likes->count(id) ? now_likes->at(id) : 0;
        missing += std::max(0LL, expected - have);
      }
      failover["likes_missing_in_survivor_after_recovery"] = missing;
    } else {
      notes_.push_back("after recovery: " + now_likes.error().message);
    }
    report["failover"] = failover;

    say("drill: healing " + primary_);
    double t_heal = seconds_since(epoch_);
    json::object healing = heal();
    // Until the accelerator sends to the primary again.
    double healthy_at = -1;
    while (seconds_since(epoch_) < t_heal + 60) {
      auto a = detail::scrape_accelerator(*sys_.accelerator, 1000ms);
      bool healthy = false;
      for (const auto& g : a.groups)
        healthy = healthy || (g.name == primary_ && g.healthy > 0 && g.healthy == g.endpoints);
      if (healthy) {
        healthy_at = seconds_since(epoch_);
        break;
      }
      sleep_for(100ms);
    }
    healing["primary_healthy_again_s"] =
        healthy_at >= 0 ? json::value(round3(healthy_at - t_heal)) : json::value(nullptr);
    report["heal"] = healing;
    reap_children();
  }

  // Convergence: every region's table has the same likes for every mysfit.
  double t_conv = seconds_since(epoch_);
  double agreed_at = -1;
  std::map<std::string, std::map<std::string, long long>> final_likes;
  // Re-read the system file: healing may have restarted processes on new addresses.
  if (auto again = load_system(o_.system_file)) sys_ = std::move(*again);
  while (seconds_since(epoch_) <
         t_conv + std::chrono::duration<double>(o_.converge_timeout).count()) {
    final_likes.clear();
    bool all_read = true;
    for (const auto& r : sys_.regions) {
      auto l = read_likes(r, o_.table_name);
      if (!l) {
        all_read = false;
        break;
      }
      final_likes[r.name] = *l;
    }
    if (all_read) {
      bool same = true;
      for (const auto& [name, l] : final_likes) same = same && l == final_likes.begin()->second;
      if (same) {
        agreed_at = seconds_since(epoch_);
        break;
      }
    }
    sleep_for(250ms);
  }
  json::object conv;
  conv["regions_agree"] = agreed_at >= 0;
  conv["time_to_agree_s"] =
      agreed_at >= 0 ? json::value(round3(agreed_at - t_conv)) : json::value(nullptr);
  conv["waited_up_to_s"] = std::chrono::duration<double>(o_.converge_timeout).count();
  if (agreed_at < 0 && !final_likes.empty()) {
    json::object differ;
    for (const auto& id : ids_) {
      std::set<long long> values;
      for (const auto& [name, l] : final_likes) values.insert(l.count(id) ? l.at(id) : 0);
      if (values.size() > 1) {
        json::object per;
        for (const auto& [name, l] : final_likes) per[name] = l.count(id) ? l.at(id) : 0;
        differ[id] = per;
      }
    }
    conv["differing_mysfits"] = differ;
  }
  report["convergence"] = conv;

  // What the thawed primary refused because the deadline had passed (cut only: the same
  // processes, so their counters carry on), by its load balancer and by its tasks.
  json::value refused_after_deadline = nullptr;
  if (refusals_before) {
    if (const auto* p = sys_.find_region(primary_)) {
      auto after = detail::scrape_region(*p, 2000ms);
      double tasks = 0;
      for (const auto& t : after.tasks) {
        for (const auto& b : refusals_before->tasks) {
          if (b.address == t.address && b.scraped && t.scraped) {
            tasks += t.deadline_refusals - b.deadline_refusals;
          }
        }
      }
      json::object o;
      o["load_balancer"] = refusals_before->lb_up && after.lb_up
                               ? json::value(std::llround(after.lb_deadline_refusals -
                                                          refusals_before->lb_deadline_refusals))
                               : json::value(nullptr);
      o["tasks"] = std::llround(tasks);
      refused_after_deadline = o;
    }
  }

  // Loss: per mysfit, acknowledged likes against the final count in the surviving region.
  // A shortfall among likes that two regions acknowledged concurrently (within the LWW window)
  // is superseded under last-writer-wins; any other shortfall is unexplained.
  const std::string judged = final_likes.count(secondary_) ? secondary_ : std::string();
  long long superseded = 0, unexplained = 0, extra = 0;
  long long duplicates = 0, applied_unacked = 0, unexplained_extra = 0, overwritten_late = 0;
  json::object per_mysfit;
  if (!judged.empty()) {
    const double window = std::chrono::duration<double>(o_.lww_window).count();
    std::map<std::string, std::vector<std::pair<double, std::string>>> ack_times;
    for (const auto& r : recs) {
      if (r.like && is_ok(r))
        ack_times[ids_[static_cast<std::size_t>(r.mysfit)]].push_back({r.done, r.region});
    }
    for (const auto& id : ids_) {
      long long expected = survivor_base[id] + acked[id];
      long long have = final_likes[judged].count(id) ? final_likes[judged].at(id) : 0;
      long long lost = std::max(0LL, expected - have);
      // More than expected: a like counted twice (acknowledged after the accelerator resent it
      // to the other region while the first may have applied it, e.g. a frozen region that
      // thawed), or a like that got no answer but was applied; anything else is unexplained.
      const long long over = std::max(0LL, have - expected);
      const long long dup = std::min(over, resent_likes[id]);
      const long long unacked_applied = std::min(over - dup, unacked_likes[id]);
      extra += over;
      duplicates += dup;
      applied_unacked += unacked_applied;
      unexplained_extra += over - dup - unacked_applied;
      auto& times = ack_times[id];
      std::sort(times.begin(), times.end());
      long long concurrent = 0;
      for (std::size_t i = 0; i < times.size(); ++i) {
        bool c = false;
        for (std::size_t j = i; j-- > 0 && times[i].first - times[j].first <= window;) {
          c = c || times[j].second != times[i].second;
        }
        for (std::size_t j = i + 1; j < times.size() && times[j].first - times[i].first <= window;
             ++j) {
          c = c || times[j].second != times[i].second;
        }
        concurrent += c ? 1 : 0;
      }
      // Last-writer-wins only explains a shortfall once the regions converged (the winner's
      // value reached every replica); without convergence nothing is credited to it.
      // A like the accelerator resent may also be applied late by the region it first went to
      // (a frozen region when it thaws), on its stale copy of the item: under last-writer-wins
      // that late write replaces the count, losing the likes the other region acknowledged in
      // between. A shortfall of a mysfit with resent likes is reported as such.
      const long long late = agreed_at >= 0 && resent_likes[id] > 0 ? lost : 0;
      overwritten_late += late;
      long long sup = agreed_at >= 0 ? std::min(lost - late, concurrent) : 0;
      superseded += sup;
      unexplained += lost - late - sup;
      per_mysfit[id] = json::object{{"acknowledged", acked[id]},
                                    {"before", survivor_base[id]},
                                    {"final", have},
                                    {"lost", lost},
                                    {"concurrent_likes", concurrent},
                                    {"superseded_lww", sup},
                                    {"overwritten_by_late_duplicate", late},
                                    {"unexplained", lost - late - sup},
                                    {"resent", resent_likes[id]},
                                    {"unacknowledged", unacked_likes[id]},
                                    {"counted_twice", dup}};
    }
  }
  json::object loss;
  loss["judged_in_region"] = judged;
  loss["likes_acknowledged"] = acked_total;
  loss["superseded_under_lww"] = superseded;
  loss["overwritten_by_late_duplicates"] = overwritten_late;
  loss["unexplained_loss"] = unexplained;
  loss["counted_more_than_acknowledged"] = extra;
  loss["likes_resent"] = resent_total;
  loss["likes_unacknowledged"] = unacked_total;
  loss["duplicates"] = duplicates;
  loss["unacknowledged_but_applied"] = applied_unacked;
  loss["unexplained_extra"] = unexplained_extra;
  loss["refused_after_deadline_in_primary"] = refused_after_deadline;
  loss["lww_window_s"] = std::chrono::duration<double>(o_.lww_window).count();
  loss["per_mysfit"] = per_mysfit;
  if (agreed_at < 0 && unexplained > 0) {
    notes_.push_back(
        "the regions did not converge, so no shortfall is credited to last-writer-wins (are the "
        "tables replicating?)");
  }
  report["loss"] = loss;

  if (auto r = set_dials(initial_dials_); !r)
    notes_.push_back("restoring dials: " + r.error().message);
  json::array notes;
  for (const auto& n : notes_) notes.push_back(json::string(n));
  report["notes"] = notes;
  return report;
}

}  // namespace

result<json::object> run_drill(const drill_options& o) {
  drill_run d(o);
  return d.run();
}

}  // namespace mysfits::drill
