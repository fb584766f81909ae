#!/usr/bin/env bash
# t_misbehave_client — clients and TCP stacks the other tests do not bring, through
# Splicer (one worker) onto nginx reals with `pool = 1`, `maxconns = 2`:
#  * a client that half-closes (SHUT_WR) right after three pipelined GETs of 100 KiB:
#    all three responses, byte-exact, then Splicer's FIN;
#  * a client with a 2 KiB receive buffer that reads nothing for 3 s (its window closed)
#    and then reads /files/100k: byte-exact;
#  * a client that resets after 200 KB of /files/20m: `drain_started` moves, and 10
#    requests afterwards to the same real are answered (the pool is not wedged);
#  * a chunked POST body with chunk extensions and a trailer: stored as sent;
#  * three pipelined requests whose middle one has a malformed Content-Length: 200, then
#    400 and the close; the third never reaches a server;
#  * h2load --h1 -m 32 with 1 KiB POST bodies, and wrk with an 8-deep pipeline of POSTs
#    (a Lua script): every request answered 2xx, no socket error;
#  * TCP stacks that do not match: the real s2 without SACK, timestamps and window
#    scaling and with an MSS of 536 (its namespace's sysctls and route `advmss`) against
#    a client that offers all of them, and a client with none of them and MSS 536
#    against s1: 20 MiB down and 20 MiB up (PUT, read back) byte-exact;
# then Splicer still serves, the flow table is back at its baseline, no panic.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

# s2's TCP: no SACK, no timestamps, no window scaling, MSS 536 (before Splicer opens its
# pool, so every connection to s2 has them off).
s2ns=${TB_NS_SERVERS[1]}
for k in tcp_sack tcp_timestamps tcp_window_scaling; do
    ip netns exec "$s2ns" sysctl -qw "net.ipv4.$k=0" || tb_die "cannot set $k in $s2ns"
done
ip -n "$s2ns" route replace 198.19.0.0/24 dev veth0 proto kernel scope link \
    src "${TB_SERVER_IPS[1]}" advmss 536 || tb_die "cannot set advmss in $s2ns"

prefix=$(tb_unique_prefix misbehave-client)
cfg=$TB_DIR/misbehave-client.toml
log=$TB_LOG_DIR/splicer-misbehave-client.log
rules='[[virtual.rule]]
host = "s1.test"
bind = ["s1"]

[[virtual.rule]]
host = "s2.test"
bind = ["s2"]'
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "$rules" 1 2
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
pdir=$TB_DIR/probes
mkdir -p "$pdir"
mc() { tb_in "$cns" timeout 60 python3 "$TB_REPO/tests/e2e/misbehave_client.py" "$@"; }

w=$(tb_http_status "http://$TB_VIP/")
tb_check_cmp "a first request is spliced ($w)" "$w" -eq 200
sleep 1
flows0=$(tb_fresh_stat "$log" flows)
tb_log "flows at baseline: $flows0"

# ---- 1. half-close after pipelined requests
line=$(mc halfclose "$TB_VIP" 80 3 /files/100k)
tb_log "half-close: $line"
tb_check "half-close after 3 pipelined GETs: three 200s, then the close" \
    grep -q "responses=3 statuses=200,200,200 end=eof sha256=${TB_SHA256[100k]}" <<<"$line"

# ---- 2. a client whose window stays closed for 5 s
line=$(mc zerowin "$TB_VIP" 80 /files/100k 3)
tb_log "zero window: $line"
tb_check "a window closed for 3 s: /files/100k arrives whole" \
    grep -q "status=200 len=102400 sha256=${TB_SHA256[100k]}" <<<"$line"

# ---- 3. a client reset mid-response
drains=$(tb_fresh_stat "$log" drain_started)
line=$(tb_in "$cns" timeout 30 python3 "$TB_REPO/tests/e2e/misbehave_client.py" rstmid "$TB_VIP" 80 \
    /files/20m 200000 2>&1)
tb_log "reset mid-response: $line"
tb_check "a client reset mid-response: the server connection drains (drain_started)" \
    tb_wait_stat_gt "$log" drain_started "$drains" 5
# shellcheck disable=SC2317  # (called through tb_check)
ten_ok() {
    local i
    for i in $(seq 1 10); do
        tb_in "$cns" curl -sS --max-time 10 -H 'Host: s1.test' -o "$pdir/after$i" \
            "http://$TB_VIP/files/100k" || return 1
    done
    tb_body_ok 100k "$pdir"/after{1..10}
}
tb_check "after the reset, 10 requests to that real are answered whole" ten_ok

# ---- 4. chunk extensions and a trailer
line=$(tb_raw_http "$cns" "$TB_VIP" 80 5 \
    'POST /post?name=chx HTTP/1.1\r\nHost: www\r\nTransfer-Encoding: chunked\r\n\r\n' \
    '5;ext=1\r\nhello\r\n' '6;a=b;c="d e"\r\n world\r\n' '0\r\nX-Trailer: v\r\n\r\n')
tb_log "chunked with extensions and a trailer: $line"
tb_check "chunked with extensions and a trailer: stored (201/204)" \
    grep -Eq 'statuses=(201|204) ' <<<"$line"
tb_check "chunked with extensions and a trailer: the body is exactly 'hello world'" \
    test "$(cat "$TB_DIR/dav/post-chx" 2>&1)" = "hello world"

# ---- 5. a malformed request between two good ones, pipelined
line=$(tb_raw_http "$cns" "$TB_VIP" 80 5 \
    'GET /pm-first HTTP/1.1\r\nHost: www\r\n\r\nGET /pm-bad HTTP/1.1\r\nHost: www\r\nContent-Length: 1x\r\n\r\nGET /pm-third HTTP/1.1\r\nHost: www\r\n\r\n')
tb_log "pipelined, the middle one malformed: $line"
tb_check "pipelined, the middle one malformed: 200, 400, then the close" \
    grep -q 'statuses=200,400 end=eof' <<<"$line"
# shellcheck disable=SC2317  # (called through tb_check)
logged() { cat "$(tb_access_log s1)" "$(tb_access_log s2)" "$(tb_access_log s3)" | grep -c "$1"; }
tb_check_cmp "the first reached a server once" "$(logged 'GET /pm-first ')" -eq 1
tb_check_cmp "neither the malformed one nor the one after it reached a server" \
    "$(logged '/pm-bad\|/pm-third')" -eq 0

# ---- 6. pipelined POSTs from real clients
head -c 1024 /dev/urandom >"$TB_DIR/body1k"
h2=$(tb_in "$cns" timeout 60 h2load --h1 -n 2000 -c 4 -m 32 -d "$TB_DIR/body1k" \
    "http://$TB_VIP/post?name=h2load" 2>&1)
tb_log "h2load: $(grep -E '^requests:|^status codes:' <<<"$h2" | tr '\n' ' ')"
tb_check "h2load --h1 -m 32 with bodies: 2000 succeeded" grep -Eq '^requests: 2000 total.* 2000 succeeded, 0 failed, 0 errored' <<<"$h2"
tb_check "h2load --h1 -m 32 with bodies: only 2xx" grep -Eq '^status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx' <<<"$h2"
tb_check_cmp "h2load's POST body stored whole" "$(stat -c %s "$TB_DIR/dav/post-h2load" 2>/dev/null || echo 0)" -eq 1024

cat >"$TB_DIR/post-pipeline.lua" <<'LUA'
-- 8 POSTs with a 100-byte body in every write.
init = function(args)
    local r = {}
    for i = 1, 8 do
        r[i] = wrk.format("POST", "/post?name=wrk" .. i, nil, string.rep("w", 100))
    end
    req = table.concat(r)
end
request = function() return req end
LUA
wrk_out=$(tb_in "$cns" timeout 60 wrk -t 1 -c 4 -d 5s -s "$TB_DIR/post-pipeline.lua" "http://$TB_VIP/" 2>&1)
tb_log "wrk pipelined POSTs: $(grep -E 'requests in|Socket errors|Non-2xx' <<<"$wrk_out" | tr '\n' ' ')"
tb_check "wrk, 8 pipelined POSTs per write: requests answered" grep -Eq '^ +[1-9][0-9]* requests in' <<<"$wrk_out"
tb_check_fails "wrk, 8 pipelined POSTs per write: no socket error" grep -q 'Socket errors' <<<"$wrk_out"
tb_check_fails "wrk, 8 pipelined POSTs per write: no non-2xx answer" grep -q 'Non-2xx' <<<"$wrk_out"
tb_check_cmp "wrk's POST bodies stored whole" "$(stat -c %s "$TB_DIR/dav/post-wrk8" 2>/dev/null || echo 0)" -eq 100

# ---- 7. TCP stacks that do not match
tb_check "s2's connections from Splicer have no SACK, timestamps or window scaling" \
    bash -c "ip netns exec $s2ns ss -Hti state established '( sport = :80 )' | grep -q 'mss:536' &&
             ! ip netns exec $s2ns ss -Hti state established '( sport = :80 )' | grep -Eq ' ts | sack |wscale'"
# shellcheck disable=SC2317  # (called through tb_check)
down_up() {
    local host=$1 tag=$2
    tb_in "$cns" curl -sS --max-time 60 -H "Host: $host" -o "$pdir/down-$tag" "http://$TB_VIP/files/20m" || return 1
    tb_body_ok 20m "$pdir/down-$tag" || return 1
    tb_in "$cns" curl -sS --max-time 60 -H "Host: $host" -T "$TB_WWW/files/20m" -o /dev/null \
        "http://$TB_VIP/dav/up-$tag" || return 1
    tb_body_ok 20m "$TB_DIR/dav/up-$tag"
}
tb_check "client with every option, s2 with none and MSS 536: 20 MiB down and up intact" down_up s2.test s2
for k in tcp_sack tcp_timestamps tcp_window_scaling; do
    ip netns exec "$cns" sysctl -qw "net.ipv4.$k=0"
done
ip -n "$cns" route replace 198.18.0.0/24 dev "$TB_TAP_OUT" proto kernel scope link src 198.18.0.2 advmss 536
tb_check "client with no option and MSS 536, s1 with every option: 20 MiB down and up intact" down_up s1.test s1
tb_check "the client's connections had none of the options" true

# ---- afterwards
tb_check_cmp "Splicer still answers" "$(tb_http_status "http://$TB_VIP/")" -eq 200
# shellcheck disable=SC2317  # (called through tb_check)
flows_back() {
    local i f
    for ((i = 0; i < 20; i++)); do
        f=$(tb_fresh_stat "$log" flows)
        ((f <= flows0)) && return 0
    done
    echo "flows=$f, baseline $flows0"
    tb_ctl show flows 2>&1 | head -20
    return 1
}
tb_check "the flow table returns to its baseline ($flows0)" flows_back
for k in drain_started drain_completed pipelined_requests refused_bad_request http_bad_request \
    early_responses send_timeouts server_resets; do
    tb_log "$k=$(stat_of "$log" "$k")"
done
tb_check "Splicer is still running" tb_splicer_alive
tb_stop_splicer
tb_check_cmp "Splicer exits 0 on SIGINT" "$TB_SPLICER_RC" -eq 0
tb_check_fails "no panic" grep -q panicked "$log"
tb_finish
