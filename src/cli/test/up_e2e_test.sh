#!/usr/bin/env bash
# End-to-end (issue 6): `mysfits up` on a fresh state directory; the page through the
# accelerator; a like and its count; a like visible in the secondary region (global table, its
# lag printed); `mysfits drill --break desired-count` (the primary's services at desired count 0
# under load, the accelerator serving from the secondary, counts restored, regions agreeing); a
# broken build rolled back; `mysfits down` leaving no process. Loopback only, its own state
# directory and address blocks; always runs `down` and kills its own pids at the end.
# Usage: up_e2e_test.sh MYSFITS BUILD_DIR SOURCE_DIR
set -uo pipefail
mysfits=$1
build=$2
source=$3
block=$((100 + $$ % 120))
state_prefix=mysfits-up-e2e
source "$(dirname "$0")/e2e_harness.sh"

# 0. Bad input: a clear error, nothing started.
out=$("$mysfits" --state-dir "$state/bad" up --regions us-west-2 2>&1)
rc=$?
[[ $rc == 252 && $out == *"at least two regions"* ]] || fail "one region: exit $rc, '$out'"
out=$("$mysfits" --state-dir "$state/bad" up --build-dir "$state/nowhere" 2>&1)
rc=$?
[[ $rc != 0 && $out == *"nowhere/src/table/mysfits-table is missing"* ]] || fail "no build: exit $rc, '$out'"
[[ ! -e $state/bad/system.json && ! -e $state/bad/table ]] || fail "a refused up left state behind"

# 1. up, fresh.
t0=$(date +%s.%N)
timeout 170 "$mysfits" --state-dir "$state" up --build-dir "$build" --source-dir "$source" \
  --first-block "$block" --timeout 140 >"$state/up.out" 2>&1
rc=$?
t1=$(date +%s.%N)
cat "$state/up.out"
remember_pids
if [[ $rc != 0 ]]; then
  fail "mysfits up exited $rc"
  for f in "$state"/logs/*.log; do echo "== $f"; tail -20 "$f"; done
  exit 1
fi
echo "FIGURE up_fresh_seconds $(python3 -c "print(round($t1 - $t0, 1))")"
acc=$(json 'd["accelerator"]["url"]')
west=$(json 'd["primary_region"]')
east=$(json '[r for r in d["regions"] if r != d["primary_region"]][0]')
lb_east=$(json 'd["regions"]["'"$east"'"]["load_balancer"]["url"]')
cluster=$(json 'd["regions"]["'"$west"'"]["cluster"]')
[[ $acc == http://127.* && $lb_east == http://127.0.* ]] || fail "system.json: accelerator '$acc', load balancer '$lb_east'"

# 2. The page and the twelve mysfits through the accelerator.
page=$(curl -s --max-time 10 "$acc/")
grep -q "Served from region" <<<"$page" || fail "the page through the accelerator"
grep -q ">$west<" <<<"$page" || fail "the page is not served from the primary ($west)"
count=$(curl -s --max-time 10 "$acc/mysfits" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['mysfits']))")
[[ $count == 12 ]] || fail "expected 12 mysfits through the accelerator, got '$count'"
id=$(curl -s --max-time 10 "$acc/mysfits" | python3 -c "import json,sys; print(json.load(sys.stdin)['mysfits'][0]['mysfitId'])")

# 3. A like through the accelerator, and its count.
before=$(curl -s --max-time 10 "$acc/mysfits/$id" | python3 -c "import json,sys; print(json.load(sys.stdin)['likes'])")
liked=$(curl -s --max-time 10 -X POST "$acc/mysfits/$id/like" | python3 -c "import json,sys; print(json.load(sys.stdin)['likes'])")
[[ $liked == $((before + 1)) ]] || fail "like answered '$liked', expected $((before + 1))"
after=$(curl -s --max-time 10 "$acc/mysfits/$id" | python3 -c "import json,sys; print(json.load(sys.stdin)['likes'])")
[[ $after == $((before + 1)) ]] || fail "likes after the like: '$after', expected $((before + 1))"

# 4. A like through the accelerator is visible in the secondary region's table (through its
# load balancer) within 5 s; the measured lag is printed (FIGURE like_visible_ms), not asserted.
here=$(dirname "$0")
if python3 "$here/like_lag.py" "$acc" "$id" 5 "$east=$lb_east"; then
  echo "ok: the like is visible in $east"
else
  fail "a like is not visible in $east's table within 5 s"
fi

# 5. status names every piece.
m status >"$state/status.out" 2>&1 || fail "mysfits status"
cat "$state/status.out"
for piece in "region $west" "region $east" "load balancer" "accelerator" "core-service" \
  "replication    from $east: latency" "replication    from $west: latency"; do
  grep -q "$piece" "$state/status.out" || fail "status does not show '$piece'"
done

# 6. A second up is quick and changes nothing.
t0=$(date +%s.%N)
m up --build-dir "$build" --source-dir "$source" --timeout 60 >"$state/up2.out" 2>&1 || fail "second up"
t1=$(date +%s.%N)
echo "FIGURE up_second_seconds $(python3 -c "print(round($t1 - $t0, 1))")"
grep -q "already deployed" "$state/up2.out" || fail "the second up ran the pipeline again"
[[ $(json 'd["accelerator"]["url"]') == "$acc" ]] || fail "the second up moved the accelerator"

# 7. Break the primary (lab 5) through the drill: its services at desired count 0 under load
# through the accelerator, the accelerator serving from the secondary, counts restored.
desired_of() {
  m ecs describe-services --cluster "$cluster" --services "$1" --region "$west" \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['services'][0]['desiredCount'])"
}
desired_before=$(desired_of like-service)
m drill --break desired-count --rate 20 --connections 4 --duration 1s --converge-timeout 30s \
  --json >"$state/drill.json" 2>"$state/drill.err"
drc=$?
[[ $drc == 0 ]] || { fail "mysfits drill --break desired-count exited $drc"; cat "$state/drill.err"; }
python3 - "$state/drill.json" "$west" <<'PY' || fail "drill --break desired-count: see the checks above"
import json, sys
r = json.load(open(sys.argv[1])); west = sys.argv[2]
f = r.get("failover", {}); l = r.get("loss", {}); c = r.get("convergence", {})
h = r.get("heal", {})
print("drill:", json.dumps({k: f.get(k) for k in (
    "accelerator_marked_unhealthy_s", "recovery_s", "failed_requests", "requests_after_break",
    "failed_by_status", "primary_answers_after_failover", "slowest_answer_after_break_s",
    "requests_resent")}), "heal", h.get("primary_healthy_again_s"), "agree",
    c.get("time_to_agree_s"), "likes", json.dumps({k: l.get(k) for k in (
    "likes_acknowledged", "superseded_under_lww", "unexplained_loss", "duplicates")}))
print(f"FIGURE drill_desired_count_unhealthy_seconds {f.get('accelerator_marked_unhealthy_s')}")
print(f"FIGURE drill_desired_count_failed {f.get('failed_requests')} of {f.get('requests_after_break')}")
print(f"FIGURE drill_desired_count_recovery_seconds {f.get('recovery_s')}")
print(f"FIGURE drill_desired_count_heal_seconds {h.get('primary_healthy_again_s')}")
bad = []
def check(cond, what):
    if not cond: bad.append(what); print("FAIL:", what)
check(r.get("primary_region") == west, f"primary {r.get('primary_region')}")
check("error" not in f.get("break", {}), f"break: {f.get('break')}")
check(f.get("accelerator_marked_unhealthy_s") is not None, "the accelerator marked the primary unhealthy")
check(f.get("dead_region_unused_after_failover") is True,
      f"primary unused after failover ({f.get('primary_answers_after_failover')} answers)")
check(f.get("recovered") is True, f"recovered (last failure at {f.get('recovery_s')} s)")
# HTTP-aware mode: the load balancer left with no target answers a marked 503 that the
# accelerator sends on to the secondary, so scaling the primary to zero costs no client an error.
check(f.get("failed_requests") == 0,
      f"zero failed requests ({f.get('failed_requests')} {f.get('failed_by_status')})")
check(h.get("how") == "desired counts restored" and h.get("primary_healthy_again_s") is not None,
      f"healed: {h}")
check(c.get("regions_agree") is True, "regions agree after the heal")
check(l.get("unexplained_loss") == 0, f"no unexplained loss ({l.get('unexplained_loss')})")
sys.exit(1 if bad else 0)
PY
desired=$(desired_of like-service)
[[ $desired == "$desired_before" ]] || fail "like-service desired count after the drill: $desired, expected $desired_before"
back=0
for _ in $(seq 1 300); do
  if curl -s --max-time 5 "$acc/" | grep -q ">$west<"; then back=1; break; fi
  sleep 0.1
done
[[ $back == 1 ]] || fail "the accelerator did not come back to $west after the drill"
remember_pids

# 8. A broken build is rolled back and the pipeline stops.
printf '#!/bin/sh\necho broken build; exit 3\n' >"$state/broken-core"
chmod +x "$state/broken-core"
before_td=$(m ecs describe-services --cluster "$cluster" --services core-service --region "$west" \
  | python3 -c "import json,sys; print(json.load(sys.stdin)['services'][0]['taskDefinition'])")
m pipeline run --source-dir "$source" --regions "$west,$east" \
  --core-binary "$state/broken-core" --like-binary "$build/src/app/mysfits-like" \
  --deploy-timeout 15 >"$state/pipeline.out" 2>&1
prc=$?
cat "$state/pipeline.out"
[[ $prc != 0 ]] || fail "the broken pipeline run succeeded"
grep -q "rolled back to $before_td" "$state/pipeline.out" || fail "no rollback to $before_td"
grep -q "CrossRegionDeploy" "$state/pipeline.out" && fail "the broken build reached CrossRegionDeploy"
after_td=$(m ecs describe-services --cluster "$cluster" --services core-service --region "$west" \
  | python3 -c "import json,sys; print(json.load(sys.stdin)['services'][0]['taskDefinition'])")
[[ $after_td == "$before_td" ]] || fail "core-service is on $after_td, not $before_td"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$acc/mysfits")
[[ $code == 200 ]] || fail "after the rollback GET /mysfits answered $code"
remember_pids

# 9. down leaves no process.
t0=$(date +%s.%N)
m down || fail "mysfits down"
t1=$(date +%s.%N)
echo "FIGURE down_seconds $(python3 -c "print(round($t1 - $t0, 1))")"
left=$(ours_left)
[[ -z $left ]] || fail "processes left after down:$left"
[[ ! -e $state/system.json ]] || fail "system.json still there after down"

if ((${#failures[@]})); then
  echo "${#failures[@]} failure(s):"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
echo "up e2e: all checks passed"
