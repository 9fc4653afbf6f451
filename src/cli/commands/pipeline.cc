// `mysfits pipeline run`: Source → Build → Deploy → CrossRegionDeploy for the app's services.
#include "mysfits/cloud/pipeline.h"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "commands/commands.h"

namespace mysfits::cli {
namespace fs = std::filesystem;

namespace {

// The build tree keeps the services at src/app/ beside src/cli/ (where `mysfits` is).
fs::path default_binary(const std::string& name) {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  return self.parent_path().parent_path() / "app" / name;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    auto comma = s.find(',', pos);
    out.push_back(s.substr(pos, comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

void add_pipeline(CLI::App& app, global_options& g, int& exit_code) {
  auto* pipeline =
      app.add_subcommand("pipeline", "Build the services once and roll them into every region");
  pipeline->require_subcommand(1);
  struct run_args {
    std::string regions = "us-west-2,us-east-1";
    std::string stacks = "mm-primary-region,mm-secondary-region";
    fs::path source_dir = ".";
    fs::path output_dir;
    fs::path core_binary = default_binary("mysfits-core");
    fs::path like_binary = default_binary("mysfits-like");
    int timeout_seconds = 120;
  };
  auto a = std::make_shared<run_args>();
  auto* run = pipeline->add_subcommand("run", "Run Source, Build, Deploy and CrossRegionDeploy");
  run->add_option("--regions", a->regions, "Regions, the primary first")->capture_default_str();
  run->add_option("--stacks", a->stacks, "Each region's stack, in the same order")
      ->capture_default_str();
  run->add_option("--source-dir", a->source_dir, "Git work tree whose HEAD names the images");
  run->add_option("--output-dir", a->output_dir,
                  "Where imagedefinitions_*.json go (default <state>/pipeline)");
  run->add_option("--core-binary", a->core_binary, "The core service executable");
  run->add_option("--like-binary", a->like_binary, "The like service executable");
  run->add_option("--deploy-timeout", a->timeout_seconds, "Seconds a region's rollout may take");
  run->callback([a, &g, &exit_code] {
    auto regions = split(a->regions);
    auto stacks = split(a->stacks);
    if (regions.size() != stacks.size() || regions.empty()) {
      std::cerr << "--regions and --stacks must name the same number of entries\n";
      exit_code = 252;
      return;
    }
    cloud::pipeline_options o;
    o.state_dir = g.state_dir;
    o.source_dir = a->source_dir;
    o.output_dir = a->output_dir.empty() ? g.state_dir / "pipeline" : a->output_dir;
    o.deploy_timeout = std::chrono::seconds(a->timeout_seconds);
    o.services = {
        {"core-service",
         "core-service",
         "MythicalServiceEcrRepo",
         {{a->core_binary, "app/mysfits-core", 0755}},
         {"/app/mysfits-core"}},
        {"like-service",
         "like-service",
         "LikeServiceEcrRepo",
         {{a->like_binary, "app/mysfits-like", 0755}},
         {"/app/mysfits-like"}},
    };
    for (std::size_t i = 0; i < regions.size(); ++i) o.regions.push_back({regions[i], stacks[i]});
    o.on_stage = [](const cloud::stage_status& s) {
      std::cout << fmt::format("{:<18} {:<11} {}\n", s.name, s.status, s.detail) << std::flush;
    };
    auto r = cloud::run_pipeline(o);
    if (!r) {
      std::cerr << r.error().message << "\n";
      exit_code = kExitServiceError;
      return;
    }
    exit_code = 0;
  });
}

}  // namespace mysfits::cli
