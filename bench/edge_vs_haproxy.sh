#!/usr/bin/env bash
# Benchmark (issue 5): wrk through one hop to a small upstream (nginx), mysfits-edge (load
# balancer role, HTTP-aware) and HAProxy side by side in the same run, configured the same way:
# keep-alive both sides, 2 threads, one upstream, health checks on. Prints throughput and
# p50/p99 latency for small keep-alive GETs. Needs wrk, nginx and haproxy (scripts/install-deps.sh).
#   bench/edge_vs_haproxy.sh [BUILD_DIR]   (default build/release; use a release build)
#   env: DURATION=10s CONNS=50 WRK_THREADS=1 ROUNDS=2 THREADS=2 (worker threads of both proxies)
#        EDGE_BASELINE=path/to/mysfits-edge: a second edge binary (e.g. main's) in every round too,
#          for before/after comparisons in the same window ("edge-baseline" rows)
#        EDGE_ARGS, BASELINE_ARGS: extra `serve` options of the edge and of the baseline (e.g.
#          EDGE_ARGS="--busy-poll-us 0" with EDGE_BASELINE set to the same binary: one option A/B)
#        HAPROXY_BUSY_POLLING=1: HAProxy with `busy-polling` (its threads poll instead of sleeping;
#          the counterpart of the edge's --busy-poll-us, off by default in both)
#        HAPROXY_CPU_MAP=1: HAProxy's threads bound one per CPU (`cpu-map auto:1/1-N 0-(N-1)`, off
#          by default; the counterpart of the edge's --pin-workers, which is on by default and
#          soft: EDGE_ARGS="--no-pin-workers" leaves the edge's workers unbound)
#        WRK_DELAY_MS=N: each connection waits N ms after every answer before its next request
#          (a wrk script's delay()), so every proxy gets about the same request rate instead of
#          as many as it can take: p99 compared at equal load (closed loop with think time)
#        STEAL_CPU=1: while the benchmark runs, every 5 s a real-time busy loop (chrt -f 50) takes
#          the last CPU for 1 s, as another process hogging it would (needs root; each episode is
#          ended by an unbound `timeout`, which the loop cannot starve)
#        SCHED=1: also print, per request, the proxy's voluntary and involuntary context switches
#          and its threads' time runnable but waiting for a CPU (/proc/PID/task/*/status, schedstat)
#        AUTOGROUP_NICE=-10: run the benchmark in a session of its own and give that session's
#          scheduler group this nice value (negative needs root). With kernel autogroup on
#          (/proc/sys/kernel/sched_autogroup_enabled), CPU is shared between sessions first, so
#          every other session's build takes an equal share however `nice` it is; this weights the
#          benchmark's processes — wrk, nginx and both proxies alike — as one group against them.
set -euo pipefail

source "$(dirname "$0")/autogroup.sh" "$@"

build=${1:-build/release}
edge_bin=$build/src/edge/mysfits-edge
baseline_bin=${EDGE_BASELINE:-}
duration=${DURATION:-10s}
conns=${CONNS:-50}
wrk_threads=${WRK_THREADS:-1}
rounds=${ROUNDS:-2}
threads=${THREADS:-2}
wrk_delay_ms=${WRK_DELAY_MS:-}
if [ -n "$wrk_delay_ms" ] && ! [[ $wrk_delay_ms =~ ^[0-9]+$ ]]; then
  echo "edge_vs_haproxy: WRK_DELAY_MS must be a whole number of milliseconds" >&2; exit 2
fi
for tool in wrk nginx haproxy "$edge_bin" ${baseline_bin:+"$baseline_bin"}; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "missing $tool" >&2; exit 1; }
done

work=$(mktemp -d /tmp/edge-bench.XXXXXX)
wrk_script=()
if [ -n "$wrk_delay_ms" ]; then
  printf 'function delay()\n  return %d\nend\n' "$wrk_delay_ms" > "$work/delay.lua"
  wrk_script=(-s "$work/delay.lua")
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${STEAL_CPU:-}" ]; then
  last_cpu=$(($(nproc) - 1))
  chrt -f 50 true 2>/dev/null || { echo "STEAL_CPU needs the right to use SCHED_FIFO (root)" >&2; exit 2; }
  (while sleep 4; do
    timeout -s KILL 1 chrt -f 50 taskset -c "$last_cpu" sh -c 'while :; do :; done' 2>/dev/null || true
  done) 2>/dev/null &
  pids+=($!)
fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); edge_port=$(free_port); haproxy_port=$(free_port); baseline_port=$(free_port)

# Upstream: nginx answering a small body on a keep-alive connection.
mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<NGINX
daemon off; worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 60s;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$up_port; location / { return 200 "mysfits\n"; } }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
nginx_pid=$!

# mysfits-edge: a load balancer with one target group of one target.
cat > "$work/edge.json" <<EDGE
{"Role": "LoadBalancer",
 "Listener": {"Port": $edge_port, "DefaultActions": [{"Type": "forward", "TargetGroupArn": "web"}]},
 "TargetGroups": [{"Name": "web", "HealthCheckPath": "/", "HealthCheckIntervalSeconds": 1,
                   "Targets": [{"Id": "127.0.0.1", "Port": $up_port}]}]}
EDGE
# shellcheck disable=SC2086 # EDGE_ARGS / BASELINE_ARGS are lists of options
"$edge_bin" serve --config "$work/edge.json" --threads "$threads" --log-level warn ${EDGE_ARGS:-} \
  > "$work/edge.out" & pids+=($!)
edge_pid=$!
serving=($up_port $edge_port $haproxy_port)
if [ -n "$baseline_bin" ]; then
  sed "s/\"Port\": $edge_port,/\"Port\": $baseline_port,/" "$work/edge.json" > "$work/baseline.json"
  # shellcheck disable=SC2086
  "$baseline_bin" serve --config "$work/baseline.json" --threads "$threads" --log-level warn \
    ${BASELINE_ARGS:-} > "$work/baseline.out" & pids+=($!)
  baseline_pid=$!
  serving+=($baseline_port)
fi

# HAProxy: the same hop — HTTP mode, keep-alive and connection reuse to the upstream, the same
# number of threads.
cat > "$work/haproxy.cfg" <<HAP
global
  nbthread $threads
  maxconn 4000
${HAPROXY_BUSY_POLLING:+  busy-polling}
${HAPROXY_CPU_MAP:+  cpu-map auto:1/1-$threads 0-$((threads - 1))}
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$haproxy_port
  default_backend be
backend be
  option httpchk GET /
  server s1 127.0.0.1:$up_port check inter 1s
HAP
haproxy -f "$work/haproxy.cfg" -db > "$work/haproxy.out" 2>&1 & pids+=($!)
haproxy_pid=$!

for port in "${serving[@]}"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/" >/dev/null || { echo "port $port not serving" >&2; exit 1; }
done

# wrk's --latency report: "Requests/sec: N" and percentile lines "50%  1.23ms".
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.3f", v}'; }
# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Summed over the CPUs: times a CPU went idle (halted: in a VM, waking it again is the host's
# business) and microseconds spent idle.
idle_sums() {
  cat /sys/devices/system/cpu/cpu*/cpuidle/state*/usage 2>/dev/null | awk '{n += $1} END {printf "%d ", n}'
  cat /sys/devices/system/cpu/cpu*/cpuidle/state*/time 2>/dev/null | awk '{n += $1} END {printf "%d\n", n}'
}
# Summed over the process's threads: voluntary and involuntary context switches, and the
# nanoseconds spent runnable but waiting for a CPU.
sched_sums() {
  local v=0 iv=0 w=0 t a b c
  for t in /proc/"$1"/task/*; do
    a=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null || echo 0)
    b=$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null || echo 0)
    c=$(awk '{print $2}' "$t/schedstat" 2>/dev/null || echo 0)
    v=$((v + ${a:-0})); iv=$((iv + ${b:-0})); w=$((w + ${c:-0}))
  done
  echo "$v $iv $w"
}
run() {
  local name=$1 port=$2 pid=${3:-}
  wrk -t"$wrk_threads" -c"$conns" -d2s "http://127.0.0.1:$port/" >/dev/null  # warm-up
  local before=0 sched_before=""; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
  local nginx_worker="" nginx_before="" idle_before=""
  if [ -n "${SCHED:-}" ] && [ -n "$pid" ]; then
    sched_before=$(sched_sums "$pid")
    idle_before=$(idle_sums)
    nginx_worker=$(pgrep -P "$nginx_pid" | head -1)
    [ -n "$nginx_worker" ] && nginx_before=$(sched_sums "$nginx_worker")
  fi
  local out
  out=$(wrk -t"$wrk_threads" -c"$conns" -d"$duration" --latency ${wrk_script[@]+"${wrk_script[@]}"} \
    "http://127.0.0.1:$port/")
  # The proxy's CPU time per request (user + system): less sensitive to other load than req/s.
  local cpu="-"
  if [ -n "$pid" ]; then
    local after reqs; after=$(cpu_ticks "$pid")
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" \
          'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  fi
  local sched=""
  if [ -n "$sched_before" ]; then
    sched=$(echo "$sched_before $(sched_sums "$pid") $(echo "$out" | awk '/requests in/ {print $1}')" |
      awk '{printf "vcs/req %.3f ivcs/req %.3f wait us/req %.1f", ($4-$1)/$7, ($5-$2)/$7, ($6-$3)/1000/$7}')
    sched+=$(echo "$idle_before $(idle_sums) $(echo "$out" | awk '/requests in/ {print $1}')" |
      awk -v d="${duration%s}" '{printf "; cpu idle/req %.3f idle %%%.1f", ($3-$1)/$5, ($4-$2)/1e4/d/2}')
    if [ -n "$nginx_before" ]; then
      sched+=$(echo "$nginx_before $(sched_sums "$nginx_worker") $(echo "$out" | awk '/requests in/ {print $1}')" |
        awk '{printf "; nginx vcs/req %.3f ivcs/req %.3f wait us/req %.1f", ($4-$1)/$7, ($5-$2)/$7, ($6-$3)/1000/$7}')
    fi
  fi
  local rps p50 p99 errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)
  p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)
  errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  printf "%-14s %12s %10s %10s %12s  %s%s\n" "$name" "$rps" "$p50" "$p99" "$cpu" "$sched" "${errs:-}"
}

echo "wrk -t$wrk_threads -c$conns -d$duration${wrk_delay_ms:+ (delay ${wrk_delay_ms} ms after each answer)}, one hop to nginx on 127.0.0.1 ($(nproc) cores)," \
  "$threads proxy threads; $(uptime | sed 's/.*load/load/')${AUTOGROUP_NICE:+; autogroup nice $AUTOGROUP_NICE}" \
  "${STEAL_CPU:+; CPU $(($(nproc) - 1)) taken 1 s in every 5}${EDGE_ARGS:+; edge: $EDGE_ARGS}${BASELINE_ARGS:+; baseline: $BASELINE_ARGS}${HAPROXY_CPU_MAP:+; haproxy: cpu-map}"
printf "%-14s %12s %10s %10s %12s\n" "proxy" "req/s" "p50 ms" "p99 ms" "cpu us/req"
run "direct-nginx" "$up_port"
# Each round runs every proxy once; the order rotates from round to round so that none is
# always first after the direct run or always next to the same neighbour.
names=("mysfits-edge" "haproxy"); ports=($edge_port $haproxy_port); procs=($edge_pid $haproxy_pid)
if [ -n "$baseline_bin" ]; then
  names+=("edge-baseline"); ports+=($baseline_port); procs+=($baseline_pid)
fi
n=${#names[@]}
for r in $(seq "$rounds"); do
  for k in $(seq 0 $((n - 1))); do
    i=$(( (k + r - 1) % n ))
    run "${names[$i]}" "${ports[$i]}" "${procs[$i]}"
  done
done
echo "after: $(uptime | sed 's/.*load/load/')"
