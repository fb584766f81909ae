#!/usr/bin/env bash
# t_splice_badinput — on a virtual bound to real servers (mode splice), requests Splicer
# must not forward are answered by Splicer itself, the connection is closed, and the
# counter of the case moves (t_client_leg runs the first three on a virtual without
# servers):
#  * Content-Length with Transfer-Encoding → 400 (refused_smuggling); two different
#    Content-Length values → 400 (refused_smuggling);
#  * a head over max_request_head (4 KiB) → 431 (refused_head_too_large);
#  * a malformed request line → 400, HTTP/1.1 without Host → 400 (refused_bad_request);
#  * CONNECT → 501, `Transfer-Encoding: gzip, chunked` → 501 (refused_not_implemented);
#  * `Expect: something-else` → 417 (refused_expectation);
#  * the HTTP/2 preface → 505 (refused_version);
#  * none of those reached a server (the access logs have no line for them);
#  * a chunked PUT whose first chunk-size line is `zz` → 400 and the connection closed
#    (refused_bad_body), both when the bad line comes in the head's segment and
#    when it comes half a second after the head (the request is then already on a server
#    connection, which must not go back to the pool); nothing is stored;
#  * afterwards 20 requests are all answered 200 (no poisoned pooled connection); SIGINT
#    exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix splice-badinput)
cfg=$TB_DIR/splice-badinput.toml
log=$TB_LOG_DIR/splicer-splice-badinput.log
tb_write_splice_config "$cfg" "$prefix" 1 "" 'max_request_head = "4KiB"'
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

w=$(tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code} %header{x-server}' "http://$TB_VIP/")
tb_check "a valid request is spliced to a server: 200 from s1, s2 or s3 ($w)" grep -Eq '^200 s[123]$' <<<"$w"

declare -A mark
for s in s1 s2 s3; do
    mark[$s]=$(tb_access_lines "$s")
done

tb_check_refusal "$log" "Content-Length with Transfer-Encoding" 400 refused_smuggling \
    'POST / HTTP/1.1\r\nHost: www\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
tb_check_refusal "$log" "two different Content-Length values" 400 refused_smuggling \
    'POST / HTTP/1.1\r\nHost: www\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
big=$(head -c 6000 /dev/zero | tr '\0' a)
tb_check_refusal "$log" "a 6000-byte header (max_request_head 4KiB)" 431 refused_head_too_large \
    "GET / HTTP/1.1\r\nHost: www\r\nX-Big: $big\r\n\r\n"
tb_check_refusal "$log" "a malformed request line" 400 refused_bad_request 'BLAH\r\n\r\n'
tb_check_refusal "$log" "HTTP/1.1 without Host" 400 refused_bad_request 'GET / HTTP/1.1\r\n\r\n'
tb_check_refusal "$log" "CONNECT" 501 refused_not_implemented \
    'CONNECT 198.19.0.11:80 HTTP/1.1\r\nHost: 198.19.0.11:80\r\n\r\n'
tb_check_refusal "$log" "Transfer-Encoding: gzip, chunked" 501 refused_not_implemented \
    'POST / HTTP/1.1\r\nHost: www\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
tb_check_refusal "$log" "Expect: something-else" 417 refused_expectation \
    'PUT /dav/expect HTTP/1.1\r\nHost: www\r\nContent-Length: 1\r\nExpect: something-else\r\n\r\n'
tb_check_refusal "$log" "the HTTP/2 connection preface" 505 refused_version \
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'

seen=$(for s in s1 s2 s3; do tb_access_since "$s" "${mark[$s]}"; done)
tb_check "no refused request reached a server" test -z "$seen"
[[ -n $seen ]] && printf '%s\n' "$seen" | head -n 10 | sed 's/^/    | /'

# An invalid chunk-size line, in the head's segment and half a second after it.
tb_check_refusal "$log" "chunked PUT with chunk size 'zz' (same segment)" 400 refused_bad_body \
    'PUT /dav/bad1 HTTP/1.1\r\nHost: www\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'
tb_check_refusal "$log" "chunked PUT with chunk size 'zz' (0.5 s after the head)" 400 refused_bad_body \
    'PUT /dav/bad2 HTTP/1.1\r\nHost: www\r\nTransfer-Encoding: chunked\r\n\r\n' +0.5 'zz\r\nabc\r\n0\r\n\r\n'
tb_check "nothing stored for the bad chunked PUTs" test ! -e "$TB_DIR/dav/bad1" -a ! -e "$TB_DIR/dav/bad2"

ok=0
for _ in $(seq 1 20); do
    [[ $(tb_http_status "http://$TB_VIP/") == 200 ]] && ok=$((ok + 1))
done
tb_check_cmp "20 requests afterwards all answered 200" "$ok" -eq 20

tb_ctl show stats >"$TB_LOG_DIR/splice-badinput-stats.txt" 2>&1
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
