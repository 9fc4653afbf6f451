#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs dependencies, checks formatting, builds
# the sanitizer preset (AddressSanitizer + UndefinedBehaviorSanitizer, with libFuzzer targets)
# and runs every test: unit, integration, conformance, fault, fuzz, browser.
# Extra arguments go to ctest (e.g. -L unit, -R Table).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

echo "== format check (clang-format)"
git ls-files -z '*.cc' '*.h' | xargs -0 -r clang-format --dry-run -Werror

echo "== build (preset asan)"
cmake --preset asan >/dev/null
cmake --build --preset asan

echo "== tests"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset asan "$@"
