// The dashboard charts each task's CPU and memory from these (issue 7); they come from /proc.
#include "mysfits/common/process_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace mysfits::metrics {
namespace {

TEST(ProcessMetrics, RendersCpuMemoryFdsAndStart) {
  registry r;
  register_process_metrics(r);
  register_process_metrics(r);  // idempotent
  volatile double x = 0;        // burn a little CPU so the counter is above zero
  for (int i = 0; i < 20'000'000; ++i) x = x + i * 0.5;
  auto text = r.render();
  auto value_of = [&](const std::string& name) {
    auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1.0;
    return std::stod(text.substr(at + name.size() + 2));
  };
  EXPECT_GT(value_of("process_cpu_seconds_total"), 0) << text;
  EXPECT_GT(value_of("process_resident_memory_bytes"), 1024 * 1024);
  EXPECT_GT(value_of("process_open_fds"), 2);
  EXPECT_GT(value_of("process_start_time_seconds"), 1.6e9);
}

}  // namespace
}  // namespace mysfits::metrics
