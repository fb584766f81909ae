#!/usr/bin/env bash
# t_handoff: Splicer's side of TCP handoff (issue 15) with real kernels: a `mode =
# "handoff"` virtual in front of two back ends, each running `splicer agent` + nginx
# (tests/e2e/handoff.sh). Bodies intact, no response payload through Splicer, wrk
# without errors, a second request on a handed-off connection stays on its back end;
# then the failures: the control channel cut (requests spliced instead, handed-off
# connections reset at both ends), the channel back, an agent killed (its clients reset,
# nobody left hanging; its back end's connections reset once it runs again), Splicer
# killed (the agents reset its connections in their kernels after splicer_dead_time).
set -u
# shellcheck source-path=SCRIPTDIR source=handoff.sh
. "$(dirname "$0")/handoff.sh"

ho_setup
# Splicer's agent_dead_time (1 s below) plus more than two of its heartbeats (300 ms).
agent_extra='splicer_dead_time = "2s"'
ho_start_agent 1 "$agent_extra"
ho_start_agent 2 "$agent_extra"
cfg=$TB_DIR/splicer.toml
ho_write_splicer_config "$cfg" "ho-e2e-splicer-$$"
# Fast failure detection, so that the test's waits stay short.
sed -i 's/^idle_sleep = .*/&\nagent_heartbeat = "300ms"\nagent_dead_time = "1s"\nhandoff_timeout = "500ms"/' "$cfg"
ho_start_splicer "$cfg"
log=$SPLICER_LOG
st() { stat_of "$log" "$1"; }

tb_check "both agents answer Splicer's heartbeats" tb_wait_stat_gt "$log" agent_ups 1 15

# Bytes Splicer wrote towards the router (its outside TAP's receive counter in the
# router's namespace): every frame it sent clients.
out_bytes() { ip -n "$HO_NS_ROUTER" -s -j link show dev ho-so | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])'; }
before=$(out_bytes)
for name in 0b 1b 100k 20m 0b 1b 100k 20m; do
    tb_check "handoff: /files/$name intact (sha256)" ho_body_ok "$name"
done
after=$(out_bytes)
tb_wait_stats_line "$log" >/dev/null
tb_check_cmp "every request handed off" "$(st handoffs_ok)" -ge 8
tb_check_cmp "none fell back" "$(($(st handoff_fallback_splice) + $(st handoff_503)))" -eq 0
tb_check_cmp "client packets forwarded to the back ends by MAC" "$(st handed_off_forwarded)" -gt 1000
sent=$((after - before))
tb_log "Splicer sent $sent bytes towards clients while 40,200,002 bytes of bodies were served"
tb_check_cmp "no response payload through Splicer (bytes it sent towards clients)" "$sent" -lt 100000
who=$(for _ in 1 2 3 4; do ho_curl "http://$HO_VIP/"; done | sort -u | tr '\n' ' ')
tb_check "both back ends answer through the VIP ($who)" bash -c "[[ '$who' == 'b1 b2 ' ]]"

# Two requests on one connection: the second goes to the first's back end (the "rare"
# case: Splicer does not see it).
ok0=$(tb_fresh_stat "$log" handoffs_ok)
two=$(ho_curl "http://$HO_VIP/" "http://$HO_VIP/" | tr '\n' ' ')
tb_check "a second request on a handed-off connection stays on its back end ($two)" \
    bash -c "[[ '$two' == 'b1 b1 ' || '$two' == 'b2 b2 ' ]]"
tb_check_cmp "one handoff for the two requests" "$(($(tb_fresh_stat "$log" handoffs_ok) - ok0))" -eq 1

out=$(tb_in "$HO_NS_CLIENT" wrk -t1 -c8 -d3s "http://$HO_VIP/files/100k" 2>&1) || true
tb_log "wrk: $(tr '\n' ' ' <<<"$out" | tr -s ' ' | cut -c1-300)"
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
tb_check_cmp "wrk through handoff: requests done" "${reqs:-0}" -gt 20
tb_check "wrk through handoff: no socket errors and no non-2xx" \
    bash -c "! grep -qE 'Socket errors|Non-2xx' <<<'$out'"

# ho_slow_downloads TAG: two slow downloads of 20m in the background (tb_slow_download; round
# robin puts one on each back end; 40 s each, so they outlast a phase); the exit
# code goes to $TB_DIR/dl.TAG.N when it ends.
ho_slow_downloads() {
    local i
    for i in 0 1; do
        (
            tb_slow_download "$HO_NS_CLIENT" "$HO_VIP" files/20m 500000 60 \
                >"$TB_DIR/dl.$1.$i.err" 2>&1
            echo $? >"$TB_DIR/dl.$1.$i"
        ) &
        TB_PIDS+=("$!")
    done
}
# ho_download_reset TAG TIMEOUT: waits up to TIMEOUT s for one of TAG's downloads to end
# with a reset (curl's 56); prints both ends so far ("running" for one still going).
ho_download_reset() {
    local t i
    for ((t = 0; t < $2 * 10; t++)); do
        grep -qx 56 "$TB_DIR"/dl."$1".[01] 2>/dev/null && break
        sleep 0.1
    done
    for i in 0 1; do cat "$TB_DIR/dl.$1.$i" 2>/dev/null || echo running; done | tr '\n' ' '
}

# The control channel cut: agent 1's datagrams dropped on its LAN port (TCP still
# flows). Splicer declares it down, resets the clients it held, and splices new requests
# for b1 to its plain address.
ho_slow_downloads cut
sleep 1
resets0=$(st handoff_resets)
bresets0=$(st handoff_back_end_resets)
downs0=$(st agent_downs)
# On the LAN bridge (the agent's datagrams never reach a kernel that iptables sees).
tb_in "$HO_NS_LAN" nft add table bridge ho_cut
tb_in "$HO_NS_LAN" nft 'add chain bridge ho_cut fw { type filter hook forward priority 0; }'
tb_in "$HO_NS_LAN" nft add rule bridge ho_cut fw ip daddr "${HO_BACK_IPS[0]}" udp dport 7470 drop
tb_in "$HO_NS_LAN" nft add rule bridge ho_cut fw ip saddr "${HO_BACK_IPS[0]}" udp sport 7470 drop
tb_check "channel cut: agent 1 declared down" tb_wait_stat_gt "$log" agent_downs "$downs0" 10
codes=$(ho_download_reset cut 10)
tb_log "downloads when the channel was cut: $codes"
tb_check "channel cut: the download handed to agent 1 was reset, not left hanging ($codes)" \
    bash -c "[[ '$codes' == *56* ]]"
tb_check_cmp "channel cut: counted as handoff_resets" "$(tb_fresh_stat "$log" handoff_resets)" -gt "$resets0"
# The agent still runs and translates: Splicer's RST in the client's name reaches back end
# 1's kernel, which drops the connection now rather than at its own timeout.
tb_check "channel cut: back end 1's kernel let go of the reset connection" ho_wait_backend_conns_gone 1 5
tb_check_cmp "channel cut: counted as handoff_back_end_resets" \
    "$(tb_fresh_stat "$log" handoff_back_end_resets)" -gt "$bresets0"
fb0=$(st handoff_fallback_splice)
for name in 100k 1b 100k 1b; do
    tb_check "channel cut: /files/$name intact (b1's requests spliced)" ho_body_ok "$name"
done
tb_check_cmp "channel cut: b1's requests were spliced to its plain address" \
    "$(tb_fresh_stat "$log" handoff_fallback_splice)" -gt "$fb0"

# The channel back: agent 1 answers again and takes handoffs.
ups0=$(st agent_ups)
tb_in "$HO_NS_LAN" nft delete table bridge ho_cut
tb_check "channel back: agent 1 up again" tb_wait_stat_gt "$log" agent_ups "$ups0" 10
ok0=$(tb_fresh_stat "$log" handoffs_ok)
for name in 100k 100k; do
    tb_check "channel back: /files/$name intact" ho_body_ok "$name"
done
tb_check_cmp "channel back: both handed off" "$(($(tb_fresh_stat "$log" handoffs_ok) - ok0))" -ge 2

# Agent 2 killed mid-download: its back end is gone from the wire (the agent is its
# NIC), so its client is reset once Splicer declares the agent down.
ho_slow_downloads kill
sleep 1
downs0=$(st agent_downs)
resends0=$(st handoff_back_end_reset_resends)
held=$(ho_backend_conns 2)
ho_stop_agent 2 KILL
tb_check "agent killed: declared down" tb_wait_stat_gt "$log" agent_downs "$downs0" 10
codes=$(ho_download_reset kill 10)
tb_log "downloads when agent 2 was killed: $codes"
tb_check "agent killed: its download was reset, not left hanging ($codes)" \
    bash -c "[[ '$codes' == *56* ]]"
# The agent restarted (a new process, a new epoch): handoffs to it resume.
ups0=$(st agent_ups)
ho_start_agent 2 "$agent_extra"
tb_check "agent restarted: up again" tb_wait_stat_gt "$log" agent_ups "$ups0" 10
# Back end 2's kernel kept the connection while its agent (its NIC) was gone; the RST
# Splicer owed it goes once the agent is heard again, and the kernel lets go.
tb_log "back end 2 held $held connection(s) with the client before its agent was killed"
tb_check_cmp "agent killed: back end 2 held the download's connection" "$held" -ge 1
tb_check "agent restarted: back end 2's kernel let go of the reset connection" ho_wait_backend_conns_gone 2 5
tb_check_cmp "agent restarted: the owed RST was sent again" \
    "$(tb_fresh_stat "$log" handoff_back_end_reset_resends)" -gt "$resends0"
for name in 100k 100k 20m; do
    tb_check "agent restarted: /files/$name intact" ho_body_ok "$name"
done
tb_check "Splicer still running" tb__alive "$SPLICER_PID"

# Splicer killed mid-download (SIGKILL: it resets nothing) and not restarted: nothing
# comes from it any more, and each agent resets the connections it handed off in its
# kernel after splicer_dead_time (2 s), rather than at its idle_timeout (300 s) or the
# kernel's own retransmission timeout (some 15 minutes).
ho_slow_downloads dead
sleep 1
held1=$(ho_backend_conns 1)
held2=$(ho_backend_conns 2)
silent1=$(ho_agent_stat 1 splicer_silent_resets)
silent2=$(ho_agent_stat 2 splicer_silent_resets)
tb__kill "$SPLICER_PID" KILL 10
tb_log "back ends held $held1 and $held2 connection(s) with the client when Splicer was killed"
tb_check_cmp "Splicer killed: back end 1 held a download's connection" "$held1" -ge 1
tb_check_cmp "Splicer killed: back end 2 held a download's connection" "$held2" -ge 1
tb_check "Splicer killed: back end 1's kernel let go within splicer_dead_time + 3 s" \
    ho_wait_backend_conns_gone 1 5
tb_check "Splicer killed: back end 2's kernel let go too" ho_wait_backend_conns_gone 2 2
tb_check "Splicer killed: agent 1 counted splicer_silent_resets" \
    ho_wait_agent_stat_gt 1 splicer_silent_resets "$silent1"
tb_check "Splicer killed: agent 2 counted splicer_silent_resets" \
    ho_wait_agent_stat_gt 2 splicer_silent_resets "$silent2"
tb_finish
