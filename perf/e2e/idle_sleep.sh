#!/usr/bin/env bash
# perf/e2e/idle_sleep.sh — the latency cost of dataplane.idle_sleep (docs/CONFIGURATION.md,
# `idle_sleep`), one Splicer on the e2e test bed (tests/e2e/lib.sh, spl-* names: run it
# under the e2e lock), every setting in the same run, ROUNDS rounds interleaved:
#   * ping RTT to the VIP (ICMP answered by Splicer itself), one echo every 50 ms: the
#     worker is idle between them, so each pays the wake-up;
#   * curl's TCP connect time to the VIP (the SYN answered by Splicer: one round trip)
#     and time to the first response byte (through the splice to nginx), a new
#     connection every 50 ms;
#   * the Splicer process's CPU time over 5 s with no traffic (what busy polling costs).
# Prints one line per setting and round, then a table of medians and 90th percentiles
# over the rounds (milliseconds; CPU in % of one core).
#
#   flock /tmp/splicer-e2e-run.lock env SPLICER_BIN=target/release/splicer perf/e2e/idle_sleep.sh
#
# Environment: SETTINGS (default "0s 100us 1ms"), ROUNDS (2), SAMPLES per probe (40).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
. "$(dirname "$0")/../../tests/e2e/lib.sh"

SETTINGS=${SETTINGS:-"0s 100us 1ms"}
ROUNDS=${ROUNDS:-2}
SAMPLES=${SAMPLES:-40}
tb_setup
raw=$TB_DIR/idle-sleep.tsv
: >"$raw"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for ((round = 1; round <= ROUNDS; round++)); do
    for setting in $SETTINGS; do
        prefix=$(tb_unique_prefix "idle-$round-${setting}")
        cfg=$TB_DIR/idle.toml
        tb_write_splice_config "$cfg" "$prefix" 1
        sed -i "s/^idle_sleep = .*/idle_sleep = \"$setting\"/" "$cfg"
        grep -qx "idle_sleep = \"$setting\"" "$cfg" || tb_die "idle_sleep not set in $cfg"
        tb_start_splicer "$cfg" "$TB_LOG_DIR/splicer-idle-$round-$setting.log" || tb_die "Splicer did not start ($setting)"
        # Warm up: neighbours resolved, pools open.
        tb_curl "$TB_NS_CLIENT" "http://$TB_VIP/" -o /dev/null
        sleep 1
        tb_in "$TB_NS_CLIENT" ping -c "$SAMPLES" -i 0.05 -W 1 "$TB_VIP" |
            sed -n 's/.*time=\([0-9.]*\) ms.*/ping \1/p' >"$TB_DIR/samples"
        for ((i = 0; i < SAMPLES; i++)); do
            tb_in "$TB_NS_CLIENT" curl -sS -o /dev/null --max-time 5 \
                -w 'connect %{time_connect}\nfirst_byte %{time_starttransfer}\n' "http://$TB_VIP/" |
                awk '{printf "%s %.3f\n", $1, $2 * 1000}' >>"$TB_DIR/samples"
            sleep 0.05
        done
        t0=$(cpu_ticks "$SPLICER_PID")
        sleep 5
        t1=$(cpu_ticks "$SPLICER_PID")
        echo "cpu $(((t1 - t0) * 100 / ($(getconf CLK_TCK) * 5)))" >>"$TB_DIR/samples"
        awk -v s="$setting" -v r="$round" '{print s "\t" r "\t" $1 "\t" $2}' "$TB_DIR/samples" >>"$raw"
        tb_stop_splicer INT 20 >/dev/null
        tb_log "round $round, idle_sleep $setting: $(awk '{n[$1]++} END {for (k in n) printf "%s=%d ", k, n[k]}' "$TB_DIR/samples")"
    done
done

python3 - "$raw" "$SETTINGS" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
settings = sys.argv[2].split()
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]
print("| idle_sleep | ping p50 | ping p90 | connect p50 | connect p90 | first byte p50 | first byte p90 | idle CPU % of a core | samples |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in settings:
    get = lambda k: [float(r[3]) for r in rows if r[0] == s and r[2] == k]
    ping, conn, fb, cpu = get("ping"), get("connect"), get("first_byte"), get("cpu")
    print(f"| `{s}` | {pct(ping,.5):.3f} | {pct(ping,.9):.3f} | {pct(conn,.5):.3f} | {pct(conn,.9):.3f} | "
          f"{pct(fb,.5):.3f} | {pct(fb,.9):.3f} | {statistics.mean(cpu):.0f} | {len(ping)}/{len(conn)} |")
PY
tb_finish
