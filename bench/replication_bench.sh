#!/usr/bin/env bash
# Global-table replication figures (issue 3 "Speed"), two regions on loopback:
#  1. back-fill: N items (default 1,000,000) loaded into us-west-2, then a replica created in
#     us-east-1 with UpdateTable ReplicaUpdates; the replica's back-fill rate (items/s) as the
#     engine logs it (target >= 100,000 items/s);
#  2. replication latency under a saturating write load split across both regions (closed-loop
#     PutItem and UpdateItem from table_ops_bench against each region at once): p50 / p99 / max
#     of ReplicationLatency from each engine's /metrics, the latency by stage, the backlog
#     sampled every second (it must not grow), and the write rate side by side with the same
#     load on one region's non-global table in the same run (target p99 < 50 ms);
#  3. the same split load at fixed total rates below saturation (open loop, table_ops_bench
#     --rate): by default 25 %, 50 % and 80 % of the global write rate phase 2 measured, or the
#     rates given with --rates; the latency a user sees when the engines are not saturated.
# Every phase runs on freshly started engines, so each phase's histograms, max and backlog are
# its own. Percentiles are interpolated inside a histogram bucket: the bucket is printed with
# them, and a percentile is never reported above the observed max (the max is exact).
# Usage: bench/replication_bench.sh [--items N] [--duration S] [--connections C]
#                                   [--rates "R1 R2 ..."] [--fractions "0.25 0.5 0.8"]
#                                   [--build-dir DIR] [--no-build] [--table-bin PATH]
#                                   [--table-args "--no-sync"]
# --items 0 skips the back-fill phase; --rates "" with --fractions "" skips phase 3.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench-release"
items=1000000 duration=10 connections=16 no_build=0 table_args="" table_bin=""
rates="" fractions="0.25 0.5 0.8"
keys=2000  # key space of the latency phases (preloaded before the replica exists: back-filled)
while (($#)); do
  case "$1" in
    --items) items=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --rates) rates=$2; shift ;;
    --fractions) fractions=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --no-build) no_build=1 ;;
    --table-bin) table_bin=$2; shift ;;
    --table-args) table_args=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if ((!no_build)); then
  echo "== building the release preset in $build (mysfits-table, table_ops_bench)"
  cmake --preset release -B "$build" > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
  nice cmake --build "$build" -j2 --target mysfits-table table_ops_bench
fi
[ -n "$table_bin" ] || table_bin="$build/src/table/mysfits-table"
bench="$build/bench/table_ops_bench"

work=$(mktemp -d /tmp/mysfits-repl-bench.XXXXXX)
pids=() engines=()
cleanup() {
  for pid in "${pids[@]}" "${engines[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" "${engines[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # file regex seconds -> the matching text once it appears
  local file=$1 regex=$2 secs=${3:-60}
  for _ in $(seq $((secs * 10))); do
    if line=$(grep -oE "$regex" "$file" 2>/dev/null | head -1) && [ -n "$line" ]; then
      echo "$line"; return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for '$regex' in $file" >&2; tail -20 "$file" >&2; return 1
}
ddb() {  # url op json -> response body (the engines run without credentials)
  curl -sS -X POST "$1" -H "Content-Type: application/x-amz-json-1.0" \
    -H "X-Amz-Target: DynamoDB_20120810.$2" --data "$3"
}

# Starts both engines on fresh data directories (phase name $1); sets west, east.
phase_dir=""
start_engines() {
  phase_dir="$work/$1"; mkdir -p "$phase_dir"
  local west_port east_port r port
  west_port=$(free_port); east_port=$(free_port)
  west="http://127.0.0.1:$west_port"; east="http://127.0.0.1:$east_port"
  echo "{\"us-west-2\":\"$west\",\"us-east-1\":\"$east\"}" > "$phase_dir/regions.json"
  engines=()
  for r in us-west-2 us-east-1; do
    port=$west_port; [ "$r" = us-east-1 ] && port=$east_port
    "$table_bin" serve --listen "127.0.0.1:$port" --data-dir "$phase_dir/$r" --region "$r" \
      --regions-file "$phase_dir/regions.json" $table_args > "$phase_dir/$r.log" 2>&1 &
    engines+=("$!")
    wait_for "$phase_dir/$r.log" "listening on" > /dev/null
  done
}
stop_engines() {
  for pid in "${engines[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${engines[@]}"; do wait "$pid" 2>/dev/null || true; done
  engines=()
  rm -rf "$phase_dir/us-west-2" "$phase_dir/us-east-1"
}

# The table Global with $keys items in us-west-2, then its replica in us-east-1 (back-filled).
setup_global() {
  "$bench" --endpoint "$west" --table Global --mode preload --items "$keys" --label setup > /dev/null
  ddb "$west" UpdateTable '{"TableName":"Global","ReplicaUpdates":[{"Create":{"RegionName":"us-east-1"}}]}' > /dev/null
  wait_for "$phase_dir/us-east-1.log" "back-filled [0-9]+ items of Global" 60 > /dev/null
}

# PutItem then UpdateItem against both regions at once, half the connections each; $1 is the
# total rate (requests/s over both regions; 0: closed loop). Results in $phase_dir/{w,e,backlog}.
split_load() {
  local total=$1 half=$(( (connections + 1) / 2 )) rate_args=()
  if [ "$total" != 0 ]; then rate_args=(--rate "$(echo "$total / 2" | bc -l)"); fi
  ( while sleep 1; do
      for u in "$west" "$east"; do
        curl -s "$u/metrics" | awk -v u="$u" '/^mysfits_table_replication_backlog\{/ {printf "%s %s %s\n", systime(), u, $2}'
      done
    done ) > "$phase_dir/backlog" 2>/dev/null &
  local sampler=$!; pids+=("$sampler")
  "$bench" --endpoint "$west" --table Global --mode ops --ops PutItem UpdateItem --items "$keys" \
    --skip-preload --duration "$duration" --connections "$half" "${rate_args[@]}" \
    --label global-us-west-2 > "$phase_dir/w" &
  local bw=$!
  "$bench" --endpoint "$east" --table Global --mode ops --ops PutItem UpdateItem --items "$keys" \
    --skip-preload --duration "$duration" --connections "$half" "${rate_args[@]}" \
    --label global-us-east-1 > "$phase_dir/e" &
  local be=$!
  wait "$bw" "$be"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sleep 2  # let the last pulls land before reading the histograms
}

# Percentiles of a Prometheus histogram, interpolated linearly inside their bucket; the bucket
# is printed with each, and a percentile above the observed max (when known) is the max.
hist_awk='
  function q(key, p, maxv,   i, target, lo, prev, v) {
    target = p * cum[key, n[key]]; prev = 0; lo = 0
    for (i = 1; i <= n[key]; i++) {
      if (cum[key, i] >= target && cum[key, i] > prev) {
        v = lo + (bound[key, i] - lo) * (target - prev) / (cum[key, i] - prev)
        qb = sprintf("%g-%s ms", lo * 1000, bound[key, i] >= 1e9 ? "inf" : sprintf("%g", bound[key, i] * 1000))
        if (maxv != "" && v * 1000 > maxv + 0) { qb = qb ", = max"; return maxv + 0 }
        return v * 1000
      }
      prev = cum[key, i]; lo = bound[key, i]
    }
    qb = "empty"; return 0
  }
  function add(key, line,   le) {
    match(line, /le="[^"]+"/); le = substr(line, RSTART + 4, RLENGTH - 5)
    k = ++n[key]; bound[key, k] = (le == "+Inf") ? 1e9 : le + 0; cum[key, k] = $NF + 0
  }
  function pr(name, key, maxv,   a, b, ba, bb) {
    a = q(key, 0.5, maxv); ba = qb; b = q(key, 0.99, maxv); bb = qb
    printf " %sp50_ms=%.1f (%s) %sp99_ms=%.1f (%s)", name, a, ba, name, b, bb
  }'

# Replication figures of the engines now running: latency, stages, backlog, write rates.
report() {
  local title=$1 region url peer
  echo "-- $title ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  for region in us-east-1 us-west-2; do
    if [ "$region" = us-east-1 ]; then url=$east peer=us-west-2; else url=$west peer=us-east-1; fi
    curl -s "$url/metrics" > "$phase_dir/metrics-$region"
    awk -v peer="$peer" -v region="$region" "$hist_awk"'
      index($0, "mysfits_table_replication_latency_seconds_bucket{region=\"" region "\",peer=\"" peer "\"") == 1 { add("all", $0) }
      index($0, "mysfits_table_replication_latency_max_ms{region=\"" region "\",peer=\"" peer "\"") == 1 { max = $NF }
      index($0, "mysfits_table_replication_backlog{region=\"" region "\",peer=\"" peer "\"") == 1 { backlog = $NF }
      index($0, "mysfits_table_replication_stage_seconds_bucket{region=\"" region "\",peer=\"" peer "\"") == 1 {
        match($0, /stage="[^"]+"/); add(substr($0, RSTART + 7, RLENGTH - 8), $0)
      }
      END {
        printf "replication %s -> %s: changes=%d", peer, region, cum["all", n["all"]]
        pr("", "all", max)
        printf " max_ms=%.1f backlog_now=%s\n", max, backlog
        printf "  stages:"
        split("served received applied", order, " ")
        for (j = 1; j <= 3; j++) if (n[order[j]]) pr(order[j] "_", order[j], "")
        print ""
      }' "$phase_dir/metrics-$region"
  done
  awk '{ if ($3 + 0 > m) m = $3 + 0; last[$2] = $3 } END { printf "backlog sampled every 1 s: max=%d, last=", m; for (u in last) printf "%s ", last[u]; print "" }' "$phase_dir/backlog"
  local results=("$phase_dir/w" "$phase_dir/e")
  [ -f "$phase_dir/solo" ] && results=("$phase_dir/solo" "${results[@]}")
  grep -h "op=" "${results[@]}" | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      l = f["label"]; rps[l] += f["rps"]; n[l]++; p99[l] = (f["p99_ms"] + 0 > p99[l]) ? f["p99_ms"] + 0 : p99[l]
      unsent[l] += f["unsent"] }
    END { for (l in rps) printf "write rate %-18s %8.0f requests/s (mean over PutItem, UpdateItem), client p99 <= %.1f ms, unsent %d\n", l, rps[l] / n[l], p99[l], unsent[l] }'
}

global_rps=0
sum_global_rps() {  # requests/s over both regions, mean over the two operations
  grep -h "op=" "$phase_dir/w" "$phase_dir/e" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }; s += f["rps"]; n++ } END { printf "%.0f", n ? s / (n / 2) : 0 }'
}

if [ "$items" -gt 0 ]; then
  start_engines backfill
  echo "== us-west-2 at $west, us-east-1 at $east ${table_args:+(flags: $table_args)}"
  echo "== 1. back-fill of a new replica: $items items"
  "$bench" --endpoint "$west" --table Backfill --mode million --million-items "$items" \
    --connections "$connections" --label us-west-2
  start=$(date +%s.%N)
  ddb "$west" UpdateTable '{"TableName":"Backfill","ReplicaUpdates":[{"Create":{"RegionName":"us-east-1"}}]}' > /dev/null
  line=$(wait_for "$phase_dir/us-east-1.log" "back-filled [0-9]+ items of Backfill from us-west-2 in [0-9.]+ s \([0-9]+ items/s\)" 3600)
  end=$(date +%s.%N)
  echo "backfill: $line; UpdateTable to ACTIVE: $(echo "$end - $start" | bc) s"
  stop_engines
fi

echo "== 2. replication latency under a saturating write load split across both regions (closed loop, ${duration}s per operation)"
start_engines saturated
"$bench" --endpoint "$west" --table Solo --mode ops --ops PutItem UpdateItem --items "$keys" \
  --duration "$duration" --connections "$connections" --label single-region > "$phase_dir/solo"
setup_global
split_load 0
cat "$phase_dir/solo" "$phase_dir/w" "$phase_dir/e" | grep "op="
report "saturated (closed loop)"
global_rps=$(sum_global_rps)
stop_engines

if [ -z "$rates" ] && [ -n "$fractions" ]; then
  for f in $fractions; do rates+="$(echo "$global_rps * $f" | bc -l | xargs printf '%.0f') "; done
fi
if [ -n "$rates" ]; then
  echo "== 3. replication latency at fixed total write rates (open loop; the saturated global rate was $global_rps writes/s): $rates"
  for rate in $rates; do
    start_engines "rate-$rate"
    setup_global
    split_load "$rate"
    grep -h "op=" "$phase_dir/w" "$phase_dir/e"
    report "at $rate writes/s in total"
    stop_engines
  done
fi
