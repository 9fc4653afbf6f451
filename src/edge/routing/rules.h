// Listener rules of the load balancer role: path-pattern conditions with '*' and '?' wildcards,
// evaluated in priority order (lowest first), the default action last — as ALB ListenerRules.
// The HTTP session asks rule_table::match for the target group of each request.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mysfits/edge/config.h"

namespace mysfits::edge {

// True when `path` matches `pattern`: '*' matches any run of characters (also '/'), '?' exactly
// one, everything else itself, case-sensitively (ALB path-pattern semantics).
[[nodiscard]] bool path_matches(std::string_view pattern, std::string_view path);

class rule_table {
 public:
  rule_table(std::vector<rule_config> rules, std::string default_target_group);
  // The target group for a request path (no query string): the first rule by priority whose
  // pattern matches, else the default action's.
  [[nodiscard]] const std::string& match(std::string_view path) const;
  // The same choice as an index: 0..rule_count()-1 for a rule (in priority order), rule_count()
  // for the default action; target_group_of(index) names its group.
  [[nodiscard]] std::size_t match_index(std::string_view path) const;
  std::size_t rule_count() const { return rules_.size(); }
  const std::string& target_group_of(std::size_t index) const {
    return index < rules_.size() ? rules_[index].target_group : default_;
  }

 private:
  std::vector<rule_config> rules_;  // sorted by priority
  std::string default_;
};

}  // namespace mysfits::edge
