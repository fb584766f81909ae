#!/usr/bin/env bash
# perf/bench/rounds.sh — interleaved rounds of splicer-bench, every raw JSON line kept, medians
# (issue 12, item 4: "medians of >= 3 interleaved rounds, each row a real run, with every raw
# JSON line kept").
#
#   perf/bench/rounds.sh OUT.jsonl ROUNDS 'ARGS' ['ARGS'...]
#   perf/bench/rounds.sh perf/results/2026-12-06-rounds.jsonl 3 \
#       'established --flows 10000 --seconds 2' 'lifecycle --seconds 2'
#
# Each ARGS is one splicer-bench command line (its scenario and options). A round runs every
# ARGS once, in order, so the scenarios are interleaved rather than run back to back; each
# invocation measures its own baseline right before its scenario (same EAL, ports, cores).
# Every JSON line goes to OUT.jsonl as printed, with "round", "args" and "load" (/proc/loadavg
# before the invocation) added; then one
# median line per scenario and flow count: Mpps, cycles/packet, the self-looped baseline's
# cycles/packet of the same invocations and the ratio of the two (cycles_ratio_to_baseline),
# each the median of the rounds' values, and the range of the load averages. An invocation that fails is logged and its round goes on.
# Environment: SPLICER_BENCH (target/release/splicer-bench).
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${SPLICER_BENCH:-$REPO/target/release/splicer-bench}
(($# >= 3)) || { sed -n '2,18p' "$0" >&2; exit 2; }
OUT=$1 ROUNDS=$2
shift 2
[[ -x $BENCH ]] || { echo "rounds.sh: no $BENCH (cargo build --release -p splicer-bench)" >&2; exit 2; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "rounds.sh: ROUNDS must be a positive number" >&2; exit 2; }
mkdir -p "$(dirname "$OUT")"
: >>"$OUT"
failed=0
for ((r = 1; r <= ROUNDS; r++)); do
    for args in "$@"; do
        echo "rounds.sh: round $r/$ROUNDS: splicer-bench $args" >&2
        # The machine's load right before the invocation (1-, 5-, 15-minute averages):
        # wall-clock figures on a shared VM mean little without it.
        load=$(cut -d' ' -f1-3 /proc/loadavg)
        # shellcheck disable=SC2086  # ARGS is a command line, split on purpose
        if ! lines=$("$BENCH" $args); then
            echo "rounds.sh: round $r: splicer-bench $args failed" >&2
            failed=1
        fi
        grep '^{' <<<"$lines" | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    d["round"] = int(sys.argv[1])
    d["args"] = sys.argv[2]
    d["load"] = sys.argv[3]
    print(json.dumps(d, separators=(",", ":")))' "$r" "$args" "$load" >>"$OUT"
    done
done
python3 - "$OUT" <<'EOF'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
keys = []
for d in recs:
    k = (d["scenario"], d["flows"], d.get("args", ""))
    if k not in keys:
        keys.append(k)
med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731


def load_range(ds):
    ls = [float(d["load"].split()[0]) for d in ds if d.get("load")]
    return f"{min(ls):.1f}–{max(ls):.1f}" if ls else "–"
print("| scenario | flows | invocation | rounds | Mpps | cycles/packet | selfloop cycles/packet | cycles × selfloop | load (1 min) |")
print("|---|---:|---|---:|---:|---:|---:|---:|---|")
for s, f, a in keys:
    ds = [d for d in recs if (d["scenario"], d["flows"], d.get("args", "")) == (s, f, a)]
    col = lambda k: med([d[k] for d in ds if d.get(k) is not None])  # noqa: E731
    fmt = lambda v, spec: "–" if v is None else format(v, spec)  # noqa: E731
    print(f"| {s} | {f:,} | `{a}` | {len(ds)} | {fmt(col('mpps'), '.2f')} "
          f"| {fmt(col('cycles_per_packet'), ',.1f')} | {fmt(col('baseline_cycles_per_packet'), ',.1f')} "
          f"| {fmt(col('cycles_ratio_to_baseline'), '.2f')} | {load_range(ds)} |")
EOF
exit "$failed"
