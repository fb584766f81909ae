#!/usr/bin/env bash
# t_status_page — the status page, /status.json, the metrics' process families and the
# read-only control socket:
#  * reals s1..s3 (nginx) bound to www, metrics on loopback, a read-only control socket;
#    s3 set out of service through the admin socket, then wrk for a few seconds;
#  * the read-only socket (mode 0666, the admin one 0600) answers `show real` and
#    `help`, and refuses `out-of-service real s1`, `clear stats`, `log level` and `save`
#    with "read-only", changing nothing (s1 stays in service);
#  * `GET /` is an HTML page (no-store, a CSP without script) with the virtual, each real
#    and its status (s3 DISABLED, the others UP); `?refresh=0` has no meta refresh, the
#    default one does; HEAD has no body; POST gets 405, `/../metrics` and `/status` 404;
#  * `/status.json` parses: its requests rate was above 0 under wrk, and once wrk is done
#    its figures match `ctl --json show real` (state, weight, tier, moving times,
#    in flight) and `show stats` (requests);
#  * headless Chromium renders the page: a 1280x900 PNG, not blank (many colours, a
#    share of non-white pixels, the green of an UP row and the grey of a DISABLED one);
#    its DOM has the virtual, each real and their states; the screenshot is kept in the
#    test's log dir;
#  * /metrics has splicer_build_info, splicer_start_time_seconds and
#    splicer_mempool_mbufs; `splicer check` refuses metrics on 0.0.0.0 without
#    metrics_public and accepts it with it.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

for c in wrk chromium curl; do
    command -v "$c" >/dev/null || tb_die "missing command '$c' (run scripts/install-deps.sh)"
done
# The picture is checked with Debian's python3-pil, which a python3 from elsewhere (first
# in PATH) may not see.
pil=""
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import PIL' 2>/dev/null; then
        pil=$p
        break
    fi
done
[[ -n $pil ]] || tb_die "missing python3-pil (run scripts/install-deps.sh)"
tb_setup

prefix=$(tb_unique_prefix status)
cfg=$TB_DIR/status.toml
log=$TB_LOG_DIR/splicer-status.log
ro=$TB_DIR/run/status-ro.sock
mport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$mport
tb_write_splice_config "$cfg" "$prefix" 1 "metrics = \"127.0.0.1:$mport\"
control_socket_readonly = \"$ro\""
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

json_get() { python3 -c "import json,sys; d = json.load(sys.stdin); print($1)"; }
roctl() { "$SPLICER_BIN" ctl --socket "$ro" "$@"; }
status_json() { curl -sS -m 5 "$base/status.json"; }

# --- access levels
tb_check "the read-only socket exists" test -S "$ro"
tb_check_cmp "the read-only socket has mode 0666" "$(stat -c %a "$ro")" = 666
tb_check_cmp "the admin socket has mode 0600" "$(stat -c %a "$TB_CTL_SOCK")" = 600
tb_check "out-of-service real s3 on the admin socket" tb_ctl out-of-service real s3
tb_check "read-only: show real answers" bash -c "'$SPLICER_BIN' ctl --socket '$ro' show real | grep -q '^s1 '"
tb_check "read-only: help answers" roctl help
for cmd in "out-of-service real s1" "clear stats" "log level debug" "save $TB_DIR/saved.toml"; do
    # shellcheck disable=SC2086  # (the command's words)
    out=$(roctl $cmd 2>&1)
    rc=$?
    tb_check_cmp "read-only: '$cmd' exits non-zero" "$rc" -ne 0
    tb_check "... saying the socket is read-only" grep -q 'is read-only: use the admin control_socket' <<<"$out"
done
tb_check_cmp "... and s1 is still in service" \
    "$(tb_ctl --json show real s1 | json_get "1 if d[0]['state'] == 'in-service' else 0")" -eq 1
tb_check "... and nothing was saved" test ! -e "$TB_DIR/saved.toml"

# --- traffic
for _ in $(seq 1 20); do
    tb_in "$TB_NS_CLIENT" curl -s -m 5 -o /dev/null "http://$TB_VIP/" || true
done
wrk_out=$TB_LOG_DIR/wrk-status.txt
tb_in "$TB_NS_CLIENT" timeout 30 wrk -t 1 -c 4 -d 6s --timeout 5s "http://$TB_VIP/" >"$wrk_out" 2>&1 &
wrk_pid=$!
tb__track_pid "$wrk_pid"
# Two snapshots of the control core (2 s apart) under load.
sleep 4.5
under_load=$(status_json)
tb_check "/status.json parses under load" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$under_load"
tb_check "... with a requests rate above 0 for www" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
www = [v for v in d["virtuals"] if v["name"] == "www"][0]
assert d["rate_interval_s"] and d["rate_interval_s"] >= 1.5, d["rate_interval_s"]
assert www["requests_per_s"] > 10, www
assert d["totals"]["requests_per_s"] > 10, d["totals"]
assert any(w["rx_packets_per_s"] > 0 for w in d["workers"]), d["workers"]
' "$under_load"
wait "$wrk_pid"
sed 's/^/# | /' "$wrk_out"
sleep 1.5

# --- the page over HTTP
headers=$TB_DIR/page.headers
page=$TB_DIR/page.html
curl -sS -m 5 -D "$headers" -o "$page" "$base/" 2>&1
tb_check "GET / is 200 text/html" grep -qi '^content-type: text/html; charset=utf-8' "$headers"
tb_check "... not cached" grep -qi '^cache-control: no-store' "$headers"
tb_check "... with a CSP that allows no script" grep -qi "^content-security-policy: default-src 'none'; style-src 'unsafe-inline'" "$headers"
tb_check "... refreshing itself every 10 s" grep -qF '<meta http-equiv="refresh" content="10;url=/?refresh=10">' "$page"
tb_check "... showing www and its address" grep -qF "<td class=\"t\">$TB_VIP:80</td>" "$page"
for r in s1 s2; do
    tb_check "... showing $r UP" grep -qE "<td class=\"t\">$r</td><td class=\"t\">[0-9.:]+</td><td class=\"up\">UP</td>" "$page"
done
tb_check "... showing s3 DISABLED (oos)" grep -qE '<td class="t">s3</td><td class="t">[0-9.:]+</td><td class="off">DISABLED</td>' "$page"
tb_check "... and no script" bash -c "! grep -qi '<script' '$page'"
tb_check "?refresh=0 has no meta refresh" bash -c "! curl -sS -m 5 '$base/?refresh=0' | grep -q http-equiv"
tb_check_cmp "HEAD / has no body" "$(curl -sS -m 5 -I "$base/" -o /dev/null -w '%{size_download}')" -eq 0
tb_check_cmp "POST / gets 405" "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "$base/")" -eq 405
tb_check_cmp "/../metrics gets 404" "$(curl -s -m 5 --path-as-is -o /dev/null -w '%{http_code}' "$base/../metrics")" -eq 404
tb_check_cmp "/status gets 404" "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$base/status")" -eq 404

# --- /status.json against the control socket, once the load is over
status_json >"$TB_DIR/status.json" 2>&1
tb_ctl --json show real >"$TB_DIR/show-real.json" 2>&1
tb_ctl --json show stats >"$TB_DIR/show-stats.json" 2>&1
tb_check "/status.json matches show real and show stats" python3 - "$TB_DIR" <<'PY'
import json, sys
d = sys.argv[1]
status = json.load(open(f"{d}/status.json"))
reals = {r["name"]: r for r in json.load(open(f"{d}/show-real.json"))}
stats = json.load(open(f"{d}/show-stats.json"))
ok = True
def check(what, a, b, tol=0.0):
    global ok
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        good = abs(a - b) <= tol
    else:
        good = a == b
    print(("ok  " if good else "BAD ") + f"{what}: {a!r} vs {b!r}")
    ok &= good
assert status["schema"] == 1
names = [r["name"] for r in status["reals"]]
check("reals", names, ["s1", "s2", "s3"])
for r in status["reals"]:
    c = reals[r["name"]]
    check(f"{r['name']} admin state", r["admin_state"], c["state"])
    check(f"{r['name']} health", r["health"], c["health"])
    check(f"{r['name']} weight", r["weight"], c["weight"])
    check(f"{r['name']} tier", r["tier"], c["tier"])
    check(f"{r['name']} in flight", r["in_flight"], c["in_flight"])
    check(f"{r['name']} ttfb ms", r["ttfb_ms"], c["ttfb_ms"], 0.05)
    check(f"{r['name']} total ms", r["total_ms"], c["total_ms"], 0.05)
    check(f"{r['name']} loss", r["loss_percent"], c["loss_percent"], 0.01)
check("s3 status", status["reals"][2]["status"], "DISABLED")
check("s1 status", status["reals"][0]["status"], "UP")
www = status["virtuals"][0]
check("virtual", (www["name"], www["mode"], www["predictor"]), ("www", "splice", "roundrobin"))
# show stats is since `clear stats` (never run here): the same totals.
check("www requests vs http_requests", www["requests_total"], stats["total"]["http_requests"], 2)
check("some requests", www["requests_total"] > 100, True)
s1, s2 = status["reals"][0], status["reals"][1]
check("s1 and s2 served them", s1["requests_total"] > 0 and s2["requests_total"] > 0, True)
check("s3 served none after it went out", status["reals"][2]["requests_total"], 0)
sys.exit(0 if ok else 1)
PY

# --- headless Chromium
shot=$TB_LOG_DIR/status-page.png
rm -f "$shot"
timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$TB_DIR/chromium" --screenshot="$shot" --window-size=1280,900 \
    "$base/?refresh=0" >"$TB_LOG_DIR/chromium-screenshot.log" 2>&1
tb_check "Chromium wrote a screenshot" test -s "$shot"
tb_check "the screenshot is a 1280x900 PNG with a readable page on it" "$pil" - "$shot" <<'PY'
import sys
from PIL import Image
with open(sys.argv[1], "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG"
im = Image.open(sys.argv[1]).convert("RGB")
assert im.size == (1280, 900), im.size
colours = im.getcolors(1 << 24)
pixels = im.size[0] * im.size[1]
white = sum(n for n, c in colours if min(c) >= 250)
share = 1 - white / pixels
print(f"{len(colours)} colours, {share:.1%} not white")
assert len(colours) > 50, "too few colours: blank or nearly"
assert share > 0.05, "almost all white"
def has(rgb, tol=6, least=200):
    n = sum(k for k, c in colours if all(abs(a - b) <= tol for a, b in zip(c, rgb)))
    print(f"{rgb}: {n} pixels")
    return n >= least
assert has((0xb8, 0xe6, 0xb0)), "no green UP cell"
assert has((0xc9, 0xc9, 0xc9)), "no grey DISABLED cell"
assert has((0x2f, 0x4f, 0x6f)), "no table header"
PY
dom=$TB_DIR/page.dom.html
timeout 90 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TB_DIR/chromium" \
    --dump-dom "$base/?refresh=0" >"$dom" 2>"$TB_LOG_DIR/chromium-dom.log"
tb_check "Chromium's DOM has the title" grep -q '<title>Splicer status</title>' "$dom"
tb_check "... the virtual www" grep -qF '<td class="t">www</td>' "$dom"
for r in s1 s2 s3; do
    tb_check "... the real $r" grep -qF "<td class=\"t\">$r</td>" "$dom"
done
tb_check "... UP and DISABLED states" bash -c "grep -qF '>UP</td>' '$dom' && grep -qF '>DISABLED</td>' '$dom'"

# --- metrics
curl -sS -m 5 "$base/metrics" >"$TB_DIR/metrics.txt" 2>&1
tb_check "metrics: splicer_build_info" grep -qE '^splicer_build_info\{version="[0-9.]+"\} 1$' "$TB_DIR/metrics.txt"
tb_check "metrics: splicer_start_time_seconds near now" python3 - "$TB_DIR/metrics.txt" <<'PY'
import sys, time
v = [float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("splicer_start_time_seconds ")]
assert v and 0 <= time.time() - v[0] < 600, v
PY
tb_check "metrics: splicer_mempool_mbufs by state" grep -q '^splicer_mempool_mbufs{state="in_use"} [0-9]' "$TB_DIR/metrics.txt"

# --- metrics_public
pub=$TB_DIR/public.toml
sed "s/^metrics = .*/metrics = \"0.0.0.0:$mport\"/" "$cfg" >"$pub"
out=$("$SPLICER_BIN" check --config "$pub" 2>&1)
tb_check "splicer check refuses metrics on 0.0.0.0 without metrics_public" \
    grep -q 'dataplane.metrics: 0.0.0.0:[0-9]* is not a loopback address' <<<"$out"
sed -i "s/^metrics = .*/&\nmetrics_public = true/" "$pub"
tb_check "... and accepts it with metrics_public = true" "$SPLICER_BIN" check --config "$pub"

tb_check "Splicer is still running" tb_splicer_alive
tb_stop_splicer
tb_check "the read-only socket is removed at shutdown" test ! -e "$ro"
tb_finish
