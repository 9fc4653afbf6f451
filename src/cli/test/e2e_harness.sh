# Shared by the `mysfits up` end-to-end tests (sourced, not run): a fresh state directory, the
# pids of everything the system started, and a cleanup that runs `mysfits down` and kills only
# this test's own processes (their command line names its state directory).
# Before sourcing, set: mysfits (the CLI binary) and state_prefix (mktemp template prefix).
state=$(mktemp -d "/tmp/${state_prefix}.XXXXXX")
failures=()
fail() { echo "FAIL: $*"; failures+=("$*"); }
m() { "$mysfits" --state-dir "$state" "$@"; }
pids_of_system() {
  python3 - "$state" <<'PY' 2>/dev/null
import json, sys, glob
state = sys.argv[1]
pids = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "pid" and isinstance(x, int): pids.add(x)
            else: walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
for f in [state + "/system.json"] + glob.glob(state + "/runtime/**/*.json", recursive=True) \
         + glob.glob(state + "/ecs/*/tasks.json"):
    try: walk(json.load(open(f)))
    except Exception: pass
for f in glob.glob(state + "/agents/*.pid") + glob.glob(state + "/table/*.pid"):
    try: pids.add(int(open(f).read()))
    except Exception: pass
print(" ".join(str(p) for p in sorted(pids)))
PY
}
all_pids=""
remember_pids() { all_pids="$all_pids $(pids_of_system)"; }
ours_left() {
  local left=""
  for p in $all_pids; do
    if [[ -r /proc/$p/cmdline ]] && tr '\0' ' ' </proc/$p/cmdline | grep -qF "$state"; then
      left="$left $p"
    fi
  done
  echo "$left"
}
cleanup() {
  remember_pids
  m down >/dev/null 2>&1
  for p in $(ours_left); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$state"
}
trap cleanup EXIT
json() { python3 -c "import json,sys; d=json.load(open('$state/system.json')); print($1)"; }
