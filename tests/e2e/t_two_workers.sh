#!/usr/bin/env bash
# t_two_workers — presence with two workers (workers = 2, lcores 0@0,1@0,2@1 on 2 cores):
#  * ping and arping of the outside address, the VIP and the inside address succeed;
#  * many ICMP echo flows (client sources 198.18.0.3..10 x two destinations, plus the three
#    servers) are all answered although the kernel spreads them over the TAPs' two queues;
#  * flows that land on the queue of the worker that does not own them are handed to the
#    owner through a ring: handoff_out > 0 and handoff_in > 0 in the final stats, and both
#    workers received packets;
#  * 20 HTTP connections from 8 client sources are all answered and all end, leaving no
#    flow state, although their segments too are spread over both queues;
#  * `show workers` lists both workers, each having polled and taken in packets, busy
#    (0 < busy <= 100 %) with cycles per packet > 0; the table is printed;
#  * SIGINT stops it with exit code 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix two-workers)
cfg=$TB_DIR/two-workers.toml
log=$TB_LOG_DIR/splicer-two-workers.log
sock=$TB_DIR/run/two-workers.sock
tb_write_config "$cfg" "$prefix" 2 "control_socket = \"$sock\""
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

tb_check "client pings the outside address $TB_OUT_IP" tb_ping "$TB_NS_CLIENT" "$TB_OUT_IP"
tb_check "client pings the VIP $TB_VIP" tb_ping "$TB_NS_CLIENT" "$TB_VIP"
tb_check "server s1 pings the inside address $TB_IN_IP" tb_ping spl-s1 "$TB_IN_IP"
tb_check "arping $TB_OUT_IP from the client" tb_arping_mac "$TB_NS_CLIENT" "$TB_TAP_OUT" "$TB_OUT_IP"
tb_check "arping $TB_VIP from the client" tb_arping_mac "$TB_NS_CLIENT" "$TB_TAP_OUT" "$TB_VIP"
tb_check "arping $TB_IN_IP from s2" tb_arping_mac spl-s2 veth0 "$TB_IN_IP"

# ping_round FIRST LAST: every client source 198.18.0.FIRST..LAST pings both outside targets.
ping_round() {
    local i src dst
    for ((i = $1; i <= $2; i++)); do
        src=198.18.0.$i
        tb_client_add_addr "$src/24" || tb_die "cannot add $src to the client"
    done
    for ((i = $1; i <= $2; i++)); do
        src=198.18.0.$i
        for dst in "$TB_OUT_IP" "$TB_VIP"; do
            tb_check "ping $dst from $src" tb_ping "$TB_NS_CLIENT" "$dst" -I "$src"
        done
    done
}

ping_round 3 10
for s in spl-s1 spl-s2 spl-s3; do
    tb_check "$s pings $TB_IN_IP" tb_ping "$s" "$TB_IN_IP"
done
# The kernel picks the queue by its own flow hash: with 19 flows it is all but certain that
# some landed on the non-owner's queue. If none did, one more round of new flows.
if (($(tb_fresh_stat "$log" handoff_out) == 0)); then
    tb_log "no hand-off after the first round; 20 more client sources"
    ping_round 11 30
fi

# TCP with two workers: each client connection has one owner; segments the kernel puts on
# the other queue (handshake, request, ACKs, FINs) are handed over, and every connection
# still gets its answer and ends.
answered=0
for i in $(seq 1 20); do
    code=$(tb_http_status --interface "198.18.0.$((3 + i % 8))" "http://$TB_VIP/conn/$i") || true
    [[ $code == 503 ]] && answered=$((answered + 1))
done
tb_check_cmp "20 HTTP connections from 8 sources all answered (503, no server bound)" "$answered" -eq 20

# Both workers' loops, since start-up (VPP's `show runtime`).
"$SPLICER_BIN" ctl --socket "$sock" show workers >"$TB_LOG_DIR/two-workers-show-workers.txt" 2>&1
sed 's/^/# | /' "$TB_LOG_DIR/two-workers-show-workers.txt"
"$SPLICER_BIN" ctl --socket "$sock" --json show workers >"$TB_DIR/workers.json" 2>&1
tb_check "show workers: both workers polled, took in packets, and were busy" \
    python3 - "$TB_DIR/workers.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
ok = [r["index"] for r in rows] == [0, 1]
for r in rows:
    print({k: r[k] for k in ("index", "lcore", "polls", "busy_polls", "packets",
                             "rx_packets", "busy_fraction", "cycles_per_packet")})
    ok &= r["polls"] >= r["busy_polls"] > 0 and r["packets"] > 0
    ok &= 0 < r["busy_fraction"] <= 1 and r["cycles_per_packet"] > 0
sys.exit(0 if ok else 1)
PY

rc=0
tb_stop_splicer INT || rc=$?
tb_check_cmp "SIGINT: exit code 0" "$rc" -eq 0
tb_check "final stats logged" grep -q 'final stats' "$log"
tb_check_cmp "handoff_out > 0 (final stats)" "$(stat_of "$log" handoff_out)" -gt 0
tb_check_cmp "handoff_in > 0 (final stats)" "$(stat_of "$log" handoff_in)" -gt 0
tb_check_cmp "worker 0 received packets" "$(tb_stat "$log" worker=0 rx_packets)" -gt 0
tb_check_cmp "worker 1 received packets" "$(tb_stat "$log" worker=1 rx_packets)" -gt 0
tb_check_cmp "icmp_echo_replies (final stats)" "$(stat_of "$log" icmp_echo_replies)" -ge 19
tb_check_cmp "every TCP connection ended (final stats)" \
    "$(($(stat_of "$log" clients_closed) + $(stat_of "$log" client_resets)))" -eq "$(stat_of "$log" tcp_established)"
tb_check_cmp "no flow state left (final stats)" "$(stat_of "$log" flows)" -eq 0
tb_log "final: $(grep -a 'stats total' "$log" | tail -n 1 | sed 's/.*stats total//')"

tb_finish
