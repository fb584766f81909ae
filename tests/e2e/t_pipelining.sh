#!/usr/bin/env bash
# t_pipelining — HTTP/1.1 pipelining clients through Splicer (rules as t_splice_rules:
# "/img/" → s2, Host api.test → s3, the rest round robin):
#  * pipeclient.py writes 100 requests in ONE send(), then 100 more 5 ms apart, on one
#    connection, alternating paths of different servers (GET, HEAD, 304, 1 byte, 100 KiB,
#    and every 50th a 2 s /slow/ download): every response arrives, in order, for its own
#    request (the X-Uri header), from the server the rules demand, byte for byte;
#  * a small request written in the same send() as a 20 MiB download, and 5 ms after it,
#    is answered right after the download (not seconds later);
#  * h2load --h1 -m 16 -c 10: no failed, errored or timed-out request, and a rate not
#    below 0.8 x that of -m 1 in the same run; wrk with a pipeline of 8 requests: no
#    socket error, no non-2xx/3xx;
#  * httperf, one connection, a burst of 10 pipelined 100 KiB requests: all answered,
#    no error, in at most 5 x (+ 0.25 s) the time straight from s1 to s2 (its 16 KiB
#    receive buffer: held responses go out within the client's window, else what it
#    dropped came again only after the servers' backed-off RTO);
#  * `show flows` shows the three requests in flight while they run;
#  * pipelined_dispatched and client_data_pipelined move; no client connection is left.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in h2load wrk httperf; do
    command -v "$c" >/dev/null || tb_die "missing command '$c' (run scripts/install-deps.sh)"
done

tb_setup

prefix=$(tb_unique_prefix pipelining)
cfg=$TB_DIR/pipelining.toml
log=$TB_LOG_DIR/splicer-pipelining.log
tb_write_splice_config "$cfg" "$prefix" 1 "" "max_held = \"256KiB\"" "$TB_RULES_IMG_API"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
vip=$TB_VIP

# 1. 100 requests in one send, 100 trickled, checked in order and byte for byte.
out=$(tb_in "$cns" timeout 120 python3 "$TB_REPO/tests/e2e/pipeclient.py" "$vip" 80 \
    --burst 100 --trickle 100 --gap 0.005 --slow-every 50 2>&1)
tb_log "pipeclient: $out"
tb_check "200 pipelined requests answered in order, byte for byte ($out)" \
    test "$(tb_raw_field "$out" ok)" = 200
for s in s1 s2 s3; do
    tb_check "... $s answered some of them" grep -q "$s:" <<<"$(tb_raw_field "$out" servers)"
done
out=$(tb_in "$cns" timeout 60 python3 "$TB_REPO/tests/e2e/pipeclient.py" "$vip" 80 \
    --burst 300 --trickle 0 2>&1)
tb_log "pipeclient, 300 in one send (more than the head buffer holds): $out"
tb_check "300 requests in one send all answered ($out)" test "$(tb_raw_field "$out" ok)" = 300

# 2. A small request behind a 20 MiB response: in the same send, and 5 ms later.
big='GET /files/20m HTTP/1.1\r\nHost: www\r\n\r\n'
small='GET /files/1b HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n'
alone='GET /files/20m HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n'
timed() { # timed PIECE... : "SECONDS LINE" for one raw connection
    local t0 t1 line
    t0=$(date +%s.%N)
    line=$(tb_raw_http "$cns" "$vip" 80 30 "$@")
    t1=$(date +%s.%N)
    printf '%s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" "$line"
}
r_alone=$(timed "$alone")
r_same=$(timed "$big$small")
r_later=$(timed "$big" +0.005 "$small")
tb_log "20 MiB alone: $r_alone; + 1 byte in the same send: $r_same; 5 ms later: $r_later"
want=$((20971520 + 1))
for r in "$r_same" "$r_later"; do
    tb_check "both answered, then Splicer closed ($r)" \
        test "$(tb_raw_field "$r" statuses)/$(tb_raw_field "$r" end)" = "200,200/eof"
    tb_check_cmp "... with both bodies ($r)" "$(tb_raw_field "$r" bytes)" -gt "$want"
    tb_check "... within 2 s of the download alone ($r vs ${r_alone%% *})" \
        awk -v a="${r_alone%% *}" -v b="${r%% *}" 'BEGIN { exit !(b <= a + 2) }'
done

# Three slow requests (2 s each, /slow/100k) in one send, spread over s1..s3 by round
# robin: sent to the three servers at once, they take about as long as one (the
# virtual's max_held, 256 KiB, holds a whole 100 KiB response: with the default 64 KiB
# a later server would wait for its turn after 64 KiB).
slow='GET /slow/100k?p=1 HTTP/1.1\r\nHost: www\r\n\r\n'
slow_last='GET /slow/100k?p=3 HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n'
r_one=$(timed "$slow_last")
r_three=$(timed "$slow${slow/p=1/p=2}$slow_last")
tb_log "one slow request: $r_one; three pipelined: $r_three"
# The splicer directory while they run: three requests in flight on one connection.
tb_raw_http "$cns" "$vip" 80 30 "$slow${slow/p=1/p=2}$slow_last" >/dev/null &
raw=$!
sleep 0.6
dir=$(tb_ctl show flows)
wait "$raw"
tb_log "show flows meanwhile: $(tr '\n' '|' <<<"$dir")"
# shellcheck disable=SC2016 # awk's own fields
tb_check "show flows: 3 requests in flight on the client connection" \
    awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "in_flight") c = i } NR > 1 && $c == 3 { f = 1 } END { exit !f }' <<<"$dir"
tb_check "three slow requests answered ($r_three)" \
    test "$(tb_raw_field "$r_three" statuses)/$(tb_raw_field "$r_three" end)" = "200,200,200/eof"
tb_check_cmp "... all three bodies ($r_three)" "$(tb_raw_field "$r_three" bytes)" -gt $((3 * 102400))
tb_check "... in about the time of one: at most 1.5 x ($r_three vs ${r_one%% *})" \
    awk -v a="${r_one%% *}" -v b="${r_three%% *}" 'BEGIN { exit !(b <= 1.5 * a) }'

# 3. Load with pipelining clients.
h2() { # h2 DEPTH : h2load's summary lines
    tb_in "$cns" timeout 120 h2load --h1 -m "$1" -c 10 -n 20000 "http://$vip/" 2>&1 |
        grep -E '^(finished in|requests:|status codes:)'
}
m1=$(h2 1)
m16=$(h2 16)
tb_log "h2load -m 1: $(tr '\n' ' ' <<<"$m1")"
tb_log "h2load -m 16: $(tr '\n' ' ' <<<"$m16")"
rate() { sed -nE 's/.* ([0-9.]+) req\/s.*/\1/p' <<<"$1" | head -1; }
for m in "$m1" "$m16"; do
    tb_check "h2load: 20000 succeeded, none failed ($(grep requests: <<<"$m"))" \
        grep -q 'requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout' <<<"$m"
done
tb_check "h2load -m 16 rate >= 0.8 x the -m 1 rate ($(rate "$m16") vs $(rate "$m1") req/s)" \
    awk -v a="$(rate "$m1")" -v b="$(rate "$m16")" 'BEGIN { exit !(b >= 0.8 * a) }'

lua=$TB_DIR/pipeline.lua
cat >"$lua" <<'EOF'
-- wrk: 8 requests per write, alternating servers
init = function(args)
    local r = {}
    for i = 1, 8 do
        if i % 2 == 0 then
            r[i] = wrk.format("GET", "/img/" .. i)
        else
            r[i] = wrk.format("GET", "/files/1b")
        end
    end
    req = table.concat(r)
end
request = function()
    return req
end
EOF
w=$(tb_in "$cns" timeout 60 wrk -t 1 -c 10 -d 5s --timeout 5s -s "$lua" "http://$vip/" 2>&1)
tb_log "wrk, pipeline of 8: $(grep -E 'Requests/sec|requests in|Socket errors|Non-2xx' <<<"$w" | tr '\n' ' ')"
# shellcheck disable=SC2317 # called by tb_check
absent() { ! grep -q "$1" <<<"$2"; } # absent PATTERN TEXT
tb_check "wrk pipeline: no socket error" absent "Socket errors" "$w"
tb_check "wrk pipeline: no non-2xx/3xx" absent "Non-2xx" "$w"
tb_check_cmp "wrk pipeline: requests done" "$(sed -nE 's/^ *([0-9]+) requests in.*/\1/p' <<<"$w")" -gt 1000

# httperf: a burst of 10 pipelined 100 KiB requests on one connection, through Splicer
# and straight from s1 to s2 (the same nginx), in the same run.
hp() { # hp NS SERVER : httperf's summary lines
    tb_in "$1" timeout 60 httperf --server "$2" --port 80 --timeout 5 --num-conns 1 \
        --num-calls 10 --burst-length 10 --uri /files/100k 2>&1 |
        grep -E '^(Total|Errors: total)'
}
hp_via=$(hp "$cns" "$vip")
hp_direct=$(hp "${TB_NS_SERVERS[0]}" "${TB_SERVER_IPS[1]}")
tb_log "httperf 10 x 100 KiB pipelined via Splicer: $(tr '\n' ' ' <<<"$hp_via")"
tb_log "httperf 10 x 100 KiB pipelined direct s1 -> s2: $(tr '\n' ' ' <<<"$hp_direct")"
dur() { sed -nE 's/.*test-duration ([0-9.]+) s.*/\1/p' <<<"$1"; }
tb_check "httperf: 10 requests, 10 replies ($(head -1 <<<"$hp_via"))" \
    grep -q 'requests 10 replies 10 ' <<<"$hp_via"
tb_check "... no error ($(tail -1 <<<"$hp_via"))" grep -q 'Errors: total 0 ' <<<"$hp_via"
tb_check "... within 5 x the direct time + 0.25 s ($(dur "$hp_via") s vs $(dur "$hp_direct") s)" \
    awk -v a="$(dur "$hp_direct")" -v b="$(dur "$hp_via")" 'BEGIN { exit !(a > 0 && b <= 5 * a + 0.25) }'

# 4. Counters; nothing left over.
tb_check_cmp "pipelined_dispatched moved" "$(tb_fresh_stat "$log" pipelined_dispatched)" -gt 200
tb_check_cmp "client_data_pipelined moved" "$(stat_of "$log" client_data_pipelined)" -gt 0
sleep 2
flows=$(tb_ctl show flows)
tb_check_cmp "no client connection left (show flows: $(tail -n +2 <<<"$flows" | head -5))" \
    "$(tail -n +2 <<<"$flows" | grep -c .)" -eq 0
tb_log "counters: $(grep 'stats total' "$log" | tail -1 | tr ' ' '\n' |
    grep -E '^(pipelined_requests|client_data_pipelined|client_data_deferred|drop_tcp_out_of_order|tcp_retransmits)=' | tr '\n' ' ')"

tb_stop_splicer
tb_finish
