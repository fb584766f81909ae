#!/usr/bin/env bash
# t_slow_peers — slow clients do not starve a farm. slowhttptest (a real attack tool)
# runs three attacks at once against the VIP, 300 connections each, for 25 s:
#  * slowloris: request heads that never end (one header line every 2 s) → 408 after
#    request_timeout (5 s here), counted in request_timeouts;
#  * slow body (R-U-Dead-Yet): a PUT announcing 8 KiB that sends a few bytes every 2 s
#    → 408 after body_timeout (5 s + 1 s per 500 bytes), counted in body_timeouts, the
#    server connection reset;
#  * slow read: GET /files/20m with a receive window of 1 to 512 bytes, reading 5 bytes
#    a second → reset after send_timeout (5 s), counted in send_timeouts, the server
#    connection reset (not drained: nobody reads the rest).
# Meanwhile a normal client sends a request every 0.2 s: every answer is 200, and the
# median and 95th percentile of its answer times stay ≤ 50 ms. The reals have maxconns
# 256, room for the slow readers while they last (send_timeout bounds how long).
# Afterwards Splicer's flow table is back to the pools only.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v slowhttptest >/dev/null || tb_die "missing command 'slowhttptest' (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix slow-peers)
cfg=$TB_DIR/slow-peers.toml
log=$TB_LOG_DIR/splicer-slow-peers.log
tb_write_splice_config "$cfg" "$prefix" 1 \
    'request_timeout = "5s"
body_timeout = "5s"
send_timeout = "5s"' "" "" 4 256
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

w=$(tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$TB_VIP/")
tb_check_cmp "a first request is spliced ($w)" "$w" -eq 200

before_rt=$(stat_of "$log" request_timeouts)
before_bt=$(stat_of "$log" body_timeouts)
before_st=$(stat_of "$log" send_timeouts)

# attack NAME PATH MODE...: slowhttptest, 300 connections opened at 100 a second,
# for 25 s, in the client namespace.
attack() {
    local name=$1 path=$2
    shift 2
    tb_spawn "$TB_LOG_DIR/slowhttptest-$name.log" ip netns exec "$TB_NS_CLIENT" \
        slowhttptest -c 300 -r 100 -l 25 -p 3 -u "http://$TB_VIP/$path" "$@"
}
attack slowloris slowloris -H -i 2 -x 24
attack slowbody dav/slowbody -B -t PUT -i 2 -s 8192 -x 10
attack slowread files/20m -X -k 1 -n 1 -w 1 -y 512 -z 5
sleep 3

times=$TB_LOG_DIR/slow-peers-normal.txt
: >"$times"
fails=0
end=$((SECONDS + 22))
while ((SECONDS < end)); do
    line=$(tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code} %{time_total}' \
        "http://$TB_VIP/normal")
    read -r code t <<<"$line"
    if [[ $code == 200 ]]; then
        printf '%s\n' "$t" >>"$times"
    else
        fails=$((fails + 1))
    fi
    sleep 0.2
done
n=$(wc -l <"$times")
read -r p50 p95 max < <(sort -n "$times" | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print 9, 9, 9; exit }
    i50 = int(NR * 0.50 + 0.5); if (i50 < 1) i50 = 1
    i95 = int(NR * 0.95 + 0.5); if (i95 < 1) i95 = 1
    print v[i50], v[i95], v[NR] }')
tb_log "normal client during the attacks: $n answers, p50 ${p50}s, p95 ${p95}s, max ${max}s, $fails failed"
tb_check_cmp "the normal client got answers throughout ($n)" "$n" -ge 40
tb_check_cmp "none of its requests failed" "$fails" -eq 0
tb_check "its median answer time is ≤ 50 ms (${p50}s)" awk -v t="$p50" 'BEGIN { exit !(t <= 0.050) }'
tb_check "its 95th percentile is ≤ 50 ms (${p95}s)" awk -v t="$p95" 'BEGIN { exit !(t <= 0.050) }'

tb_check "slowloris heads end in request_timeouts" \
    tb_wait_stat_gt "$log" request_timeouts "$((before_rt + 100))" 10
tb_check "slow bodies end in body_timeouts" \
    tb_wait_stat_gt "$log" body_timeouts "$((before_bt + 100))" 10
tb_check "slow readers end in send_timeouts" \
    tb_wait_stat_gt "$log" send_timeouts "$((before_st + 100))" 10
for f in slowloris slowbody slowread; do
    tb_log "slowhttptest $f: $(sed 's/\x1b\[[0-9;]*m//g' "$TB_LOG_DIR/slowhttptest-$f.log" 2>/dev/null |
        grep -E 'service available|closed|connected|pending' | tail -n 4 | tr -s ' \n' ' ')"
done

# A challenge ACK that a peer's RST cannot answer would make the two trade them at the
# rate limit (RFC 5961 §7): the attackers' resets must close their connections at once.
tb_check_cmp "no challenge-ACK storm (tcp_challenge_acks_limited)" \
    "$(stat_of "$log" tcp_challenge_acks_limited)" -eq 0

# The attackers give up (slowhttptest's -l 25); what is left is the pools.
sleep 8
tb_ctl show stats >"$TB_LOG_DIR/slow-peers-stats.txt" 2>&1
tb_ctl show flows limit 1000 >"$TB_LOG_DIR/slow-peers-flows.txt" 2>&1
flows=$(grep -c "$TB_CLIENT_IP:" "$TB_LOG_DIR/slow-peers-flows.txt" || true)
tb_check_cmp "no client connection left once the attacks ended ($flows)" "$flows" -eq 0
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
