// stack_engine: deploy (create or update with rollback), describe, list and delete stacks,
// with each stack's record kept as one JSON file under the state directory.
#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "mysfits/cloud/stack.h"
#include "mysfits/cloud/template.h"

namespace mysfits::cloud {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string now_iso() {
  auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", now);
}

// An exclusive lock on the state directory for one deploy or delete (flock: released when the
// process dies, so a crashed deploy never leaves the directory locked).
class state_lock {
 public:
  explicit state_lock(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    fd_ = ::open((dir / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~state_lock() {
    if (fd_ >= 0) ::close(fd_);
  }
  state_lock(const state_lock&) = delete;
  state_lock& operator=(const state_lock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

result<void> write_atomically(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return error::io("cannot write " + tmp.string());
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  fs::rename(tmp, path, ec);
  if (ec) return error::io("cannot rename " + tmp.string() + ": " + ec.message());
  return ok();
}

json::object resource_json(const stack_resource& r) {
  return {{"LogicalResourceId", r.logical_id},
          {"ResourceType", r.type},
          {"PhysicalResourceId", r.physical_id},
          {"Attributes", r.attributes},
          {"Properties", r.properties}};
}

stack_resource resource_from_json(const json::object& o) {
  stack_resource r;
  r.logical_id = o.at("LogicalResourceId").as_string();
  r.type = o.at("ResourceType").as_string();
  r.physical_id = o.at("PhysicalResourceId").as_string();
  r.attributes = o.at("Attributes").as_object();
  r.properties = o.at("Properties");
  return r;
}

json::object record_json(const stack_description& d) {
  json::object o;
  o["StackName"] = d.stack_name;
  o["StackId"] = d.stack_id;
  o["Region"] = d.region;
  o["StackStatus"] = d.status;
  o["StackStatusReason"] = d.status_reason;
  o["CreationTime"] = d.creation_time;
  o["LastUpdatedTime"] = d.last_updated_time;
  json::object params;
  for (const auto& [k, v] : d.parameters) params[k] = v;
  o["Parameters"] = std::move(params);
  o["Outputs"] = d.outputs;
  json::array res;
  for (const auto& r : d.resources) res.push_back(resource_json(r));
  o["Resources"] = std::move(res);
  o["TemplateBody"] = d.template_body;
  return o;
}

result<stack_description> record_from_json(const json::object& o) try {
  stack_description d;
  d.stack_name = o.at("StackName").as_string();
  d.stack_id = o.at("StackId").as_string();
  d.region = o.at("Region").as_string();
  d.status = o.at("StackStatus").as_string();
  d.status_reason = o.at("StackStatusReason").as_string();
  d.creation_time = o.at("CreationTime").as_string();
  d.last_updated_time = o.at("LastUpdatedTime").as_string();
  for (const auto& kv : o.at("Parameters").as_object()) {
    d.parameters[kv.key()] = kv.value().as_string();
  }
  d.outputs = o.at("Outputs").as_object();
  for (const auto& r : o.at("Resources").as_array())
    d.resources.push_back(resource_from_json(r.as_object()));
  d.template_body = o.at("TemplateBody").as_string();
  return d;
} catch (const std::exception& e) {
  return error::corruption(std::string("stack record is damaged: ") + e.what());
}

// Ref and Fn::GetAtt over the resources the deploy has reached so far.
class state_resolver : public resolver {
 public:
  explicit state_resolver(const std::map<std::string, stack_resource>& state) : state_(state) {}
  result<std::string> ref(std::string_view id) const override {
    auto it = state_.find(std::string(id));
    if (it == state_.end())
      return error::internal("resource " + std::string(id) + " not created yet");
    return it->second.physical_id;
  }
  result<json::value> get_att(std::string_view id, std::string_view attr) const override {
    auto it = state_.find(std::string(id));
    if (it == state_.end())
      return error::internal("resource " + std::string(id) + " not created yet");
    auto* v = it->second.attributes.if_contains(attr);
    if (!v) {
      return error::invalid_argument(fmt::format(
          "Template error: resource {} does not support attribute type {} in Fn::GetAtt", id,
          attr));
    }
    return *v;
  }

 private:
  const std::map<std::string, stack_resource>& state_;
};

bool needs_named_iam(const stack_template& t) {
  for (const auto& id : t.creation_order()) {
    const auto& r = t.resource(id);
    if (!r.type.starts_with("AWS::IAM::")) continue;
    if (r.properties.is_object()) {
      for (const char* k : {"RoleName", "GroupName", "UserName", "ManagedPolicyName"}) {
        if (r.properties.as_object().contains(k)) return true;
      }
    }
  }
  return false;
}

bool has_iam(const stack_template& t) {
  for (const auto& id : t.creation_order()) {
    if (t.resource(id).type.starts_with("AWS::IAM::")) return true;
  }
  return false;
}

}  // namespace

stack_engine::stack_engine(fs::path state_dir, std::shared_ptr<provider_registry> providers)
    : state_dir_(std::move(state_dir)), providers_(std::move(providers)) {}

fs::path stack_engine::stack_file(const std::string& region, const std::string& name) const {
  return state_dir_ / "cloudformation" / region / (name + ".json");
}

result<stack_description> stack_engine::describe(const std::string& region,
                                                 const std::string& stack_name) const {
  auto path = stack_file(region, stack_name);
  std::ifstream in(path, std::ios::binary);
  if (!in) return error::not_found(fmt::format("Stack with id {} does not exist", stack_name));
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(ss.str(), ec);
  if (ec || !v.is_object())
    return error::corruption("stack record " + path.string() + " is damaged");
  return record_from_json(v.as_object());
}

result<std::vector<stack_description>> stack_engine::list(const std::string& region) const {
  std::vector<stack_description> out;
  std::error_code ec;
  auto dir = state_dir_ / "cloudformation" / region;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto d = describe(region, entry.path().stem().string());
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  return out;
}

result<stack_description> stack_engine::deploy(const deploy_request& req) {
  if (req.stack_name.empty() || req.region.empty()) {
    return error::invalid_argument("a stack name and a region are required");
  }
  state_lock lock(state_dir_);
  if (!lock.ok()) return error::io("cannot lock state directory " + state_dir_.string());

  auto doc = parse_template(req.template_body);
  if (!doc) return doc.error();

  std::optional<stack_description> previous;
  if (auto p = describe(req.region, req.stack_name)) {
    previous = std::move(*p);
  } else if (p.error().code != errc::not_found) {
    return p.error();
  }

  // Parameters not given keep their previous values (as `aws cloudformation deploy` does).
  auto overrides = req.parameter_overrides;
  if (previous) {
    const auto* pdecl = doc->if_contains("Parameters");
    for (const auto& [k, v] : previous->parameters) {
      if (!overrides.contains(k) && pdecl && pdecl->is_object() && pdecl->as_object().contains(k)) {
        overrides[k] = v;
      }
    }
  }
  stack_context ctx{.region = req.region, .stack_name = req.stack_name};
  if (previous) ctx.stack_id = previous->stack_id;
  auto bound = stack_template::bind(*doc, overrides, ctx);
  if (!bound) return bound.error();
  const auto& t = *bound;

  std::vector<std::string> unknown;
  for (const auto& id : t.creation_order()) {
    const auto& type = t.resource(id).type;
    if (!providers_->find(type) &&
        std::find(unknown.begin(), unknown.end(), type) == unknown.end()) {
      unknown.push_back(type);
    }
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
    return error::invalid_argument(
        fmt::format("Template format error: Unrecognized resource types: [{}]", list));
  }
  if (has_iam(t) && !req.capabilities.contains("CAPABILITY_IAM") &&
      !req.capabilities.contains("CAPABILITY_NAMED_IAM")) {
    return error::invalid_argument(
        fmt::format("Requires capabilities : [{}]",
                    needs_named_iam(t) ? "CAPABILITY_NAMED_IAM" : "CAPABILITY_IAM"));
  }
  if (needs_named_iam(t) && !req.capabilities.contains("CAPABILITY_NAMED_IAM")) {
    return error::invalid_argument("Requires capabilities : [CAPABILITY_NAMED_IAM]");
  }

  std::map<std::string, stack_resource> before;
  if (previous) {
    for (const auto& r : previous->resources) before[r.logical_id] = r;
  }

  // What this deploy did, newest last, so a failure can undo it in reverse.
  struct step {
    enum kind_t { created, updated_in_place, replaced } kind;
    stack_resource now;
    stack_resource was;  // for updates
  };
  std::vector<step> journal;
  std::map<std::string, stack_resource> state;
  state_resolver resolver(state);
  std::string failure;

  auto request_for = [&](const stack_resource& r) {
    return resource_request{req.region, req.stack_name, r.logical_id, r.type, r.properties};
  };

  for (const auto& id : t.creation_order()) {
    const auto& decl = t.resource(id);
    auto props = t.resolve_properties(id, resolver);
    if (!props) {
      failure = fmt::format("{}: {}", id, props.error().message);
      break;
    }
    auto* provider = providers_->find(decl.type);
    stack_resource next{id, decl.type, "", {}, *props};
    auto prev = before.find(id);
    if (prev != before.end() && prev->second.type == decl.type) {
      if (prev->second.properties == *props) {
        state[id] = prev->second;
        continue;
      }
      created_resource cur{prev->second.physical_id, prev->second.attributes};
      auto r = provider->update(request_for(next), cur);
      if (!r) {
        failure = fmt::format("Resource handler returned message: \"{}\" (resource {}, {})",
                              r.error().message, id, decl.type);
        break;
      }
      next.physical_id = r->physical_id;
      next.attributes = r->attributes;
      journal.push_back(
          {r->physical_id == cur.physical_id ? step::updated_in_place : step::replaced, next,
           prev->second});
      spdlog::info("{} {} {} UPDATE_COMPLETE", req.stack_name, id, decl.type);
    } else {
      auto r = provider->create(request_for(next));
      if (!r) {
        failure = fmt::format("Resource handler returned message: \"{}\" (resource {}, {})",
                              r.error().message, id, decl.type);
        break;
      }
      next.physical_id = r->physical_id;
      next.attributes = r->attributes;
      journal.push_back({step::created, next, {}});
      spdlog::info("{} {} {} CREATE_COMPLETE", req.stack_name, id, decl.type);
    }
    state[id] = next;
  }

  stack_description d;
  if (failure.empty()) {
    auto outs = t.outputs(resolver);
    if (outs) {
      d.outputs = std::move(*outs);
    } else {
      failure = "Outputs: " + outs.error().message;
    }
  }

  if (!failure.empty()) {
    spdlog::warn("{}: deploy failed, rolling back: {}", req.stack_name, failure);
    for (auto it = journal.rbegin(); it != journal.rend(); ++it) {
      auto* provider = providers_->find(it->now.type);
      created_resource now{it->now.physical_id, it->now.attributes};
      if (it->kind == step::updated_in_place) {
        auto r = provider->update(request_for(it->was), now);
        if (!r) spdlog::error("rollback of {} failed: {}", it->now.logical_id, r.error().message);
      } else {
        auto r = provider->remove(request_for(it->now), now);
        if (!r) spdlog::error("rollback of {} failed: {}", it->now.logical_id, r.error().message);
      }
    }
    return error::invalid_argument(fmt::format(
        "Failed to {} stack {}: {} ({})", previous ? "update" : "create", req.stack_name, failure,
        previous ? "UPDATE_ROLLBACK_COMPLETE: the previous state is intact"
                 : "ROLLBACK_COMPLETE: nothing was left behind"));
  }

  // Clean-up: resources the template no longer has, and the old halves of replacements.
  bool removed_any = false;
  if (previous) {
    for (auto it = previous->resources.rbegin(); it != previous->resources.rend(); ++it) {
      bool gone = !state.contains(it->logical_id) || state[it->logical_id].type != it->type;
      bool replaced = !gone && state[it->logical_id].physical_id != it->physical_id;
      if (!gone && !replaced) continue;
      removed_any = true;
      auto* provider = providers_->find(it->type);
      if (!provider) continue;  // its type is no longer known; nothing local to remove
      auto r = provider->remove(request_for(*it), {it->physical_id, it->attributes});
      if (!r) spdlog::warn("clean-up of {} failed: {}", it->logical_id, r.error().message);
    }
  }

  d.stack_name = req.stack_name;
  d.stack_id = t.context().stack_id;
  d.region = req.region;
  d.parameters = t.parameters();
  d.template_body = req.template_body;
  for (const auto& id : t.creation_order()) d.resources.push_back(state[id]);
  d.creation_time = previous ? previous->creation_time : now_iso();
  d.changed = !previous || !journal.empty() || removed_any ||
              previous->parameters != d.parameters || previous->outputs != d.outputs ||
              previous->template_body != d.template_body;
  if (previous && !d.changed) {
    previous->changed = false;
    return *previous;
  }
  d.status = previous ? "UPDATE_COMPLETE" : "CREATE_COMPLETE";
  d.last_updated_time = now_iso();
  if (auto w =
          write_atomically(stack_file(req.region, req.stack_name), json::serialize(record_json(d)));
      !w) {
    return w.error();
  }
  return d;
}

result<void> stack_engine::remove(const std::string& region, const std::string& stack_name) {
  state_lock lock(state_dir_);
  if (!lock.ok()) return error::io("cannot lock state directory " + state_dir_.string());
  auto d = describe(region, stack_name);
  if (!d) return d.error().code == errc::not_found ? ok() : result<void>(d.error());
  auto doc = parse_template(d->template_body);
  std::string failures;
  for (auto it = d->resources.rbegin(); it != d->resources.rend(); ++it) {
    if (doc) {
      const auto* res = doc->if_contains("Resources");
      const auto* decl =
          res && res->is_object() ? res->as_object().if_contains(it->logical_id) : nullptr;
      const auto* policy =
          decl && decl->is_object() ? decl->as_object().if_contains("DeletionPolicy") : nullptr;
      if (policy && policy->is_string() && policy->as_string() == "Retain") continue;
    }
    auto* provider = providers_->find(it->type);
    if (!provider) continue;
    auto r = provider->remove({region, stack_name, it->logical_id, it->type, it->properties},
                              {it->physical_id, it->attributes});
    if (!r) failures += fmt::format("{}: {}; ", it->logical_id, r.error().message);
  }
  if (!failures.empty()) {
    return error::io("DELETE_FAILED: " + failures);
  }
  std::error_code ec;
  fs::remove(stack_file(region, stack_name), ec);
  if (ec) return error::io("cannot remove stack record: " + ec.message());
  return ok();
}

json::object to_json(const stack_description& d) {
  json::object s;
  s["StackId"] = d.stack_id;
  s["StackName"] = d.stack_name;
  json::array params;
  for (const auto& [k, v] : d.parameters) {
    params.push_back(json::object{{"ParameterKey", k}, {"ParameterValue", v}});
  }
  s["Parameters"] = std::move(params);
  s["CreationTime"] = d.creation_time;
  if (!d.last_updated_time.empty()) s["LastUpdatedTime"] = d.last_updated_time;
  s["StackStatus"] = d.status;
  if (!d.status_reason.empty()) s["StackStatusReason"] = d.status_reason;
  json::array outs;
  for (const auto& kv : d.outputs) {
    json::object o{{"OutputKey", kv.key()}, {"OutputValue", kv.value().at("Value")}};
    if (auto* desc = kv.value().as_object().if_contains("Description")) o["Description"] = *desc;
    if (auto* e = kv.value().as_object().if_contains("ExportName")) o["ExportName"] = *e;
    outs.push_back(std::move(o));
  }
  s["Outputs"] = std::move(outs);
  return s;
}

}  // namespace mysfits::cloud
