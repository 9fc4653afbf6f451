#!/usr/bin/env bash
# Global-table replication figures (issue 3 "Speed"), two regions on loopback:
#  1. back-fill: N items (default 1,000,000) loaded into us-west-2, then a replica created in
#     us-east-1 with UpdateTable ReplicaUpdates; the replica's back-fill rate (items/s) as the
#     engine logs it (target >= 100,000 items/s);
#  2. replication latency under a sustained write load split across both regions (PutItem and
#     UpdateItem from table_ops_bench against each region at once): p50 / p99 / max of
#     ReplicationLatency from each engine's /metrics, the backlog sampled every second (it must
#     not grow), and the write rate side by side with the same load on one region's non-global
#     table in the same run (target p99 < 50 ms).
# Usage: bench/replication_bench.sh [--items N] [--duration S] [--connections C]
#                                   [--build-dir DIR] [--no-build] [--table-args "--no-sync"]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench-release"
items=1000000 duration=10 connections=16 no_build=0 table_args=""
keys=2000  # key space of the latency phase: small, so its preload barely shows in the figures
while (($#)); do
  case "$1" in
    --items) items=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --no-build) no_build=1 ;;
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
table_bin="$build/src/table/mysfits-table"
bench="$build/bench/table_ops_bench"

work=$(mktemp -d /tmp/mysfits-repl-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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

west_port=$(free_port); east_port=$(free_port)
west="http://127.0.0.1:$west_port"; east="http://127.0.0.1:$east_port"
echo "{\"us-west-2\":\"$west\",\"us-east-1\":\"$east\"}" > "$work/regions.json"
for r in us-west-2 us-east-1; do
  port=$west_port; [ "$r" = us-east-1 ] && port=$east_port
  "$table_bin" serve --listen "127.0.0.1:$port" --data-dir "$work/$r" --region "$r" \
    --regions-file "$work/regions.json" $table_args > "$work/$r.log" 2>&1 &
  pids+=("$!")
  wait_for "$work/$r.log" "listening on" > /dev/null
done
echo "== us-west-2 at $west, us-east-1 at $east ${table_args:+(flags: $table_args)}"

echo "== 1. back-fill of a new replica: $items items"
"$bench" --endpoint "$west" --table Backfill --mode million --million-items "$items" \
  --connections "$connections" --label us-west-2
start=$(date +%s.%N)
ddb "$west" UpdateTable '{"TableName":"Backfill","ReplicaUpdates":[{"Create":{"RegionName":"us-east-1"}}]}' > /dev/null
line=$(wait_for "$work/us-east-1.log" "back-filled [0-9]+ items of Backfill from us-west-2 in [0-9.]+ s \([0-9]+ items/s\)" 3600)
end=$(date +%s.%N)
echo "backfill: $line; UpdateTable to ACTIVE: $(echo "$end - $start" | bc) s"
ddb "$west" DeleteTable '{"TableName":"Backfill"}' > /dev/null
ddb "$east" DeleteTable '{"TableName":"Backfill"}' > /dev/null

echo "== 2. replication latency under a write load split across both regions (${duration}s)"
"$bench" --endpoint "$west" --table Solo --mode ops --ops PutItem UpdateItem --items "$keys" \
  --duration "$duration" --connections "$connections" --label single-region | tee "$work/solo"
"$bench" --endpoint "$west" --table Global --mode setup --label setup
ddb "$west" UpdateTable '{"TableName":"Global","ReplicaUpdates":[{"Create":{"RegionName":"us-east-1"}}]}' > /dev/null
wait_for "$work/us-east-1.log" "back-filled [0-9]+ items of Global" 60 > /dev/null
half=$(( (connections + 1) / 2 ))
( while sleep 1; do
    for u in "$west" "$east"; do
      curl -s "$u/metrics" | awk -v u="$u" '/^mysfits_table_replication_backlog\{/ {printf "%s %s %s\n", systime(), u, $2}'
    done
  done ) > "$work/backlog" 2>/dev/null &
sampler=$!; pids+=("$sampler")
"$bench" --endpoint "$west" --table Global --mode ops --ops PutItem UpdateItem --items "$keys" \
  --duration "$duration" --connections "$half" --label global-us-west-2 > "$work/w" &
bw=$!
"$bench" --endpoint "$east" --table Global --mode ops --ops PutItem UpdateItem --items "$keys" \
  --duration "$duration" --connections "$half" --label global-us-east-1 > "$work/e" &
be=$!
wait "$bw" "$be"
kill "$sampler" 2>/dev/null || true
cat "$work/w" "$work/e"
sleep 2  # let the last pulls land before reading the histograms

echo
echo "== figures ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
for region in us-east-1 us-west-2; do
  if [ "$region" = us-east-1 ]; then url=$east peer=us-west-2; else url=$west peer=us-east-1; fi
  curl -s "$url/metrics" | awk -v peer="$peer" -v region="$region" '
    index($0, "mysfits_table_replication_latency_seconds_bucket{region=\"" region "\",peer=\"" peer "\"") == 1 {
      match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      n++; bound[n] = (le == "+Inf") ? 1e9 : le + 0; cum[n] = $NF + 0
    }
    index($0, "mysfits_table_replication_latency_max_ms{region=\"" region "\",peer=\"" peer "\"") == 1 { max = $NF }
    index($0, "mysfits_table_replication_backlog{region=\"" region "\",peer=\"" peer "\"") == 1 { backlog = $NF }
    function q(p,   i, target, lo, prev) {
      target = p * cum[n]; prev = 0; lo = 0
      for (i = 1; i <= n; i++) {
        if (cum[i] >= target) {
          if (cum[i] == prev) return bound[i] * 1000
          return (lo + (bound[i] - lo) * (target - prev) / (cum[i] - prev)) * 1000
        }
        prev = cum[i]; lo = bound[i]
      }
    }
    END {
      printf "replication %s -> %s: changes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f backlog_now=%s\n",
             peer, region, cum[n], q(0.5), q(0.99), max, backlog
    }'
done
# Where the latency goes (the engines' per-stage histograms): write timestamp -> served by the
# peer's PullChanges, served -> received by the puller, received -> committed here.
for region in us-east-1 us-west-2; do
  if [ "$region" = us-east-1 ]; then url=$east peer=us-west-2; else url=$west peer=us-east-1; fi
  curl -s "$url/metrics" | awk -v peer="$peer" -v region="$region" '
    index($0, "mysfits_table_replication_stage_seconds_bucket{region=\"" region "\",peer=\"" peer "\"") == 1 {
      match($0, /stage="[^"]+"/); st = substr($0, RSTART + 7, RLENGTH - 8)
      match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      k = ++n[st]; bound[st, k] = (le == "+Inf") ? 1e9 : le + 0; cum[st, k] = $NF + 0
    }
    function q(st, p,   i, target, lo, prev) {
      target = p * cum[st, n[st]]; prev = 0; lo = 0
      for (i = 1; i <= n[st]; i++) {
        if (cum[st, i] >= target) {
          if (cum[st, i] == prev) return bound[st, i] * 1000
          return (lo + (bound[st, i] - lo) * (target - prev) / (cum[st, i] - prev)) * 1000
        }
        prev = cum[st, i]; lo = bound[st, i]
      }
    }
    END {
      printf "stages %s -> %s:", peer, region
      split("served received applied", order, " ")
      for (j = 1; j <= 3; j++) if (n[order[j]]) printf " %s p50_ms=%.1f p99_ms=%.1f", order[j], q(order[j], 0.5), q(order[j], 0.99)
      print ""
    }'
done
awk '{ if ($3 + 0 > m) m = $3 + 0; last[$2] = $3 } END { printf "backlog sampled every 1 s: max=%d, last=", m; for (u in last) printf "%s ", last[u]; print "" }' "$work/backlog"
grep -h "op=" "$work/solo" "$work/w" "$work/e" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }; rps[f["label"]] += f["rps"]; n[f["label"]]++ }
  END { for (l in rps) printf "write rate %-18s %8.0f requests/s (mean over PutItem, UpdateItem)\n", l, rps[l] / n[l] }'
