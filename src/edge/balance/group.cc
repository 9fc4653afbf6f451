// group membership: copy-on-write lists.
#include "balance/group.h"

namespace mysfits::edge {

result<void> group::add(endpoint_ptr e) {
  std::lock_guard lock(mu_);
  for (const auto& m : *members_) {
    if (m->id() == e->id()) {
      return error::already_exists("target " + e->id() + " is already in " + name_);
    }
  }
  auto next = std::make_shared<endpoint_list>(*members_);
  next->push_back(std::move(e));
  members_ = std::move(next);
  return ok();
}

endpoint_ptr group::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<endpoint_list>();
  endpoint_ptr removed;
  for (const auto& m : *members_) {
    if (m->id() == id) {
      removed = m;
    } else {
      next->push_back(m);
    }
  }
  members_ = std::move(next);
  return removed;
}

endpoint_ptr group::find(std::string_view id) const {
  auto list = members();
  for (const auto& m : *list) {
    if (m->id() == id) return m;
  }
  return nullptr;
}

}  // namespace mysfits::edge
