#!/usr/bin/env bash
# t_impair — transfers through a lossy link (the CI-size version of perf/soak/impair.sh):
# two workers, both ports impaired by Splicer's impairment stage ([port.impair]: 1 % loss,
# 1 % duplication, 1 % reordering by 1 ms, seeded), 240 downloads through the VIP by 16
# concurrent clients on keep-alive connections: 236 of random sizes (log-uniform from 1
# byte to 1 MiB, so mostly small and medium) and 4 large ones of 5 MiB. Every body is
# checked by sha256; after a clean stop the final counters account for every frame the
# stage took (NIC rx = impair_packets; pipeline rx = packets - dropped + duplicated; held =
# released), and the loss and duplication rates are near 1 %.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

TRANSFERS=${T_IMPAIR_TRANSFERS:-240}
SEED=${T_IMPAIR_SEED:-7}

tb_setup
prefix=$(tb_unique_prefix impair)
cfg=$TB_DIR/impair.toml
tb_write_splice_config "$cfg" "$prefix" 2
tb_config_port_lines "$cfg" outside "$(tb_impair_lines 1% 1% 1% "$SEED")" || tb_die "config"
tb_config_port_lines "$cfg" inside "$(tb_impair_lines 1% 1% 1% "$((SEED + 1))")" || tb_die "config"
# A log of its own per run: run.sh may run this test twice into one log dir.
log=$TB_LOG_DIR/splicer-impair-$$.log
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

tb_check "Splicer warns that both ports are impaired" \
    test "$(grep -c 'TEST ONLY impairment' "$log")" -eq 2

out=$TB_DIR/transfers.out
tb_log "$TRANSFERS transfers through 1% loss + 1% duplication + 1% reordering on both ports"
tb_in "$TB_NS_CLIENT" timeout 150 python3 "$TB_REPO/perf/soak/transfers.py" \
    --file "$TB_WWW/files/20m" --transfers "$TRANSFERS" --large 4 --large-size 5m --max-size 1m \
    --clients 16 --keepalive 4 --seed "$SEED" --deadline 120 --progress 10 >"$out"
cat "$out"
summary=$(head -n 1 "$out")
field() { tb_raw_field "$summary" "$1" || echo -1; }
tb_check_cmp "every transfer ran" "$(field not_run)" -eq 0
tb_check_cmp "every transfer has the right status, length and sha256" "$(field failed)" -eq 0
tb_check_cmp "$TRANSFERS transfers ok" "$(field ok)" -eq "$TRANSFERS"

tb_check "Splicer is still running" tb_splicer_alive
tb_stop_splicer
tb_check_cmp "Splicer exits 0 on SIGINT" "$TB_SPLICER_RC" -eq 0
tb_check "final stats logged" grep -q 'final stats' "$log"
tb_check "counters account for every impaired frame" tb_impair_accounting "$log"
tb_impair_accounting "$log" | head -n 1 | sed 's/^/# /'
packets=$(stat_of "$log" impair_packets)
# 1 % of N frames: within 5 standard deviations (sd = sqrt(N * 0.01 * 0.99)).
# shellcheck disable=SC2317  # (called through tb_check)
near_1pct() {
    awk -v k="$1" -v n="$packets" 'BEGIN { m = n * 0.01; sd = sqrt(m * 0.99); exit !(n > 0 && k > m - 5 * sd && k < m + 5 * sd) }'
}
tb_check "impair_dropped is near 1 % of $packets" near_1pct "$(stat_of "$log" impair_dropped)"
tb_check "impair_duplicated is near 1 % of $packets" near_1pct "$(stat_of "$log" impair_duplicated)"
tb_check_cmp "frames were reordered" "$(stat_of "$log" impair_reordered)" -gt 0
tb_check_fails "no panic" grep -q panicked "$log"
tb_finish
