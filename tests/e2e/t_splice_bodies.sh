#!/usr/bin/env bash
# t_splice_bodies — through the VIP, spliced onto the three nginx servers, every byte
# arrives intact whatever the HTTP framing:
#  * /files/0b, 1b, 100k and 20m (sha256 known) over HTTP/1.1 keep-alive (all four in one
#    curl: one client connection), HTTP/1.1 with `Connection: close` (one connection each),
#    HTTP/1.0 (one each) and HTTP/1.0 with `Connection: keep-alive` (one for all);
#  * responses without a body keep the connection usable: HEAD of the 20 MiB file, then a
#    GET on the same connection; a 304 (If-Modified-Since), then a GET;
#  * request bodies: POST of 100 KiB (nginx stores it), PUT of 100 KiB without
#    `Expect`, PUT of 20 MiB with `Expect: 100-continue` (curl's default above 1 MiB), a
#    chunked PUT of 100 KiB; each stored file and each GET of it back through the VIP has
#    the sha256 of what was sent; the POST is followed by a GET on the same connection;
#  * two pipelined requests in one segment get both their answers, in order;
#  * no answer to a GET, HEAD or POST waits for a retransmission timeout: each begins
#    within 900 ms (they take about 1 ms; Splicer's first RTO is 1 s);
#  * the servers see every request coming from Splicer's inside address (spliced onto its
#    own server connections, not forwarded with the client's address);
#  * no bad checksum, no panic; SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix splice-bodies)
cfg=$TB_DIR/splice-bodies.toml
log=$TB_LOG_DIR/splicer-splice-bodies.log
tb_write_splice_config "$cfg" "$prefix"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT      # the client's namespace
vip=$TB_VIP            # where it sends its requests
base=http://$vip
from=$TB_IN_IP         # the address the servers must see the requests coming from
out=$TB_DIR/out
mkdir -p "$out"
bodies=(0b 1b 100k 20m)
declare -A mark
for s in s1 s2 s3; do
    mark[$s]=$(tb_access_lines "$s")
done

# ccurl ARGS... : curl from the client; -w prints "code connects size first-byte-seconds"
# per transfer (after --next, give -w "$fmt" again).
fmt='%{http_code} %{num_connects} %{size_download} %{time_starttransfer}\n'
ccurl() {
    tb_in "$cns" curl -sS --max-time 60 -w "$fmt" "$@"
}

# prompt DESC W : every answer in ccurl's lines W began within 900 ms. Here answers take
# about a millisecond; a second or more means a lost segment was recovered only by a
# retransmission timeout (Splicer's first RTO is 1 s).
prompt() {
    local ms
    ms=$(awk '{ t = $4 * 1000; if (t > m) m = t } END { printf "%d\n", m }' <<<"$2")
    tb_check_cmp "$1: every answer began within 900 ms (slowest: $ms ms)" "$ms" -lt 900
}

# Connections curl opened, from its -w lines on stdin.
connects() { awk '{ s += $2 } END { print s + 0 }'; }

# mode DESC CONNECTIONS CURL_ARGS...: all four bodies in one curl invocation.
mode() {
    local desc=$1 want=$2 w n args=()
    shift 2
    for n in "${bodies[@]}"; do
        args+=("$base/files/$n" -o "$out/$n")
    done
    rm -f "$out"/*
    w=$(ccurl "$@" "${args[@]}")
    tb_check_cmp "$desc: 4 answers 200" "$(grep -c '^200 ' <<<"$w")" -eq 4
    tb_check_cmp "$desc: client connections" "$(connects <<<"$w")" -eq "$want"
    prompt "$desc" "$w"
    for n in "${bodies[@]}"; do
        tb_check "$desc: /files/$n intact" tb_body_ok "$n" "$out/$n"
    done
}

# The first request also waits for Splicer to resolve the servers' MAC addresses: not timed.
w=$(ccurl -o /dev/null "$base/")
tb_check "a first request is answered 200 ($w)" grep -q '^200 ' <<<"$w"

mode "HTTP/1.1 keep-alive" 1
mode "HTTP/1.1 Connection: close" 4 -H 'Connection: close'
mode "HTTP/1.0" 4 -0
mode "HTTP/1.0 keep-alive" 1 -0 -H 'Connection: keep-alive'

# HEAD, then a GET on the same connection: the HEAD answer's Content-Length announces 20 MiB
# that never come.
rm -f "$out"/*
w=$(ccurl -I -o /dev/null -D "$out/head" "$base/files/20m" \
    --next -sS -w "$fmt" -o "$out/100k" "$base/files/100k")
tb_check "HEAD: 200 with Content-Length 20971520" grep -qi '^content-length: 20971520' "$out/head"
tb_check_cmp "HEAD then GET: both answered 200" "$(grep -c '^200 ' <<<"$w")" -eq 2
tb_check_cmp "HEAD then GET: one client connection" "$(connects <<<"$w")" -eq 1
tb_check "HEAD then GET: /files/100k intact" tb_body_ok 100k "$out/100k"
prompt "HEAD then GET" "$w"

# 304 Not Modified (no body), then a GET on the same connection.
w=$(ccurl -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT' -o /dev/null "$base/files/100k" \
    --next -sS -w "$fmt" -o "$out/1b" "$base/files/1b")
tb_check "If-Modified-Since then GET: 304 then 200" test "$(cut -d' ' -f1 <<<"$w" | tr '\n' ' ')" = "304 200 "
tb_check_cmp "304 then GET: one client connection" "$(connects <<<"$w")" -eq 1
tb_check "304 then GET: /files/1b intact" tb_body_ok 1b "$out/1b"
prompt "304 then GET" "$w"

# Request bodies. nginx stores PUT bodies (and POST bodies, through a PUT to itself) in
# $TB_DIR/dav, which all three servers share: a GET from any server returns them.
dav=$TB_DIR/dav
rm -f "$out"/*
w=$(ccurl --data-binary "@$TB_WWW/files/100k" -o /dev/null "$base/post?name=p100k" \
    --next -sS -w "$fmt" -o "$out/p100k" "$base/dav/post-p100k")
tb_check "POST 100 KiB then GET it: 201 then 200" test "$(cut -d' ' -f1 <<<"$w" | tr '\n' ' ')" = "201 200 "
tb_check_cmp "POST then GET: one client connection" "$(connects <<<"$w")" -eq 1
tb_check "POST 100 KiB: stored intact" tb_body_ok 100k "$dav/post-p100k"
tb_check "POST 100 KiB: read back intact" tb_body_ok 100k "$out/p100k"
prompt "POST then GET" "$w"

w=$(ccurl -H 'Expect:' -T "$TB_WWW/files/100k" -o /dev/null "$base/dav/put100k")
tb_check "PUT 100 KiB (no Expect): 201" grep -q '^201 ' <<<"$w"
w=$(ccurl -T "$TB_WWW/files/20m" -o /dev/null "$base/dav/put20m")
tb_check "PUT 20 MiB (Expect: 100-continue): 201" grep -q '^201 ' <<<"$w"
w=$(tb_in "$cns" curl -sS --max-time 60 -w '%{http_code}\n' -H 'Transfer-Encoding: chunked' -T - \
    -o /dev/null "$base/dav/chunked100k" <"$TB_WWW/files/100k")
tb_check "chunked PUT 100 KiB: 201" grep -q '^201' <<<"$w"
tb_check "PUT 100 KiB: stored intact" tb_body_ok 100k "$dav/put100k"
tb_check "PUT 20 MiB: stored intact" tb_body_ok 20m "$dav/put20m"
tb_check "chunked PUT 100 KiB: stored intact" tb_body_ok 100k "$dav/chunked100k"
w=$(ccurl "$base/dav/put100k" -o "$out/put100k" "$base/dav/put20m" -o "$out/put20m" \
    "$base/dav/chunked100k" -o "$out/chunked100k")
tb_check_cmp "GET the three uploads back: 200 each" "$(grep -c '^200 ' <<<"$w")" -eq 3
tb_check "read back intact: PUT 100 KiB" tb_body_ok 100k "$out/put100k"
tb_check "read back intact: PUT 20 MiB" tb_body_ok 20m "$out/put20m"
tb_check "read back intact: chunked PUT 100 KiB" tb_body_ok 100k "$out/chunked100k"
prompt "GET the uploads back" "$w"

# Two pipelined requests in one write: both answers, in order, then the close the second
# asked for.
line=$(tb_raw_http "$cns" "$vip" 80 5 \
    'GET /files/1b HTTP/1.1\r\nHost: www\r\n\r\nGET /files/100k HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n')
tb_check "pipelined GET + GET: 200, 200 ($line)" test "$(tb_raw_field "$line" statuses)" = 200,200
tb_check "pipelined: the connection closes after the second ($line)" test "$(tb_raw_field "$line" end)" = eof
tb_check_cmp "pipelined: every byte of both answers arrived" "$(tb_raw_field "$line" bytes)" -gt 102401

# Who the servers saw: only Splicer's inside address, never the client's.
all=$(for s in s1 s2 s3; do tb_access_since "$s" "${mark[$s]}"; done)
tb_check_cmp "the servers logged the requests" "$(wc -l <<<"$all")" -ge 30
# shellcheck disable=SC2016  # (awk's own variables)
tb_check "every request reached a server from $from" awk -v from="$from" \
    '{ split($3, a, ":"); if (a[1] != from) { print "from " a[1] ": " $0; bad = 1 } } END { exit bad }' <<<"$all"

tb_ctl show stats >"$TB_LOG_DIR/splice-bodies-stats.txt" 2>&1
tb_wait_stats_line "$log" 5
tb_check_cmp "no bad TCP checksum" "$(stat_of "$log" drop_bad_tcp_checksum)" -eq 0
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
