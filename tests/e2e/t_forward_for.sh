#!/usr/bin/env bash
# t_forward_for — the client's address reaches the servers (virtual.forward_for):
#  * three virtuals on the VIP, bound to s1..s3: www (:80) with forward_for = "header"
#    (incoming replaced), trusted (:8080) with forward_for_incoming = "append", plain
#    (:8081) without forward_for;
#  * a curl from the client namespace: nginx sees X-Forwarded-For 198.18.0.2 (the
#    client's namespace address) and X-Forwarded-Proto http, from Splicer's inside
#    address (its xff access log, and the X-Seen-XFF / X-Seen-XFP headers it returns);
#  * forged X-Forwarded-For / -Proto (two lines, odd case) are replaced: the server's
#    $request_length is exactly the client's head less the forged lines plus the two
#    lines Splicer writes; on :8080 the client's address is appended to the forged list
#    and its proto kept; on :8081 the forged header arrives unchanged;
#  * keep-alive: 100 requests on one client connection all carry it;
#  * POST bodies (100 KiB with Content-Length, 100 KiB chunked, 20 MiB) behind a head
#    that grew or shrank arrive byte-exact (sha256 of what nginx stored);
#  * 10 pipelined requests in one send, each with a forged header: every response says
#    the server saw 198.18.0.2, and so do the servers' logs;
#  * wrk (keep-alive, then 8-deep pipelining) with no socket error and only 2xx, and every
#    request logged by the servers during it carried 198.18.0.2;
#  * counters forwarded_for_inserted / _replaced / _appended move; `splicer check`
#    refuses forward_for = "proxy-v2" on these (splice) virtuals with the reason (it is
#    for tcp virtuals only: t_tcp_mode).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || tb_die "missing command 'wrk' (run scripts/install-deps.sh)"

tb_setup

prefix=$(tb_unique_prefix forward-for)
cfg=$TB_DIR/forward-for.toml
log=$TB_LOG_DIR/splicer-forward-for.log
more_virtuals="[[virtual]]
name = \"trusted\"
address = \"$TB_VIP:8080\"
bind = [\"s1\", \"s2\", \"s3\"]
forward_for = \"header\"
forward_for_incoming = \"append\"

[[virtual]]
name = \"plain\"
address = \"$TB_VIP:8081\"
bind = [\"s1\", \"s2\", \"s3\"]"
tb_write_splice_config "$cfg" "$prefix" 1 "" 'forward_for = "header"' "$more_virtuals"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
vip=$TB_VIP
client=$TB_CLIENT_IP
servers=(s1 s2 s3)
XFF_LINES_LEN=$((${#client} + 19 + 25)) # "X-Forwarded-For: <ip>\r\n" + "X-Forwarded-Proto: http\r\n"

# xff_marks: remember how long every server's xff log is.
declare -A mark
xff_marks() {
    local s
    for s in "${servers[@]}"; do
        mark[$s]=$(wc -l <"$(tb_xff_log "$s")" 2>/dev/null || echo 0)
    done
}
# xff_new: the servers' xff log lines since xff_marks.
xff_new() {
    local s
    for s in "${servers[@]}"; do
        tail -n "+$((${mark[$s]} + 1))" "$(tb_xff_log "$s")" 2>/dev/null
    done
}
# seen ARGS...: "XFF|XFP" the server reported for a curl from the client.
seen() {
    tb_in "$cns" curl -sS -m 10 -o /dev/null -w '%header{x-seen-xff}|%header{x-seen-xfp}' "$@" 2>&1
}

# 1. A plain request: the server sees the client's address.
xff_marks
got=$(seen "http://$vip/who")
tb_check "curl: the server saw X-Forwarded-For $client, proto http (got '$got')" \
    test "$got" = "$client|http"
sleep 0.2
line=$(xff_new | grep '"GET /who ')
tb_log "server log: $line"
tb_check "the server's log: from $TB_IN_IP, X-Forwarded-For \"$client\" (the client's namespace address)" \
    grep -q "^$TB_IN_IP \"$client\" \"http\" \"GET /who HTTP/1.1\"" <<<"$line"

# 2. Forged headers, replaced: the exact length the server got.
xff_marks
req='GET /forged HTTP/1.1\r\nHost: www\r\nX-Forwarded-For: 6.6.6.6\r\nUser-Agent: t\r\nx-forwarded-for: 7.7.7.7, 8.8.8.8\r\nX-FORWARDED-PROTO: https\r\nConnection: close\r\n\r\n'
forged1='X-Forwarded-For: 6.6.6.6\r\n'
forged2='x-forwarded-for: 7.7.7.7, 8.8.8.8\r\n'
forged3='X-FORWARDED-PROTO: https\r\n'
len() { printf '%b' "$1" | wc -c; } # the pieces' escapes (\r\n) count as one byte each
dump=$TB_DIR/forged.out
out=$(RAWHTTP_DUMP=$dump tb_raw_http "$cns" "$vip" 80 5 "$req")
tb_check "forged: answered 200 ($out)" test "$(tb_raw_field "$out" statuses)" = 200
tb_check "forged: the server saw only X-Forwarded-For $client" grep -qa "^X-Seen-XFF: $client"$'\r' "$dump"
tb_check "forged: ... and X-Forwarded-Proto http" grep -qa "^X-Seen-XFP: http"$'\r' "$dump"
sleep 0.2
line=$(xff_new | grep '"GET /forged ')
# (`Connection: close` does not reach the server either: virtual.server_close, t_server_close.)
closeline='Connection: close\r\n'
want=$(($(len "$req") - $(len "$forged1") - $(len "$forged2") - $(len "$forged3") - $(len "$closeline") + XFF_LINES_LEN))
got=$(awk '{ print $NF }' <<<"$line")
tb_log "server log: $line"
tb_check_cmp "forged: the server's request length is the head less the 3 forged lines and the close line plus Splicer's 2" \
    "${got:-0}" -eq "$want"
tb_check_fails "forged: no forged address in the server's log" grep -Eq '6\.6\.6\.6|7\.7\.7\.7|https' <<<"$line"

# 3. Appended on the trusted virtual; unchanged on the plain one.
got=$(seen -H 'X-Forwarded-For: 10.9.9.9' -H 'X-Forwarded-Proto: https' "http://$vip:8080/t")
tb_check "append: the server saw '10.9.9.9, $client' and the proxy's proto https (got '$got')" \
    test "$got" = "10.9.9.9, $client|https"
got=$(seen "http://$vip:8080/t")
tb_check "append without an incoming header: '$client|http' (got '$got')" test "$got" = "$client|http"
got=$(seen -H 'X-Forwarded-For: 6.6.6.6' "http://$vip:8081/p")
tb_check "forward_for off: the client's header unchanged, none added (got '$got')" test "$got" = "6.6.6.6|"

# 4. Keep-alive: 100 requests on one client connection.
w=$(tb_in "$cns" curl -sS -m 60 -H 'X-Forwarded-For: 6.6.6.6' -o /dev/null \
    -w '%{http_code} %{num_connects} %header{x-seen-xff}\n' "http://$vip/ka?n=[1-100]" 2>&1)
tb_check_cmp "keep-alive: 100 answers 200" "$(grep -c '^200 ' <<<"$w")" -eq 100
tb_check_cmp "keep-alive: on one client connection" "$(awk '{ s += $2 } END { print s + 0 }' <<<"$w")" -eq 1
tb_check_cmp "keep-alive: all 100 carried X-Forwarded-For $client" "$(grep -c " $client\$" <<<"$w")" -eq 100

# 5. Bodies behind a rewritten head, byte-exact.
dav=$TB_DIR/dav
post() { # post NAME HEADERS... : POST a body to /post?name=NAME, prints the status
    local name=$1
    shift
    tb_in "$cns" curl -sS -m 120 -o /dev/null -w '%{http_code}' "$@" "http://$vip/post?name=$name" 2>&1
}
st=$(post xff100k --data-binary "@$TB_WWW/files/100k")
tb_check "POST 100 KiB (Content-Length): $st" test "$st" = 201
tb_check "POST 100 KiB: stored intact (sha256)" tb_body_ok 100k "$dav/post-xff100k"
st=$(post xffchunked -H 'Transfer-Encoding: chunked' -H "X-Forwarded-For: $(printf '6.6.6.6, %.0s' {1..30})6.6.6.6" \
    --data-binary "@$TB_WWW/files/100k")
tb_check "POST 100 KiB chunked, behind a head shrunk by a long forged header: $st" test "$st" = 201
tb_check "POST 100 KiB chunked: stored intact (sha256)" tb_body_ok 100k "$dav/post-xffchunked"
st=$(post xff20m -H 'Expect:' --data-binary "@$TB_WWW/files/20m")
tb_check "POST 20 MiB: $st" test "$st" = 201
tb_check "POST 20 MiB: stored intact (sha256)" tb_body_ok 20m "$dav/post-xff20m"

# 6. Pipelined: 10 requests in one send, each with a forged header.
xff_marks
pipe=""
for ((i = 1; i <= 10; i++)); do
    close=""
    ((i == 10)) && close='Connection: close\r\n'
    pipe+="GET /pipe?i=$i HTTP/1.1\\r\\nHost: www\\r\\nX-Forwarded-For: 6.6.6.$i\\r\\n$close\\r\\n"
done
dump=$TB_DIR/pipe.out
out=$(RAWHTTP_DUMP=$dump tb_raw_http "$cns" "$vip" 80 10 "$pipe")
tb_check "pipelined: 10 answers 200 ($out)" \
    test "$(tb_raw_field "$out" statuses)" = "200,200,200,200,200,200,200,200,200,200"
tb_check_cmp "pipelined: each answer says the server saw $client" \
    "$(grep -ac "^X-Seen-XFF: $client"$'\r' "$dump")" -eq 10
sleep 0.2
tb_check_cmp "pipelined: the servers logged 10 requests with \"$client\"" \
    "$(xff_new | grep -c "\"$client\" \"http\" \"GET /pipe?i=")" -eq 10

# 7. wrk: no errors, every request carried it.
run_wrk() { # run_wrk NAME [wrk args...]
    local name=$1 f rc=0 reqs errors non2xx total with
    shift
    f=$TB_LOG_DIR/wrk-$name.txt
    xff_marks
    tb_in "$cns" timeout 40 wrk -t 1 -c 20 -d 5s --timeout 5s "$@" "http://$vip/" >"$f" 2>&1 || rc=$?
    sed 's/^/# | /' "$f"
    tb_check_cmp "wrk $name: exit code" "$rc" -eq 0
    reqs=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
    errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$f" |
        awk '{ print $1 + $2 + $3 + $4 }')
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$f")
    tb_check_cmp "wrk $name: requests completed" "${reqs:-0}" -gt 0
    tb_check_cmp "wrk $name: no socket errors" "${errors:-0}" -eq 0
    tb_check_cmp "wrk $name: no answer other than 2xx/3xx" "${non2xx:-0}" -eq 0
    sleep 0.5
    total=$(xff_new | wc -l)
    with=$(xff_new | grep -c "^$TB_IN_IP \"$client\" \"http\" ")
    tb_log "wrk $name: $reqs requests; servers logged $total, $with with X-Forwarded-For $client"
    tb_check_cmp "wrk $name: the servers logged at least as many requests as wrk completed" "$total" -ge "${reqs:-1}"
    tb_check_cmp "wrk $name: every one carried X-Forwarded-For $client" "$with" -eq "$total"
}
run_wrk keep-alive -H 'X-Forwarded-For: 6.6.6.6'
lua=$TB_DIR/pipeline.lua
cat >"$lua" <<'LUA'
-- 8 requests per write (wrk's pipeline example).
init = function(args)
    local r = {}
    for i = 1, 8 do
        r[i] = wrk.format(nil, "/?p=" .. i)
    end
    req = table.concat(r)
end
request = function() return req end
LUA
run_wrk pipelined -s "$lua"

# 8. Counters.
tb_wait_stats_line "$log" 5 >/dev/null || true
for c in forwarded_for_inserted forwarded_for_replaced forwarded_for_appended; do
    tb_check_cmp "counter $c moved ($(stat_of "$log" "$c"))" "$(stat_of "$log" "$c")" -gt 0
done

# 9. proxy-v2 is refused on a splice virtual, with the reason.
bad=$TB_DIR/proxy-v2.toml
sed -e 's/^forward_for = "header"$/forward_for = "proxy-v2"/' -e '/^forward_for_incoming = /d' "$cfg" >"$bad"
rc=0
msg=$("$SPLICER_BIN" check --config "$bad" 2>&1) || rc=$?
tb_log "splicer check (proxy-v2): exit $rc: $msg"
tb_check_cmp "proxy-v2: splicer check fails" "$rc" -ne 0
tb_check "proxy-v2: the error names the key and says why" \
    grep -q 'forward_for: "proxy-v2" needs mode = "tcp".*pooled' <<<"$msg"

tb_check "Splicer still runs" tb_splicer_alive
tb_stop_splicer
tb_check_cmp "Splicer exits 0 on SIGINT" "$TB_SPLICER_RC" -eq 0
tb_finish
