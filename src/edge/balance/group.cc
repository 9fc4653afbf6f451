// group membership: copy-on-write lists, and per-thread caches of the current one.
#include "balance/group.h"

namespace mysfits::edge {

namespace {

struct member_cache_entry {
  std::uint64_t group;
  std::uint64_t version;
  std::shared_ptr<const endpoint_list> list;
  std::uint64_t cursor;
};
// One entry per group this thread picked from (a worker thread sees a handful).
thread_local std::vector<member_cache_entry> member_cache;

}  // namespace

std::uint64_t group::next_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

group::member_view group::current_members() const {
  const auto version = version_.load(std::memory_order_acquire);
  member_cache_entry* entry = nullptr;
  for (auto& c : member_cache) {
    if (c.group == id_) {
      entry = &c;
      break;
    }
  }
  if (!entry) {
    // Spread the threads' round-robin starting points.
    member_cache.push_back({id_, ~std::uint64_t{0}, nullptr, member_cache.size() * 7919});
    entry = &member_cache.back();
  }
  if (entry->version != version) {
    std::lock_guard lock(mu_);
    entry->list = members_;
    entry->version = version_.load(std::memory_order_relaxed);
  }
  return {*entry->list, entry->cursor};
}

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
  version_.fetch_add(1, std::memory_order_release);
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
  version_.fetch_add(1, std::memory_order_release);
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
