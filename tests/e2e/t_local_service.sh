#!/usr/bin/env bash
# t_local_service — local service (issue 15 item 6): a content rule binds a `local = true`
# real, served by an nginx on Splicer's own host behind an exception port:
#  * a third net_tap port "local" (TAP ls-exc, 198.19.5.1/24) whose kernel side sits in
#    the namespace ls-local (198.19.5.2/24, the VIP on lo, a route to the clients through
#    Splicer's exception port address), where an nginx listens on port 80;
#  * requests under /local/ are replayed into that kernel and served by that nginx
#    (X-Server: local), bodies of 0 b, 100 kB and 20 MB intact (sha256); other requests
#    go to the farm (s1..s3) as before; a request to the farm and then one to /local/ on
#    one keep-alive connection both answer;
#  * wrk through the local service: no socket error, only 2xx;
#  * the local nginx killed: /local/ gets a clean 503 (local_refused counted), the farm
#    still answers;
#  * every local connection's state is freed (the flow count drops back), SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

LS_NS=ls-local
LS_TAP=ls-exc
LS_MAC=02:73:70:6c:00:03   # Splicer's exception port
LS_KMAC=02:73:70:6c:10:03  # its kernel side
LS_PORT_IP=198.19.5.1
LS_KERNEL_IP=198.19.5.2
# Deleted by the test bed's teardown (and a crashed run's leftovers by tb_init).
TB_ALL_NS+=("$LS_NS")

command -v wrk >/dev/null || tb_die "missing command 'wrk' (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix local-service)
cfg=$TB_DIR/local-service.toml
log=$TB_LOG_DIR/splicer-local-service.log
port_and_real="[[port]]
name = \"local\"
address = \"$LS_PORT_IP/24\"

$(tb_reals 4 64)
[[real]]
name = \"here\"
address = \"$LS_KERNEL_IP:80\"
local = true
pool = 0
maxconns = 1024
"
rule='[[virtual.rule]]
path_prefix = "/local/"
bind = ["here"]'
TB_CTL_SOCK=$TB_DIR/run/local-service.sock
tb_write_config "$cfg" "$prefix" 1 "control_socket = \"$TB_CTL_SOCK\"" \
    "mode = \"splice\"
predictor = \"roundrobin\"
bind = [\"s1\", \"s2\", \"s3\"]" "$port_and_real" "$rule"
# The third port's TAP beside the test bed's two.
sed -i "s|\"--vdev\", \"net_tap1,[^\"]*\"|&,\n       \"--vdev\", \"net_tap2,iface=$LS_TAP,mac=$LS_MAC\"|" "$cfg"
grep -q "iface=$LS_TAP" "$cfg" || tb_die "could not add the exception port to $cfg"
"$SPLICER_BIN" check --config "$cfg" >"$TB_LOG_DIR/local-service-check.txt" 2>&1 ||
    tb_die "configuration refused: $(cat "$TB_LOG_DIR/local-service-check.txt")"

# The local host's side: a namespace standing for Splicer's own kernel.
tb__ns_new "$LS_NS"
tb_in "$LS_NS" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
ldir=$TB_DIR/local
mkdir -p "$ldir/tmp"
{
    echo "# nginx for the local service (Splicer's own host)."
    tb_nginx_preamble local "$ldir"
    cat <<EOF
    access_log $TB_LOG_DIR/nginx-local-access.log;
    server {
        listen 80 backlog=4096;
        server_name _;
        add_header X-Server local always;
        location /local/files/ {
            alias $TB_WWW/files/;
        }
        location /local/ {
            return 200 "local\n";
        }
    }
}
EOF
} >"$ldir/nginx.conf"
tb_in "$LS_NS" nginx -t -q -c "$ldir/nginx.conf" -p "$ldir" || tb_die "local nginx configuration invalid"
tb_spawn "$TB_LOG_DIR/nginx-local.out" ip netns exec "$LS_NS" nginx -c "$ldir/nginx.conf" -p "$ldir"
local_nginx=$TB_SPAWNED_PID

tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"
tb__wait_root_links "$LS_TAP" || tb_die "no TAP $LS_TAP"
ip link set dev "$LS_TAP" netns "$LS_NS" || tb_die "cannot move $LS_TAP"
ip -n "$LS_NS" link set dev "$LS_TAP" address "$LS_KMAC"
tb__tx_off "$LS_NS" "$LS_TAP" || true
ip -n "$LS_NS" addr add "$LS_KERNEL_IP/24" dev "$LS_TAP"
ip -n "$LS_NS" link set "$LS_TAP" up
ip -n "$LS_NS" addr add "$TB_VIP/32" dev lo
ip -n "$LS_NS" route add 198.18.0.0/24 via "$LS_PORT_IP"
tb_in "$LS_NS" sysctl -qw "net.ipv4.conf.$LS_TAP.rp_filter=0" >/dev/null

cns=$TB_NS_CLIENT
vip=$TB_VIP
for ((i = 0; i < 50; i++)); do
    tb_in "$LS_NS" curl -sS --max-time 2 -o /dev/null "http://$TB_VIP/local/" 2>/dev/null && break
    sleep 0.1
done

tb_check "a /local/ request is served by the local nginx" \
    bash -c "[[ \$(ip netns exec $cns curl -sS --max-time 10 -D - -o /dev/null http://$vip/local/x | tr -d '\r' | sed -n 's/^X-Server: //Ip') == local ]]"
tb_check "other requests are served by the farm" \
    bash -c "ip netns exec $cns curl -sS --max-time 10 -D - -o /dev/null http://$vip/ | tr -d '\r' | grep -Eqi '^X-Server: s[123]$'"
for body in 0b 100k 20m; do
    f=$TB_DIR/local-$body
    tb_curl "$cns" "http://$vip/local/files/$body" -o "$f"
    tb_check "local /files/$body intact (sha256)" tb_body_ok "$body" "$f"
done
tb_check_cmp "replays made (local_established)" "$(tb_fresh_stat "$log" local_established)" -ge 4
# A keep-alive connection: the farm first (spliced), then the local server (replayed
# after the spliced response ended).
both=$(tb_in "$cns" curl -sS --max-time 10 -D - -o /dev/null "http://$vip/" -o /dev/null "http://$vip/local/y" |
    tr -d '\r' | sed -n 's/^X-Server: //Ip' | tr '\n' ' ')
tb_check "farm then local on one connection: '$both'" bash -c "[[ '$both' =~ ^s[123]\ local\ \$ ]]"

# Load through the local service.
sleep 2
flows_before=$(tb_fresh_stat "$log" flows)
wf=$TB_LOG_DIR/wrk-local.txt
rc=0
tb_in "$cns" timeout 40 wrk -t 2 -c 20 -d 5s --timeout 5s "http://$vip/local/w" >"$wf" 2>&1 || rc=$?
sed 's/^/# | /' "$wf"
tb_check_cmp "wrk ran (exit code)" "$rc" -eq 0
reqs=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$wf")
errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$wf" |
    awk '{ print $1 + $2 + $3 + $4 }')
non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$wf")
tb_check_cmp "wrk: requests completed" "${reqs:-0}" -gt 0
tb_check_cmp "wrk: no socket errors" "${errors:-0}" -eq 0
tb_check_cmp "wrk: only 2xx" "${non2xx:-0}" -eq 0

# Every local connection ends and its state is freed (a connection whose last ACK or
# RST Splicer could not judge goes after 2 s of silence).
sleep 4
tb_ctl show stats >"$TB_LOG_DIR/local-service-stats.txt" 2>&1
sed -n '/local_/p' "$TB_LOG_DIR/local-service-stats.txt" | sed 's/^/# | /'
flows=$(tb_fresh_stat "$log" flows)
tb_ctl show flows >"$TB_LOG_DIR/local-service-flows.txt" 2>&1
sed 's/^/# | /' "$TB_LOG_DIR/local-service-flows.txt" | head -40
tb_log "flows before the load ${flows_before:-?}, after ${flows:-?}"
tb_check_cmp "local connections freed (flows back to before the load)" "${flows:-0}" -le "${flows_before:-0}"

# The local server gone: a clean 503, counted; the farm answers.
kill "$local_nginx" 2>/dev/null
tb__wait_gone "$local_nginx" 5 || true
refused=$(stat_of "$log" local_refused)
tb_check_cmp "/local/ without the local server: 503" "$(tb_http_status "http://$vip/local/z")" -eq 503
tb_wait_stat_gt "$log" local_refused "${refused:-0}" 5
tb_check_cmp "local_refused counted" "$(stat_of "$log" local_refused)" -gt "${refused:-0}"
tb_check "the farm still answers" \
    bash -c "ip netns exec $cns curl -sS --max-time 10 -D - -o /dev/null http://$vip/ | tr -d '\r' | grep -Eqi '^X-Server: s[123]$'"

tb_stop_splicer INT 20
tb_check_cmp "SIGINT exits 0" "$TB_SPLICER_RC" -eq 0
tb_finish
