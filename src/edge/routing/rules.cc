// Path-pattern matching (iterative wildcard match with backtracking on the last '*') and the
// priority-ordered rule table.
#include "routing/rules.h"

#include <algorithm>

namespace mysfits::edge {

bool path_matches(std::string_view pattern, std::string_view path) {
  std::size_t p = 0, s = 0;
  std::size_t star = std::string_view::npos, mark = 0;
  while (s < path.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == path[s])) {
      ++p;
      ++s;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

rule_table::rule_table(std::vector<rule_config> rules, std::string default_target_group)
    : rules_(std::move(rules)), default_(std::move(default_target_group)) {
  std::stable_sort(rules_.begin(), rules_.end(), [](const rule_config& a, const rule_config& b) {
    return a.priority < b.priority;
  });
}

const std::string& rule_table::match(std::string_view path) const {
  return target_group_of(match_index(path));
}

std::size_t rule_table::match_index(std::string_view path) const {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    for (const auto& pattern : rules_[i].path_patterns) {
      if (path_matches(pattern, path)) return i;
    }
  }
  return rules_.size();
}

}  // namespace mysfits::edge
