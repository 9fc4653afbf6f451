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

 private:
  std::vector<rule_config> rules_;  // sorted by priority
  std::string default_;
};

}  // namespace mysfits::edge
