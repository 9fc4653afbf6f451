// `mysfits cloudformation …`: the workshop's `aws cloudformation` command lines, run against
// the local cloud.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands/commands.h"
#include "mysfits/cloud/local_cloud.h"

namespace mysfits::cli {
namespace json = boost::json;

namespace {

std::shared_ptr<cloud::provider_registry> local_providers(const global_options& g) {
  return cloud::make_local_providers(g.state_dir);
}

int service_error(std::string_view op, const error& e) {
  std::cerr << fmt::format(
      "\nAn error occurred (ValidationError) when calling the {} operation: {}\n", op, e.message);
  return kExitServiceError;
}

}  // namespace

void add_cloudformation(CLI::App& app, global_options& g, int& exit_code) {
  auto* cfn = app.add_subcommand("cloudformation", "Deploy and inspect stacks on the local cloud");
  cfn->require_subcommand(1);

  struct deploy_args {
    std::string stack_name, template_file;
    std::vector<std::string> overrides, capabilities;
    bool no_fail_on_empty = false;
  };
  auto d = std::make_shared<deploy_args>();
  auto* deploy = cfn->add_subcommand("deploy", "Create or update a stack from a template");
  deploy->add_option("--stack-name", d->stack_name, "Stack name")->required();
  deploy->add_option("--template-file", d->template_file, "Template (YAML or JSON)")->required();
  deploy->add_option("--parameter-overrides", d->overrides, "Key=Value pairs");
  deploy->add_option("--capabilities", d->capabilities, "CAPABILITY_IAM, CAPABILITY_NAMED_IAM, …");
  deploy->add_flag("--no-fail-on-empty-changeset", d->no_fail_on_empty,
                   "Exit 0 when there is nothing to change");
  deploy->add_option("--region", g.region, "Region");
  deploy->callback([d, &g, &exit_code] {
    std::ifstream in(d->template_file, std::ios::binary);
    if (!in) {
      std::cerr << fmt::format("Invalid template path {}\n", d->template_file);
      exit_code = kExitOtherError;
      return;
    }
    std::stringstream body;
    body << in.rdbuf();
    cloud::deploy_request req{g.region, d->stack_name, body.str(), {}, {}};
    for (const auto& kv : d->overrides) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << fmt::format("--parameter-overrides: '{}' is not Key=Value\n", kv);
        exit_code = 252;
        return;
      }
      req.parameter_overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    req.capabilities.insert(d->capabilities.begin(), d->capabilities.end());
    cloud::stack_engine engine(g.state_dir, local_providers(g));
    std::cout << "\nWaiting for changeset to be created..\n" << std::flush;
    auto r = engine.deploy(req);
    if (!r) {
      exit_code = service_error("CreateChangeSet", r.error());
      return;
    }
    if (!r->changed) {
      std::cout << fmt::format("\nNo changes to deploy. Stack {} is up to date\n", d->stack_name);
      exit_code = d->no_fail_on_empty ? 0 : kExitOtherError;
      return;
    }
    std::cout << "Waiting for stack create/update to complete\n"
              << fmt::format("Successfully created/updated stack - {}\n", d->stack_name);
    exit_code = 0;
  });

  auto describe_name = std::make_shared<std::string>();
  auto* describe = cfn->add_subcommand("describe-stacks", "Show stacks, their status and outputs");
  describe->add_option("--stack-name", *describe_name, "Stack name (default: every stack)");
  describe->add_option("--region", g.region, "Region");
  describe->callback([describe_name, &g, &exit_code] {
    cloud::stack_engine engine(g.state_dir, local_providers(g));
    json::array stacks;
    if (describe_name->empty()) {
      auto all = engine.list(g.region);
      if (!all) {
        exit_code = service_error("DescribeStacks", all.error());
        return;
      }
      for (const auto& s : *all) stacks.push_back(cloud::to_json(s));
    } else {
      auto s = engine.describe(g.region, *describe_name);
      if (!s) {
        exit_code = service_error("DescribeStacks", s.error());
        return;
      }
      stacks.push_back(cloud::to_json(*s));
    }
    std::cout << json::serialize(json::object{{"Stacks", stacks}}) << "\n";
    exit_code = 0;
  });

  auto delete_name = std::make_shared<std::string>();
  auto* del = cfn->add_subcommand("delete-stack", "Delete a stack and everything it created");
  del->add_option("--stack-name", *delete_name, "Stack name")->required();
  del->add_option("--region", g.region, "Region");
  del->callback([delete_name, &g, &exit_code] {
    cloud::stack_engine engine(g.state_dir, local_providers(g));
    auto r = engine.remove(g.region, *delete_name);
    if (!r) {
      exit_code = service_error("DeleteStack", r.error());
      return;
    }
    exit_code = 0;
  });
}

}  // namespace mysfits::cli
