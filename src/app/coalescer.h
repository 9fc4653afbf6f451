// detail::coalescer: one table call for every request that wants the same thing while an
// earlier call for it is still running.
//
// Requests join the batch that is open for their key. When no call for the key runs (or fewer
// than `calls_per_key`), the batch closes at once and its call runs on the coalescer's executor
// (a small thread pool, so no request thread blocks on the table); requests arriving meanwhile
// open the next batch, whose call runs as soon as a running one has returned. So:
//   - every request is answered by a call that STARTED AFTER THE REQUEST ARRIVED: a read sees
//     every write acknowledged before it arrived, exactly as if it had made its own call;
//   - an idle service adds no wait (a lone request is a batch of one, called at once), and under
//     load one call answers a whole batch: concurrent GET /mysfits cost the table one Scan per
//     round, and a burst of likes for one mysfit one `ADD Likes :n` (on AWS a single item takes
//     at most 1,000 writes a second, so a popular mysfit's likes would be throttled one by one).
// Each member learns the call's result and its place in the batch (index, size), so a batched
// write can give each member its own share (the like count each one made). Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mysfits/ddbclient/client.h"

namespace mysfits::app::detail {

template <class R>
class coalescer {
 public:
  struct share {
    R result;
    std::size_t index = 0;  // this member's place in its batch, 0 for the first to join
    std::size_t size = 1;   // members answered by the same call
  };
  // Makes the call for a batch of `size` members (blocking is fine: it runs on the executor).
  // `ctx` is the batch's context: the first member's trace, and the earliest deadline any member
  // carries (0 if none does).
  using call_fn = std::function<R(std::size_t size, const ddbclient::call_context& ctx)>;
  // Gets the member's share; nullopt if the call threw (logged).
  using done_fn = std::function<void(std::optional<share>)>;

  // Calls run on `executor`, which must outlive every call (join its pool before destroying
  // the coalescer). Up to `calls_per_key` calls for one key run at once: 1 batches the most;
  // more lets a batch start without waiting for the previous call (still only calls that start
  // after their members arrived answer them), for calls whose latency is mostly waiting, such
  // as a durable write waiting for its fsync.
  explicit coalescer(boost::asio::any_io_executor executor, std::size_t calls_per_key = 1)
      : executor_(std::move(executor)), calls_per_key_(std::max<std::size_t>(1, calls_per_key)) {}

  // Joins the batch open for `key`; `done` runs on the executor once the call answering that
  // batch has returned. Members with different needs (a deadline or none) must use different
  // keys. The first member's `call` is the batch's.
  void join(const std::string& key, const ddbclient::call_context& ctx, call_fn call,
            done_fn done) {
    std::shared_ptr<batch> start;
    {
      std::lock_guard lk(mu_);
      slot& s = slots_[key];  // unordered_map nodes stay put while other keys come and go
      ++s.users;
      if (!s.open) {
        s.open = std::make_shared<batch>();
        s.open->ctx = ctx;
        s.open->call = std::move(call);
      }
      batch& b = *s.open;
      b.members.push_back(std::move(done));
      if (ctx.deadline_ms != 0 && (b.ctx.deadline_ms == 0 || ctx.deadline_ms < b.ctx.deadline_ms))
        b.ctx.deadline_ms = ctx.deadline_ms;
      if (s.running < calls_per_key_) {
        ++s.running;
        start = std::move(s.open);
      }
    }
    if (start) {
      boost::asio::post(executor_,
                        [this, key, b = std::move(start)]() mutable { run(key, std::move(b)); });
    }
  }

  // Requests waiting for or being answered by a call for `key` (for tests and diagnostics).
  std::size_t members(const std::string& key) {
    std::lock_guard lk(mu_);
    auto it = slots_.find(key);
    return it == slots_.end() ? 0 : it->second.users;
  }

 private:
  struct batch {
    ddbclient::call_context ctx;
    call_fn call;
    std::vector<done_fn> members;
  };
  struct slot {
    std::size_t running = 0;      // calls for this key in flight
    std::shared_ptr<batch> open;  // the batch collecting members for the next call
    std::size_t users = 0;        // members waiting or being answered: the slot goes at 0
  };

  // Calls for `b`, answers its members, then calls for the batch that gathered meanwhile.
  void run(const std::string& key, std::shared_ptr<batch> b) {
    while (b) {
      const std::size_t size = b->members.size();
      std::optional<R> result;
      try {
        result.emplace(b->call(size, b->ctx));
      } catch (const std::exception& ex) {
        spdlog::error("shared table call for {} requests failed: {}", size, ex.what());
      } catch (...) {
        spdlog::error("shared table call for {} requests failed", size);
      }
      for (std::size_t i = 0; i < size; ++i) {
        std::optional<share> mine;
        if (result) mine.emplace(share{i + 1 == size ? std::move(*result) : *result, i, size});
        try {
          b->members[i](std::move(mine));
        } catch (const std::exception& ex) {
          spdlog::error("answering a shared table call: {}", ex.what());
        }
      }
      std::lock_guard lk(mu_);
      slot& s = slots_[key];
      s.users -= size;
      b = std::move(s.open);  // whoever arrived during this call: their call starts now
      if (!b) {
        --s.running;
        if (s.users == 0) slots_.erase(key);
      }
    }
  }

  boost::asio::any_io_executor executor_;
  std::size_t calls_per_key_;
  std::mutex mu_;
  std::unordered_map<std::string, slot> slots_;
};

}  // namespace mysfits::app::detail
