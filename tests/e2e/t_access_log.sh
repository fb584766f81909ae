#!/usr/bin/env bash
# t_access_log — the access log (docs/ACCESS-LOG.md) against a known mix of requests:
#  * 6 GETs to /img/ (rule1 → s2), 6 to / (bind list, round robin over s1..s3), 3 to a
#    missing file (404 from nginx), a POST with a 5-byte body, a malformed request
#    (Splicer's 400), a redirect (virtual acme, 302), and 3 requests pipelined in one
#    send: exactly one JSON line each, with the status, virtual, rule, real, method,
#    path, bytes each way (exact for the raw requests) and sane timings
#    (head + queue + server first byte <= total), terminations `--`, `PR`, `LR`;
#  * a request line over 96 bytes is cut and marked truncated;
#  * reopen: while h2load sends 20000 requests, the file is moved and Splicer gets
#    SIGUSR1: the old file and the new one together hold every request, none twice;
#    then again with `splicer ctl log reopen`;
#  * access_log_dropped and access_log_sampled stay 0; `log reopen` is refused when the
#    log is off.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v h2load >/dev/null || tb_die "missing command 'h2load' (run scripts/install-deps.sh)"

tb_setup

prefix=$(tb_unique_prefix accesslog)
cfg=$TB_DIR/accesslog.toml
log=$TB_LOG_DIR/splicer-accesslog.log
alog=$TB_DIR/access.log
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "$TB_RULES_IMG_API

[[virtual]]
name = \"acme\"
address = \"$TB_VIP:8080\"
mode = \"redirect\"
bind = [\"u1\"]

[[url]]
name = \"u1\"
url = \"http://elsewhere.test/%d\"

[access_log]
path = \"$alog\"
format = \"json\""
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
vip=$TB_VIP

# lines FILE: how many lines FILE has (0 when it does not exist).
lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }
# settle: the control core writes every 20 ms; a little more for the last line.
settle() { sleep 0.3; }

# 1. The mix.
for i in 1 2 3 4 5 6; do
    tb_in "$cns" curl -sS -m 5 -o /dev/null "http://$vip/img/x$i" || true
    tb_in "$cns" curl -sS -m 5 -o /dev/null "http://$vip/?n=$i" || true
done
for i in 1 2 3; do
    tb_in "$cns" curl -sS -m 5 -o /dev/null "http://$vip/files/missing$i" || true
done
post='POST /post?name=al1 HTTP/1.1\r\nHost: www\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'
r_post=$(tb_raw_http "$cns" "$vip" 80 5 "$post")
bad='GARBAGE\r\n\r\n'
r_bad=$(tb_raw_http "$cns" "$vip" 80 5 "$bad")
r_redirect=$(tb_raw_http "$cns" "$vip" 8080 5 'GET /doc.html HTTP/1.1\r\nHost: acme\r\n\r\n')
pipe='GET /p1 HTTP/1.1\r\nHost: www\r\n\r\nGET /img/p2 HTTP/1.1\r\nHost: www\r\n\r\nGET /p3 HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n'
r_pipe=$(tb_raw_http "$cns" "$vip" 80 5 "$pipe")
long="GET /$(printf 'l%.0s' $(seq 1 150)) HTTP/1.1\\r\\nHost: www\\r\\nConnection: close\\r\\n\\r\\n"
r_long=$(tb_raw_http "$cns" "$vip" 80 5 "$long")
tb_log "post: $r_post; bad: $r_bad; redirect: $r_redirect; pipelined: $r_pipe; long: $r_long"
settle

# The bytes each raw request sent (escapes as rawhttp.py reads them).
raw_len() { printf '%b' "$1" | wc -c; }
out=$(python3 - "$alog" "$(raw_len "$post")" "$(tb_raw_field "$r_post" bytes)" \
    "$(tb_raw_field "$r_bad" bytes)" <<'EOF'
import json, sys
path, post_in, post_out, bad_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
recs = [json.loads(l) for l in open(path)]
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
want(len(recs) == 22, f"{len(recs)} lines, want 22")
by = lambda f: [r for r in recs if f(r)]
img = by(lambda r: r["path"].startswith("/img/x"))
want(len(img) == 6 and all(r["real"] == "s2" and r["rule"] == "rule1" and r["status"] == 200 for r in img), f"/img/: {img}")
root = by(lambda r: r["path"].startswith("/?n="))
want(len(root) == 6 and all(r["rule"] == "bind" and r["status"] == 200 for r in root), f"/: {root}")
want(sorted({r["real"] for r in root}) == ["s1", "s2", "s3"], f"round robin: {[r['real'] for r in root]}")
missing = by(lambda r: r["path"].startswith("/files/missing"))
want(len(missing) == 3 and all(r["status"] == 404 and r["term"] == "--" for r in missing), f"404: {missing}")
post = by(lambda r: r["method"] == "POST")
want(len(post) == 1 and post[0]["bytes_in"] == post_in and post[0]["bytes_out"] == post_out
     and post[0]["status"] in (201, 204), f"POST (in {post_in}, out {post_out}): {post}")
bad = by(lambda r: r["method"] == "GARBAGE")
want(len(bad) == 1 and bad[0]["status"] == 400 and bad[0]["term"] == "PR" and bad[0]["real"] == "-"
     and bad[0]["bytes_out"] == bad_out and bad[0]["server_us"] is None, f"400 (out {bad_out}): {bad}")
red = by(lambda r: r["virtual"] == "acme")
want(len(red) == 1 and red[0]["status"] == 302 and red[0]["term"] == "LR" and red[0]["path"] == "/doc.html", f"redirect: {red}")
pipe = by(lambda r: r["path"] in ("/p1", "/img/p2", "/p3"))
want(sorted(r["path"] for r in pipe) == ["/img/p2", "/p1", "/p3"] and all(r["status"] == 200 for r in pipe), f"pipelined: {pipe}")
want([r["real"] for r in pipe if r["path"] == "/img/p2"] == ["s2"], f"pipelined /img/p2: {pipe}")
long = by(lambda r: r["truncated"])
want(len(long) == 1 and long[0]["status"] == 200 and len(long[0]["path"]) < 96 and long[0]["version"] == "", f"long: {long}")
for r in recs:
    t = [r[k] for k in ("head_us", "queue_us", "server_us")]
    if r["total_us"] is None or r["total_us"] < 0 or any(x is not None and x < 0 for x in t) \
            or sum(x for x in t if x is not None) > r["total_us"] or r["total_us"] > 5_000_000:
        problems.append(f"timings: {r}")
    if r["real"] != "-" and (r["server_us"] is None or r["queue_us"] is None):
        problems.append(f"spliced without timings: {r}")
    if r["client"] != "198.18.0.2" or not r["time"].endswith("Z"):
        problems.append(f"client/time: {r}")
print("ok" if not problems else "; ".join(problems))
EOF
)
tb_check "the log has one line per request, as sent ($out)" test "$out" = ok

# 2. Reopen on SIGUSR1 while h2load sends 20000 requests: none lost, none twice.
before=$(lines "$alog")
n=20000
tb_in "$cns" h2load --h1 -n "$n" -c 4 "http://$vip/" >"$TB_DIR/h2load.out" 2>&1 &
h2=$!
# The move comes once h2load's requests are being logged (at most 5 s).
for _ in $(seq 1 50); do
    (($(lines "$alog") > before + 100)) && break
    sleep 0.1
done
mv "$alog" "$alog.1"
kill -USR1 "$SPLICER_PID"
wait "$h2"
tb_log "h2load: $(grep -a 'requests:' "$TB_DIR/h2load.out")"
settle
old=$(lines "$alog.1")
new=$(lines "$alog")
tb_check "h2load: $n succeeded" grep -q "$n succeeded" "$TB_DIR/h2load.out"
tb_check "after SIGUSR1 a new file at the path gets lines ($new)" test "$new" -gt 0
tb_check "old + new files hold every request: $before + $n = $old + $new" \
    test $((before + n)) -eq $((old + new))
tb_check "the moved file kept the lines before the move ($old > $before)" test "$old" -gt "$before"

# 3. Reopen through the control socket.
mv "$alog" "$alog.2"
tb_check "ctl log reopen" tb_ctl log reopen
for i in 1 2 3 4; do
    tb_in "$cns" curl -sS -m 5 -o /dev/null "http://$vip/after-ctl$i" || true
done
settle
tb_check "4 requests after 'log reopen' are the new file's 4 lines" test "$(lines "$alog")" -eq 4
tb_check "... all of them" test "$(grep -c '/after-ctl' "$alog")" -eq 4
tb_check "... none in the moved file" test "$(grep -c '/after-ctl' "$alog.2")" -eq 0

stats=$(tb_ctl show stats 2>&1)
drop=$(awk '$1 == "access_log_dropped" { print $2 }' <<<"$stats")
sampled=$(awk '$1 == "access_log_sampled" { print $2 }' <<<"$stats")
tb_check "access_log_dropped = ${drop:-missing}, access_log_sampled = ${sampled:-missing}" \
    test "${drop:-x}/${sampled:-x}" = 0/0

tb_stop_splicer INT 20
tb_check "Splicer stopped cleanly" test "${TB_SPLICER_RC:-1}" -eq 0

# 4. With the log off, `log reopen` says so.
cfg2=$TB_DIR/accesslog-off.toml
tb_write_splice_config "$cfg2" "$prefix" 1
tb_start_splicer "$cfg2" "$TB_LOG_DIR/splicer-accesslog-off.log" || tb_die "Splicer did not start (log off)"
tb_check_fails "log reopen is refused when the access log is off" tb_ctl log reopen
tb_stop_splicer INT 20

tb_finish
