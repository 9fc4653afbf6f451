# Sourced by a benchmark script as `source bench/autogroup.sh "$@"` near its top.
# AUTOGROUP_NICE=-10: rerun the script in a session of its own and give that session's scheduler
# group this nice value (negative needs root). With kernel autogroup on
# (/proc/sys/kernel/sched_autogroup_enabled), CPU is shared between sessions first, so every other
# session's build takes an equal share however `nice` it is; this weights all the benchmark's
# processes — the load tool, the system under test and its reference alike — as one group
# against them. Unset: nothing changes.
if [ -n "${AUTOGROUP_NICE:-}" ]; then
  if [ -z "${MYSFITS_BENCH_IN_SESSION:-}" ]; then
    MYSFITS_BENCH_IN_SESSION=1 exec setsid --wait "$0" "$@"
  fi
  echo "$AUTOGROUP_NICE" > /proc/self/autogroup || { echo "cannot set autogroup nice" >&2; exit 1; }
fi
