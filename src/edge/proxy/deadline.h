// Per-socket deadlines checked by one ticker per worker, instead of a timer armed and cancelled
// around every read and write (a timer-queue insertion, a cancellation, a completion handler and
// often a timerfd syscall per operation). A session moves its socket's deadline with a plain
// store; the worker's ticker walks the worker's deadlines every `tick` and cancels the pending
// operations of a socket whose deadline has passed, which then complete with
// operation_aborted and `fired()` set. A timeout therefore fires up to one tick late.
// Everything here runs on one worker's event loop: no locks, no atomics.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>

namespace mysfits::edge {

class deadline_list;

class deadline {
 public:
  using clock = std::chrono::steady_clock;
  // Links into `list` (the worker's) for the deadline's lifetime; starts with no deadline.
  deadline(deadline_list& list, boost::asio::ip::tcp::socket& socket);
  ~deadline();
  deadline(const deadline&) = delete;
  deadline& operator=(const deadline&) = delete;

  void expires_after(clock::duration d) { expires_at(clock::now() + d); }
  void expires_at(clock::time_point t) {
    due_ = t;
    fired_ = false;
  }
  void expires_never() { expires_at(clock::time_point::max()); }
  // The deadline passed (and the socket's operations were cancelled) since the last expires_*.
  bool fired() const { return fired_; }

 private:
  friend class deadline_list;
  deadline_list& list_;
  boost::asio::ip::tcp::socket& socket_;
  clock::time_point due_ = clock::time_point::max();
  bool fired_ = false;
  deadline* prev_ = nullptr;
  deadline* next_ = nullptr;
};

class deadline_list {
 public:
  deadline_list() = default;
  deadline_list(const deadline_list&) = delete;
  deadline_list& operator=(const deadline_list&) = delete;

  // Fires every deadline due at `now`: marks it fired, clears it and cancels its socket's
  // pending operations. Returns how many fired.
  std::size_t expire(deadline::clock::time_point now);
  std::size_t size() const { return size_; }

 private:
  friend class deadline;
  deadline* head_ = nullptr;
  std::size_t size_ = 0;
};

// The interval a worker's ticker uses for these timeouts: an eighth of the shortest, within
// 5..250 ms.
std::chrono::milliseconds deadline_tick(std::chrono::milliseconds shortest_timeout);

// Expires `list` every `tick` until the loop stops (spawned once per worker loop).
boost::asio::awaitable<void> run_deadline_ticker(deadline_list& list,
                                                 std::chrono::milliseconds tick);

}  // namespace mysfits::edge
