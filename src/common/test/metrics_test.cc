// Tests for the Prometheus registry: what /metrics shows is what was counted.
#include "mysfits/common/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace mysfits::metrics;

// A counter with labels renders as one series with escaped label values.
TEST(Registry, RendersCounterWithLabels) {
  registry r;
  r.get_counter("requests_total", "Requests", {{"op", "Get\"Item"}}).inc(3);
  auto text = r.render();
  EXPECT_NE(text.find("# TYPE requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("requests_total{op=\"Get\\\"Item\"} 3"), std::string::npos) << text;
}

// The same name and labels give the same series.
TEST(Registry, SameLabelsSameSeries) {
  registry r;
  r.get_counter("c", "h", {{"a", "1"}}).inc();
  r.get_counter("c", "h", {{"a", "1"}}).inc();
  EXPECT_EQ(r.get_counter("c", "h", {{"a", "1"}}).value(), 2);
  EXPECT_EQ(r.get_counter("c", "h", {{"a", "2"}}).value(), 0);
}

// Histogram buckets are cumulative and end with +Inf, count and sum.
TEST(Histogram, RendersCumulativeBuckets) {
  registry r;
  auto& h = r.get_histogram("lat", "Latency", {}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  auto text = r.render();
  EXPECT_NE(text.find("lat_bucket{le=\"0.1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_bucket{le=\"1\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_bucket{le=\"+Inf\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_count 3"), std::string::npos) << text;
  EXPECT_NEAR(h.sum(), 5.55, 1e-9);
}

// Quantiles interpolate within the bucket that holds the rank.
TEST(Histogram, QuantileInterpolates) {
  histogram h({1, 2, 3});
  for (int i = 0; i < 100; ++i) h.observe(1.5);
  EXPECT_GT(h.quantile(0.5), 1.0);
  EXPECT_LE(h.quantile(0.5), 2.0);
  EXPECT_EQ(histogram({1}).quantile(0.99), 0);
}

// Callback gauges are evaluated at render time.
TEST(Registry, CallbackGauge) {
  registry r;
  double v = 1;
  r.set_callback_gauge("items", "Items", {{"table", "T"}}, [&] { return v; });
  v = 42;
  EXPECT_NE(r.render().find("items{table=\"T\"} 42"), std::string::npos);
}

// Registering one name with two types is a programmer error.
TEST(Registry, TypeClashThrows) {
  registry r;
  r.get_counter("x", "h");
  EXPECT_THROW(r.get_gauge("x", "h"), std::logic_error);
}

// Counters and histograms updated by more threads than they have stripes lose nothing: what is
// read back is every update of every thread.
TEST(Registry, ConcurrentUpdatesAllCount) {
  registry r;
  auto& c = r.get_counter("hits_total", "Hits");
  auto& h = r.get_histogram("lat", "Latency", {}, {1, 2});
  constexpr int threads = 12, per_thread = 10000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        c.inc();
        h.observe(t % 3 == 0 ? 0.5 : t % 3 == 1 ? 1.5 : 5);  // one bucket per thread
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), threads * per_thread);
  EXPECT_EQ(h.count(), static_cast<std::uint64_t>(threads * per_thread));
  const auto counts = h.bucket_counts();
  ASSERT_EQ(counts.size(), 3u);
  for (auto n : counts) EXPECT_EQ(n, static_cast<std::uint64_t>(threads / 3 * per_thread));
  EXPECT_NEAR(h.sum(), threads / 3 * per_thread * (0.5 + 1.5 + 5), 1e-6);
  auto text = r.render();
  EXPECT_NE(text.find("hits_total 120000"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_count 120000"), std::string::npos) << text;
}
