#!/usr/bin/env bash
# t_pooling — server connection pooling, seen from the servers (pool = 2, maxconns = 8 per
# real, one worker, server_idle_timeout 60 s, so no pooled connection is closed during the
# test):
#  * before any client connects, every server already has 2..8 connections from Splicer's
#    inside address (the pool is opened ahead of the requests);
#  * 100 client connections one after the other, then 100 more 8 at a time (xargs -P 8),
#    each one request tagged ?c=N, are all answered 200;
#  * 30 slow requests at once (/slow/100k: 2 s each), 10 per server, more than maxconns:
#    all answered with the right bytes (the surplus waits for a connection, queue_timeout
#    20 s), and no server ever has more than 8 connections from Splicer;
#  * from the nginx access logs: every tagged request reached a server exactly once, from
#    Splicer's address; each server saw at most 8 distinct Splicer connections (source
#    ports) over the whole test; server connections carried requests of several client
#    connections ($connection_requests > 1, different tags on one $connection), the
#    pre-opened ones included;
#  * Splicer's counters agree: pool_reuses >= 100, pool_waits >= 1 (the slow surplus
#    waited), no queue_timeouts, no server_connect_failures;
#  * afterwards every server still has between 2 and 8 connections from Splicer; SIGINT
#    exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

pool=2
maxconns=8
prefix=$(tb_unique_prefix pooling)
cfg=$TB_DIR/pooling.toml
log=$TB_LOG_DIR/splicer-pooling.log
tb_write_splice_config "$cfg" "$prefix" 1 'server_idle_timeout = "60s"
queue_timeout = "20s"' "" "" "$pool" "$maxconns"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT      # the client's namespace
vip=$TB_VIP            # where it sends its requests
base=http://$vip
from=$TB_IN_IP         # the address the servers must see the requests coming from
servers=(s1 s2 s3)
declare -A mark
for s in "${servers[@]}"; do
    mark[$s]=$(tb_access_lines "$s")
done

# peer_ports NAME: the source ports of the connections from $from to server NAME, now.
peer_ports() {
    local i=$((${1#s} - 1))
    tb_in "${TB_NS_SERVERS[i]}" ss -Htn state established "( sport = :80 )" |
        awk -v from="$from" '{ n = split($NF, a, ":"); if (a[1] == from) print a[n] }' | sort -n
}

# The pool is opened before any request.
declare -A early
for s in "${servers[@]}"; do
    for ((i = 0; i < 100; i++)); do
        (($(tb_server_conns "$s" "$from") >= pool)) && break
        sleep 0.1
    done
    n=$(tb_server_conns "$s" "$from")
    tb_check_cmp "$s: pool connections open before any request (>= $pool)" "$n" -ge "$pool"
    tb_check_cmp "$s: ... and no more than maxconns" "$n" -le "$maxconns"
    early[$s]=$(peer_ports "$s" | tr '\n' ' ')
    tb_log "$s: connections from $from before traffic, source ports: ${early[$s]}"
done

# 100 client connections in a row, 100 more 8 at a time: one request each.
ok=0
for ((c = 1; c <= 100; c++)); do
    [[ $(tb_in "$cns" curl -sS -m 10 -o /dev/null -w '%{http_code}' "$base/?c=$c" 2>/dev/null) == 200 ]] &&
        ok=$((ok + 1))
done
tb_check_cmp "100 sequential client connections answered 200" "$ok" -eq 100
ok=$(seq 101 200 | xargs -P 8 -I{} ip netns exec "$cns" curl -sS -m 20 -o /dev/null -w '%{http_code}\n' \
    "$base/?c={}" 2>/dev/null | grep -c '^200$')
tb_check_cmp "100 client connections 8 at a time answered 200" "$ok" -eq 100

# 30 slow requests at once: more than maxconns per server.
slow=$TB_DIR/slow
mkdir -p "$slow"
tb_spawn "$TB_LOG_DIR/pooling-slow.log" bash -c "seq 1 30 | xargs -P 30 -I{} ip netns exec '$cns' \
    curl -sS -m 40 -o '$slow/{}' -w '%{http_code}\n' '$base/slow/100k?c=S{}'"
slow_pid=$TB_SPAWNED_PID
declare -A most=([s1]=0 [s2]=0 [s3]=0)
while tb_running "$slow_pid"; do
    for s in "${servers[@]}"; do
        n=$(tb_server_conns "$s" "$from")
        ((n > most[$s])) && most[$s]=$n
    done
    sleep 0.2
done
wait "$slow_pid" 2>/dev/null
tb_check_cmp "30 slow requests at once: all answered 200" \
    "$(grep -c '^200$' "$TB_LOG_DIR/pooling-slow.log")" -eq 30
# shellcheck disable=SC2317  # (called through tb_check)
slow_bodies_ok() { tb_body_ok 100k "$slow"/{1..30}; }
tb_check "30 slow requests: all bodies intact" slow_bodies_ok
for s in "${servers[@]}"; do
    tb_check_cmp "$s: at most maxconns connections from Splicer at any time (sampled)" \
        "${most[$s]}" -le "$maxconns"
done

# The servers' view: their access logs since the start, each line prefixed with the
# server's name.
logs=$TB_DIR/pooling-access
for s in "${servers[@]}"; do
    tb_access_since "$s" "${mark[$s]}" | sed "s/^/$s /"
done >"$logs" # fields: server $connection $connection_requests addr:port "GET URI HTTP/1.1" ...
# shellcheck disable=SC2016  # (awk's own variables)
tagged=$(awk '$6 ~ /[?&]c=/ { t = $6; sub(/.*[?&]c=/, "", t); print t }' "$logs" | sort)
tb_check_cmp "the servers logged all 230 tagged requests" "$(wc -l <<<"$tagged")" -eq 230
tb_check_cmp "... each exactly once" "$(uniq <<<"$tagged" | wc -l)" -eq 230
# shellcheck disable=SC2016
tb_check "every request came from Splicer's inside address $from" awk -v from="$from" \
    '{ split($4, a, ":"); if (a[1] != from) { print; bad = 1 } } END { exit bad }' "$logs"
for s in "${servers[@]}"; do
    # shellcheck disable=SC2016
    read -r ports conns lines <<<"$(awk -v s="$s" '$1 == s { n = split($4, a, ":"); p[a[n]] = 1; c[$2] = 1; l++ }
        END { print length(p) + 0, length(c) + 0, l + 0 }' "$logs")"
    tb_log "$s: $lines requests over $conns server connections ($ports source ports)"
    tb_check_cmp "$s: at most maxconns Splicer source ports over the whole test" "$ports" -le "$maxconns"
    tb_check_cmp "$s: at most maxconns nginx connections over the whole test" "$conns" -le "$maxconns"
    tb_check_cmp "$s: answered some requests" "$lines" -ge 1
done
# shellcheck disable=SC2016
reused=$(awk '$6 ~ /[?&]c=/ { k = $1 " " $2; t = $6; sub(/.*[?&]c=/, "", t)
        if (!((k, t) in seen)) { seen[k, t] = 1; tags[k]++ } if ($3 > 1) deep++ }
    END { for (k in tags) if (tags[k] > 1) n++; print n + 0, deep + 0 }' "$logs")
read -r multi deep <<<"$reused"
tb_check_cmp "server connections that carried requests of different client connections" "$multi" -ge 1
tb_check_cmp "requests that were not the first on their server connection" "$deep" -ge 1
used_early=0
for s in "${servers[@]}"; do
    for p in ${early[$s]}; do
        grep -q "^$s [0-9]* [0-9]* $from:$p " "$logs" && used_early=$((used_early + 1))
    done
done
tb_check_cmp "pre-opened connections served requests" "$used_early" -ge 1

# Splicer's own view.
tb_wait_stats_line "$log" 5
tb_check_cmp "pool_reuses: requests sent on an already open connection" "$(stat_of "$log" pool_reuses)" -ge 100
tb_check_cmp "pool_waits: the slow requests beyond maxconns waited for a connection" \
    "$(stat_of "$log" pool_waits)" -ge 1
tb_check_cmp "queue_timeouts: none (queue_timeout 20 s)" "$(stat_of "$log" queue_timeouts)" -eq 0
tb_check_cmp "server_connect_failures: none" "$(stat_of "$log" server_connect_failures)" -eq 0

for s in "${servers[@]}"; do
    n=$(tb_server_conns "$s" "$from")
    tb_check_cmp "$s: the pool is kept after the traffic (>= $pool connections)" "$n" -ge "$pool"
    tb_check_cmp "$s: ... and no more than maxconns" "$n" -le "$maxconns"
done

tb_ctl show stats >"$TB_LOG_DIR/pooling-stats.txt" 2>&1
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
