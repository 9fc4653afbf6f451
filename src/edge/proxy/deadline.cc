// deadline_list: an intrusive list of the worker's socket deadlines and its ticker.
#include "proxy/deadline.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mysfits::edge {

namespace asio = boost::asio;

deadline::deadline(deadline_list& list, asio::ip::tcp::socket& socket)
    : list_(list), socket_(socket) {
  next_ = list_.head_;
  if (next_) next_->prev_ = this;
  list_.head_ = this;
  ++list_.size_;
}

deadline::~deadline() {
  if (prev_) {
    prev_->next_ = next_;
  } else {
    list_.head_ = next_;
  }
  if (next_) next_->prev_ = prev_;
  --list_.size_;
}

std::size_t deadline_list::expire(deadline::clock::time_point now) {
  std::size_t fired = 0;
  for (deadline* d = head_; d; d = d->next_) {
    if (d->due_ > now) continue;
    d->due_ = deadline::clock::time_point::max();
    d->fired_ = true;
    boost::system::error_code ignored;  // a socket not open has nothing to cancel
    d->socket_.cancel(ignored);
    ++fired;
  }
  return fired;
}

std::chrono::milliseconds deadline_tick(std::chrono::milliseconds shortest_timeout) {
  return std::clamp(shortest_timeout / 8, std::chrono::milliseconds(5),
                    std::chrono::milliseconds(250));
}

asio::awaitable<void> run_deadline_ticker(deadline_list& list, std::chrono::milliseconds tick) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next = deadline::clock::now();
  for (;;) {
    next += tick;
    timer.expires_at(next);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto now = deadline::clock::now();
    list.expire(now);
    if (now > next + tick) next = now;  // the loop was busy: do not catch up tick by tick
  }
}

}  // namespace mysfits::edge
