// The dashboard reads every number from Prometheus text; the parser must read what the
// processes write and skip what it cannot read.
#include "prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>

#include "mysfits/common/metrics.h"

namespace mysfits::drill::detail {
namespace {

TEST(PrometheusText, ReadsNamesLabelsAndValues) {
  auto m = parse_prometheus_text(
      "# HELP x help\n# TYPE x counter\nx{a=\"1\",b=\"q\\\"uote\"} 3\nx{a=\"2\"} 4.5\ny 7 "
      "1700000000\n"
      "garbage line without value\nz{broken 1\nw +Inf\n");
  EXPECT_EQ(sum_of(m, "x"), 7.5);
  EXPECT_EQ(sum_of(m, "x", [](const auto& l) { return l.at("a") == "2"; }), 4.5);
  EXPECT_EQ(sum_of(m, "y"), 7);
  EXPECT_FALSE(has_metric(m, "z"));
  EXPECT_TRUE(std::isinf(sum_of(m, "w")));
  bool found = false;
  for (const auto& s : m) found = found || (s.labels.count("b") && s.labels.at("b") == "q\"uote");
  EXPECT_TRUE(found);
}

// Round trip through the project's own registry, and quantiles between two scrapes.
TEST(PrometheusText, HistogramQuantileBetweenScrapes) {
  metrics::registry r;
  auto& h = r.get_histogram("lat", "latency", {{"group", "g"}}, {0.01, 0.1, 1});
  for (int i = 0; i < 100; ++i) h.observe(0.5);  // before: slow
  auto before = histogram_of(parse_prometheus_text(r.render()), "lat");
  for (int i = 0; i < 100; ++i) h.observe(0.005);  // between: fast
  auto after = histogram_of(parse_prometheus_text(r.render()), "lat");
  ASSERT_EQ(after.bounds.size(), 4u);
  double p50 = quantile_between(before, after, 0.5);
  EXPECT_GT(p50, 0);
  EXPECT_LE(p50, 0.01);                                          // only the fast ones count
  EXPECT_TRUE(std::isnan(quantile_between(after, after, 0.5)));  // nothing new
}

}  // namespace
}  // namespace mysfits::drill::detail
