// Process metrics from /proc/self; see include/mysfits/common/process_metrics.h.
#include "mysfits/common/process_metrics.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace mysfits::metrics {

namespace {

// Field `field` (1-based, as in proc(5)) of /proc/self/stat: utime is 14, stime 15, starttime
// 22. The command name may contain spaces, so counting starts after its closing parenthesis.
double stat_field(std::size_t field) {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos || field < 3) return 0;
  std::istringstream rest(text.substr(close + 1));
  std::string f;
  for (std::size_t i = 3; rest >> f; ++i) {
    if (i == field) return std::strtod(f.c_str(), nullptr);
  }
  return 0;
}

}  // namespace

void register_process_metrics(registry& r) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  r.set_callback_gauge("process_cpu_seconds_total",
                       "Total user and system CPU time spent in seconds", {},
                       [ticks] { return (stat_field(14) + stat_field(15)) / ticks; });
  r.set_callback_gauge("process_resident_memory_bytes", "Resident memory size in bytes", {},
                       [page] {
                         std::ifstream in("/proc/self/statm");
                         double size = 0, resident = 0;
                         in >> size >> resident;
                         return resident * page;
                       });
  r.set_callback_gauge("process_open_fds", "Number of open file descriptors", {}, [] {
    std::error_code ec;
    double n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return n;
  });
  double boot = 0;  // /proc/stat's btime: the boot time in unix seconds
  {
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
      if (key == "btime") {
        in >> boot;
        break;
      }
    }
  }
  const double start = boot + stat_field(22) / ticks;
  r.set_callback_gauge("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds", {},
                       [start] { return start; });
}

}  // namespace mysfits::metrics
