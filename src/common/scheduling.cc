// Process scheduling policy (scheduling.h).
#include "mysfits/common/scheduling.h"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mysfits::scheduling {

std::optional<policy> parse(std::string_view name) {
  if (name == "normal") return policy::normal;
  if (name == "batch") return policy::batch;
  return std::nullopt;
}

result<void> apply(policy p) {
  sched_param param{};
  param.sched_priority = 0;
  const int linux_policy = p == policy::batch ? SCHED_BATCH : SCHED_OTHER;
  if (sched_setscheduler(0, linux_policy, &param) != 0) {
    return error::unavailable(std::string("sched_setscheduler(") +
                              (p == policy::batch ? "SCHED_BATCH" : "SCHED_OTHER") +
                              "): " + std::strerror(errno));
  }
  return ok();
}

std::optional<policy> current() {
  switch (sched_getscheduler(0)) {
    case SCHED_OTHER:
      return policy::normal;
    case SCHED_BATCH:
      return policy::batch;
    default:
      return std::nullopt;
  }
}

}  // namespace mysfits::scheduling
