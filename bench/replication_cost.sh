#!/usr/bin/env bash
# What one replicated change costs, in instructions (callgrind), which a loaded machine does not
# blur (issue 3 "Speed": each replicated change costs CPU on the two cores the client requests
# share). Two engines (us-west-2, us-east-1), both under valgrind --tool=callgrind; a global
# table with 1,000 items back-filled before the measure; then a write load on us-west-2 only
# (PutItem then UpdateItem for --duration s each: closed loop over 4 connections, as fast as the
# engine under valgrind answers, or open loop at --rate writes/s), and the counters of both
# engines dumped once us-east-1 has applied every change:
#   us-west-2: instructions per client write, serving its changes to the peer included, and the
#              part spent serving them (PullChanges: reading the stream, encoding the answer);
#   us-east-1: instructions per applied change (pulling, decoding, applying, committing).
# The counts include the idle long polls of both pullers (--replication-poll-wait-ms, 25 ms),
# a fixed cost per second that weighs more the fewer writes a run makes: compare runs with
# similar write counts (the closed loop keeps them high).
# Usage: bench/replication_cost.sh [--build-dir build/release] [--table-bin PATH] [--rate 0]
#                                  [--duration 5] [--top 25] [--keep DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/release"
table_bin="" rate=0 duration=5 top=25 keep=""
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift ;;
    --table-bin) table_bin=$2; shift ;;
    --rate) rate=$2; shift ;;
    --duration) duration=$2; shift ;;
    --top) top=$2; shift ;;
    --keep) keep=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$table_bin" ] || table_bin="$build/src/table/mysfits-table"
bench="$build/bench/table_ops_bench"
for f in "$table_bin" "$bench"; do
  [[ -x $f ]] || { echo "replication_cost: $f is missing (cmake --build --preset release --target mysfits-table table_ops_bench)" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "replication_cost: valgrind is missing" >&2; exit 2; }

work=$(mktemp -d /tmp/mysfits-repl-cost.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$work"/*.callgrind "$work"/*.annotate "$keep"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # file regex seconds
  for _ in $(seq $(($3 * 10))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "replication_cost: timed out waiting for '$2' in $1" >&2; tail -20 "$1" >&2; exit 1
}
ddb() {
  curl -sS -X POST "$1" -H "Content-Type: application/x-amz-json-1.0" \
    -H "X-Amz-Target: DynamoDB_20120810.$2" --data "$3"
}
applied() {  # url -> changes applied from the peer so far
  curl -s "$1/metrics" | awk '/^mysfits_table_replication_applied_total\{/ { s += $2 } END { printf "%d", s }'
}

# Valgrind 3.19 cannot read clang's DWARF 5: profile a copy without debug info (the symbol
# table still names every function).
objcopy --strip-debug "$table_bin" "$work/mysfits-table"
west_port=$(free_port); east_port=$(free_port)
west="http://127.0.0.1:$west_port"; east="http://127.0.0.1:$east_port"
echo "{\"us-west-2\":\"$west\",\"us-east-1\":\"$east\"}" > "$work/regions.json"
declare -A cg_pid
for r in us-west-2 us-east-1; do
  port=$west_port; [ "$r" = us-east-1 ] && port=$east_port
  valgrind --tool=callgrind --callgrind-out-file="$work/cg-$r.%p" "$work/mysfits-table" serve \
    --listen "127.0.0.1:$port" --data-dir "$work/$r" --region "$r" \
    --regions-file "$work/regions.json" --no-sync > "$work/$r.log" 2>&1 &
  pids+=("$!"); cg_pid[$r]=$!
  wait_for "$work/$r.log" "listening on" 300
done

echo "== $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $table_bin"
"$bench" --endpoint "$west" --table Global --mode preload --items 1000 --label setup > /dev/null
ddb "$west" UpdateTable '{"TableName":"Global","ReplicaUpdates":[{"Create":{"RegionName":"us-east-1"}}]}' > /dev/null
wait_for "$work/us-east-1.log" "back-filled [0-9]+ items of Global" 300
sleep 2
for r in us-west-2 us-east-1; do callgrind_control -z "${cg_pid[$r]}" > /dev/null 2>&1; done
before=$(applied "$east")
"$bench" --endpoint "$west" --table Global --mode ops --ops PutItem UpdateItem --items 1000 \
  --skip-preload --warmup 0 --duration "$duration" --connections 4 --threads 1 --rate "$rate" \
  --label load > "$work/load.out"
writes=$(awk '/op=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }; s += f["requests"] + f["errors"] } END { print s }' "$work/load.out")
for _ in $(seq 600); do
  [ $(( $(applied "$east") - before )) -ge "$writes" ] && break
  sleep 0.5
done
changes=$(( $(applied "$east") - before ))
for r in us-west-2 us-east-1; do
  rm -f "$work"/cg-$r.*.*
  callgrind_control -d "$r" "${cg_pid[$r]}" > /dev/null 2>&1
  dump=$(ls -t "$work"/cg-$r.*.* | head -1)
  cp "$dump" "$work/$r.callgrind"
  callgrind_annotate --threshold=100 "$work/$r.callgrind" > "$work/$r.annotate" 2>/dev/null || true
  callgrind_annotate --inclusive=yes --threshold=100 "$work/$r.callgrind" > "$work/$r.inclusive" 2>/dev/null || true
done
total() { awk '/^(summary|totals):/ { print $2; exit }' "$work/$1.callgrind"; }
incl() {  # region function-regex -> inclusive instructions of the first match
  awk -v re="$2" '$0 ~ re { gsub(",", "", $1); print $1; exit }' "$work/$1.inclusive"
}
serve=$(incl us-west-2 'replicator::impl::pull_changes')
printf 'client writes to us-west-2: %d; changes applied in us-east-1: %d\n' "$writes" "$changes"
awk -v w="$(total us-west-2)" -v e="$(total us-east-1)" -v n="$writes" -v c="$changes" -v s="${serve:-0}" 'BEGIN {
  printf "us-west-2: %.0f instructions per client write, of which %.0f serving PullChanges (pull_changes, inclusive)\n", w / n, s / n
  printf "us-east-1: %.0f instructions per applied change (pulling, decoding, applying, committing)\n", e / c }'
for r in us-west-2 us-east-1; do
  echo
  echo "== $r: the $top functions with the most instructions of their own (self cost)"
  awk '/^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS|clone|start_thread|_M_run\(\)/' "$work/$r.annotate" |
    sed -n "1,${top}p" | cut -c1-160
done
