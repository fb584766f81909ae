#!/usr/bin/env bash
# t_handoff_workers: TCP handoff (issue 15) with two workers, a back end's link down and
# up with Splicer in front, and a graceful stop with a handed-off download, on the
# handoff bed (tests/e2e/handoff.sh, namespaces ho-*). The agents' answers reach the
# worker that asked (no handoff times out or falls back), bodies intact, wrk without
# errors; back end 1's LAN link down for 3 s mid-download: every download completes or
# is reset (never left hanging), requests made meanwhile are answered intact (handed to
# b2, or spliced), and once the link is back agent 1 is up and takes handoffs again; a
# SIGTERM while a handed-off download runs: the download completes (handed-off
# connections are busy for the stop) and Splicer exits 0.
set -u
# shellcheck source-path=SCRIPTDIR source=handoff.sh
. "$(dirname "$0")/handoff.sh"

ho_setup
ho_start_agent 1
ho_start_agent 2
cfg=$TB_DIR/splicer.toml
HO_WORKERS=2 ho_write_splicer_config "$cfg" "ho-e2e-workers-$$"
sed -i 's/^idle_sleep = .*/&\nagent_heartbeat = "300ms"\nagent_dead_time = "1s"\nhandoff_timeout = "500ms"\nstop_timeout = "30s"/' "$cfg"
ho_start_splicer "$cfg"
log=$SPLICER_LOG
st() { stat_of "$log" "$1"; }
# Failures that would mean an answer reached the wrong worker.
lost() { echo $(($(st handoff_failed_timeout) + $(st handoff_fallback_splice) + $(st handoff_503))); }

# Each worker runs its own channel: two agents x two workers come up.
tb_check "both agents answer both workers' heartbeats" tb_wait_stat_gt "$log" agent_ups 3 15

for name in 0b 1b 100k 20m 0b 1b 100k 20m 1b 1b 1b 1b; do
    tb_check "two workers: /files/$name intact (sha256)" ho_body_ok "$name"
done
tb_wait_stats_line "$log" >/dev/null
tb_check_cmp "two workers: every request handed off" "$(st handoffs_ok)" -ge 12
tb_check_cmp "two workers: none timed out or fell back" "$(lost)" -eq 0
tb_check_cmp "two workers: packets passed between workers" "$(st handoff_in)" -gt 0
who=$(for _ in 1 2 3 4 5 6; do ho_curl "http://$HO_VIP/"; done | sort -u | tr '\n' ' ')
tb_check "two workers: both back ends answer ($who)" bash -c "[[ '$who' == 'b1 b2 ' ]]"

out=$(tb_in "$HO_NS_CLIENT" wrk -t1 -c8 -d3s "http://$HO_VIP/files/100k" 2>&1) || true
tb_log "wrk: $(tr '\n' ' ' <<<"$out" | tr -s ' ' | cut -c1-300)"
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
tb_check_cmp "two workers, wrk: requests done" "${reqs:-0}" -gt 20
tb_check "two workers, wrk: no socket errors and no non-2xx" \
    bash -c "! grep -qE 'Socket errors|Non-2xx' <<<'$out'"
tb_check_cmp "two workers, wrk: none timed out or fell back" "$(tb_fresh_stat "$log" handoff_failed_timeout)" -eq 0

# hw_downloads TAG N RATE: N slow downloads of 20m in the background (RATE bytes a second,
# tb_slow_download); the exit code (curl's codes) goes to $TB_DIR/dl.TAG.I when it ends
# (60 s at most: 28 means left hanging).
hw_downloads() {
    local i
    for ((i = 0; i < $2; i++)); do
        (
            tb_slow_download "$HO_NS_CLIENT" "$HO_VIP" files/20m "$3" 60 \
                >"$TB_DIR/dl.$1.$i.err" 2>&1
            echo $? >"$TB_DIR/dl.$1.$i"
        ) &
        TB_PIDS+=("$!")
    done
}
# hw_wait_downloads TAG N TIMEOUT: waits until all N have ended; prints their exit codes.
hw_wait_downloads() {
    local t i
    for ((t = 0; t < $3 * 10; t++)); do
        [[ $(cat "$TB_DIR"/dl."$1".? 2>/dev/null | grep -c .) -ge $2 ]] && break
        sleep 0.1
    done
    for ((i = 0; i < $2; i++)); do cat "$TB_DIR/dl.$1.$i" 2>/dev/null || echo running; done | tr '\n' ' '
}

# Back end 1 "rebooted" as the LAN sees it: its link down for 3 s while downloads run
# on both back ends. Agent 1 falls silent, so Splicer declares it down and resets the
# clients handed to it; requests made meanwhile go to b2 or are spliced to b1's plain
# address (delivered when the link is back).
hw_downloads link 4 2000000
sleep 1.5
resets0=$(st handoff_resets)
downs0=$(st agent_downs)
ip -n "$HO_NS_LAN" link set ho-l1 down
for i in 0 1 2 3; do
    (
        if ho_body_ok 100k >"$TB_DIR/during.$i.err" 2>&1; then echo ok; else echo bad; fi >"$TB_DIR/during.$i"
    ) &
    TB_PIDS+=("$!")
done
tb_check "link down: agent 1 declared down" tb_wait_stat_gt "$log" agent_downs "$downs0" 10
sleep 1.5
ups0=$(st agent_ups)
ip -n "$HO_NS_LAN" link set ho-l1 up
codes=$(hw_wait_downloads link 4 50)
tb_log "downloads across the link down/up: $codes"
tb_check "link down/up: every download completed or was reset, none left hanging ($codes)" \
    bash -c "[[ ! '$codes' =~ running|28 ]] && [[ \$(tr -d '056 ' <<<'$codes') == '' ]]"
resets=$(tb_fresh_stat "$log" handoff_resets)
tb_log "handoff_resets $resets0 -> $resets"
if [[ $codes == *56* ]]; then
    tb_check_cmp "link down/up: the resets are counted (handoff_resets)" "$resets" -gt "$resets0"
fi
for _ in $(seq 100); do
    [[ $(cat "$TB_DIR"/during.* 2>/dev/null | grep -c .) -ge 4 ]] && break
    sleep 0.1
done
during=$(cat "$TB_DIR"/during.* 2>/dev/null | tr '\n' ' ')
tb_check "link down/up: requests made meanwhile answered intact ($during)" \
    bash -c "[[ '$during' == 'ok ok ok ok ' ]]"
tb_check "link up: agent 1 up again" tb_wait_stat_gt "$log" agent_ups "$ups0" 10
ok0=$(tb_fresh_stat "$log" handoffs_ok)
for name in 100k 1b 100k 1b 100k 1b; do
    tb_check "link up: /files/$name intact" ho_body_ok "$name"
done
tb_check_cmp "link up: handed off again" "$(($(tb_fresh_stat "$log" handoffs_ok) - ok0))" -ge 6
who=$(for _ in 1 2 3 4 5 6; do ho_curl "http://$HO_VIP/"; done | sort -u | tr '\n' ' ')
tb_check "link up: both back ends answer ($who)" bash -c "[[ '$who' == 'b1 b2 ' ]]"

# A graceful stop with a handed-off download under way: the stop waits for it (up to
# stop_timeout, 30 s here; the download takes several seconds), then Splicer exits 0.
hw_downloads stop 1 2000000
sleep 1
kill -TERM "$SPLICER_PID"
stop_start=$(date +%s%N)
codes=$(hw_wait_downloads stop 1 30)
tb_check "stop: the handed-off download completed through the graceful stop ($codes)" \
    bash -c "[[ '$codes' == '0 ' ]]"
for _ in $(seq 200); do tb__alive "$SPLICER_PID" || break; sleep 0.1; done
stop_ms=$((($(date +%s%N) - stop_start) / 1000000))
exited=yes
tb__alive "$SPLICER_PID" && exited=no
tb_check "stop: Splicer exited within 20 s ($exited)" test "$exited" = yes
tb_check_cmp "stop: it waited for the handed-off download (ms from SIGTERM to exit)" "$stop_ms" -ge 2000
tb_check_cmp "stop: nothing left to reset" "$(stat_of "$log" stop_resets)" -eq 0
if [[ $exited == yes ]]; then
    wait "$SPLICER_PID"
    rc=$?
    tb_check_cmp "stop: exit code 0" "$rc" -eq 0
fi
tb_finish
