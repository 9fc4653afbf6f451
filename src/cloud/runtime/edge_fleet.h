// The agents' load balancers and accelerators: mysfits-edge configurations built from the
// ELB / Global Accelerator records (providers/local_records.h), and the edge processes that
// serve them. What runs is published in
//   <state>/runtime/elb/<region>/<lb-id>.json and <state>/runtime/globalaccelerator/<id>.json
// as {"Arn", "Name", "url", "control", "pid", "log", "config"}.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "mysfits/cloud/runtime.h"
#include "mysfits/common/result.h"

namespace mysfits::cloud::edge_runtime {

// target group ARN → registered targets ("host:port").
using target_map = std::map<std::string, std::set<std::string>>;

// The mysfits-edge configuration (AWS property names, docs/edge.md) of one load balancer record
// in `region`, with `targets` as its groups' members. Errors name the resource.
[[nodiscard]] result<boost::json::object> load_balancer_config(const std::filesystem::path& state,
                                                               const std::string& region,
                                                               const boost::json::object& lb,
                                                               const target_map& targets);
// The configuration of one accelerator record: its listeners and endpoint groups, with each
// EndpointId that names a load balancer replaced by that load balancer's local host:port.
[[nodiscard]] result<boost::json::object> accelerator_config(const std::filesystem::path& state,
                                                             const boost::json::object& acc);

// Where the runtime files of a region's load balancers (or, for "global", accelerators) are.
std::filesystem::path runtime_dir(const std::filesystem::path& state, const std::string& region);

// Runs the edges of one region (load balancers) or of "global" (accelerators).
class fleet {
 public:
  fleet(std::filesystem::path state, std::string region, std::filesystem::path edge_binary);
  ~fleet();  // stops every edge it started

  // Re-reads the records if they changed and (re)starts edges whose configuration changed;
  // restarts edges that exited. Call every poll.
  void sync();
  // Adds / removes a target of a target group (load balancers only); applied through the
  // control API of the edge that serves the group, and kept for edges started later.
  void register_target(const std::string& target_group_arn, const std::string& id);
  void deregister_target(const std::string& target_group_arn, const std::string& id);
  // Reads every load balancer's health view; afterwards health() answers from it.
  void refresh_health();
  task_health health(const std::string& target_group_arn, const std::string& id) const;
  void stop_all();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mysfits::cloud::edge_runtime
