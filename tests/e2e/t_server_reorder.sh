#!/usr/bin/env bash
# t_server_reorder — server segments reordered on their way to Splicer (the kernel of the
# test machines has no netem: Splicer's own [port.impair] on the inside port holds 25 % of
# the frames it receives 5 ms back, so the frames behind overtake them):
#  * the reference: 3 x 20 MiB through a `mode = "tcp"` virtual (VIP:8080, a pure
#    forwarder: every segment goes on as it comes) to s1..s3, the servers' TcpRetransSegs
#    (/proc/net/snmp in their namespaces) counted; a direct run without Splicer (no
#    reordering) is logged too;
#  * then 3 x 20 MiB through the splice (round robin, so one per server): every body
#    sha256-exact, Splicer forwarded reordered body segments (server_forwarded_ahead
#    moved, drop_server_out_of_order almost still), and the servers retransmitted at
#    most 1.25 x the reference's segments plus 1 % of the segments sent (before the fix
#    every reordered segment was dropped and sent again; the downloads did not finish
#    within 60 s);
#  * 20 x 100 KiB on one keep-alive connection arrive intact too (each response's end
#    still found after bytes forwarded ahead, the connection reused).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix reorder)
cfg=$TB_DIR/reorder.toml
log=$TB_LOG_DIR/splicer-reorder.log
l4="[[virtual]]
name = \"l4\"
address = \"$TB_VIP:8080\"
mode = \"tcp\"
bind = [\"l1\", \"l2\", \"l3\"]
"
for i in 1 2 3; do
    l4+="
[[real]]
name = \"l$i\"
address = \"${TB_SERVER_IPS[i - 1]}:80\"
"
done
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "$l4"
tb_config_port_lines "$cfg" inside "$(tb_impair_lines 0% 0% 25% 7)
reorder_delay = \"5ms\"" || tb_die "impair lines"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

retrans() { # retrans : TcpRetransSegs summed over the three servers
    local ns n=0 v
    for ns in "${TB_NS_SERVERS[@]}"; do
        # shellcheck disable=SC2016 # awk's own fields
        v=$(tb_in "$ns" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp)
        n=$((n + v))
    done
    echo "$n"
}

# 1. Direct (no Splicer, no reordering): s1 -> a client in s2's namespace.
r0=$(retrans)
for i in 1 2 3; do
    sum=$(tb_in "${TB_NS_SERVERS[1]}" curl -sS --max-time 60 "http://${TB_SERVER_IPS[0]}/files/20m?d=$i" | sha256sum | cut -d' ' -f1)
    tb_check "direct download $i is exact" test "$sum" = "${TB_SHA256[20m]}"
done
direct=$(($(retrans) - r0))

# downloads PORT TAG: 3 x 20 MiB from the client to VIP:PORT, checked (called directly,
# not in $(...), so that its checks count); the servers' retransmissions meanwhile in
# RETRANS.
RETRANS=0
downloads() {
    local port=$1 tag=$2 i sum r0
    r0=$(retrans)
    for i in 1 2 3; do
        sum=$(tb_in "$TB_NS_CLIENT" curl -sS --max-time 60 "http://$TB_VIP:$port/files/20m?$tag=$i" | sha256sum | cut -d' ' -f1)
        tb_check "download $i through VIP:$port is exact" test "$sum" = "${TB_SHA256[20m]}"
    done
    RETRANS=$(($(retrans) - r0))
}

# 2. The reference through the tcp virtual, then the splice.
reo0=$(stat_of "$log" impair_reordered)
downloads 8080 t
l4=$RETRANS
tb_wait_stats_line "$log" >/dev/null
reo1=$(stat_of "$log" impair_reordered)
ahead0=$(stat_of "$log" server_forwarded_ahead)
drop0=$(stat_of "$log" drop_server_out_of_order)
downloads 80 s
spliced=$RETRANS
tb_wait_stats_line "$log" >/dev/null
reo2=$(stat_of "$log" impair_reordered)
ahead=$(($(stat_of "$log" server_forwarded_ahead) - ahead0))
drops=$(($(stat_of "$log" drop_server_out_of_order) - drop0))
tb_log "frames reordered: $((reo1 - reo0)) on the tcp virtual, $((reo2 - reo1)) on the splice"
tb_log "server retransmissions: direct (no reordering) $direct, tcp virtual $l4, splice $spliced; forwarded ahead $ahead, dropped out of order $drops"
tb_check_cmp "reordered body segments were forwarded ahead ($ahead)" "$ahead" -gt 0
segs=$((3 * 20971520 / 1448))
tb_check_cmp "dropped out of order: at most 1 % of $segs" "$drops" -le $((segs / 100))
tb_check "server retransmissions through the splice ($spliced) at most 1.25 x the tcp virtual's ($l4) + 1 % of $segs" \
    test "$spliced" -le $((l4 * 5 / 4 + segs / 100))

# 3. Many responses on one keep-alive connection through the reordering.
out=$TB_DIR/ka
mkdir -p "$out"
urls=()
for i in $(seq 1 20); do urls+=("http://$TB_VIP/files/100k?k=$i" -o "$out/$i"); done
tb_in "$TB_NS_CLIENT" curl -sS --max-time 60 "${urls[@]}"
bad=0
for i in $(seq 1 20); do tb_body_ok 100k "$out/$i" || bad=$((bad + 1)); done
tb_check "20 x 100 KiB on one keep-alive connection, all exact ($bad bad)" test "$bad" = 0

tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
