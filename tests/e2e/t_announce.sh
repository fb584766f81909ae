#!/usr/bin/env bash
# t_announce — the VIP announced over BGP through BIRD (issue 18, "Announcement";
# docs/SCALE-OUT.md), with one Splicer, [announce] hold_down = 2s, and every real checked
# (/health every 500 ms, fall 3, rise 2):
#  * two namespaces on Splicer's outside segment (macvlans on spl-out): bg-spk runs the
#    BIRD Splicer drives (its routes file included in a `protocol static`, exported over
#    eBGP with the VIP's next hop = Splicer's outside address) and bg-rtr the router's
#    BIRD (eBGP from bg-spk, `merge paths`, learned routes into its kernel table);
#  * Splicer starts before its BIRD: `show announce` counts the failed configures, and
#    once BIRD is up the VIP is announced (retried, no restart);
#  * the route appears at the router (via 198.18.0.1) after hold_down, and the router
#    reaches the VIP through it;
#  * every real's health fails: the route is withdrawn within fall x interval + slack,
#    `show announce` says why; health back: announced again after rise + hold_down;
#  * `drain` with a download under way (/slow/100k, about 2 s): the route goes, `drain status` counts the flow,
#    the download completes byte-exact, then `drain status` reports no flow left;
#    `undrain`: the route comes back;
#  * SIGTERM: the route is withdrawn and Splicer exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v bird >/dev/null || tb_die "missing command 'bird' (run scripts/install-deps.sh: bird2)"
BG_NS_RTR=bg-rtr
BG_NS_SPK=bg-spk
TB_ALL_NS+=("$BG_NS_RTR" "$BG_NS_SPK")
BG_RTR_IP=198.18.0.3
BG_SPK_IP=198.18.0.4
tb_setup

prefix=$(tb_unique_prefix announce)
cfg=$TB_DIR/announce.toml
log=$TB_LOG_DIR/splicer-announce.log
routes=$TB_DIR/bg-vips.conf
spk_sock=$TB_DIR/bg-spk.ctl
rtr_sock=$TB_DIR/bg-rtr.ctl
tb_write_splice_config "$cfg" "$prefix" 1
python3 - "$cfg" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
text = re.sub(
    r'(maxconns = \d+\n)',
    r'\1check = { path = "/health", interval = "500ms", timeout = "300ms", rise = 2, fall = 3 }\n',
    text,
)
open(path, "w").write(text)
PY
cat >>"$cfg" <<CONF

[announce]
bird_socket = "$spk_sock"
routes_file = "$routes"
hold_down = "2s"
# net_tap reports its link down once the TAP is moved to another namespace.
check_link = false
CONF
: >"$routes"

# BIRD's configurations: the speaker exports the routes of Splicer's file with their
# gateway (Splicer's outside address) as the BGP next hop; the router installs what it
# learns, several equal paths merged into one multipath route.
cat >"$TB_DIR/bg-spk.conf" <<CONF
log stderr all;
router id $BG_SPK_IP;
protocol device { scan time 1; }
protocol static splicer_vips {
    ipv4;
    include "$routes";
}
protocol bgp rtr {
    local $BG_SPK_IP as 65001;
    neighbor $BG_RTR_IP as 65000;
    connect retry time 1;
    error wait time 1, 5;
    ipv4 {
        import none;
        export filter { if proto = "splicer_vips" then { bgp_next_hop = gw; accept; } reject; };
    };
}
CONF
cat >"$TB_DIR/bg-rtr.conf" <<CONF
log stderr all;
router id $BG_RTR_IP;
protocol device { scan time 1; }
protocol kernel {
    ipv4 { import none; export all; };
    merge paths on;
}
protocol bgp spk1 {
    local $BG_RTR_IP as 65000;
    neighbor $BG_SPK_IP as 65001;
    connect retry time 1;
    error wait time 1, 5;
    ipv4 { import all; export none; };
}
CONF

tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

# The two namespaces' legs on the outside segment: macvlans of spl-out (bridge mode: they
# reach each other and Splicer's TAP, not the client's own address).
for pair in "$BG_NS_RTR:bg-rtr0:$BG_RTR_IP" "$BG_NS_SPK:bg-spk0:$BG_SPK_IP"; do
    IFS=: read -r ns dev ip <<<"$pair"
    tb__ns_new "$ns"
    ip -n "$TB_NS_CLIENT" link add "$dev" link "$TB_TAP_OUT" type macvlan mode bridge ||
        tb_die "cannot create macvlan $dev"
    ip -n "$TB_NS_CLIENT" link set "$dev" netns "$ns" || tb_die "cannot move $dev to $ns"
    ip -n "$ns" addr add "$ip/24" dev "$dev"
    ip -n "$ns" link set "$dev" up
    tb__tx_off "$ns" "$dev"
done

tb_spawn "$TB_LOG_DIR/bird-rtr.log" ip netns exec "$BG_NS_RTR" bird -f -c "$TB_DIR/bg-rtr.conf" -s "$rtr_sock" -P "$TB_DIR/bg-rtr.pid"

# announce_field KEY: a field of `show announce --json`.
announce_field() {
    tb_ctl --json show announce 2>/dev/null |
        python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])" 2>/dev/null || echo none
}
vip_state() {
    tb_ctl --json show announce 2>/dev/null |
        python3 -c "import json,sys; print([v['state'] for v in json.load(sys.stdin)['vips'] if v['vip']=='$TB_VIP'][0])" 2>/dev/null || echo none
}
# within SECS CMD...: CMD succeeds within SECS seconds (tried every 100 ms).
# shellcheck disable=SC2317  # (called through tb_check)
within() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@"
}
# shellcheck disable=SC2317  # (called through tb_check)
in_effect() { test "$(announce_field in_effect)" = True; }
# route_at_router: the router's kernel route to the VIP ("" when none).
route_at_router() { ip -n "$BG_NS_RTR" route show "$TB_VIP/32" 2>/dev/null; }
# wait_route present|absent MS: polls every 100 ms; prints how long it took.
wait_route() {
    local want=$1 limit=$2 start now r
    start=$(date +%s%3N)
    while :; do
        now=$(date +%s%3N)
        r=$(route_at_router)
        if [[ ($want == present && $r == *"via $TB_OUT_IP"*) || ($want == absent && -z $r) ]]; then
            echo "$((now - start)) ms"
            return 0
        fi
        if ((now - start > limit)); then
            echo "timeout after $limit ms: route '${r}', Splicer says $(vip_state)"
            return 1
        fi
        sleep 0.1
    done
}

# 1. BIRD is not there yet: the configures fail and are counted.
sleep 1.5
failures=$(announce_field failures)
tb_check_cmp "without BIRD, the failed configures are counted (show announce: failures)" "$failures" -ge 1
tb_check "... and the log says so" grep -q 'announce: cannot connect to BIRD' "$log"
tb_spawn "$TB_LOG_DIR/bird-spk.log" ip netns exec "$BG_NS_SPK" bird -f -c "$TB_DIR/bg-spk.conf" -s "$spk_sock" -P "$TB_DIR/bg-spk.pid"

# 2. Announced: the router learns the VIP with Splicer's outside address as next hop.
took=$(wait_route present 15000)
tb_check "BIRD up: the router learns $TB_VIP via $TB_OUT_IP ($took)" test $? -eq 0
tb_check "show announce: announced" test "$(vip_state)" = announced
tb_check "show announce: BIRD's answer in effect" within 2 in_effect
tb_check "the routes file lists the VIP" grep -qx "route $TB_VIP/32 via $TB_OUT_IP;" "$routes"
tb_check "the router reaches the VIP through the learned route" \
    tb_in "$BG_NS_RTR" curl -sS --max-time 5 -f -o /dev/null "http://$TB_VIP/"

# 3. Every real's health fails: withdrawn at once (once the checks say so).
tb_log "every real's /health answers 500"
for s in s1 s2 s3; do rm -f "$TB_DIR/$s/www/health"; done
# Interval 500 ms x fall 3, one interval and a timeout of slack, and BGP's propagation.
took=$(wait_route absent 4000)
tb_check "every real down: the route is withdrawn within 4 s ($took)" test $? -eq 0
tb_check "show announce: withdrawn" test "$(vip_state)" = withdrawn
tb_check "show announce says why" grep -q 'no healthy real in service' <<<"$(tb_ctl show announce)"
tb_check "the log says why" grep -q "announce: $TB_VIP announced -> withdrawn: virtual www: no healthy real in service" "$log"
for s in s1 s2 s3; do printf 'ok\n' >"$TB_DIR/$s/www/health"; done
start=$(date +%s%3N)
seen=none
for _ in $(seq 30); do
    seen=$(vip_state)
    [[ $seen == "held down" ]] && break
    sleep 0.1
done
tb_check "health back: held down first (show announce: $seen)" test "$seen" = "held down"
took=$(wait_route present 6000)
tb_check "... then announced again after rise + hold_down ($took)" test $? -eq 0
again=$(($(date +%s%3N) - start))
# Rise 2 x 500 ms, then hold_down 2 s: not before 2 s.
tb_check_cmp "not before hold_down (ms since health came back)" "$again" -ge 2000

# 4. Drain with a download under way.
body=$TB_DIR/drain-body
tb_in "$BG_NS_RTR" curl -sS --max-time 20 -o "$body" "http://$TB_VIP/slow/100k" \
    >"$TB_LOG_DIR/drain-curl.log" 2>&1 &
curl_pid=$!
tb__track_pid "$curl_pid"
sleep 0.5
answer=$(tb_ctl drain)
tb_check "drain answers with the flows left ($answer)" grep -Eq 'every VIP withdrawn, [1-9][0-9]* flows left' <<<"$answer"
took=$(wait_route absent 3000)
tb_check "drain: the route is withdrawn ($took)" test $? -eq 0
status=$(tb_ctl drain status)
tb_check "drain status while the download runs ($status)" grep -q 'flows left' <<<"$status"
wait "$curl_pid"
tb_check "the download under way completes byte-exact" tb_body_ok 100k "$body"
ok=0
for _ in $(seq 50); do
    status=$(tb_ctl drain status)
    [[ $status == *"no flow left"* ]] && { ok=1; break; }
    sleep 0.2
done
tb_check "drain status then reports no flow left ($status)" test $ok -eq 1
tb_check "the log says when no flow is left" within 3 grep -q 'drain: every VIP withdrawn and no flow left' "$log"
tb_check "undrain" tb_ctl undrain
took=$(wait_route present 3000)
tb_check "undrain: the route is back ($took)" test $? -eq 0

# 5. After a crash BIRD, another process, runs on with the routes file as Splicer left it;
# the unit's ExecStopPost (`splicer withdraw`) withdraws them. Here Splicer must keep
# running (its TAP carries the segment BIRD talks on): withdraw under its feet, then a
# drain and undrain make it write its routes again.
out=$("$SPLICER_BIN" withdraw --config "$cfg" 2>&1)
rc=$?
tb_check_cmp "splicer withdraw exits 0 ($out)" "$rc" -eq 0
took=$(wait_route absent 3000)
tb_check "splicer withdraw: the route is withdrawn ($took)" test $? -eq 0
tb_check "... and the routes file is empty" test -z "$(grep -v '^#' "$routes")"
kill -STOP "$(cat "$TB_DIR/bg-spk.pid")"
start=$(date +%s%3N)
out=$(timeout 10 "$SPLICER_BIN" withdraw --config "$cfg" 2>&1)
rc=$?
took=$(($(date +%s%3N) - start))
kill -CONT "$(cat "$TB_DIR/bg-spk.pid")"
tb_check_cmp "a BIRD that does not answer: splicer withdraw exits 1 ($out)" "$rc" -eq 1
tb_check_cmp "... within its 3 s deadline ($took ms)" "$took" -lt 5000
tb_ctl drain >/dev/null
tb_ctl undrain >/dev/null
took=$(wait_route present 5000)
tb_check "drain and undrain: Splicer announces again ($took)" test $? -eq 0

# 6. SIGTERM: withdrawn before Splicer goes.
tb_stop_splicer TERM 20
tb_check_cmp "Splicer exits 0 on SIGTERM" "$TB_SPLICER_RC" -eq 0
took=$(wait_route absent 3000)
tb_check "SIGTERM: the route is withdrawn ($took)" test $? -eq 0
tb_check "the routes file is empty again" test -z "$(grep -v '^#' "$routes")"
tb_check "the log says the VIPs were withdrawn on stopping" grep -q 'announce: stopping: every VIP is withdrawn' "$log"

tb_finish
