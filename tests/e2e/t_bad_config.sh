#!/usr/bin/env bash
# t_bad_config — configuration errors are reported, not crashed into. For each bad input
# `splicer run --config FILE` must exit with code 2, print exactly one line starting with
# `splicer: error:` on stderr that by itself names the offending key (a TOML error then
# shows the offending line with a caret on the lines after it), and print no `panicked` /
# `backtrace`:
#  * an unknown key (`wokers = 1`)                        -> names `wokers`
#  * workers = 2 with only two lcores (`-l 0-1`)          -> names `dataplane.workers`
#  * two [[port]] sections but one --vdev (this passes config validation and fails after
#    EAL initialisation)                                  -> names the ports and both counts,
#    and Splicer leaves no /var/run/dpdk/<prefix> behind
#  * an address without a prefix length ("198.18.0.1")   -> names `port[0].address`
#  * a configuration file that does not exist            -> names the file
# The ports here are net_ring devices: no kernel interface is created.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_init
[[ -x $SPLICER_BIN ]] || tb_die "no Splicer binary at $SPLICER_BIN"

# config PREFIX WORKERS_LINE LCORE_ARGS VDEV_ARGS ADDRESS0: a config with two ports.
config() {
    cat <<EOF
[dataplane]
eal = [$3, "--no-pci", "--no-huge", "--no-shconf", "-m", "512", "--file-prefix", "$1", $4]
$2
stats_interval = "1s"

[[port]]
name = "outside"
address = "$5"

[[port]]
name = "inside"
address = "198.19.0.1/24"

[[virtual]]
name = "www"
address = "198.18.0.100:80"
EOF
}

TWO_RINGS='"--vdev", "net_ring0", "--vdev", "net_ring1"'
ONE_RING='"--vdev", "net_ring0"'

# expect_error NAME CONFIG_FILE NEEDLE... : exit 2, one `splicer: error:` line matching
# every NEEDLE (an extended regex), no panic.
expect_error() {
    local name=$1 cfg=$2 out err rc=0 n needle
    shift 2
    out=$TB_LOG_DIR/$name.stdout
    err=$TB_LOG_DIR/$name.stderr
    timeout -s INT -k 5 60 env --default-signal "$SPLICER_BIN" run --config "$cfg" \
        </dev/null >"$out" 2>"$err" || rc=$?
    ERROR_LINE=$(grep -a '^splicer: error:' "$err" | head -n 1) || true
    tb_log "$name: exit $rc: ${ERROR_LINE:-<no splicer: error: line>}"
    tb_check_cmp "$name: exit code 2" "$rc" -eq 2
    n=$(grep -ac '^splicer: error:' "$err") || true
    if ! tb_check_cmp "$name: exactly one 'splicer: error:' line on stderr" "${n:-0}" -eq 1; then
        sed 's/^/    | /' "$err" | tail -n 15
    fi
    for needle in "$@"; do
        # The first line alone must say it: that is what a log or a script shows.
        tb_check "$name: the error line matches /$needle/" grep -Eq -- "$needle" <<<"$ERROR_LINE"
    done
    tb_check_fails "$name: no panic or backtrace" grep -Eqi 'panicked|backtrace' "$out" "$err"
}

# 1. unknown key
p=$(tb_unique_prefix badcfg-key)
tb_register_prefix "$p"
config "$p" 'wokers = 1' '"-l", "0-1"' "$TWO_RINGS" 198.18.0.1/24 >"$TB_DIR/unknown-key.toml"
expect_error unknown-key "$TB_DIR/unknown-key.toml" 'wokers'

# 2. more workers than lcores allow
p=$(tb_unique_prefix badcfg-workers)
tb_register_prefix "$p"
config "$p" 'workers = 2' '"-l", "0-1"' "$TWO_RINGS" 198.18.0.1/24 >"$TB_DIR/workers.toml"
expect_error workers "$TB_DIR/workers.toml" 'dataplane\.workers'
tb_check "workers: no /var/run/dpdk/$p left" test ! -e "/var/run/dpdk/$p"

# 3. two [[port]] but one DPDK port: fails after EAL init
p=$(tb_unique_prefix badcfg-ports)
tb_register_prefix "$p"
config "$p" 'workers = 1' '"-l", "0-1"' "$ONE_RING" 198.18.0.1/24 >"$TB_DIR/ports.toml"
expect_error port-count "$TB_DIR/ports.toml" '[Pp]ort' '(^|[^0-9])2([^0-9]|$)' '(^|[^0-9])1([^0-9]|$)'
tb_check "port-count: no /var/run/dpdk/$p left" test ! -e "/var/run/dpdk/$p"

# 4. address without prefix length
p=$(tb_unique_prefix badcfg-address)
tb_register_prefix "$p"
config "$p" 'workers = 1' '"-l", "0-1"' "$TWO_RINGS" 198.18.0.1 >"$TB_DIR/address.toml"
expect_error address "$TB_DIR/address.toml" 'port\[0\]\.address'

# 5. missing file
missing=$TB_DIR/does-not-exist.toml
expect_error missing-file "$missing" "$(basename "$missing" | sed 's/\./\\./g')"

tb_finish
