#!/usr/bin/env bash
# Instructions per proxied request of mysfits-edge (load balancer role, keep-alive GETs through
# one hop to nginx), counted by valgrind's callgrind: a figure that, unlike req/s, stays the same
# when other work loads the machine. The edge runs under callgrind; after a warm-up the counters
# are zeroed, bench/http_count_client.py sends exactly REQUESTS GETs, and the counters are dumped.
# User-space instructions only (a syscall counts as one): SYSCALLS=1 also counts the syscalls
# per request (a separate, uninstrumented run) with perf stat on the syscall tracepoints, or
# with strace -c where perf cannot (strace slows the edge down enough to change the count).
#   bench/edge_instructions.sh [BUILD_DIR]   (default build/release; use a release build)
#   env: REQUESTS=20000 CONNS=10 THREADS=2 ANNOTATE=1 (print the top functions) SYSCALLS=1
#        EDGE_ARGS: extra `serve` options (e.g. "--no-pin-workers")
set -euo pipefail

build=${1:-build/release}
edge_bin=$build/src/edge/mysfits-edge
requests=${REQUESTS:-20000}
conns=${CONNS:-10}
threads=${THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)
for tool in strip valgrind callgrind_control callgrind_annotate nginx python3 "$edge_bin"; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "missing $tool" >&2; exit 1; }
done

work=$(mktemp -d /tmp/edge-instr.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); edge_port=$(free_port)

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

# The benchmark's configuration, with a slower health check so probes add little to the count.
cat > "$work/edge.json" <<EDGE
{"Role": "LoadBalancer",
 "Listener": {"Port": $edge_port, "DefaultActions": [{"Type": "forward", "TargetGroupArn": "web"}]},
 "TargetGroups": [{"Name": "web", "HealthCheckPath": "/", "HealthCheckIntervalSeconds": 5,
                   "HealthCheckTimeoutSeconds": 5,
                   "Targets": [{"Id": "127.0.0.1", "Port": $up_port}]}]}
EDGE

wait_port() {
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/" >/dev/null && return 0; sleep 0.2; done
  echo "port $1 not serving" >&2; return 1
}

# Valgrind does not run Asio on io_uring (an edge built with MYSFITS_IO_URING never answers under
# it): such a build gets the syscall count only.
if [[ "$(ldd "$edge_bin")" == *liburing* ]]; then
  echo "instructions/request: not counted (io_uring build: valgrind cannot run it)"
  [ -n "${SYSCALLS:-}" ] || exit 0
else
  # Valgrind cannot read the DWARF 5 that clang writes: profile a copy without debug info (the
  # symbol table still names the functions).
  strip --strip-debug -o "$work/mysfits-edge" "$edge_bin"
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --dump-instr=no \
    "$work/mysfits-edge" serve --config "$work/edge.json" --threads "$threads" --log-level warn ${EDGE_ARGS:-} \
    > "$work/edge.out" 2> "$work/valgrind.err" & vg=$!
  pids+=($vg)
  wait_port "$up_port"
  wait_port "$edge_port"
  python3 "$here/http_count_client.py" --port "$edge_port" --requests 2000 --connections "$conns" >/dev/null
  callgrind_control -z "$vg" >/dev/null
  python3 "$here/http_count_client.py" --port "$edge_port" --requests "$requests" --connections "$conns"
  callgrind_control -d "$vg" >/dev/null
  sleep 1
  dump=$(ls -t "$work"/callgrind.out.* 2>/dev/null | head -1)
  [ -n "$dump" ] || { echo "no callgrind dump" >&2; exit 1; }
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}')
  echo "instructions: $total over $requests requests (threads=$threads, connections=$conns)"
  awk -v t="$total" -v n="$requests" 'BEGIN {printf "instructions/request: %.0f\n", t / n}'
  if [ -n "${ANNOTATE:-}" ]; then
    callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n '1,60p'
  fi
  [ -n "${KEEP:-}" ] && cp "$dump" "$work/last.callgrind"
  kill "$vg" 2>/dev/null || true
  wait "$vg" 2>/dev/null || true  # its port must be free for the next run
fi

if [ -n "${SYSCALLS:-}" ] && command -v perf >/dev/null &&
   perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
  # perf counts the syscall tracepoints without slowing the edge down. strace (below, the
  # fallback) stops the process at every syscall, which changes what the syscalls find: under
  # it, most of the reads Asio tries speculatively find data waiting; at full speed almost
  # none do.
  "$edge_bin" serve --config "$work/edge.json" --threads "$threads" --log-level warn ${EDGE_ARGS:-} \
    > "$work/edge2.out" 2>&1 & ep=$!
  pids+=($ep)
  wait_port "$edge_port"
  python3 "$here/http_count_client.py" --port "$edge_port" --requests 2000 --connections "$conns" >/dev/null
  events=raw_syscalls:sys_enter
  for c in recvfrom recvmsg sendmsg epoll_wait epoll_ctl sendto timerfd_settime io_uring_enter \
      sched_yield; do
    events+=,syscalls:sys_enter_$c
  done
  perf stat -x, -e "$events" -p "$ep" -o "$work/perf.txt" & ps=$!
  sleep 0.5
  python3 "$here/http_count_client.py" --port "$edge_port" --requests "$requests" --connections "$conns" >/dev/null
  kill -INT "$ps"; wait "$ps" || true
  # CSV: count,,event,...
  awk -F, -v n="$requests" '$3 ~ /sys_enter/ {v = $1 / n; sub(/.*sys_enter_?/, "", $3)
      if ($3 == "") total = v; else if (v >= 0.005) parts = parts sprintf(" %s %.2f", $3, v)}
    END {printf "syscalls/request: %.2f (%s ) [perf stat]\n", total, parts}' "$work/perf.txt"
elif [ -n "${SYSCALLS:-}" ] && command -v strace >/dev/null; then
  strace -f -c -o "$work/strace.txt" "$edge_bin" serve --config "$work/edge.json" \
    --threads "$threads" --log-level warn ${EDGE_ARGS:-} > "$work/edge2.out" 2>&1 & st=$!
  pids+=($st)
  wait_port "$edge_port"
  python3 "$here/http_count_client.py" --port "$edge_port" --requests "$requests" --connections "$conns" >/dev/null
  edge_pid=$(pgrep -P "$st" | head -1)
  kill -INT "$edge_pid"; wait "$st" || true
  # Columns: % time, seconds, usecs/call, calls, [errors,] syscall.
  awk -v n="$requests" '$1 ~ /^[0-9.]+$/ && $NF != "total" {c[$NF] = $4; t += $4}
    END {printf "syscalls/request: %.2f (", t / n
         for (k in c) if (c[k] / n >= 0.05) printf " %s %.2f", k, c[k] / n
         print " )"}' "$work/strace.txt"
fi
