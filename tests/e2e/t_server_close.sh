#!/usr/bin/env bash
# t_server_close — a client's `Connection: close` kept off the pooled server connections
# (virtual.server_close, default "keep"; HAProxy's http-server-close; issue 12 item 6):
#  * two virtuals on the VIP bound to s1..s3: www (:80, server_close left at its default,
#    "keep") and pass (:8081, server_close = "pass": the head as the client wrote it, as
#    before);
#  * curl with `Connection: close`, three URLs on one command line (/files/1b, /files/100k,
#    /files/20m): each answered 200 with `Connection: close` (nginx's keep-alive, written
#    over), each on a new client connection (curl read the close), bodies byte-exact;
#  * a raw client: a close request with another pipelined behind it in the same send gets
#    one answer and then the connection ends (eof); the servers never log the second;
#  * wrk -H 'Connection: close' for 5 s on :8081 (pass), then on :80 (keep), same run, same
#    binary: on keep, no socket error, only 2xx, server_close_kept and server_close_marked
#    move with the requests, server_close_unmarked does not, the servers' connections from
#    Splicer are reused (server_conns_opened grows by less than a tenth of the requests;
#    on pass by about one per request); the servers' RetransSegs (TCPTimeouts,
#    TCPLossProbes) summed over s1..s3 are printed for both loads, and on keep stay below
#    one per thousand requests or a fifth of pass's per request;
#  * afterwards every server still has connections from Splicer; no panic; SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || tb_die "missing command 'wrk' (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix server-close)
cfg=$TB_DIR/server-close.toml
log=$TB_LOG_DIR/splicer-server-close.log
more_virtuals="[[virtual]]
name = \"pass\"
address = \"$TB_VIP:8081\"
bind = [\"s1\", \"s2\", \"s3\"]
server_close = \"pass\""
tb_write_splice_config "$cfg" "$prefix" 1 'server_idle_timeout = "60s"' "" "$more_virtuals" 4 64
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
vip=$TB_VIP
servers=(s1 s2 s3)

# retrans: "RetransSegs TCPTimeouts TCPLossProbes" summed over the servers' namespaces
# (as perf/e2e/compare.sh counts them).
retrans() {
    local ns
    for ns in "${TB_NS_SERVERS[@]}"; do
        tb_in "$ns" cat /proc/net/snmp /proc/net/netstat 2>/dev/null
    done | awk '
        $1 == "Tcp:" && $2 !~ /^[0-9]/ { for (i = 2; i <= NF; i++) h[i] = $i; next }
        $1 == "Tcp:" { for (i = 2; i <= NF; i++) if (h[i] == "RetransSegs") r += $i }
        $1 == "TcpExt:" && $2 !~ /^[0-9]/ { for (i = 2; i <= NF; i++) x[i] = $i; next }
        $1 == "TcpExt:" { for (i = 2; i <= NF; i++) { if (x[i] == "TCPTimeouts") t += $i; if (x[i] == "TCPLossProbes") p += $i } }
        END { print r + 0, t + 0, p + 0 }'
}
counter() { tb_fresh_stat "$log" "$1"; }

declare -A mark
marks() {
    local s
    for s in "${servers[@]}"; do mark[$s]=$(tb_access_lines "$s"); done
}
logged() {
    local s
    for s in "${servers[@]}"; do tb_access_since "$s" "${mark[$s]}"; done
}

# 1. curl, three URLs with `Connection: close`: a new connection each, bodies exact.
dir=$TB_DIR/server-close-bodies
mkdir -p "$dir"
w=$(tb_in "$cns" curl -sS -m 60 -H 'Connection: close' -D "$dir/heads" \
    -w '%{http_code} %{num_connects}\n' \
    -o "$dir/1b" "http://$vip/files/1b" -o "$dir/100k" "http://$vip/files/100k" \
    -o "$dir/20m" "http://$vip/files/20m" 2>&1)
# shellcheck disable=SC2001  # (a prefix on every line)
sed 's/^/# | /' <<<"$w"
tb_check_cmp "curl: 3 answers 200" "$(grep -c '^200 ' <<<"$w")" -eq 3
tb_check_cmp "curl: each on a new client connection (the answer said close)" \
    "$(awk '$2 == 1 { n++ } END { print n + 0 }' <<<"$w")" -eq 3
tb_check_cmp "curl: each answer says Connection: close (padded)" \
    "$(grep -caiE '^connection: close *'$'\r''?$' "$dir/heads")" -eq 3
tb_check_fails "curl: no answer says keep-alive" grep -qai 'keep-alive' "$dir/heads"
tb_check "curl: 1b byte-exact" tb_body_ok 1b "$dir/1b"
tb_check "curl: 100k byte-exact" tb_body_ok 100k "$dir/100k"
tb_check "curl: 20m byte-exact" tb_body_ok 20m "$dir/20m"
rm -rf "$dir"

# 2. A request pipelined behind a close one never reaches a server.
marks
out=$(tb_raw_http "$cns" "$vip" 80 5 \
    'GET /first HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: www\r\n\r\n')
tb_log "pipelined after close: $out"
tb_check "pipelined after close: one answer, 200" test "$(tb_raw_field "$out" statuses)" = 200
tb_check "pipelined after close: then the connection ends" test "$(tb_raw_field "$out" end)" = eof
sleep 0.3
tb_check "the servers logged /first" grep -q '"GET /first ' <<<"$(logged)"
tb_check_fails "the servers never logged /second" grep -q '"GET /second ' <<<"$(logged)"

# 3. wrk with `Connection: close`: pass, then keep.
# run_wrk NAME PORT: 5 s of close requests; sets REQS and RETRANS ("segs rto tlp" delta),
# OPENED (server_conns_opened delta), KEPT, MARKED, UNMARKED (server_close_* deltas).
run_wrk() {
    local name=$1 port=$2 f rc=0 errors non2xx r0 r1 o0 k0 m0 u0 a b c x y z
    f=$TB_LOG_DIR/wrk-server-close-$name.txt
    o0=$(counter server_conns_opened) k0=$(counter server_close_kept)
    m0=$(counter server_close_marked) u0=$(counter server_close_unmarked)
    r0=$(retrans)
    tb_in "$cns" timeout 40 wrk -t 2 -c 50 -d 5s --timeout 5s -H 'Connection: close' \
        "http://$vip:$port/" >"$f" 2>&1 || rc=$?
    sleep 1 # the last responses' ACKs, and a stats line after them
    r1=$(retrans)
    sed 's/^/# | /' "$f"
    tb_check_cmp "$name: wrk ran (exit code)" "$rc" -eq 0
    REQS=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
    errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$f" |
        awk '{ print $1 + $2 + $3 + $4 }')
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$f")
    tb_check_cmp "$name: requests completed" "${REQS:-0}" -gt 0
    tb_check_cmp "$name: no socket errors" "${errors:-0}" -eq 0
    tb_check_cmp "$name: no answer other than 2xx/3xx" "${non2xx:-0}" -eq 0
    read -r a b c <<<"$r0"
    read -r x y z <<<"$r1"
    RETRANS="$((x - a)) $((y - b)) $((z - c))"
    OPENED=$(($(counter server_conns_opened) - o0))
    KEPT=$(($(counter server_close_kept) - k0))
    MARKED=$(($(counter server_close_marked) - m0))
    UNMARKED=$(($(counter server_close_unmarked) - u0))
    tb_log "$name: ${REQS:-?} requests, $(awk '$1 == "Requests/sec:" { print $2 }' "$f") requests/s;" \
        "servers' retransmissions (segments, RTO, TLP): $RETRANS; server connections opened:" \
        "$OPENED; server_close kept $KEPT, marked $MARKED, unmarked $UNMARKED; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    # One JSON line per load (perf/results/2026-12-07-server-close.md keeps them).
    read -r x y z <<<"$RETRANS"
    printf '{"test":"t_server_close","time":"%s","server_close":"%s","requests":%s,"rps":%s,"server_retrans":%s,"server_rto":%s,"server_tlp":%s,"server_conns_opened":%s,"server_close_kept":%s,"server_close_marked":%s,"server_close_unmarked":%s,"loadavg":"%s"}\n' \
        "$(date -u +%FT%TZ)" "$name" "${REQS:-0}" "$(awk '$1 == "Requests/sec:" { print $2 }' "$f")" \
        "$x" "$y" "$z" "$OPENED" "$KEPT" "$MARKED" "$UNMARKED" "$(cut -d' ' -f1-3 /proc/loadavg)" \
        >>"$TB_LOG_DIR/server-close.jsonl"
}

run_wrk pass 8081
pass_reqs=${REQS:-0} pass_retrans=${RETRANS%% *} pass_opened=$OPENED
tb_check_cmp "pass: the head went as written (server_close_kept did not move)" "$KEPT" -eq 0
tb_check_cmp "pass: about one server connection per request (opened $pass_opened)" \
    "$((pass_opened * 2))" -ge "$pass_reqs"

before=0
for s in "${servers[@]}"; do before=$((before + $(tb_server_conns "$s"))); done
run_wrk keep 80
keep_reqs=${REQS:-0} keep_retrans=${RETRANS%% *}
tb_check_cmp "keep: server_close_kept moved with the requests ($KEPT, $keep_reqs requests)" \
    "$KEPT" -ge "$keep_reqs"
tb_check_cmp "keep: every response marked close ($MARKED)" "$MARKED" -eq "$KEPT"
tb_check_cmp "keep: none unmarked" "$UNMARKED" -eq 0
tb_check_cmp "keep: server connections reused (opened $OPENED for $keep_reqs requests)" \
    "$((OPENED * 10))" -lt "$keep_reqs"
# What is left on keep is the worker's own latency on a CPU it shares (with two segments
# or more outstanding a Linux sender probes after 2 x SRTT + 2 jiffies; keep-alive loads
# see it too, perf/results/2026-12-06-e2e-haproxy.md): below 1 per 1000 requests, or at
# most a fifth of pass's per request in the same run.
tb_check "keep: servers' retransmissions per request below 1/1000 or a fifth of pass's ($keep_retrans for $keep_reqs; pass: $pass_retrans for $pass_reqs)" \
    awk -v k="$keep_retrans" -v kr="$keep_reqs" -v p="$pass_retrans" -v pr="$pass_reqs" \
    'BEGIN { exit !(k * 1000 < kr || (pr > 0 && 5 * k / kr <= p / pr)) }'
after=0
for s in "${servers[@]}"; do after=$((after + $(tb_server_conns "$s"))); done
tb_log "connections from Splicer to the servers: $before before the keep load, $after after"
tb_check_cmp "the pooled connections are still open after the load" "$after" -ge "$before"

tb_ctl show stats >"$TB_LOG_DIR/server-close-stats.txt" 2>&1
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
