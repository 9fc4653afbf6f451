// Per-socket deadlines: a due deadline cancels its socket's pending read and says it fired; one
// not due leaves the read alone; entries leave the worker's list when destroyed.
#include "proxy/deadline.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <optional>

namespace mysfits::edge {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct socket_pair {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket client{io};
  tcp::socket server{io};
  socket_pair() {
    client.connect(acceptor.local_endpoint());
    server = acceptor.accept();
  }
};

TEST(Deadline, DueDeadlineCancelsThePendingReadAndFires) {
  socket_pair s;
  deadline_list list;
  deadline d(list, s.server);
  EXPECT_EQ(list.size(), 1u);
  char byte;
  std::optional<boost::system::error_code> result;
  s.server.async_read_some(asio::buffer(&byte, 1),
                           [&](boost::system::error_code ec, std::size_t) { result = ec; });
  d.expires_after(std::chrono::hours(1));
  EXPECT_EQ(list.expire(deadline::clock::now()), 0u);
  s.io.poll();
  EXPECT_FALSE(result);
  EXPECT_FALSE(d.fired());

  d.expires_at(deadline::clock::now() - std::chrono::milliseconds(1));
  EXPECT_EQ(list.expire(deadline::clock::now()), 1u);
  EXPECT_TRUE(d.fired());
  s.io.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, asio::error::operation_aborted);
  // Fired once: cleared until moved again.
  EXPECT_EQ(list.expire(deadline::clock::now()), 0u);
  d.expires_never();
  EXPECT_FALSE(d.fired());
}

TEST(Deadline, EntriesLeaveTheListWhenDestroyed) {
  socket_pair s;
  deadline_list list;
  {
    deadline a(list, s.client);
    {
      deadline b(list, s.server);
      deadline c(list, s.server);
      EXPECT_EQ(list.size(), 3u);
      b.expires_at(deadline::clock::now());
    }
    EXPECT_EQ(list.size(), 1u);
    a.expires_at(deadline::clock::now());
    EXPECT_EQ(list.expire(deadline::clock::now()), 1u);
    EXPECT_TRUE(a.fired());
  }
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.expire(deadline::clock::now()), 0u);
}

TEST(Deadline, TickIsAnEighthOfTheShortestTimeoutWithinBounds) {
  using std::chrono::milliseconds;
  EXPECT_EQ(deadline_tick(milliseconds(300)), milliseconds(37));
  EXPECT_EQ(deadline_tick(milliseconds(2000)), milliseconds(250));
  EXPECT_EQ(deadline_tick(milliseconds(10)), milliseconds(5));
}

}  // namespace
}  // namespace mysfits::edge
