// Stacks of the local cloud: `mysfits cloudformation deploy | describe-stacks | delete-stack`.
// A stack_engine binds a template (template.h), then creates, updates or deletes each resource
// through the provider registered for its type, records everything under the state directory,
// and rolls back a deploy that fails so the previous state stays intact.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::cloud {

// What a provider made: Ref gives physical_id, Fn::GetAtt reads attributes.
struct created_resource {
  std::string physical_id;
  boost::json::object attributes;
};

struct resource_request {
  std::string region;
  std::string stack_name;
  std::string logical_id;
  std::string type;
  boost::json::value properties;  // resolved (no intrinsics left)
};

// Creates, updates and deletes one resource type on this machine.
class resource_provider {
 public:
  virtual ~resource_provider() = default;
  [[nodiscard]] virtual result<created_resource> create(const resource_request& req) = 0;
  // Brings `current` to req.properties. The default replaces it: creates anew, then removes the
  // old one (the engine calls remove only after the whole deploy succeeded).
  [[nodiscard]] virtual result<created_resource> update(const resource_request& req,
                                                        const created_resource& current);
  [[nodiscard]] virtual result<void> remove(const resource_request& req,
                                            const created_resource& current) = 0;
};

// Resource type → provider. Types with no local meaning (IAM, VPC, subnets, log groups, …) are
// recorded by a provider that only makes ids, so Ref and Fn::GetAtt resolve.
class provider_registry {
 public:
  // A registry that already records the types without local meaning.
  static provider_registry with_recorded_types();
  void add(const std::string& type, std::shared_ptr<resource_provider> provider);
  resource_provider* find(std::string_view type) const;

 private:
  std::map<std::string, std::shared_ptr<resource_provider>, std::less<>> providers_;
};

struct deploy_request {
  std::string region;
  std::string stack_name;
  std::string template_body;
  std::map<std::string, std::string> parameter_overrides;
  std::set<std::string> capabilities;  // CAPABILITY_IAM, CAPABILITY_NAMED_IAM, …
};

struct stack_resource {
  std::string logical_id;
  std::string type;
  std::string physical_id;
  boost::json::object attributes;
  boost::json::value properties;  // as last applied
};

struct stack_description {
  std::string stack_name;
  std::string stack_id;
  std::string region;
  std::string status;  // CREATE_COMPLETE, UPDATE_COMPLETE, …
  std::string status_reason;
  std::string creation_time;  // ISO 8601 UTC
  std::string last_updated_time;
  std::map<std::string, std::string> parameters;
  boost::json::object outputs;            // name → {"Value", "Description"?, "ExportName"?}
  std::vector<stack_resource> resources;  // in creation order
  std::string template_body;
  bool changed = true;  // false when a deploy found nothing to change
};

// The state directory holds one JSON file per stack:
// <state_dir>/cloudformation/<region>/<name>.json
class stack_engine {
 public:
  stack_engine(std::filesystem::path state_dir, std::shared_ptr<provider_registry> providers);

  // Creates the stack or applies the template's differences to it. On failure, everything this
  // deploy did is undone and the error names the resource and the cause.
  [[nodiscard]] result<stack_description> deploy(const deploy_request& req);
  [[nodiscard]] result<stack_description> describe(const std::string& region,
                                                   const std::string& stack_name) const;
  [[nodiscard]] result<std::vector<stack_description>> list(const std::string& region) const;
  // Deletes every resource (reverse creation order; DeletionPolicy Retain keeps one) and the
  // stack record. Deleting a stack that does not exist succeeds, as in CloudFormation.
  [[nodiscard]] result<void> remove(const std::string& region, const std::string& stack_name);

 private:
  std::filesystem::path stack_file(const std::string& region, const std::string& name) const;
  std::filesystem::path state_dir_;
  std::shared_ptr<provider_registry> providers_;
};

// JSON form of a description, shaped like `aws cloudformation describe-stacks` output.
boost::json::object to_json(const stack_description& d);

}  // namespace mysfits::cloud
