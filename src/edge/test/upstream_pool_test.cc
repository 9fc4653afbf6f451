// The pool of idle upstream connections: it hands out a connection with nothing to read, and
// never one on which the target sent bytes unasked (counted) or that the target closed.
#include "proxy/upstream_pool.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <string_view>

namespace mysfits::edge {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A pooled connection (`conn`, the edge's end) and the target's end of it (`target`).
struct pooled_pair {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::unique_ptr<upstream_connection> conn;
  tcp::socket target{io};
  int fd = -1;
  pooled_pair() {
    tcp::socket s(io);
    s.connect(acceptor.local_endpoint());
    target = acceptor.accept();
    fd = s.native_handle();
    conn = std::make_unique<upstream_connection>(std::move(s));
  }
  // Waits (up to 5 s) until the edge's end has something to read: bytes or the end of stream.
  bool readable() const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
  }
};

TEST(UpstreamPool, HandsBackAQuietConnection) {
  pooled_pair p;
  metrics::counter unexpected;
  upstream_pool pool(1, &unexpected);
  pool.give(0, std::move(p.conn), 4);
  EXPECT_EQ(pool.idle_count(0), 1u);
  auto c = pool.take(0, 30s);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->reused);
  EXPECT_EQ(pool.idle_count(0), 0u);
  EXPECT_EQ(unexpected.value(), 0);
}

TEST(UpstreamPool, NeverHandsOutAConnectionWithBytesSentUnasked) {
  pooled_pair p;
  metrics::counter unexpected;
  upstream_pool pool(1, &unexpected);
  pool.give(0, std::move(p.conn), 4);
  // A second response nobody asked for, while the connection is idle.
  asio::write(p.target,
              asio::buffer(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")));
  ASSERT_TRUE(p.readable());
  EXPECT_FALSE(pool.take(0, 30s));
  EXPECT_EQ(pool.idle_count(0), 0u);
  EXPECT_EQ(unexpected.value(), 1);
}

TEST(UpstreamPool, DropsAConnectionTheTargetClosedWithoutCountingIt) {
  pooled_pair p;
  metrics::counter unexpected;
  upstream_pool pool(1, &unexpected);
  pool.give(0, std::move(p.conn), 4);
  p.target.close();
  ASSERT_TRUE(p.readable());
  EXPECT_FALSE(pool.take(0, 30s));
  EXPECT_EQ(unexpected.value(), 0);
}

TEST(UpstreamPool, DoesNotKeepAConnectionWithBytesReadPastTheResponse) {
  pooled_pair p;
  metrics::counter unexpected;
  upstream_pool pool(1, &unexpected);
  // What the response parser left in the read buffer: bytes that came with the response.
  const std::string_view extra = "HTTP/1.1 200 OK\r\n";
  auto buf = p.conn->buffer.prepare(extra.size());
  std::memcpy(buf.data(), extra.data(), extra.size());
  p.conn->buffer.commit(extra.size());
  pool.give(0, std::move(p.conn), 4);
  EXPECT_EQ(pool.idle_count(0), 0u);
  EXPECT_EQ(unexpected.value(), 1);
}

TEST(UpstreamPool, TakesTheNextConnectionAfterDroppingABadOne) {
  pooled_pair good, bad;
  metrics::counter unexpected;
  upstream_pool pool(1, &unexpected);
  pool.give(0, std::move(good.conn), 4);
  pool.give(0, std::move(bad.conn), 4);  // the most recently given: offered first
  asio::write(bad.target, asio::buffer(std::string_view("garbage")));
  ASSERT_TRUE(bad.readable());
  auto c = pool.take(0, 30s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->socket.native_handle(), good.fd);
  EXPECT_EQ(unexpected.value(), 1);
}

}  // namespace
}  // namespace mysfits::edge
