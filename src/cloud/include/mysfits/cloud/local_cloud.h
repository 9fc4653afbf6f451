// The local cloud's resource providers: which CloudFormation types become real resources on
// this machine (image repositories, clusters, task definitions, services) and which are
// only recorded (IAM, networking, logs…).
#pragma once

#include <filesystem>
#include <memory>

#include "mysfits/cloud/stack.h"

namespace mysfits::cloud {

// Every provider the local cloud has, keeping its resources under `state_dir`.
std::shared_ptr<provider_registry> make_local_providers(const std::filesystem::path& state_dir);

}  // namespace mysfits::cloud

#include <atomic>
#include <chrono>
#include <string>

namespace mysfits::cloud {

struct agent_options {
  std::filesystem::path state_dir;
  std::string region;
  // Loopback block the region's tasks bind in, e.g. "127.0.1" for 127.0.1.0/24.
  std::string address_prefix = "127.0.1";
  // How often desired state is re-read and the cluster reconciled. Default: 250 ms.
  std::chrono::milliseconds poll{250};
  // How long a stopping task may take after SIGTERM. Default: 10 s.
  std::chrono::milliseconds stop_timeout{std::chrono::seconds(10)};
};

// Runs a region's container service (the local ECS agent) until `stop` becomes true, then
// stops its tasks. Fails at once if another agent already runs for the region.
[[nodiscard]] result<void> run_agent(const agent_options& options, const std::atomic<bool>& stop);

}  // namespace mysfits::cloud
