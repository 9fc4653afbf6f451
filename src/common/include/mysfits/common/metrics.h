// Prometheus-format metrics shared by every process (STYLE.md §6.10).
// A component declares its stats once (usually as members fetched from a registry at start-up)
// and updates them lock-free on the hot path; /metrics renders the registry as text format 0.0.4.
#pragma once

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

class counter {
 public:
  void inc(double v = 1) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
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
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  // The value below which the fraction q of observations fall, interpolated within a bucket.
  double quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
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
