#!/usr/bin/env bash
# Builds every fuzz target, then runs each for the given number of seconds (default 600), one
# after another, under `nice`, and prints a summary. Usage: fuzz/run.sh [seconds] [target...]
#
# Each target reads its checked-in seeds (fuzz/seeds/<target>) and grows its corpus in
# fuzz/corpus/<target>; crashes and timeouts land in fuzz/artifacts/<target>. Set
# FUZZ_SANITIZER=none when the address sanitizer build fails on the toolchain at hand.
set -euo pipefail

if ! rustc +nightly -V >/dev/null 2>&1; then
    echo "fuzz/run.sh: needs the nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: needs cargo-fuzz: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

seconds="${1:-600}"
shift || true
cd "$(dirname "$0")/.."
sanitizer="${FUZZ_SANITIZER:-address}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

nice -n 19 cargo +nightly fuzz build -s "$sanitizer"
bin_dir="fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

mkdir -p fuzz/logs
summary=()
status=0
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    log="fuzz/logs/$target.log"
    case "$target" in
        authorize_request | token_request) dict=(-dict=fuzz/dicts/query.dict) ;;
        registry_file) dict=(-dict=fuzz/dicts/toml.dict) ;;
        *) dict=(-dict=fuzz/dicts/json.dict) ;;
    esac
    echo "== $target: ${seconds}s (log: $log)"
    set +e
    # The binaries built above, run directly: every target runs the same build even while
    # the sources change, as `cargo fuzz run` would (artifact prefix, ASAN_OPTIONS).
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}" nice -n 19 "$bin_dir/$target" \
        -artifact_prefix="fuzz/artifacts/$target/" "${dict[@]}" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        "fuzz/corpus/$target" "fuzz/seeds/$target" >"$log" 2>&1
    code=$?
    set -e
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    last_line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    line="${done_line:-$last_line}"
    execs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$line")
    corp=$(sed -nE 's/.* corp: ([0-9]+)\/([0-9]+[a-zA-Z]*).*/\1 (\2)/p' <<<"$line")
    crashes=$(find "fuzz/artifacts/$target" -type f | wc -l)
    [ "$code" -eq 0 ] || status=1
    summary+=("$(printf '%-20s exit %-3s execs %-11s cov %-6s ft %-7s corpus %-14s artifacts %s' \
        "$target" "$code" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes")")
done

echo
echo "== summary ($(date -u +%Y-%m-%d), ${seconds}s per target, sanitizer $sanitizer)"
printf '%s\n' "${summary[@]}"
exit "$status"
