// The local pipeline's stages; see include/mysfits/cloud/pipeline.h.
#include "mysfits/cloud/pipeline.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <thread>

#include "mysfits/cloud/local_cloud.h"
#include "registry/oci_layout.h"
#include "runtime/ecs_state.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Runs a command and returns its first line of output, or empty on failure.
std::string first_line(const std::string& command) {
  std::array<char, 256> buf{};
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {};
  if (std::fgets(buf.data(), buf.size(), p)) out = buf.data();
  int rc = ::pclose(p);
  if (rc != 0) return {};
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string source_version(const fs::path& dir) {
  auto quoted = "'" + dir.string() + "'";
  auto sha = first_line("git -C " + quoted + " rev-parse --short=12 HEAD 2>/dev/null");
  if (sha.empty()) return {};
  auto dirty = first_line("git -C " + quoted +
                          " status --porcelain --untracked-files=no 2>/dev/null | head -1");
  return dirty.empty() ? sha : sha + "-dirty";
}

struct region_outputs {
  std::string cluster;
  std::map<std::string, std::string> values;
};

result<region_outputs> outputs_of(const pipeline_options& o, const pipeline_region& r) {
  stack_engine engine(o.state_dir, make_local_providers(o.state_dir));
  auto d = engine.describe(r.region, r.stack_name);
  if (!d) return d.error();
  region_outputs out;
  for (const auto& kv : d->outputs) out.values[kv.key()] = kv.value().at("Value").as_string();
  if (auto it = out.values.find("ClusterName"); it != out.values.end()) out.cluster = it->second;
  if (out.cluster.empty()) {
    return error::invalid_argument(
        fmt::format("stack {} in {} has no ClusterName output", r.stack_name, r.region));
  }
  return out;
}

std::string repository_uri(const region_outputs& outs, const pipeline_service& s, bool primary) {
  for (const auto& key : {primary ? s.repository_output : "Secondary" + s.repository_output,
                          s.repository_output, "Secondary" + s.repository_output}) {
    if (auto it = outs.values.find(key); it != outs.values.end()) return it->second;
  }
  return {};
}

// Waits until `desired` tasks of `td` run and keep the same processes for the steady period.
bool wait_steady(const ecs::state_store& store, const std::string& service, const std::string& td,
                 int desired, const pipeline_options& o) {
  auto deadline = std::chrono::steady_clock::now() + o.deploy_timeout;
  std::string last;
  auto since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> pids;
    int other = 0;
    for (const auto& t : store.read_tasks()) {
      if (t.at("serviceName").as_string() != service) continue;
      if (t.at("taskDefinition").as_string() == td && t.at("lastStatus").as_string() == "RUNNING" &&
          t.at("healthStatus").as_string() != "UNHEALTHY") {
        pids.push_back(json::serialize(t.at("pid")));
      } else {
        ++other;
      }
    }
    std::sort(pids.begin(), pids.end());
    auto now_key = fmt::format("{}", fmt::join(pids, ","));
    if (static_cast<int>(pids.size()) != desired || other > 0 || now_key != last) {
      last = now_key;
      since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - since >= o.steady_period) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Rolls every service of one region to its new image; rolls back on failure.
result<void> deploy_region(const pipeline_options& o, const pipeline_region& r,
                           const std::map<std::string, std::string>& images) {
  auto outs = outputs_of(o, r);
  if (!outs) return outs.error();
  ecs::state_store store(o.state_dir, r.region);
  for (const auto& s : o.services) {
    auto svc = store.find_service(outs->cluster, s.ecs_service);
    if (!svc) {
      return error::not_found(fmt::format("service {} not found in cluster {} ({})", s.ecs_service,
                                          outs->cluster, r.region));
    }
    std::optional<task_definition> current;
    for (const auto& td : store.task_definitions()) {
      if (td.arn() == svc->spec.task_definition) current = td;
    }
    if (!current) {
      return error::not_found("task definition " + svc->spec.task_definition + " not registered");
    }
    auto next = *current;
    next.image = images.at(s.container_name + "@" + r.region);
    auto registered = store.register_task_definition(next);
    if (!registered) return registered.error();
    auto previous = *svc;
    svc->spec.task_definition = registered->arn();
    if (auto w = store.put_service(*svc); !w) return w.error();
    spdlog::info("{}: {} rolling to {} ({})", r.region, s.ecs_service, registered->arn(),
                 next.image);
    if (!wait_steady(store, s.ecs_service, registered->arn(), svc->spec.desired_count, o)) {
      // Roll back: the previous task definition again, and wait for it to be back.
      auto w = store.put_service(previous);
      bool back = w && wait_steady(store, s.ecs_service, previous.spec.task_definition,
                                   previous.spec.desired_count, o);
      return error::unavailable(
          fmt::format("{} in {}: new tasks ({}) did not come up healthy; rolled back to {}{}",
                      s.ecs_service, r.region, registered->arn(), previous.spec.task_definition,
                      back ? "" : " (the rollback has not settled yet)"));
    }
  }
  return ok();
}

}  // namespace

result<std::vector<stage_status>> run_pipeline(const pipeline_options& o) {
  std::vector<stage_status> stages;
  auto report = [&](std::string name, std::string status, std::string detail) {
    stage_status s{std::move(name), std::move(status), std::move(detail)};
    if (o.on_stage) o.on_stage(s);
    if (s.status != "InProgress") stages.push_back(s);
  };
  auto fail = [&](const std::string& stage, const error& e) -> result<std::vector<stage_status>> {
    report(stage, "Failed", e.message);
    return error{e.code, fmt::format("{} stage failed: {}", stage, e.message)};
  };
  if (o.regions.empty()) return error::invalid_argument("a pipeline needs at least one region");

  // Source.
  report("Source", "InProgress", o.source_dir.string());
  auto version = source_version(o.source_dir);
  if (version.empty()) {
    return fail("Source", error::invalid_argument(o.source_dir.string() +
                                                  " is not a git work tree with a commit"));
  }
  report("Source", "Succeeded", version);

  // Build: package once, push to every region, write image definitions.
  report("Build", "InProgress", version);
  std::map<std::string, std::string> images;  // container@region → image URI
  registry reg(o.state_dir);
  std::vector<json::array> definitions(o.regions.size());
  for (const auto& s : o.services) {
    image_spec spec;
    spec.files = s.files;
    spec.entrypoint = s.entrypoint;
    spec.labels = {{"org.opencontainers.image.revision", version}};
    auto layout = o.output_dir / "images" / s.container_name;
    auto built = build_image(spec, layout, version);
    if (!built) return fail("Build", built.error());
    // Tags are immutable: the commit plus the image's own digest, so a rebuild of the same
    // commit with other contents (a dirty tree) never repoints the tag a rollback returns to.
    auto tag = fmt::format("{}-{}", version, built->substr(built->find(':') + 1, 12));
    for (std::size_t i = 0; i < o.regions.size(); ++i) {
      const auto& r = o.regions[i];
      auto outs = outputs_of(o, r);
      if (!outs) return fail("Build", outs.error());
      auto repo_uri = repository_uri(*outs, s, i == 0);
      if (repo_uri.empty()) {
        return fail("Build",
                    error::not_found(fmt::format("stack {} has no output for {}'s repository",
                                                 r.stack_name, s.container_name)));
      }
      auto parsed = parse_image_uri(repo_uri);
      if (!parsed) return fail("Build", parsed.error());
      auto pushed = reg.push(layout, version, r.region, parsed->repository, tag);
      if (!pushed) return fail("Build", pushed.error());
      auto uri = repo_uri + ":" + tag;
      images[s.container_name + "@" + r.region] = uri;
      definitions[i].push_back(json::object{{"name", s.container_name}, {"imageUri", uri}});
    }
  }
  for (std::size_t i = 0; i < o.regions.size(); ++i) {
    auto name = i == 0   ? std::string("imagedefinitions_primary.json")
                : i == 1 ? std::string("imagedefinitions_secondary.json")
                         : fmt::format("imagedefinitions_{}.json", o.regions[i].region);
    if (auto w = oci::write_file_atomically(o.output_dir / name, json::serialize(definitions[i]));
        !w) {
      return fail("Build", w.error());
    }
  }
  report("Build", "Succeeded",
         fmt::format("{} image(s) pushed to {} region(s)", o.services.size(), o.regions.size()));

  // Deploy (primary), then CrossRegionDeploy (the others).
  for (std::size_t i = 0; i < o.regions.size(); ++i) {
    std::string stage = i == 0 ? "Deploy" : "CrossRegionDeploy";
    report(stage, "InProgress", o.regions[i].region);
    if (auto d = deploy_region(o, o.regions[i], images); !d) return fail(stage, d.error());
    report(stage, "Succeeded", o.regions[i].region);
  }
  return stages;
}

}  // namespace mysfits::cloud
