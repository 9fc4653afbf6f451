// The dashboard: a scraper thread that keeps a window of derived figures, and the page's HTTP
// routes (the embedded page, /api/history for the charts, /prometheus.yml, /metrics).
#include "mysfits/drill/dashboard.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "assets.h"
#include "mysfits/common/http_server.h"
#include "mysfits/common/metrics.h"
#include "scrape.h"

namespace mysfits::drill {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

struct point {
  double t = 0;
  std::map<std::string, double> v;
};

std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

http::response text_response(unsigned status, std::string_view type, std::string body,
                             unsigned version) {
  http::response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, type);
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

double query_number(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return 0;
  auto query = target.substr(q + 1);
  std::string needle = std::string(key) + "=";
  auto at = query.find(needle);
  if (at == std::string_view::npos || (at != 0 && query[at - 1] != '&')) return 0;
  auto value = std::string(query.substr(at + needle.size()));
  value = value.substr(0, value.find('&'));
  try {
    return std::stod(value);
  } catch (const std::exception&) {
    return 0;  // a bad `since` means "from the start"
  }
}

}  // namespace

struct dashboard::impl {
  dashboard_options opts;
  std::unique_ptr<http::server> server;
  std::thread scraper;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::deque<point> history;
  json::object latest;  // details of the last scrape (tasks, groups)
  std::string last_targets;

  http::response handle(http::request& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      return http::json_error(405, "only GET", req.version());
    }
    if (path == "/" || path == "/index.html") path = "/dashboard.html";
    if (path == "/api/history") {
      double since = query_number(target, "since");
      json::object out;
      json::array points;
      {
        std::lock_guard lock(mu);
        for (const auto& p : history) {
          if (p.t <= since) continue;
          json::object v;
          for (const auto& [k, x] : p.v) v[k] = x;
          points.push_back(json::object{{"t", p.t}, {"v", std::move(v)}});
        }
        out["latest"] = latest;
      }
      out["points"] = std::move(points);
      out["history_seconds"] = opts.history.count();
      out["period_ms"] = opts.period.count();
      return text_response(200, "application/json", json::serialize(out), req.version());
    }
    if (path == "/prometheus.yml") {
      auto s = load_system(opts.system_file);
      if (!s) return http::json_error(503, s.error().message, req.version());
      return text_response(200, "text/yaml; charset=utf-8", prometheus_config(*s), req.version());
    }
    if (path == "/metrics") {
      return text_response(200, "text/plain; version=0.0.4", metrics::default_registry().render(),
                           req.version());
    }
    for (const auto& a : assets::all()) {
      if (path.substr(1) == a.name) {
        return text_response(200, content_type_of(a.name), std::string(a.bytes), req.version());
      }
    }
    return http::json_error(404, "no such page: " + std::string(path), req.version());
  }

  json::object details(const system_description& s, const detail::snapshot& snap,
                       const std::map<std::string, double>& figures) {
    json::object out;
    out["primary_region"] = s.primary_region;
    json::array regions;
    for (const auto& r : s.regions) {
      auto it = snap.regions.find(r.name);
      if (it == snap.regions.end()) continue;
      const auto& rs = it->second;
      json::array tasks;
      for (const auto& t : rs.tasks) {
        tasks.push_back(json::object{{"service", t.service},
                                     {"group", t.group},
                                     {"address", t.address},
                                     {"health", t.health},
                                     {"scraped", t.scraped},
                                     {"rss_mb", t.rss_bytes / (1024 * 1024)}});
      }
      regions.push_back(json::object{{"name", r.name},
                                     {"lb_url", r.lb_url},
                                     {"lb_up", rs.lb_up},
                                     {"table_up", rs.table_up},
                                     {"replication_exported", !rs.replication_latency_s.empty()},
                                     {"tasks", std::move(tasks)}});
    }
    out["regions"] = std::move(regions);
    json::array groups;
    for (const auto& g : snap.accelerator.groups) {
      auto rps = figures.find("acc|rps|" + g.name);
      groups.push_back(json::object{{"name", g.name},
                                    {"dial", g.dial},
                                    {"healthy", g.healthy},
                                    {"endpoints", g.endpoints},
                                    {"rps", rps == figures.end() ? 0.0 : rps->second}});
    }
    out["accelerator"] = json::object{{"present", s.accelerator.has_value()},
                                      {"up", snap.accelerator.up},
                                      {"url", s.accelerator ? s.accelerator->url : ""},
                                      {"mode", s.accelerator ? s.accelerator->mode : ""},
                                      {"groups", std::move(groups)}};
    return out;
  }

  void write_prometheus_files(const system_description& s) {
    if (opts.prometheus_dir.empty()) return;
    auto targets = prometheus_task_targets(s);
    if (targets == last_targets) return;
    last_targets = targets;
    auto targets_file = opts.prometheus_dir / "prometheus-targets.json";
    std::ofstream(targets_file, std::ios::trunc) << targets;
    std::ofstream(opts.prometheus_dir / "prometheus.yml", std::ios::trunc)
        << prometheus_config(s, targets_file.string());
  }

  void run_scraper() {
    auto& scrapes = metrics::default_registry().get_counter(
        "mysfits_dashboard_scrapes_total", "Scrapes of the whole system by the dashboard");
    std::optional<detail::snapshot> prev;
    auto next = std::chrono::steady_clock::now();
    for (;;) {
      {
        std::unique_lock lock(mu);
        if (cv.wait_until(lock, next, [this] { return stopping; })) return;
      }
      next += opts.period;
      if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
      auto s = load_system(opts.system_file);
      if (!s) {
        spdlog::warn("dashboard: {}", s.error().message);
        continue;
      }
      auto snap = detail::scrape_system(*s, opts.scrape_timeout);
      scrapes.inc();
      write_prometheus_files(*s);
      if (prev) {
        point p{snap.unix_time, detail::derive_figures(*prev, snap)};
        auto d = details(*s, snap, p.v);
        std::lock_guard lock(mu);
        history.push_back(std::move(p));
        while (!history.empty() &&
               history.front().t < snap.unix_time - static_cast<double>(opts.history.count())) {
          history.pop_front();
        }
        latest = std::move(d);
      }
      prev = std::move(snap);
    }
  }
};

dashboard::dashboard(dashboard_options o) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(o);
}

dashboard::~dashboard() { stop(); }

result<void> dashboard::start() {
  http::server_options so;
  so.address = impl_->opts.address;
  so.port = impl_->opts.port;
  so.threads = 2;
  so.server_name = "mysfits-dashboard";
  impl_->server =
      std::make_unique<http::server>(so, [this](http::request& req) { return impl_->handle(req); });
  if (auto r = impl_->server->start(); !r) return r;
  impl_->scraper = std::thread([this] { impl_->run_scraper(); });
  return ok();
}

std::uint16_t dashboard::port() const { return impl_->server ? impl_->server->port() : 0; }

void dashboard::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->scraper.joinable()) impl_->scraper.join();
  if (impl_->server) impl_->server->stop();
}

}  // namespace mysfits::drill
