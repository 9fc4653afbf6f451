// The running system's description, `<state-dir>/system.json` (written by `mysfits up`, or by a
// test harness), as the dashboard and the drill read it. Any piece may be absent.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::drill {

// How to start a process again after it was killed (optional; written by test harnesses).
struct restart_spec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to the drill's own environment
};

struct process_ref {
  int pid = 0;  // 0 = unknown
  std::optional<restart_spec> restart;
};

struct task_ref {
  std::string service;  // service key ("core", "like")
  std::string address;  // host:port
  process_ref process;
};

struct region_info {
  std::string name;
  std::string table_endpoint;  // http://host:port, empty if unknown
  process_ref table;
  process_ref agent;
  std::string lb_url;      // traffic listener
  std::string lb_control;  // control API
  process_ref lb;
  std::string cluster;
  std::map<std::string, std::string> services;  // key ("core") → ECS service name
  std::vector<task_ref> tasks;                  // optional "tasks" (harness-started systems)
};

struct accelerator_info {
  std::string url;
  std::string control;
  process_ref process;
  std::string mode;  // "http" or "tcp"; empty if unknown
};

struct system_description {
  std::filesystem::path file;  // where it was read from
  std::filesystem::path state_dir;
  std::string primary_region;
  std::vector<region_info> regions;  // primary first, then by name
  std::optional<accelerator_info> accelerator;
  std::string dashboard_url;

  const region_info* find_region(const std::string& name) const;
};

// Reads and checks system.json; errors name the file and the field.
[[nodiscard]] result<system_description> load_system(const std::filesystem::path& file);
// Parses the text of a system.json (exposed for tests).
[[nodiscard]] result<system_description> parse_system(const std::string& text,
                                                      const std::filesystem::path& file = {});
// Rewrites the pid of a process in system.json (after the drill restarted it), keeping every
// other key. `path` is a JSON-pointer-like list of keys, e.g. {"regions","us-west-2","table"}.
[[nodiscard]] result<void> update_pid(const std::filesystem::path& file,
                                      const std::vector<std::string>& path, int pid);

}  // namespace mysfits::drill
