#!/usr/bin/env bash
# End-to-end with three regions (issue 6: "any number of regions ≥ 2"): `mysfits up --regions
# us-west-2,us-east-1,eu-west-1` on a fresh state directory; the page through the accelerator;
# one endpoint group per region (cfn/accelerator.yml's Fn::ForEach), all three healthy in
# `mysfits status`; the table replicated to both other regions; a like through the accelerator
# visible in each other region (the lag printed, not asserted); the dashboard showing the three
# regions; `mysfits down` leaving no process. Loopback only, its own state directory and address
# blocks; always runs `down` and kills its own pids at the end.
# Usage: up3_e2e_test.sh MYSFITS BUILD_DIR SOURCE_DIR
set -uo pipefail
mysfits=$1
build=$2
source=$3
here=$(dirname "$0")
# Three /24 blocks of its own, away from cli_up_e2e's (100..219).
block=$((20 + $$ % 70))
regions=(us-west-2 us-east-1 eu-west-1)
state_prefix=mysfits-up3-e2e
source "$(dirname "$0")/e2e_harness.sh"

# 1. up with three regions, fresh.
t0=$(date +%s.%N)
timeout 200 "$mysfits" --state-dir "$state" up --build-dir "$build" --source-dir "$source" \
  --regions "$(IFS=,; echo "${regions[*]}")" --first-block "$block" --timeout 170 \
  >"$state/up.out" 2>&1
rc=$?
t1=$(date +%s.%N)
cat "$state/up.out"
remember_pids
if [[ $rc != 0 ]]; then
  fail "mysfits up exited $rc"
  for f in "$state"/logs/*.log; do echo "== $f"; tail -20 "$f"; done
  exit 1
fi
echo "FIGURE up3_fresh_seconds $(python3 -c "print(round($t1 - $t0, 1))")"
grep -q "WARNING" "$state/up.out" && fail "up printed a warning"
acc=$(json 'd["accelerator"]["url"]')
[[ $acc == http://127.* ]] || fail "system.json: accelerator '$acc'"
[[ $(json 'd["primary_region"]') == "${regions[0]}" ]] || fail "the primary is not ${regions[0]}"
[[ $(json '",".join(sorted(d["regions"]))') == "eu-west-1,us-east-1,us-west-2" ]] \
  || fail "system.json regions: $(json 'list(d["regions"])')"
groups=$(json '",".join(r for r, a in sorted(d["accelerator"]["endpoint_groups"].items()) if a.startswith("arn:aws:globalaccelerator::"))')
[[ $groups == "eu-west-1,us-east-1,us-west-2" ]] \
  || fail "system.json endpoint groups: $(json 'd["accelerator"]["endpoint_groups"]')"
declare -A lb
for r in "${regions[@]}"; do
  lb[$r]=$(json 'd["regions"]["'"$r"'"]["load_balancer"]["url"]')
  [[ ${lb[$r]} == http://127.0.* ]] || fail "no load balancer URL for $r"
done

# 2. The page and the twelve mysfits through the accelerator, served by the primary.
page=$(curl -s --max-time 10 "$acc/")
grep -q "Served from region" <<<"$page" || fail "the page through the accelerator"
grep -q ">${regions[0]}<" <<<"$page" || fail "the page is not served from the primary (${regions[0]})"
count=$(curl -s --max-time 10 "$acc/mysfits" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['mysfits']))")
[[ $count == 12 ]] || fail "expected 12 mysfits through the accelerator, got '$count'"
id=$(curl -s --max-time 10 "$acc/mysfits" | python3 -c "import json,sys; print(json.load(sys.stdin)['mysfits'][0]['mysfitId'])")

# 3. status: three endpoint groups, each with a healthy endpoint (health checks every second;
# allow 30 s on a loaded machine), and the table with replicas in both other regions.
healthy=0
for _ in $(seq 1 60); do
  m status >"$state/status.out" 2>&1
  n=0
  for r in "${regions[@]}"; do
    grep -E "^  endpoint group ${r} +dial 100% .* healthy$" "$state/status.out" | grep -vq unhealthy && n=$((n + 1))
  done
  if [[ $n == 3 ]]; then healthy=1; break; fi
  sleep 0.5
done
cat "$state/status.out"
[[ $healthy == 1 ]] || fail "status does not show three healthy endpoint groups"
for r in "${regions[@]}"; do
  grep -q "^region $r" "$state/status.out" || fail "status does not show region $r"
done
grep -q "replicas:.*us-east-1.*eu-west-1\|replicas:.*eu-west-1.*us-east-1" "$state/status.out" \
  || fail "the primary's table does not list replicas in us-east-1 and eu-west-1"

# 4. A like through the accelerator, visible in each other region (through its load balancer).
if python3 "$here/like_lag.py" "$acc" "$id" 10 "${regions[1]}=${lb[${regions[1]}]}" \
  "${regions[2]}=${lb[${regions[2]}]}"; then
  echo "ok: the like is visible in ${regions[1]} and ${regions[2]}"
else
  fail "a like through the accelerator is not visible in every other region within 10 s"
fi

# 5. The dashboard (when this build serves one) shows the three regions and three groups.
dash=$(json 'd.get("dashboard", {}).get("url", "")')
if [[ -n $dash ]]; then
  shown=""
  for _ in $(seq 1 40); do
    shown=$(curl -s --max-time 5 "$dash/api/history" | python3 -c '
import json, sys
l = json.load(sys.stdin).get("latest") or {}
regions = sorted(r["name"] for r in l.get("regions", []) if r.get("lb_up"))
groups = sorted(g["name"] for g in (l.get("accelerator") or {}).get("groups", []))
print(",".join(regions) + "|" + ",".join(groups))' 2>/dev/null)
    [[ $shown == "eu-west-1,us-east-1,us-west-2|eu-west-1,us-east-1,us-west-2" ]] && break
    sleep 0.5
  done
  [[ $shown == "eu-west-1,us-east-1,us-west-2|eu-west-1,us-east-1,us-west-2" ]] \
    || fail "the dashboard shows regions|groups '$shown'"
else
  echo "note: this build serves no dashboard"
fi
remember_pids

# 6. down leaves no process.
t0=$(date +%s.%N)
m down >"$state/down.out" 2>&1 || fail "mysfits down"
t1=$(date +%s.%N)
echo "FIGURE down3_seconds $(python3 -c "print(round($t1 - $t0, 1))") ($(grep -c stopped "$state/down.out") processes)"
left=$(ours_left)
[[ -z $left ]] || fail "processes left after down:$left"
[[ ! -e $state/system.json ]] || fail "system.json still there after down"

if ((${#failures[@]})); then
  echo "${#failures[@]} failure(s):"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
echo "up3 e2e: all checks passed"
