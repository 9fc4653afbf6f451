// Durability across kill -9: starts the real mysfits-table binary on port 0, writes items one
// by one (each acknowledged with 200), kills the process with SIGKILL, restarts it on the same
// data directory and checks that every acknowledged item is there. Bounded in time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

struct child {
  pid_t pid = -1;
  int port = 0;
};

// Starts `mysfits-table serve` and waits (≤ 20 s) for its "listening on" line.
child start_server(const std::string& data_dir, const std::string& log) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    FILE* err = std::fopen(log.c_str(), "a");
    if (err) dup2(fileno(err), 2);
    execl(MYSFITS_TABLE_BINARY, "mysfits-table", "serve", "--listen", "127.0.0.1:0", "--data-dir",
          data_dir.c_str(), "--region", "us-west-2", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  child c{pid, 0};
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  char ch;
  while (std::chrono::steady_clock::now() < deadline && read(fds[0], &ch, 1) == 1) {
    if (ch == '\n') {
      auto p = line.rfind(':');
      if (line.find("listening on") != std::string::npos && p != std::string::npos) {
        c.port = std::stoi(line.substr(p + 1));
        break;
      }
      line.clear();
    } else {
      line.push_back(ch);
    }
  }
  close(fds[0]);
  return c;
}

// One keep-alive connection issuing DynamoDB calls.
struct client {
  asio::io_context io;
  beast::tcp_stream stream{io};
  explicit client(int port) {
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                           static_cast<unsigned short>(port)));
  }
  std::pair<unsigned, std::string> call(const std::string& op, const std::string& body) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set("X-Amz-Target", "DynamoDB_20120810." + op);
    req.set(bhttp::field::content_type, "application/x-amz-json-1.0");
    req.body() = body;
    req.prepare_payload();
    stream.expires_after(std::chrono::seconds(10));
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    return {res.result_int(), res.body()};
  }
};

// Every write acknowledged before kill -9 is readable after the restart.
TEST(Kill9, AcknowledgedWritesSurviveSigkill) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("mysfits-kill9-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  std::string data = (dir / "data").string();
  std::string log = (dir / "server.log").string();

  child c = start_server(data, log);
  ASSERT_GT(c.pid, 0);
  ASSERT_GT(c.port, 0) << "server did not print its port";
  int acknowledged = 0;
  {
    client cl(c.port);
    auto created = cl.call("CreateTable", R"({"TableName":"Durable",
        "AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],
        "KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"})");
    ASSERT_EQ(created.first, 200u) << created.second;
    for (int i = 0; i < 200; ++i) {
      auto r = cl.call("PutItem", R"({"TableName":"Durable","Item":{"k":{"S":"item-)" +
                                      std::to_string(i) + R"("},"v":{"N":")" + std::to_string(i) +
                                      R"("}}})");
      if (r.first != 200) break;
      acknowledged = i + 1;
    }
  }
  ASSERT_EQ(kill(c.pid, SIGKILL), 0);
  int status = 0;
  waitpid(c.pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));

  child again = start_server(data, log);
  ASSERT_GT(again.port, 0) << "server did not restart";
  {
    client cl(again.port);
    for (int i = 0; i < acknowledged; ++i) {
      auto r = cl.call("GetItem", R"({"TableName":"Durable","Key":{"k":{"S":"item-)" +
                                      std::to_string(i) + R"("}},"ConsistentRead":true})");
      ASSERT_EQ(r.first, 200u);
      EXPECT_NE(r.second.find("\"N\":\"" + std::to_string(i) + "\""), std::string::npos)
          << "acknowledged item " << i << " lost: " << r.second;
    }
  }
  EXPECT_EQ(acknowledged, 200);
  kill(again.pid, SIGTERM);
  waitpid(again.pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "clean exit on SIGTERM";
  std::filesystem::remove_all(dir);
}

}  // namespace
