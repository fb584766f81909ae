#!/usr/bin/env bash
# t_seed3 — the rest of Cisco's "Server load balancing method and system" (US 7,099,915)
# with real peers, on two workers (a client's connections are spread over both):
#  * cookie matcher: the virtual www binds s1 and s2, and its rule `cookie = { name =
#    "session", value = "blue" }` binds s3: requests carrying that cookie (alone, among
#    other cookies, in a second Cookie field) are answered by s3, ten out of ten; a
#    cookie of another name or value, a name in another case, the pair in another
#    header never reach s3;
#  * client stickiness with a timer (`sticky = "3s"`): one client address, a new TCP
#    connection per request, lands on one real for as long as it comes back within the
#    timer (across both workers: sticky_hits moves on each); a pause longer than the
#    timer rebalances it (sticky_expired), and over a few such pauses it is seen on the
#    other real; its real taken out of service moves it at once (sticky_dropped);
#  * URLs beside reals (cross-site sharing, "a third of the traffic ... to
#    www.book.com"): the virtual shared binds s1, s2 and the URL book (weight 1 each);
#    of 300 requests, the share answered with a 302 to book is within 5 % of 1/3, the
#    rest are spliced to s1 and s2;
#  * SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix seed3)
cfg=$TB_DIR/seed3.toml
log=$TB_LOG_DIR/splicer-seed3.log
TB_CTL_SOCK=$TB_DIR/run/seed3.sock
timer=3
tb_write_config "$cfg" "$prefix" 2 "control_socket = \"$TB_CTL_SOCK\"" \
    "bind = [\"s1\", \"s2\"]
sticky = \"${timer}s\"
sticky_table = 1024" \
    "$(tb_reals)" '[[virtual.rule]]
name = "blue"
cookie = { name = "session", value = "blue" }
bind = ["s3"]

[[virtual]]
name = "shared"
address = "'"$TB_VIP"':8080"
bind = ["s1", "s2", "book"]

[[url]]
name = "book"
url = "http://www.book.test/%d"
weight = 1'
tb_client_add_addr 198.18.0.3 198.18.0.4 198.18.0.5
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT
base=http://$TB_VIP
ok_ctl() { tb_check "ctl $*" tb_ctl "$@"; }
# json_stat KEY [WORKER]: a counter from `show stats --json`, the total or one worker's.
json_stat() {
    tb_ctl --json show stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
key, worker = sys.argv[1], sys.argv[2]
print(d["total"].get(key, 0) if worker == "" else d["workers"][int(worker)]["counters"].get(key, 0))
' "$1" "${2:-}"
}
count() { tb_raw_field "$1" "$2"; } # count TALLY SERVER

# ---- the cookie matcher (from client addresses of their own: stickiness does not
# apply to the rule's set, s3 alone, but keeps the other requests off s3 anyway)
t=$(tb_tally 10 --interface 198.18.0.5 -H 'Cookie: session=blue' "$base/")
tb_check_cmp "Cookie: session=blue → s3 ($t)" "$(count "$t" s3)" -eq 10
t=$(tb_tally 5 --interface 198.18.0.5 -H 'Cookie: theme=dark; session=blue; lang=en' "$base/")
tb_check_cmp "session=blue among other cookies → s3 ($t)" "$(count "$t" s3)" -eq 5
t=$(tb_tally 5 --interface 198.18.0.5 -H 'Cookie: theme=dark' -H 'Cookie: session=blue' "$base/")
tb_check_cmp "session=blue in a second Cookie field → s3 ($t)" "$(count "$t" s3)" -eq 5
for h in 'Cookie: session=blue2' 'Cookie: session=Blue' 'Cookie: Session=blue' \
    'Cookie: mysession=blue' 'Cookie: session=blue=x' 'X-Cookie: session=blue'; do
    t=$(tb_tally 3 --interface 198.18.0.5 -H "$h" "$base/")
    tb_check_cmp "'$h' never reaches s3 ($t)" "$(count "$t" s3)" -eq 0
    tb_check_cmp "'$h' answered by s1 or s2 ($t)" "$(($(count "$t" s1) + $(count "$t" s2)))" -eq 3
done
tb_check_cmp "rule hits of blue: the 20 requests with the cookie" \
    "$(tb_ctl --json show stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(r["hits"] for r in d["rules"] if r["virtual"] == "www" and r["rule"] == "blue"))')" -eq 20

# ---- stickiness with a timer
# run ADDR N: N requests from ADDR, a new connection each; prints the servers seen.
run() {
    local addr=$1 n=$2 i
    for ((i = 0; i < n; i++)); do
        tb_who --interface "$addr" "$base/"
    done | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'
}
a=198.18.0.2
hits0=$(json_stat sticky_hits)
seen=$(run "$a" 20)
tb_log "client $a, 20 connections: $seen"
tb_check "one real for all 20 connections ($seen)" test "$(wc -w <<<"$seen")" -eq 1
first=${seen%%=*}
tb_check "... s1 or s2 ($first)" test "$first" = s1 -o "$first" = s2
# Other clients meanwhile: balanced over both, each sticky to its own.
for b in 198.18.0.3 198.18.0.4; do
    s=$(run "$b" 5)
    tb_check "client $b: one real for its 5 connections ($s)" test "$(wc -w <<<"$s")" -eq 1
done
tb_check "sticky_hits counted the 19 + 2 x 4 returning connections" \
    tb_wait_stat_gt "$log" sticky_hits $((hits0 + 19 + 8 - 1)) 5
w0=$(json_stat sticky_hits 0) w1=$(json_stat sticky_hits 1)
tb_check "both workers sent a client to its real from the shared table (worker 0: $w0, worker 1: $w1)" \
    test "$w0" -gt 0 -a "$w1" -gt 0
# A pause shorter than the timer keeps it. The entry is refreshed first: the checks
# above take their own time (ctl under load), which would count into the pause.
seen=$(run "$a" 1)
tb_check "just before the pause: still $first ($seen)" test "$seen" = "$first=1 "
sleep $((timer - 2))
seen=$(run "$a" 3)
tb_check "after $((timer - 2)) s: still $first ($seen)" test "$seen" = "$first=3 "
# Longer pauses rebalance it; over a few it lands on the other real.
expired0=$(json_stat sticky_expired)
moved=0
for round in 1 2 3 4 5 6 7 8 9 10; do
    sleep $((timer + 1))
    seen=$(run "$a" 5)
    tb_log "round $round, after $((timer + 1)) s: $seen"
    tb_check "round $round: one real for the 5 connections after the pause ($seen)" \
        test "$(wc -w <<<"$seen")" -eq 1
    [[ ${seen%%=*} != "$first" ]] && { moved=$round; break; }
done
tb_check "a pause longer than the timer rebalanced the client onto the other real (round $moved)" \
    test "$moved" -gt 0
tb_check_cmp "sticky_expired counted each rebalancing" "$(json_stat sticky_expired)" -ge $((expired0 + moved))
# Its real out of service: moved at once.
now_on=${seen%%=*}
other=s1
[[ $now_on == s1 ]] && other=s2
dropped0=$(json_stat sticky_dropped)
ok_ctl out-of-service real "$now_on"
seen=$(run "$a" 5)
tb_check "$now_on out of service: the client moves to $other at once ($seen)" test "$seen" = "$other=5 "
tb_check_cmp "sticky_dropped counted it" "$(json_stat sticky_dropped)" -eq $((dropped0 + 1))
ok_ctl in-service real "$now_on"
seen=$(run "$a" 5)
tb_check "back in service: the client stays on $other ($seen)" test "$seen" = "$other=5 "
tb_ctl show stats | grep -E 'sticky_' | sed 's/^/# /'

# ---- URLs beside reals: a third of the requests redirected to www.book.test
redirects0=$(json_stat http_redirects)
out=$(tb_in "$cns" python3 - "$TB_VIP" <<'PY'
import http.client, sys
vip = sys.argv[1]
counts = {}
for i in range(300):
    c = http.client.HTTPConnection(vip, 8080, timeout=5)
    c.request("GET", f"/doc{i}")
    r = c.getresponse()
    r.read()
    if r.status == 302:
        loc = r.getheader("Location")
        key = "book" if loc == f"http://www.book.test/doc{i}" else "bad-location"
    elif r.status == 200:
        key = r.getheader("X-Server") or "no-server"
    else:
        key = f"status{r.status}"
    counts[key] = counts.get(key, 0) + 1
    c.close()
print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
PY
)
tb_log "300 requests to shared: $out"
book=$(tb_raw_field "$out" book || echo 0)
s1n=$(tb_raw_field "$out" s1 || echo 0)
s2n=$(tb_raw_field "$out" s2 || echo 0)
tb_check_cmp "every request redirected to book or spliced to s1/s2 ($out)" $((book + s1n + s2n)) -eq 300
# |book/300 - 1/3| <= 5 %: 85..115 of 300.
tb_check "the redirected share is within 5 % of 1/3 (book=$book of 300: $((book * 1000 / 300)) per mille)" \
    test "$book" -ge 85 -a "$book" -le 115
tb_check "the rest spliced to both reals (s1=$s1n s2=$s2n)" test "$s1n" -gt 0 -a "$s2n" -gt 0
tb_check_cmp "http_redirects counted the redirects" $(($(json_stat http_redirects) - redirects0)) -eq "$book"

tb_stop_splicer INT
tb_check "Splicer exits 0 on SIGINT" test "$TB_SPLICER_RC" -eq 0
tb_finish
