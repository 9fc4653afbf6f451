// The standard process metrics of the Prometheus client libraries, for the dashboard's CPU and
// memory charts of each task (issue 7). Computed from /proc/self when /metrics is rendered.
#pragma once

#include "mysfits/common/metrics.h"

namespace mysfits::metrics {

// Registers process_cpu_seconds_total (user + system CPU seconds), process_resident_memory_bytes,
// process_open_fds and process_start_time_seconds as callback series. They render with
// `# TYPE … gauge` (the registry has no callback counters); PromQL's rate() works on them all
// the same. Idempotent.
void register_process_metrics(registry& r = default_registry());

}  // namespace mysfits::metrics
