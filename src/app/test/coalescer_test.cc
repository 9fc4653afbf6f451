// detail::coalescer (shared table calls) and the routes built on it: a request is answered only
// by a call that started after it arrived, concurrent requests share one call, each like in a
// batch gets its own count, and failures reach every member.
#include "coalescer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fake_table.h"
#include "service_kit.h"

using namespace mysfits;
using namespace mysfits::app;
namespace json = boost::json;

namespace {

using int_coalescer = detail::coalescer<int>;
using int_share = std::optional<int_coalescer::share>;

// A coalescer whose calls run on a pool of its own, joined before the coalescer goes.
struct pooled {
  boost::asio::thread_pool pool{4};
  int_coalescer c{pool.get_executor()};
  ~pooled() { pool.join(); }

  std::future<int_share> join(const std::string& key, const ddbclient::call_context& ctx,
                              int_coalescer::call_fn call) {
    auto answered = std::make_shared<std::promise<int_share>>();
    auto f = answered->get_future();
    c.join(key, ctx, std::move(call), [answered](int_share got) { answered->set_value(got); });
    return f;
  }
};

// Waits (bounded) until `key` has `n` members waiting or calling.
template <class C>
bool wait_for_members(C& c, const std::string& key, std::size_t n) {
  for (int i = 0; i < 2000; ++i) {
    if (c.members(key) == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// A table in front of the fake one whose first call blocks until released.
class gated_table : public ddbclient::table_api {
 public:
  explicit gated_table(ddbclient::table_api& inner) : inner_(inner) {}
  ddbclient::call_result<json::object> call(std::string_view op, const json::object& body,
                                            const ddbclient::call_context& ctx) override {
    if (calls_.fetch_add(1) == 0) gate_.get_future().wait();
    return inner_.call(op, body, ctx);
  }
  void release() { gate_.set_value(); }
  // Waits (bounded) until the first call is held at the gate: a request made after that gets
  // through at once, where one made before could take the gate itself.
  bool wait_until_held() {
    for (int i = 0; i < 2000; ++i) {
      if (calls_.load() > 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

 private:
  ddbclient::table_api& inner_;
  std::promise<void> gate_;
  std::atomic<int> calls_{0};
};

const std::string cole = "33e1fbd4-2fd8-45fb-a42f-f92551694506";

// One like of cole through like_async, waited for.
http::response like_now(detail::shared_calls& shared, ddbclient::table_api& table,
                        const ddbclient::call_context& ctx) {
  http::request req;
  return detail::answer_now(
      [&](http::request&, detail::answer_fn answer) {
        detail::like_async(shared, table, "MysfitsTable", cole, ctx, 11, std::move(answer));
      },
      req);
}

}  // namespace

// With nothing else going on a request's call is made at once.
TEST(Coalescer, LoneRequestCallsAtOnce) {
  pooled p;
  std::atomic<int> calls{0};
  auto got = p.join("k", {}, [&](std::size_t size, const ddbclient::call_context&) {
                ++calls;
                return static_cast<int>(size) * 10;
              }).get();
  ASSERT_TRUE(got);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(got->result, 10);
  EXPECT_EQ(got->index, 0u);
  EXPECT_EQ(got->size, 1u);
}

// Requests that arrive while a call runs are not answered by it (it may have read before they
// arrived): they share the next call, made once the first returns, and get distinct places.
TEST(Coalescer, RequestsArrivingDuringACallShareTheNextOne) {
  pooled p;
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  std::atomic<int> calls{0};
  auto call = [&](std::size_t size, const ddbclient::call_context&) {
    int n = ++calls;
    if (n == 1) opened.wait();
    return n * 1000 + static_cast<int>(size);
  };
  auto first = p.join("k", {}, call);
  for (int i = 0; i < 2000 && calls.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(calls.load(), 1);  // the first call is running
  constexpr int late = 6;
  std::vector<std::future<int_share>> later;
  for (int i = 0; i < late; ++i) later.push_back(p.join("k", {}, call));
  EXPECT_EQ(p.c.members("k"), 1u + late);
  EXPECT_EQ(calls.load(), 1);  // nobody called while the first call runs
  gate.set_value();

  auto f = first.get();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->result, 1001);  // the first call, for itself alone
  std::vector<std::size_t> places;
  for (auto& l : later) {
    auto s = l.get();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->result, 2000 + late);  // all from the second call, made for all of them
    EXPECT_EQ(s->size, static_cast<std::size_t>(late));
    places.push_back(s->index);
  }
  std::sort(places.begin(), places.end());
  for (int i = 0; i < late; ++i) EXPECT_EQ(places[i], static_cast<std::size_t>(i));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(wait_for_members(p.c, "k", 0));
}

// With room for two calls per key, a request arriving while one call runs gets a call of its
// own at once; one arriving while two run waits for the first of them to return.
TEST(Coalescer, SecondCallPerKeyStartsWithoutWaiting) {
  boost::asio::thread_pool pool{4};
  int_coalescer c{pool.get_executor(), 2};
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  std::atomic<int> calls{0};
  auto call = [&](std::size_t size, const ddbclient::call_context&) {
    int n = ++calls;
    if (n <= 2) opened.wait();
    return n * 1000 + static_cast<int>(size);
  };
  std::vector<std::shared_ptr<std::promise<int_share>>> answers;
  auto join = [&] {
    answers.push_back(std::make_shared<std::promise<int_share>>());
    c.join("k", {}, call, [a = answers.back()](int_share got) { a->set_value(got); });
  };
  join();
  join();
  for (int i = 0; i < 2000 && calls.load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(calls.load(), 2);  // both running at once
  join();
  join();
  EXPECT_EQ(c.members("k"), 4u);
  EXPECT_EQ(calls.load(), 2);  // the third and fourth wait
  gate.set_value();
  std::vector<int> got;
  for (auto& a : answers) got.push_back(a->get_future().get()->result);
  EXPECT_EQ(got[0] / 1000 + got[1] / 1000, 3);  // calls 1 and 2, one request each
  EXPECT_EQ(got[2], 3002);                      // then one call for both
  EXPECT_EQ(got[3], 3002);
  pool.join();
}

// Different keys never wait for each other.
TEST(Coalescer, DifferentKeysCallIndependently) {
  pooled p;
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  auto blocked = p.join("a", {}, [&](std::size_t, const ddbclient::call_context&) {
    opened.wait();
    return 1;
  });
  ASSERT_TRUE(wait_for_members(p.c, "a", 1));
  auto other = p.join("b", {}, [](std::size_t, const ddbclient::call_context&) { return 2; });
  EXPECT_EQ(other.get()->result, 2);
  gate.set_value();
  EXPECT_EQ(blocked.get()->result, 1);
}

// A batch's call carries the first member's trace and the earliest deadline of its members.
TEST(Coalescer, BatchCarriesTheEarliestDeadline) {
  pooled p;
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  std::vector<ddbclient::call_context> seen;
  std::mutex mu;
  auto call = [&](std::size_t, const ddbclient::call_context& ctx) {
    bool first_call = false;
    {
      std::lock_guard lk(mu);
      seen.push_back(ctx);
      first_call = seen.size() == 1;
    }
    if (first_call) opened.wait();
    return 0;
  };
  auto first = p.join("k", {"T", "first", 0}, call);
  ASSERT_TRUE(wait_for_members(p.c, "k", 1));
  std::vector<std::future<int_share>> later;
  later.push_back(p.join("k", {"T", "a", 900}, call));
  later.push_back(p.join("k", {"T", "b", 500}, call));
  later.push_back(p.join("k", {"T", "c", 700}, call));
  gate.set_value();
  first.get();
  for (auto& l : later) l.get();
  std::lock_guard lk(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].trace_value, "a");
  EXPECT_EQ(seen[1].deadline_ms, 500);
}

// A call that throws fails every member of its batch, and the key works again afterwards.
TEST(Coalescer, FailureReachesEveryMember) {
  pooled p;
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  std::atomic<int> calls{0};
  auto call = [&](std::size_t, const ddbclient::call_context&) -> int {
    if (++calls == 1) {
      opened.wait();
      return 1;
    }
    throw std::runtime_error("table gone");
  };
  auto first = p.join("k", {}, call);
  ASSERT_TRUE(wait_for_members(p.c, "k", 1));
  std::vector<std::future<int_share>> later;
  for (int i = 0; i < 3; ++i) later.push_back(p.join("k", {}, call));
  gate.set_value();
  EXPECT_EQ(first.get()->result, 1);
  for (auto& l : later) EXPECT_FALSE(l.get().has_value());
  auto again = p.join("k", {}, [](std::size_t, const ddbclient::call_context&) { return 7; });
  EXPECT_EQ(again.get()->result, 7);
}

// Likes of one mysfit made while another like is applied are added by one ADD Likes :n, and
// each answer carries its own like's count: together exactly the counts one-by-one likes give.
TEST(SharedCalls, BatchedLikesEachGetTheirOwnCount) {
  app::testing::fake_table fake;
  fake.load_shipped();
  gated_table table(fake);
  detail::shared_calls shared(8, 1);  // one batch in flight: the rest gather behind it
  const std::string key = "none\n" + cole;
  auto like = [&] { return like_now(shared, table, {}); };
  auto first = std::async(std::launch::async, like);
  EXPECT_TRUE(wait_for_members(shared.likes(), key, 1));
  ASSERT_TRUE(table.wait_until_held());  // the late likes gather behind a call in flight
  constexpr int late = 5;
  std::vector<std::future<http::response>> later;
  for (int i = 0; i < late; ++i) later.push_back(std::async(std::launch::async, like));
  EXPECT_TRUE(wait_for_members(shared.likes(), key, 1 + late));
  table.release();

  std::vector<std::int64_t> counts;
  auto count_of = [](const http::response& res) {
    EXPECT_EQ(res.result_int(), 200);
    return json::parse(res.body()).at("likes").as_int64();
  };
  counts.push_back(count_of(first.get()));
  for (auto& l : later) counts.push_back(count_of(l.get()));
  std::sort(counts.begin(), counts.end());
  for (int i = 0; i <= late; ++i) EXPECT_EQ(counts[i], i + 1);
  EXPECT_EQ(fake.items.at(cole).at("Likes").at("N").as_string(), std::to_string(1 + late));
  ASSERT_EQ(fake.calls.size(), 2u);  // ADD 1 for the first, ADD 5 for the batch
  EXPECT_EQ(fake.calls[0].body.at("ExpressionAttributeValues").at(":n").at("N").as_string(), "1");
  EXPECT_EQ(fake.calls[1].body.at("ExpressionAttributeValues").at(":n").at("N").as_string(),
            std::to_string(late));
}

// A like with a deadline never shares a call with one without: the deadline-less like could
// otherwise be refused for the other's deadline.
TEST(SharedCalls, LikesWithAndWithoutDeadlineDoNotShare) {
  app::testing::fake_table fake;
  fake.load_shipped();
  gated_table table(fake);
  detail::shared_calls shared(8, 1);
  auto first = std::async(std::launch::async, [&] { return like_now(shared, table, {}); });
  EXPECT_TRUE(wait_for_members(shared.likes(), "none\n" + cole, 1));
  // The first like's call holds the gate (else the next like's call could take it, and wait
  // for a release that comes only after it).
  ASSERT_TRUE(table.wait_until_held());
  ddbclient::call_context with_deadline;
  with_deadline.deadline_ms = 4102444800000;  // 2100-01-01
  auto res = like_now(shared, table, with_deadline);
  EXPECT_EQ(res.result_int(), 200);  // not held behind the deadline-less call
  table.release();
  EXPECT_EQ(first.get().result_int(), 200);
  EXPECT_EQ(fake.items.at(cole).at("Likes").at("N").as_string(), "2");
}

// Concurrent list requests all get the full list; a failing table gives each its error.
TEST(SharedCalls, ConcurrentListRequestsAllGetTheList) {
  app::testing::fake_table fake;
  fake.load_shipped();
  detail::shared_calls shared;
  auto list = [&](const std::string& filter) {
    http::request req;
    return detail::answer_now(
        [&](http::request&, detail::answer_fn answer) {
          detail::list_async(shared, fake, "MysfitsTable", filter, "Evil", {}, 11,
                             std::move(answer));
        },
        req);
  };
  std::vector<std::future<http::response>> all;
  for (int i = 0; i < 8; ++i)
    all.push_back(std::async(std::launch::async, list, i % 2 ? "GoodEvil" : ""));
  for (int i = 0; i < 8; ++i) {
    auto res = all[i].get();
    ASSERT_EQ(res.result_int(), 200);
    EXPECT_EQ(json::parse(res.body()).at("mysfits").as_array().size(), i % 2 ? 4u : 12u);
  }
  fake.fail_with({"ServiceUnavailable", "down", 503});
  auto failed = list("");
  EXPECT_EQ(failed.result_int(), 503);
}
