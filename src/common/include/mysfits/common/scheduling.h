// The CPU scheduling policy a server process runs under (docs/table.md, "Scheduling policy").
//
// Linux's SCHED_BATCH is the normal time-sharing policy without wake-up preemption: a thread
// that wakes (a request arrived, a write group's leader finished) waits for the running one to
// sleep or use up its slice instead of taking its CPU at once. For a server on few cores whose
// threads hand work to one another, that is fewer context switches per request; no privileges
// are needed, and nice values and fairness work as before.
#pragma once

#include <optional>
#include <string_view>

#include "mysfits/common/result.h"

namespace mysfits::scheduling {

enum class policy { normal, batch };

// "normal" or "batch"; nullopt for anything else.
[[nodiscard]] std::optional<policy> parse(std::string_view name);

// Puts the calling thread under `p` (priority 0); threads it starts afterwards inherit it, so a
// process calls this before it starts any. An error (a sandbox that forbids the call) leaves the
// policy as it was.
result<void> apply(policy p);

// The calling thread's policy, or nullopt when it is neither of the two (a real-time one).
[[nodiscard]] std::optional<policy> current();

}  // namespace mysfits::scheduling
