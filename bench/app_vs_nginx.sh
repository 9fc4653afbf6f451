#!/usr/bin/env bash
# App benchmark (issue 4): wrk against GET /mysfits, GET /mysfits?filter=GoodEvil&value=Evil and
# POST /mysfits/{id}/like — each going through the service to the table engine — side by side
# in the same run with nginx serving the same response bytes from files (the upper bound for an
# HTTP response on this machine). Prints requests/s and p99 per route and the ratios.
#
# Usage: bench/app_vs_nginx.sh [BUILD_DIR]   (default build/release)
#   DURATION=10s CONNECTIONS=32 THREADS=2 ENDPOINT=http://127.0.0.1:PORT (use a running table
#   instead of starting BUILD_DIR/src/table/mysfits-table) TABLE_ARGS="--no-sync" (extra flags
#   for the table engine; by default it fsyncs every write, as it runs in production)
#   AUTOGROUP_NICE=-10: weight the whole benchmark as one scheduler group against other
#   sessions' work on a shared machine (bench/autogroup.sh)
# Everything it starts listens on 127.0.0.1 and is stopped (by pid) on exit.
set -euo pipefail
source "$(dirname "$0")/autogroup.sh" "$@"

build=${1:-build/release}
duration=${DURATION:-10s}
conns=${CONNECTIONS:-32}
wrk_threads=${THREADS:-2}
core_bin=$build/src/app/mysfits-core
like_bin=$build/src/app/mysfits-like
table_bin=$build/src/table/mysfits-table
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "app_vs_nginx: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/mysfits-app-bench.XXXXXX)
chmod 755 "$work"  # nginx workers run as another user and must read www/
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background (its pid kept for cleanup) and waits for its
# "listening on" line; sets $port. Not called in $(...) so the pid stays in this shell.
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do
    if port=$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$work/$name.out" | grep -oE '[0-9]+$'); then
      return 0
    fi
    sleep 0.05
  done
  echo "app_vs_nginx: $name did not start; see $work/$name.err" >&2; exit 1
}

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

if [[ -n "${ENDPOINT:-}" ]]; then
  endpoint=$ENDPOINT
  table_name=MysfitsBench$RANDOM
else
  start table "$table_bin" serve --listen 127.0.0.1:0 --data-dir "$work/table" --region us-west-2 ${TABLE_ARGS:-}
  endpoint=http://127.0.0.1:$port
  table_name=MysfitsTable
fi
export AWS_REGION=us-west-2 AWS_ENDPOINT_URL_DYNAMODB=$endpoint AWS_ACCESS_KEY_ID=bench \
  AWS_SECRET_ACCESS_KEY=bench DDB_TABLE_NAME=$table_name BIND_ADDRESS=127.0.0.1 PORT=0 \
  MYSFITS_LOG_LEVEL=warn
"$core_bin" seed >/dev/null
start core "$core_bin"
cport=$port
start like "$like_bin"
lport=$port
id=33e1fbd4-2fd8-45fb-a42f-f92551694506

# The same bytes, for nginx to serve from files.
mkdir -p "$work/www/mysfits/$id"
curl -sf "http://127.0.0.1:$cport/mysfits" >"$work/www/all.json"
curl -sf "http://127.0.0.1:$cport/mysfits?filter=GoodEvil&value=Evil" >"$work/www/evil.json"
curl -sf -X POST "http://127.0.0.1:$lport/mysfits/$id/like" >"$work/www/like.json"
nport=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport;
    root $work/www;
    location = /mysfits { if (\$arg_filter) { rewrite ^ /evil.json last; } rewrite ^ /all.json last; }
    # Static files refuse POST with 405; answer it with the file, as the like route answers.
    location = /mysfits/$id/like { error_page 405 =200 /like.json; try_files /like.json =404; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' 2>"$work/nginx.err" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nport/mysfits" >/dev/null && break; sleep 0.05; done
echo 'wrk.method = "POST"' >"$work/post.lua"
# Both sides must send the same bytes.
curl -sf "http://127.0.0.1:$nport/mysfits" | cmp -s - "$work/www/all.json" ||
  { echo "app_vs_nginx: nginx does not serve the app's bytes" >&2; exit 1; }
curl -sf -X POST "http://127.0.0.1:$nport/mysfits/$id/like" | cmp -s - "$work/www/like.json" ||
  { echo "app_vs_nginx: nginx does not answer the like POST with the app's bytes" >&2; exit 1; }

# run NAME URL [LUA]: prints "requests_per_sec p50_ms p99_ms"
run() {
  local extra=()
  [[ -n "${3:-}" ]] && extra=(-s "$3")
  wrk -t"$wrk_threads" -c"$conns" -d"$duration" --latency "${extra[@]}" "$2" >"$work/wrk-$1.txt"
  local rps
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$1.txt")
  # wrk prints latencies as 812.00us, 1.25ms or 1.02s: in ms.
  ms() { awk -v q="$1" '$1==q {v=$2; u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v);
                                if (u=="us") v/=1000; else if (u=="s") v*=1000; print v}' "$work/wrk-$2.txt"; }
  local errs
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk-$1.txt" | tr '\n' ' ')
  [[ -n "$errs" ]] && echo "  ($1: $errs)" >&2
  echo "$rps $(ms 50% "$1") $(ms 99% "$1")"
}

echo "== $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), table flags: ${TABLE_ARGS:-none}${AUTOGROUP_NICE:+, autogroup nice $AUTOGROUP_NICE}"
printf '%-34s %10s %9s %9s %12s %9s %9s %7s %7s\n' route "app req/s" "app p50" "app p99" "nginx req/s" "ngx p50" "ngx p99" "rps %" "p99 x"
for route in "GET /mysfits|/mysfits|" "GET /mysfits?filter=GoodEvil&value=Evil|/mysfits?filter=GoodEvil&value=Evil|" "POST /mysfits/{id}/like|/mysfits/$id/like|$work/post.lua"; do
  IFS='|' read -r label path lua <<<"$route"
  port=$cport
  [[ $label == POST* ]] && port=$lport
  read -r arps ap50 ap99 < <(run "app-${label//[^a-zA-Z]/}" "http://127.0.0.1:$port$path" "$lua")
  read -r nrps np50 np99 < <(run "nginx-${label//[^a-zA-Z]/}" "http://127.0.0.1:$nport$path" "$lua")
  printf '%-34s %10.0f %7.2fms %7.2fms %12.0f %7.2fms %7.2fms %6.0f%% %6.1fx\n' "$label" "$arps" "$ap50" "$ap99" "$nrps" "$np50" "$np99" \
    "$(awk -v a="$arps" -v n="$nrps" 'BEGIN{print 100*a/n}')" "$(awk -v a="$ap99" -v n="$np99" 'BEGIN{print a/n}')"
done
echo "(wrk -t$wrk_threads -c$conns -d$duration; table at $endpoint; load average now $(cut -d' ' -f1-3 /proc/loadavg); raw output in $work)"
