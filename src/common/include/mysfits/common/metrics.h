// Prometheus-format metrics shared by every process (STYLE.md §6.10).
// A component declares its stats once (usually as members fetched from a registry at start-up)
// and updates them lock-free on the hot path; /metrics renders the registry as text format 0.0.4.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mysfits::metrics {

using label_set = std::vector<std::pair<std::string, std::string>>;

// Counters and histograms are updated on hot paths by several threads at once (a proxy's
// workers count every request). Each keeps a few stripes, each on its own cache line, and a
// thread updates the stripe it was given on its first update, so threads updating one series do
// not bounce a shared cache line between cores; readers sum the stripes.
namespace detail {
inline constexpr std::size_t metric_stripes = 8;
inline constexpr std::size_t cache_line = 64;
// The calling thread's stripe: threads get consecutive stripes in the order they first update a
// metric, so up to metric_stripes threads never share one.
std::size_t this_thread_stripe() noexcept;
}  // namespace detail

class counter {
 public:
  void inc(double v = 1) noexcept {
    cells_[detail::this_thread_stripe()].value.fetch_add(v, std::memory_order_relaxed);
  }
  double value() const noexcept {
    double total = 0;
    for (const auto& c : cells_) total += c.value.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(detail::cache_line) cell {
    std::atomic<double> value{0};
  };
  std::array<cell, detail::metric_stripes> cells_{};
};

class gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1) noexcept { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative histogram with fixed upper bounds (the +Inf bucket is implicit).
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Counts per bucket (not cumulative), the last one being +Inf.
  std::vector<std::uint64_t> bucket_counts() const;
  std::uint64_t count() const noexcept;
  double sum() const noexcept;
  // The value below which the fraction q of observations fall, interpolated within a bucket.
  double quantile(double q) const;

 private:
  // One stripe: [0] count, [1] sum (the bits of a double), [2..] the buckets; whole cache lines.
  struct alignas(detail::cache_line) line {
    std::atomic<std::uint64_t> word[detail::cache_line / sizeof(std::uint64_t)];
  };
  std::atomic<std::uint64_t>* stripe(std::size_t i) const noexcept {
    return lines_[i * lines_per_stripe_].word;
  }
  std::vector<double> bounds_;
  std::size_t lines_per_stripe_;
  std::unique_ptr<line[]> lines_;
};

// Latency buckets in seconds, from 100 µs to 10 s.
std::vector<double> default_latency_buckets();

class registry {
 public:
  // Returns the series for (name, labels), creating it on first use. References stay valid for
  // the registry's lifetime. Thread-safe; cache the reference on hot paths.
  counter& get_counter(std::string_view name, std::string_view help, const label_set& labels = {});
  gauge& get_gauge(std::string_view name, std::string_view help, const label_set& labels = {});
  histogram& get_histogram(std::string_view name, std::string_view help,
                           const label_set& labels = {},
                           std::vector<double> bounds = default_latency_buckets());
  // A gauge computed when rendered (e.g. items in a table). Replaces an earlier one with the
  // same name and labels.
  void set_callback_gauge(std::string_view name, std::string_view help, const label_set& labels,
                          std::function<double()> fn);

  // Prometheus text exposition format.
  std::string render() const;

 private:
  enum class kind { counter, gauge, histogram };
  struct series {
    label_set labels;
    std::unique_ptr<counter> c;
    std::unique_ptr<gauge> g;
    std::unique_ptr<histogram> h;
    std::function<double()> fn;
  };
  struct family {
    kind type;
    std::string help;
    std::map<std::string, series> by_labels;  // key: rendered label string
  };
  series& find_or_add(std::string_view name, std::string_view help, kind type,
                      const label_set& labels);

  mutable std::mutex mu_;
  std::map<std::string, family, std::less<>> families_;
};

// The process-wide registry that /metrics serves.
registry& default_registry();

// Renders {k="v",...} with Prometheus escaping; empty string for no labels.
std::string render_labels(const label_set& labels);

}  // namespace mysfits::metrics
