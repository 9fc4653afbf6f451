#!/usr/bin/env bash
# Runs the same closed-loop load (table_ops_bench) against mysfits-table and dynalite on loopback,
# in the same run, and prints them side by side with the throughput ratio (issue 2 "Speed":
# target >= 10x dynalite's throughput with a lower p99), and each server's CPU time per request
# (the cpu ratio: dynalite's over the table's). `--million [N]` instead loads N (default
# 1,000,000) 200-byte items into each server and reports load time, disk, RSS and full-Scan time.
# `--rounds R` runs every operation R times against each server, the two servers' runs of an
# operation back to back (which goes first alternates by round), and prints each round and the
# medians: on a machine shared with other work, a ratio is only as good as the window its two
# figures share.
# Usage: bench/table_vs_dynalite.sh [--duration S] [--connections N] [--threads T] [--items K]
#                                   [--rounds R] [--million [N]] [--skip-dynalite]
#                                   [--build-dir DIR] [--no-build]
#                                   [--table-args "--no-sync"]   (extra mysfits-table flags)
#                                   [--dynalite-scheduling normal|batch]
# mysfits-table runs under its default CPU scheduling policy (SCHED_BATCH; `--table-args
# "--scheduling normal"` for the ordinary one), dynalite under the ordinary policy as it ships;
# `--dynalite-scheduling batch` runs dynalite under SCHED_BATCH too (chrt -b 0), for the
# comparison with both under the same policy (docs/table.md, "Scheduling policy").
set -euo pipefail
# AUTOGROUP_NICE=-10 weights this run against other sessions' work on a shared machine
# (bench/autogroup.sh).
source "$(dirname "$0")/autogroup.sh" "$@"

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench-release"
duration=10 connections=16 threads=2 items=10000 rounds=1 million=0 skip_dynalite=0 no_build=0 table_args=""
dynalite_scheduling=normal
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --threads) threads=$2; shift ;;
    --items) items=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --million) if [[ "${2:-}" =~ ^[0-9]+$ ]]; then million=$2; shift; else million=1000000; fi ;;
    --skip-dynalite) skip_dynalite=1 ;;
    --no-build) no_build=1 ;;
    --table-args) table_args=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --dynalite-scheduling) dynalite_scheduling=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "--rounds needs a positive whole number" >&2; exit 2; }
case "$dynalite_scheduling" in
  normal) dynalite_policy=() ;;
  batch) dynalite_policy=(chrt -b 0) ;;
  *) echo "--dynalite-scheduling takes normal or batch" >&2; exit 2 ;;
esac

if ((!no_build)); then
  echo "== building the release preset in $build (mysfits-table, table_ops_bench)"
  cmake --preset release -B "$build" > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
  cmake --build "$build" -j2 --target mysfits-table table_ops_bench
fi
# dynalite from the committed bench/package-lock.json, also with --no-build: a fresh machine has
# only what the project installs (reinstalled when the lock file changes).
if ((!skip_dynalite)) && ! cmp -s "$root/bench/package-lock.json" \
    "$root/bench/node_modules/.mysfits-installed-lock" 2>/dev/null; then
  echo "== installing dynalite from bench/package-lock.json"
  (cd "$root/bench" && npm ci --no-audit --no-fund --silent &&
    cp package-lock.json node_modules/.mysfits-installed-lock)
fi

work=$(mktemp -d /tmp/mysfits-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_line() {  # file regex -> first capture of the regex once the line appears (60 s)
  local file=$1 regex=$2
  for _ in $(seq 600); do
    if line=$(grep -oE "$regex" "$file" 2>/dev/null | head -1) && [ -n "$line" ]; then
      echo "$line"; return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for '$regex' in $file:" >&2; cat "$file" >&2; return 1
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

"$build/src/table/mysfits-table" serve --listen 127.0.0.1:0 --data-dir "$work/table" \
  --region us-west-2 $table_args > "$work/table.log" 2>&1 &
table_pid=$!; pids+=("$table_pid")
table_url=$(wait_for_line "$work/table.log" 'http://127\.0\.0\.1:[0-9]+')
echo "== mysfits-table pid $table_pid at $table_url ${table_args:+(flags: $table_args)}"

dyn_url=""
if ((!skip_dynalite)); then
  port=$(free_port)
  # LevelDB on disk (--path), so both servers persist what they acknowledge.
  "${dynalite_policy[@]}" node "$root/bench/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$port" \
    --path "$work/dynalite" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
    > "$work/dynalite.log" 2>&1 &
  dyn_pid=$!; pids+=("$dyn_pid")
  wait_for_line "$work/dynalite.log" 'listening at' > /dev/null
  dyn_url="http://127.0.0.1:$port"
  echo "== dynalite pid $dyn_pid at $dyn_url (scheduling: $dynalite_scheduling)"
fi

bench="$build/bench/table_ops_bench"
common=(--connections "$connections" --threads "$threads")

if ((million)); then
  report() {  # label pid data-dir url
    "$bench" --endpoint "$4" --mode million --million-items "$million" --label "$1" \
      "${common[@]}" | tee "$work/$1.million"
    echo "label=$1 disk_mb=$(du -sm "$3" | cut -f1) rss_mb=$(($(rss_kb "$2") / 1024))" \
      | tee -a "$work/$1.million"
  }
  report mysfits-table "$table_pid" "$work/table" "$table_url"
  ((skip_dynalite)) || report dynalite "$dyn_pid" "$work/dynalite" "$dyn_url"
  exit 0
fi

# Each server's CPU time (user + system, from /proc) per request it answered, warm-up included:
# unlike throughput, it hardly moves when other processes take the cores, so it tells on a loaded
# machine what the throughput ratio would be on a quiet one.
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run_op() {  # label pid url op round: one load run; appends its line to the results
  local label=$1 pid=$2 url=$3 op=$4 round=$5 line t0 t1
  t0=$(cpu_ticks "$pid")
  line=$("$bench" --endpoint "$url" --label "$label" --duration "$duration" --items "$items" \
    --ops "$op" --skip-preload "${common[@]}")
  t1=$(cpu_ticks "$pid")
  awk -v t=$((t1 - t0)) -v hz="$hz" -v r="$round" '{
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "answered") n = kv[2] }
    printf "%s server_cpu_us=%.1f round=%d\n", $0, (n > 0 ? t * 1e6 / hz / n : 0), r }' \
    <<<"$line" | tee -a "$work/results"
}
: > "$work/results"
"$bench" --endpoint "$table_url" --label mysfits-table --mode preload --items "$items" "${common[@]}"
((skip_dynalite)) ||
  "$bench" --endpoint "$dyn_url" --label dynalite --mode preload --items "$items" "${common[@]}"
for ((r = 1; r <= rounds; r++)); do
  for op in GetItem PutItem UpdateItem Query; do
    if ((skip_dynalite)); then
      run_op mysfits-table "$table_pid" "$table_url" "$op" "$r"
    elif ((r % 2)); then
      run_op mysfits-table "$table_pid" "$table_url" "$op" "$r"
      run_op dynalite "$dyn_pid" "$dyn_url" "$op" "$r"
    else
      run_op dynalite "$dyn_pid" "$dyn_url" "$op" "$r"
      run_op mysfits-table "$table_pid" "$table_url" "$op" "$r"
    fi
  done
done
echo "label=mysfits-table rss_mb=$(($(rss_kb "$table_pid") / 1024))" \
  "disk_mb=$(du -sm "$work/table" | cut -f1)"

echo
echo "== $connections connections, $threads client threads, ${duration}s per operation, $items items," \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), mysfits-table flags: ${table_args:-none}, dynalite scheduling: $dynalite_scheduling${AUTOGROUP_NICE:+, autogroup nice $AUTOGROUP_NICE}"
awk -v rounds="$rounds" '
  function median(a, m,    i, j, t, b) {  # of a[1..m]
    for (i = 1; i <= m; i++) b[i] = a[i]
    for (i = 2; i <= m; i++) for (j = i; j > 1 && b[j - 1] > b[j]; j--) { t = b[j]; b[j] = b[j - 1]; b[j - 1] = t }
    return (m % 2) ? b[(m + 1) / 2] : (b[m / 2] + b[m / 2 + 1]) / 2
  }
  function row(name, tr, dr, tp50, dp50, tp99, dp99, tc, dc, errs,    ratio, cratio) {
    ratio = (dr > 0) ? sprintf("%.1fx", tr / dr) : "-"
    cratio = (tc > 0 && dc > 0) ? sprintf("%.1fx", dc / tc) : "-"
    printf "%-11s %12s %12s %7s %10s %10s %10s %10s %9s %9s %9s %s\n", name, tr, dr, ratio, tp50,
           dp50, tp99, dp99, tc, dc, cratio, errs
  }
  /op=/ {
    delete f
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    r = f["round"] + 0; if (r == 0) r = 1
    key = f["label"] SUBSEP f["op"] SUBSEP r
    rps[key] = f["rps"]; p50[key] = f["p50_ms"]; p99[key] = f["p99_ms"]; err[key] = f["errors"]
    cpu[key] = f["server_cpu_us"]
    if (!(f["op"] in seen)) { seen[f["op"]] = 1; ops[++n] = f["op"] }
  }
  END {
    header = sprintf("%-11s %12s %12s %7s %10s %10s %10s %10s %9s %9s %9s %s", "operation",
                     "table rps", "dynalite rps", "ratio", "table p50", "dyn p50", "table p99",
                     "dyn p99", "table cpu", "dyn cpu", "cpu ratio",
                     "(ms; cpu: server us/request; errors table/dyn)")
    for (r = 1; r <= rounds; r++) {
      if (rounds > 1) printf "%sround %d\n", (r > 1 ? "\n" : ""), r
      print header
      for (i = 1; i <= n; i++) {
        t = "mysfits-table" SUBSEP ops[i] SUBSEP r; d = "dynalite" SUBSEP ops[i] SUBSEP r
        row(ops[i], rps[t], rps[d], p50[t], p50[d], p99[t], p99[d], cpu[t], cpu[d], err[t] "/" err[d])
      }
    }
    if (rounds == 1) exit
    printf "\nmedians over %d rounds; ratio = median of the rounds'"'"' ratios; then the rounds with the\n", rounds
    printf "table at 10x or more / with the lower p99\n"
    printf "%-11s %12s %12s %7s %10s %10s %9s %9s %9s %s\n", "operation", "table rps",
           "dynalite rps", "ratio", "table p99", "dyn p99", "table cpu", "dyn cpu", "cpu ratio",
           "rounds >=10x / lower p99"
    for (i = 1; i <= n; i++) {
      delete tr; delete dr; delete ra; delete tp; delete dp; delete tc; delete dc; delete cr
      m = 0; ten = 0; lower = 0; both = 1
      for (r = 1; r <= rounds; r++) {
        t = "mysfits-table" SUBSEP ops[i] SUBSEP r; d = "dynalite" SUBSEP ops[i] SUBSEP r
        if (!(t in rps)) continue
        m++; tr[m] = rps[t]; tp[m] = p99[t]; tc[m] = cpu[t]
        if (!(d in rps) || rps[d] <= 0) { both = 0; continue }
        dr[m] = rps[d]; dp[m] = p99[d]; dc[m] = cpu[d]
        ra[m] = rps[t] / rps[d]; cr[m] = (cpu[t] > 0) ? cpu[d] / cpu[t] : 0
        if (ra[m] >= 10) ten++
        if (p99[t] + 0 < p99[d] + 0) lower++
      }
      if (m == 0) continue
      if (!both) {
        printf "%-11s %12d %12s %7s %10.3f %10s %9.1f\n", ops[i], median(tr, m), "-", "-",
               median(tp, m), "-", median(tc, m)
        continue
      }
      printf "%-11s %12d %12d %6.1fx %10.3f %10.3f %9.1f %9.1f %8.1fx %d/%d / %d/%d\n", ops[i],
             median(tr, m), median(dr, m), median(ra, m), median(tp, m), median(dp, m),
             median(tc, m), median(dc, m), median(cr, m), ten, m, lower, m
    }
  }' "$work/results"
