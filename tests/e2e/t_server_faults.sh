#!/usr/bin/env bash
# t_server_faults — servers that fail mid-response, through Splicer (one worker):
#  * nginx of s1 SIGKILLed (by PID) during a 20 MiB download from it (/slow/20m, 50 kB/s,
#    so it is mid-transfer) while downloads from s2 and s3 run: the victim's curl fails
#    detectably (exit code != 0 or a short body), every other download is intact
#    (sha256); nginx s1 is started again, its pool on Splicer refills to `pool` (`ctl
#    --json show pools`), and new requests to it succeed with intact bodies;
#  * a server that resets mid-response (a small python3 server f1 on 198.19.0.14, in the
#    namespace of s3: headers with Content-Length 1000000, 50,000 bytes, then RST through
#    SO_LINGER 0): the client's curl fails with a short body, `server_resets` moves, and
#    10 later requests to f1 succeed;
#  * f1 truncating a Content-Length body (Content-Length 100000, 50,000 bytes, FIN): the
#    client detects it (curl exit 18, or 56 when Splicer resets it: `server_truncated`
#    documents that the client is reset), `server_truncated` moves, and with f1 at
#    `maxconns = 1` 50 later requests to it all succeed;
#  * no panic; SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FAULT_IP=198.19.0.14

tb_setup

# The fault server: keep-alive HTTP/1.1 (Splicer pools its connections), /fault/ok answers
# "ok\n"; /fault/rst and /fault/trunc fail as above.
cat >"$TB_DIR/faultserver.py" <<'PY'
import http.server, socket, socketserver, struct, sys, time

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.path, fmt % args))
        sys.stdout.flush()

    def head(self, length):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):
        if self.path == "/fault/rst":
            self.head(1000000)
            self.wfile.write(b"r" * 50000)
            self.wfile.flush()
            time.sleep(0.3)
            # RST instead of FIN: close with a zero linger time.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif self.path == "/fault/trunc":
            self.head(100000)
            self.wfile.write(b"t" * 50000)
            self.wfile.flush()
            time.sleep(0.3)
            self.connection.shutdown(socket.SHUT_WR)
            self.close_connection = True
        else:
            body = b"ok\n"
            self.head(len(body))
            self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

S((sys.argv[1], 80), H).serve_forever()
PY
tb_extra_server "the fault server" "$FAULT_IP" "http://$FAULT_IP/fault/ok" \
    "$TB_LOG_DIR/faultserver.log" python3 "$TB_DIR/faultserver.py" "$FAULT_IP"

prefix=$(tb_unique_prefix server-faults)
cfg=$TB_DIR/server-faults.toml
log=$TB_LOG_DIR/splicer-server-faults.log
TB_CTL_SOCK=$TB_DIR/run/server-faults.sock
reals="$(tb_reals 2 64)
[[real]]
name = \"f1\"
address = \"$FAULT_IP:80\"
pool = 1
maxconns = 1
"
rules='[[virtual.rule]]
name = "victim"
host = "victim.test"
bind = ["s1"]

[[virtual.rule]]
name = "others"
host = "others.test"
bind = ["s2", "s3"]

[[virtual.rule]]
name = "fault"
path_prefix = "/fault/"
bind = ["f1"]'
tb_write_config "$cfg" "$prefix" 1 "control_socket = \"$TB_CTL_SOCK\"" \
    'mode = "splice"
bind = ["s1", "s2", "s3"]' "$reals" "$rules"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
dl=$TB_DIR/dl  # (not "out": tb_check has a local of that name)
mkdir -p "$dl"

# shellcheck disable=SC2317  # (called through tb_check)
# pool_level REAL KEY: KEY (free, busy, conns...) of REAL's pool, summed over workers.
pool_level() {
    tb_ctl --json show pools "$1" | python3 -c '
import json, sys
def find(v):
    if isinstance(v, dict):
        if v.get("name") == sys.argv[1] and "total" in v:
            return v["total"][sys.argv[2]]
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            r = find(x)
            if r is not None:
                return r
    return None
print(find(json.load(sys.stdin)))' "$1" "$2"
}

# shellcheck disable=SC2317  # (called through tb_check)
# wait_pool REAL N SECONDS: until REAL's pool has N free connections.
wait_pool() {
    local i v
    for ((i = 0; i < $3 * 5; i++)); do
        v=$(pool_level "$1" free 2>/dev/null)
        [[ $v =~ ^[0-9]+$ ]] && ((v >= $2)) && return 0
        sleep 0.2
    done
    echo "pool of $1 has free=$(pool_level "$1" free 2>&1) (want $2) after $3 s"
    return 1
}

tb_check "s1's pool is open before the fault" wait_pool s1 2 10

# ---- 1. nginx SIGKILLed mid-response
tb_log "victim: GET /slow/20m from s1 at 50 kB/s"
tb_in "$cns" curl -sS --max-time 60 -H 'Host: victim.test' -o "$dl/victim" \
    -w '%{http_code} %{size_download}\n' "http://$TB_VIP/slow/20m" >"$dl/victim.w" 2>"$dl/victim.err" &
victim=$!
others=()
for i in 1 2 3 4; do
    tb_in "$cns" curl -sS --max-time 60 -H 'Host: others.test' -o "$dl/slow$i" "http://$TB_VIP/slow/100k" &
    others+=($!)
done
for i in 1 2; do
    tb_in "$cns" curl -sS --max-time 60 -H 'Host: others.test' -o "$dl/big$i" "http://$TB_VIP/files/20m" &
    others+=($!)
done
sleep 1.5
got=$(stat -c %s "$dl/victim" 2>/dev/null || echo 0)
tb_check_cmp "the victim download is under way (bytes so far)" "$got" -gt 0
nginx_pid=${TB_NGINX_PIDS[s1]}
connect_failures=$(stat_of "$log" server_connect_failures)
tb_log "SIGKILL nginx s1 (PID $nginx_pid) with $got bytes of the victim's 20 MiB delivered"
kill -KILL "$nginx_pid"
victim_rc=0
wait "$victim" || victim_rc=$?
others_rc=0
for p in "${others[@]}"; do
    wait "$p" || others_rc=$?
done
victim_size=$(stat -c %s "$dl/victim" 2>/dev/null || echo 0)
tb_log "victim: curl exit $victim_rc, $victim_size bytes ($(tr '\n' ' ' <"$dl/victim.err" 2>/dev/null))"
# shellcheck disable=SC2317  # (called through tb_check)
victim_failed() { [[ $victim_rc -ne 0 || $victim_size -ne ${TB_SIZE[20m]} ]]; }
tb_check "the victim's client detects the failure (curl exit $victim_rc, $victim_size of ${TB_SIZE[20m]} bytes)" victim_failed
tb_check_cmp "the other downloads' curls succeeded" "$others_rc" -eq 0
tb_check "the other downloads are intact: 4 x /slow/100k" tb_body_ok 100k "$dl"/slow{1..4}
tb_check "the other downloads are intact: 2 x /files/20m" tb_body_ok 20m "$dl/big1" "$dl/big2"

# While nginx is down, s1's pooled connections are gone and new ones are refused.
# shellcheck disable=SC2317  # (called through tb_check)
pool_empty() {
    local i
    for ((i = 0; i < 25; i++)); do
        [[ $(pool_level s1 free 2>/dev/null) == 0 ]] && return 0
        sleep 0.2
    done
    echo "s1's pool still has free=$(pool_level s1 free 2>&1)"
    return 1
}
tb_check "s1's pool empties while its nginx is down" pool_empty
tb_check "Splicer's reconnections to s1 fail while it is down" \
    tb_wait_stat_gt "$log" server_connect_failures "$connect_failures" 10

tb_log "starting nginx s1 again"
tb__start_nginx 0
tb__wait_servers
tb_check "s1's pool refills when nginx returns" wait_pool s1 2 15
# shellcheck disable=SC2317  # (called through tb_check)
after_ok() {
    local i
    for i in $(seq 1 10); do
        tb_in "$cns" curl -sS --max-time 10 -H 'Host: victim.test' -o "$dl/after$i" "http://$TB_VIP/files/100k" ||
            return 1
    done
    tb_body_ok 100k "$dl"/after{1..10}
}
tb_check "10 new requests to s1 succeed, bodies intact" after_ok

# ---- 2. server RST mid-response
resets=$(tb_fresh_stat "$log" server_resets)
rst_rc=0
tb_in "$cns" curl -sS --max-time 10 -o "$dl/rst" "http://$TB_VIP/fault/rst" 2>"$dl/rst.err" || rst_rc=$?
rst_size=$(stat -c %s "$dl/rst" 2>/dev/null || echo 0)
tb_log "RST mid-response: curl exit $rst_rc, $rst_size of 1000000 bytes ($(tr '\n' ' ' <"$dl/rst.err"))"
tb_check_cmp "RST mid-response: the client's curl fails" "$rst_rc" -ne 0
tb_check_cmp "RST mid-response: the client got a short body" "$rst_size" -lt 1000000
tb_check "RST mid-response: server_resets moves" tb_wait_stat_gt "$log" server_resets "$resets" 5
# shellcheck disable=SC2317  # (called through tb_check)
ok_n() {
    local n=$1 i body
    for i in $(seq 1 "$n"); do
        body=$(tb_in "$cns" curl -sS --max-time 5 "http://$TB_VIP/fault/ok") || { echo "request $i failed"; return 1; }
        [[ $body == ok ]] || { echo "request $i got '$body'"; return 1; }
    done
}
tb_check "10 later requests to f1 succeed" ok_n 10

# ---- 3. a server truncating a Content-Length body
truncs=$(tb_fresh_stat "$log" server_truncated)
trunc_rc=0
tb_in "$cns" curl -sS --max-time 10 -o "$dl/trunc" "http://$TB_VIP/fault/trunc" 2>"$dl/trunc.err" || trunc_rc=$?
trunc_size=$(stat -c %s "$dl/trunc" 2>/dev/null || echo 0)
tb_log "truncated body: curl exit $trunc_rc, $trunc_size of 100000 bytes ($(tr '\n' ' ' <"$dl/trunc.err"))"
tb_check "truncated body: the client detects it (curl exit $trunc_rc: 18 partial file, or 56 reset)" \
    test "$trunc_rc" -eq 18 -o "$trunc_rc" -eq 56
tb_check_cmp "truncated body: the client got a short body" "$trunc_size" -lt 100000
tb_check "truncated body: server_truncated moves" tb_wait_stat_gt "$log" server_truncated "$truncs" 5
tb_check "50 later requests to f1 (maxconns = 1) succeed" ok_n 50
tb_check_cmp "f1 answered every /fault/ request it got" \
    "$(grep -c '"GET /fault/' "$TB_LOG_DIR/faultserver.log")" -ge 62

tb_check "Splicer is still running" tb_splicer_alive
tb_stop_splicer
tb_check_cmp "Splicer exits 0 on SIGINT" "$TB_SPLICER_RC" -eq 0
tb_check_fails "no panic" grep -q panicked "$log"
tb_finish
