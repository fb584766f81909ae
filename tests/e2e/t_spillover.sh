#!/usr/bin/env bash
# t_spillover — high-water marks, the virtual's priority queue and tiers (seed 004's
# request queue and freshest-copy preference), with real nginx servers made slow by
# nginx's limit_rate (/slow/100k takes 2 s, /slow/20m far longer), one worker:
#  * virtual www on s1 alone, maxconns = 1, queue_size = 5; rule host hi.test has
#    priority 7, host lo.test priority 0. A 2 s download holds s1; 3 lo requests, then
#    2 hi requests queue: `show virtual` shows queued = 5 and pool_waits moves; a sixth
#    finds the queue full and gets 503 with Retry-After at once (queue_overflows moves);
#    when the download ends the queue drains in priority order (s1's access log: the
#    two hi requests, then the three lo ones in arrival order), all answered 200;
#  * a request that waits longer than queue_timeout (3 s) behind a long download gets
#    503 with Retry-After, and queue_timeouts moves;
#  * virtual tiers (VIP:8081) on s2 (tier 1, the origin, maxconns = 2) and s3 (tier 2, its
#    mirror, maxconns = 2): two clients in a loop never saturate the origin and s3
#    gets nothing; four slow downloads at once put two on s2 and two on s3 (`show real`
#    shows in_flight 2 on each meanwhile, tier_spills moves by 2); afterwards requests go
#    to s2 again;
#  * the shell's `tier`, `queue` and `rule class` change these settings live.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix spillover)
cfg=$TB_DIR/spillover.toml
log=$TB_LOG_DIR/splicer-spillover.log
TB_CTL_SOCK=$TB_DIR/run/spillover.sock
reals="[[real]]
name = \"s1\"
address = \"${TB_SERVER_IPS[0]}:80\"
pool = 1
maxconns = 1

[[real]]
name = \"s2\"
address = \"${TB_SERVER_IPS[1]}:80\"
pool = 1
maxconns = 2

[[real]]
name = \"s3\"
address = \"${TB_SERVER_IPS[2]}:80\"
pool = 1
maxconns = 2
tier = 2"
tb_write_config "$cfg" "$prefix" 1 "control_socket = \"$TB_CTL_SOCK\"
queue_timeout = \"3s\"
drain_timeout = \"1s\"" 'bind = ["s1"]
queue_size = 5' "$reals" '[[virtual.rule]]
name = "hi"
host = "hi.test"
bind = ["s1"]
priority = 7

[[virtual.rule]]
name = "lo"
host = "lo.test"
bind = ["s1"]
priority = 0

[[virtual]]
name = "tiers"
address = "'"$TB_VIP"':8081"
bind = ["s2", "s3"]'
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
base=http://$TB_VIP
out=$TB_DIR/out
mkdir -p "$out"

# json_of CMD... PYEXPR: evaluates PYEXPR on the JSON `splicer ctl --json CMD...` prints (d).
json_of() {
    local expr=${*: -1}
    tb_ctl --json "${@:1:$#-1}" | python3 -c "import json,sys; d = json.load(sys.stdin); print($expr)"
}

# get NAME HOST PATH [MAX]: one request in the background, status and headers into $out/NAME.
get() {
    tb_spawn "$out/$1.log" ip netns exec "$cns" curl -sS -m "${4:-30}" -o /dev/null -D "$out/$1.head" \
        -w '%{http_code}\n' -H "Host: $2" "$base$3"
}

status_of() { head -n 1 "$out/$1.log" 2>/dev/null; }
retry_after() { tr -d '\r' <"$out/$1.head" | awk -F': ' 'tolower($1) == "retry-after" { print $2 }'; }

# --- the queue fills, overflows and drains by priority ------------------------------
mark=$(tb_access_lines s1)
get block lo.test "/slow/100k?c=block"
block_pid=$TB_SPAWNED_PID
sleep 0.3
pids=()
for n in 1 2 3; do
    get "lo$n" lo.test "/files/1b?c=lo$n"
    pids+=("$TB_SPAWNED_PID")
    sleep 0.05
done
sleep 0.2
for n in 1 2; do
    get "hi$n" hi.test "/files/1b?c=hi$n"
    pids+=("$TB_SPAWNED_PID")
    sleep 0.05
done
sleep 0.2
queued=$(json_of show virtual www 'd[0]["queued"]')
tb_check_cmp "show virtual: 5 requests queued behind the download" "$queued" -eq 5
inflight=$(json_of show real s1 'd[0]["in_flight"]')
tb_check_cmp "show real: s1 has 1 request in flight (its maxconns)" "$inflight" -eq 1
get over lo.test "/files/1b?c=over" 5
over_pid=$TB_SPAWNED_PID
for _ in $(seq 50); do tb_running "$over_pid" || break; sleep 0.02; done
tb_check "the sixth is answered while the download still runs" tb_running "$block_pid"
tb_check_cmp "... with 503 (the queue is full)" "$(status_of over)" -eq 503
tb_check "... and Retry-After: 1" test "$(retry_after over)" = 1
wait "$block_pid" "${pids[@]}" 2>/dev/null
tb_check_cmp "the download is answered 200" "$(status_of block)" -eq 200
for n in lo1 lo2 lo3 hi1 hi2; do
    tb_check_cmp "queued $n answered 200" "$(status_of "$n")" -eq 200
done
order=$(tb_access_since s1 "$mark" | grep -o 'c=[a-z0-9]*' | sed 's/c=//' | tr '\n' ' ')
tb_log "s1 served, in order: $order"
tb_check "the queue drained by priority: hi first, then lo in arrival order" \
    test "$order" = "block hi1 hi2 lo1 lo2 lo3 "
tb_check "pool_waits counts the 5 queued" tb_wait_stat_gt "$log" pool_waits 4 5
tb_check_cmp "queue_overflows counted once" "$(json_of show stats 'd["total"]["queue_overflows"]')" -eq 1
tb_check_cmp "pool_wait_served counts the 5" "$(json_of show stats 'd["total"]["pool_wait_served"]')" -eq 5
tb_check_cmp "the virtual's queue_overflows" \
    "$(json_of show stats '[v for v in d["virtuals"] if v["name"] == "www"][0]["queue_overflows"]')" -eq 1

# --- queue_timeout ------------------------------------------------------------------
get long lo.test "/slow/20m?c=long" 5
long_pid=$TB_SPAWNED_PID
sleep 0.3
get late hi.test "/files/1b?c=late" 10
late_pid=$TB_SPAWNED_PID
start=$(date +%s.%N)
wait "$late_pid" 2>/dev/null
took=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
tb_log "the late request was answered after ${took}s"
tb_check_cmp "a request queued past queue_timeout gets 503" "$(status_of late)" -eq 503
tb_check "... with Retry-After: 1" test "$(retry_after late)" = 1
tb_check "... after about 3 s (${took}s)" python3 -c "import sys; sys.exit(not 2.5 <= $took <= 4.5)"
tb_check_cmp "queue_timeouts counted" "$(json_of show stats 'd["total"]["queue_timeouts"]')" -eq 1
wait "$long_pid" 2>/dev/null

# --- tiers: the mirror serves only while the origin is saturated ---------------------
tbase=http://$TB_VIP:8081
m2=$(tb_access_lines s2)
m3=$(tb_access_lines s3)
# Two clients in a loop: the origin (maxconns 2) is never full.
loop() { for ((i = 0; i < 25; i++)); do ip netns exec "$cns" curl -sS -m 10 -o /dev/null -w '%{http_code}\n' "$tbase/files/100k?c=l$1-$i"; done; }
loop a >"$out/loop-a.log" 2>&1 &
la=$!
loop b >"$out/loop-b.log" 2>&1 &
lb=$!
wait "$la" "$lb"
tb_check_cmp "two looping clients: 50 answers 200" "$(cat "$out"/loop-?.log | grep -c '^200$')" -eq 50
tb_check_cmp "... all from the origin s2" "$(tb_access_since s2 "$m2" | grep -c 'c=l')" -eq 50
tb_check_cmp "... none from the mirror s3" "$(tb_access_since s3 "$m3" | grep -c 'c=l')" -eq 0
spills=$(json_of show stats 'd["total"]["tier_spills"]')
tb_check_cmp "no tier spill yet" "$spills" -eq 0
# Four slow downloads at once: two fill the origin, two spill to the mirror.
tpids=()
for n in 1 2 3 4; do
    tb_spawn "$out/t$n.log" ip netns exec "$cns" curl -sS -m 20 -o /dev/null -w '%{http_code}\n' "$tbase/slow/100k?c=t$n"
    tpids+=("$TB_SPAWNED_PID")
    sleep 0.1
done
sleep 0.3
tb_check_cmp "show real: the origin s2 at its maxconns (2 in flight)" "$(json_of show real s2 'd[0]["in_flight"]')" -eq 2
tb_check_cmp "show real: the mirror s3 carries the overflow (2 in flight)" "$(json_of show real s3 'd[0]["in_flight"]')" -eq 2
wait "${tpids[@]}" 2>/dev/null
tb_check_cmp "four slow downloads answered 200" "$(cat "$out"/t?.log | grep -c '^200$')" -eq 4
tb_check_cmp "... two on the origin" "$(tb_access_since s2 "$m2" | grep -c 'c=t')" -eq 2
tb_check_cmp "... two on the mirror" "$(tb_access_since s3 "$m3" | grep -c 'c=t')" -eq 2
tb_check_cmp "tier_spills counts the two" "$(json_of show stats 'd["total"]["tier_spills"]')" -eq 2
# The origin has room again: it serves.
for n in 1 2 3; do
    ip netns exec "$cns" curl -sS -m 10 -o /dev/null "$tbase/files/1b?c=after$n"
done
tb_check_cmp "afterwards the origin serves again" "$(tb_access_since s2 "$m2" | grep -c 'c=after')" -eq 3
tb_check_cmp "... and the mirror nothing" "$(tb_access_since s3 "$m3" | grep -c 'c=after')" -eq 0

# Live edits of the same settings through the control socket.
tb_check "tier s3 1 is accepted" tb_ctl tier s3 1
tb_check_cmp "show real: s3 is tier 1 now" "$(json_of show real s3 'd[0]["tier"]')" -eq 1
tb_check "queue www size 2 priority 5 is accepted" tb_ctl queue www size 2 priority 5
tb_check "show virtual: queue_size 2, priority 5" test \
    "$(json_of show virtual www 'd[0]["queue_size"], d[0]["priority"]')" = "2 5"
tb_check "rule class www hi cost 2 is accepted" tb_ctl rule class www hi cost 2
tb_check_fails "queue www priority 8 is refused" tb_ctl queue www priority 8

tb_stop_splicer
tb_check "Splicer exited 0 on SIGINT" test "$TB_SPLICER_RC" = 0
tb_finish
