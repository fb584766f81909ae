#!/usr/bin/env bash
# t_reload — reload from the file without losing a request (issue 17, "Reload"):
#  * Splicer runs with NOTIFY_SOCKET pointing at a stand-in for systemd (notifysock.py):
#    READY=1 arrives once `splicer ready` is logged;
#  * two wrk loads run through the VIP (keep-alive, and `Connection: close`) while the
#    file is rewritten 20 times (s1's weight toggled, a real s4 added to and removed from
#    the bind list, a content rule added and removed) and reloaded, by SIGHUP and by
#    `splicer ctl reload` in turn: every reload is answered or logged with what changed,
#    and wrk reports no socket error and no answer other than 2xx/3xx;
#  * each reload told the service manager RELOADING=1 (with MONOTONIC_USEC) then READY=1;
#  * the running configuration is the file's last version (`show config`);
#  * an invalid file (three problems in three entries) changes nothing: `ctl reload` exits 1
#    and lists every problem as file:line:column, SIGHUP logs the same, and the VIP still
#    answers;
#  * a change that needs a restart (dataplane.stats_interval, a port's gateway) next to a
#    weight change: the weight is applied, the restart-only keys are named "needs a
#    restart; not applied" and keep their running values;
#  * SIGTERM then stops it with exit code 0 and STOPPING=1 sent.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || tb_die "missing command 'wrk' (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix reload)
cfg=$TB_DIR/reload.toml
base=$TB_DIR/reload-base.toml
log=$TB_LOG_DIR/splicer-reload.log
notes=$TB_LOG_DIR/reload-notify.txt
tb_write_splice_config "$base" "$prefix" 1
cp "$base" "$cfg"
cns=$TB_NS_CLIENT
vip=$TB_VIP

# variant I: the base configuration with change I applied, written to $cfg atomically
# (a reload never reads half a file). s1's weight is 3 on odd I; a real s4 (s1's server
# again) is in the bind list when I % 3 == 1; a rule sends /img/ to s2 when I % 4 >= 2.
variant() {
    python3 - "$base" "$cfg.tmp" "$1" "${TB_SERVER_IPS[0]}" <<'PY' && mv "$cfg.tmp" "$cfg"
import re, sys
base, out, i, s1ip = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = open(base).read()
if i % 2 == 1:
    text, n = re.subn(r'(name = "s1"\naddress = "[^"]*"\nweight = )1', r'\g<1>3', text)
    assert n == 1, "no s1 weight"
if i % 3 == 1:
    text = text.replace('[[virtual]]', '[[real]]\nname = "s4"\naddress = "%s:80"\n\n[[virtual]]' % s1ip, 1)
    text, n = re.subn(r'bind = \["s1", "s2", "s3"\]', 'bind = ["s1", "s2", "s3", "s4"]', text)
    assert n == 1, "no bind list"
if i % 4 >= 2:
    text += '\n[[virtual.rule]]\nname = "img"\npath_prefix = "/img/"\nbind = ["s2"]\n'
open(out, "w").write(text)
PY
}

reloads_logged() { grep -c 'control: reload (SIGHUP)' "$log" 2>/dev/null || true; }
notes_count() { grep -c -- "$1" "$notes" 2>/dev/null || true; }

# Until N SIGHUP reloads are in the log (5 s at most).
wait_sighup_reloads() {
    local n=$1 i
    for ((i = 0; i < 50; i++)); do
        (($(reloads_logged) >= n)) && return 0
        sleep 0.1
    done
    echo "$(reloads_logged) SIGHUP reloads logged, want $n"
    return 1
}

tb_spawn "$TB_LOG_DIR/notifysock.err" python3 "$TB_REPO/tests/e2e/notifysock.py" "$TB_DIR/notify.sock" "$notes"
for ((i = 0; i < 50; i++)); do
    [[ -S $TB_DIR/notify.sock ]] && break
    sleep 0.1
done
export NOTIFY_SOCKET=$TB_DIR/notify.sock
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"
unset NOTIFY_SOCKET
splicer=$SPLICER_PID

for ((i = 0; i < 20; i++)); do
    [[ $(notes_count READY=1) -ge 1 ]] && break
    sleep 0.1
done
tb_check_cmp "READY=1 sent to NOTIFY_SOCKET once ready" "$(notes_count READY=1)" -eq 1
tb_check_cmp "no RELOADING=1 before any reload" "$(notes_count RELOADING=1)" -eq 0
tb_check "the VIP answers before the reloads" tb_curl "$cns" "http://$vip/" -o /dev/null -f

# ---- 20 reloads under two wrk loads
secs=40
tb_spawn "$TB_LOG_DIR/wrk-reload-keepalive.txt" ip netns exec "$cns" \
    wrk -t 1 -c 16 -d "${secs}s" --timeout 5s "http://$vip/"
wrk_ka=$TB_SPAWNED_PID
tb_spawn "$TB_LOG_DIR/wrk-reload-close.txt" ip netns exec "$cns" \
    wrk -t 1 -c 4 -d "${secs}s" --timeout 5s -H 'Connection: close' "http://$vip/"
wrk_close=$TB_SPAWNED_PID
started=$SECONDS
sleep 2

hups=0 ctl_ok=0 answers=$TB_LOG_DIR/reload-answers.txt
: >"$answers"
for ((i = 1; i <= 20; i++)); do
    variant "$i" || tb_die "cannot write variant $i"
    if ((i % 2 == 1)); then
        kill -HUP "$splicer"
        hups=$((hups + 1))
        wait_sighup_reloads "$hups" >>"$answers" 2>&1
    else
        if tb_ctl reload >>"$answers" 2>&1; then
            ctl_ok=$((ctl_ok + 1))
        fi
    fi
    if ((i == 19)); then
        # Variant 19 has everything: s1 at weight 3, s4 bound, the rule img.
        tb_ctl show config >"$TB_DIR/running-19.toml" 2>&1
    fi
    sleep 0.5
done
tb_check "after reload 19 (SIGHUP): s1 weight 3, s4 bound, the rule img" python3 -c '
import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))
w = {r["name"]: r["weight"] for r in c["real"]}
v = c["virtual"][0]
ok = w.get("s1") == 3 and "s4" in w and "s4" in v["bind"] and [r["name"] for r in v.get("rule", [])] == ["img"]
sys.exit(0 if ok else 1)' "$TB_DIR/running-19.toml"
tb_check_cmp "10 SIGHUP reloads logged" "$(reloads_logged)" -eq 10
tb_check_cmp "10 'ctl reload' answered with success" "$ctl_ok" -eq 10
tb_check_cmp "every ctl reload said what it reloaded" "$(grep -c '^reloaded ' "$answers")" -eq 10
tb_check "a reload named the real s4 added" grep -Eq 'reals added s4' "$log"
tb_check "a reload named the real s4 removed" grep -Eq 'reals removed s4' "$log"
tb_check "a reload named s1 changed" grep -q 'changed s1' "$log"
tb_check "a reload named the virtual www changed" grep -Eq 'virtuals changed www' "$log"
tb_check_fails "no reload refused" grep -q 'reload .* refused' "$log"
tb_check_fails "no restart-only key reported during the 20 reloads" grep -q 'needs a restart' "$answers" "$log"

# wrk's verdict (it runs its full duration).
for pid in "$wrk_ka" "$wrk_close"; do
    tb__wait_gone "$pid" $((secs - (SECONDS - started) + 30)) || true
done
for f in keepalive close; do
    out=$TB_LOG_DIR/wrk-reload-$f.txt
    sed 's/^/# | /' "$out"
    reqs=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
    errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$out" |
        awk '{ print $1 + $2 + $3 + $4 }')
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$out")
    tb_check_cmp "wrk $f: requests completed across the 20 reloads" "${reqs:-0}" -gt 100
    tb_check_cmp "wrk $f: no socket errors (connect, read, write, timeout)" "${errors:-0}" -eq 0
    tb_check_cmp "wrk $f: no answer other than 2xx/3xx" "${non2xx:-0}" -eq 0
done

tb_check_cmp "RELOADING=1 sent for each of the 20 reloads" "$(notes_count RELOADING=1)" -eq 20
tb_check_cmp "RELOADING=1 carries MONOTONIC_USEC" "$(grep -c 'RELOADING=1 MONOTONIC_USEC=[0-9]' "$notes")" -eq 20
tb_check_cmp "READY=1 after each reload (and at start)" "$(notes_count READY=1)" -eq 21

# The running configuration is variant 20 (s1 at weight 1, no s4, no rule).
running=$TB_DIR/running.toml
tb_ctl show config >"$running" 2>&1
tb_check_fails "running config (variant 20): no rule img" grep -q 'name = "img"' "$running"
tb_check_fails "running config (variant 20): no real s4" grep -q 's4' "$running"
tb_check "running config (variant 20): s1 at weight 1" python3 -c '
import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))
sys.exit(0 if [r["weight"] for r in c["real"] if r["name"] == "s1"] == [1] else 1)' "$running"

# ---- an invalid file changes nothing
good=$(tb_ctl show config)
cp "$cfg" "$TB_DIR/reload-good.toml"
python3 - "$cfg" <<'PY'
import re, sys
p = sys.argv[1]
text = open(p).read()
# Three problems in three entries: a weight that is not a number (s1), an address with a
# port beyond 65535 (s2), and a URL without its url key.
text, n = re.subn(r'(name = "s1"\naddress = "[^"]*"\nweight = )1', r'\g<1>"heavy"', text)
assert n == 1
text, n = re.subn(r'(name = "s2"\naddress = "[^"]*):80"', r'\g<1>:99999"', text)
assert n == 1
text += '\n[[url]]\nname = "nowhere"\n'
open(p, "w").write(text)
PY
weight_line=$(grep -n 'weight = "heavy"' "$cfg" | cut -d: -f1)
bad_line=$(grep -n ':99999"' "$cfg" | cut -d: -f1)
url_line=$(grep -n '^\[\[url\]\]' "$cfg" | cut -d: -f1)
rc=0
tb_ctl reload >"$TB_LOG_DIR/reload-invalid.txt" 2>&1 || rc=$?
sed 's/^/# | /' "$TB_LOG_DIR/reload-invalid.txt"
tb_check_cmp "invalid file: ctl reload exits 1" "$rc" -eq 1
tb_check "invalid file: says nothing was changed" grep -q 'nothing was changed' "$TB_LOG_DIR/reload-invalid.txt"
tb_check "invalid file: the weight problem at $cfg:$weight_line:10" \
    grep -q "$cfg:$weight_line:10: real\[0\].weight: " "$TB_LOG_DIR/reload-invalid.txt"
tb_check "invalid file: the address problem at $cfg:$bad_line:11" \
    grep -q "$cfg:$bad_line:11: real\[1\].address: " "$TB_LOG_DIR/reload-invalid.txt"
tb_check "invalid file: the url problem at line $url_line" \
    grep -q "$cfg:$url_line:1: url\[0\].url: " "$TB_LOG_DIR/reload-invalid.txt"
tb_check_cmp "invalid file: exactly the 3 problems listed" \
    "$(grep -c "^$cfg:[0-9]*:[0-9]*: \|error: $cfg:[0-9]*:[0-9]*: " "$TB_LOG_DIR/reload-invalid.txt")" -eq 3
tb_check "invalid file: the running configuration is unchanged" test "$(tb_ctl show config)" == "$good"
hups_before=$(grep -c 'reload (SIGHUP) refused' "$log")
kill -HUP "$splicer"
for ((i = 0; i < 50; i++)); do
    (($(grep -c 'reload (SIGHUP) refused' "$log") > hups_before)) && break
    sleep 0.1
done
tb_check "invalid file: SIGHUP logs the problems with line:column" grep -q "$cfg:$weight_line:10: real\[0\].weight" "$log"
tb_check "invalid file: still unchanged after SIGHUP" test "$(tb_ctl show config)" == "$good"
tb_check "invalid file: the VIP still answers" tb_curl "$cns" "http://$vip/" -o /dev/null -f
tb_check "invalid file: Splicer still runs" tb_running "$splicer"

# ---- a change that needs a restart, next to one that does not
python3 - "$TB_DIR/reload-good.toml" "$cfg.tmp" <<'PY' && mv "$cfg.tmp" "$cfg"
import re, sys
text = open(sys.argv[1]).read()
text = text.replace('stats_interval = "1s"', 'stats_interval = "7s"', 1)
text = text.replace('address = "198.19.0.1/24"', 'address = "198.19.0.1/24"\ngateway = "198.19.0.254"', 1)
text, n = re.subn(r'(name = "s2"\naddress = "[^"]*"\nweight = )1', r'\g<1>5', text)
assert n == 1
open(sys.argv[2], "w").write(text)
PY
answer=$(tb_ctl reload 2>&1)
printf '%s\n' "$answer" | sed 's/^/# | /'
tb_check "restart-only: the weight change is applied (reals changed s2)" grep -q 'reals changed s2' <<<"$answer"
tb_check "restart-only: keys named as needing a restart" \
    grep -q 'needs a restart; not applied: dataplane.stats_interval, port\[1\].gateway' <<<"$answer"
running=$(tb_ctl show config)
tb_check "restart-only: stats_interval keeps its running value" grep -q 'stats_interval = "1s"' <<<"$running"
tb_check_fails "restart-only: no gateway in the running configuration" grep -q 'gateway' <<<"$running"
tb_check "restart-only: s2's weight is 5 now" \
    python3 -c 'import sys,tomllib; c=tomllib.loads(sys.stdin.read()); sys.exit(0 if [r["weight"] for r in c["real"] if r["name"]=="s2"]==[5] else 1)' <<<"$running"
tb_check "the VIP answers after the reloads" tb_curl "$cns" "http://$vip/" -o /dev/null -f

rc=0
tb_stop_splicer TERM 20 || rc=$?
tb_check_cmp "SIGTERM: exit code 0" "$rc" -eq 0
tb_check "STOPPING=1 sent on stop" grep -q 'STOPPING=1' "$notes"
tb_check_fails "no panic or backtrace in the log" grep -Eqi 'panicked|backtrace' "$log"

tb_finish
