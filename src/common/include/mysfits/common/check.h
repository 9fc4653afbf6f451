// Invariant macros (STYLE.md §2). Never use them on input: input gets a protocol error.
//  MYSFITS_ASSERT(cond): debug-only invariant.
//  MYSFITS_CHECK(cond, msg): always-on; a failure logs the message and aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace mysfits::detail {
[[noreturn]] inline void check_failed(const char* cond, const char* msg, const char* file,
                                      int line) {
  std::fprintf(stderr, "%s:%d: check failed: %s: %s\n", file, line, cond, msg);
  std::abort();
}
}  // namespace mysfits::detail

#define MYSFITS_CHECK(cond, msg) \
  ((cond) ? (void)0 : ::mysfits::detail::check_failed(#cond, msg, __FILE__, __LINE__))

#ifdef NDEBUG
#define MYSFITS_ASSERT(cond) ((void)0)
#else
#define MYSFITS_ASSERT(cond) MYSFITS_CHECK(cond, "assertion")
#endif
