#!/usr/bin/env bash
# t_drain — the graceful stop (issue 17, "Graceful stop"), with dataplane.stop_timeout = 4s:
#  * SIGTERM while two downloads run through the VIP: /slow/100k (over a second at
#    nginx's 50 kB/s limit) and /slow/20m (far longer than the stop timeout);
#  * during the drain a new connection to the VIP is refused at once (curl: connection
#    refused), and counted (drop_draining);
#  * the short download completes, byte-exact;
#  * the long one is reset when stop_timeout passes (curl fails with fewer bytes than
#    20m), counted (stop_resets), and the log says how many were still busy;
#  * Splicer exits 0, about stop_timeout after the signal (not before the short download
#    ended, not much later than the timeout);
#  * SIGTERM with nothing in flight: exit 0 at once (well under stop_timeout);
#  * SIGINT twice during a long download: exit 0 at once (the second one does not wait).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

cns=$TB_NS_CLIENT
vip=$TB_VIP
timeout_s=4

start_round() { # NAME
    local name=$1 prefix
    prefix=$(tb_unique_prefix "drain-$name")
    cfg=$TB_DIR/drain-$name.toml
    log=$TB_LOG_DIR/splicer-drain-$name.log
    tb_write_splice_config "$cfg" "$prefix" 1 "stop_timeout = \"${timeout_s}s\""
    tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start ($name)"
    tb_check "$name: the VIP answers" tb_curl "$cns" "http://$vip/" -o /dev/null -f
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_exit TIMEOUT: waits for the signalled Splicer to exit by itself (another signal
# would stop it at once); its exit code.
wait_exit() {
    local rc=0
    if ! tb__wait_gone "$SPLICER_PID" "$1"; then
        echo "still running $1 s after the signal" >&2
        tb_stop_splicer KILL 5 || true
        return 99
    fi
    wait "$SPLICER_PID" || rc=$?
    SPLICER_PID=""
    return "$rc"
}

# ---- round 1: SIGTERM with downloads in flight
start_round term
short=$TB_DIR/short.out long=$TB_DIR/long.out
tb_spawn "$TB_LOG_DIR/drain-short.err" ip netns exec "$cns" \
    curl -sS --max-time 30 -o "$short" -w '%{http_code}\n' "http://$vip/slow/100k"
short_pid=$TB_SPAWNED_PID
tb_spawn "$TB_LOG_DIR/drain-long.err" ip netns exec "$cns" \
    curl -sS --max-time 30 -o "$long" "http://$vip/slow/20m"
long_pid=$TB_SPAWNED_PID
sleep 0.5
tb_check "both downloads are running when SIGTERM is sent" \
    bash -c "kill -0 $short_pid && kill -0 $long_pid"
splicer=$SPLICER_PID
t0=$(now_ms)
kill -TERM "$splicer"
sleep 0.3
rc=0
t1=$(now_ms)
out=$(tb_in "$cns" curl -sS --max-time 5 -o /dev/null "http://$vip/" 2>&1) || rc=$?
t_refused=$(($(now_ms) - t0))
tb_log "new connection during the drain: curl exit $rc after $(($(now_ms) - t1)) ms: $out"
tb_check_cmp "during the drain: a new connection is refused (curl exit 7: cannot connect)" "$rc" -eq 7
tb_check_cmp "during the drain: refused at once, not after SYN retransmissions" "$(($(now_ms) - t1))" -le 500
tb_check "Splicer still runs while the downloads are in flight" tb_running "$splicer"

rc=0
wait "$short_pid" || rc=$?
t_short=$(($(now_ms) - t0))
tb_check_cmp "the short download in flight at SIGTERM ended well (curl exit 0)" "$rc" -eq 0
tb_check "the short download is byte-exact (/slow/100k)" tb_body_ok 100k "$short"
tb_check "its status was 200" grep -qx 200 "$TB_LOG_DIR/drain-short.err"

rc=0
wait_exit 20 || rc=$?
took=$(($(now_ms) - t0))
tb_log "refused after ${t_refused} ms, short download done after ${t_short} ms, exit after ${took} ms"
tb_check_cmp "SIGTERM: exit code 0" "$rc" -eq 0
tb_check_cmp "SIGTERM: Splicer waited for stop_timeout (${took} ms >= $((timeout_s * 1000 - 300)))" \
    "$took" -ge $((timeout_s * 1000 - 300))
tb_check_cmp "SIGTERM: and not much longer (${took} ms <= $((timeout_s * 1000 + 3000)))" \
    "$took" -le $((timeout_s * 1000 + 3000))
rc=0
wait "$long_pid" || rc=$?
size=$(stat -c %s "$long" 2>/dev/null || echo 0)
tb_log "long download: curl exit $rc, $size bytes"
tb_check_cmp "the long download was cut (curl failed)" "$rc" -ne 0
tb_check_cmp "the long download got part of the body only" "$size" -lt "${TB_SIZE[20m]}"
tb_check "the log says the stop timeout passed with 1 busy connection" \
    grep -q 'stop_timeout (4s) passed with 1 connection(s) still busy' "$log"
tb_check_cmp "drop_draining counts the refused connection" "$(stat_of "$log" drop_draining)" -ge 1
tb_check_cmp "stop_resets counts the long download reset" "$(stat_of "$log" stop_resets)" -ge 1
tb_check_fails "no panic or backtrace in the log" grep -Eqi 'panicked|backtrace' "$log"

# ---- round 2: SIGTERM with nothing in flight stops at once
start_round idle
t0=$(now_ms)
rc=0
tb_stop_splicer TERM 20 || rc=$?
took=$(($(now_ms) - t0))
tb_check_cmp "idle SIGTERM: exit code 0" "$rc" -eq 0
tb_check_cmp "idle SIGTERM: exit within 2 s (${took} ms)" "$took" -le 2000
tb_check "idle SIGTERM: the log says no request was in flight" grep -q 'stopping: no request in flight' "$log"

# ---- round 3: SIGINT twice stops at once, even with a download in flight
start_round int2
tb_spawn "$TB_LOG_DIR/drain-int2.err" ip netns exec "$cns" \
    curl -sS --max-time 30 -o /dev/null "http://$vip/slow/20m"
sleep 0.5
splicer=$SPLICER_PID
t0=$(now_ms)
kill -INT "$splicer"
sleep 0.2
rc=0
tb_stop_splicer INT 20 || rc=$?
took=$(($(now_ms) - t0))
tb_check_cmp "SIGINT twice: exit code 0" "$rc" -eq 0
tb_check_cmp "SIGINT twice: exit within 2 s, not stop_timeout (${took} ms)" "$took" -le 2000
tb_check "SIGINT twice: logged as an immediate stop" grep -q 'stopping at once' "$log"
tb_check_cmp "SIGINT twice: the download was reset (stop_resets)" "$(stat_of "$log" stop_resets)" -ge 1

tb_finish
