#!/usr/bin/env bash
# t_live — live reconfiguration through the control socket, HTTP redirects, DIPs and
# backups (Cisco's "Server load balancing method and system", US 7,099,915), with real
# peers:
#  * the redirect virtual acme (VIP:8080) is bound to URLs u1, u2 linked to the DIPs of
#    s1 and s2; `curl -L` is sent a 302 to http://<DIP>/<document> and lands on that
#    real through its DIP, which splices it to the real (X-Server, body byte-exact);
#  * the redirect itself: 302, Location with %d expanded, Connection: close;
#  * `out-of-service real s1`: redirects go to u2 only; a connection to s1's DIP gets 503,
#    then (after `backup s1 s3`) is spliced to s3, then (after `backup s1 u2`) is
#    redirected to s2, then (after `backup s1 acme`) gets a fresh redirect from acme;
#    `in-service real s1` brings it back;
#  * bad commands change nothing and say what is wrong;
#  * under wrk load on the splice virtual www: `weight s1 0`, then
#    `out-of-service real s2`: from one second after each command the real gets no new
#    request, and wrk sees no error and no non-2xx answer; `show flows` lists the
#    client connections meanwhile;
#  * `out-of-service ... sticky`: a keep-alive connection keeps its real, new connections
#    go elsewhere;
#  * `save` writes a file that `splicer check` accepts and that, loaded by a restarted
#    Splicer, gives the same `show config`; it keeps the comments of the file Splicer
#    was started with (top, inline on a changed value) and changes only what changed;
#  * `out-of-service real s3 maintenance` closes s3's idle pooled connections within a
#    second, `in-service` refills them; `out-of-service real s3 failed` resets a download
#    in progress from s3 at once (the client sees a RST within a second of the answer).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || tb_die "missing command 'wrk' (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix live)
cfg=$TB_DIR/live.toml
log=$TB_LOG_DIR/splicer-live.log
s1=${TB_SERVER_IPS[0]} s2=${TB_SERVER_IPS[1]}
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "[[virtual]]
name = \"acme\"
address = \"$TB_VIP:8080\"
mode = \"redirect\"
bind = [\"u1\", \"u2\"]

[[url]]
name = \"u1\"
url = \"http://$s1/%d\"
link = \"$s1\"

[[url]]
name = \"u2\"
url = \"http://$s2/%d\"
link = \"$s2\"

[[dip]]
address = \"$s1\"
port = \"outside\"

[[dip]]
address = \"$s2\"
port = \"outside\""
# Comments `save` must keep (toml_edit edits only what changed): one at the top, one
# after s1's weight (the first real), whose value changes below.
sed -i -e '1i # t_live: a comment save keeps' -e '0,/^weight = 1$/s//weight = 1   # t_live: s1 share/' "$cfg"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
# The client reaches the DIPs (the reals' addresses) through Splicer's outside port.
ip -n "$cns" route add "${s1%.*}.0/24" via "$TB_OUT_IP" || tb_die "cannot add the DIP route"

# follow URL: "EFFECTIVE_URL SERVER SHA256" after following redirects.
follow() {
    local out
    out=$(tb_in "$cns" curl -sS -L -m 5 -o "$TB_DIR/follow.body" \
        -w '%{url_effective} %header{x-server}' "$1" 2>/dev/null)
    printf '%s %s\n' "${out:-none none}" "$(sha256sum "$TB_DIR/follow.body" | cut -d' ' -f1)"
}
server_of() { tb_in "$cns" curl -sS -m 5 -o /dev/null -w '%header{x-server}' "$1" 2>/dev/null || true; }
status_of() { tb_in "$cns" curl -sS -m 5 -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true; }
ok_ctl() { tb_check "ctl $*" tb_ctl "$@"; }
# same DESC A B: the strings A and B are equal.
same() {
    local shown=$2
    [[ $shown == *$'\n'* || ${#shown} -gt 100 ]] && shown="${#2} bytes"
    tb_check "$1 ($shown)" test "$2" = "$3"
}

acme=http://$TB_VIP:8080
want=$(tb_sha256 100k)
seen=""
for i in 1 2 3 4; do
    read -r url who sum <<<"$(follow "$acme/files/100k")"
    tb_log "curl -L $acme/files/100k → $url ($who)"
    case $who in
    s1) same "redirect $i lands on s1 through its DIP" "$url" "http://$s1/files/100k" ;;
    s2) same "redirect $i lands on s2 through its DIP" "$url" "http://$s2/files/100k" ;;
    *) tb_check "redirect $i lands on s1 or s2 (got '$who')" false ;;
    esac
    same "redirect $i: the body is the real's file" "$sum" "$want"
    seen="$seen $who"
done
tb_check "round robin over the two URLs: both seen ($seen)" \
    bash -c "grep -q s1 <<<'$seen' && grep -q s2 <<<'$seen'"

head=$(tb_in "$cns" curl -sS -m 5 -D - -o /dev/null "$acme/a/b.html?x=1" 2>/dev/null | tr -d '\r')
tb_check "the redirect is a 302" grep -q '^HTTP/1.1 302' <<<"$head"
tb_check "... to the document asked for (%d)" \
    grep -Eq "^Location: http://($s1|$s2)/a/b.html\\?x=1\$" <<<"$head"
tb_check "... with Connection: close" grep -qi '^Connection: close$' <<<"$head"
tb_check_cmp "http_redirects counted" "$(tb_ctl --json show stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["http_redirects"])')" -ge 5

# Out of service: the URL linked to s1's DIP inherits the state.
ok_ctl out-of-service real s1
seen=""
for i in 1 2 3 4; do
    read -r url who _ <<<"$(follow "$acme/files/1b")"
    seen="$seen $who"
done
same "s1 out of service: every redirect goes to s2 ($seen)" "$seen" " s2 s2 s2 s2"
same "a connection to s1's DIP, no backup: 503" "$(status_of "http://$s1/")" 503
ok_ctl backup s1 s3
same "backup s1 s3: s1's DIP is served by s3" "$(server_of "http://$s1/")" s3
ok_ctl backup s1 u2
read -r url who sum <<<"$(follow "http://$s1/files/100k")"
same "backup s1 u2: s1's DIP redirects to u2 ($url)" "$url" "http://$s2/files/100k"
same "... served by s2" "$who" s2
same "... byte-exact" "$sum" "$want"
ok_ctl backup s1 acme
read -r url who _ <<<"$(follow "http://$s1/files/1b")"
same "backup s1 acme: s1's DIP gets a fresh redirect from acme, to s2 ($url)" "$url" "http://$s2/files/1b"
same "... served by s2" "$who" s2
ok_ctl in-service real s1
same "in-service real s1: its DIP is s1 again" "$(server_of "http://$s1/")" s1

# Bad commands: an error on stderr, exit non-zero, nothing changed.
before=$(tb_ctl show config)
err=$(tb_ctl weight s9 5 2>&1 >/dev/null)
tb_check "weight s9: refused" test $? -ne 0 -a -n "$err"
tb_check "... naming the real ($err)" grep -q 's9 does not exist' <<<"$err"
err=$(tb_ctl weight s1 2000 2>&1 >/dev/null)
tb_check "weight 2000: refused, naming the range ($err)" grep -q '0..=1000' <<<"$err"
err=$(tb_ctl no real s1 2>&1 >/dev/null)
tb_check "no real s1 while bound: refused ($err)" grep -q 'bound' <<<"$err"
after=$(tb_ctl show config)
same "failed commands changed nothing" "$after" "$before" || diff <(echo "$before") <(echo "$after") | sed 's/^/# | /'


# Under load: each change takes effect within a second, with no failed request.
declare -A mark
for s in s1 s2 s3; do mark[$s]=$(tb_access_lines "$s"); done
wrk_out=$TB_LOG_DIR/wrk-live.txt
tb_in "$cns" timeout 40 wrk -t 2 -c 20 -d 9s --timeout 5s "http://$TB_VIP/" >"$wrk_out" 2>&1 &
wrk_pid=$!
tb__track_pid "$wrk_pid"
sleep 2
flows=$(tb_ctl show flows limit 5)
tb_log "show flows under load:"
printf '%s\n' "$flows" | sed 's/^/# | /'
tb_check "show flows lists client connections of www" grep -q 'www' <<<"$flows"
ok_ctl weight s1 0
sleep 1
s1_after=$(tb_access_lines s1)
sleep 2
ok_ctl out-of-service real s2
sleep 1
s2_after=$(tb_access_lines s2)
s3_mid=$(tb_access_lines s3)
wait "$wrk_pid"
rc=$?
sed 's/^/# | /' "$wrk_out"
tb_check_cmp "wrk ran" "$rc" -eq 0
tb_check "wrk: no socket errors" bash -c "! grep -q 'Socket errors' '$wrk_out'"
tb_check "wrk: only 2xx answers" bash -c "! grep -q 'Non-2xx' '$wrk_out'"
tb_check_cmp "s1 served requests before weight 0" "$((s1_after - mark[s1]))" -gt 0
tb_check_cmp "weight s1 0: s1 got no request from a second after" "$(($(tb_access_lines s1) - s1_after))" -eq 0
tb_check_cmp "out-of-service s2: s2 got no request from a second after" "$(($(tb_access_lines s2) - s2_after))" -eq 0
tb_check_cmp "s3 carried the load at the end" "$(($(tb_access_lines s3) - s3_mid))" -gt 0
tb_check_cmp "config_updates counted" "$(tb_ctl --json show stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["config_updates"])')" -ge 6

# sticky: a keep-alive connection that a real served stays on it; new ones go elsewhere.
# s1 and s2 are out of the running now (weight 0, oos): back in service first.
ok_ctl weight s1 1
ok_ctl in-service real s2
sticky=$(tb_in "$cns" timeout 30 python3 - "$TB_VIP" "$SPLICER_BIN" "$TB_CTL_SOCK" <<'PY'
import socket, subprocess, sys
vip, splicer, sock = sys.argv[1:4]

def ask(conn):
    conn.sendall(b"GET /?sticky HTTP/1.1\r\nHost: www\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    fields = dict(l.split(b": ", 1) for l in head.split(b"\r\n")[1:])
    while len(body) < int(fields[b"Content-Length"]):
        body += conn.recv(65536)
    return fields[b"X-Server"].decode()

kept = socket.create_connection((vip, 80), timeout=5)
first = ask(kept)
subprocess.run([splicer, "ctl", "--socket", sock, "out-of-service", "real", first, "sticky"], check=True,
               stdout=subprocess.DEVNULL)
again = [ask(kept) for _ in range(4)]
fresh = []
for _ in range(6):
    with socket.create_connection((vip, 80), timeout=5) as c:
        fresh.append(ask(c))
print(first, " ".join(again), "|", " ".join(fresh))
PY
)
tb_log "sticky: first real, then the same connection | new connections: $sticky"
read -r first _ <<<"$sticky"
same "sticky: the connection's next requests stay on its real" \
    "$(cut -d'|' -f1 <<<"$sticky" | xargs)" "$first $first $first $first $first"
tb_check "... and no new connection goes to $first ($(cut -d'|' -f2 <<<"$sticky"))" \
    bash -c "[[ -n '$first' ]] && ! grep -qw '$first' <<<'$(cut -d'|' -f2 <<<"$sticky")'"
ok_ctl in-service real "${first:-s1}"
ok_ctl weight s1 0
ok_ctl out-of-service real s2

# save: the running state, as a file that reproduces it.
saved=$TB_DIR/live-saved.toml
answer=$(tb_ctl save "$saved")
same "save answers that it kept the started file's comments" "$answer" \
    "saved to $saved (comments and layout of $cfg kept)"
tb_check "splicer check accepts the saved file" "$SPLICER_BIN" check --config "$saved" || sed 's/^/# | /' "$saved"
tb_check "the saved file keeps s1's weight 0" grep -q '^weight = 0' "$saved"
tb_check "... and s2 out of service" grep -q '^state = "oos"' "$saved"
tb_check "... and the top comment" grep -qx '# t_live: a comment save keeps' "$saved"
tb_check "... and the comment after s1's weight, on the changed line" \
    grep -qx 'weight = 0   # t_live: s1 share' "$saved"
same "... and the only line of the started file that changed is s1's weight" \
    "$(diff "$cfg" "$saved" | grep '^<')" '< weight = 1   # t_live: s1 share' ||
    diff "$cfg" "$saved" | sed 's/^/# | /'
running=$(tb_ctl show config)
tb_stop_splicer
tb_check_cmp "Splicer exits 0" "$TB_SPLICER_RC" -eq 0
tb_start_splicer "$saved" "$TB_LOG_DIR/splicer-live-saved.log" || tb_die "Splicer did not start from the saved file"
same "restarted from the saved file: the same show config" "$(tb_ctl show config)" "$running"
same "... and s2 still gets nothing, s3 answers" "$(server_of "http://$TB_VIP/?x")" s3

# maintenance: the real's idle pooled connections close (pool 4 by default).
tb_check_cmp "s3 holds pooled connections from Splicer" "$(tb_server_conns s3)" -gt 0
ok_ctl out-of-service real s3 maintenance
sleep 1
tb_check_cmp "maintenance: s3 holds no connection from Splicer a second later" "$(tb_server_conns s3)" -eq 0
same "... and new requests get 503 (no real left)" "$(status_of "http://$TB_VIP/")" 503
ok_ctl in-service real s3
sleep 1
same "in-service: s3 answers again" "$(server_of "http://$TB_VIP/?y")" s3
tb_check_cmp "... and its pool is refilled" "$(tb_server_conns s3)" -gt 0

# failed: a download in progress from s3 is reset at once. The slow reader is a loop of
# small reads (about 530 kB/s) that sees the reset within one read: curl --limit-rate
# stops watching its socket for as long as its rate budget says (hundreds of ms after a
# large read), which on a loaded machine alone took the check past its second.
tb_in "$cns" timeout 40 python3 -c '
import socket, sys, time
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # the reset comes after what is queued
c.settimeout(20)
c.connect((sys.argv[1], 80))
c.sendall(b"GET /files/20m HTTP/1.1\r\nHost: www\r\n\r\n")
got = 0
try:
    while True:
        b = c.recv(16384)
        if not b:
            print("eof", got); sys.exit(2)
        got += len(b)
        time.sleep(0.03)
except OSError as e:
    print("error", type(e).__name__, got); sys.exit(1)
' "$TB_VIP" >"$TB_DIR/slow.out" 2>&1 &
slow=$!
tb__track_pid "$slow"
sleep 1.5
ok_ctl out-of-service real s3 failed
started=$(date +%s%N)
wait "$slow"
rc=$?
took=$((($(date +%s%N) - started) / 1000000))
tb_log "slow reader: $(cat "$TB_DIR/slow.out")"
tb_check_cmp "failed: the download from s3 ends with an error (the reader's exit code)" "$rc" -eq 1
tb_check "... a reset, not a clean end ($(cat "$TB_DIR/slow.out"))" grep -q '^error ConnectionResetError' "$TB_DIR/slow.out"
tb_check_cmp "... within a second of the command's answer (${took} ms)" "$took" -lt 1000
tb_check_cmp "... counted in reset_failed" "$(tb_ctl --json show stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["reset_failed"])')" -ge 2
tb_check_cmp "... and s3 holds no connection from Splicer" "$(tb_server_conns s3)" -eq 0
tb_stop_splicer
tb_check_cmp "Splicer exits 0" "$TB_SPLICER_RC" -eq 0

tb_finish
