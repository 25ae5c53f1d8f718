# Sourced by load/run.sh and load/instructions.sh: starting and reading the `demo`
# they measure, in one place, so that a change to the demo's banner or to the registry's
# secret lines is followed by both.

# Waits up to SECONDS (default 10) for PID to print PATTERN in OUT; shows its LOG and stops if
# it exits first.
wait_banner() {
  local pid=$1 out=$2 pattern=$3 log=$4 seconds=${5:-10}
  for _ in $(seq 1 $((seconds * 10))); do
    grep -q "$pattern" "$out" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Fresh secrets for the demo providers, in the environment variables REGISTRY names, for the
# broker and whoever serves the providers.
export_provider_secrets() {
  local name
  for name in $(sed -n 's/^client_secret = { env = "\(BROKER_IDP_[A-Z0-9_]*\)" }/\1/p' "$1"); do
    export "$name=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"
  done
}

# The client secret the demo's banner (in OUT) prints for relying service RP.
banner_secret() {
  sed -n "s/.*client_id $2  secret \([^ ]*\) .*/\1/p" "$1"
}
