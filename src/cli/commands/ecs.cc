// `mysfits ecs …` (the workshop's `aws ecs` lines against the local container service) and
// `mysfits agent` (the region agent that runs the tasks).
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "commands/commands.h"
#include "mysfits/cloud/local_cloud.h"
#include "runtime/ecs_state.h"

namespace mysfits::cli {
namespace json = boost::json;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

json::object service_json(const cloud::ecs::service_record& s, const json::array& tasks) {
  int running = 0;
  for (const auto& t : tasks) {
    if (t.at("serviceName").as_string() == s.spec.name) ++running;
  }
  return {{"serviceName", s.spec.name},
          {"serviceArn", s.arn},
          {"clusterArn", s.cluster},
          {"taskDefinition", s.spec.task_definition},
          {"desiredCount", s.spec.desired_count},
          {"runningCount", running},
          {"status", "ACTIVE"},
          {"deploymentConfiguration",
           json::object{{"minimumHealthyPercent", s.spec.minimum_healthy_percent},
                        {"maximumPercent", s.spec.maximum_percent}}}};
}

std::string cluster_name(const std::string& arn_or_name) {
  auto slash = arn_or_name.rfind('/');
  return slash == std::string::npos ? arn_or_name : arn_or_name.substr(slash + 1);
}

}  // namespace

void add_ecs(CLI::App& app, global_options& g, int& exit_code) {
  auto* ecs =
      app.add_subcommand("ecs", "Inspect and change services on the local container service");
  ecs->require_subcommand(1);

  struct update_args {
    std::string cluster, service, task_definition;
    int desired = -1;
  };
  auto u = std::make_shared<update_args>();
  auto* update =
      ecs->add_subcommand("update-service", "Change a service's desired count or task definition");
  update->add_option("--cluster", u->cluster, "Cluster name or ARN")->required();
  update->add_option("--service", u->service, "Service name")->required();
  update->add_option("--desired-count", u->desired, "Tasks to keep running");
  update->add_option("--task-definition", u->task_definition,
                     "family:revision (rolls the service)");
  update->add_option("--region", g.region, "Region");
  update->callback([u, &g, &exit_code] {
    cloud::ecs::state_store store(g.state_dir, g.region);
    auto s = store.find_service(cluster_name(u->cluster), u->service);
    if (!s) {
      std::cerr << fmt::format(
          "\nAn error occurred (ServiceNotFoundException) when calling the UpdateService "
          "operation: Service not found.\n");
      exit_code = kExitServiceError;
      return;
    }
    if (u->desired < -1 || u->desired > 1000) {
      std::cerr << "\nAn error occurred (InvalidParameterException) when calling the UpdateService "
                   "operation: desiredCount must be between 0 and 1000\n";
      exit_code = kExitServiceError;
      return;
    }
    if (u->desired >= 0) s->spec.desired_count = u->desired;
    if (!u->task_definition.empty()) {
      auto key = cluster_name(u->task_definition);
      bool known = false;
      for (const auto& td : store.task_definitions()) known = known || td.arn() == key;
      if (!known) {
        std::cerr << fmt::format(
            "\nAn error occurred (ClientException) when calling the "
            "UpdateService operation: TaskDefinition not found: {}\n",
            key);
        exit_code = kExitServiceError;
        return;
      }
      s->spec.task_definition = key;
    }
    if (auto w = store.put_service(*s); !w) {
      std::cerr << w.error().message << "\n";
      exit_code = kExitOtherError;
      return;
    }
    std::cout << json::serialize(json::object{{"service", service_json(*s, store.read_tasks())}})
              << "\n";
    exit_code = 0;
  });

  struct describe_args {
    std::string cluster;
    std::vector<std::string> services;
  };
  auto d = std::make_shared<describe_args>();
  auto* describe =
      ecs->add_subcommand("describe-services", "Show services with desired and running counts");
  describe->add_option("--cluster", d->cluster, "Cluster name or ARN")->required();
  describe->add_option("--services", d->services, "Service names")->required();
  describe->add_option("--region", g.region, "Region");
  describe->callback([d, &g, &exit_code] {
    cloud::ecs::state_store store(g.state_dir, g.region);
    auto tasks = store.read_tasks();
    json::array services, failures;
    for (const auto& name : d->services) {
      if (auto s = store.find_service(cluster_name(d->cluster), name)) {
        services.push_back(service_json(*s, tasks));
      } else {
        failures.push_back(json::object{{"arn", name}, {"reason", "MISSING"}});
      }
    }
    std::cout << json::serialize(json::object{{"services", services}, {"failures", failures}})
              << "\n";
    exit_code = 0;
  });

  auto* list = ecs->add_subcommand("list-tasks", "Show the tasks running in a region");
  list->add_option("--region", g.region, "Region");
  list->callback([&g, &exit_code] {
    cloud::ecs::state_store store(g.state_dir, g.region);
    std::cout << json::serialize(json::object{{"tasks", store.read_tasks()}}) << "\n";
    exit_code = 0;
  });

  auto prefix = std::make_shared<std::string>("127.0.1");
  auto edge_binary = std::make_shared<std::string>();
  if (const char* e = std::getenv("MYSFITS_EDGE_BINARY")) *edge_binary = e;
  auto* agent = app.add_subcommand("agent", "Run a region's container service in the foreground");
  agent->add_option("--region", g.region, "Region");
  agent->add_option("--address-prefix", *prefix, "Loopback block for tasks, e.g. 127.0.1");
  agent->add_option("--edge-binary", *edge_binary,
                    "mysfits-edge for load balancers / accelerators (default: beside mysfits)");
  agent->callback([prefix, edge_binary, &g, &exit_code] {
    ::signal(SIGTERM, on_signal);
    ::signal(SIGINT, on_signal);
    cloud::agent_options o;
    o.state_dir = g.state_dir;
    o.region = g.region;
    o.address_prefix = *prefix;
    o.edge_binary = *edge_binary;
    auto r = cloud::run_agent(o, g_stop);
    if (!r) {
      std::cerr << r.error().message << "\n";
      exit_code = kExitOtherError;
      return;
    }
    exit_code = 0;
  });
}

}  // namespace mysfits::cli
