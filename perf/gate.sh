#!/usr/bin/env bash
# perf/gate.sh — the instruction-count regression gate (issue 12; perf/README.md,
# "Instruction-count gate").
#
# For every scenario of the budget file, runs perf/bench's `splice_loop` example under
# callgrind, counting only the measured frames (--toggle-collect=splice_loop::measured),
# takes the inclusive instruction count of Loopback::pipeline_round (the pipeline's work
# on those frames) and divides it by the frames or requests measured; prints a table
# (scenario, measured, budget, ratio) and exits 1 when a scenario is over its budget by
# more than the file's tolerance_percent (3). Instruction counts do not depend on the
# machine's load, so the gate has no noise to allow for.
#
# Before it measures, it tests its own comparison (perf/gate.py selftest); after, it
# checks that the real figures fail against budgets set 10 % below them, and that no
# budget went up since the commit before without a new note (perf/gate.py moved).
#
#   perf/gate.sh [--budgets FILE] [--out DIR] [--no-build]
#
# SPLICE_LOOP_SLOWDOWN=N in the environment makes the loopback do 4·N useless
# instructions per frame (a deliberately slowed build: the gate must then fail).
# Exit status: 0 within budget; 1 over budget; 2 for a usage, build or tool error.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
budgets=$repo/perf/budgets.toml
out=
build=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --budgets) budgets=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gate: unknown argument $1" >&2; exit 2 ;;
    esac
done

# Paths given are relative to where the script was called from.
budgets=$(realpath "$budgets")
[[ -z $out ]] || out=$(realpath -m "$out")
cd "$repo"

for tool in valgrind python3 cargo; do
    command -v "$tool" >/dev/null || { echo "gate: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done

keep=1
if [[ -z $out ]]; then
    out=$(mktemp -d /tmp/splicer-gate.XXXXXX)
    keep=0
    trap 'rm -rf "$out"' EXIT
else
    mkdir -p "$out"
fi

python3 perf/gate.py selftest 2>"$out/selftest.log" || {
    cat "$out/selftest.log" >&2
    echo "gate: perf/gate.py selftest failed" >&2
    exit 2
}

if [[ $build -eq 1 ]]; then
    cargo build --release -q -p splicer-bench --example splice_loop || exit 2
fi
[[ -x target/release/examples/splice_loop ]] || {
    echo "gate: target/release/examples/splice_loop is missing" >&2
    exit 2
}
# The pipeline's hash tables (hashbrown with foldhash) seed themselves from addresses,
# the stack's among them, and the stack's start depends on the size of the program's
# path, arguments and environment: a few probes more or less per lookup, about 0.1 % of
# the count. So the example runs from a path of fixed length, with a fixed environment
# and working directory: then the count is the same from run to run, wherever the
# checkout is and whoever runs it.
bindir=$(mktemp -d /tmp/splicer-gate-bin.XXXXXX)
trap 'rm -rf "$bindir"; [[ $keep -eq 1 ]] || rm -rf "$out"' EXIT
cp target/release/examples/splice_loop "$bindir/splice_loop"
valgrind=$(command -v valgrind)

function=splicer_bench::splice::loopback::Loopback::pipeline_round
scenarios=$(python3 perf/gate.py scenarios "$budgets") || exit 2
measured=$out/measured.jsonl
: >"$measured"
start=$SECONDS
while read -r scenario flows frames; do
    cg=$out/callgrind.$scenario
    if ! (cd / && env -i SPLICE_LOOP_SLOWDOWN="${SPLICE_LOOP_SLOWDOWN:-0}" \
        "$valgrind" --tool=callgrind --callgrind-out-file="$cg" \
        --toggle-collect=splice_loop::measured \
        "$bindir/splice_loop" "$scenario" "$flows" "$frames") >"$out/$scenario.log" 2>&1; then
        cat "$out/$scenario.log" >&2
        echo "gate: $scenario failed under valgrind" >&2
        exit 2
    fi
    line=$(grep '^measured: ' "$out/$scenario.log") || {
        echo "gate: $scenario printed no 'measured:' line" >&2
        exit 2
    }
    got_frames=${line#*frames=}
    got_frames=${got_frames%% *}
    requests=${line#*requests=}
    instructions=$(python3 perf/gate.py inclusive "$cg" "$function") || exit 2
    printf '{"scenario": "%s", "instructions": %s, "frames": %s, "requests": %s}\n' \
        "$scenario" "$instructions" "$got_frames" "$requests" >>"$measured"
done <<<"$scenarios"
echo "gate: $(wc -l <"$measured") scenarios counted in $((SECONDS - start)) s (${SPLICE_LOOP_SLOWDOWN:+SPLICE_LOOP_SLOWDOWN=$SPLICE_LOOP_SLOWDOWN, }budgets $budgets)"

# The comparison must fail on the real figures against budgets 10 % below them.
python3 - "$budgets" "$measured" >"$out/tight.toml" <<'EOF'
import json, sys, tomllib
doc = tomllib.load(open(sys.argv[1], "rb"))
measured = {m["scenario"]: m for m in map(json.loads, open(sys.argv[2]))}
print(f"tolerance_percent = {doc['tolerance_percent']}")
for name, b in doc.items():
    if isinstance(b, dict):
        m = measured[name]
        value = m["instructions"] / (m["frames"] if b["per"] == "frame" else m["requests"])
        print(f'[{name}]\nper = "{b["per"]}"\nflows = {b["flows"]}\nframes = {b["frames"]}')
        print(f'budget = {value * 0.9:.1f}\nnote = "10 % below the measured value"')
EOF
rc=0
python3 perf/gate.py compare "$out/tight.toml" "$measured" >"$out/tight.log" 2>&1 || rc=$?
if [[ $rc -ne 1 ]]; then
    cat "$out/tight.log" >&2
    echo "gate: budgets 10 % below the measured values did not fail the comparison (exit $rc)" >&2
    exit 2
fi

# Budgets only move down, or up with a note saying why: against the budget file of the
# commit before, when there is one (in a git checkout with history).
if [[ $budgets == "$repo/perf/budgets.toml" ]] &&
    git show HEAD~1:perf/budgets.toml >"$out/budgets.before.toml" 2>/dev/null; then
    python3 perf/gate.py moved "$out/budgets.before.toml" "$budgets" || {
        echo "gate: a budget went up without a note saying why (perf/budgets.toml)" >&2
        exit 1
    }
fi

python3 perf/gate.py compare "$budgets" "$measured"
