#!/usr/bin/env bash
# perf/e2e/handoff-vs-splice.sh — TCP handoff (issue 15) measured on the handoff test bed
# (tests/e2e/handoff.sh: client, router, Splicer, two back ends each with `splicer agent`
# and nginx). The same back ends are reached through two virtuals on the VIP: :80
# `mode = "handoff"`, :8080 `mode = "splice"`, so every figure has its splice twin from
# the same run.
#
#   latency      SYN → first response byte at the client (curl's time_starttransfer),
#                N sequential new connections, median and 90th percentile
#   conns/s      wrk with `Connection: close` (one connection, so one handoff, per
#                request) on a small page: requests/s of the one worker
#   multiplier   wrk keep-alive on /files/100k: response bytes served / bytes Splicer
#                transmitted (the kernel's receive counters of Splicer's two TAPs)
#
# With --routed, the routed mode instead (tests/e2e/t_handoff_routed.sh's bed): one back
# end, ho-b3, on its own subnet behind the router, its real `handoff_mode = "routed"`;
# both virtuals bound to it, so the splice twin reaches the same back end the same way.
#
# Usage: perf/e2e/handoff-vs-splice.sh [--routed] [N]   (root; SPLICER_BIN as for the e2e
# tests). Prints the table, then one JSON line of the raw figures (with `uptime`).
set -u
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/handoff.sh
. "$(dirname "$0")/../../tests/e2e/handoff.sh"
MODE=l2
if [[ ${1:-} == --routed ]]; then
    MODE=routed
    shift
fi
N=${1:-200}

if [[ $MODE == routed ]]; then
    ho_routed_declare
    ho_setup
    ho_routed_setup
    bind='["b3"]'
    agents_up=0
else
    ho_setup
    ho_start_agent 1
    ho_start_agent 2
    bind='["b1", "b2"]'
    agents_up=1
fi
spliced="
[[virtual]]
name = \"spliced\"
address = \"$HO_VIP:8080\"
port = \"outside\"
bind = $bind"
cfg=$TB_DIR/splicer.toml
if [[ $MODE == routed ]]; then
    ho_write_routed_config "$cfg" "ho-perf-splicer-$$" "$spliced"
else
    ho_write_splicer_config "$cfg" "ho-perf-splicer-$$" "$spliced"
fi
ho_start_splicer "$cfg"
tb_wait_stat_gt "$SPLICER_LOG" agent_ups "$agents_up" 15 || tb_die "the agents did not come up"

# Bytes Splicer transmitted: what the kernel received on its two TAPs.
tx_bytes() {
    local a b
    a=$(ip -n "$HO_NS_ROUTER" -s -j link show dev ho-so | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])')
    b=$(ip -n "$HO_NS_LAN" -s -j link show dev ho-si | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])')
    echo $((a + b))
}

latency() {
    local port=$1 i
    for ((i = 0; i < N; i++)); do
        tb_in "$HO_NS_CLIENT" curl -s -o /dev/null -w '%{time_starttransfer}\n' "http://$HO_VIP:$port/"
    done | python3 -c '
import sys
v = sorted(float(x) * 1000 for x in sys.stdin)
print(f"{v[len(v) // 2]:.2f} {v[int(len(v) * 0.9)]:.2f} {len(v)}")'
}

wrk_rate() {
    local out
    out=$(tb_in "$HO_NS_CLIENT" wrk -t1 -c16 -d5s "$@" 2>&1)
    grep -q 'Socket errors\|Non-2xx' <<<"$out" && tb_log "wrk errors: $(tr '\n' ' ' <<<"$out")"
    sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out"
}

wrk_bytes() {
    local port=$1 before after out reqs
    before=$(tx_bytes)
    out=$(tb_in "$HO_NS_CLIENT" wrk -t1 -c8 -d5s "http://$HO_VIP:$port/files/100k" 2>&1)
    after=$(tx_bytes)
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    echo "$reqs $((reqs * 102400)) $((after - before))"
}

read -r h_med h_p90 h_n < <(latency 80)
read -r s_med s_p90 s_n < <(latency 8080)
ok0=$(tb_fresh_stat "$SPLICER_LOG" handoffs_ok)
h_rate=$(wrk_rate -H 'Connection: close' "http://$HO_VIP/")
ok1=$(tb_fresh_stat "$SPLICER_LOG" handoffs_ok)
s_rate=$(wrk_rate -H 'Connection: close' "http://$HO_VIP:8080/")
read -r h_reqs h_served h_sent < <(wrk_bytes 80)
read -r s_reqs s_served s_sent < <(wrk_bytes 8080)
fails=$(($(stat_of "$SPLICER_LOG" handoff_failed_timeout) + $(stat_of "$SPLICER_LOG" handoff_failed_refused) + $(stat_of "$SPLICER_LOG" handoff_failed_agent_down)))

load=$(uptime)
cat <<EOF
mode: $MODE; $load
| figure | handoff (:80) | splice (:8080) |
|---|---|---|
| SYN → first response byte, median / p90 (ms, $h_n / $s_n connections) | $h_med / $h_p90 | $s_med / $s_p90 |
| new connections per second, wrk -c16 Connection: close (1 worker) | $h_rate | $s_rate |
| handoffs_ok during the handoff wrk run | $((ok1 - ok0)) | – |
| 100k responses served (wrk -c8 5 s keep-alive) | $h_reqs | $s_reqs |
| response bytes served | $h_served | $s_served |
| bytes Splicer transmitted (both ports) | $h_sent | $s_sent |
| multiplier: served / transmitted | $(python3 -c "print(f'{$h_served / max($h_sent, 1):.1f}')") | $(python3 -c "print(f'{$s_served / max($s_sent, 1):.2f}')") |
| failed handoffs in the whole run | $fails | – |
EOF
python3 -c '
import json, sys
keys = ["mode", "n", "h_med_ms", "h_p90_ms", "s_med_ms", "s_p90_ms", "h_conns_per_s",
        "s_conns_per_s", "handoffs_ok_in_conns_run", "h_100k_responses", "s_100k_responses",
        "h_served_bytes", "s_served_bytes", "h_splicer_tx_bytes", "s_splicer_tx_bytes",
        "failed_handoffs", "uptime"]
print(json.dumps(dict(zip(keys, sys.argv[1:]))))' "$MODE" "$N" "$h_med" "$h_p90" "$s_med" "$s_p90" \
    "$h_rate" "$s_rate" "$((ok1 - ok0))" "$h_reqs" "$s_reqs" "$h_served" "$s_served" "$h_sent" \
    "$s_sent" "$fails" "$load"
