#!/usr/bin/env bash
# t_misbehave_server — servers that break HTTP/1.1 on a pooled connection (one worker).
# The real m1 (misbehave_server.py on 198.19.0.14, in spl-s3's namespace; `pool = 1`,
# `maxconns = 1`, so a desynchronised or wedged server connection would meet the very
# next request) answers /m/<case> as misbehave_server.py documents. Every byte it should
# not have sent is a whole response with `X-M: smuggled`: no client may ever read it.
# Each case runs on one client connection followed by /m/ok on the same connection
# (where the case leaves it open) and then on a new connection:
#  * extra bytes after a complete response (same send, and 0.5 s later on the idle
#    pooled connection): the client gets its response and nothing more, and its
#    connection goes on (before: it was closed, its next request unanswered),
#    `server_unexpected_data` moves, the server connection is not reused;
#  * 204 / 304 with a Content-Length and a "body", a HEAD answered with a body: the
#    same (no body for them, whatever the head says);
#  * a HEAD answered with Content-Length and no body, a chunked response with an
#    extension and a trailer, bare LF line ends: ordinary responses, the next request
#    on the same client connection is answered;
#  * 100 Continue twice, 103 Early Hints before the final response: relayed, the final
#    response follows;
#  * Content-Length with Transfer-Encoding, two Content-Length values: unframeable; the
#    client gets 502 (not the head), `server_framing_errors` moves, the connection is
#    reset and the real is free at once (before: the head was relayed "until the close"
#    that a keep-alive server never sends, the client waited, and the real's only slot
#    was held until `server_idle_timeout`, 60 s of 503s for everyone);
#  * an HTTP/1.0 response delimited by the close, on a pooled connection: delivered
#    whole, then the client is closed;
#  * a reset right after a complete response: the client gets it and its connection
#    goes on, its next requests (sent at once, or 0.5 s later) answered (before: the
#    client was reset when its next request came before the reset);
#  * the keep-alive race: the server closes (FIN) or resets its pooled connection as a
#    request arrives on it, one sent alone or pipelined behind answered ones, or closes
#    it 50 ms after each response while a client sends every ~50 ms: the request goes
#    again on a new connection, answered (`requests_retried`; before: Splicer's 502);
#  * half a head then a FIN or a RST: the client is reset (never Splicer's 502 after
#    the half head), later requests are served;
#  * a final 200 at once to `Expect: 100-continue` (the body never read): the client
#    gets it, `early_responses` moves;
#  * a server whose receive window closes for 3 s under a 300 KB POST: the body
#    arrives whole (sha256 the server computed);
# then 10 requests to m1 all answered, no server connection left busy (`show pools`),
# and the flow table back to its baseline.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

M_IP=198.19.0.14

tb_setup

mlog=$TB_LOG_DIR/misbehave-server.log
tb_extra_server misbehave_server.py "$M_IP" "http://$M_IP/m/ok" "$mlog" python3 -u \
    "$TB_REPO/tests/e2e/misbehave_server.py" "$M_IP"

prefix=$(tb_unique_prefix misbehave-server)
cfg=$TB_DIR/misbehave-server.toml
log=$TB_LOG_DIR/splicer-misbehave-server.log
TB_CTL_SOCK=$TB_DIR/run/misbehave-server.sock
reals="$(tb_reals 1 64)
[[real]]
name = \"m1\"
address = \"$M_IP:80\"
pool = 1
maxconns = 1

[[real]]
name = \"m2\"
address = \"$M_IP:80\"
pool = 1
maxconns = 8
"
# m2: the same server, with room for more than one request (a request lost on it cannot
# wait in the queue for its own real's slot to come back).
rules='[[virtual.rule]]
name = "race-fin"
path_prefix = "/m/finnext"
bind = ["m2"]

[[virtual.rule]]
name = "race-idle"
path_prefix = "/m/idle50"
bind = ["m2"]

[[virtual.rule]]
name = "misbehave"
path_prefix = "/m/"
bind = ["m1"]'
tb_write_config "$cfg" "$prefix" 1 "control_socket = \"$TB_CTL_SOCK\"" \
    'mode = "splice"
bind = ["s1", "s2", "s3"]' "$reals" "$rules"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
pdir=$TB_DIR/probes
mkdir -p "$pdir"

# probe NAME REQ... : one client connection through the VIP (misbehave_client.py seq);
# its output is kept in $pdir/NAME and logged.
probe() {
    local name=$1
    shift
    tb_in "$cns" timeout 30 python3 "$TB_REPO/tests/e2e/misbehave_client.py" seq "$TB_VIP" 80 "$@" \
        >"$pdir/$name" 2>&1
    sed "s/^/# [$(date +%T)] $name: /" "$pdir/$name"
}

# shellcheck disable=SC2317  # (called through tb_check)
# has NAME REGEX: a line of probe NAME's output matches REGEX.
has() { grep -Eq -- "$2" "$pdir/$1" || { cat "$pdir/$1"; return 1; }; }

# shellcheck disable=SC2317  # (called through tb_check)
# clean NAME: nothing the server should not have sent reached the client.
clean() {
    if grep -q smuggled "$pdir/$1" || ! grep -q 'extra=0$' "$pdir/$1"; then
        cat "$pdir/$1"
        return 1
    fi
}

# shellcheck disable=SC2317  # (called through tb_check)
# fresh_ok N: N requests to m1, each on a new connection, answered "ok".
fresh_ok() {
    local i
    for ((i = 1; i <= $1; i++)); do
        probe after /m/ok >/dev/null
        has after '^R1 status=200 m=ok len=3 ' >/dev/null || { echo "request $i:"; cat "$pdir/after"; return 1; }
        clean after >/dev/null || { echo "request $i:"; cat "$pdir/after"; return 1; }
    done
}

# shellcheck disable=SC2317  # (called through tb_check)
# counter_moves KEY BEFORE: KEY grows past BEFORE within 5 s.
counter_moves() { tb_wait_stat_gt "$log" "$1" "$2" 5; }

# ---- a baseline
probe base /m/ok /m/ok
tb_check "baseline: two requests on one connection answered ok" has base '^R2 status=200 m=ok len=3 '
sleep 1
flows0=$(tb_fresh_stat "$log" flows)
tb_log "flows at baseline: $flows0"

# ---- 1. bytes after a complete response
unexpected=$(tb_fresh_stat "$log" server_unexpected_data)
probe extra /m/extra /m/ok /m/ok
tb_check "extra bytes in the response's send: the client gets its response" has extra '^R1 status=200 m=extra len=3 '
tb_check "extra bytes: the next requests on that client connection are answered ok" has extra '^R3 status=200 m=ok len=3 '
tb_check "extra bytes: the client never sees them" clean extra
tb_check "extra bytes: server_unexpected_data moves" counter_moves server_unexpected_data "$unexpected"

unexpected=$(tb_fresh_stat "$log" server_unexpected_data)
probe extralate /m/extralate
sleep 1.5
probe extralate2 /m/ok /m/ok
tb_check "extra bytes on the idle pooled connection: the response before them is whole" has extralate '^R1 status=200 m=extralate len=3 '
tb_check "extra bytes on the idle pooled connection: the next client gets ok, twice" has extralate2 '^R2 status=200 m=ok len=3 '
tb_check "extra bytes on the idle pooled connection: no client sees them" clean extralate2
tb_check "extra bytes on the idle pooled connection: server_unexpected_data moves" counter_moves server_unexpected_data "$unexpected"

# ---- 2. bodies where there are none
for c in 204body 304body; do
    unexpected=$(tb_fresh_stat "$log" server_unexpected_data)
    probe "$c" "/m/$c" /m/ok /m/ok
    tb_check "$c: the client gets the ${c%body}" has "$c" "^R1 status=${c%body} m=$c len=0 "
    tb_check "$c: the next requests on that connection are answered ok" has "$c" '^R3 status=200 m=ok len=3 '
    tb_check "$c: the body never reaches a client" clean "$c"
    tb_check "$c: server_unexpected_data moves" counter_moves server_unexpected_data "$unexpected"
done
unexpected=$(tb_fresh_stat "$log" server_unexpected_data)
probe headbody "HEAD /m/headbody" /m/ok /m/ok
tb_check "HEAD answered with a body: the client gets the head" has headbody '^R1 status=200 m=headbody len=0 '
tb_check "HEAD answered with a body: the next requests are answered ok" has headbody '^R3 status=200 m=ok len=3 '
tb_check "HEAD answered with a body: the body never reaches a client" clean headbody
tb_check "HEAD answered with a body: server_unexpected_data moves" counter_moves server_unexpected_data "$unexpected"

# ---- 3. unusual but correct responses: the server connection stays in use
for spec in "HEAD /m/headcl|headcl|HEAD with Content-Length 100000 and no body" \
    "/m/chunked|chunked|chunked with an extension and a trailer" \
    "/m/lf|lf|bare LF line ends" \
    "/m/cont2|cont2|100 Continue twice" \
    "/m/hints|hints|103 Early Hints"; do
    IFS='|' read -r req c desc <<<"$spec"
    probe "$c" "$req" /m/ok "$req" /m/ok
    case $c in
    headcl) want='len=0 body=.* interim=-$' ;;
    cont2) want='len=3 body=.* interim=100,100$' ;;
    hints) want='len=3 body=.* interim=103$' ;;
    *) want='len=3 ' ;;
    esac
    tb_check "$desc: relayed" has "$c" "^R1 status=200 m=$c $want"
    tb_check "$desc: twice on one client connection, with requests between" has "$c" "^R3 status=200 m=$c $want"
    tb_check "$desc: the request after is answered" has "$c" '^R4 status=200 m=ok len=3 '
    tb_check "$desc: nothing else reaches the client" clean "$c"
done
tb_check_cmp "m1 served those on few server connections (reused)" \
    "$(grep -cE ' (GET|HEAD) /m/(headcl|chunked|lf|cont2|hints) ' "$mlog")" -eq 10

# ---- 4. unframeable heads
for c in clte twocl; do
    framing=$(tb_fresh_stat "$log" server_framing_errors)
    bad=$(stat_of "$log" http_bad_gateway)
    probe "$c" "/m/$c" /m/ok
    tb_check "$c: the client gets 502, not the head" has "$c" "^R1 status=502 m=- "
    tb_check "$c: then Splicer closes the client connection" has "$c" "^end=eof "
    tb_check "$c: server_framing_errors moves" counter_moves server_framing_errors "$framing"
    tb_check "$c: http_bad_gateway moves" counter_moves http_bad_gateway "$bad"
    tb_check "$c: nothing smuggled" clean "$c"
    tb_check "$c: a new client is answered ok" fresh_ok 2
done

# ---- 5. an HTTP/1.0 server: the body ends at its close
probe http10 /m/http10 /m/ok
tb_check "HTTP/1.0 response until close: delivered whole" has http10 '^R1 status=200 m=http10 len=20000 '
tb_check "HTTP/1.0 response until close: then the client is closed" has http10 '^end=eof '
tb_check "HTTP/1.0 response until close: a new client is answered ok" fresh_ok 2

# ---- 6. resets and closes
probe rstafter /m/rstafter +0.5 /m/ok /m/ok
tb_check "RST right after a complete response: the client gets the response" has rstafter '^R1 status=200 m=rstafter len=3 '
tb_check "RST right after a complete response: its next requests (0.5 s later) are answered" has rstafter '^R3 status=200 m=ok len=3 '
probe rstafter2 /m/rstafter /m/ok /m/ok
# Sent at once, the second request may reach the pooled connection before the server's
# RST reaches Splicer: it is then sent again on a new connection (`requests_retried`;
# before: Splicer's 502 and a clean close, docs/HARDENING.md).
tb_check "RST right after a complete response, the next requests at once: the first response whole" \
    has rstafter2 '^R1 status=200 m=rstafter len=3 '
tb_check "... the next requests answered (before: Splicer's 502 when the request beat the RST, or a reset)" \
    has rstafter2 '^R3 status=200 m=ok len=3 '

# ---- 6b. the keep-alive race: the server closes a pooled connection as a request
# arrives on it (m1 and m2 have one idle connection: the next request goes out on it)
retried=$(tb_fresh_stat "$log" requests_retried)
bad=$(tb_fresh_stat "$log" http_bad_gateway)
probe closenext /m/closenext /m/ok /m/ok
tb_check "a pooled connection reset as the next request arrives: the request goes again, answered" \
    has closenext '^R3 status=200 m=ok len=3 '
probe finnext /m/finnext /m/finnext /m/finnext
tb_check "a pooled connection closed (FIN) as the next request arrives (m2): the request goes again, answered" \
    has finnext '^R3 status=200 m=finnext len=3 '
tb_in "$cns" timeout 30 python3 "$TB_REPO/tests/e2e/misbehave_client.py" pipe "$TB_VIP" 80 \
    /m/closenext /m/ok /m/closenext /m/ok >"$pdir/pipenext" 2>&1
sed "s/^/# [$(date +%T)] pipenext: /" "$pdir/pipenext"
tb_check "requests pipelined behind answered ones, their pooled connection reset as each goes out: all answered" \
    has pipenext '^R4 status=200 m=ok len=3'
tb_check "requests_retried moves" counter_moves requests_retried "$((retried + 4))"
tb_check_cmp "no 502 for them" "$(tb_fresh_stat "$log" http_bad_gateway)" -eq "$bad"
# The race itself: m2 closes its connection 50 ms after each response, the client's next
# request follows 47.5-52.5 ms after it (a few of 60 cross the server's FIN).
reqs=()
for ((i = 0; i < 60; i++)); do reqs+=(/m/idle50 "+0.0$((4750 + i % 11 * 50))"); done
probe idle50 "${reqs[@]}"
tb_log "idle race: $(grep -c '^R[0-9]* status=200 ' "$pdir/idle50") of 60 answered 200, $(grep -c ' status=502 ' "$pdir/idle50") 502, requests_retried $(tb_fresh_stat "$log" requests_retried)"
tb_check "a request every ~50 ms to a server that closes after 50 ms idle: all 60 answered" \
    has idle50 '^R60 status=200 m=idle50 len=3 '
for c in closehead rsthead; do
    probe "$c" "/m/$c" /m/ok
    tb_check "$c: the client does not take half a head for a response" \
        bash -c "! grep -q '^R1 status=200' '$pdir/$c'"
    tb_check "$c: a new client is answered ok" fresh_ok 2
done

# ---- 7. Expect: 100-continue answered at once with a final status
early=$(tb_fresh_stat "$log" early_responses)
probe expect200 "EXPECT /m/expect200 5000" /m/ok
tb_check "a final 200 at once to Expect: 100-continue: the client gets it" has expect200 '^R1 status=200 m=expect200 len=3 '
tb_check "a final 200 at once to Expect: 100-continue: early_responses moves" counter_moves early_responses "$early"
tb_check "a final 200 at once to Expect: 100-continue: a new client is answered ok" fresh_ok 2

# ---- 8. a server whose window closes under a body
want=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes((1 * 7 + k) % 251 for k in range(300000))).hexdigest())')
probe slowread "POST /m/slowread 300000" /m/ok
tb_check "a server whose window closes for 3 s: the 300 KB body arrives whole" \
    has slowread "^R1 status=200 m=slowread .*len=300000 sha256=${want}"
tb_check "a server whose window closes for 3 s: the connection goes on" has slowread '^R2 status=200 m=ok len=3 '

# ---- afterwards
tb_check "10 requests to m1 afterwards, each answered ok" fresh_ok 10
tb_check "nginx reals still answered through the VIP" \
    test "$(tb_http_status "http://$TB_VIP/")" = 200
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
{ tb_ctl show pools; tb_ctl show real; } >"$TB_LOG_DIR/misbehave-pools.txt" 2>&1
tb_log "pools: $(tr '\n' ' ' <"$TB_LOG_DIR/misbehave-pools.txt")"
for k in server_unexpected_data server_framing_errors server_truncated server_resets \
    early_responses http_bad_gateway health_routed_again requests_retried server_timeouts queue_timeouts \
    http_no_server; do
    tb_log "$k=$(stat_of "$log" "$k")"
done
tb_check "Splicer is still running" tb_splicer_alive
tb_stop_splicer
tb_check_cmp "Splicer exits 0 on SIGINT" "$TB_SPLICER_RC" -eq 0
tb_check_fails "no panic" grep -q panicked "$log"
tb_finish
