// The local container service (the local ECS), per region: tasks are processes started from an
// image's entry point with the task definition's environment; a cluster keeps every service at
// its desired count, restarts crashed tasks, replaces unhealthy ones and rolls new task
// definitions within minimum-healthy / maximum percent (DESIGN.md §2.4).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::cloud {

// One process the runtime supervises.
struct process_spec {
  std::vector<std::string> argv;           // argv[0] is the program (absolute or relative to cwd)
  std::map<std::string, std::string> env;  // the whole environment of the process
  std::filesystem::path working_dir;       // created if missing
  std::filesystem::path log_file;          // stdout and stderr, appended
};

// Starts and stops processes; one per task. Not thread-safe: the cluster owns it.
class process_supervisor {
 public:
  // How long stop() waits after SIGTERM before SIGKILL. Default: 10 s.
  explicit process_supervisor(std::chrono::milliseconds stop_timeout = std::chrono::seconds(10));
  ~process_supervisor();  // stops every process still running

  [[nodiscard]] result<int> start(const process_spec& spec);  // returns the pid
  // SIGTERM, then SIGKILL after the stop timeout; waits for the exit.
  void stop(int pid);
  // Reaps exited children without blocking; returns pid → exit status (as from waitpid).
  std::map<int, int> reap();
  bool is_running(int pid) const;

 private:
  std::chrono::milliseconds stop_timeout_;
  std::map<int, bool> running_;
};

struct task_definition {
  std::string family;
  int revision = 1;
  std::string image;                 // <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>
  std::vector<std::string> command;  // appended to the image's entry point
  std::map<std::string, std::string> environment;
  int container_port = 8080;  // the task's process is told it through PORT
  std::string arn() const;
};

struct service_spec {
  std::string name;
  std::string task_definition;  // family:revision
  int desired_count = 1;
  // Rolling deployment bounds, as ECS's DeploymentConfiguration. Defaults: 100 and 200.
  int minimum_healthy_percent = 100;
  int maximum_percent = 200;
};

enum class task_health { unknown, healthy, unhealthy };

struct task_status {
  std::string id;  // short task id
  std::string service;
  std::string task_definition;  // family:revision
  std::string address;          // 127.x.y.z the task binds
  int port = 0;
  int pid = 0;
  std::string last_status;  // PROVISIONING, RUNNING, STOPPED
  task_health health = task_health::unknown;
  int restarts = 0;
};

// What the cluster needs from the world: images on disk, and the load balancer.
struct cluster_hooks {
  // Prepares the task's root from its image (unpacks it); returns the entry point + env of the
  // image. Default: fails.
  std::function<result<process_spec>(const task_definition&, const std::filesystem::path& root)>
      prepare_task;
  // Registers / deregisters a task's address:port with the service's target groups.
  std::function<void(const std::string& service, const std::string& address, int port)>
      register_target;
  std::function<void(const std::string& service, const std::string& address, int port)>
      deregister_target;
  // The load balancer's view of a task's health (unknown until it has checked).
  std::function<task_health(const std::string& service, const std::string& address, int port)>
      health;
};

struct cluster_options {
  std::string region;
  std::string name = "default";
  std::filesystem::path work_dir;  // tasks' roots and logs
  // Task addresses come from this loopback block: <prefix>.<n>, n from 10. Default 127.0.1.
  std::string address_prefix = "127.0.1";
  // A task still unhealthy this long after it started is replaced. Default: 30 s.
  std::chrono::milliseconds unhealthy_grace{std::chrono::seconds(30)};
  std::chrono::milliseconds stop_timeout{std::chrono::seconds(10)};
};

// Keeps services at their desired state. Call reconcile() periodically (the agent does every
// few hundred ms); every call makes at most one step of progress per service.
class cluster {
 public:
  cluster(cluster_options options, cluster_hooks hooks);
  ~cluster();

  void put_task_definition(const task_definition& td);
  [[nodiscard]] result<void> put_service(const service_spec& s);  // create or update
  [[nodiscard]] result<void> delete_service(const std::string& name);
  std::vector<task_status> tasks() const;
  std::optional<service_spec> service(const std::string& name) const;

  void reconcile();
  // Stops every task (as on `mysfits down`).
  void shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mysfits::cloud
