#!/usr/bin/env bash
# t_splice_wrk — load through the VIP with wrk (2 threads, 50 connections; short: the
# machine has 2 cores and Splicer polls on both):
#  * 10 s of keep-alive requests for /: requests complete, no socket error (connect, read,
#    write, timeout) and no answer other than 2xx/3xx; requests/s printed;
#  * 5 s with `Connection: close` (a new client connection per request, and the server
#    closes its side after each answer): the same, no error;
#  * every request the servers logged was answered 200 and came from Splicer's address;
#  * `show workers` after the keep-alive load (counted from a `clear stats` just before it):
#    the worker polled, took in packets (as many as it received), and spent busy cycles on
#    them: 0 < busy <= 100 %, cycles per packet > 0; the table is printed;
#  * SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || tb_die "missing command 'wrk' (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix splice-wrk)
cfg=$TB_DIR/splice-wrk.toml
log=$TB_LOG_DIR/splicer-splice-wrk.log
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "" 4 64
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT      # the client's namespace
vip=$TB_VIP            # where it sends its requests
from=$TB_IN_IP         # the address the servers must see the requests coming from
declare -A mark
for s in s1 s2 s3; do
    mark[$s]=$(tb_access_lines "$s")
done

# run_wrk NAME SECONDS [wrk args...]: runs wrk from the client, keeps its output in
# $TB_LOG_DIR/wrk-NAME.txt and checks it.
run_wrk() {
    local name=$1 secs=$2 f errors non2xx reqs rps rc=0
    shift 2
    f=$TB_LOG_DIR/wrk-$name.txt
    tb_in "$cns" timeout $((secs + 30)) wrk -t 2 -c 50 -d "${secs}s" --timeout 5s "$@" "http://$vip/" \
        >"$f" 2>&1 || rc=$?
    tb_check_cmp "$name: wrk ran (exit code)" "$rc" -eq 0
    sed 's/^/# | /' "$f"
    # "  12345 requests in 10.00s, 3.21MB read"
    reqs=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
    # "  Socket errors: connect 0, read 3, write 0, timeout 0" (only when there were any)
    errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$f" |
        awk '{ print $1 + $2 + $3 + $4 }')
    # "  Non-2xx or 3xx responses: 5" (only when there were any)
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$f")
    rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$f")
    tb_log "$name: ${reqs:-?} requests, ${rps:-?} requests/s"
    tb_check_cmp "$name: requests completed" "${reqs:-0}" -gt 0
    tb_check_cmp "$name: no socket errors (connect, read, write, timeout)" "${errors:-0}" -eq 0
    tb_check_cmp "$name: no answer other than 2xx/3xx" "${non2xx:-0}" -eq 0
}

tb_check "clear stats before the load" tb_ctl clear stats
run_wrk keep-alive 10
# How busy the worker was during the load (VPP's `show runtime`): its loop's figures since
# the clear, published every millisecond.
tb_ctl show workers >"$TB_LOG_DIR/splice-wrk-workers.txt" 2>&1
sed 's/^/# | /' "$TB_LOG_DIR/splice-wrk-workers.txt"
tb_ctl --json show workers >"$TB_LOG_DIR/splice-wrk-workers.json" 2>&1
tb_check "show workers after the load: busy, cycles per packet, packets as received" \
    python3 - "$TB_LOG_DIR/splice-wrk-workers.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))[0]
print({k: w[k] for k in ("polls", "busy_polls", "packets", "rx_packets", "cycles",
                         "busy_cycles", "busy_fraction", "cycles_per_packet")})
ok = w["polls"] >= w["busy_polls"] > 0 and w["cycles"] >= w["busy_cycles"] > 0
ok &= 0 < w["busy_fraction"] <= 1 and w["cycles_per_packet"] > 0
# One worker, no impairment: it took in what it received, give or take the last
# millisecond (the figures are published once per timer poll).
ok &= 0.95 * w["rx_packets"] <= w["packets"] <= w["rx_packets"]
sys.exit(0 if ok else 1)
PY
run_wrk connection-close 5 -H 'Connection: close'

all=$(for s in s1 s2 s3; do tb_access_since "$s" "${mark[$s]}"; done)
tb_log "the servers logged $(wc -l <<<"$all") requests"
# shellcheck disable=SC2016  # (awk's own variables)
tb_check "every request the servers logged was answered 200" \
    awk '$(NF - 2) != 200 { print; bad = 1 } END { exit bad }' <<<"$all"
# shellcheck disable=SC2016
tb_check "every request came from Splicer's inside address $from" awk -v from="$from" \
    '{ split($3, a, ":"); if (a[1] != from) { print; bad = 1 } } END { exit bad }' <<<"$all"

tb_ctl show stats >"$TB_LOG_DIR/splice-wrk-stats.txt" 2>&1
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
