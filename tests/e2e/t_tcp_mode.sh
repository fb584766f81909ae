#!/usr/bin/env bash
# t_tcp_mode — `mode = "tcp"` virtuals (L4 pass-through) with real peers, one worker:
#  * TLS through Splicer to nginx terminating it (s1 and s2 on :443, a self-signed
#    certificate made by `openssl req` here), virtual `tls` on VIP:443: 30 new
#    connections each downloading /files/100k and 30 downloads on one keep-alive
#    connection, every body byte-exact (sha256); /files/20m intact; both reals served;
#    `wrk -c 50` keep-alive and `wrk -c 20` with `Connection: close` (a TLS handshake
#    per request) with no socket error and no non-2xx answer;
#  * PROXY protocol v2 (virtual `tlsproxy` on VIP:8443, `forward_for = "proxy-v2"`) to
#    nginx's `proxy_protocol` listener on s1/s2:8443: 10 TLS downloads intact, nginx logs
#    the client's address as each connection's PROXY source, `proxy_headers_sent`;
#  * a server that speaks first (banner.py on s3:2525, virtual `banner` on VIP:25):
#    its banner reaches a client that has sent nothing, 1 MiB echoed byte for byte, the
#    client's half-close (shutdown of its write side) reaches the server, which still
#    answers ("BYE <n>") and closes; 50 such dialogues at once all succeed; its `tcp`
#    health check keeps it UP;
#  * a real that refuses (nothing listening on s3:2600): the client is reset within
#    0.5 s of its handshake, `tunnel_refused` moves; a real that never answers
#    (198.19.0.99, no such host, `connect_timeout = "1s"`): the client is reset after
#    about 1 s, `tunnel_connect_timeouts` moves;
#  * `virtual www ... mode tcp` live: a download through it is passed through intact
#    (not read as HTTP), a rule cannot be added to it, and `mode splice` makes it read
#    HTTP again;
#  * `show virtual` shows mode tcp; `show flows` shows a held connection as `tunnel`,
#    and no tunnel is left at the end (`tunnels_closed` moved); no real bound only by
#    tcp virtuals got pooled connections; the plain HTTP virtual still works;
#  * no panic; SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in wrk openssl nginx; do
    command -v "$c" >/dev/null || tb_die "missing command '$c' (run scripts/install-deps.sh)"
done
tb_setup

cns=$TB_NS_CLIENT
vip=$TB_VIP
client_py=$TB_REPO/tests/e2e/tcpclient.py
dl=$TB_DIR/dl
mkdir -p "$dl"

# ---- TLS servers: nginx on s1 and s2, port 443, one self-signed certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=tls.test" -keyout "$TB_DIR/tls.key" -out "$TB_DIR/tls.crt" \
    >"$TB_LOG_DIR/openssl.log" 2>&1 || tb_die "openssl req failed"
declare -A tls_pid
for i in 0 1; do
    name=s$((i + 1))
    dir=$TB_DIR/tls-$name
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $TB_LOG_DIR/nginx-tls-$name-error.log warn;
events { worker_connections 4096; }
http {
    log_format tls '\$connection \$connection_requests \$remote_addr:\$remote_port "\$request" \$status \$body_bytes_sent';
    access_log $TB_LOG_DIR/nginx-tls-$name-access.log tls;
    log_format proxied '\$proxy_protocol_addr:\$proxy_protocol_port \$remote_addr "\$request" \$status';
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        listen ${TB_SERVER_IPS[i]}:443 ssl backlog=4096;
        ssl_certificate $TB_DIR/tls.crt;
        ssl_certificate_key $TB_DIR/tls.key;
        root $TB_WWW;
        add_header X-Server $name always;
        location / { }
    }
    server {
        listen ${TB_SERVER_IPS[i]}:8443 ssl proxy_protocol backlog=4096;
        ssl_certificate $TB_DIR/tls.crt;
        ssl_certificate_key $TB_DIR/tls.key;
        access_log $TB_LOG_DIR/nginx-tls-$name-proxy.log proxied;
        root $TB_WWW;
        location / { }
    }
}
EOF
    ip netns exec "${TB_NS_SERVERS[i]}" nginx -t -q -c "$dir/nginx.conf" -p "$dir" \
        -e "$TB_LOG_DIR/nginx-tls-$name-error.log" || tb_die "TLS nginx configuration for $name"
    tb_spawn "$dir/stdout.log" ip netns exec "${TB_NS_SERVERS[i]}" nginx -c "$dir/nginx.conf" \
        -p "$dir" -e "$TB_LOG_DIR/nginx-tls-$name-error.log"
    tls_pid[$name]=$TB_SPAWNED_PID
done

# ---- the server that speaks first, on s3.
banner_ip=${TB_SERVER_IPS[2]}
tb_spawn "$TB_LOG_DIR/banner.log" ip netns exec "${TB_NS_SERVERS[2]}" \
    python3 "$TB_REPO/tests/e2e/banner.py" "$banner_ip" 2525

# Both ready (asked from inside the LAN, not through Splicer).
for ((i = 0; i < 50; i++)); do
    tb_in "${TB_NS_SERVERS[2]}" curl -sk -m 2 -o /dev/null "https://${TB_SERVER_IPS[0]}/files/0b" &&
        tb_in "${TB_NS_SERVERS[2]}" curl -sk -m 2 -o /dev/null "https://${TB_SERVER_IPS[1]}/files/0b" &&
        tb_in "${TB_NS_SERVERS[0]}" python3 "$client_py" banner "$banner_ip" 2525 10 >/dev/null && break
    sleep 0.1
done
((i < 50)) || tb_die "the TLS or banner servers do not answer"
# Those checks came from s3's address: the logs start empty for the checks below (nginx
# appends, so truncating them is safe).
: >"$TB_LOG_DIR/nginx-tls-s1-access.log"
: >"$TB_LOG_DIR/nginx-tls-s2-access.log"

prefix=$(tb_unique_prefix tcp-mode)
cfg=$TB_DIR/tcp-mode.toml
log=$TB_LOG_DIR/splicer-tcp-mode.log
extra="[[real]]
name = \"t1\"
address = \"${TB_SERVER_IPS[0]}:443\"

[[real]]
name = \"t2\"
address = \"${TB_SERVER_IPS[1]}:443\"

[[real]]
name = \"b1\"
address = \"$banner_ip:2525\"
check = { kind = \"tcp\", interval = \"500ms\", timeout = \"400ms\", rise = 1, fall = 2 }

[[real]]
name = \"r1\"
address = \"$banner_ip:2600\"

[[real]]
name = \"u1\"
address = \"198.19.0.99:25\"

[[virtual]]
name = \"tls\"
address = \"$vip:443\"
mode = \"tcp\"
predictor = \"leastconns\"
bind = [\"t1\", \"t2\"]

[[real]]
name = \"p1\"
address = \"${TB_SERVER_IPS[0]}:8443\"

[[real]]
name = \"p2\"
address = \"${TB_SERVER_IPS[1]}:8443\"

[[virtual]]
name = \"tlsproxy\"
address = \"$vip:8443\"
mode = \"tcp\"
forward_for = \"proxy-v2\"
bind = [\"p1\", \"p2\"]

[[virtual]]
name = \"banner\"
address = \"$vip:25\"
mode = \"tcp\"
bind = [\"b1\"]

[[virtual]]
name = \"refuse\"
address = \"$vip:26\"
mode = \"tcp\"
bind = [\"r1\"]

[[virtual]]
name = \"unreach\"
address = \"$vip:27\"
mode = \"tcp\"
bind = [\"u1\"]"
tb_write_splice_config "$cfg" "$prefix" 1 'connect_timeout = "1s"' "" "$extra" 2 64
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

# ---- the modes as the shell shows them.
tb_check "show virtual tls says mode tcp" bash -c "'$SPLICER_BIN' ctl --socket '$TB_CTL_SOCK' show virtual tls | grep -qw tcp"
tb_check "show virtual www says mode splice" bash -c "'$SPLICER_BIN' ctl --socket '$TB_CTL_SOCK' show virtual www | grep -qw splice"
tb_check "the HTTP virtual still splices (200)" test "$(tb_http_status "http://$vip/")" = 200

# ---- TLS through the pass-through virtual.
urls=()
for ((i = 0; i < 30; i++)); do
    tb_in "$cns" curl -sSk --max-time 10 -o "$dl/new-$i" "https://$vip/files/100k" 2>>"$dl/curl.err"
    urls+=(-o "$dl/ka-$i" "https://$vip/files/100k")
done
tb_check "TLS: 30 new connections, /files/100k intact each time" tb_body_ok 100k "$dl"/new-*
tb_in "$cns" curl -sSk --max-time 30 "${urls[@]}" 2>>"$dl/curl.err"
tb_check "TLS: 30 downloads on one keep-alive connection, all intact" tb_body_ok 100k "$dl"/ka-*
tb_check_cmp "TLS: one connection carried them (nginx's request count)" \
    "$(cat "$TB_LOG_DIR"/nginx-tls-s*-access.log | awk '$2 == 30' | wc -l)" -ge 1
tb_in "$cns" curl -sSk --max-time 60 -o "$dl/big" "https://$vip/files/20m" 2>>"$dl/curl.err"
tb_check "TLS: /files/20m intact" tb_body_ok 20m "$dl/big"
for s in s1 s2; do
    tb_check_cmp "TLS: $s served some connections" \
        "$(wc -l <"$TB_LOG_DIR/nginx-tls-$s-access.log")" -gt 0
done
tb_check_cmp "TLS: nginx saw Splicer's inside address only" \
    "$(cat "$TB_LOG_DIR"/nginx-tls-s*-access.log | awk '{ split($3, a, ":"); print a[1] }' | sort -u | grep -cvx "$TB_IN_IP")" -eq 0

# run_wrk NAME SECONDS CONNECTIONS [wrk args...]
run_wrk() {
    local name=$1 secs=$2 conns=$3 f errors non2xx reqs rc=0
    shift 3
    f=$TB_LOG_DIR/wrk-$name.txt
    tb_in "$cns" timeout $((secs + 30)) wrk -t 2 -c "$conns" -d "${secs}s" --timeout 5s "$@" \
        "https://$vip/files/1b" >"$f" 2>&1 || rc=$?
    tb_check_cmp "$name: wrk ran (exit code)" "$rc" -eq 0
    sed 's/^/# | /' "$f"
    reqs=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
    errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$f" |
        awk '{ print $1 + $2 + $3 + $4 }')
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$f")
    tb_check_cmp "$name: requests completed" "${reqs:-0}" -gt 0
    tb_check_cmp "$name: no socket errors" "${errors:-0}" -eq 0
    tb_check_cmp "$name: no answer other than 2xx/3xx" "${non2xx:-0}" -eq 0
}
run_wrk tls-keepalive 5 50
run_wrk tls-close 4 20 -H 'Connection: close'

# ---- a server that speaks first; the client's half-close.
line=$(tb_in "$cns" timeout 30 python3 "$client_py" banner "$vip" 25 1048576 2>&1)
tb_check "banner: $line" grep -q '^ok' <<<"$line"
line=$(tb_in "$cns" timeout 60 python3 "$client_py" many "$vip" 25 50 65536 2>&1)
tb_check "banner: $line" grep -q '^ok' <<<"$line"
# The server logs a dialogue once the client's close reaches it: allow it a moment.
for ((i = 0; i < 30; i++)); do
    logged=$(grep -c ' 65536 bytes$' "$TB_LOG_DIR/banner.log")
    ((logged >= 50)) && break
    sleep 0.1
done
tb_check_cmp "banner: the server logged every dialogue's bytes" "$logged" -eq 50
health=$(tb_ctl --json show real b1 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["health"])' 2>/dev/null)
tb_check "banner: its tcp health check keeps b1 UP ($health)" test "$health" = UP

# A held connection as show flows lists it.
tb_in "$cns" timeout 10 python3 "$client_py" hold "$vip" 25 3 >"$dl/hold.txt" 2>&1 &
hold_pid=$!
tb__track_pid "$hold_pid"
sleep 1
flows=$(tb_ctl show flows 2>&1)
printf '%s\n' "$flows" | sed 's/^/# | /'
tb_check "show flows lists the held connection as a tunnel to b1" \
    grep -Eq 'tunnel.*b1|b1.*tunnel' <<<"$flows"
wait "$hold_pid"
tb_check "the held connection saw the banner" grep -q '^ok' "$dl/hold.txt"

# ---- PROXY protocol v2 (forward_for = "proxy-v2") to nginx's proxy_protocol listener.
: >"$TB_LOG_DIR/nginx-tls-s1-proxy.log"
: >"$TB_LOG_DIR/nginx-tls-s2-proxy.log"
before=$(tb_fresh_stat "$log" proxy_headers_sent)
for i in $(seq 1 10); do
    tb_in "$cns" curl -sSk --max-time 10 -o "$dl/proxy-$i" "https://$vip:8443/files/100k" 2>>"$dl/curl.err"
done
tb_check "proxy-v2: 10 TLS downloads through it, each intact" tb_body_ok 100k "$dl"/proxy-*
proxied=$(cat "$TB_LOG_DIR"/nginx-tls-s*-proxy.log)
printf '%s\n' "$proxied" | head -3 | sed 's/^/# nginx: /'
tb_check_cmp "proxy-v2: nginx logged 10 requests" "$(grep -c . <<<"$proxied")" -eq 10
tb_check_cmp "proxy-v2: each names the client's address ($TB_CLIENT_IP) as the PROXY source" \
    "$(grep -c "^$TB_CLIENT_IP:[0-9]* $TB_IN_IP " <<<"$proxied")" -eq 10
tb_check_cmp "proxy-v2: proxy_headers_sent counted them" "$(tb_fresh_stat "$log" proxy_headers_sent)" -ge $((before + 10))
tb_check_fails "proxy-v2: the listener refuses a connection without the header (sanity)" \
    tb_in "${TB_NS_SERVERS[2]}" curl -sk -m 3 -o /dev/null "https://${TB_SERVER_IPS[0]}:8443/files/0b"

# ---- refusal and no answer.
before=$(tb_fresh_stat "$log" tunnel_refused)
line=$(tb_in "$cns" timeout 10 python3 "$client_py" reset "$vip" 26 2>&1)
tb_check "refusing real: the client is reset ($line)" grep -q '^ok' <<<"$line"
secs=$(awk '{ print $4 }' <<<"$line")
tb_check "refusing real: the reset came within 0.5 s ($secs s)" awk -v s="${secs:-9}" 'BEGIN { exit !(s < 0.5) }'
tb_check "refusing real: tunnel_refused moves" tb_wait_stat_gt "$log" tunnel_refused "$before" 5
before=$(tb_fresh_stat "$log" tunnel_connect_timeouts)
line=$(tb_in "$cns" timeout 10 python3 "$client_py" reset "$vip" 27 2>&1)
tb_check "unreachable real: the client is reset ($line)" grep -q '^ok' <<<"$line"
secs=$(awk '{ print $4 }' <<<"$line")
tb_check "unreachable real: after connect_timeout (1 s; $secs s)" awk -v s="${secs:-0}" 'BEGIN { exit !(s >= 0.9 && s < 2.5) }'
tb_check "unreachable real: tunnel_connect_timeouts moves" tb_wait_stat_gt "$log" tunnel_connect_timeouts "$before" 5

# ---- the mode changed live: www (HTTP on :80) becomes a tcp virtual, then back.
http_before=$(tb_fresh_stat "$log" http_requests)
splices_before=$(tb_fresh_stat "$log" tunnel_splices)
tb_check "live: virtual www mode tcp" tb_ctl virtual www "$vip:80" mode tcp
tb_check "live: show virtual www says mode tcp" bash -c "'$SPLICER_BIN' ctl --socket '$TB_CTL_SOCK' show virtual www | grep -qw tcp"
tb_curl "$cns" "http://$vip/files/100k" -o "$dl/live-tcp" || true
tb_check "live: HTTP through the now tcp virtual, intact" tb_body_ok 100k "$dl/live-tcp"
tb_check_cmp "live: it was passed through (tunnel_splices)" "$(tb_fresh_stat "$log" tunnel_splices)" -gt "$splices_before"
tb_check_cmp "live: not read as HTTP (http_requests)" "$(tb_fresh_stat "$log" http_requests)" -eq "$http_before"
tb_check_fails "live: a rule on a tcp virtual is refused" tb_ctl rule add www img path_prefix /img/ bind s2
tb_check "live: virtual www mode splice again" tb_ctl virtual www "$vip:80" mode splice
tb_check "live: HTTP virtual again (200)" test "$(tb_http_status "http://$vip/")" = 200
tb_check_cmp "live: read as HTTP again" "$(tb_fresh_stat "$log" http_requests)" -gt "$http_before"

# ---- nothing left; counters.
sleep 1
left=$(tb_ctl show flows 2>&1 | grep -Ec 'tunnel|connecting')
tb_check_cmp "no tunnel left" "${left:-0}" -eq 0
tb_check "tunnels_closed moved" tb_wait_stat_gt "$log" tunnels_closed 50 5
tb_check_cmp "tunnel_splices counted the connections" "$(tb_fresh_stat "$log" tunnel_splices)" -gt 100
for s in s1 s2 s3; do
    mark=$(grep -c "$TB_IN_IP" "$TB_LOG_DIR/nginx-$s-access.log" 2>/dev/null || true)
    tb_log "$s (HTTP, :80) access log lines from Splicer: ${mark:-0}"
done
pools=$(tb_ctl show pools 2>&1)
printf '%s\n' "$pools" | sed 's/^/# | /'
for r in t1 t2 b1; do
    conns=$(tb_ctl --json show pools "$r" | python3 -c '
import json, sys
def find(v):
    if isinstance(v, dict):
        if v.get("name") == sys.argv[1] and "total" in v:
            return v["total"]["free"]
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            r = find(x)
            if r is not None:
                return r
    return None
print(find(json.load(sys.stdin)))' "$r" 2>/dev/null)
    tb_check_cmp "$r (bound by tcp virtuals only) keeps no idle pooled connection" "${conns:-1}" -eq 0
done

tb_check "Splicer is still running" tb_splicer_alive
tb_stop_splicer
tb_check_cmp "Splicer exits 0 on SIGINT" "$TB_SPLICER_RC" -eq 0
tb_check_fails "no panic" grep -q panicked "$log"
for name in s1 s2; do
    tb__kill "${tls_pid[$name]}" QUIT 5
done
tb_finish
