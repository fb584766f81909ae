#!/usr/bin/env bash
# t_isn — Splicer's initial sequence numbers are keyed per connection (RFC 6528: SipHash of
# the 4-tuple under a secret drawn at start-up, plus a 4-µs clock):
#  * 1,000 SYNs from the client (source ports 30000..30999, raw socket, synprobe.py) get
#    1,000 SYN-ACKs; their ISNs in port order have (nearly) no repeated step and no
#    x[n+1] = m x[n] + c (mod 2^32) relation (the check finds one in an LCG sequence);
#  * the same 5 ports probed again 1 s later: the ISNs moved by one common clock advance
#    (the control: one secret), while after a restart of Splicer they moved by unrelated
#    amounts (a new secret);
#  * all of those were ordinary handshakes (tcp_syns), not cookies.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup
prefix=$(tb_unique_prefix isn)
cfg=$TB_DIR/isn.toml
log=$TB_LOG_DIR/splicer-isn.log
probe=$TB_REPO/tests/e2e/synprobe.py
tb_write_config "$cfg" "$prefix" 1
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"
# Splicer must know the client's MAC before the first SYN-ACK (or the first answers
# wait for ARP): a ping does it.
tb_ping "$TB_NS_CLIENT" "$TB_VIP" >/dev/null || tb_die "the VIP does not answer pings"

# synprobe OUT SPORT COUNT: runs the prober from the client; its exit code.
# shellcheck disable=SC2317  # (called through tb_check)
synprobe() {
    tb_in "$TB_NS_CLIENT" timeout 60 python3 "$probe" "$TB_CLIENT_IP" "$TB_VIP" 80 "$2" "$3" >"$1"
}

tb_check "1000 SYNs get 1000 SYN-ACKs" synprobe "$TB_DIR/isn-1000.txt" 30000 1000
tb_check_cmp "ISNs collected" "$(wc -l <"$TB_DIR/isn-1000.txt")" -eq 1000
tb_check "no linear relation between consecutive ISNs" python3 "$probe" --analyse "$TB_DIR/isn-1000.txt"
python3 "$probe" --analyse "$TB_DIR/isn-1000.txt" | sed 's/^/# /'

# Five 4-tuples, twice with the same secret, then after a restart.
tb_check "5 SYNs" synprobe "$TB_DIR/isn-a.txt" 31000 5
sleep 1
tb_check "the same 5 SYNs 1 s later" synprobe "$TB_DIR/isn-b.txt" 31000 5
tb_check_cmp "all ordinary handshakes (tcp_syns)" "$(tb_fresh_stat "$log" tcp_syns)" -ge 1010
tb_check_cmp "no SYN cookie" "$(stat_of "$log" syn_cookies_sent)" -eq 0
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0

log2=$TB_LOG_DIR/splicer-isn-2.log
tb_start_splicer "$cfg" "$log2" || tb_die "Splicer did not restart"
tb_ping "$TB_NS_CLIENT" "$TB_VIP" >/dev/null || tb_die "the VIP does not answer pings after the restart"
tb_check "the same 5 SYNs after a restart" synprobe "$TB_DIR/isn-c.txt" 31000 5

# The 5 probes take a few ms: one secret gives differences within ~1 s of clock (250,000
# ticks); a new secret gives differences spread over the whole 2^32 space (the chance that
# 5 random ones fall within 2^24 of each other is below 10^-9).
same=$(python3 "$probe" --spread "$TB_DIR/isn-a.txt" "$TB_DIR/isn-b.txt" | sed -n 's/^spread=\([0-9]*\).*/\1/p')
new=$(python3 "$probe" --spread "$TB_DIR/isn-a.txt" "$TB_DIR/isn-c.txt" | sed -n 's/^spread=\([0-9]*\).*/\1/p')
tb_log "ISN differences for 5 tuples: spread $same with one secret, $new across a restart"
tb_check_cmp "one secret: the 5 ISNs moved together (clock only)" "${same:-999999999999}" -lt 250000
tb_check_cmp "a restart: the 5 ISNs moved apart (new secret)" "${new:-0}" -gt $((1 << 24))
tb_check_fails "no panic after the restart" grep -Eqi 'panicked|backtrace' "$log2"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
