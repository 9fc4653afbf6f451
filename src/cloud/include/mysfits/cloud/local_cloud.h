// The local cloud's resource providers: which CloudFormation types become real resources on
// this machine (image repositories, clusters, task definitions, services) and which are
// only recorded (IAM, networking, logs…).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "mysfits/cloud/stack.h"

namespace mysfits::ddbclient {
class table_api;
}

namespace mysfits::cloud {

// Gives a DynamoDB client for a region's table engine.
using table_client_factory =
    std::function<result<std::shared_ptr<ddbclient::table_api>>(const std::string& region)>;
// Clients for the engines recorded in <state_dir>/regions/<region>.json (written by `mysfits up`).
table_client_factory region_table_clients(const std::filesystem::path& state_dir);

// Every provider the local cloud has, keeping its resources under `state_dir`; tables go to
// `tables` (default: region_table_clients(state_dir)).
std::shared_ptr<provider_registry> make_local_providers(const std::filesystem::path& state_dir,
                                                        table_client_factory tables = {});

// AWS::DynamoDB::Table through `tables`.
std::shared_ptr<resource_provider> make_dynamodb_table_provider(table_client_factory tables);
// AWS::ElasticLoadBalancingV2::{LoadBalancer,TargetGroup,Listener,ListenerRule} and
// AWS::GlobalAccelerator::{Accelerator,Listener,EndpointGroup}, as records agents run.
void add_elb_ga_providers(provider_registry& r, const std::filesystem::path& state_dir);

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
  // The mysfits-edge executable that runs load balancers (and, for region "global",
  // accelerators). Default: beside this build's mysfits (../edge/mysfits-edge), else PATH.
  std::filesystem::path edge_binary;
};

// The region name of the agent that runs the global accelerators.
inline constexpr const char* kGlobalRegion = "global";

// Runs a region's container service (the local ECS agent) and its load balancers until `stop`
// becomes true, then stops its tasks and load balancers. With region "global" it runs the
// accelerators instead. Fails at once if another agent already runs for the region.
[[nodiscard]] result<void> run_agent(const agent_options& options, const std::atomic<bool>& stop);

}  // namespace mysfits::cloud
