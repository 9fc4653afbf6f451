// Providers for AWS::ECR::Repository and AWS::ECS::{Cluster,TaskDefinition,Service}: the
// repository is a local OCI registry directory; the ECS types are desired-state files that the
// region's agent makes true (runtime/ecs_state.h).
#include <fmt/format.h>

#include <boost/json.hpp>

#include "mysfits/cloud/local_cloud.h"
#include "mysfits/cloud/registry.h"
#include "runtime/ecs_state.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kAccount = "123456789012";

std::string str_prop(const json::value& props, const char* key, std::string fallback = {}) {
  if (!props.is_object()) return fallback;
  auto* v = props.as_object().if_contains(key);
  if (!v) return fallback;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  return fallback;
}

int int_prop(const json::value& props, const char* key, int fallback) {
  if (!props.is_object()) return fallback;
  auto* v = props.as_object().if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return static_cast<int>(v->as_int64());
  if (v->is_string()) {
    try {
      return std::stoi(std::string(v->as_string()));
    } catch (const std::exception&) {
      return fallback;
    }
  }
  return fallback;
}

std::string lowercase_name(const resource_request& req) {
  std::string n = fmt::format("{}-{}", req.stack_name, req.logical_id);
  for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return n;
}

class ecr_repository_provider : public resource_provider {
 public:
  explicit ecr_repository_provider(fs::path state) : registry_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    auto name = str_prop(req.properties, "RepositoryName", lowercase_name(req));
    if (auto r = registry_.create_repository(req.region, name); !r) return r.error();
    created_resource out;
    out.physical_id = name;
    out.attributes["Arn"] =
        fmt::format("arn:aws:ecr:{}:{}:repository/{}", req.region, kAccount, name);
    out.attributes["RepositoryUri"] = registry_.repository_uri(req.region, name);
    return out;
  }
  result<void> remove(const resource_request& req, const created_resource& cur) override {
    return registry_.delete_repository(req.region, cur.physical_id);
  }

 private:
  registry registry_;
};

class ecs_cluster_provider : public resource_provider {
 public:
  result<created_resource> create(const resource_request& req) override {
    created_resource out;
    out.physical_id =
        str_prop(req.properties, "ClusterName", req.stack_name + "-" + req.logical_id);
    out.attributes["Arn"] =
        fmt::format("arn:aws:ecs:{}:{}:cluster/{}", req.region, kAccount, out.physical_id);
    return out;
  }
  result<void> remove(const resource_request&, const created_resource&) override { return ok(); }
};

class ecs_task_definition_provider : public resource_provider {
 public:
  explicit ecs_task_definition_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    const auto& p = req.properties;
    task_definition td;
    td.family = str_prop(p, "Family", req.stack_name + "-" + req.logical_id);
    const auto* containers =
        p.is_object() ? p.as_object().if_contains("ContainerDefinitions") : nullptr;
    if (!containers || !containers->is_array() || containers->as_array().size() != 1) {
      return error::invalid_argument(
          "ContainerDefinitions: the local cloud runs exactly one container per task");
    }
    const auto& c = containers->as_array()[0];
    td.image = str_prop(c, "Image");
    if (td.image.empty())
      return error::invalid_argument("ContainerDefinitions[0].Image is required");
    if (auto u = parse_image_uri(td.image); !u) return u.error();
    if (auto* pm = c.as_object().if_contains("PortMappings");
        pm && pm->is_array() && !pm->as_array().empty()) {
      td.container_port = int_prop(pm->as_array()[0], "ContainerPort", 8080);
    }
    if (auto* env = c.as_object().if_contains("Environment"); env && env->is_array()) {
      for (const auto& e : env->as_array())
        td.environment[str_prop(e, "Name")] = str_prop(e, "Value");
    }
    if (auto* cmd = c.as_object().if_contains("Command"); cmd && cmd->is_array()) {
      for (const auto& a : cmd->as_array()) {
        if (a.is_string()) td.command.push_back(std::string(a.as_string()));
      }
    }
    ecs::state_store store(state_, req.region);
    auto registered = store.register_task_definition(td);
    if (!registered) return registered.error();
    created_resource out;
    out.physical_id = fmt::format("arn:aws:ecs:{}:{}:task-definition/{}:{}", req.region, kAccount,
                                  registered->family, registered->revision);
    out.attributes["TaskDefinitionArn"] = out.physical_id;
    return out;
  }
  result<void> remove(const resource_request& req, const created_resource& cur) override {
    // Revisions stay registered (as in ECS, where they become INACTIVE): a rollback can use them.
    (void)req;
    (void)cur;
    return ok();
  }

 private:
  fs::path state_;
};

// "arn:…:task-definition/family:rev" → "family:rev"
std::string task_definition_key(const std::string& arn_or_key) {
  auto slash = arn_or_key.rfind('/');
  return slash == std::string::npos ? arn_or_key : arn_or_key.substr(slash + 1);
}

class ecs_service_provider : public resource_provider {
 public:
  explicit ecs_service_provider(fs::path state) : state_(std::move(state)) {}
  result<created_resource> create(const resource_request& req) override {
    auto rec = record(req);
    if (!rec) return rec.error();
    ecs::state_store store(state_, req.region);
    if (store.find_service(rec->cluster, rec->spec.name)) {
      return error::already_exists(
          fmt::format("service {} already exists in cluster {}", rec->spec.name, rec->cluster));
    }
    if (auto w = store.put_service(*rec); !w) return w.error();
    return created(*rec);
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& cur) override {
    auto rec = record(req);
    if (!rec) return rec.error();
    if (rec->arn != cur.physical_id) {
      return error::invalid_argument(
          "changing ServiceName or Cluster replaces a service; "
          "delete the stack's service first");
    }
    ecs::state_store store(state_, req.region);
    if (auto w = store.put_service(*rec); !w) return w.error();
    return created(*rec);
  }
  result<void> remove(const resource_request& req, const created_resource& cur) override {
    auto rec = record(req);
    if (!rec) return ok();  // nothing we could have made
    ecs::state_store store(state_, req.region);
    auto r = store.delete_service(rec->cluster, rec->spec.name);
    (void)cur;
    return r || r.error().code == errc::not_found ? ok() : r;
  }

 private:
  result<ecs::service_record> record(const resource_request& req) const {
    const auto& p = req.properties;
    ecs::service_record s;
    s.cluster = str_prop(p, "Cluster", "default");
    s.spec.name = str_prop(p, "ServiceName", req.stack_name + "-" + req.logical_id);
    s.spec.task_definition = task_definition_key(str_prop(p, "TaskDefinition"));
    if (s.spec.task_definition.empty())
      return error::invalid_argument("TaskDefinition is required");
    s.spec.desired_count = int_prop(p, "DesiredCount", 1);
    if (s.spec.desired_count < 0) return error::invalid_argument("DesiredCount must be >= 0");
    if (p.is_object()) {
      if (auto* dc = p.as_object().if_contains("DeploymentConfiguration")) {
        s.spec.minimum_healthy_percent = int_prop(*dc, "MinimumHealthyPercent", 100);
        s.spec.maximum_percent = int_prop(*dc, "MaximumPercent", 200);
      }
      if (auto* lbs = p.as_object().if_contains("LoadBalancers"); lbs && lbs->is_array()) {
        for (const auto& lb : lbs->as_array())
          s.target_group_arns.push_back(str_prop(lb, "TargetGroupArn"));
      }
    }
    s.arn = fmt::format("arn:aws:ecs:{}:{}:service/{}/{}", req.region, kAccount, s.cluster,
                        s.spec.name);
    return s;
  }
  static created_resource created(const ecs::service_record& s) {
    created_resource out;
    out.physical_id = s.arn;
    out.attributes["Name"] = s.spec.name;
    out.attributes["ServiceArn"] = s.arn;
    return out;
  }
  fs::path state_;
};

}  // namespace

std::shared_ptr<provider_registry> make_local_providers(const fs::path& state_dir,
                                                        table_client_factory tables) {
  auto r = std::make_shared<provider_registry>(provider_registry::with_recorded_types());
  r->add("AWS::DynamoDB::Table", make_dynamodb_table_provider(
                                     tables ? std::move(tables) : region_table_clients(state_dir)));
  add_elb_ga_providers(*r, state_dir);
  r->add("AWS::ECR::Repository", std::make_shared<ecr_repository_provider>(state_dir));
  r->add("AWS::ECS::Cluster", std::make_shared<ecs_cluster_provider>());
  r->add("AWS::ECS::TaskDefinition", std::make_shared<ecs_task_definition_provider>(state_dir));
  r->add("AWS::ECS::Service", std::make_shared<ecs_service_provider>(state_dir));
  return r;
}

}  // namespace mysfits::cloud
