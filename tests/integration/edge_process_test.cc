// Process test: `mysfits-edge serve --config FILE` prints its addresses, serves traffic, and the
// `status` / `set-dial` subcommands work against its control API; a bad file names the field.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

#include "edge_test_support.h"

using namespace mysfits::edge::testing;

namespace {

// Runs a command and returns its exit status and stdout.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return {-1, ""};
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string write_config(const std::string& text) {
  std::string path = ::testing::TempDir() + "edge_config_" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

// The binary serves an accelerator from a file and its subcommands change it.
TEST(EdgeProcess, ServeStatusAndSetDial) {
  upstream west("west"), east("east");
  auto path = write_config(R"({"Role": "Accelerator",
    "Listeners": [{"PortRanges": [{"FromPort": 0, "ToPort": 0}], "ForwardingMode": "HTTP"}],
    "EndpointGroups": [
      {"EndpointGroupRegion": "us-west-2", "HealthCheckIntervalSeconds": 0.2, "HealthCheckPath": "/health",
       "EndpointConfigurations": [{"EndpointId": ")" +
                           west.id() + R"("}]},
      {"EndpointGroupRegion": "us-east-1", "HealthCheckIntervalSeconds": 0.2, "HealthCheckPath": "/health",
       "EndpointConfigurations": [{"EndpointId": ")" +
                           east.id() + R"("}]}]})");
  int out_pipe[2];
  ASSERT_EQ(::pipe(out_pipe), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::close(out_pipe[0]);
    ::execl(MYSFITS_EDGE_BINARY, MYSFITS_EDGE_BINARY, "serve", "--config", path.c_str(),
            "--log-level", "warn", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  // Read the two address lines it prints.
  std::string printed;
  char ch;
  int lines = 0;
  while (lines < 2 && ::read(out_pipe[0], &ch, 1) == 1) {
    printed += ch;
    if (ch == '\n') ++lines;
  }
  std::smatch m1, m2;
  std::regex listener_re("listener http://127.0.0.1:(\\d+)"),
      control_re("control (http://127.0.0.1:\\d+)");
  bool ok =
      std::regex_search(printed, m1, listener_re) && std::regex_search(printed, m2, control_re);
  EXPECT_TRUE(ok) << printed;
  if (ok) {
    auto port = static_cast<std::uint16_t>(std::stoi(m1[1]));
    std::string control = m2[1];
    auto cport = static_cast<std::uint16_t>(std::stoi(control.substr(control.rfind(':') + 1)));
    EXPECT_TRUE(
        eventually([&] { return target_health(cport, "us-west-2", west.id()) == "healthy"; }));
    auto r = get_once(port, "/");
    EXPECT_TRUE(r && (*r)["X-Upstream"] == "west");
    auto [st, out] = run(std::string(MYSFITS_EDGE_BINARY) + " status --control " + control);
    EXPECT_EQ(st, 0);
    EXPECT_NE(out.find("us-east-1"), std::string::npos) << out;
    auto [st2, out2] = run(std::string(MYSFITS_EDGE_BINARY) + " set-dial --control " + control +
                           " --group us-west-2 --percent 0");
    EXPECT_EQ(st2, 0) << out2;
    r = get_once(port, "/");
    EXPECT_TRUE(r && (*r)["X-Upstream"] == "east");  // no ASSERT: the child must still be stopped
    auto [st3, out3] = run(std::string(MYSFITS_EDGE_BINARY) + " set-dial --control " + control +
                           " --group nowhere --percent 10");
    EXPECT_NE(st3, 0);
    EXPECT_NE(out3.find("no endpoint group nowhere"), std::string::npos) << out3;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(out_pipe[0]);
}

// A configuration error stops the binary with the field named.
TEST(EdgeProcess, BadConfigNamesTheField) {
  auto path = write_config(R"({"Role": "Accelerator",
    "Listeners": [{"PortRanges": [{"FromPort": 0, "ToPort": 0}]}],
    "EndpointGroups": [{"EndpointGroupRegion": "a"}, {"EndpointGroupRegion": "b", "TrafficDialPercentage": 120}]})");
  auto [st, out] = run(std::string(MYSFITS_EDGE_BINARY) + " serve --config " + path);
  EXPECT_EQ(st, 2);
  EXPECT_NE(out.find("EndpointGroups[1].TrafficDialPercentage: must be 0..100"), std::string::npos)
      << out;
}
