// The `mysfits` CLI's verbs. Each verb registers its CLI11 subcommand and runs thin over
// mysfits::cloud; exit codes follow the AWS CLI's (0 ok, 252 usage, 254 service error, 255 other).
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

namespace mysfits::cli {

struct global_options {
  // Where the local cloud keeps its state. Default: $MYSFITS_STATE_DIR, else ./.mysfits.
  std::filesystem::path state_dir;
  // Region for commands that take one. Default: $AWS_REGION, else us-west-2.
  std::string region;
};

constexpr int kExitServiceError = 254;
constexpr int kExitOtherError = 255;

// Adds `cloudformation deploy | describe-stacks | delete-stack`; sets `exit_code` when run.
void add_cloudformation(CLI::App& app, global_options& g, int& exit_code);
// Adds `ecs update-service | describe-services | list-tasks` and `agent`.
void add_ecs(CLI::App& app, global_options& g, int& exit_code);
// Adds `pipeline run`.
void add_pipeline(CLI::App& app, global_options& g, int& exit_code);
// Adds `up`, `status` and `down`.
void add_system(CLI::App& app, global_options& g, int& exit_code);
// Adds `dashboard` (the live multi-region page; --prometheus-config prints a scrape config).
void add_dashboard(CLI::App& app, global_options& g, int& exit_code);
// Adds `drill` (lab 5: load, dials, a broken primary, measured recovery and loss).
void add_drill(CLI::App& app, global_options& g, int& exit_code);

}  // namespace mysfits::cli
