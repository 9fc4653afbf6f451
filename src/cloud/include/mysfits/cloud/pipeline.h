// `mysfits pipeline run`: the workshop's CodePipeline on the local cloud. Source (the working
// tree's commit) → Build (each service packaged once as an OCI image, pushed to every region's
// repository, image-definition files written) → Deploy (primary region) → CrossRegionDeploy
// (every other region). A deployment whose new tasks do not come up healthy is rolled back to
// the previous task definition and the pipeline stops.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "mysfits/cloud/registry.h"
#include "mysfits/common/result.h"

namespace mysfits::cloud {

struct pipeline_service {
  std::string container_name;     // in the task definition and imagedefinitions, e.g. core-service
  std::string ecs_service;        // the ECS service to roll, e.g. core-service
  std::string repository_output;  // stack output naming the repository in the primary region,
                                  // e.g. MythicalServiceEcrRepo; other regions add "Secondary"
  std::vector<image_file> files;  // what the image holds
  std::vector<std::string> entrypoint;
};

struct pipeline_region {
  std::string region;
  std::string stack_name;
};

struct stage_status {
  std::string name;    // Source, Build, Deploy, CrossRegionDeploy
  std::string status;  // InProgress, Succeeded, Failed
  std::string detail;
};

struct pipeline_options {
  std::filesystem::path state_dir;
  std::filesystem::path source_dir;  // a git work tree; its HEAD names the images
  std::filesystem::path output_dir;  // imagedefinitions_*.json and built images
  std::vector<pipeline_service> services;
  std::vector<pipeline_region> regions;  // the first is the primary
  // How long a region's new tasks have to run steadily. Default: 60 s.
  std::chrono::milliseconds deploy_timeout{std::chrono::seconds(60)};
  // How long new tasks must stay up (same processes, running) to count as healthy. Default: 3 s.
  std::chrono::milliseconds steady_period{std::chrono::seconds(3)};
  std::function<void(const stage_status&)> on_stage;  // progress; may be empty
};

// Runs every stage; returns each stage's final status. A failed stage is an error whose
// message names the stage and the cause (after its rollback).
[[nodiscard]] result<std::vector<stage_status>> run_pipeline(const pipeline_options& options);

}  // namespace mysfits::cloud
