// What target groups (LB role) and endpoint groups (accelerator role) share: a name, health
// check settings, a deregistration delay and a membership list that readers take as an
// immutable snapshot, so register/deregister never blocks a pick for long.
#pragma once

#include <chrono>
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
using exclusion = std::vector<const endpoint*>;

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
        members_(std::make_shared<const endpoint_list>()) {}
  virtual ~group() = default;

  const std::string& name() const { return name_; }
  const health_check_config& health_check() const { return health_; }
  std::chrono::milliseconds deregistration_delay() const { return deregistration_delay_; }

  std::shared_ptr<const endpoint_list> members() const {
    std::lock_guard lock(mu_);
    return members_;
  }
  [[nodiscard]] result<void> add(endpoint_ptr e);
  // Removes and returns the member, or null if absent.
  endpoint_ptr remove(std::string_view id);
  endpoint_ptr find(std::string_view id) const;

 private:
  std::string name_;
  health_check_config health_;
  std::chrono::milliseconds deregistration_delay_;
  mutable std::mutex mu_;
  std::shared_ptr<const endpoint_list> members_;
};

}  // namespace mysfits::edge
