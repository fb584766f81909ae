#!/usr/bin/env bash
# t_handoff_agent: `splicer agent` on two back ends, with fakefront.py as the front end
# (docs/HANDOFF.md): handed-off connections answered by the back ends' kernels directly,
# bodies intact, no response byte through the front end, keep-alive under wrk, an agent
# restart (new epoch, TAP re-created) and a back end's link down and up.
set -u
# shellcheck source-path=SCRIPTDIR source=handoff.sh
. "$(dirname "$0")/handoff.sh"

ho_setup
ho_start_agent 1
ho_start_agent 2
ho_start_fakefront

tb_check "bridging: the client reaches back end 1's own address through its agent" \
    bash -c "[[ \$(ip netns exec $HO_NS_CLIENT curl -sS --max-time 10 http://${HO_BACK_IPS[0]}/) == b1 ]]"
tb_check "bridging: and back end 2's" \
    bash -c "[[ \$(ip netns exec $HO_NS_CLIENT curl -sS --max-time 10 http://${HO_BACK_IPS[1]}/) == b2 ]]"

# Round robin over two back ends: each body twice, so each back end serves it.
for name in 0b 1b 100k 20m 0b 1b 100k 20m; do
    tb_check "handoff: /files/$name intact (sha256)" ho_body_ok "$name"
done
who=$(for _ in 1 2 3 4; do ho_curl "http://$HO_VIP/" ; done | sort | uniq -c | tr -s ' ' | tr '\n' ',')
tb_check "both back ends answer through the VIP ($who)" \
    bash -c "[[ '$who' == *b1* && '$who' == *b2* ]]"

sleep 1.5 # a fresh stats line from everyone
ok1=$(ho_agent_stat 1 handoffs_ok)
ok2=$(ho_agent_stat 2 handoffs_ok)
tb_check_cmp "agent 1 took handoffs" "$ok1" -ge 5
tb_check_cmp "agent 2 took handoffs" "$ok2" -ge 5
sum_stat() { echo $(($(ho_agent_stat 1 "$1") + $(ho_agent_stat 2 "$1"))); }
# A 20 MB body is over 14,000 segments of 1448 bytes.
tb_check_cmp "the agents translated the response segments" "$(sum_stat translated_to_client)" -gt 28000
tb_check_cmp "and the client's segments" "$(sum_stat translated_to_kernel)" -gt 1000
tb_check_cmp "the agents saw the connections close by FIN" "$(sum_stat closed_fin)" -ge 12
tb_check_cmp "and the front end acknowledged their CLOSEDs" "$(sum_stat closed_acked)" -ge 12
tb_check_cmp "no segment was untranslatable, no frame dropped" \
    "$(($(sum_stat drop_untranslatable) + $(sum_stat drop_tx_full) + $(sum_stat drop_no_mbuf) + $(sum_stat drop_kernel_unexpected)))" -eq 0
# 2 x 20 MB + 2 x 100 kB went to the client; the front end sent it only handshakes and ACKs.
to_client=$(ho_front_stat to_client_bytes)
forwarded=$(ho_front_stat forwarded_bytes)
tb_log "front end: $to_client bytes sent towards clients, $forwarded bytes of client frames forwarded"
tb_check_cmp "no response payload through the front end (bytes it sent towards clients)" "$to_client" -lt 200000

out=$(tb_in "$HO_NS_CLIENT" wrk -t1 -c8 -d3s "http://$HO_VIP/files/100k" 2>&1) || true
tb_log "wrk: $(tr '\n' ' ' <<<"$out" | tr -s ' ' | cut -c1-300)"
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
tb_check_cmp "wrk through handoff: requests done" "${reqs:-0}" -gt 20
tb_check "wrk through handoff: no socket errors and no non-2xx" \
    bash -c "! grep -qE 'Socket errors|Non-2xx' <<<'$out'"

# An agent restart: the TAP and its addresses go with the process; the new agent has a new
# epoch and takes handoffs again once its TAP is configured.
epoch1=$(sed -n 's/.*agent ready.* epoch \([0-9a-f]*\).*/\1/p' "${HO_AGENT_LOG[2]}" | tail -n 1)
ho_stop_agent 2 KILL
ho_start_agent 2
epoch2=$(sed -n 's/.*agent ready.* epoch \([0-9a-f]*\).*/\1/p' "${HO_AGENT_LOG[2]}" | tail -n 1)
tb_check "a restarted agent has a new epoch ($epoch1 -> $epoch2)" \
    bash -c "[[ -n '$epoch2' && '$epoch1' != '$epoch2' ]]"
for name in 100k 100k; do
    tb_check "after the restart: /files/$name intact" ho_body_ok "$name"
done
# Back end 1's link down and up (a reboot as the LAN sees it): the agent's wire port
# survives it, bridging and handoffs resume.
ip -n "$HO_NS_LAN" link set ho-l1 down
sleep 2
ip -n "$HO_NS_LAN" link set ho-l1 up
sleep 1
tb_check "link down/up: the client reaches back end 1's own address again" \
    bash -c "[[ \$(ip netns exec $HO_NS_CLIENT curl -sS --max-time 10 http://${HO_BACK_IPS[0]}/) == b1 ]]"
ok1=$(ho_agent_stat 1 handoffs_ok)
for name in 100k 100k 1b 1b; do
    tb_check "link down/up: /files/$name intact" ho_body_ok "$name"
done
tb_check "link down/up: agent 1 took handoffs again" ho_wait_agent_stat_gt 1 handoffs_ok "$ok1"
tb_check "every agent still runs" bash -c "kill -0 ${HO_AGENT_PID[1]} && kill -0 ${HO_AGENT_PID[2]}"
tb_finish
