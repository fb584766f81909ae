#!/usr/bin/env bash
# t_presence — Splicer is present on its networks (one worker):
#  * it answers ICMP echo for its outside address (198.18.0.1) and the VIP (198.18.0.100)
#    from the client, and for its inside address (198.19.0.1) from a server;
#  * it answers ARP for those three addresses, each with the MAC of the port that owns it
#    (the VIP and the outside address give the same MAC, the one configured for that port);
#  * an address it does not own (198.18.0.77) is ignored: an ARP request for it gets no
#    answer and moves drop_arp_not_for_us; an IP packet sent to it (with a static neighbour
#    entry pointing at Splicer's MAC) gets no answer and moves drop_not_for_us;
#  * it resolves neighbours by itself: a fresh Splicer, a client that never ARPs (permanent
#    neighbour entry for 198.18.0.1) pinging from an address Splicer has never seen still
#    gets answers, and arp_requests and neighbours_learned are > 0;
#  * SIGINT stops it with exit code 0 each time.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup


# 0 when two MACs are equal, ignoring case.
# shellcheck disable=SC2317  # (called through tb_check)
same_mac() { [[ ${1,,} == "${2,,}" ]]; }

prefix=$(tb_unique_prefix presence)
cfg=$TB_DIR/presence.toml
log=$TB_LOG_DIR/splicer-presence.log
tb_write_config "$cfg" "$prefix"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

# --- ICMP echo
tb_check "client pings the outside address $TB_OUT_IP" tb_ping "$TB_NS_CLIENT" "$TB_OUT_IP"
tb_check "client pings the VIP $TB_VIP" tb_ping "$TB_NS_CLIENT" "$TB_VIP"
tb_check "server s1 pings the inside address $TB_IN_IP" tb_ping spl-s1 "$TB_IN_IP"

# --- ARP
mac_out=$(tb_arping_mac "$TB_NS_CLIENT" "$TB_TAP_OUT" "$TB_OUT_IP") || mac_out=none
mac_vip=$(tb_arping_mac "$TB_NS_CLIENT" "$TB_TAP_OUT" "$TB_VIP") || mac_vip=none
mac_in=$(tb_arping_mac spl-s1 veth0 "$TB_IN_IP") || mac_in=none
tb_log "arping: $TB_OUT_IP is at $mac_out, $TB_VIP at $mac_vip, $TB_IN_IP at $mac_in"
tb_check "arping $TB_OUT_IP from the client gets a reply" test "$mac_out" != none
tb_check "arping $TB_VIP from the client gets a reply" test "$mac_vip" != none
tb_check "arping $TB_IN_IP from s1 gets a reply" test "$mac_in" != none
tb_check "VIP and outside address answer with the same MAC" same_mac "$mac_vip" "$mac_out"
tb_check "outside port answers with its configured MAC $TB_MAC_OUT" same_mac "$mac_out" "$TB_MAC_OUT"
tb_check "inside port answers with its configured MAC $TB_MAC_IN" same_mac "$mac_in" "$TB_MAC_IN"

tb_check_cmp "arp_replies counted" "$(tb_fresh_stat "$log" arp_replies)" -ge 3
tb_check_cmp "icmp_echo_replies counted" "$(stat_of "$log" icmp_echo_replies)" -ge 3

# --- an address Splicer does not own: ARP is not answered
unknown=198.18.0.77
before=$(tb_fresh_stat "$log" drop_arp_not_for_us)
tb_check_fails "ping $unknown (not Splicer's) gets no answer" \
    tb_in "$TB_NS_CLIENT" ping -n -q -c 2 -i 0.5 -W 1 "$unknown"
tb_check "drop_arp_not_for_us moves (was $before)" tb_wait_stat_gt "$log" drop_arp_not_for_us "$before" 5

# --- ... and an IP packet sent to it at Splicer's MAC is dropped as not for us
tb_check "static neighbour $unknown -> $TB_MAC_OUT in the client" \
    ip -n "$TB_NS_CLIENT" neigh replace "$unknown" lladdr "$TB_MAC_OUT" dev "$TB_TAP_OUT" nud permanent
before=$(tb_fresh_stat "$log" drop_not_for_us)
tb_check_fails "ping $unknown through Splicer's MAC gets no answer" \
    tb_in "$TB_NS_CLIENT" ping -n -q -c 2 -i 0.5 -W 1 "$unknown"
tb_check "drop_not_for_us moves (was $before)" tb_wait_stat_gt "$log" drop_not_for_us "$before" 5

rc=0
tb_stop_splicer INT || rc=$?
tb_check_cmp "SIGINT: exit code 0" "$rc" -eq 0

# --- neighbour resolution by Splicer itself, on a fresh instance
prefix2=$(tb_unique_prefix presence-nb)
cfg2=$TB_DIR/presence-nb.toml
log2=$TB_LOG_DIR/splicer-presence-nb.log
tb_write_config "$cfg2" "$prefix2"
new_src=198.18.0.20
tb_client_add_addr "$new_src/24"
tb_start_splicer "$cfg2" "$log2" || tb_die "the second Splicer did not start"
# The client must never ask for 198.18.0.1: give it a permanent entry before any traffic.
tb_check "permanent neighbour $TB_OUT_IP -> $TB_MAC_OUT in the client" \
    ip -n "$TB_NS_CLIENT" neigh replace "$TB_OUT_IP" lladdr "$TB_MAC_OUT" dev "$TB_TAP_OUT" nud permanent
tb_check "ping $TB_OUT_IP from $new_src (unknown to Splicer) is answered" \
    tb_in "$TB_NS_CLIENT" ping -n -q -c 5 -i 0.3 -W 2 -I "$new_src" "$TB_OUT_IP"
tb_check "client's entry for $TB_OUT_IP is still PERMANENT" \
    bash -c "ip -n '$TB_NS_CLIENT' neigh show '$TB_OUT_IP' dev '$TB_TAP_OUT' | grep -q PERMANENT"
tb_check "arp_requests > 0 (Splicer asked for $new_src)" tb_wait_stat_gt "$log2" arp_requests 0 5
tb_check "neighbours_learned > 0" tb_wait_stat_gt "$log2" neighbours_learned 0 5
tb_log "fresh instance: arp_replies=$(stat_of "$log2" arp_replies) (the client never asked)"

rc=0
tb_stop_splicer INT || rc=$?
tb_check_cmp "SIGINT: exit code 0 (second instance)" "$rc" -eq 0
tb_check "final stats logged" grep -q 'final stats' "$log2"

tb_finish
