#!/usr/bin/env bash
# The full-size drill (issue 7, lab 5): `mysfits drill` at the workshop's scale against either a
# running system (SYSTEM=<state>/system.json, e.g. from `mysfits up`) or a two-region system
# started here by tests/drill/two_regions.py (no `mysfits up`), once per way of breaking the
# primary. Prints each text report and keeps the JSON next to it. Not part of the test suite.
#
# Usage: bench/drill.sh [BUILD_DIR]   (default build/release)
#   RATE=300 DURATION=10s MIX=likes=0.5 CONNECTIONS=16 BREAKS="kill cut"
#   SYSTEM=path/to/system.json (use a running system; BREAKS may then include desired-count)
#   COUNTER_MERGE=on|off (conflict-free likes: tag or untag the table first; default: leave it)
# Everything it starts listens on 127.0.0.1 and is stopped (by pid) on exit.
set -euo pipefail

build=${1:-build/release}
rate=${RATE:-300}
duration=${DURATION:-10s}
mix=${MIX:-likes=0.5}
conns=${CONNECTIONS:-16}
breaks=${BREAKS:-kill cut}
counter_merge=${COUNTER_MERGE:-}
here=$(cd "$(dirname "$0")/.." && pwd)
mysfits=$build/src/cli/mysfits
out=$(mktemp -d /tmp/mysfits-drill-bench.XXXXXX)

run_drill() {  # SYSTEM_FILE BREAK
  local system=$1 how=$2
  echo "== drill --break $how (rate $rate/s, $mix, $duration per phase, counter-merge" \
    "${counter_merge:-unchanged}) against $system"
  "$mysfits" --state-dir "$(dirname "$system")" drill --system "$system" --rate "$rate" \
    --mix "$mix" --connections "$conns" --duration "$duration" --break "$how" \
    ${counter_merge:+--counter-merge "$counter_merge"} --json >"$out/drill-$how.json"
  python3 - "$out/drill-$how.json" "$mysfits" <<'PY'
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
f = r.get("failover", {}); l = r["loss"]; c = r["convergence"]
print(f"  splits match: {[s.get('matches') for s in r['splits']]}")
print(f"  accelerator marked primary unhealthy after {f.get('accelerator_marked_unhealthy_s')} s; "
      f"recovery {f.get('recovery_s')} s; failed {f.get('failed_requests')} of {f.get('requests_after_break')} "
      f"{f.get('failed_by_status')}; primary answers after failover {f.get('primary_answers_after_failover')}; "
      f"slowest answer {f.get('slowest_answer_after_break_s')} s; resent {f.get('requests_resent')}")
print(f"  likes acknowledged {l['likes_acknowledged']}: superseded under LWW {l['superseded_under_lww']}, "
      f"unexplained {l['unexplained_loss']}, overwritten by late duplicates "
      f"{l.get('overwritten_by_late_duplicates')}, extra {l['counted_more_than_acknowledged']} "
      f"(duplicates {l.get('duplicates')} of {l.get('likes_resent')} resent, "
      f"{l.get('unacknowledged_but_applied')} applied without an answer, "
      f"{l.get('unexplained_extra')} unexplained)")
if l.get("refused_after_deadline_in_primary") is not None:
    d = l["refused_after_deadline_in_primary"]
    print(f"  refused by the thawed primary after their deadline: load balancer "
          f"{d.get('load_balancer')}, tasks {d.get('tasks')}")
print(f"  regions agree: {c['regions_agree']} after {c.get('time_to_agree_s')} s; "
      f"heal: {r.get('heal', {}).get('primary_healthy_again_s')} s")
PY
}

if [[ -n "${SYSTEM:-}" ]]; then
  for how in $breaks; do run_drill "$SYSTEM" "$how"; done
  echo "reports: $out"
  exit 0
fi

for how in $breaks; do
  # A fresh system per break (a killed region's restarted processes belong to that run).
  coproc HARNESS { exec python3 "$here/tests/drill/two_regions.py" --table "$build/src/table/mysfits-table" \
    --core "$build/src/app/mysfits-core" --like "$build/src/app/mysfits-like" \
    --edge "$build/src/edge/mysfits-edge" --work "$out/system-$how"; }
  harness_pid=$HARNESS_PID
  read -r ready system <&"${HARNESS[0]}"
  [[ "$ready" == ready ]] || { echo "harness did not start" >&2; exit 1; }
  run_drill "$system" "$how" || true
  eval "exec ${HARNESS[1]}>&-"   # closing its stdin stops the system
  wait "$harness_pid" || true
done
echo "reports: $out"
