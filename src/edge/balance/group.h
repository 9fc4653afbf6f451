// What target groups (LB role) and endpoint groups (accelerator role) share: a name, health
// check settings, a deregistration delay and a membership list that readers take as an
// immutable snapshot, so register/deregister never blocks a pick for long. The request path
// reads it through a per-thread cache (current_members), so a pick touches no lock and no
// reference count that the workers share.
#pragma once

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "balance/endpoint.h"
#include "mysfits/common/result.h"
#include "mysfits/edge/config.h"

namespace mysfits::edge {

using endpoint_ptr = std::shared_ptr<endpoint>;
using endpoint_list = std::vector<endpoint_ptr>;
// Endpoints a request already failed on; retries skip them.
using exclusion = boost::container::small_vector<const endpoint*, 4>;

inline bool is_excluded(const exclusion& ex, const endpoint* e) {
  for (const auto* x : ex) {
    if (x == e) return true;
  }
  return false;
}

class group {
 public:
  group(std::string name, health_check_config health,
        std::chrono::milliseconds deregistration_delay)
      : name_(std::move(name)),
        health_(std::move(health)),
        deregistration_delay_(deregistration_delay),
        id_(next_id()),
        members_(std::make_shared<const endpoint_list>()) {}
  virtual ~group() = default;

  const std::string& name() const { return name_; }
  const health_check_config& health_check() const { return health_; }
  std::chrono::milliseconds deregistration_delay() const { return deregistration_delay_; }
  // HTTP mode: the longest wait for a member's first response byte (zero: none; endpoint
  // groups only).
  virtual std::chrono::milliseconds first_byte_timeout() const { return {}; }

  std::shared_ptr<const endpoint_list> members() const {
    std::lock_guard lock(mu_);
    return members_;
  }
  // The current members as this thread last saw them, refreshed (under the lock) only when the
  // membership changed since: no lock, no shared reference count. Also a round-robin cursor of
  // this thread's own for this group. Both stay valid until this thread's next call for this
  // group.
  struct member_view {
    const endpoint_list& members;
    std::uint64_t& cursor;
  };
  member_view current_members() const;
  [[nodiscard]] result<void> add(endpoint_ptr e);
  // Removes and returns the member, or null if absent.
  endpoint_ptr remove(std::string_view id);
  endpoint_ptr find(std::string_view id) const;

 private:
  static std::uint64_t next_id();
  std::string name_;
  health_check_config health_;
  std::chrono::milliseconds deregistration_delay_;
  const std::uint64_t id_;  // unique in the process (the per-thread caches key on it)
  mutable std::mutex mu_;
  std::shared_ptr<const endpoint_list> members_;
  std::atomic<std::uint64_t> version_{0};  // bumped (under mu_) by every membership change
};

}  // namespace mysfits::edge
