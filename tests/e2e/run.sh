#!/usr/bin/env bash
# tests/e2e/run.sh — runs Splicer's end-to-end tests (as root).
#
#   tests/e2e/run.sh                    every tests/e2e/t_*.sh, in name order, except the
#                                       pending ones (below)
#   tests/e2e/run.sh t_presence [...]   only those (with or without .sh), pending or not
#
# A test whose file has a line starting "# e2e: pending" tests a feature that is not there
# yet: run.sh without names lists it as not run instead of running it (SPLICER_E2E_PENDING=1
# runs it too). Deleting that line makes it an ordinary test.
# Builds target/release/splicer once first (cargo does nothing when it is up to date; skip
# with SPLICER_E2E_NO_BUILD=1, or point SPLICER_BIN at another binary). Each test runs
# alone under `timeout` (SPLICER_E2E_TIMEOUT, default 300 s) with its output in
# $SPLICER_E2E_LOGS/<test>.log and Splicer's/nginx's logs in $SPLICER_E2E_LOGS/<test>/
# (a test named again: <test>.2.log and <test>.2/, and so on)
# (default: a new /tmp/spl-e2e-logs.XXXXXX, kept). Prints PASS/FAIL per test, the log tail
# of a failure, and ends with "N passed, M failed"; exits 1 when any test failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1
export SPLICER_BIN=${SPLICER_BIN:-$repo/target/release/splicer}
timeout_s=${SPLICER_E2E_TIMEOUT:-300}

tests=()
pending=()
if [[ $# -gt 0 ]]; then
    for t in "$@"; do
        t=$(basename "${t%.sh}")
        [[ -f $here/$t.sh ]] || { echo "no such test: $here/$t.sh" >&2; exit 2; }
        tests+=("$t")
    done
else
    for f in "$here"/t_*.sh; do
        if [[ ${SPLICER_E2E_PENDING:-0} != 1 ]] && grep -q '^# e2e: pending' "$f"; then
            pending+=("$(basename "${f%.sh}")")
            continue
        fi
        tests+=("$(basename "${f%.sh}")")
    done
fi

logs=${SPLICER_E2E_LOGS:-}
if [[ -z $logs ]]; then
    logs=$(mktemp -d /tmp/spl-e2e-logs.XXXXXX)
fi
mkdir -p "$logs"
echo "e2e: ${#tests[@]} test(s), logs in $logs"
if [[ ${#pending[@]} -gt 0 ]]; then
    echo "e2e: not run, pending (name them or set SPLICER_E2E_PENDING=1): ${pending[*]}"
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "e2e: must run as root (network namespaces, TAP devices)" >&2
    echo "0 passed, ${#tests[@]} failed"
    exit 1
fi

if [[ ${SPLICER_E2E_NO_BUILD:-0} != 1 ]]; then
    if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
        PATH=$HOME/.cargo/bin:$PATH
    fi
    echo "e2e: cargo build --release -p splicer"
    if ! cargo build --release -p splicer >"$logs/build.log" 2>&1; then
        echo "FAIL build (cargo build --release -p splicer)"
        tail -n 40 "$logs/build.log" | sed 's/^/    | /'
        echo "0 passed, ${#tests[@]} failed"
        exit 1
    fi
fi
if [[ ! -x $SPLICER_BIN ]]; then
    echo "FAIL no binary at $SPLICER_BIN"
    echo "0 passed, ${#tests[@]} failed"
    exit 1
fi

# Forward an interrupt to the running test (through timeout, which signals the test's whole
# process group) so that its EXIT trap tears the test bed down.
current=""
interrupted=0
on_signal() {
    interrupted=1
    [[ -n $current ]] && kill -TERM "$current" 2>/dev/null
}
trap on_signal INT TERM

passed=0
failed=0
failed_names=()
declare -A runs=()
for t in "${tests[@]}"; do
    [[ $interrupted -eq 1 ]] && break
    # A test named again gets logs of its own (<test>.2/, <test>.2.log...): Splicer's
    # and nginx's logs are appended to, and the first run's must stay apart.
    runs[$t]=$((${runs[$t]:-0} + 1))
    name=$t
    [[ ${runs[$t]} -eq 1 ]] || name=$t.${runs[$t]}
    mkdir -p "$logs/$name"
    start=$SECONDS
    SPLICER_E2E_LOGDIR=$logs/$name timeout -k 20 "$timeout_s" bash "$here/$t.sh" >"$logs/$name.log" 2>&1 &
    current=$!
    rc=0
    wait "$current" || rc=$?
    while kill -0 "$current" 2>/dev/null; do # wait was interrupted by a signal
        rc=0
        wait "$current" || rc=$?
    done
    current=""
    took=$((SECONDS - start))
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1))
        echo "PASS $name (${took}s)"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        why="exit $rc"
        [[ $rc -eq 124 || $rc -eq 137 ]] && why="timed out after ${timeout_s}s"
        echo "FAIL $name ($why, ${took}s) — log: $logs/$name.log"
        grep -a -E '^(not ok|FATAL)' "$logs/$name.log" | head -n 20 | sed 's/^/    > /'
        tail -n 40 "$logs/$name.log" | cut -c1-300 | sed 's/^/    | /'
    fi
done

if [[ $interrupted -eq 1 ]]; then
    echo "e2e: interrupted"
fi
skipped=$((${#tests[@]} - passed - failed))
if [[ $skipped -gt 0 ]]; then
    failed=$((failed + skipped))
fi
if [[ $failed -gt 0 ]]; then
    echo "failed: ${failed_names[*]}"
    # Again at the very end, where a truncated CI transcript still shows it.
    for t in "${failed_names[@]}"; do
        grep -a -E '^(not ok|FATAL)' "$logs/$t.log" | head -n 10 | sed "s/^/    $t > /"
    done
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
