#!/usr/bin/env bash
# What one request costs mysfits-table, in figures that a loaded machine does not blur:
#   - instructions per request (valgrind callgrind on the server, counters zeroed after the
#     preload, so only the measured requests count) and where they go (callgrind_annotate);
#   - natively: server CPU time (user / system) and context switches per request, read from
#     /proc/PID around a fixed run of table_ops_bench.
# Wall-clock throughput on a machine shared with parallel builds varies 2x between runs; these
# counts repeat within a few percent, so they are what a change to the request path is judged by.
#
# Usage: bench/table_cost.sh [--build-dir DIR] [--ops "GetItem PutItem UpdateItem Query"]
#                            [--duration S] [--connections N] [--no-callgrind] [--no-native]
#                            [--top N] [--table-args "--no-sync"]
# Needs a release build of mysfits-table and table_ops_bench in DIR (default build/release).
set -euo pipefail
# AUTOGROUP_NICE=-10 weights this run against other sessions' work on a shared machine
# (bench/autogroup.sh).
source "$(dirname "$0")/autogroup.sh" "$@"

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/release"
ops="GetItem PutItem UpdateItem Query"
duration=5 connections=4 callgrind=1 native=1 top=25 table_args="--no-sync"
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift ;;
    --ops) ops=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --no-callgrind) callgrind=0 ;;
    --no-native) native=0 ;;
    --top) top=$2; shift ;;
    --table-args) table_args=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
table_bin="$build/src/table/mysfits-table"
bench="$build/bench/table_ops_bench"
for f in "$table_bin" "$bench"; do
  [[ -x $f ]] || { echo "table_cost: $f is missing (cmake --build --preset release --target mysfits-table table_ops_bench)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/mysfits-cost.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: starts the server, waits (up to 120 s, valgrind is slow) for its URL; sets
# $url and $pid.
start() {
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1200); do
    if url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/$name.log" 2>/dev/null | head -1) && [[ -n $url ]]; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "table_cost: $name did not start:" >&2; cat "$work/$name.log" >&2; exit 1
}

# run_op URL OP: runs the fixed load; prints the number of requests served.
run_op() {
  "$bench" --endpoint "$1" --ops "$2" --skip-preload --warmup 0 --duration "$duration" \
    --connections "$connections" --threads 1 --items 1000 >"$work/op.out"
  awk '/op=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
               print f["requests"] + f["errors"] }' "$work/op.out"
}

proc_cpu() {  # pid -> "utime stime" in clock ticks
  awk '{ print $14, $15 }' "/proc/$1/stat"
}
ctx_switches() {  # pid -> voluntary + involuntary, all threads
  local total=0 n
  for t in /proc/"$1"/task/*; do
    n=$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null || echo 0)
    total=$((total + n))
  done
  echo "$total"
}

echo "== $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$connections connections, ${duration}s per operation, mysfits-table ${table_args:-(no flags)}"

if ((native)); then
  start native "$table_bin" serve --listen 127.0.0.1:0 --data-dir "$work/native" $table_args
  "$bench" --endpoint "$url" --items 1000 --ops GetItem --duration 0.5 --warmup 0 \
    --connections "$connections" --threads 1 >/dev/null
  hz=$(getconf CLK_TCK)
  printf '%-11s %9s %12s %12s %12s %12s\n' operation requests "user us/req" "sys us/req" \
    "cpu us/req" "ctxsw/req"
  for op in $ops; do
    read -r u0 s0 < <(proc_cpu "$pid"); c0=$(ctx_switches "$pid")
    n=$(run_op "$url" "$op")
    read -r u1 s1 < <(proc_cpu "$pid"); c1=$(ctx_switches "$pid")
    awk -v op="$op" -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v hz="$hz" \
      'BEGIN { printf "%-11s %9d %12.1f %12.1f %12.1f %12.2f\n", op, n, u * 1e6 / hz / n,
               s * 1e6 / hz / n, (u + s) * 1e6 / hz / n, c / n }'
  done
  kill -TERM "$pid"; wait "$pid" || true
fi

if ((callgrind)); then
  command -v valgrind >/dev/null || { echo "table_cost: valgrind is missing" >&2; exit 2; }
  # Valgrind 3.19 cannot read clang's DWARF 5: profile a copy without debug info (the symbol
  # table still names every function).
  objcopy --strip-debug "$table_bin" "$work/mysfits-table"
  start callgrind valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
    "$work/mysfits-table" serve --listen 127.0.0.1:0 --data-dir "$work/cg-data" $table_args
  cg_pid=$pid
  "$bench" --endpoint "$url" --items 1000 --ops GetItem --duration 1 --warmup 0 \
    --connections "$connections" --threads 1 >/dev/null
  echo
  printf '%-11s %9s %14s\n' operation requests "instr/request"
  for op in $ops; do
    callgrind_control -z "$cg_pid" >/dev/null 2>&1
    n=$(run_op "$url" "$op")
    rm -f "$work"/cg.*.*
    callgrind_control -d "$op" "$cg_pid" >/dev/null 2>&1
    dump=$(ls -t "$work"/cg.*.* | head -1)
    ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
    printf '%-11s %9d %14.0f\n' "$op" "$n" "$(awk -v i="$ir" -v n="$n" 'BEGIN { print i / n }')"
    cp "$dump" "$work/$op.callgrind"
  done
  for op in $ops; do
    echo
    echo "== $op: the $top functions with the most instructions of their own (self cost)"
    callgrind_annotate --threshold=100 "$work/$op.callgrind" >"$work/$op.annotate" 2>/dev/null || true
    # Thread entry points carry their callees' cost too; they say nothing about where it goes.
    awk '/^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS|clone|start_thread|_M_run\(\)|0x00000000000d4490/' \
      "$work/$op.annotate" |
      sed -n "1,${top}p" | cut -c1-160
  done
  if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp "$work"/*.callgrind "$work"/*.annotate "$KEEP"/; fi
fi
