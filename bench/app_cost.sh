#!/usr/bin/env bash
# What one app request costs, in the service AND in the table engine behind it, in figures a
# loaded machine does not blur (issue 4 "Speed": the benchmark's req/s is bounded by the CPU
# that app + table spend per request on the two shared cores):
#   - natively: CPU time (user / system, /proc/PID/stat) and context switches (all threads,
#     /proc/PID/task/*/status) of mysfits-core / mysfits-like and of mysfits-table, per request,
#     around a fixed number of requests (bench/http_count_client.py, closed loop);
#   - SYSCALLS=1: system calls per request of each process (strace -f -c attached for the run);
#   - CALLGRIND=1: user-space instructions per request of each process (both run under
#     valgrind --tool=callgrind, counters zeroed after a warm-up, dumped after the run) and the
#     functions with the most instructions of their own (TOP, default 25; KEEP=DIR keeps the
#     profiles).
#
# Usage: bench/app_cost.sh [BUILD_DIR]        (default build/release)
#   REQUESTS=4000 CONNS=4 ROUTES="list filter like" TABLE_ARGS="--no-sync" MYSFITS_THREADS=8
# The table runs with --no-sync by default: an fsync costs the like route wall time, not CPU,
# and this script counts CPU. Everything listens on 127.0.0.1 and is stopped by pid on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/release}
requests=${REQUESTS:-4000}
conns=${CONNS:-4}
routes=${ROUTES:-list filter like}
table_args=${TABLE_ARGS---no-sync}
top=${TOP:-25}
core_bin=$build/src/app/mysfits-core
like_bin=$build/src/app/mysfits-like
table_bin=$build/src/table/mysfits-table
for f in "$core_bin" "$like_bin" "$table_bin"; do
  [[ -x $f ]] || { echo "app_cost: $f is missing (cmake --build --preset release --target mysfits-core mysfits-like mysfits-table)" >&2; exit 2; }
done
id=33e1fbd4-2fd8-45fb-a42f-f92551694506

work=$(mktemp -d /tmp/mysfits-app-cost.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background, waits (up to 120 s: valgrind is slow) for its
# "listening on" line; sets $port and $pid.
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1200); do
    if port=$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$work/$name.out" | grep -oE '[0-9]+$'); then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "app_cost: $name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

# route NAME -> "METHOD PORT PATH"
route() {
  case "$1" in
    list) echo "GET $cport /mysfits" ;;
    filter) echo "GET $cport /mysfits?filter=GoodEvil&value=Evil" ;;
    like) echo "POST $lport /mysfits/$id/like" ;;
    *) echo "app_cost: unknown route $1 (list, filter, like)" >&2; exit 2 ;;
  esac
}
load() {  # METHOD PORT PATH N
  python3 "$here/http_count_client.py" --method "$1" --port "$2" --path "$3" --requests "$4" \
    --connections "$conns" >/dev/null
}
proc_cpu() { awk '{ print $14, $15 }' "/proc/$1/stat"; }  # utime stime (ticks)
ctx_switches() {
  local total=0 n
  for t in /proc/"$1"/task/*; do
    n=$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null || echo 0)
    total=$((total + n))
  done
  echo "$total"
}

# services [WRAP...]: starts the table, seeds, starts both services (each under WRAP, e.g.
# valgrind); sets tpid cpid lpid cport lport.
services() {
  local tag=$1; shift
  start "table$tag" "$@" "$table_bin" serve --listen 127.0.0.1:0 --data-dir "$work/data$tag" \
    --region us-west-2 $table_args
  tpid=$pid
  export AWS_REGION=us-west-2 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$port \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench DDB_TABLE_NAME=MysfitsTable \
    BIND_ADDRESS=127.0.0.1 PORT=0 MYSFITS_LOG_LEVEL=${MYSFITS_LOG_LEVEL:-warn}
  "$core_bin" seed >/dev/null
  start "core$tag" "$@" "$core_bin"; cpid=$pid; cport=$port
  start "like$tag" "$@" "$like_bin"; lpid=$pid; lport=$port
}
stop_services() {
  kill -TERM "$cpid" "$lpid" "$tpid" 2>/dev/null || true
  wait "$cpid" "$lpid" "$tpid" 2>/dev/null || true
}

echo "== $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$requests requests per route over $conns connections, table ${table_args:-(no flags)}"

services native
hz=$(getconf CLK_TCK)
printf '%-7s %-7s %12s %12s %12s %12s\n' route process "user us/req" "sys us/req" "cpu us/req" \
  "ctxsw/req"
for r in $routes; do
  read -r method p path < <(route "$r")
  svc=$cpid; [[ $p == "$lport" ]] && svc=$lpid
  load "$method" "$p" "$path" 500
  read -r su0 ss0 < <(proc_cpu "$svc"); sc0=$(ctx_switches "$svc")
  read -r tu0 ts0 < <(proc_cpu "$tpid"); tc0=$(ctx_switches "$tpid")
  load "$method" "$p" "$path" "$requests"
  read -r su1 ss1 < <(proc_cpu "$svc"); sc1=$(ctx_switches "$svc")
  read -r tu1 ts1 < <(proc_cpu "$tpid"); tc1=$(ctx_switches "$tpid")
  for who in app table; do
    if [[ $who == app ]]; then u=$((su1 - su0)) s=$((ss1 - ss0)) c=$((sc1 - sc0))
    else u=$((tu1 - tu0)) s=$((ts1 - ts0)) c=$((tc1 - tc0)); fi
    awk -v r="$r" -v w="$who" -v n="$requests" -v u="$u" -v s="$s" -v c="$c" -v hz="$hz" \
      'BEGIN { printf "%-7s %-7s %12.1f %12.1f %12.1f %12.2f\n", r, w, u * 1e6 / hz / n,
               s * 1e6 / hz / n, (u + s) * 1e6 / hz / n, c / n }'
  done
done

if [[ -n "${SYSCALLS:-}" ]]; then
  command -v strace >/dev/null || { echo "app_cost: strace is missing" >&2; exit 2; }
  echo
  echo "system calls per request (strace -f -c, attached for the run)"
  for r in $routes; do
    read -r method p path < <(route "$r")
    svc=$cpid; [[ $p == "$lport" ]] && svc=$lpid
    load "$method" "$p" "$path" 200
    strace -f -c -o "$work/strace-app-$r.txt" -p "$svc" 2>/dev/null & s1=$!
    strace -f -c -o "$work/strace-table-$r.txt" -p "$tpid" 2>/dev/null & s2=$!
    sleep 1
    load "$method" "$p" "$path" "$requests"
    kill -INT "$s1" "$s2"; wait "$s1" "$s2" 2>/dev/null || true
    for who in app table; do
      # Columns: % time, seconds, usecs/call, calls, [errors,] syscall.
      awk -v n="$requests" -v r="$r" -v w="$who" '$1 ~ /^[0-9.]+$/ && $NF != "total" {c[$NF] = $4; t += $4}
        END {printf "%-7s %-6s %6.2f (", r, w, t / n
             for (k in c) if (c[k] / n >= 0.05) printf " %s %.2f", k, c[k] / n
             print " )"}' "$work/strace-$who-$r.txt"
    done
  done
fi
stop_services

if [[ -n "${CALLGRIND:-}" ]]; then
  command -v valgrind >/dev/null || { echo "app_cost: valgrind is missing" >&2; exit 2; }
  # Valgrind 3.19 cannot read clang's DWARF 5: profile copies without debug info (the symbol
  # tables still name every function).
  mkdir -p "$work/bin"
  for b in core_bin like_bin table_bin; do
    objcopy --strip-debug "${!b}" "$work/bin/$(basename "${!b}")"
    printf -v "$b" '%s' "$work/bin/$(basename "${!b}")"
  done
  services cg valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$work/cg.%p"
  echo
  printf '%-7s %-7s %14s\n' route process "instr/request"
  for r in $routes; do
    read -r method p path < <(route "$r")
    svc=$cpid; [[ $p == "$lport" ]] && svc=$lpid
    load "$method" "$p" "$path" 200
    callgrind_control -z "$svc" >/dev/null 2>&1; callgrind_control -z "$tpid" >/dev/null 2>&1
    load "$method" "$p" "$path" "$requests"
    for who in app table; do
      wp=$svc; [[ $who == table ]] && wp=$tpid
      rm -f "$work/cg.$wp".*
      callgrind_control -d "$r-$who" "$wp" >/dev/null 2>&1
      dump=$(ls -t "$work/cg.$wp".* | head -1)
      ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
      printf '%-7s %-7s %14.0f\n' "$r" "$who" "$(awk -v i="$ir" -v n="$requests" 'BEGIN { print i / n }')"
      cp "$dump" "$work/$r-$who.callgrind"
    done
  done
  for r in $routes; do
    for who in app table; do
      echo
      echo "== $r, $who: the $top functions with the most instructions of their own"
      callgrind_annotate --threshold=100 "$work/$r-$who.callgrind" >"$work/$r-$who.annotate" 2>/dev/null || true
      awk '/^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS|clone|start_thread|_M_run\(\)/' \
        "$work/$r-$who.annotate" | sed -n "1,${top}p" | cut -c1-170
    done
  done
  stop_services
  if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp "$work"/*.callgrind "$work"/*.annotate "$KEEP"/; fi
fi
