// Prometheus text parsing; see prometheus_text.h.
#include "prometheus_text.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace mysfits::drill::detail {

namespace {

double parse_value(std::string_view s, bool& ok) {
  ok = true;
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  ok = end != copy.c_str() && *end == '\0';
  return v;
}

// Parses `{a="x",b="y"}` starting at s[i] == '{'; advances i past '}'.
bool parse_labels(std::string_view s, std::size_t& i, std::map<std::string, std::string>& out) {
  ++i;  // '{'
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
    if (i < s.size() && s[i] == '}') {
      ++i;
      return true;
    }
    auto eq = s.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return false;
    std::string key(s.substr(i, eq - i));
    i = eq + 2;
    std::string value;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        value += s[i] == 'n' ? '\n' : s[i];
      } else {
        value += s[i];
      }
      ++i;
    }
    if (i >= s.size()) return false;
    ++i;  // closing quote
    out.emplace(std::move(key), std::move(value));
  }
  return false;
}

}  // namespace

metric_list parse_prometheus_text(std::string_view text) {
  metric_list out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    metric_sample m;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    m.name = std::string(line.substr(0, i));
    if (m.name.empty()) continue;
    if (i < line.size() && line[i] == '{') {
      if (!parse_labels(line, i, m.labels)) continue;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    auto end = line.find(' ', i);
    bool ok = false;
    m.value = parse_value(line.substr(i, end == std::string_view::npos ? end : end - i), ok);
    if (ok) out.push_back(std::move(m));
  }
  return out;
}

double sum_of(const metric_list& m, std::string_view name, const label_filter& filter) {
  double total = 0;
  for (const auto& s : m) {
    if (s.name == name && (!filter || filter(s.labels))) total += s.value;
  }
  return total;
}

bool has_metric(const metric_list& m, std::string_view name) {
  return std::any_of(m.begin(), m.end(), [&](const auto& s) { return s.name == name; });
}

cumulative_histogram histogram_of(const metric_list& m, std::string_view name,
                                  const label_filter& filter) {
  std::string bucket = std::string(name) + "_bucket";
  std::map<double, double> by_le;
  for (const auto& s : m) {
    if (s.name != bucket || (filter && !filter(s.labels))) continue;
    auto it = s.labels.find("le");
    if (it == s.labels.end()) continue;
    bool ok = false;
    double le = parse_value(it->second, ok);
    if (ok) by_le[le] += s.value;
  }
  cumulative_histogram h;
  for (const auto& [le, c] : by_le) {
    h.bounds.push_back(le);
    h.counts.push_back(c);
  }
  return h;
}

double quantile_between(const cumulative_histogram& earlier, const cumulative_histogram& later,
                        double q) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (later.bounds.empty()) return nan;
  std::vector<double> delta(later.counts);
  if (earlier.bounds == later.bounds) {
    for (std::size_t i = 0; i < delta.size(); ++i) delta[i] -= earlier.counts[i];
  }
  double total = delta.back();
  if (!(total > 0)) return nan;
  double rank = q * total;
  double prev_count = 0, prev_bound = 0;
  for (std::size_t i = 0; i < delta.size(); ++i) {
    if (delta[i] >= rank) {
      double hi = later.bounds[i];
      if (std::isinf(hi)) return prev_bound;  // +Inf bucket: its lower edge
      double in_bucket = delta[i] - prev_count;
      double within = in_bucket > 0 ? (rank - prev_count) / in_bucket : 1;
      return prev_bound + (hi - prev_bound) * std::clamp(within, 0.0, 1.0);
    }
    prev_count = delta[i];
    prev_bound = later.bounds[i];
  }
  return prev_bound;
}

}  // namespace mysfits::drill::detail
