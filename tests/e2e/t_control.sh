#!/usr/bin/env bash
# t_control — the control socket, `splicer ctl`, `splicer shell` and the metrics endpoint:
#  * the socket is created with mode 0600 where dataplane.control_socket says;
#  * `ctl show stats|ports|workers|virtual|config` answer, and their counters move after
#    pings and curls (`show workers` with its loop's busy % and cycles per packet);
#    `--json` output parses;
#  * `clear stats` brings tcp_syns back to 0 and it grows again after a curl;
#  * `log level debug` then `log level info` succeed; bad commands exit non-zero with the
#    error on stderr ("did you mean", "does not exist", the list of levels);
#  * the Prometheus endpoint returns valid exposition text whose splicer_packets_total
#    moves under load (and is not reset by clear stats), with the worker loop's
#    splicer_worker_busy_cycles_total; paths other than /metrics, / and /status.json
#    (t_status_page) get 404;
#  * an interactive shell in tmux: Tab completes a command word and a virtual's name, a
#    live command word by word (out-of-service virtual www), '?' lists its states, the
#    change is applied and shown,
#    Up recalls the history, `?` lists what can follow, the history file is written;
#  * SIGINT exits 0 and removes the socket.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix control)
cfg=$TB_DIR/control.toml
log=$TB_LOG_DIR/splicer-control.log
sock=$TB_DIR/run/splicer.sock
mport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tb_write_config "$cfg" "$prefix" 1 "control_socket = \"$sock\"
metrics = \"127.0.0.1:$mport\""
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

ctl() { "$SPLICER_BIN" ctl --socket "$sock" "$@"; }
# json_get EXPR: evaluates EXPR on the JSON document on stdin (as `d`).
json_get() { python3 -c "import json,sys; d = json.load(sys.stdin); print($1)"; }
total() { ctl --json show stats | json_get "d['total']['$1']"; }
# metric NAME LABEL_SUBSTRING: the sum of the samples of NAME whose labels contain it.
metric() {
    curl -sS -m 5 "http://127.0.0.1:$mport/metrics" |
        awk -v n="$1" -v l="$2" '($1 == n || index($1, n "{") == 1) && (l == "" || index($1, l)) { s += $2 } END { print s + 0 }'
}

tb_check "the control socket exists" test -S "$sock"
tb_check_cmp "the control socket has mode 0600" "$(stat -c %a "$sock")" = 600

tb_check "client pings the VIP" tb_ping "$TB_NS_CLIENT" "$TB_VIP"
tb_check_cmp "a curl gets Splicer's 503" "$(tb_http_status "http://$TB_VIP/")" -eq 503

out=$(ctl show stats 2>&1)
tb_check "ctl show stats prints the counter table" grep -q '^counter  *total  *worker0  *outside  *inside' <<<"$out"
# shellcheck disable=SC2016  # (awk's own variables)
tb_check "... with icmp_echo_replies above 0" \
    awk '$1 == "icmp_echo_replies" && $2 > 0 { f = 1 } END { exit !f }' <<<"$out"
tb_check "... and the mempool" grep -q '^mempool: [0-9]* available' <<<"$out"
tb_check "ctl --json show stats parses" bash -c \
    "'$SPLICER_BIN' ctl --socket '$sock' --json show stats | python3 -c 'import json,sys; json.load(sys.stdin)'"
tb_check_cmp "tcp_syns moved after the curl" "$(total tcp_syns)" -ge 1
tb_check_cmp "total rx_packets moved after the pings" "$(total rx_packets)" -ge 3

out=$(ctl show ports 2>&1)
tb_check "show ports lists outside with its driver, MAC and address" \
    grep -Eq "^outside +0 +net_tap +$TB_MAC_OUT +$TB_OUT_IP/24" <<<"$out"
tb_check_cmp "show ports --json: the NIC received packets on outside" \
    "$(ctl --json show ports outside | json_get "d[0]['rx_packets']")" -gt 0
tb_check "show workers: worker 0 on lcore 1, queue 0" \
    bash -c "'$SPLICER_BIN' ctl --socket '$sock' show workers | grep -Eq '^ *0 +1 +0 +[1-9]'"
tb_check "show workers: busy and cycles per packet" \
    bash -c "'$SPLICER_BIN' ctl --socket '$sock' show workers | grep -Eq ' [0-9]+\.[0-9] +[0-9]+\.[0-9]%$'"
tb_check_cmp "show workers --json: the loop polled" \
    "$(ctl --json show workers | json_get "d[0]['polls']")" -gt 0
tb_check "show virtual www: address and owning port" \
    bash -c "'$SPLICER_BIN' ctl --socket '$sock' show virtual www | grep -Eq '^www +virtual +$TB_VIP:80 +outside +16KiB'"
tb_check_cmp "show virtual --json: max_request_head in bytes" \
    "$(ctl --json show virtual www | json_get "d[0]['max_request_head_bytes']")" -eq 16384
ctl show config >"$TB_DIR/running.toml" 2>&1
tb_check "show config is a configuration splicer check accepts" \
    "$SPLICER_BIN" check --config "$TB_DIR/running.toml"
tb_check "show config has the control socket" grep -qF "control_socket = \"$sock\"" "$TB_DIR/running.toml"

# clear stats: the view restarts at 0, the metrics do not.
packets_before=$(metric splicer_packets_total 'direction="rx"')
tb_check "clear stats succeeds" ctl clear stats
tb_check_cmp "tcp_syns is 0 after clear stats" "$(total tcp_syns)" -eq 0
tb_check "a curl after the clear gets 503" bash -c \
    "ip netns exec $TB_NS_CLIENT curl -s -m 5 -o /dev/null -w '%{http_code}' http://$TB_VIP/ | grep -qx 503"
syns=$(total tcp_syns)
tb_check_cmp "tcp_syns grows again after a curl" "$syns" -ge 1
tb_check_cmp "the periodic stats lines follow the clear (tcp_syns)" \
    "$(tb_fresh_stat "$log" tcp_syns)" -eq "$syns"

# metrics
curl -sS -m 5 "http://127.0.0.1:$mport/metrics" >"$TB_DIR/metrics.txt" 2>&1
tb_check "metrics: HELP and TYPE lines" grep -q '^# TYPE splicer_packets_total counter$' "$TB_DIR/metrics.txt"
# Every line is a comment (# HELP/# TYPE) or `name{labels} value`.
tb_check "metrics: every line follows the exposition grammar" python3 - "$TB_DIR/metrics.txt" <<'PY'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
sample = re.compile(rf'^{name}(\{{{label}(,{label})*\}})? [0-9.eE+-]+$')
typed, ok = set(), True
for line in open(sys.argv[1]).read().splitlines():
    m = re.match(rf'^# (HELP|TYPE) ({name}) (.+)$', line)
    if m:
        if m.group(1) == 'TYPE':
            typed.add(m.group(2))
            ok &= m.group(3) in ('counter', 'gauge', 'histogram')
            ok &= m.group(3) != 'counter' or m.group(2).endswith('_total')
        continue
    series = line.split('{')[0].split(' ')[0]
    # A histogram's samples carry _bucket, _sum or _count after its name.
    family = next((series[:-len(s)] for s in ('_bucket', '_sum', '_count')
                   if series.endswith(s) and series[:-len(s)] in typed), series)
    if not sample.match(line) or family not in typed:
        print('bad line:', line); ok = False
sys.exit(0 if ok else 1)
PY
tb_check "metrics: per worker and port labels" \
    grep -q '^splicer_packets_total{direction="rx",worker="0",port="outside"} [0-9]' "$TB_DIR/metrics.txt"
tb_check "metrics: drops by reason" grep -q '^splicer_drops_total{reason="not_for_us",worker="0",port="outside"}' "$TB_DIR/metrics.txt"
tb_check "metrics: flows gauge" grep -q '^splicer_flows{worker="0"} [0-9]' "$TB_DIR/metrics.txt"
tb_check "metrics: the worker loop's busy cycles" \
    grep -q '^splicer_worker_busy_cycles_total{worker="0"} [1-9]' "$TB_DIR/metrics.txt"
packets_after=$(metric splicer_packets_total 'direction="rx"')
tb_check_cmp "metrics are not reset by clear stats ($packets_before -> $packets_after)" \
    "$packets_after" -ge "$packets_before"
for _ in $(seq 1 10); do
    tb_in "$TB_NS_CLIENT" curl -s -m 5 -o /dev/null "http://$TB_VIP/" || true
done
tb_check_cmp "splicer_packets_total moves under load" \
    "$(metric splicer_packets_total 'direction="rx"')" -ge $((packets_after + 30))
tb_check_cmp "splicer_http_no_server_total counts the curls" \
    "$(metric splicer_http_no_server_total '')" -ge 10
tb_check_cmp "other paths get 404" \
    "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/nope")" -eq 404

# log level
tb_check "log level debug" ctl log level debug
tb_check "log level info" ctl log level info
tb_check "the change is logged" grep -q 'log level set to debug' "$log"

# errors: non-zero exit, the message on stderr, nothing on stdout
# expect_error WANT ARGS...: ctl ARGS fails with WANT on stderr.
# shellcheck disable=SC2317  # (called through tb_check)
expect_error() {
    local want=$1 out err rc=0
    shift
    out=$(ctl "$@" 2>"$TB_DIR/err") || rc=$?
    err=$(cat "$TB_DIR/err")
    if ((rc != 0)) && [[ -z $out && $err == *"$want"* ]]; then
        return 0
    fi
    printf 'rc=%s stdout=%q stderr=%q\n' "$rc" "$out" "$err"
    return 1
}
tb_check "a misspelt command fails with a suggestion" \
    expect_error "unknown command 'shwo'; did you mean 'show'?" shwo stats
tb_check "an unknown virtual fails" expect_error "virtual www2 does not exist" show virtual www2
tb_check "a bad log level fails, listing the levels" \
    expect_error "log level must be one of error, warn, info, debug, trace" log level loud
tb_check "a missing socket fails, naming it" bash -c \
    "! '$SPLICER_BIN' ctl --socket '$TB_DIR/nope.sock' show stats 2>'$TB_DIR/err2' && grep -q 'cannot connect to $TB_DIR/nope.sock' '$TB_DIR/err2'"
tb_check "help lists the commands" bash -c "'$SPLICER_BIN' ctl --socket '$sock' help | grep -q 'clear stats'"

# the shell, through tmux
tsock=$TB_DIR/tmux.sock
tm() { tmux -S "$tsock" "$@"; }
# pane_has REGEX [TIMEOUT]: waits until the pane shows a line matching REGEX.
# shellcheck disable=SC2317  # (called through tb_check)
pane_has() {
    local i
    for ((i = 0; i < ${2:-5} * 10; i++)); do
        tm capture-pane -p -t shell | grep -Eq -- "$1" && return 0
        sleep 0.1
    done
    echo "pane never showed /$1/:" >&2
    tm capture-pane -p -t shell >&2
    return 1
}
# pane_last REGEX [TIMEOUT]: waits until the last line shown (the prompt) matches REGEX
# (capture-pane drops trailing spaces).
# shellcheck disable=SC2317  # (called through tb_check)
pane_last() {
    local i
    for ((i = 0; i < ${2:-5} * 10; i++)); do
        tm capture-pane -p -t shell | grep -v '^$' | tail -n 1 | grep -Eq -- "$1" && return 0
        sleep 0.1
    done
    echo "last line never matched /$1/:" >&2
    tm capture-pane -p -t shell >&2
    return 1
}
if tm new-session -d -s shell -x 160 -y 50 \
    "env HOME='$TB_DIR' TERM=xterm '$SPLICER_BIN' shell --socket '$sock'; sleep 30"; then
    tb__track_pid "$(tm display -p -t shell '#{pid}')"
    tb_check "the shell shows its prompt" pane_last '^splicer>$'
    tm send-keys -t shell 'show virt' Tab
    tb_check "Tab completes 'show virt' to 'show virtual '" pane_last '^splicer> show virtual$'
    tm send-keys -t shell 'w' Tab
    tb_check "Tab completes a virtual's name (www)" pane_last '^splicer> show virtual www$'
    tm send-keys -t shell Enter
    tb_check "the command runs" pane_has "^www +virtual +$TB_VIP:80 +outside"
    tm send-keys -t shell 'show ports o' Tab
    tb_check "Tab completes a port's name (outside)" pane_last '^splicer> show ports outside$'
    tm send-keys -t shell C-u
    tm send-keys -t shell Up
    tb_check "Up recalls the last command" pane_last '^splicer> show virtual www$'
    tm send-keys -t shell C-u 'show ?' Enter
    tb_check "'?' lists what can follow" pane_has '^ +workers +workers: lcore'
    tb_check "... and gives the line back for editing" pane_last '^splicer> show$'
    tm send-keys -t shell C-u 'shwo' Enter
    tb_check "errors are shown in the shell" pane_has "^error: unknown command 'shwo'; did you mean 'show'\?"
    # A live command, completed word by word, then run.
    tm send-keys -t shell C-u 'out-of' Tab
    tb_check "Tab completes a live command (out-of-service)" pane_last '^splicer> out-of-service$'
    tm send-keys -t shell 'v' Tab 'w' Tab
    tb_check "... its kind and the virtual's name" pane_last '^splicer> out-of-service virtual www$'
    tm send-keys -t shell '?' Enter
    tb_check "'?' lists the out-of-service states" pane_has 'maintenance'
    tm send-keys -t shell C-u 'out-of-service virtual www sticky' Enter
    tb_check "the change is made live" pane_has '^ok$'
    tm send-keys -t shell 'show virtual www' Enter
    tb_check "show virtual shows the new state" pane_has "^www .*sticky"
    tm send-keys -t shell 'exit' Enter
    for _ in $(seq 1 50); do
        [[ -s $TB_DIR/.splicer_history ]] && break
        sleep 0.1
    done
    tb_check "the history file keeps the commands" grep -qx 'show virtual www' "$TB_DIR/.splicer_history"
    tm kill-server 2>/dev/null || true
else
    tb_check "tmux starts a session" false
fi

tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_check "the control socket is removed at shutdown" test ! -e "$sock"
tb_finish
