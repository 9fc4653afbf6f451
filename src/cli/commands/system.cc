// `mysfits up | status | down`: the whole workshop in one command.
#include "mysfits/cloud/system.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <iostream>

#include "commands/commands.h"

namespace mysfits::cli {
namespace fs = std::filesystem;

namespace {

// This executable's build tree (…/build/release/src/cli/mysfits → …/build/release).
fs::path default_build_dir() {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("build/release") : self.parent_path().parent_path().parent_path();
}

fs::path default_source_dir(const fs::path& build) {
  std::error_code ec;
  if (fs::exists("cfn/core.yml", ec)) return fs::current_path();
  return build.parent_path().parent_path();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    auto comma = s.find(',', pos);
    auto part = s.substr(pos, comma - pos);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

void print(const std::string& line) { std::cout << line << "\n" << std::flush; }

}  // namespace

void add_system(CLI::App& app, global_options& g, int& exit_code) {
  struct up_args {
    std::string regions = "us-west-2,us-east-1";
    fs::path build_dir, source_dir;
    int first_block = 1;
    double interval = 1;
    int timeout = 170;
  };
  auto a = std::make_shared<up_args>();
  auto* up = app.add_subcommand(
      "up", "Start the whole workshop: tables, agents, stacks, images, accelerator");
  up->add_option("--regions", a->regions, "Regions, the primary first")->capture_default_str();
  up->add_option("--build-dir", a->build_dir,
                 "Build tree with the executables (default: this one)");
  up->add_option("--source-dir", a->source_dir,
                 "Git work tree with cfn/ (default: . if it has cfn/, else the build's source)");
  up->add_option("--first-block", a->first_block,
                 "Region i uses loopback block 127.0.<first-block + i>.0/24")
      ->check(CLI::Range(1, 250))
      ->capture_default_str();
  up->add_option("--health-check-interval", a->interval,
                 "Seconds between health checks of targets and endpoints")
      ->check(CLI::Range(0.1, 30.0))
      ->capture_default_str();
  up->add_option("--timeout", a->timeout, "Seconds to wait for everything to be healthy")
      ->capture_default_str();
  up->callback([a, &g, &exit_code] {
    auto started = std::chrono::steady_clock::now();
    cloud::up_options o;
    o.state_dir = g.state_dir;
    o.regions = split(a->regions);
    o.build_dir = a->build_dir.empty() ? default_build_dir() : a->build_dir;
    o.source_dir = a->source_dir.empty() ? default_source_dir(o.build_dir) : a->source_dir;
    o.first_block = a->first_block;
    o.health_check_interval = a->interval;
    o.timeout = std::chrono::seconds(a->timeout);
    o.progress = print;
    auto r = cloud::system_up(o);
    if (!r) {
      std::cerr << "mysfits up: " << r.error().message << "\n";
      exit_code = r.error().code == errc::invalid_argument ? 252 : kExitOtherError;
      return;
    }
    const auto& sys = *r;
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    std::cout << fmt::format("\nThe Mythical Mysfits are up ({:.1f} s).\n", seconds.count());
    std::cout << fmt::format("  page (through the accelerator): {}/\n",
                             std::string(sys.at("accelerator").at("url").as_string()));
    for (const auto& kv : sys.at("regions").as_object()) {
      if (auto* lb = kv.value().as_object().if_contains("load_balancer")) {
        std::cout << fmt::format("  {} load balancer: {}/\n", std::string(kv.key()),
                                 std::string(lb->at("url").as_string()));
      }
    }
    if (auto* d = sys.if_contains("dashboard")) {
      std::cout << fmt::format("  dashboard: {}/\n", std::string(d->at("url").as_string()));
    } else {
      std::cout << "  dashboard: not in this build (`mysfits dashboard` will show it)\n";
    }
    std::cout << fmt::format("  state: {}/system.json   stop: mysfits --state-dir {} down\n",
                             std::string(sys.at("state_dir").as_string()),
                             std::string(sys.at("state_dir").as_string()));
    exit_code = 0;
  });

  auto* status =
      app.add_subcommand("status", "Show every piece of the running system and its health");
  status->callback([&g, &exit_code] {
    auto r = cloud::system_status(g.state_dir);
    if (!r) {
      std::cerr << r.error().message << "\n";
      exit_code = kExitOtherError;
      return;
    }
    std::cout << *r;
    exit_code = 0;
  });

  auto* down = app.add_subcommand("down", "Stop every process `mysfits up` started");
  down->callback([&g, &exit_code] {
    auto started = std::chrono::steady_clock::now();
    auto r = cloud::system_down(g.state_dir, print);
    if (!r) {
      std::cerr << r.error().message << "\n";
      exit_code = kExitOtherError;
      return;
    }
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    std::cout << fmt::format("stopped {} process(es) in {:.1f} s\n", *r, seconds.count());
    exit_code = 0;
  });
}

}  // namespace mysfits::cli
