#!/usr/bin/env bash
# t_handoff_routed: TCP handoff to a back end on another segment (issue 15 item 4's
# routed mode; docs/HANDOFF.md). The handoff bed (tests/e2e/handoff.sh) plus a third back
# end, ho-b3, behind the router on its own subnet, with no VIP on its loopback:
#
#   ho-router  ho-r3 198.19.20.1/24 ── ho-b3: ho-w3 (the agent's wire port, no address),
#                                      ho-k3 198.19.20.13/24 (the agent's TAP), default
#                                      via 198.19.20.1; nginx on *:80
#
# Splicer reaches 198.19.20.13 through its outside port's gateway (the router): the real
# b3 has handoff_mode = "routed", so after the handoff the client's packets are rewritten
# to 198.19.20.13:80 and routed there; the agent rewrites the kernel's answers to come
# from the VIP and sends them back through the router, never through Splicer.
# Bodies intact (sha256), no response byte from Splicer to the client for 20 MB, wrk with
# zero errors, the agent killed mid-download: the client is reset, not left hanging.
set -u
# shellcheck source-path=SCRIPTDIR source=handoff.sh
. "$(dirname "$0")/handoff.sh"

ho_routed_declare
ho_setup
ho_routed_setup
B3_NS=$HO_B3_NS
cfg=$TB_DIR/splicer.toml
ho_write_routed_config "$cfg" "ho-e2e-splicer-$$"
ho_start_splicer "$cfg"
log=$SPLICER_LOG
st() { stat_of "$log" "$1"; }

tb_check "agent 3 answers Splicer's heartbeats through the router" tb_wait_stat_gt "$log" agent_ups 0 15
tb_check "no VIP on back end 3" bash -c "! ip -n $B3_NS addr show | grep -q $HO_VIP"
# `show real` names the mode, in the table and the data.
table=$(tb_ctl show real b3 | tail -n 1 | tr -s ' ')
tb_log "show real b3: $table"
tb_check "show real: the table says routed, not local" \
    bash -c "[[ ' $table ' == *' routed no '* ]]"
mode=$(tb_ctl --json show real b3 | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["handoff_mode"], r["local"])')
tb_check "show real --json: handoff_mode routed, local false ($mode)" bash -c "[[ '$mode' == 'routed False' ]]"

# What Splicer sends the client, counted by the router on frames from Splicer's outside
# TAP to the client's address (Splicer's own client-bound packets: handshakes, ACKs of
# requests). Its forwarded client packets to back end 3 leave the same TAP, so the link's
# byte counter would count those too.
tb_in "$HO_NS_ROUTER" nft add table ip ho_routed
tb_in "$HO_NS_ROUTER" nft 'add chain ip ho_routed fw { type filter hook forward priority 0; }'
tb_in "$HO_NS_ROUTER" nft add rule ip ho_routed fw iifname ho-so ip daddr "$HO_CLIENT_IP" counter
tb_in "$HO_NS_ROUTER" nft add rule ip ho_routed fw iifname ho-r3 ip saddr "$HO_VIP" ip daddr "$HO_CLIENT_IP" counter
# counter_bytes N: the bytes of the Nth rule's counter (1: Splicer → client, 2: back end 3
# → client from the VIP).
counter_bytes() {
    tb_in "$HO_NS_ROUTER" nft list chain ip ho_routed fw | grep -o 'bytes [0-9]*' | sed -n "$1s/bytes //p"
}

for name in 0b 1b 100k 20m; do
    tb_check "routed handoff: /files/$name intact (sha256)" ho_body_ok "$name"
done
from_splicer=$(counter_bytes 1)
from_b3=$(counter_bytes 2)
tb_wait_stats_line "$log" >/dev/null
tb_check_cmp "every request handed off" "$(st handoffs_ok)" -ge 4
tb_check_cmp "none fell back" "$(($(st handoff_fallback_splice) + $(st handoff_503)))" -eq 0
# The client ACKs 20 MB in some 900 to 1,800 packets (stretch ACKs).
tb_check_cmp "client packets rewritten to back end 3 and routed" "$(st handed_off_routed)" -gt 500
tb_log "Splicer sent the client $from_splicer bytes; back end 3 sent it $from_b3 bytes from the VIP (bodies: 20,100,001 bytes)"
tb_check_cmp "no response payload through Splicer (bytes it sent the client)" "${from_splicer:-0}" -lt 100000
tb_check_cmp "the responses came from back end 3 through the router, from the VIP" "${from_b3:-0}" -gt 20000000
# 20 MB is at least 13,812 segments of 1448 bytes (the agent's stats come every second).
tb_check "agent 3 translated the responses" ho_wait_agent_stat_gt 3 translated_to_client 13812 5
tb_check_cmp "agent 3 dropped nothing untranslatable" "$(ho_agent_stat 3 drop_untranslatable)" -eq 0
tb_check "nginx on back end 3 saw the connections come to its own address" \
    grep -q "GET /files/20m" "$TB_LOG_DIR/nginx-b3-access.log"

out=$(tb_in "$HO_NS_CLIENT" wrk -t1 -c8 -d3s "http://$HO_VIP/files/100k" 2>&1) || true
tb_log "wrk: $(tr '\n' ' ' <<<"$out" | tr -s ' ' | cut -c1-300)"
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
tb_check_cmp "wrk through routed handoff: requests done" "${reqs:-0}" -gt 20
tb_check "wrk through routed handoff: no socket errors and no non-2xx" \
    bash -c "! grep -qE 'Socket errors|Non-2xx' <<<'$out'"

# Agent 3 killed mid-download: back end 3 is gone from the wire; Splicer declares the
# agent down and resets the client.
(
    tb_slow_download "$HO_NS_CLIENT" "$HO_VIP" files/20m 500000 60 >"$TB_DIR/dl.err" 2>&1
    echo $? >"$TB_DIR/dl.rc"
) &
TB_PIDS+=("$!")
sleep 1
downs0=$(st agent_downs)
resets0=$(st handoff_resets)
held=$(ho_backend_conns 3)
ho_stop_agent 3 KILL
tb_check "agent killed: declared down" tb_wait_stat_gt "$log" agent_downs "$downs0" 10
for ((t = 0; t < 100; t++)); do
    [[ -s $TB_DIR/dl.rc ]] && break
    sleep 0.1
done
rc=$(cat "$TB_DIR/dl.rc" 2>/dev/null || echo running)
tb_log "download when agent 3 was killed: exit $rc ($(head -c 200 "$TB_DIR/dl.err" 2>/dev/null))"
tb_check "agent killed: the download was reset, not left hanging (exit $rc)" bash -c "[[ '$rc' == 56 ]]"
tb_check_cmp "agent killed: counted as handoff_resets" "$(tb_fresh_stat "$log" handoff_resets)" -gt "$resets0"
# A new agent: handoffs resume.
ups0=$(st agent_ups)
ho_start_agent 3
tb_check "agent restarted: up again" tb_wait_stat_gt "$log" agent_ups "$ups0" 10
# The owed RST, to back end 3's own address (where its kernel holds the connection).
tb_log "back end 3 held $held connection(s) with the client before its agent was killed"
tb_check_cmp "agent killed: back end 3 held the download's connection" "$held" -ge 1
tb_check "agent restarted: back end 3's kernel let go of the reset connection" ho_wait_backend_conns_gone 3 5
tb_check "agent restarted: /files/100k intact" ho_body_ok 100k
tb_check "Splicer still running" tb__alive "$SPLICER_PID"
tb_finish
