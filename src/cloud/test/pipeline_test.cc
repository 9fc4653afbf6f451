// Pipeline test over two real regions (agents running real processes): a good build rolls
// into the primary then the secondary; a broken build is rolled back and stops the pipeline.
#include "mysfits/cloud/pipeline.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mysfits/cloud/local_cloud.h"
#include "registry/oci_layout.h"
#include "runtime/ecs_state.h"

using namespace mysfits;
using namespace mysfits::cloud;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const char* kTemplate = R"(
Parameters:
  IsDrRegion: {Type: String, Default: 'false'}
Conditions:
  IsPrimary: !Equals [!Ref IsDrRegion, 'false']
  IsDr: !Equals [!Ref IsDrRegion, 'true']
Resources:
  Repo: {Type: AWS::ECR::Repository, Properties: {RepositoryName: !Sub '${AWS::StackName}-core'}}
  Cluster: {Type: AWS::ECS::Cluster, Properties: {ClusterName: mm}}
  TaskDef:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: core
      ContainerDefinitions: [{Name: core-service, Image: !Sub '${Repo.RepositoryUri}:initial'}]
  Service:
    Type: AWS::ECS::Service
    Properties: {ServiceName: core-service, Cluster: !Ref Cluster, TaskDefinition: !Ref TaskDef, DesiredCount: 1}
Outputs:
  ClusterName: {Value: !Ref Cluster}
  MythicalServiceEcrRepo: {Condition: IsPrimary, Value: !GetAtt Repo.RepositoryUri}
  SecondaryMythicalServiceEcrRepo: {Condition: IsDr, Value: !GetAtt Repo.RepositoryUri}
)";

struct PipelineTest : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("mysfits-pipeline-test-" + std::to_string(::getpid()));
  std::atomic<bool> stop{false};
  std::vector<std::thread> agents;

  void write_script(const std::string& body) {
    std::ofstream(dir / "src" / "service.sh") << "#!/bin/sh\n" << body << "\n";
    auto cmd = "cd '" + (dir / "src").string() +
               "' && git add -A && git -c user.name=t -c user.email=t@example.com commit -qm x";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir / "src");
    ASSERT_EQ(std::system(("git init -q '" + (dir / "src").string() + "'").c_str()), 0);
    write_script("exec sleep 60");
    stack_engine engine(dir / "state", make_local_providers(dir / "state"));
    ASSERT_TRUE(engine.deploy({"us-west-2", "mm-primary", kTemplate, {}, {}}));
    ASSERT_TRUE(
        engine.deploy({"us-east-1", "mm-secondary", kTemplate, {{"IsDrRegion", "true"}}, {}}));
    // The images the stacks start from.
    image_spec spec;
    spec.files = {{dir / "src" / "service.sh", "app/service.sh", 0755}};
    spec.entrypoint = {"/app/service.sh"};
    ASSERT_TRUE(build_image(spec, dir / "initial", "initial"));
    registry reg(dir / "state");
    ASSERT_TRUE(reg.push(dir / "initial", "initial", "us-west-2", "mm-primary-core", "initial"));
    ASSERT_TRUE(reg.push(dir / "initial", "initial", "us-east-1", "mm-secondary-core", "initial"));
    int block = 1;
    for (std::string region : {"us-west-2", "us-east-1"}) {
      agent_options a{dir / "state",
                      region,
                      "127.0." + std::to_string(block++),
                      std::chrono::milliseconds(50),
                      std::chrono::milliseconds(2000),
                      {}};
      agents.emplace_back([this, a] { (void)run_agent(a, stop); });
    }
  }
  void TearDown() override {
    stop = true;
    for (auto& t : agents) t.join();
    fs::remove_all(dir);
  }

  pipeline_options options() {
    pipeline_options o;
    o.state_dir = dir / "state";
    o.source_dir = dir / "src";
    o.output_dir = dir / "out";
    o.services = {{"core-service",
                   "core-service",
                   "MythicalServiceEcrRepo",
                   {{dir / "src" / "service.sh", "app/service.sh", 0755}},
                   {"/app/service.sh"}}};
    o.regions = {{"us-west-2", "mm-primary"}, {"us-east-1", "mm-secondary"}};
    o.deploy_timeout = std::chrono::seconds(5);
    o.steady_period = std::chrono::milliseconds(800);
    return o;
  }

  std::string service_task_definition(const std::string& region) {
    ecs::state_store store(dir / "state", region);
    return store.find_service("mm", "core-service")->spec.task_definition;
  }
};

}  // namespace

// A good build reaches both regions, each on a new task definition, with image definitions.
TEST_F(PipelineTest, GoodBuildRollsIntoEveryRegion) {
  write_script("echo v2; exec sleep 60");
  auto r = run_pipeline(options());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ(r->at(3).name, "CrossRegionDeploy");
  EXPECT_EQ(service_task_definition("us-west-2"), "core:2");
  EXPECT_EQ(service_task_definition("us-east-1"), "core:2");
  auto defs = oci::read_file(dir / "out" / "imagedefinitions_secondary.json");
  ASSERT_TRUE(defs);
  auto arr = json::parse(*defs).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0].at("name").as_string(), "core-service");
  EXPECT_TRUE(std::string(arr[0].at("imageUri").as_string())
                  .starts_with("123456789012.dkr.ecr.us-east-1.amazonaws.com/mm-secondary-core:"));
  EXPECT_TRUE(fs::exists(dir / "out" / "imagedefinitions_primary.json"));
}

// A build whose service crashes is rolled back in the primary; the secondary is not touched.
TEST_F(PipelineTest, BrokenBuildRollsBackAndStops) {
  write_script("exit 1");
  std::vector<std::string> seen;
  auto o = options();
  o.on_stage = [&](const stage_status& s) { seen.push_back(s.name + ":" + s.status); };
  auto r = run_pipeline(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Deploy stage failed"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("rolled back to core:1"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(service_task_definition("us-west-2"), "core:1");
  EXPECT_EQ(service_task_definition("us-east-1"), "core:1");
  EXPECT_EQ(std::find(seen.begin(), seen.end(), "CrossRegionDeploy:InProgress"), seen.end());
}
