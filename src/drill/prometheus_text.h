// Parsing the Prometheus text exposition format (0.0.4) that every mysfits process serves on
// /metrics, and the sums and quantiles the dashboard and the drill take from it. Internal.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mysfits::drill::detail {

struct metric_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

using metric_list = std::vector<metric_sample>;
using label_filter = std::function<bool(const std::map<std::string, std::string>&)>;

// Lenient: comment lines and lines it cannot read are skipped (a scrape never fails on them).
[[nodiscard]] metric_list parse_prometheus_text(std::string_view text);

// Sum of every sample named `name` whose labels pass `filter` (all when empty).
[[nodiscard]] double sum_of(const metric_list& m, std::string_view name,
                            const label_filter& filter = {});
// Does any sample have this name?
[[nodiscard]] bool has_metric(const metric_list& m, std::string_view name);

// A cumulative histogram: upper bounds (the last +Inf) and cumulative counts.
struct cumulative_histogram {
  std::vector<double> bounds;
  std::vector<double> counts;
};

// `<name>_bucket` samples passing `filter`, summed per `le`.
[[nodiscard]] cumulative_histogram histogram_of(const metric_list& m, std::string_view name,
                                                const label_filter& filter = {});
// The q-quantile of the observations between two scrapes of a histogram (later minus earlier),
// interpolated within the bucket; NaN when nothing was observed.
[[nodiscard]] double quantile_between(const cumulative_histogram& earlier,
                                      const cumulative_histogram& later, double q);

}  // namespace mysfits::drill::detail
