// Tests for the local image registries: OCI images are reproducible, pushed to every region,
// resolved by tag or digest, unpacked intact, and damage is detected.
#include "mysfits/cloud/registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

using namespace mysfits;
using namespace mysfits::cloud;
namespace fs = std::filesystem;

namespace {

struct RegistryTest : ::testing::Test {
  fs::path dir =
      fs::temp_directory_path() / ("mysfits-registry-test-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir / "src");
    std::ofstream(dir / "src" / "run.sh") << "#!/bin/sh\necho hello\n";
    std::ofstream(dir / "src" / "data.txt") << "twelve mysfits\n";
  }
  void TearDown() override { fs::remove_all(dir); }

  image_spec spec() const {
    image_spec s;
    s.files = {{dir / "src" / "run.sh", "app/run.sh", 0755},
               {dir / "src" / "data.txt", "app/share/data.txt", 0644}};
    s.entrypoint = {"/app/run.sh"};
    s.env = {"PORT=8080"};
    return s;
  }
};

}  // namespace

// The same files give the same image digest, so a rebuild pushes nothing new.
TEST_F(RegistryTest, BuildIsReproducible) {
  auto a = build_image(spec(), dir / "img1");
  auto b = build_image(spec(), dir / "img2");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  EXPECT_TRUE(a->starts_with("sha256:"));
  EXPECT_TRUE(fs::exists(dir / "img1" / "oci-layout"));
}

// Pushing one build to two regions gives the same digest in both; unpacking restores files.
TEST_F(RegistryTest, PushToEveryRegionAndUnpack) {
  auto digest = build_image(spec(), dir / "img");
  ASSERT_TRUE(digest);
  registry reg(dir / "state");
  for (std::string region : {"us-west-2", "us-east-1"}) {
    ASSERT_TRUE(reg.create_repository(region, "mysfits/core"));
    auto pushed = reg.push(dir / "img", "latest", region, "mysfits/core", "v1");
    ASSERT_TRUE(pushed) << pushed.error().message;
    EXPECT_EQ(*pushed, *digest);
  }
  auto info = reg.resolve("us-east-1", "mysfits/core", "v1");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->config.at("Entrypoint").as_array()[0].as_string(), "/app/run.sh");
  EXPECT_TRUE(reg.resolve("us-east-1", "mysfits/core", *digest));
  auto out = dir / "task";
  ASSERT_TRUE(reg.unpack("us-west-2", "mysfits/core", "v1", out));
  std::ifstream in(out / "app" / "share" / "data.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "twelve mysfits");
  struct stat st {};
  ASSERT_EQ(::stat((out / "app" / "run.sh").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR);
}

// Unknown tags, missing repositories and bad names are errors that say what is wrong.
TEST_F(RegistryTest, ErrorsNameTheCause) {
  registry reg(dir / "state");
  EXPECT_FALSE(reg.create_repository("us-west-2", "Bad Name"));
  EXPECT_FALSE(reg.create_repository("nowhere", "ok-name"));
  ASSERT_TRUE(build_image(spec(), dir / "img"));
  auto p = reg.push(dir / "img", "latest", "us-west-2", "absent", "v1");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("does not exist"), std::string::npos);
  ASSERT_TRUE(reg.create_repository("us-west-2", "core"));
  EXPECT_EQ(reg.resolve("us-west-2", "core", "v9").error().code, errc::not_found);
}

// A damaged blob is detected when the image is read, not run.
TEST_F(RegistryTest, DetectsDamagedBlobs) {
  ASSERT_TRUE(build_image(spec(), dir / "img"));
  registry reg(dir / "state");
  ASSERT_TRUE(reg.create_repository("us-west-2", "core"));
  ASSERT_TRUE(reg.push(dir / "img", "latest", "us-west-2", "core", "v1"));
  for (const auto& e : fs::directory_iterator(dir / "state" / "registry" / "us-west-2" / "core" /
                                              "blobs" / "sha256")) {
    std::ofstream(e.path(), std::ios::app) << "x";
  }
  auto r = reg.unpack("us-west-2", "core", "v1", dir / "out");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::corruption);
}

// Image URIs are parsed as ECR writes them.
TEST(ImageUri, ParsesEcrUris) {
  auto u = parse_image_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/mysfits/like:abc123");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->region, "us-east-1");
  EXPECT_EQ(u->repository, "mysfits/like");
  EXPECT_EQ(u->reference, "abc123");
  auto plain = parse_image_uri("123456789012.dkr.ecr.us-west-2.amazonaws.com/core");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->reference, "latest");
  EXPECT_FALSE(parse_image_uri("docker.io/library/nginx:latest"));
}
