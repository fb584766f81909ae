#!/usr/bin/env bash
# Runs Splicer's libFuzzer targets (fuzz/, see docs/FUZZING.md) one after the other.
#
#   scripts/fuzz.sh [--seconds N] [--runs N] [--sanitizer address|none] [TARGET...]
#
# --seconds N   fuzz each target for N seconds (default 30); libFuzzer's -max_total_time
# --runs N      also stop a target after N executions (default: no limit)
# --sanitizer   address (default: AddressSanitizer with LeakSanitizer, so leaks fail the
#               run too) or none (faster, for long campaigns; panics and hangs still fail)
# TARGET...     default: every target in fuzz/Cargo.toml
#
# Installs cargo-fuzz (pinned) if it is missing. Uses the nightly toolchain when rustup
# has one; otherwise the stable toolchain with RUSTC_BOOTSTRAP=1, since cargo-fuzz
# needs -Z flags. New inputs go to fuzz/work/<target> (not committed); the committed
# seeds in fuzz/corpus/<target> are read. A crash, leak, timeout (-timeout, seconds per
# input) or out-of-memory (-rss_limit_mb) stops that target, leaves the input under
# fuzz/artifacts/<target>/ and makes the script exit 1 after the others ran.
# Prints the executions and executions per second of each target.
set -euo pipefail

CARGO_FUZZ_VERSION=0.12.0
SECONDS_PER_TARGET=30
RUNS=
SANITIZER=address
TARGETS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --sanitizer) SANITIZER="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds wants a whole number" >&2; exit 2; }
[[ -z "$RUNS" || "$RUNS" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --runs wants a whole number" >&2; exit 2; }
[[ "$SANITIZER" == address || "$SANITIZER" == none ]] || { echo "fuzz.sh: --sanitizer is address or none" >&2; exit 2; }

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/fuzz"

if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
CARGO=(cargo)
if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; then
    CARGO=(cargo +nightly)
else
    echo "fuzz.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
fi

mapfile -t ALL < <(awk '/^\[\[bin\]\]/{b=1; next} b && /^name = /{gsub(/"/, "", $3); print $3; b=0}' Cargo.toml)
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
    [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target $t (targets: ${ALL[*]})" >&2; exit 2; }
done

# Debug assertions on (-a): overflow checks and debug_assert! are part of what is fuzzed.
FUZZ_FLAGS=(-a --sanitizer "$SANITIZER")
echo "fuzz.sh: building ${TARGETS[*]} (sanitizer $SANITIZER)"
if [[ ${#TARGETS[@]} -eq ${#ALL[@]} ]]; then
    "${CARGO[@]}" fuzz build "${FUZZ_FLAGS[@]}"   # all at once: one cargo run, in parallel
else
    for t in "${TARGETS[@]}"; do
        "${CARGO[@]}" fuzz build "${FUZZ_FLAGS[@]}" "$t"
    done
fi

LOGS="$ROOT/fuzz/work/logs"
mkdir -p "$LOGS"
failed=()
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "work/$t" "corpus/$t"
    args=(-max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10
          -print_final_stats=1)
    [[ -n "$RUNS" ]] && args+=(-runs="$RUNS")
    [[ -f "dicts/$t.dict" ]] && args+=(-dict="dicts/$t.dict")
    log="$LOGS/$t.log"
    echo "fuzz.sh: $t for ${SECONDS_PER_TARGET}s${RUNS:+ or $RUNS runs} (log $log)"
    start=$(date +%s)
    rc=0
    "${CARGO[@]}" fuzz run "${FUZZ_FLAGS[@]}" "$t" "work/$t" "corpus/$t" -- "${args[@]}" \
        >"$log" 2>&1 || rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [[ $rc -ne 0 ]]; then
        failed+=("$t")
        result=FAILED
        grep -E 'panicked|ERROR: |SUMMARY|Test unit written|artifact_prefix' "$log" | head -8 || true
    else
        result=ok
    fi
    summary+=("$(printf '%-16s %-7s %12s executions %8s exec/s %6ss' "$t" "$result" "${execs:-?}" "${rate:-?}" "$took")")
    echo "${summary[-1]}"
done

echo "fuzz.sh: summary ($(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD))"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: FAILED: ${failed[*]} (inputs in fuzz/artifacts/, logs in $LOGS)" >&2
    exit 1
fi
