// `mysfits up | status | down`: the whole workshop on this machine in one command (issue 6).
// `up` starts a table engine and an agent per region and the global agent, deploys the
// region stacks (cfn/core.yml) and the accelerator (cfn/accelerator.yml), runs the pipeline,
// seeds the table, makes it global, waits until everything is healthy and writes
// <state>/system.json (shape in docs/cli.md). `down` stops every process `up` started, by pid.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::cloud {

struct up_options {
  std::filesystem::path state_dir;
  // The first is the primary. At least two.
  std::vector<std::string> regions{"us-west-2", "us-east-1"};
  // A build tree holding src/{table,edge,app,cli}/ executables.
  std::filesystem::path build_dir;
  // The git work tree with cfn/ (and the commit that names the images).
  std::filesystem::path source_dir;
  // Region i's loopback block is 127.0.<first_block + i>.0/24 (kept from an earlier `up`).
  int first_block = 1;
  // Health-check interval of target groups and endpoint groups, in seconds (the templates'
  // default is AWS's 10 s; locally 1 s so failover takes seconds).
  double health_check_interval = 1;
  // How long everything may take to become healthy.
  std::chrono::seconds timeout{170};
  // Progress lines for the user.
  std::function<void(const std::string&)> progress;
};

// Brings the system up (or completes a partial one); returns system.json's content.
[[nodiscard]] result<boost::json::object> system_up(const up_options& options);

// A human-readable report of every piece and its health.
[[nodiscard]] result<std::string> system_status(const std::filesystem::path& state_dir);

// Stops every process of the system (dashboard, agents and what they run, tables) by pid and
// waits until none is left. Returns how many processes were stopped.
[[nodiscard]] result<int> system_down(const std::filesystem::path& state_dir,
                                      const std::function<void(const std::string&)>& progress);

}  // namespace mysfits::cloud
