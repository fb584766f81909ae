#!/usr/bin/env bash
# t_early_response — responses that end before their request body (issue: one POST
# answered early by nginx wedged a pool). Every real has maxconns = 1, so a server
# connection returned to the pool with a body still on its way would stall or poison the
# next client's request. Each case sends its body in pieces, the second piece after the
# server has answered, and the piece after the answer holds a complete request line
# ("GET /smuggled-N") that must never reach a server:
#  * POST to a static file: nginx answers 405 at once;
#  * POST over client_max_body_size: 413 from the announced length alone;
#  * PUT with `Expect: 100-continue` answered 417 (no 100 Continue, no body read);
#  * PUT whose body stalls: nginx gives up after client_body_timeout (1 s) and closes;
#  * a client that closes (FIN) halfway through its body.
# Each client gets the server's answer (or Splicer's 400 for the truncated body) and then
# Splicer's FIN; `early_responses` counts the early answers. Then 50 requests from other
# clients all succeed, and the servers' access logs hold exactly the requests the
# clients sent: the five above and the 50 GETs, never a request parsed out of a body.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix early-response)
cfg=$TB_DIR/early-response.toml
log=$TB_LOG_DIR/splicer-early-response.log
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "" 1 1
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

w=$(tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$TB_VIP/")
tb_check_cmp "a first request is spliced ($w)" "$w" -eq 200

declare -A mark
for s in s1 s2 s3; do
    mark[$s]=$(tb_access_lines "$s")
done

# early CASE DESC WANT HEAD FIRST_BODY_PIECE REST [MORE...]: sends HEAD and the first
# piece, waits 1.5 s (the server answers meanwhile), then the rest; checks the status
# and that Splicer closed the connection.
early() {
    local n=$1 desc=$2 want=$3 head=$4 first=$5 rest=$6 line s end
    shift 6
    line=$(tb_raw_http "$TB_NS_CLIENT" "$TB_VIP" 80 8 "$head$first" +1.5 "$rest" "$@")
    s=$(tb_raw_field "$line" statuses) || s=000
    end=$(tb_raw_field "$line" end) || end=none
    tb_check "case $n, $desc: the client gets $want ($line)" grep -Eq "^($want)\$" <<<"$s"
    tb_check "case $n, $desc: then Splicer closes the connection (end=$end)" \
        test "$end" = eof
}

# A 60-byte body whose last 47 bytes are a request of their own.
smuggle() { printf 'GET /smuggled-%s HTTP/1.1\\r\\nHost: www\\r\\n\\r\\n' "$1"; }
before=$(stat_of "$log" early_responses)

early 1 "POST to a static file (405)" 405 \
    'POST /files/100k HTTP/1.1\r\nHost: www\r\nContent-Length: 60\r\n\r\n' \
    'xxxxxxxxxxxxx' "$(smuggle 1)"
early 2 "POST over client_max_body_size (413)" 413 \
    'POST /limit/100k HTTP/1.1\r\nHost: www\r\nContent-Length: 60\r\n\r\n' \
    'xxxxxxxxxxxxx' "$(smuggle 2)"
early 3 "PUT with Expect: 100-continue answered 417" 417 \
    'PUT /e417/x HTTP/1.1\r\nHost: www\r\nContent-Length: 60\r\nExpect: 100-continue\r\n\r\n' \
    '' "xxxxxxxxxxxxx$(smuggle 3)"
# nginx answers a body timeout with 408 and closes (or closes without an answer: then
# Splicer answers 502 itself).
early 4 "PUT whose body stalls past client_body_timeout" '408|502' \
    'PUT /slowbody/x HTTP/1.1\r\nHost: www\r\nContent-Length: 60\r\n\r\n' \
    'xxxxxxxxxxxxx' +1.5 "$(smuggle 4)"
tb_check "early_responses counts the early answers" \
    tb_wait_stat_gt "$log" early_responses "$((before + 2))" 5

# A client that half-closes in the middle of its body: the request can never complete.
before=$(stat_of "$log" client_body_truncated)
line=$(tb_in "$TB_NS_CLIENT" timeout 20 python3 - "$TB_VIP" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=5)
s.sendall(b"PUT /dav/truncated HTTP/1.1\r\nHost: www\r\nContent-Length: 60\r\n\r\nxxxxxxxxxx")
time.sleep(0.5)
s.shutdown(socket.SHUT_WR)
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except OSError as e:
    print("error", e)
print(data.split(b"\r\n", 1)[0].decode("latin-1"))
PY
)
tb_check "case 5, FIN halfway through the body: 400 from Splicer ($line)" \
    grep -q '^HTTP/1.1 400' <<<"$line"
tb_check "case 5: client_body_truncated moves" \
    tb_wait_stat_gt "$log" client_body_truncated "$before" 5
tb_check "case 5: nothing stored" test ! -e "$TB_DIR/dav/truncated"

ok=0
for i in $(seq 1 50); do
    w=$(tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$TB_VIP/after-$i")
    [[ $w == 200 ]] && ok=$((ok + 1))
done
tb_check_cmp "50 requests from other clients afterwards, maxconns 1: all 200" "$ok" -eq 50

seen=$(for s in s1 s2 s3; do tb_access_since "$s" "${mark[$s]}"; done)
printf '%s\n' "$seen" >"$TB_LOG_DIR/early-response-access.txt"
tb_check_fails "no server ever saw a request smuggled in a body" \
    grep -q smuggled "$TB_LOG_DIR/early-response-access.txt"
# Exactly the clients' requests: 4 early cases (case 5 may or may not have reached a
# server before its FIN: its head did) and the 50 GETs.
requests=$(awk -F'"' '{ split($2, r, " "); print r[1], r[2] }' \
    "$TB_LOG_DIR/early-response-access.txt" | sort | uniq -c | awk '{ print $1, $2, $3 }')
for want in "1 POST /files/100k" "1 POST /limit/100k" "1 PUT /e417/x" "1 PUT /slowbody/x"; do
    tb_check "the servers logged '$want' once" grep -qx "$want" <<<"$requests"
done
gets=$(grep -c '"GET /after-' "$TB_LOG_DIR/early-response-access.txt")
tb_check_cmp "the servers logged the 50 GETs" "$gets" -eq 50
others=$(grep -Ev '"(GET /after-[0-9]+|POST /files/100k|POST /limit/100k|PUT /e417/x|PUT /slowbody/x|PUT /dav/truncated) ' \
    "$TB_LOG_DIR/early-response-access.txt" | grep -c . || true)
tb_check_cmp "and nothing else" "$others" -eq 0
[[ $others -ne 0 ]] && sed 's/^/    | /' "$TB_LOG_DIR/early-response-access.txt" | head -n 20

tb_ctl show stats >"$TB_LOG_DIR/early-response-stats.txt" 2>&1
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
