// The live multi-region dashboard (issue 7): scrapes every region's load balancer, tasks and
// table and the accelerator once a period, keeps a window of history and serves a page with
// charts (uPlot, embedded at build time) plus the JSON behind it. `mysfits dashboard` runs it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "mysfits/common/result.h"
#include "mysfits/drill/system.h"

namespace mysfits::drill {

struct dashboard_options {
  // The system to watch; re-read on every scrape so restarted processes are followed.
  std::filesystem::path system_file;
  // Address and port of the page; port 0 picks one. Default: 127.0.0.1:0. Fixed at start.
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  // Time between scrapes. Default: 1 s.
  std::chrono::milliseconds period{1000};
  // History kept (older points are dropped). Default: 30 min.
  std::chrono::seconds history{30 * 60};
  // Deadline of one scrape request. Default: 400 ms.
  std::chrono::milliseconds scrape_timeout{400};
  // When set, prometheus.yml and prometheus-targets.json are (re)written here on every scrape
  // whose set of targets changed. Default: empty (not written).
  std::filesystem::path prometheus_dir;
};

class dashboard {
 public:
  explicit dashboard(dashboard_options o);
  ~dashboard();  // stops if running
  dashboard(const dashboard&) = delete;
  dashboard& operator=(const dashboard&) = delete;

  // Binds the page's port and starts scraping.
  [[nodiscard]] result<void> start();
  std::uint16_t port() const;
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A Prometheus scrape configuration for the system: one job per kind of process (load
// balancers, accelerator, tables, tasks), each target labelled with its region. Task targets
// go to `targets_file` (file_sd, refreshed by the dashboard) when given, else inline.
[[nodiscard]] std::string prometheus_config(const system_description& s,
                                            const std::string& targets_file = {});
// The file_sd target list of the tasks (JSON), as found through the load balancers' control APIs.
[[nodiscard]] std::string prometheus_task_targets(const system_description& s);

}  // namespace mysfits::drill
