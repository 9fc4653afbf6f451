// Prometheus registry implementation; see include/mysfits/common/metrics.h.
#include "mysfits/common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mysfits::metrics {

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

double histogram::quantile(double q) const {
  auto counts = bucket_counts();
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return 0;
  double rank = q * static_cast<double>(total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (static_cast<double>(seen + counts[i]) >= rank && counts[i] > 0) {
      double lo = i == 0 ? 0 : bounds_[i - 1];
      double hi = i < bounds_.size() ? bounds_[i] : lo;  // +Inf bucket: report its lower edge
      double within = (rank - static_cast<double>(seen)) / static_cast<double>(counts[i]);
      return lo + (hi - lo) * std::clamp(within, 0.0, 1.0);
    }
    seen += counts[i];
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> default_latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

namespace {
std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char ch : v) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '"')
      out += "\\\"";
    else if (ch == '\n')
      out += "\\n";
    else
      out += ch;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

label_set with_label(label_set labels, std::string k, std::string v) {
  labels.emplace_back(std::move(k), std::move(v));
  return labels;
}
}  // namespace

std::string render_labels(const label_set& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    out += escape_label(labels[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

registry::series& registry::find_or_add(std::string_view name, std::string_view help, kind type,
                                        const label_set& labels) {
  auto fit = families_.find(name);
  if (fit == families_.end()) {
    fit = families_.emplace(std::string(name), family{type, std::string(help), {}}).first;
  } else if (fit->second.type != type) {
    throw std::logic_error(fmt::format("metric {} registered with two types", name));
  }
  auto key = render_labels(labels);
  auto sit = fit->second.by_labels.find(key);
  if (sit == fit->second.by_labels.end()) {
    sit = fit->second.by_labels.emplace(key, series{labels, nullptr, nullptr, nullptr, nullptr})
              .first;
  }
  return sit->second;
}

counter& registry::get_counter(std::string_view name, std::string_view help,
                               const label_set& labels) {
  std::lock_guard lock(mu_);
  auto& s = find_or_add(name, help, kind::counter, labels);
  if (!s.c) s.c = std::make_unique<counter>();
  return *s.c;
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, const label_set& labels) {
  std::lock_guard lock(mu_);
  auto& s = find_or_add(name, help, kind::gauge, labels);
  if (!s.g) s.g = std::make_unique<gauge>();
  return *s.g;
}

histogram& registry::get_histogram(std::string_view name, std::string_view help,
                                   const label_set& labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& s = find_or_add(name, help, kind::histogram, labels);
  if (!s.h) s.h = std::make_unique<histogram>(std::move(bounds));
  return *s.h;
}

void registry::set_callback_gauge(std::string_view name, std::string_view help,
                                  const label_set& labels, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  auto& s = find_or_add(name, help, kind::gauge, labels);
  s.fn = std::move(fn);
}

std::string registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    const char* type = fam.type == kind::counter ? "counter"
                       : fam.type == kind::gauge ? "gauge"
                                                 : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, fam.help, name, type);
    for (const auto& [key, s] : fam.by_labels) {
      if (s.c) out += fmt::format("{}{} {}\n", name, key, format_value(s.c->value()));
      if (s.g) out += fmt::format("{}{} {}\n", name, key, format_value(s.g->value()));
      if (s.fn) out += fmt::format("{}{} {}\n", name, key, format_value(s.fn()));
      if (s.h) {
        auto counts = s.h->bucket_counts();
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          auto le = i < s.h->bounds().size() ? format_value(s.h->bounds()[i]) : std::string("+Inf");
          out += fmt::format("{}_bucket{} {}\n", name,
                             render_labels(with_label(s.labels, "le", le)), cumulative);
        }
        out += fmt::format("{}_sum{} {}\n", name, key, format_value(s.h->sum()));
        out += fmt::format("{}_count{} {}\n", name, key, cumulative);
      }
    }
  }
  return out;
}

registry& default_registry() {
  static registry r;
  return r;
}

}  // namespace mysfits::metrics
