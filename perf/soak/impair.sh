#!/usr/bin/env bash
# perf/soak/impair.sh — the lossy-link transfer soak (not in CI; t_impair is its short
# version). On the e2e test bed (tests/e2e/lib.sh: namespaces, three nginx servers),
# Splicer with 2 workers and both ports impaired by its impairment stage ([port.impair]:
# 1 % loss, 1 % duplication, 1 % reordering by 1 ms unless told otherwise), and N
# downloads through the VIP by concurrent clients on keep-alive connections: sizes drawn
# log-uniformly from 1 byte to 20 MiB (most small, some large; the same --seed gives the
# same sizes), plus 1 % of them the whole 20 MiB file. Every body is checked by sha256
# (perf/soak/transfers.py). Then Splicer is stopped and its final counters must account
# for every frame the stage took. Prints the transfers ok/failed, bytes, the impairment
# counters against the frames counted, and a verdict; exits 0 on PASS.
#
#   flock /tmp/splicer-e2e-run.lock perf/soak/impair.sh [--transfers N] [--workers 2]
#       [--seed S] [--clients C] [--max-size 20m] [--loss 1%] [--dup 1%] [--reorder 1%]
#       [--delay 0s] [--jitter 0s] [--deadline SECONDS]
#
# Needs root and a release build (cargo build --release -p splicer). Uses the machine's
# one e2e test bed: run it under the e2e flock as above. Bounded in time: transfers not
# started by --deadline (default 3600 s) count as not run, and the verdict is FAIL.
set -uo pipefail

TRANSFERS=10000
WORKERS=2
SEED=1
CLIENTS=32
MAX_SIZE=20m
LOSS=1%
DUP=1%
REORDER=1%
DELAY=0s
JITTER=0s
DEADLINE=3600
while [[ $# -gt 0 ]]; do
    case $1 in
    --transfers) TRANSFERS=$2 ;;
    --workers) WORKERS=$2 ;;
    --seed) SEED=$2 ;;
    --clients) CLIENTS=$2 ;;
    --max-size) MAX_SIZE=$2 ;;
    --loss) LOSS=$2 ;;
    --dup) DUP=$2 ;;
    --reorder) REORDER=$2 ;;
    --delay) DELAY=$2 ;;
    --jitter) JITTER=$2 ;;
    --deadline) DEADLINE=$2 ;;
    -h | --help)
        sed -n '2,19p' "$0"
        exit 0
        ;;
    *)
        echo "impair.sh: unknown argument $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift 2 || { echo "impair.sh: $1 needs a value" >&2; exit 2; }
done
[[ $TRANSFERS =~ ^[0-9]+$ && $TRANSFERS -ge 1 ]] || { echo "impair.sh: --transfers must be >= 1" >&2; exit 2; }

# The test bed names its work dir and logs after the script.
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
. "$(dirname "$0")/../../tests/e2e/lib.sh"
TB_NAME=soak-impair

tb_setup
prefix=$(tb_unique_prefix soak-impair)
cfg=$TB_DIR/soak.toml
tb_write_splice_config "$cfg" "$prefix" "$WORKERS" "" "" "" 8 128
tb_config_port_lines "$cfg" outside "$(tb_impair_lines "$LOSS" "$DUP" "$REORDER" "$SEED" "$DELAY" "$JITTER")" ||
    tb_die "config"
tb_config_port_lines "$cfg" inside "$(tb_impair_lines "$LOSS" "$DUP" "$REORDER" "$((SEED + 1))" "$DELAY" "$JITTER")" ||
    tb_die "config"
log=$TB_LOG_DIR/splicer.log
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

large=$((TRANSFERS / 100))
tb_log "soak: $TRANSFERS transfers ($large of 20 MiB, the rest log-uniform up to $MAX_SIZE), $CLIENTS clients, $WORKERS workers, loss $LOSS dup $DUP reorder $REORDER delay $DELAY jitter $JITTER, seed $SEED"
out=$TB_DIR/transfers.out
start=$(date +%s)
tb_in "$TB_NS_CLIENT" timeout $((DEADLINE + 120)) python3 "$TB_REPO/perf/soak/transfers.py" \
    --file "$TB_WWW/files/20m" --transfers "$TRANSFERS" --large "$large" --max-size "$MAX_SIZE" \
    --clients "$CLIENTS" --keepalive 4 --seed "$SEED" --deadline "$DEADLINE" --progress 30 >"$out"
elapsed=$(($(date +%s) - start))
summary=$(head -n 1 "$out")
field() { tb_raw_field "$summary" "$1" || echo -1; }

alive=yes
tb_splicer_alive || alive=no
tb_stop_splicer
rc=$TB_SPLICER_RC
accounting=$(tb_impair_accounting "$log")
acc_rc=$?

echo
echo "== soak: impairment, $WORKERS workers, seed $SEED, ${elapsed}s"
echo "transfers: $summary"
grep '^failed:' "$out" | head -n 20
echo "impairment: $(head -n 1 <<<"$accounting")"
tail -n +2 <<<"$accounting" | sed 's/^/accounting: /'
for k in tcp_retransmits drop_server_out_of_order drop_tcp_out_of_order server_truncated \
    server_resets server_timeouts tcp_retransmit_timeouts responses_complete http_no_server; do
    printf '%s=%s ' "$k" "$(stat_of "$log" "$k")"
done
echo
verdict=PASS
[[ $(field ok) -eq $TRANSFERS && $(field failed) -eq 0 && $(field not_run) -eq 0 ]] || verdict=FAIL
[[ $acc_rc -eq 0 && $rc -eq 0 && $alive == yes ]] || verdict=FAIL
grep -q panicked "$log" && verdict=FAIL
echo "splicer: alive at the end: $alive, exit code $rc"
echo "verdict: $verdict"
[[ $verdict == PASS ]] || { TB_FAILURES=1; exit 1; }
exit 0
