#!/usr/bin/env bash
# t_splice_rules — content switching: the virtual www is bound to s1, s2, s3 (round robin)
# with two rules, `path_prefix = "/img/"` → s2 and `host = "api.test"` → s3:
#  * /img/x is answered by s2, ten times out of ten; Host: api.test by s3, ten out of ten;
#  * 30 requests for / (Host: www) are spread over s1, s2 and s3 (each answers some);
#  * the choice is made per request: on ONE client connection, /img/x, then Host: api.test,
#    then /img/x again are answered by s2, s3, s2;
#  * the servers' logs agree: s1 and s3 never saw an /img/ path, s1 and s2 never saw a
#    request the rules send to s3 (those carry ?api);
#  * SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix splice-rules)
cfg=$TB_DIR/splice-rules.toml
log=$TB_LOG_DIR/splicer-splice-rules.log
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "$TB_RULES_IMG_API"
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

cns=$TB_NS_CLIENT      # the client's namespace
vip=$TB_VIP            # where it sends its requests
base=http://$vip
declare -A mark
for s in s1 s2 s3; do
    mark[$s]=$(tb_access_lines "$s")
done

count() { tb_raw_field "$1" "$2"; } # count TALLY SERVER

t=$(tb_tally 10 "$base/img/x")
tb_check_cmp "/img/x: answered by s2 ($t)" "$(count "$t" s2)" -eq 10
t=$(tb_tally 10 -H 'Host: api.test' "$base/?api")
tb_check_cmp "Host: api.test: answered by s3 ($t)" "$(count "$t" s3)" -eq 10
t=$(tb_tally 30 "$base/")
tb_log "30 requests for /: $t"
for s in s1 s2 s3; do
    tb_check_cmp "/: round robin gives $s some ($t)" "$(count "$t" "$s")" -ge 1
done
tb_check_cmp "/: every request answered ($t)" "$(count "$t" none)" -eq 0

# Per request, not per connection: three requests on one client connection.
w=$(tb_in "$cns" curl -sS -m 10 -o /dev/null -w '%header{x-server} %{num_connects}\n' "$base/img/x" \
    --next -sS -o /dev/null -w '%header{x-server} %{num_connects}\n' -H 'Host: api.test' "$base/?api" \
    --next -sS -o /dev/null -w '%header{x-server} %{num_connects}\n' "$base/img/y")
tb_check "one connection, three requests: s2, s3, s2 ($(tr '\n' ' ' <<<"$w"))" \
    test "$(cut -d' ' -f1 <<<"$w" | tr '\n' ' ')" = "s2 s3 s2 "
tb_check_cmp "... on one client connection" "$(awk '{ s += $2 } END { print s + 0 }' <<<"$w")" -eq 1

# The servers' own view.
for s in s1 s3; do
    tb_check_cmp "$s never saw an /img/ request" \
        "$(tb_access_since "$s" "${mark[$s]}" | grep -c '"GET /img/')" -eq 0
done
for s in s1 s2; do
    tb_check_cmp "$s never saw a request for api.test" \
        "$(tb_access_since "$s" "${mark[$s]}" | grep -c '"GET /?api ')" -eq 0
done
tb_check_cmp "s2 logged the 12 /img/ requests" \
    "$(tb_access_since s2 "${mark[s2]}" | grep -c '"GET /img/')" -eq 12
tb_check_cmp "s3 logged the 11 api.test requests" \
    "$(tb_access_since s3 "${mark[s3]}" | grep -c '"GET /?api ')" -eq 11

tb_ctl show stats >"$TB_LOG_DIR/splice-rules-stats.txt" 2>&1
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
