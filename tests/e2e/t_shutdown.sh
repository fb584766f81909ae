#!/usr/bin/env bash
# t_shutdown — Splicer stops cleanly on SIGINT and on SIGTERM:
#  * exit code 0, a `final stats` line followed by the final `stats total` line (which
#    counts the echo requests answered just before);
#  * Splicer removes its own /var/run/dpdk/<prefix> folder (checked before the test's
#    teardown would remove it) and leaves no /dev/hugepages/<prefix>* file;
#  * its TAP interfaces spl-out / spl-in are gone from every namespace once it has exited;
#  * nothing panicked.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

# shellcheck disable=SC2317  # (called through tb_check)
taps_gone() {
    local i
    for ((i = 0; i < 30; i++)); do
        if ! tb_tap_anywhere "$TB_TAP_OUT" && ! tb_tap_anywhere "$TB_TAP_IN"; then
            return 0
        fi
        sleep 0.1
    done
    echo "still present: $(ip -o link show | grep -E "$TB_TAP_OUT|$TB_TAP_IN")" \
        "$(for ns in "${TB_ALL_NS[@]}"; do ip -n "$ns" -o link show 2>/dev/null | grep -E "$TB_TAP_OUT|$TB_TAP_IN"; done)"
    return 1
}

# shellcheck disable=SC2317
no_hugepage_files() {
    local f
    for f in /dev/hugepages/"$1"*; do
        [[ -e $f ]] && { echo "left: $f"; return 1; }
    done
    return 0
}

# shellcheck disable=SC2317
final_stats_after_marker() { # LOG: a "stats total" line comes after the "final stats" line
    awk '/final stats/ { m = 1 } m && /stats total/ { found = 1 } END { exit !found }' "$1"
}

one_round() { # SIGNAL
    local sig=$1 prefix cfg log rc=0 replies
    prefix=$(tb_unique_prefix "shutdown-${sig,,}")
    cfg=$TB_DIR/shutdown-${sig,,}.toml
    log=$TB_LOG_DIR/splicer-shutdown-${sig,,}.log
    tb_write_config "$cfg" "$prefix"
    if ! tb_start_splicer "$cfg" "$log"; then
        tb_check "SIG$sig round: Splicer starts" false
        tb_stop_splicer KILL 5 || true
        return
    fi
    tb_check "SIG$sig round: /var/run/dpdk/$prefix exists while running" test -d "/var/run/dpdk/$prefix"
    tb_check "SIG$sig round: client pings the VIP" tb_ping "$TB_NS_CLIENT" "$TB_VIP"
    tb_check "SIG$sig round: client pings $TB_OUT_IP" tb_ping "$TB_NS_CLIENT" "$TB_OUT_IP"

    tb_stop_splicer "$sig" 20 || rc=$?
    tb_check_cmp "SIG$sig: exit code 0" "$rc" -eq 0
    tb_check "SIG$sig: 'final stats' logged" grep -q 'final stats' "$log"
    tb_check "SIG$sig: a stats total line follows 'final stats'" final_stats_after_marker "$log"
    replies=$(stat_of "$log" icmp_echo_replies)
    tb_check_cmp "SIG$sig: final icmp_echo_replies counts the pings" "$replies" -ge 2
    tb_check "SIG$sig: /var/run/dpdk/$prefix removed by Splicer" test ! -e "/var/run/dpdk/$prefix"
    tb_check "SIG$sig: no /dev/hugepages/$prefix* files" no_hugepage_files "$prefix"
    tb_check "SIG$sig: $TB_TAP_OUT and $TB_TAP_IN gone from every namespace" taps_gone
    tb_check_fails "SIG$sig: no panic or backtrace in the log" grep -Eqi 'panicked|backtrace' "$log"
}

one_round INT
one_round TERM

tb_finish
