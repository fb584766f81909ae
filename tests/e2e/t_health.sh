#!/usr/bin/env bash
# t_health — active health checks originated by Splicer through the data plane, with real
# nginx servers and a client load running all along:
#  * every real has check = { path = "/health", interval = "500ms", timeout = "300ms",
#    rise = 2, fall = 3 } and slowstart = "2s"; all three show UP;
#  * s1's health path answers 500 (its www/health file removed: nginx `try_files =500`):
#    `show real` says DOWN, with the reason, within interval x fall (+ one interval and a
#    timeout of slack), `splicer_real_up{real="s1"}` is 0, s1 gets no client request while
#    down; the file back, s1 goes SLOWSTART then UP;
#  * s1's nginx stopped (by PID): connections refused, DOWN again, and UP again once nginx
#    is restarted;
#  * s1's link cut (`ip link set veth0 down` in its namespace): checks time out, DOWN; the
#    link back, UP;
#  * under wrk during all of it: no socket error, no non-2xx answer (a request whose
#    connection to s1 could not be opened is routed to another real);
#  * each change of state is logged once; the check counters moved.
# One worker; TB_HEALTH_WORKERS=2 runs it with two.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || tb_die "missing command 'wrk' (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix health)
cfg=$TB_DIR/health.toml
log=$TB_LOG_DIR/splicer-health.log
metrics_port=$((20000 + $$ % 20000))
tb_write_splice_config "$cfg" "$prefix" "${TB_HEALTH_WORKERS:-1}" "metrics = \"127.0.0.1:$metrics_port\"
connect_timeout = \"1s\""
# Every real gets the check and a slow start.
python3 - "$cfg" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
text = re.sub(
    r'(maxconns = \d+\n)',
    r'\1check = { path = "/health", interval = "500ms", timeout = "300ms", rise = 2, fall = 3 }\nslowstart = "2s"\n',
    text,
)
open(path, "w").write(text)
PY
grep -c '^check = ' "$cfg" | grep -qx 3 || tb_die "the reals did not get their check"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
# health NAME: the real's health as `show real` says it.
health() {
    tb_ctl --json show real "$1" 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["health"])' 2>/dev/null || echo none
}
# wait_health NAME STATE MS: polls every 100 ms; prints how long it took.
wait_health() {
    local name=$1 want=$2 limit=$3 start now
    start=$(date +%s%3N)
    while :; do
        now=$(date +%s%3N)
        [[ $(health "$name") == "$want" ]] && { echo "$((now - start)) ms"; return 0; }
        if ((now - start > limit)); then
            echo "timeout: $name is $(health "$name") after $limit ms"
            return 1
        fi
        sleep 0.1
    done
}
# real_up NAME: the splicer_real_up gauge of the real.
real_up() {
    curl -sS -m 2 "http://127.0.0.1:$metrics_port/metrics" |
        awk -v r="real=\"$1\"" 'index($0, "splicer_real_up{") == 1 && index($0, r) { print $2 }'
}
# client_requests NAME: requests in the real's access log other than health checks.
client_requests() { grep -vc '"GET /health ' "$(tb_access_log "$1")" 2>/dev/null || true; }
s1_dir=$TB_DIR/s1

# Interval 500 ms x fall 3, plus one interval (the phase may start just after a check)
# and one timeout: the bound for going DOWN.
down_bound=2500
# Rise 2 x 500 ms plus the same slack, and the 2 s slow start: the bound for UP again.
up_bound=4500

took=$(wait_health s1 UP 5000) && took=$(wait_health s2 UP 5000) && took=$(wait_health s3 UP 5000)
tb_check "every real shows UP at start ($took)" test "$(health s3)" = UP
tb_check "checks run (health_checks)" tb_wait_stat_gt "$log" health_checks 0 5
tb_check_cmp "splicer_real_up{real=\"s1\"} is 1" "$(real_up s1)" -eq 1

wrk_out=$TB_LOG_DIR/wrk-health.txt
tb_in "$cns" timeout 90 wrk -t 2 -c 8 -d 40s --timeout 8s "http://$TB_VIP/" >"$wrk_out" 2>&1 &
wrk_pid=$!
tb__track_pid "$wrk_pid"
sleep 1

# 1. The health path answers 500.
tb_log "s1: /health answers 500"
rm -f "$s1_dir/www/health"
took=$(wait_health s1 DOWN "$down_bound")
tb_check "500 on the health path: s1 DOWN within ${down_bound} ms ($took)" test $? -eq 0
reason=$(tb_ctl show real s1 | tail -n 1)
tb_check "show real says why ($reason)" grep -q 'checks failed, last: status 500' <<<"$reason"
tb_check_cmp "splicer_real_up{real=\"s1\"} is 0" "$(real_up s1)" -eq 0
sleep 0.5
before=$(client_requests s1)
sleep 1.5
tb_check_cmp "s1 gets no client request while DOWN" "$(client_requests s1)" -eq "$before"
printf 'ok\n' >"$s1_dir/www/health"
took=$(wait_health s1 SLOWSTART "$up_bound")
tb_check "health path back: s1 in SLOWSTART ($took)" test $? -eq 0
took=$(wait_health s1 UP "$up_bound")
tb_check "... then UP ($took)" test $? -eq 0
tb_check_cmp "splicer_real_up{real=\"s1\"} is 1 again" "$(real_up s1)" -eq 1

# 2. nginx stopped: connections refused.
tb_log "s1: nginx stopped (PID ${TB_NGINX_PIDS[s1]})"
tb__kill "${TB_NGINX_PIDS[s1]}" QUIT 5
took=$(wait_health s1 DOWN "$down_bound")
tb_check "nginx stopped: s1 DOWN within ${down_bound} ms ($took)" test $? -eq 0
reason=$(tb_ctl show real s1 | tail -n 1)
tb_check "show real says why ($reason)" grep -q 'connection refused' <<<"$reason"
sleep 1
tb__start_nginx 0
tb__wait_servers
took=$(wait_health s1 UP "$up_bound")
tb_check "nginx back: s1 UP ($took)" test $? -eq 0

# 3. The link cut.
tb_log "s1: link down"
ip -n "${TB_NS_SERVERS[0]}" link set veth0 down
took=$(wait_health s1 DOWN "$down_bound")
tb_check "link cut: s1 DOWN within ${down_bound} ms ($took)" test $? -eq 0
reason=$(tb_ctl show real s1 | tail -n 1)
tb_check "show real says why ($reason)" grep -q 'last: timeout' <<<"$reason"
sleep 1
ip -n "${TB_NS_SERVERS[0]}" link set veth0 up
tb__tx_off "${TB_NS_SERVERS[0]}" veth0 2>/dev/null || true
took=$(wait_health s1 UP "$up_bound")
tb_check "link back: s1 UP ($took)" test $? -eq 0
before=$(client_requests s1)
sleep 2
tb_check_cmp "s1 serves clients again" "$(client_requests s1)" -gt "$before"

wait "$wrk_pid"
rc=$?
sed 's/^/# | /' "$wrk_out"
tb_check_cmp "wrk ran" "$rc" -eq 0
tb_check "wrk: requests completed" grep -q 'requests in' "$wrk_out"
tb_check "wrk: no socket errors" bash -c "! grep -q 'Socket errors' '$wrk_out'"
tb_check "wrk: only 2xx answers" bash -c "! grep -q 'Non-2xx' '$wrk_out'"

downs=$(grep -c 'health: real s1 .* -> DOWN' "$log")
tb_check_cmp "each fall logged once (3 x DOWN)" "$downs" -eq 3
tb_check_cmp "... and each rise (3 x back)" "$(grep -c 'health: real s1 DOWN -> ' "$log")" -eq 3
tb_check_cmp "no other real changed state" "$(grep -c 'health: real s[23] ' "$log")" -eq 0
tb_check_cmp "health_check_failures counted" "$(stat_of "$log" health_check_failures)" -gt 0
tb_check_cmp "health_check_timeouts counted" "$(stat_of "$log" health_check_timeouts)" -gt 0
tb_log "health_routed_again $(stat_of "$log" health_routed_again), http_no_server $(stat_of "$log" http_no_server), http_bad_gateway $(stat_of "$log" http_bad_gateway)"

tb_stop_splicer
tb_finish
