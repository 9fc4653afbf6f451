// The desired state of a region's container service, as files under the state directory:
//   <state>/ecs/<region>/task-definitions/<family>.<revision>.json
//   <state>/ecs/<region>/services/<cluster>.<service>.json
//   <state>/ecs/<region>/tasks.json   (written by the region's agent: what runs now)
// Deploys and `mysfits ecs` write them; the agent reads them and makes them true.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mysfits/cloud/runtime.h"
#include "mysfits/common/result.h"

namespace mysfits::cloud::ecs {

struct service_record {
  std::string cluster;
  service_spec spec;
  std::vector<std::string> target_group_arns;
  std::string arn;
};

class state_store {
 public:
  state_store(std::filesystem::path state_dir, std::string region);

  // Registers a task definition; returns it with its revision (a new one only if it differs
  // from the family's latest).
  [[nodiscard]] result<task_definition> register_task_definition(task_definition td);
  [[nodiscard]] result<void> deregister_task_definition(const std::string& family, int revision);
  std::vector<task_definition> task_definitions() const;

  [[nodiscard]] result<void> put_service(const service_record& s);
  [[nodiscard]] result<void> delete_service(const std::string& cluster, const std::string& name);
  std::optional<service_record> find_service(const std::string& cluster,
                                             const std::string& name) const;
  std::vector<service_record> services() const;

  [[nodiscard]] result<void> write_tasks(const boost::json::array& tasks);
  boost::json::array read_tasks() const;

  // Changes whenever any desired-state file changes (for the agent's polling).
  std::string fingerprint() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::string region_;
};

boost::json::object to_json(const task_definition& td);
task_definition task_definition_from_json(const boost::json::object& o);

}  // namespace mysfits::cloud::ecs
