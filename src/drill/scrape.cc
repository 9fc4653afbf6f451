// Scraping and derived figures; see scrape.h.
#include "scrape.h"

#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <future>
#include <regex>

#include "http_client.h"

namespace mysfits::drill::detail {

namespace json = boost::json;

namespace {

int class_index(const std::string& code) {
  for (int i = 0; i < 6; ++i) {
    if (code == kStatusClasses[i]) return i;
  }
  return 0;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<json::object> fetch_json(const std::string& base, const std::string& target,
                                       std::chrono::milliseconds timeout) {
  auto r = http_fetch(base, "GET", target, {}, timeout);
  if (!r || r->status != 200) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

std::optional<metric_list> fetch_metrics(const std::string& base,
                                         std::chrono::milliseconds timeout) {
  auto r = http_fetch(base, "GET", "/metrics", {}, timeout);
  if (!r || r->status != 200) return std::nullopt;
  return parse_prometheus_text(r->body);
}

// The peer region of a replication metric: the first of these labels present.
std::string peer_label(const std::map<std::string, std::string>& labels) {
  for (const char* k :
       {"peer", "peer_region", "receiving_region", "destination", "to", "replica", "region"}) {
    if (auto it = labels.find(k); it != labels.end()) return it->second;
  }
  return "?";
}

}  // namespace

region_snapshot scrape_region(const region_info& r, std::chrono::milliseconds timeout) {
  region_snapshot out;
  if (!r.lb_control.empty()) {
    if (auto m = fetch_metrics(r.lb_control, timeout)) {
      out.lb_up = true;
      for (const auto& s : *m) {
        if (s.name != "edge_listener_requests_total") continue;
        auto it = s.labels.find("code");
        out.requests[class_index(it == s.labels.end() ? "" : it->second)] += s.value;
      }
      out.latency = histogram_of(*m, "edge_request_duration_seconds");
      out.lb_deadline_refusals = sum_of(*m, "edge_deadline_expired_total");
    }
    if (auto st = fetch_json(r.lb_control, "/state", timeout)) {
      if (const auto* groups = st->if_contains("Groups"); groups && groups->is_array()) {
        for (const auto& g : groups->get_array()) {
          if (!g.is_object()) continue;
          const auto& go = g.get_object();
          std::string gname = go.contains("Name") && go.at("Name").is_string()
                                  ? std::string(go.at("Name").get_string())
                                  : "";
          const auto* targets = go.if_contains("Targets");
          if (!targets || !targets->is_array()) continue;
          for (const auto& t : targets->get_array()) {
            if (!t.is_object()) continue;
            const auto& to = t.get_object();
            task_snapshot ts;
            ts.group = gname;
            ts.service = service_of_group(gname, r.services);
            if (const auto* id = to.if_contains("Id"); id && id->is_string())
              ts.address = id->get_string();
            if (const auto* h = to.if_contains("Health"); h && h->is_string())
              ts.health = h->get_string();
            out.tasks.push_back(std::move(ts));
          }
        }
      }
    }
  }
  // Tasks' own metrics, in parallel (a frozen task must not hold up the others).
  std::vector<std::future<std::optional<metric_list>>> pending;
  for (auto& t : out.tasks) {
    pending.push_back(std::async(std::launch::async, [addr = t.address, timeout] {
      return fetch_metrics("http://" + addr, timeout);
    }));
  }
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (auto m = pending[i].get()) {
      auto& t = out.tasks[i];
      t.scraped = true;
      t.cpu_seconds = sum_of(*m, "process_cpu_seconds_total");
      t.rss_bytes = sum_of(*m, "process_resident_memory_bytes");
      t.deadline_refusals = sum_of(*m, "mysfits_deadline_expired_total");
    }
  }
  if (!r.table_endpoint.empty()) {
    if (auto m = fetch_metrics(r.table_endpoint, timeout)) {
      out.table_up = true;
      // The global-tables metrics: any family named like replication latency / backlog.
      static const std::regex latency_name("replication_?latency", std::regex::icase);
      static const std::regex backlog_name("replication.*(pending|backlog)", std::regex::icase);
      for (const auto& s : *m) {
        if (s.name.ends_with("_bucket") || s.name.ends_with("_count")) continue;
        bool is_latency = std::regex_search(s.name, latency_name);
        bool is_backlog = !is_latency && std::regex_search(s.name, backlog_name);
        if (!is_latency && !is_backlog) continue;
        auto peer = peer_label(s.labels);
        if (is_latency) {
          double v = s.value;
          if (s.name.find("millis") != std::string::npos || lower(s.name).ends_with("_ms"))
            v /= 1000;
          out.replication_latency_s[peer] = v;
        } else {
          out.replication_backlog[peer] += s.value;
        }
      }
    }
  }
  return out;
}

std::string service_of_group(const std::string& group,
                             const std::map<std::string, std::string>& services) {
  auto g = lower(group);
  for (const auto& [key, name] : services) {
    if (g.find(lower(key)) != std::string::npos) return key;
  }
  for (const auto& key : {"core", "like"}) {
    if (g.find(key) != std::string::npos) return key;
  }
  return group;
}

accelerator_snapshot scrape_accelerator(const accelerator_info& a,
                                        std::chrono::milliseconds timeout) {
  accelerator_snapshot out;
  if (a.control.empty()) return out;
  auto st = fetch_json(a.control, "/state", timeout);
  if (!st) return out;
  out.up = true;
  if (const auto* groups = st->if_contains("Groups"); groups && groups->is_array()) {
    for (const auto& g : groups->get_array()) {
      if (!g.is_object()) continue;
      const auto& go = g.get_object();
      if (!go.contains("TrafficDialPercentage")) continue;  // a target group, not a region
      group_snapshot gs;
      if (const auto* n = go.if_contains("Name"); n && n->is_string()) gs.name = n->get_string();
      gs.dial = go.at("TrafficDialPercentage").to_number<double>();
      if (const auto* t = go.if_contains("Targets"); t && t->is_array()) {
        for (const auto& e : t->get_array()) {
          if (!e.is_object()) continue;
          ++gs.endpoints;
          const auto* h = e.get_object().if_contains("Health");
          if (h && h->is_string() &&
              (h->get_string() == "healthy" || h->get_string() == "initial")) {
            ++gs.healthy;
          }
        }
      }
      out.groups.push_back(std::move(gs));
    }
  }
  if (auto m = fetch_metrics(a.control, timeout)) {
    for (const auto& s : *m) {
      if (s.name != "edge_endpoint_requests_total") continue;
      auto g = s.labels.find("group");
      auto c = s.labels.find("code");
      if (g == s.labels.end()) continue;
      for (auto& gs : out.groups) {
        if (gs.name == g->second)
          gs.requests[class_index(c == s.labels.end() ? "" : c->second)] += s.value;
      }
    }
  }
  return out;
}

snapshot scrape_system(const system_description& s, std::chrono::milliseconds timeout) {
  snapshot out;
  out.at = std::chrono::steady_clock::now();
  out.unix_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::future<region_snapshot>> regions;
  for (const auto& r : s.regions) {
    regions.push_back(
        std::async(std::launch::async, [&r, timeout] { return scrape_region(r, timeout); }));
  }
  std::future<accelerator_snapshot> acc;
  if (s.accelerator) {
    acc = std::async(std::launch::async,
                     [&s, timeout] { return scrape_accelerator(*s.accelerator, timeout); });
  }
  for (std::size_t i = 0; i < regions.size(); ++i)
    out.regions[s.regions[i].name] = regions[i].get();
  if (acc.valid()) out.accelerator = acc.get();
  return out;
}

std::map<std::string, double> derive_figures(const snapshot& earlier, const snapshot& later) {
  std::map<std::string, double> f;
  double dt = std::chrono::duration<double>(later.at - earlier.at).count();
  if (!(dt > 0)) return f;
  auto rate = [dt](double a, double b) { return std::max(0.0, (b - a) / dt); };
  for (const auto& [name, r] : later.regions) {
    auto prev_it = earlier.regions.find(name);
    const region_snapshot* prev = prev_it == earlier.regions.end() ? nullptr : &prev_it->second;
    const std::string p = name + "|";
    f[p + "lb_up"] = r.lb_up ? 1 : 0;
    if (r.lb_up && prev && prev->lb_up) {
      double total = 0;
      for (int i = 0; i < 6; ++i) total += rate(prev->requests[i], r.requests[i]);
      f[p + "rps"] = total;
      f[p + "rps_2xx"] = rate(prev->requests[2], r.requests[2]);
      f[p + "rps_4xx"] = rate(prev->requests[4], r.requests[4]);
      f[p + "rps_5xx"] = rate(prev->requests[5], r.requests[5]);
      double p50 = quantile_between(prev->latency, r.latency, 0.5);
      double p99 = quantile_between(prev->latency, r.latency, 0.99);
      if (!std::isnan(p50)) f[p + "p50_ms"] = p50 * 1000;
      if (!std::isnan(p99)) f[p + "p99_ms"] = p99 * 1000;
    }
    std::map<std::string, double> healthy, cpu, rss;
    std::map<std::string, bool> have_cpu;
    for (const auto& t : r.tasks) {
      healthy[t.service] += (t.health == "healthy" || t.health == "initial") ? 1 : 0;
      if (!t.scraped) continue;
      rss[t.service] += t.rss_bytes / (1024 * 1024);
      if (prev) {
        for (const auto& pt : prev->tasks) {
          if (pt.address == t.address && pt.scraped && t.cpu_seconds >= pt.cpu_seconds) {
            cpu[t.service] += (t.cpu_seconds - pt.cpu_seconds) / dt * 100;
            have_cpu[t.service] = true;
          }
        }
      }
    }
    if (r.lb_up) {
      for (const auto& [svc, n] : healthy) f[p + "healthy|" + svc] = n;
    }
    for (const auto& [svc, mb] : rss) f[p + "rss_mb|" + svc] = mb;
    for (const auto& [svc, pct] : cpu) {
      if (have_cpu[svc]) f[p + "cpu_pct|" + svc] = pct;
    }
    for (const auto& [peer, v] : r.replication_latency_s) {
      f["repl|latency_ms|" + name + ">" + peer] = v * 1000;
    }
    for (const auto& [peer, v] : r.replication_backlog) f["repl|backlog|" + name + ">" + peer] = v;
  }
  f["acc|up"] = later.accelerator.up ? 1 : 0;
  for (const auto& g : later.accelerator.groups) {
    f["acc|dial|" + g.name] = g.dial;
    f["acc|healthy|" + g.name] = g.healthy;
    f["acc|endpoints|" + g.name] = g.endpoints;
    for (const auto& pg : earlier.accelerator.groups) {
      if (pg.name != g.name) continue;
      double total = 0, failed = 0;
      for (int i = 0; i < 6; ++i) total += rate(pg.requests[i], g.requests[i]);
      failed = rate(pg.requests[5], g.requests[5]);
      f["acc|rps|" + g.name] = total;
      f["acc|rps_5xx|" + g.name] = failed;
    }
  }
  return f;
}

}  // namespace mysfits::drill::detail
