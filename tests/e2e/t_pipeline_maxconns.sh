#!/usr/bin/env bash
# t_pipeline_maxconns — pipelining clients against reals with maxconns = 2 (pool 2, the most maxconns allows; rules
# as t_pipelining: "/img/" → s2, Host api.test → s3, the rest round robin), the case of
# "a queued request times out":
#  * pipeclient.py writes 60 requests in ONE send (every 20th a 2 s /slow/ download that
#    holds a slot): every response arrives, in order, for its own request, byte for byte;
#  * three such clients at once (more requests than the reals' slots, so some wait in the
#    virtual's queue): all answered;
#  * one real only (Host one.test → s1): three raw clients at once, each writing 22
#    requests (two of them 2 s /slow/ downloads) in one send: all 22 answered 200;
#  * no queue_timeouts, no client connection left.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix pmaxconns)
cfg=$TB_DIR/pmaxconns.toml
log=$TB_LOG_DIR/splicer-pmaxconns.log
one='[[virtual.rule]]
host = "one.test"
bind = ["s1"]'
tb_write_splice_config "$cfg" "$prefix" 1 "queue_timeout = \"3s\"" "" "$TB_RULES_IMG_API
$one" 2 2
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

# The pools open first (2 connections to each real): a request before that is refused.
tb_wait_stat_gt "$log" server_conns_established 5 30 >/dev/null ||
    tb_die "the pools did not open: $(stat_of "$log" server_conns_established) connections"
cns=$TB_NS_CLIENT
vip=$TB_VIP
t0=$(stat_of "$log" queue_timeouts)

out=$(tb_in "$cns" timeout 120 python3 "$TB_REPO/tests/e2e/pipeclient.py" "$vip" 80 \
    --burst 60 --trickle 0 --slow-every 20 2>&1)
tb_log "pipeclient: $out"
tb_check "60 pipelined requests, maxconns 2: all answered in order ($out)" \
    test "$(tb_raw_field "$out" ok)" = 60

pids=()
for i in 1 2 3; do
    tb_in "$cns" timeout 120 python3 "$TB_REPO/tests/e2e/pipeclient.py" "$vip" 80 \
        --burst 60 --trickle 0 --slow-every 20 >"$TB_DIR/p$i.txt" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for i in 1 2 3; do
    out=$(cat "$TB_DIR/p$i.txt")
    tb_log "pipeclient $i of 3: $out"
    tb_check "client $i of 3 at once: 60 answered in order ($out)" \
        test "$(tb_raw_field "$out" ok)" = 60
done

# One real only (Host one.test → s1, 2 slots): three clients at once, each 20 small GETs
# and two 2 s /slow/ downloads in one send, the last asking to close.
burst=""
for i in $(seq 1 22); do
    path="/files/1b?n=$i"
    ((i % 10 == 5)) && path="/slow/100k?n=$i"
    close=""
    ((i == 22)) && close='Connection: close\r\n'
    burst+="GET $path HTTP/1.1\r\nHost: one.test\r\n$close\r\n"
done
pids=()
for i in 1 2 3; do
    tb_raw_http "$cns" "$vip" 80 30 "$burst" >"$TB_DIR/one$i.txt" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
want=$(printf '200,%.0s' $(seq 1 22))
for i in 1 2 3; do
    r=$(cat "$TB_DIR/one$i.txt")
    tb_check "one real, client $i of 3: 22 answered 200, then closed ($r)" \
        test "$(tb_raw_field "$r" statuses)/$(tb_raw_field "$r" end)" = "${want%,}/eof"
done

tb_wait_stats_line "$log" >/dev/null
tb_check_cmp "no queue_timeouts" "$(($(stat_of "$log" queue_timeouts) - t0))" -eq 0
tb_log "pool_waits $(stat_of "$log" pool_waits) pool_wait_served $(stat_of "$log" pool_wait_served) pipelined_waits $(stat_of "$log" pipelined_waits)"

tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
