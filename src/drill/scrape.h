// One scrape of the whole system: every region's load balancer (control /state and /metrics),
// its tasks' /metrics (found through the load balancer's targets), its table's /metrics, and the
// accelerator. Then the derived figures between two scrapes (rates, quantiles, CPU), which are
// what the dashboard charts and the drill compares against. Internal to mysfits::drill.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "mysfits/drill/system.h"
#include "prometheus_text.h"

namespace mysfits::drill::detail {

// Status classes in the edge's metrics, in the order of its `code` label values.
inline constexpr const char* kStatusClasses[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

struct task_snapshot {
  std::string service;  // service key derived from the target group
  std::string group;    // target group name
  std::string address;  // host:port
  std::string health;   // as the load balancer sees it
  bool scraped = false;
  double cpu_seconds = 0;
  double rss_bytes = 0;
  double deadline_refusals = 0;  // mysfits_deadline_expired_total (cumulative)
};

struct region_snapshot {
  bool lb_up = false;
  double lb_deadline_refusals = 0;          // edge_deadline_expired_total (cumulative)
  double requests[6] = {0, 0, 0, 0, 0, 0};  // cumulative, by status class
  cumulative_histogram latency;             // seconds, all target groups
  std::vector<task_snapshot> tasks;
  bool table_up = false;
  // Replication figures the table exports, per peer region (absent when it exports none).
  std::map<std::string, double> replication_latency_s;
  std::map<std::string, double> replication_backlog;
};

struct group_snapshot {
  std::string name;  // the endpoint group's region
  double dial = 0;
  int healthy = 0;
  int endpoints = 0;
  double requests[6] = {0, 0, 0, 0, 0, 0};  // cumulative, by status class
};

struct accelerator_snapshot {
  bool up = false;
  std::vector<group_snapshot> groups;
};

struct snapshot {
  double unix_time = 0;  // seconds
  std::chrono::steady_clock::time_point at;
  std::map<std::string, region_snapshot> regions;
  accelerator_snapshot accelerator;
};

// Scrapes everything, regions in parallel; a piece that does not answer within `timeout` is
// marked down, never an error.
[[nodiscard]] snapshot scrape_system(const system_description& s,
                                     std::chrono::milliseconds timeout);
// One region: its load balancer, its tasks (found through the load balancer) and its table.
[[nodiscard]] region_snapshot scrape_region(const region_info& r,
                                            std::chrono::milliseconds timeout);
// Only the accelerator (the drill polls it often).
[[nodiscard]] accelerator_snapshot scrape_accelerator(const accelerator_info& a,
                                                      std::chrono::milliseconds timeout);

// The service key of a target group: the system's service key that the group's name contains
// ("core" in "mm-core-tg"), else the group's name.
[[nodiscard]] std::string service_of_group(const std::string& group,
                                           const std::map<std::string, std::string>& services);

// Figures between two scrapes, keyed like "us-west-2|rps_2xx" (see docs/drill.md). A figure that
// cannot be computed (piece down, nothing observed) is left out.
[[nodiscard]] std::map<std::string, double> derive_figures(const snapshot& earlier,
                                                           const snapshot& later);

}  // namespace mysfits::drill::detail
