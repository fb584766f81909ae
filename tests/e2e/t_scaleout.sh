#!/usr/bin/env bash
# t_scaleout — issue 18's "Done means": two Splicers announce one VIP over BGP through
# BIRD to a router that installs it as a Linux multipath route (ECMP, L4 hash), on the
# two-appliance bed of scaleout.sh (so-* names) plus one BIRD speaker namespace per
# appliance on the outside segment (bg-sa, bg-sb); [announce] hold_down = 1s, [cluster]
# heartbeats every 250 ms, dead after 2 s (as t_ownership: 1 s saw a live peer dead under the shared machine's load); b's stop_timeout 20 s:
#   * the router learns the VIP from both speakers: one route, two next hops (a's and b's
#     outside addresses);
#   * traffic goes through both (tcp_syns on each);
#   * long downloads held by both; b stopped with SIGTERM: its route is withdrawn (the
#     router's route has a's next hop only) within 3 s; new connections all succeed
#     (through a); b's downloads, now reaching a, are sent on to b (strays) and finish:
#     the number of reset established connections is what docs/SCALE-OUT.md says for a
#     graceful stop whose stop_timeout outlasts them, zero (no curl failure, b's
#     stop_resets 0); b exits 0;
#   * downloads through a alone; b restarted: it rejoins (two next hops again after its
#     hold_down), takes new connections (its tcp_syns), and a's downloads the router now
#     sends to b are sent on to a: every one completes sha256-exact, none reset.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=scaleout.sh
. "$(dirname "$0")/scaleout.sh"

command -v bird >/dev/null || tb_die "missing command 'bird' (run scripts/install-deps.sh: bird2)"
HB=250ms
DEAD=2s
N1=12 # downloads when b stops
N2=12 # downloads when b comes back
declare -A BG_NS=([a]=bg-sa [b]=bg-sb)
declare -A BG_IP=([a]=198.18.41.21 [b]=198.18.41.22)
SO_ALL_NS+=("${BG_NS[a]}" "${BG_NS[b]}")

so_setup

# The speakers: a veth each onto the outside segment's bridge.
for n in a b; do
    ns=${BG_NS[$n]}
    so__ns_new "$ns"
    ip -n "$SO_NS_SEG" link add "bg-s$n-seg" type veth peer name "bg-s${n}0" netns "$ns" ||
        tb_die "cannot create the veth pair of $ns"
    so__tx_off "$SO_NS_SEG" "bg-s$n-seg"
    so__tx_off "$ns" "bg-s${n}0"
    ip -n "$SO_NS_SEG" link set "bg-s$n-seg" master br0 up
    ip -n "$ns" addr add "${BG_IP[$n]}/24" dev "bg-s${n}0"
    ip -n "$ns" link set "bg-s${n}0" up
done

# BIRD configurations: each speaker exports its Splicer's routes file with the route's
# gateway (the Splicer's outside address) as BGP next hop; the router merges the equal
# paths into one multipath kernel route.
for n in a b; do
    : >"$SO_DIR/bg-vips-$n.conf"
    cat >"$SO_DIR/bg-$n.conf" <<CONF
log stderr all;
router id ${BG_IP[$n]};
protocol device { scan time 1; }
protocol static splicer_vips {
    ipv4;
    include "$SO_DIR/bg-vips-$n.conf";
}
protocol bgp rtr {
    local ${BG_IP[$n]} as 65001;
    neighbor $SO_ROUTER_SEG_IP as 65000;
    connect retry time 1;
    error wait time 1, 5;
    ipv4 {
        import none;
        export filter { if proto = "splicer_vips" then { bgp_next_hop = gw; accept; } reject; };
    };
}
CONF
done
cat >"$SO_DIR/bg-rtr.conf" <<CONF
log stderr all;
router id $SO_ROUTER_SEG_IP;
protocol device { scan time 1; }
protocol kernel {
    ipv4 { import none; export all; };
    merge paths on;
}
template bgp spk {
    local $SO_ROUTER_SEG_IP as 65000;
    connect retry time 1;
    error wait time 1, 5;
    ipv4 { import all; export none; };
}
protocol bgp sa from spk { neighbor ${BG_IP[a]} as 65001; }
protocol bgp sb from spk { neighbor ${BG_IP[b]} as 65001; }
CONF

bird_start() { # NS CONF SOCK LOG
    so_in "$1" bird -f -c "$2" -s "$3" -P "$3.pid" </dev/null >>"$4" 2>&1 &
    so__track_pid "$!"
}
bird_start "$SO_NS_ROUTER" "$SO_DIR/bg-rtr.conf" "$SO_DIR/run/bg-rtr.ctl" "$TB_LOG_DIR/bird-rtr.log"
for n in a b; do
    bird_start "${BG_NS[$n]}" "$SO_DIR/bg-$n.conf" "$SO_DIR/run/bg-$n.ctl" "$TB_LOG_DIR/bird-$n.log"
    extra="stop_timeout = \"20s\""
    so_write_config "$n" "$extra" "$(so_cluster_lines "$n" "$HB" "$DEAD")

[announce]
bird_socket = \"$SO_DIR/run/bg-$n.ctl\"
routes_file = \"$SO_DIR/bg-vips-$n.conf\"
hold_down = \"1s\"
# net_tap reports its link down once the TAP is in another namespace.
check_link = false"
done

# hops: the next hops of the router's VIP route, sorted, space-separated.
hops() {
    ip -n "$SO_NS_ROUTER" route show "$SO_VIP/32" 2>/dev/null |
        grep -oE 'via [0-9.]+' | awk '{print $2}' | sort | tr '\n' ' ' | sed 's/ $//'
}
# wait_hops WANT MS: the router's next hops become WANT within MS; prints the time taken.
wait_hops() {
    local want=$1 limit=$2 start now
    start=$(date +%s%3N)
    while :; do
        now=$(date +%s%3N)
        [[ $(hops) == "$want" ]] && { echo "$((now - start)) ms"; return 0; }
        ((now - start > limit)) && { echo "after $limit ms the next hops are '$(hops)'"; return 1; }
        sleep 0.1
    done
}
both="${SO_OUT_IP[a]} ${SO_OUT_IP[b]}"

# Started by this shell (not in tb_check's subshell), so that their exit codes are ours.
so_start_splicer a || tb_die "Splicer a did not start"
so_start_splicer b || tb_die "Splicer b did not start"

# 1. The router learns the VIP from both.
took=$(wait_hops "$both" 20000)
tb_check "the router learns $SO_VIP over BGP from both appliances: next hops $both ($took)" test $? -eq 0
tb_log "router: $(so_route_show)"
tb_check "the route is BIRD's multipath route" bash -c "ip -n $SO_NS_ROUTER route show $SO_VIP/32 | grep -q 'proto bird'"
for n in a b; do
    tb_check "$n: show announce says announced" bash -c "'$SPLICER_BIN' ctl --socket '$SO_DIR/run/$n.sock' show announce | grep -q '^$SO_VIP .* announced'"
done

# 2. Traffic through both.
out=$(so_spread 24)
tb_check "24 connections through the router all succeed ($out)" test "$out" = ok=24
sa=$(tb_fresh_stat "$(so_log a)" tcp_syns)
sb=$(tb_fresh_stat "$(so_log b)" tcp_syns)
tb_check_cmp "a took connections (tcp_syns)" "$sa" -gt 0
tb_check_cmp "b took connections (tcp_syns)" "$sb" -gt 0

# 3. b stopped gracefully with downloads under way on both.
D1=$SO_DIR/d1
so_downloads_start "$D1" "$N1" slow/2m
sleep 2
fa=$(so_flows_of a | wc -l)
fb=$(so_flows_of b | wc -l)
tb_log "downloads under way: a holds $fa, b holds $fb"
tb_check_cmp "b holds some of the $N1 downloads" "$fb" -gt 0
b_pid=$(cat "$SO_DIR/run/b.pid")
kill -TERM "$b_pid"
took=$(wait_hops "${SO_OUT_IP[a]}" 3000)
tb_check "SIGTERM to b: its next hop is withdrawn within 3 s ($took)" test $? -eq 0
out=$(so_spread 20)
tb_check "20 new connections after the withdrawal all succeed ($out)" test "$out" = ok=20
tb_check "every download ends" so_downloads_wait "$D1" "$N1" 60
tally=$(so_downloads_tally "$D1" "$N1" 2m)
tb_check "reset established connections: 0, as docs/SCALE-OUT.md says for a stop within stop_timeout ($tally; b held $fb)" \
    test "$tally" = "ok=$N1 bad=0 failed=0"
# A second SIGTERM would stop b at once: wait for it to end by itself.
tb__wait_gone "$b_pid" 30
rc=0
wait "$b_pid" || rc=$?
tb_check_cmp "b exits 0" "$rc" -eq 0
tb_check_cmp "b reset no connection at its stop (stop_resets)" "$(so_stat b stop_resets)" -eq 0
tb_check_cmp "a sent b's strays on to b (cluster_strays_forwarded)" "$(so_stat a cluster_strays_forwarded)" -gt 0
# The log's order: withdrawal asked, BIRD's confirmation, then new connections refused.
line_of() { grep -an "$1" "$(so_log b)" | tail -n 1 | cut -d: -f1; }
l_ask=$(line_of 'announce: stopping: every VIP is withdrawn')
l_bird=$(line_of 'BIRD configured with 0 route')
l_refuse=$(line_of 'stopping: new connections are refused')
tb_check "b: withdrawal asked (line $l_ask), confirmed by BIRD (line $l_bird), then new connections refused (line $l_refuse)" \
    test -n "$l_ask" -a -n "$l_bird" -a -n "$l_refuse" -a "${l_ask:-0}" -lt "${l_bird:-0}" -a "${l_bird:-0}" -lt "${l_refuse:-0}"

# 4. b restarted under downloads through a alone: it rejoins, takes new connections,
#    and a's downloads moved to it are sent back to a.
D2=$SO_DIR/d2
so_downloads_start "$D2" "$N2" slow/2m
sleep 2
so_start_splicer b || tb_die "Splicer b did not start again"
took=$(wait_hops "$both" 8000)
tb_check "b rejoins: the router has both next hops again ($took)" test $? -eq 0
out=$(so_spread 24)
tb_check "24 new connections after the rejoin all succeed ($out)" test "$out" = ok=24
tb_check_cmp "b takes new connections (tcp_syns since its restart)" "$(tb_fresh_stat "$(so_log b)" tcp_syns)" -gt 0
tb_check "every download ends" so_downloads_wait "$D2" "$N2" 60
tally=$(so_downloads_tally "$D2" "$N2" 2m)
tb_check "a's $N2 downloads complete sha256-exact across b's rejoin, none reset ($tally)" \
    test "$tally" = "ok=$N2 bad=0 failed=0"
tb_check_cmp "b sent a's strays on to a (cluster_strays_forwarded)" "$(so_stat b cluster_strays_forwarded)" -gt 0
tb_check_cmp "b reset no stray (drop_tcp_no_flow)" "$(so_stat b drop_tcp_no_flow)" -eq 0

tb_finish
