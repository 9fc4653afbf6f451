// Prometheus registry implementation; see include/mysfits/common/metrics.h.
#include "mysfits/common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace mysfits::metrics {

namespace detail {
std::size_t this_thread_stripe() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t stripe =
      next.fetch_add(1, std::memory_order_relaxed) % metric_stripes;
  return stripe;
}
}  // namespace detail

namespace {
constexpr std::size_t words_per_line = detail::cache_line / sizeof(std::uint64_t);
}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      lines_per_stripe_((2 + bounds_.size() + 1 + words_per_line - 1) / words_per_line),
      lines_(std::make_unique<line[]>(lines_per_stripe_ * detail::metric_stripes)) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i < lines_per_stripe_ * detail::metric_stripes; ++i) {
    for (auto& w : lines_[i].word) w.store(0, std::memory_order_relaxed);
  }
}

void histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  auto* s = stripe(detail::this_thread_stripe());
  s[2 + static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  s[0].fetch_add(1, std::memory_order_relaxed);
  // Only this thread's stripe: the compare-exchange normally succeeds at once.
  auto bits = s[1].load(std::memory_order_relaxed);
  while (!s[1].compare_exchange_weak(bits,
                                     std::bit_cast<std::uint64_t>(std::bit_cast<double>(bits) + v),
                                     std::memory_order_relaxed)) {
  }
}

std::vector<std::uint64_t> histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t k = 0; k < detail::metric_stripes; ++k) {
    const auto* s = stripe(k);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += s[2 + i].load(std::memory_order_relaxed);
  }
  return out;
}

std::uint64_t histogram::count() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t k = 0; k < detail::metric_stripes; ++k) {
    total += stripe(k)[0].load(std::memory_order_relaxed);
  }
  return total;
}

double histogram::sum() const noexcept {
  double total = 0;
  for (std::size_t k = 0; k < detail::metric_stripes; ++k) {
    total += std::bit_cast<double>(stripe(k)[1].load(std::memory_order_relaxed));
  }
  return total;
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
