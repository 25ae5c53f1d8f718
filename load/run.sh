#!/usr/bin/env bash
# Measures the broker: brokered logins at several concurrency levels against `demo`
# (release build; a fresh broker per run), each run followed by the single-hop ceiling (demo
# providers served in the load tool's own process, broker stopped), for --rounds rounds per
# level.
# Writes JSON to load/results/ (git-ignored): run-STAMP.json holds everything; tables go to
# stderr.
#
#   load/run.sh [--port 8400] [--duration 10s] [--warmup 2s] [--concurrency 1,8,32] [--rounds 3]
#               [--store memory|redis|redis+postgres[@baseline][,…]] [--baseline DIR]
#               [--tls] [--alg ES256|PS256|RS256|EdDSA]
#               [--providers tool|broker|apart] [--alberta-only] [--no-build]
#               [-- extra load flags]
#
# Where the four demo providers of the example registry (Alberta, British Columbia, Quebec,
# federal) run; logins go round robin to them, each with its first test person:
#   tool (default)  in the load tool's process (`load --serve-providers`), as in the single-hop
#                   runs; the broker runs as `demo --providers elsewhere`, so its CPU and
#                   memory figures are its own;
#   broker          in the broker's process: plain `demo`, the README's one command;
#   apart           in a process of their own (`demo --providers only`).
# Client secrets are fresh for each run, shared through the environment variables the registry
# names. One demo provider keeps at most 10,000 access tokens for 5 minutes and then fails
# every login, so Alberta alone caps a run at 10,000 logins (--alberta-only shows it). Every
# login is shown the consent page and shares (a first-time person); `-- --remember-consent`
# measures returning persons instead.
# --store redis runs the same demo with its state in a redis-server started for the run (its
# records in SQLite in memory, the demo's default); --store redis+postgres also keeps its
# records in a PostgreSQL started for the run (initdb and pg_ctl from scripts/setup's
# postgresql package, fsync and synchronous commit on, as a production server). Several stores,
# comma-separated, are measured in interleaved runs within each round (one single-hop run per
# round serves them all), and their rates compared round by round: e.g.
# --store redis,redis+postgres --concurrency 8,32 for what the records cost.
# A store ending in @baseline runs the `demo` of another build, in DIR of --baseline (for
# example a target/release of an earlier commit, built with --target-dir), so that a change is
# measured against what came before it in the same interleaved rounds: e.g.
# --store redis+postgres@baseline,redis+postgres --baseline /tmp/before/release.
# --tls serves the broker over https (TLS terminated in the broker) with a throw-away
# self-signed certificate for 127.0.0.1 made with openssl in the run's temporary directory;
# the load tool trusts it with --ca-file. The demo providers and relying service stay http.
#
# Everything runs on 127.0.0.1: ports 8411, 8412, 8413, 8419 (providers) and 8490 (the demo
# relying service) must be free. On a 2-core machine the load tool and the broker share the
# cores, so figures are a floor for the broker alone, not a capacity statement.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=8400
DURATION=10s
WARMUP=2s
CONCURRENCY=1,8,32
ROUNDS=3
STORE=memory
BUILD=1
BASELINE=
ALBERTA_ONLY=0
TLS=0
PROVIDERS=tool
ALG=ES256
EXTRA=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) PORT=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --store) STORE=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --tls) TLS=1; shift ;;
    --providers) PROVIDERS=$2; shift 2 ;;
    --alg) ALG=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --alberta-only) ALBERTA_ONLY=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

case $PROVIDERS in tool|broker|apart) ;; *) echo "run.sh: --providers tool|broker|apart" >&2; exit 2 ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds takes a positive number" >&2; exit 2; }

RESULTS=$ROOT/load/results
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$(mktemp -d)
BROKER_PID=
PROVIDERS_PID=
REDIS_PID=
PG_DATA=
DEMO_EXTRA=()
REGISTRY_DEMO=()
# --alg PS256|RS256|EdDSA: the measured service signs its ID tokens with that algorithm (a
# copy of the example registry with its ES256 line changed).
if [[ $ALG != ES256 ]]; then
  case $ALG in PS256|RS256|EdDSA) ;; *) echo "run.sh: --alg ES256|PS256|RS256|EdDSA" >&2; exit 2 ;; esac
  sed "s/id_token_signed_response_alg = \"ES256\"/id_token_signed_response_alg = \"$ALG\"/" \
    "$ROOT/examples/registry/pan-canada.toml" >"$WORK/registry.toml"
  REGISTRY_DEMO=(--registry "$WORK/registry.toml")
fi
TLS_DEMO=()
TLS_LOAD=()
stop_postgres() {
  if [[ -n $PG_DATA ]]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    PG_DATA=
  fi
}
stop_redis() {
  if [[ -n $REDIS_PID ]]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=
  fi
}
stop_providers() {
  if [[ -n $PROVIDERS_PID ]]; then
    kill "$PROVIDERS_PID" 2>/dev/null || true
    wait "$PROVIDERS_PID" 2>/dev/null || true
    PROVIDERS_PID=
  fi
}
cleanup() {
  stop_redis
  stop_postgres
  stop_providers
  if [[ -n $BROKER_PID ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ $BUILD == 1 ]]; then
  cargo build --release -p demo -p load
fi
DEMO=$ROOT/target/release/demo
LOAD=$ROOT/target/release/load

if [[ $TLS == 1 ]]; then
  # Not a CA (openssl req -x509 marks its certificate CA:TRUE by default, which rustls refuses
  # as a server certificate).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 1 \
    -keyout "$WORK/tls-key.pem" -out "$WORK/tls-cert.pem" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
    -addext extendedKeyUsage=serverAuth 2>"$WORK/openssl.log" || { cat "$WORK/openssl.log" >&2; exit 1; }
  TLS_DEMO=(--tls-cert "$WORK/tls-cert.pem" --tls-key "$WORK/tls-key.pem")
  TLS_LOAD=(--ca-file "$WORK/tls-cert.pem")
fi

# wait_banner, port_busy, export_provider_secrets, banner_secret
. "$ROOT/load/demo-common.sh"

RP=esdc-employment-insurance
RP_REDIRECT=http://127.0.0.1:8490/callback/$RP
IDP=ab-account
PERSON=ab-amelie-tremblay

# Starts the broker with the in-memory store (`demo`) and sets BROKER_PID, BROKER_URL
# and LOAD_CLIENT_SECRET (parsed from the demo's banner on stdout).
start_broker_memory() {
  for p in "$PORT" 8411 8412 8413 8419 8490; do
    if port_busy "$p"; then
      echo "run.sh: port $p is in use (another demo?): stop it or choose --port" >&2
      exit 1
    fi
  done
  local providers_out=$WORK/demo.out
  if [[ $PROVIDERS != broker ]]; then
    export_provider_secrets "${REGISTRY_DEMO[1]:-$ROOT/examples/registry/pan-canada.toml}"
  fi
  if [[ $PROVIDERS == apart ]]; then
    providers_out=$WORK/providers.out
    "$DEMO" --providers only --port "$PORT" ${REGISTRY_DEMO[@]+"${REGISTRY_DEMO[@]}"} \
      ${TLS_DEMO[@]+"${TLS_DEMO[@]}"} >"$providers_out" 2>"$WORK/providers.log" &
    PROVIDERS_PID=$!
    wait_banner "$PROVIDERS_PID" "$providers_out" "providers only" "$WORK/providers.log"
  fi
  local elsewhere=()
  [[ $PROVIDERS != broker ]] && elsewhere=(--providers elsewhere)
  # The rate limits are off: the load tool is one address and one client, and this measures
  # capacity, not the limits.
  "$DEMO" --port "$PORT" --per-address-per-minute 0 --per-client-per-minute 0 \
    ${DEMO_EXTRA[@]+"${DEMO_EXTRA[@]}"} ${elsewhere[@]+"${elsewhere[@]}"} \
    ${REGISTRY_DEMO[@]+"${REGISTRY_DEMO[@]}"} ${TLS_DEMO[@]+"${TLS_DEMO[@]}"} \
    >"$WORK/demo.out" 2>"$WORK/broker.log" &
  BROKER_PID=$!
  wait_banner "$BROKER_PID" "$WORK/demo.out" "client_id $RP " "$WORK/broker.log"
  LOAD_CLIENT_SECRET=$(banner_secret "$WORK/demo.out" "$RP")
  BROKER_URL=$(sed -n 's/^ *broker issuer *\(http[^ ]*\).*/\1/p' "$WORK/demo.out")
  local ab
  ab=$(sed -n "s/^ *provider CA-AB *\(http[^ ]*\) *($IDP;.*/\1/p" "$providers_out")
  if [[ -z $LOAD_CLIENT_SECRET || -z $BROKER_URL || -z $ab ]]; then
    echo "run.sh: could not read the demo banner:" >&2
    cat "$WORK/demo.out" >&2
    exit 1
  fi
  export LOAD_CLIENT_SECRET
  # Every demo provider with its first test person, from lines like
  #   provider CA-AB        http://127.0.0.1:8411  (ab-account; test persons: ab-amelie-tremblay, ...)
  # (the load tool finds them itself in the registry when it serves the providers).
  HINTS=()
  if [[ $ALBERTA_ONLY == 1 ]]; then
    HINTS=(--idp-hint "$IDP" --login-hint "$PERSON")
  elif [[ $PROVIDERS != tool ]]; then
    HINTS=(--idp-hint "$(sed -n 's/^ *provider .*(\([^;]*\); test persons: \([^,)]*\).*/\1/p' "$providers_out" | paste -sd,)"
           --login-hint "$(sed -n 's/^ *provider .*(\([^;]*\); test persons: \([^,)]*\).*/\2/p' "$providers_out" | paste -sd,)")
  fi
  SERVE=()
  [[ $PROVIDERS == tool ]] && SERVE=(--serve-providers ${REGISTRY_DEMO[@]+"${REGISTRY_DEMO[@]}"})
  echo "run.sh: broker $BROKER_URL (pid $BROKER_PID), Alberta provider $ab, providers in the $PROVIDERS process" >&2
}

# A Redis this script starts on a free loopback port (redis-server from scripts/setup),
# stopped with the run; sets REDIS_URL.
start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# PostgreSQL refuses to run as root: as the `postgres` user that Debian's package creates.
as_postgres() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A fresh PostgreSQL (initdb, a database `records`) on a free loopback port, stopped with the
# run; sets PG_URL.
start_postgres() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x $PG_BIN/initdb ]] || { echo "run.sh: PostgreSQL's initdb is missing (scripts/setup installs it)" >&2; exit 1; }
  local dir port
  dir=$(mktemp -d)
  chmod 0777 "$dir"
  port=$(free_port)
  PG_DATA=$dir/data
  as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-sync >"$WORK/pg-init.log" 2>&1 \
    || { cat "$WORK/pg-init.log" >&2; exit 1; }
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/server.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres records
  PG_URL=postgres://postgres@127.0.0.1:$port/records
  PG_PORT=$port
}

# The audit log's checkpoint latency in this run (docs/audit-log.md): for every disclosure
# record, the time from its release to the signing of the first checkpoint that holds it, in
# ms, as "median p99 max count"; "null" where the records have no log (a baseline build).
checkpoint_latency() {
  sleep 2  # the last records' checkpoint
  as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d records -Atq -F ' ' -c "
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lat)), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lat)),
           max(lat), count(*)
    FROM (SELECT (SELECT c.at FROM log_checkpoints c WHERE c.size > d.leaf ORDER BY c.size LIMIT 1) - d.at AS lat
          FROM disclosures d) x WHERE lat IS NOT NULL" 2>/dev/null || echo null
}

# The demo with its state (and records) where store $1 says; the baseline's demo for a store
# ending in @baseline.
start_broker() {
  DEMO_EXTRA=()
  DEMO=$ROOT/target/release/demo
  [[ $1 == *@baseline ]] && DEMO=$BASELINE/demo
  case ${1%@baseline} in
    memory) ;;
    redis) start_redis; DEMO_EXTRA=(--redis-url "$REDIS_URL") ;;
    redis+postgres)
      start_redis
      start_postgres
      DEMO_EXTRA=(--redis-url "$REDIS_URL" --records-url "$PG_URL")
      ;;
  esac
  start_broker_memory
}

# Busy ticks of the machine (all cores), from /proc/stat.
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# The machine is shared (other builds and tests): wait up to 60 s for a second in which it is
# below a quarter of one core busy, so that runs measure the broker and not a neighbour. Each
# run's JSON has cpu.others_pct to judge afterwards (it includes loopback softirq, ~5-10).
wait_quiet() {
  local a b
  for _ in $(seq 1 60); do
    a=$(busy_ticks); sleep 1; b=$(busy_ticks)
    (( b - a < 25 )) && return 0
  done
  echo "run.sh: the machine stayed busy for 60 s; measuring anyway (see cpu.others_pct)" >&2
}

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

stop_broker() {
  kill "$BROKER_PID"
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=
  stop_providers
  stop_redis
  stop_postgres
}

# A fresh broker and fresh providers for each run: each demo provider keeps at most 10,000
# access tokens for 5 minutes (then answers server_error, which the broker turns into
# access_denied), so the four of them serve at most 40,000 logins in 5 minutes; and providers
# served by a new load tool sign with new keys, which a broker that cached the old ones would
# refetch only once a minute.
#
# The single-hop ceiling is measured in the same rounds: after each brokered run, the same
# tool logs in directly at demo providers configured as the Alberta one (16 of them, round
# robin, fresh for each run, for the same 10,000-token bound) served in its own process, with
# the broker stopped. This VM's speed drifts by 15-25 % within minutes, so a brokered rate is
# only compared with the ceiling measured next to it: each round gives a ratio, and a level's
# ratio is the median of its rounds'.
STORES=(${STORE//,/ })
for S in "${STORES[@]}"; do
  case ${S%@baseline} in memory|redis|redis+postgres) ;; *) echo "run.sh: --store memory|redis|redis+postgres[@baseline][,…]" >&2; exit 2 ;; esac
  if [[ $S == *@baseline && ! -x $BASELINE/demo ]]; then
    echo "run.sh: $S needs --baseline DIR holding another build's demo" >&2; exit 2
  fi
done
# Per store, a file name of its own: redis+postgres@baseline -> redis-postgres-baseline.
tag() { local t=${1//+/-}; printf '%s' "${t//@/-}"; }
declare -A RSS_LINES SLICES
for C in ${CONCURRENCY//,/ }; do
  for R in $(seq 1 "$ROUNDS"); do
    for S in "${STORES[@]}"; do
      start_broker "$S"
      IDLE=$(rss_kb "$BROKER_PID")
      wait_quiet
      OUT=$WORK/brokered-$C-$R-$(tag "$S").json
      "$LOAD" --broker "$BROKER_URL" --client-id "$RP" --redirect-uri "$RP_REDIRECT" \
        ${HINTS[@]+"${HINTS[@]}"} ${SERVE[@]+"${SERVE[@]}"} --concurrency "$C" \
        --duration "$DURATION" --warmup "$WARMUP" --watch-pid "$BROKER_PID" \
        ${TLS_LOAD[@]+"${TLS_LOAD[@]}"} ${EXTRA[@]+"${EXTRA[@]}"} >"$OUT"
      AFTER=$(rss_kb "$BROKER_PID")
      LATENCY=null
      if [[ $S == redis+postgres ]]; then
        read -r L50 L99 LMAX LN <<<"$(checkpoint_latency)"
        if [[ -n ${LN:-} ]]; then
          LATENCY="{\"p50_ms\": $L50, \"p99_ms\": $L99, \"max_ms\": $LMAX, \"records\": $LN}"
          echo "run.sh: $S, concurrency $C, round $R: checkpoint latency p50 ${L50} ms, p99 ${L99} ms, max ${LMAX} ms over $LN disclosures" >&2
        fi
      fi
      LOG_BYTES=$(wc -c <"$WORK/broker.log")
      # With --providers apart, the providers' process is apart: its CPU shows in the load
      # tool's cpu.others_pct, its memory here.
      PROVIDERS_KB=null
      [[ -n $PROVIDERS_PID ]] && PROVIDERS_KB=$(rss_kb "$PROVIDERS_PID")
      echo "run.sh: $S, concurrency $C, round $R: broker VmRSS ${IDLE} kB idle, ${AFTER} kB after; ${LOG_BYTES} bytes of log${PROVIDERS_PID:+; providers apart: ${PROVIDERS_KB} kB}" >&2
      RSS_LINES[$S]+="${RSS_LINES[$S]:+,}{\"concurrency\": $C, \"round\": $R, \"idle_kb\": $IDLE, \"after_kb\": $AFTER, \"log_bytes\": $LOG_BYTES, \"providers_apart_kb\": $PROVIDERS_KB, \"checkpoint_latency\": $LATENCY}"
      stop_broker
    done
    wait_quiet
    "$LOAD" --single-hop --spawn-demo-provider --idp-hint "$IDP" --login-hint "$PERSON" \
      --concurrency "$C" --duration "$DURATION" --warmup "$WARMUP" \
      >"$WORK/single-hop-$C-$R.json"
    for S in "${STORES[@]}"; do
      SLICES[$S]+=" $WORK/brokered-$C-$R-$(tag "$S").json $WORK/single-hop-$C-$R.json"
    done
  done
done

# One document per store: the settings, the broker's memory, every round's brokered and
# single-hop runs with their ratio, and each level's medians; a table of the rounds on stderr.
# With one store, run-STAMP.json; with several, run-STAMP-STORE.json each.
for S in "${STORES[@]}"; do
  NAME=run-$STAMP.json
  (( ${#STORES[@]} > 1 )) && NAME=run-$STAMP-$(tag "$S").json
  [[ ${#STORES[@]} -gt 1 ]] && echo "run.sh: store $S" >&2
  # shellcheck disable=SC2086
  "$LOAD" --combine-rounds ${SLICES[$S]} \
    --meta "store=\"$S\"" --meta "alg=\"$ALG\"" \
    --meta "tls=$([[ $TLS == 1 ]] && echo true || echo false)" --meta "providers=\"$PROVIDERS\"" \
    --meta "rounds=$ROUNDS" --meta "broker=[${RSS_LINES[$S]}]" \
    >"$RESULTS/$NAME"
  echo "run.sh: wrote $RESULTS/$NAME" >&2
done

# Several stores: each one's rate against the first's, round by round (runs seconds apart, so
# the machine's drift cancels), and the median per level; its p99 beside the first's.
if (( ${#STORES[@]} > 1 )); then
  BASE=${STORES[0]}
  {
    printf '%5s %-15s %11s %9s %9s %9s\n' conc store "rate/base" "med p99" "base p99" "rounds"
    for C in ${CONCURRENCY//,/ }; do
      for S in "${STORES[@]:1}"; do
        FILES=()
        for R in $(seq 1 "$ROUNDS"); do
          FILES+=("$WORK/brokered-$C-$R-$(tag "$BASE").json" "$WORK/brokered-$C-$R-$(tag "$S").json")
        done
        jq -rs --arg c "$C" --arg s "$S" '
          def med: sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
          [range(0; length; 2) as $i | {base: .[$i].runs[0], other: .[$i+1].runs[0]}] as $rounds
          | ($rounds | map(.other.logins_per_second / .base.logins_per_second)) as $ratios
          | "\($c | tonumber | tostring | (" " * (5 - length)) + .) \($s + (" " * (15 - ($s | length)))) \(($ratios | med * 1000 | round / 1000) | tostring | (" " * (11 - length)) + .) \(($rounds | map(.other.latency_ms.p99) | med) | tostring | (" " * (9 - length)) + .) \(($rounds | map(.base.latency_ms.p99) | med) | tostring | (" " * (9 - length)) + .) \($ratios | map(. * 1000 | round / 1000) | tostring)"
        ' "${FILES[@]}"
      done
    done
  } | tee "$RESULTS/run-$STAMP-compare.txt" >&2
  echo "run.sh: wrote $RESULTS/run-$STAMP-compare.txt (rate/base: the store's logins/s over $BASE's, median of the rounds)" >&2
fi
