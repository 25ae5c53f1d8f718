#!/usr/bin/env bash
# Counts the instructions the broker executes per brokered login, under valgrind's callgrind.
# Unlike logins/s, the count does not depend on what else the machine is doing (this VM drifts
# 15-25 % between timed runs), so two commits can be compared to within about 1 %.
#
#   load/instructions.sh [--logins 300] [--no-build] [--keep DIR] [-- extra load flags]
#
# The broker runs as `demo --providers elsewhere` (in-memory store) under callgrind; the
# load tool serves the four demo providers itself (`load --serve-providers`) and runs 40
# unmeasured logins (discovery, JWKS, first allocations), then the counters are zeroed and N
# logins run at concurrency 1. Prints the count per login and the 25 functions with the most
# instructions of their own; DIR (default: a temporary directory, removed) keeps the
# callgrind file for `callgrind_annotate --inclusive=yes`.
#
# Caveats: user-space instructions only (the kernel's TCP work is not counted), and under
# valgrind the cryptography library may take other code paths than on the real CPU (valgrind
# reports fewer CPU features), so signatures can weigh more than they do there. Use it to
# compare, not to size. Needs valgrind (Debian: valgrind).
# Ports 8400, 8411-8413, 8419 and 8490 must be free.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
LOGINS=300
BUILD=1
KEEP=
EXTRA=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --logins) LOGINS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --keep) KEEP=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "instructions.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[[ $LOGINS =~ ^[1-9][0-9]*$ ]] || { echo "instructions.sh: --logins takes a positive number" >&2; exit 2; }

if [[ $BUILD == 1 ]]; then
  cargo build --release --quiet -p demo -p load
fi
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
DEMO=$TARGET/release/demo
LOAD=$TARGET/release/load

WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
VG_PID=
cleanup() {
  [[ -n $VG_PID ]] && kill "$VG_PID" 2>/dev/null && wait "$VG_PID" 2>/dev/null
  [[ -z $KEEP ]] && rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

# wait_banner, port_busy, export_provider_secrets, banner_secret
. "$ROOT/load/demo-common.sh"

for p in 8400 8411 8412 8413 8419 8490; do
  if port_busy "$p"; then
    echo "instructions.sh: port $p is in use (another demo?)" >&2
    exit 1
  fi
done

export_provider_secrets "$ROOT/examples/registry/pan-canada.toml"

RP=esdc-employment-insurance
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out.%p" \
  "$DEMO" --port 8400 --providers elsewhere \
  --per-address-per-minute 0 --per-client-per-minute 0 >"$WORK/demo.out" 2>"$WORK/broker.log" &
VG_PID=$!
# Under valgrind the demo takes seconds, not milliseconds, to start.
wait_banner "$VG_PID" "$WORK/demo.out" "client_id $RP " "$WORK/broker.log" 60
LOAD_CLIENT_SECRET=$(banner_secret "$WORK/demo.out" "$RP")
[[ -n $LOAD_CLIENT_SECRET ]] || { echo "instructions.sh: no demo banner" >&2; cat "$WORK/demo.out" >&2; exit 1; }
export LOAD_CLIENT_SECRET

run_logins() {
  "$LOAD" --broker http://127.0.0.1:8400 --client-id "$RP" \
    --redirect-uri "http://127.0.0.1:8490/callback/$RP" --serve-providers \
    --concurrency 1 --logins "$1" --warmup 0s --timeout 60s \
    ${EXTRA[@]+"${EXTRA[@]}"} >"$2" 2>"$2.log"
}
run_logins 40 "$WORK/warm.json"
callgrind_control --zero "$VG_PID" >/dev/null 2>&1
run_logins "$LOGINS" "$WORK/run.json"
callgrind_control --dump "$VG_PID" >/dev/null 2>&1

OUT=$(ls -t "$WORK"/callgrind.out.*.1 | head -1)
python3 - "$WORK/run.json" "$LOGINS" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
runs = report["runs"] if "runs" in report else [report]
done = sum(r["logins"] for r in runs)
errors = [r["errors"] for r in runs if r["errors"]]
if done != int(sys.argv[2]) or errors:
    sys.exit(f"instructions.sh: {done} logins of {sys.argv[2]}, errors {errors}")
EOF
TOTAL=$(callgrind_annotate "$OUT" | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "broker: $TOTAL instructions for $LOGINS logins, $((TOTAL / LOGINS)) per login"
echo "functions with the most instructions of their own:"
# Frames that were on a thread's stack when the counters were zeroed (thread start, the
# tokio worker loop) are charged everything after it as their own: they are left out.
callgrind_annotate --inclusive=no --threshold=100 "$OUT" \
  | awk '/^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS/ {
      pct = $2; gsub(/[(%)]/, "", pct); if (pct + 0 < 90) print }' \
  | head -25 | cut -c1-160
[[ -n $KEEP ]] && echo "callgrind file: $OUT"
