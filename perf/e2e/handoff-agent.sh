#!/usr/bin/env bash
# perf/e2e/handoff-agent.sh — TCP handoff figures (issue 15) on the handoff bed
# (tests/e2e/handoff.sh: client, router, two back ends each with `splicer agent` + nginx),
# with FRONT=splicer (default: Splicer, a `mode = "handoff"` virtual, one worker) or
# FRONT=fake (tests/e2e/fakefront.py, the protocol's front end in Python). All figures of a
# line come from the same run:
#
#  * time to first byte (curl's time_starttransfer, SYN to first response byte) of N new
#    connections, each `GET /files/1b`, through the VIP (handed off), and, as the baseline,
#    straight to back end 1's own address (bridged by its agent, no handoff): median, p95;
#  * handoffs/s: `wrk -t1 -c8` with `Connection: close` for D seconds (one connection, so
#    one handoff, per request): requests/s, errors;
#  * the agents' replay time (HANDOFF to HANDOFF_ACK ok: the SYN replayed into the kernel,
#    its SYN-ACK, the ACK with the request): mean (replay_us_sum / handoffs_ok) and max;
#  * the front end's bandwidth multiplier for one 20 MiB download: the body's 20,971,520
#    bytes / the bytes the front end transmitted meanwhile (both of Splicer's ports' tx
#    bytes; fakefront's frames towards the client and to the back ends).
#
#   perf/e2e/handoff-agent.sh                 # FRONT=splicer N=100 D=5
#   FRONT=fake N=50 perf/e2e/handoff-agent.sh
#
# Needs root, a release build (SPLICER_BIN), nginx, curl, wrk; takes the handoff bed's lock.
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/handoff.sh
. "$(dirname "$0")/../../tests/e2e/handoff.sh"
set -u
front=${FRONT:-splicer}
n=${N:-100}
d=${D:-5}

ho_setup
ho_start_agent 1
ho_start_agent 2
case $front in
splicer)
    cfg=$TB_DIR/splicer.toml
    ho_write_splicer_config "$cfg" "ho-e2e-perf-$$"
    ho_start_splicer "$cfg"
    # Both agents up (first heartbeat answers) before the first request.
    tb_wait_stat_gt "$SPLICER_LOG" agent_ups 1 15 >/dev/null || tb_die "agents not up"
    ;;
fake) ho_start_fakefront ;;
*) tb_die "FRONT is splicer or fake" ;;
esac

# ttfb URL: N first-byte times in ms, sorted, one per line.
ttfb() {
    local i
    for ((i = 0; i < n; i++)); do
        tb_in "$HO_NS_CLIENT" curl -s -o /dev/null --max-time 5 -w '%{time_starttransfer}\n' "$1"
    done | awk '{printf "%.3f\n", $1 * 1000}' | sort -n
}
pct() { awk -v p="$1" '{v[NR] = $1} END {i = int(NR * p + 0.999); if (i < 1) i = 1; print v[i]}'; }
direct=$(ttfb "http://${HO_BACK_IPS[0]}/files/1b")
handed=$(ttfb "http://$HO_VIP/files/1b")
printf 'ttfb_ms front=%s n=%d handoff_p50=%s handoff_p95=%s direct_p50=%s direct_p95=%s\n' "$front" "$n" \
    "$(pct 0.5 <<<"$handed")" "$(pct 0.95 <<<"$handed")" "$(pct 0.5 <<<"$direct")" "$(pct 0.95 <<<"$direct")"

out=$(tb_in "$HO_NS_CLIENT" wrk -t1 -c8 -d"${d}s" -H 'Connection: close' "http://$HO_VIP/files/1b" 2>&1)
rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
errs=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' <<<"$out")
non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' <<<"$out")
printf 'handoffs_per_s front=%s wrk_c8_close_rps=%s socket_errors="%s" non2xx=%s\n' "$front" "${rps:-0}" "${errs:-none}" "${non2xx:-0}"

sleep 1.5
for a in 1 2; do
    ok=$(ho_agent_stat "$a" handoffs_ok)
    sum=$(ho_agent_stat "$a" replay_us_sum)
    printf 'agent%d_replay front=%s handoffs_ok=%s mean_us=%s max_us=%s\n' "$a" "$front" "$ok" \
        "$((ok > 0 ? sum / ok : 0))" "$(ho_agent_stat "$a" replay_us_max)"
done

# front_tx: bytes the front end has transmitted so far (fresh figures).
front_tx() {
    if [[ $front == splicer ]]; then
        tb_wait_stats_line "$SPLICER_LOG" >/dev/null
        echo $(($(tb_stat "$SPLICER_LOG" port=outside tx_bytes) + $(tb_stat "$SPLICER_LOG" port=inside tx_bytes)))
    else
        sleep 1.2
        echo $(($(ho_front_stat to_client_bytes) + $(ho_front_stat forwarded_bytes)))
    fi
}
before=$(front_tx)
ho_body_ok 20m || tb_die "20m download through handoff failed"
after=$(front_tx)
sent=$((after - before))
printf 'multiplier front=%s body_bytes=20971520 front_tx_bytes=%d ratio=%s\n' "$front" "$sent" \
    "$(awk -v b=20971520 -v s="$sent" 'BEGIN {printf "%.0f", (s > 0 ? b / s : 0)}')"
TB_FAILURES=0
tb_finish
