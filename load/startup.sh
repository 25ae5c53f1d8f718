#!/usr/bin/env bash
# Measures `broker serve` start-up (exec to the first 200 from /healthz) and its resident
# memory when idle, with key files and the example registry, in memory. Release build.
#
#   load/startup.sh [--runs 5] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5
BUILD=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "startup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $BUILD == 1 ]] && cargo build --release -q -p broker
BROKER=$PWD/target/release/broker
WORK=$(mktemp -d)
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
"$BROKER" generate-keys "$WORK/keys" >/dev/null
cp examples/registry/pan-canada.toml "$WORK/registry.toml"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/broker.toml" <<TOML
version = 1
issuer = "http://127.0.0.1:$PORT"
listen = "127.0.0.1:$PORT"
registry = "registry.toml"
[keys]
ES256 = "keys/es256.pem"
PS256 = "keys/ps256.pem"
RS256 = "keys/rs256.pem"
EdDSA = "keys/eddsa.pem"
[pairwise]
secret = { env = "STARTUP_PAIRWISE" }
[admin]
state_file = "$WORK/admin.toml"
TOML
export STARTUP_PAIRWISE=startup-measure-secret
for i in $(seq "$RUNS"); do
  start=$(date +%s%N)
  "$BROKER" serve --config "$WORK/broker.toml" 2>/dev/null &
  PID=$!
  until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do sleep 0.002; done
  end=$(date +%s%N)
  sleep 1
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  printf '{"run": %d, "startup_ms": %.1f, "idle_rss_kb": %d}\n' "$i" "$(( (end - start) / 1000 ))e-3" "$rss"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  PID=
done
