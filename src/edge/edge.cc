// edge::proxy: wires the parts together — worker event loops, listeners, the role's router
// (rules + target groups, or endpoint groups + dials), health checkers, draining and the
// control API — and implements control_plane for run-time changes.
#include "mysfits/edge/edge.h"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "balance/endpoint_group.h"
#include "control/control_api.h"
#include "health/checker.h"
#include "mysfits/common/http_server.h"
#include "mysfits/common/metrics.h"
#include "proxy/listener.h"
#include "proxy/pin_watchdog.h"
#include "routing/rules.h"
#include "routing/target_group.h"

namespace mysfits::edge {

namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// A worker's event loop. With `busy_poll`, a worker that finds nothing to do keeps polling
// (epoll_wait with no timeout, then sched_yield: any other runnable thread on this CPU runs
// first) until `busy_poll` has passed since its last event, and only then blocks: under a
// steady load it rarely sleeps, so it is rarely woken (a wake-up is a run-queue wait, and in a
// VM whose CPU halted, a trip through the host), while an idle edge sleeps as before.
void run_worker(asio::io_context& io, std::chrono::microseconds busy_poll) {
  if (busy_poll.count() == 0) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  while (!io.stopped()) {
    if (io.poll() > 0) {
      last = clock::now();
    } else if (clock::now() - last < busy_poll) {
      sched_yield();
    } else if (io.run_one() > 0) {
      last = clock::now();
    }
  }
}

// The CPUs the workers are bound to, worker i to the i-th (pin_workers): those this process may
// run on, when there are at least as many as workers (two or more); otherwise none.
std::vector<int> worker_cpus(std::size_t workers) {
  std::vector<int> cpus;
  if (workers < 2) return cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.size() < workers) cpus.clear();
  return cpus;
}

// Binds `thread` to `cpu`, or, given `elsewhere`, to those CPUs instead (best effort: a failure
// is logged, and the worker runs as it was).
void set_affinity(pthread_t thread, int cpu, const cpu_set_t* elsewhere) {
  cpu_set_t set;
  if (elsewhere) {
    set = *elsewhere;
  } else {
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
  }
  if (int e = pthread_setaffinity_np(thread, sizeof set, &set); e != 0) {
    spdlog::warn("edge: cannot move a worker {} CPU {}: {}", elsewhere ? "off" : "to", cpu,
                 std::strerror(e));
  }
}

// Runs the watchdog's ticks on the health thread until the proxy stops (`closed`, under `mu`).
asio::awaitable<void> run_pin_watchdog(pin_watchdog& wd, std::mutex& mu, const bool& closed) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(wd.config().interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(mu);
    if (ec || closed) co_return;
    wd.tick(std::chrono::steady_clock::now());
  }
}

class lb_router : public router {
 public:
  lb_router(const load_balancer_config& cfg,
            const std::map<std::string, std::shared_ptr<target_group>>& groups)
      : rules_(cfg.rules, cfg.default_target_group) {
    // Checked by start() (and parse_config): every action names a group. Resolved once here so
    // a request costs no name lookup.
    for (std::size_t i = 0; i <= rules_.rule_count(); ++i) {
      by_rule_.push_back(groups.at(rules_.target_group_of(i)).get());
    }
  }
  route_result route(std::string_view path, std::uint64_t, const exclusion& exclude) override {
    auto& tg = *by_rule_[rules_.match_index(path)];
    return {tg.pick(exclude), &tg.latency(), tg.name()};
  }

 private:
  rule_table rules_;
  std::vector<target_group*> by_rule_;  // [rule index] (the default action last)
};

class accelerator_router : public router {
 public:
  explicit accelerator_router(const endpoint_group_list& groups) : groups_(groups) {}
  route_result route(std::string_view, std::uint64_t draw, const exclusion& exclude) override {
    auto e = select_endpoint(groups_, draw, exclude);
    if (!e) return {nullptr, nullptr, "(any)"};
    for (const auto& g : groups_) {
      if (g->name() == e->group()) return {e, &g->latency(), g->name()};
    }
    return {e, nullptr, e->group()};
  }

 private:
  const endpoint_group_list& groups_;
};

}  // namespace

struct proxy::impl : control_plane {
  explicit impl(options o) : opts(std::move(o)) {}

  options opts;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;

  // Role state. Groups are created at start and live as long as the proxy.
  std::map<std::string, std::shared_ptr<target_group>> target_groups;
  endpoint_group_list endpoint_groups;
  std::unique_ptr<router> route;

  std::vector<std::unique_ptr<worker_context>> workers;
  std::vector<std::thread> threads;
  using guard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<guard> guards;
  asio::io_context health_io{1};  // health checks, deregistration timers, the pin watchdog
  // pin_workers: the watchdog that unbinds a starved worker (its ticks and stop() under
  // pin_mu; pins_closed once the workers may be gone).
  std::unique_ptr<pin_watchdog> pins;
  std::mutex pin_mu;
  bool pins_closed = false;
  std::vector<std::unique_ptr<listener>> listeners;
  std::unique_ptr<http::server> control;

  std::mutex mu;  // guards checkers
  std::map<const endpoint*, std::unique_ptr<health_checker>> checkers;
  std::vector<std::weak_ptr<endpoint>> all_endpoints;  // to close their pools at stop

  group* find_group(const std::string& name) {
    if (auto it = target_groups.find(name); it != target_groups.end()) return it->second.get();
    for (auto& g : endpoint_groups) {
      if (g->name() == name) return g.get();
    }
    return nullptr;
  }

  result<endpoint_ptr> make_endpoint(const target_config& t, const group& g) {
    boost::system::error_code ec;
    tcp::resolver resolver(health_io);
    auto results = resolver.resolve(t.host, std::to_string(t.port), ec);
    if (ec || results.empty()) {
      return error::invalid_argument("cannot resolve target " + t.id() + ": " + ec.message());
    }
    auto e = std::make_shared<endpoint>(t, results.begin()->endpoint(), g.health_check(), g.name(),
                                        workers.size());
    e->set_first_byte_timeout(g.first_byte_timeout());
    return e;
  }

  result<void> add_target(group& g, const target_config& t) {
    auto e = make_endpoint(t, g);
    if (!e) return e.error();
    if (auto r = g.add(*e); !r) return r;
    auto checker = std::make_unique<health_checker>(health_io.get_executor(), *e, g.health_check());
    checker->start();
    std::lock_guard lock(mu);
    checkers[e->get()] = std::move(checker);
    all_endpoints.push_back(*e);
    return ok();
  }

  // control_plane ----------------------------------------------------------------------------
  json::object state() override {
    json::object out;
    out["Role"] = opts.config.role == role_kind::load_balancer ? "LoadBalancer" : "Accelerator";
    json::array ports;
    for (auto& l : listeners) ports.push_back(l->port());
    out["Listeners"] = std::move(ports);
    json::array groups;
    auto describe = [](group& g) {
      json::object go;
      go["Name"] = g.name();
      json::array targets;
      for (const auto& e : *g.members()) {
        targets.push_back(json::object{
            {"Id", e->id()},
            {"Weight", e->weight()},
            {"Health",
             e->is_draining() ? std::string_view("draining") : to_string(e->health().state())},
            {"Draining", e->is_draining()},
            {"Outstanding", e->outstanding()},
            {"Requests", e->requests_total()},
        });
      }
      go["Targets"] = std::move(targets);
      return go;
    };
    for (auto& [name, tg] : target_groups) groups.push_back(describe(*tg));
    for (auto& g : endpoint_groups) {
      auto go = describe(*g);
      go["TrafficDialPercentage"] = g->traffic_dial();
      groups.push_back(std::move(go));
    }
    out["Groups"] = std::move(groups);
    return out;
  }

  result<void> set_traffic_dial(const std::string& name, double percent) override {
    for (auto& g : endpoint_groups) {
      if (g->name() == name) {
        g->set_traffic_dial(percent);
        spdlog::info("edge: group {} traffic dial set to {}%", name, percent);
        return ok();
      }
    }
    return error::not_found("no endpoint group " + name);
  }

  result<void> set_weight(const std::string& name, const std::string& id, int weight) override {
    auto* g = find_group(name);
    if (!g) return error::not_found("no group " + name);
    auto e = g->find(id);
    if (!e) return error::not_found("no target " + id + " in " + name);
    e->set_weight(weight);
    spdlog::info("edge: target {} in {} weight set to {}", id, name, weight);
    return ok();
  }

  result<void> register_target(const std::string& name, const target_config& t) override {
    auto* g = find_group(name);
    if (!g) return error::not_found("no group " + name);
    if (auto r = add_target(*g, t); !r) return r;
    spdlog::info("edge: registered {} in {}", t.id(), name);
    return ok();
  }

  result<void> deregister_target(const std::string& name, const std::string& id) override {
    auto* g = find_group(name);
    if (!g) return error::not_found("no group " + name);
    auto e = g->find(id);
    if (!e) return error::not_found("no target " + id + " in " + name);
    if (e->is_draining()) return ok();
    // New requests stop at once; idle keep-alive connections close now, busy ones after their
    // response; pass-through connections get the deregistration delay to finish.
    e->set_draining();
    for (auto& w : workers) asio::post(w->io, [e, i = w->index] { e->pool().close_all(i); });
    auto timer = std::make_shared<asio::steady_timer>(health_io, g->deregistration_delay());
    spdlog::info("edge: draining {} in {} for {} ms", id, name, g->deregistration_delay().count());
    timer->async_wait([this, timer, e, g](const boost::system::error_code&) {
      // Runs on timeout or at shutdown (cancelled); either way the target goes.
      e->close_tracked_connections();
      g->remove(e->id());
      std::unique_ptr<health_checker> checker;
      {
        std::lock_guard lock(mu);
        if (auto it = checkers.find(e.get()); it != checkers.end()) {
          checker = std::move(it->second);
          checkers.erase(it);
        }
      }
      if (checker) checker->stop();
      spdlog::info("edge: deregistered {} from {}", e->id(), g->name());
    });
    return ok();
  }

  // lifecycle ---------------------------------------------------------------------------------
  result<void> start() {
    const auto& cfg = opts.config;
    std::uint64_t seed = opts.random_seed
                             ? opts.random_seed
                             : static_cast<std::uint64_t>(
                                   std::chrono::steady_clock::now().time_since_epoch().count());
    std::size_t n = opts.threads ? opts.threads : 1;
    // The router outlives the workers; build it first (groups are filled below).
    if (cfg.role == role_kind::load_balancer) {
      for (const auto& tgc : cfg.load_balancer.target_groups) {
        target_groups[tgc.name] = std::make_shared<target_group>(tgc);
      }
      // parse_config checks these; a config built in code gets the same check here.
      auto known = [&](const std::string& name) { return target_groups.count(name) > 0; };
      if (!known(cfg.load_balancer.default_target_group)) {
        return error::invalid_argument(
            "Listener.DefaultActions[0].TargetGroupArn: unknown target group " +
            cfg.load_balancer.default_target_group);
      }
      for (const auto& r : cfg.load_balancer.rules) {
        if (!known(r.target_group)) {
          return error::invalid_argument("ListenerRules: unknown target group " + r.target_group);
        }
      }
      route = std::make_unique<lb_router>(cfg.load_balancer, target_groups);
    } else {
      for (const auto& gc : cfg.accelerator.groups) {
        endpoint_groups.push_back(std::make_shared<endpoint_group>(gc));
      }
      route = std::make_unique<accelerator_router>(endpoint_groups);
    }
    for (std::size_t i = 0; i < n; ++i) {
      auto w = std::make_unique<worker_context>(i, opts, *route, mix64(seed + i));
      w->stopping = &stopping;
      w->source_ip_affinity = cfg.role == role_kind::accelerator &&
                              cfg.accelerator.affinity == client_affinity::source_ip;
      workers.push_back(std::move(w));
    }
    // Targets.
    if (cfg.role == role_kind::load_balancer) {
      for (const auto& tgc : cfg.load_balancer.target_groups) {
        for (const auto& t : tgc.targets) {
          if (auto r = add_target(*target_groups[tgc.name], t); !r) return r;
        }
      }
    } else {
      for (std::size_t i = 0; i < cfg.accelerator.groups.size(); ++i) {
        for (const auto& t : cfg.accelerator.groups[i].endpoints) {
          if (auto r = add_target(*endpoint_groups[i], t); !r) return r;
        }
      }
    }
    // Listeners.
    std::vector<worker_context*> ws;
    for (auto& w : workers) ws.push_back(w.get());
    auto add_listener = [&](forwarding_mode mode, std::uint16_t port) -> result<void> {
      auto l = std::make_unique<listener>(ws, mode);
      if (auto r = l->start(opts.listen_address, port); !r) return r;
      listeners.push_back(std::move(l));
      return ok();
    };
    if (cfg.role == role_kind::load_balancer) {
      if (auto r = add_listener(forwarding_mode::http, cfg.load_balancer.port); !r) return r;
    } else {
      for (auto port : cfg.accelerator.ports) {
        if (auto r = add_listener(cfg.accelerator.mode, port); !r) return r;
      }
    }
    // Control API.
    http::server_options so;
    so.address = opts.control_address;
    so.port = opts.control_port;
    so.threads = 1;
    so.drain_timeout = std::chrono::seconds(2);
    so.server_name = "mysfits-edge";
    control = std::make_unique<http::server>(
        so, [this](http::request& req) { return handle_control_request(*this, req); });
    if (auto r = control->start(); !r) return r;

    auto shortest = std::min(
        {opts.idle_timeout, opts.request_timeout, opts.connect_timeout, opts.upstream_timeout});
    for (const auto& g : endpoint_groups) {
      if (g->first_byte_timeout().count() > 0)
        shortest = std::min(shortest, g->first_byte_timeout());
    }
    const auto tick = deadline_tick(shortest);
    const auto cpus = opts.pin_workers ? worker_cpus(workers.size()) : std::vector<int>();
    for (auto& w : workers) {
      asio::co_spawn(w->io, run_deadline_ticker(w->deadlines, tick), asio::detached);
      guards.emplace_back(w->io.get_executor());
      const int cpu = cpus.empty() ? -1 : cpus[w->index];
      threads.emplace_back([w = w.get(), spin = opts.busy_poll, cpu] {
        if (cpu >= 0) set_affinity(pthread_self(), cpu, nullptr);
        run_worker(w->io, spin);
      });
    }
    if (!cpus.empty()) start_pin_watchdog(cpus);
    guards.emplace_back(health_io.get_executor());
    threads.emplace_back([this] { health_io.run(); });
    started = true;
    return ok();
  }

  // pin_workers: the workers just started bind themselves; the watchdog unbinds one that waits
  // for its CPU (pin_watchdog.h) and binds it again later.
  void start_pin_watchdog(const std::vector<int>& cpus) {
    // A starved worker goes to the process's other CPUs: merely allowed every CPU, it would stay
    // queued on its own behind whatever holds it until the scheduler balanced it away.
    std::vector<cpu_set_t> elsewhere(workers.size());
    for (std::size_t i = 0; i < workers.size(); ++i) {
      CPU_ZERO(&elsewhere[i]);
      for (int c : cpus) {
        if (c != cpus[i]) CPU_SET(c, &elsewhere[i]);
      }
    }
    std::vector<pthread_t> handles;
    std::vector<metrics::counter*> unbinds;
    std::vector<metrics::gauge*> bound;
    auto& reg = metrics::default_registry();
    for (std::size_t i = 0; i < workers.size(); ++i) {
      handles.push_back(threads[i].native_handle());
      const metrics::label_set labels{{"worker", std::to_string(i)}};
      unbinds.push_back(&reg.get_counter(
          "edge_worker_unbinds_total",
          "Times a worker bound to a CPU (pin_workers) was unbound after waiting for it", labels));
      bound.push_back(&reg.get_gauge("edge_worker_bound",
                                     "1 while the worker is bound to its CPU (pin_workers), else 0",
                                     labels));
      bound.back()->set(1);
    }
    pin_watchdog::hooks h;
    h.post = [this](std::size_t w, std::function<void()> probe) {
      asio::post(workers[w]->io, std::move(probe));
    };
    h.busy = [this](std::size_t w) {
      return workers[w]->connections.load(std::memory_order_relaxed) > 0;
    };
    h.set_bound = [handles, cpus, elsewhere, bound](std::size_t w, bool bind) {
      set_affinity(handles[w], cpus[w], bind ? nullptr : &elsewhere[w]);
      bound[w]->set(bind ? 1 : 0);
    };
    h.unbound = [cpus, unbinds](std::size_t w, std::chrono::steady_clock::duration waited,
                                std::chrono::steady_clock::duration backoff) {
      unbinds[w]->inc();
      spdlog::warn("edge: worker {} waited {} ms for CPU {}: moved off it for {} s", w,
                   std::chrono::duration_cast<std::chrono::milliseconds>(waited).count(), cpus[w],
                   std::chrono::duration_cast<std::chrono::seconds>(backoff).count());
    };
    pins = std::make_unique<pin_watchdog>(workers.size(), pin_watchdog::settings{}, std::move(h));
    asio::co_spawn(health_io, run_pin_watchdog(*pins, pin_mu, pins_closed), asio::detached);
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    stopping = true;
    {
      std::lock_guard lock(pin_mu);  // no affinity change once the workers may be joined
      pins_closed = true;
    }
    for (auto& l : listeners) l->stop();
    if (control) control->stop();
    if (started) {
      // Let forwarded requests finish (bounded), then end every loop.
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      auto in_flight = [&] {
        int n = 0;
        for (auto& w : workers) n += w->in_flight.load();
        return n;
      };
      while (in_flight() > 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    {
      std::lock_guard lock(mu);
      for (auto& [e, c] : checkers) c->stop();
    }
    guards.clear();
    for (auto& w : workers) w->io.stop();
    health_io.stop();
    for (auto& t : threads) t.join();
    threads.clear();
    {
      std::lock_guard lock(mu);
      checkers.clear();
    }
    // Pooled and spliced sockets belong to the loops: close them while the loops exist (the
    // threads are joined, so this thread may touch every worker's pool).
    for (auto& weak : all_endpoints) {
      if (auto e = weak.lock()) {
        for (std::size_t i = 0; i < workers.size(); ++i) e->pool().close_all(i);
        e->close_tracked_connections();
      }
    }
    // Destruction order: acceptors, then the loops (ending sessions, which still use the
    // listeners' stats and the router), then the listeners.
    for (auto& l : listeners) l->release();
    workers.clear();
    listeners.clear();
  }
};

proxy::proxy(options o) : impl_(std::make_unique<impl>(std::move(o))) {}

proxy::~proxy() { stop(); }

result<void> proxy::start() {
  if (impl_->started || impl_->stopped) return error::internal("proxy already started");
  auto r = impl_->start();
  if (!r) impl_->stop();
  return r;
}

void proxy::stop() { impl_->stop(); }

std::vector<std::uint16_t> proxy::ports() const {
  std::vector<std::uint16_t> out;
  for (auto& l : impl_->listeners) out.push_back(l->port());
  return out;
}

std::uint16_t proxy::control_port() const { return impl_->control ? impl_->control->port() : 0; }

}  // namespace mysfits::edge
