// End-to-end test of a region's local ECS: a stack creates a repository, a task definition and
// a service; an image is pushed; the agent runs the tasks from the image and stops them when
// the desired count goes to 0 (lab 5's way of breaking a region).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mysfits/cloud/local_cloud.h"
#include "mysfits/cloud/registry.h"
#include "runtime/ecs_state.h"

using namespace mysfits;
using namespace mysfits::cloud;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const char* kTemplate = R"(
Resources:
  Repo: {Type: AWS::ECR::Repository, Properties: {RepositoryName: mm/core}}
  Cluster: {Type: AWS::ECS::Cluster, Properties: {ClusterName: mm}}
  TaskDef:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: core
      ContainerDefinitions:
        - Name: core
          Image: !Sub '${Repo.RepositoryUri}:v1'
          PortMappings: [{ContainerPort: 8080}]
          Environment: [{Name: GREETING, Value: hello}]
  Service:
    Type: AWS::ECS::Service
    Properties:
      ServiceName: core
      Cluster: !Ref Cluster
      TaskDefinition: !Ref TaskDef
      DesiredCount: 2
)";

template <class Pred>
bool wait_for(Pred p) {
  for (int i = 0; i < 500; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

// Deploy, push, run: the agent starts the image's entry point with the task's environment.
TEST(Agent, RunsServiceTasksFromImages) {
  auto dir = fs::temp_directory_path() / ("mysfits-agent-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "src");
  {
    std::ofstream script(dir / "src" / "run.sh");
    script << "#!/bin/sh\necho \"$GREETING $HOST:$PORT $AWS_REGION\" > "
              "\"$MYSFITS_IMAGE_ROOT/../out\"\n"
              "exec sleep 60\n";
  }
  stack_engine engine(dir / "state", make_local_providers(dir / "state"));
  auto d = engine.deploy({"us-west-2", "mm", kTemplate, {}, {}});
  ASSERT_TRUE(d) << d.error().message;

  image_spec spec;
  spec.files = {{dir / "src" / "run.sh", "app/run.sh", 0755}};
  spec.entrypoint = {"/app/run.sh"};
  ASSERT_TRUE(build_image(spec, dir / "img"));
  registry reg(dir / "state");
  ASSERT_TRUE(reg.push(dir / "img", "latest", "us-west-2", "mm/core", "v1"));

  std::atomic<bool> stop{false};
  agent_options opts{dir / "state",
                     "us-west-2",
                     "127.0.1",
                     std::chrono::milliseconds(20),
                     std::chrono::milliseconds(2000),
                     {}};
  result<void> agent_result = ok();
  std::thread agent([&] { agent_result = run_agent(opts, stop); });

  ecs::state_store store(dir / "state", "us-west-2");
  ASSERT_TRUE(wait_for([&] { return store.read_tasks().size() == 2; }));
  // A second agent for the same region is refused.
  std::atomic<bool> no{true};
  auto second = run_agent(opts, no);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, errc::already_exists);

  auto tasks = store.read_tasks();
  for (const auto& t : tasks) {
    auto id = std::string(t.at("taskId").as_string());
    auto out = store.dir() / "work" / "tasks" / id / "out";
    ASSERT_TRUE(wait_for([&] { return fs::exists(out) && fs::file_size(out) > 0; })) << out;
    std::ifstream in(out);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line,
              fmt::format("hello {}:8080 us-west-2", std::string(t.at("address").as_string())));
  }

  // desired count 0 stops the tasks.
  auto svc = store.find_service("mm", "core");
  ASSERT_TRUE(svc);
  svc->spec.desired_count = 0;
  ASSERT_TRUE(store.put_service(*svc));
  EXPECT_TRUE(wait_for([&] { return store.read_tasks().empty(); }));

  stop = true;
  agent.join();
  EXPECT_TRUE(agent_result);
  fs::remove_all(dir);
}
