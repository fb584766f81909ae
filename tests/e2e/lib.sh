# shellcheck shell=bash disable=SC2034  # (variables are for the tests that source this file)
# tests/e2e/lib.sh — the end-to-end test bed for Splicer. Source it from a test:
#
#     . "$(dirname "$0")/lib.sh"
#     tb_setup                       # namespaces, bridge, veths, nginx; trap EXIT installed
#     cat >"$TB_DIR/splicer.toml" <<EOF ... EOF
#     tb_start_splicer "$TB_DIR/splicer.toml" "$TB_LOG_DIR/splicer.log"
#     tb_check "client pings the VIP" tb_ping "$TB_NS_CLIENT" "$TB_VIP"
#     tb_finish                      # exit 0 when every check passed
#
# Topology (see tests/e2e/README.md for the picture):
#   spl-client   client namespace: the TAP spl-out (Splicer's "outside" port) moved in,
#                198.18.0.2/24 (plus whatever tb_client_add_addr adds)
#   spl-lan      a bridge br0; the TAP spl-in (Splicer's "inside" port) moved in and
#                enslaved; one veth pair per server (lan side veth-sN)
#   spl-s1..3    servers: veth0 with 198.19.0.11..13/24, nginx on <address>:80
#   Splicer:     outside 198.18.0.1/24, inside 198.19.0.1/24, VIP 198.18.0.100:80, port MACs
#                $TB_MAC_OUT / $TB_MAC_IN when a test puts them in its --vdev arguments.
# IPv6 is disabled in every namespace (no router/neighbour solicitations as noise).
#
# Set-up and teardown
#   tb_init                  ownership (one test bed per machine, waits up to 30 s for
#                            another to finish), EXIT/INT/TERM/HUP traps, work dir,
#                            removal of a crashed earlier run's leftovers. No network.
#   tb_setup                 tb_init + namespaces, bridge, veths, test files, nginx x3, and a
#                            self-check of the servers (curl from another server namespace)
#   tb_teardown              stops Splicer (SIGINT, then SIGKILL) and every process we started
#                            (by PID), deletes our namespaces (which destroys moved TAPs),
#                            removes /var/run/dpdk/<prefix> and hugepage files of every
#                            registered prefix, removes the work dir. Safe to call twice;
#                            runs from the EXIT trap.
#   tb_cleanup_leftovers     what tb_init runs: kills PIDs recorded by a crashed run (checked
#                            by start time), deletes our namespace names, stale
#                            /var/run/dpdk/spl-e2e-* folders.
# Splicer
#   tb_start_splicer CONFIG [LOG]   starts `splicer run --config CONFIG` in the background
#                            (stderr+stdout to LOG), waits (TB_READY_TIMEOUT, 30 s) for
#                            `splicer ready`, then moves the TAPs into the namespaces and
#                            configures them. Sets SPLICER_PID, SPLICER_LOG.
#   tb_start_dataplane REGEX LOG PREFIX CMD...   the same for any DPDK command (testpmd...)
#   tb_attach_taps           move spl-out -> spl-client, spl-in -> spl-lan/br0, give their
#                            kernel sides MACs of their own ($TB_KMAC_OUT, $TB_KMAC_IN: net_tap
#                            copies the DPDK port's MAC there), addresses, up
#   tb_stop_splicer [SIG] [TIMEOUT]   SIGINT (default) and wait up to TIMEOUT (20 s) seconds;
#                            SIGKILL after that. Returns Splicer's exit code (also in
#                            TB_SPLICER_RC); 0 when none is running.
#   tb_splicer_alive         0 while the Splicer we started runs
#   tb_register_prefix P     remove /var/run/dpdk/P (and hugepage files) in teardown
#   tb_prefix_of CONFIG      prints the --file-prefix found in CONFIG's eal list
#   tb_write_config FILE PREFIX [WORKERS] [DATAPLANE_LINES] [VIRTUAL_LINES] [REALS] [RULES]
#                            writes the test bed's Splicer configuration (see below)
#   tb_reals [POOL] [MAXCONNS]   prints [[real]] blocks s1..s3 (the three nginx servers,
#                            weight 1; pool 4 and maxconns 64 unless given) for REALS
#   tb_write_splice_config FILE PREFIX [WORKERS] [DATAPLANE_LINES] [VIRTUAL_LINES] [RULES]
#                          [POOL] [MAXCONNS]
#                            tb_write_config with the reals of tb_reals, the virtual www in
#                            mode "splice", predictor "roundrobin", bound to s1, s2, s3, and
#                            a control socket (sets TB_CTL_SOCK for tb_ctl)
#   tb_ctl ARGS...           splicer ctl --socket $TB_CTL_SOCK ARGS...
#   tb_config_port_lines FILE PORT LINES   adds LINES (e.g. a [port.impair] table) to the
#                            [[port]] named PORT in FILE, at the end of that port's block
#   tb_impair_lines LOSS DUP REORDER [SEED] [DELAY] [JITTER]   prints a [port.impair]
#                            table (percentages like 1%, durations like 2ms)
#   tb_impair_accounting LOG   checks the final `stats` lines of a run with both ports
#                            impaired: every frame examined (NIC rx = impair_packets), the
#                            pipeline got impair_packets - dropped + duplicated, and every
#                            held frame released; prints the figures, 1 when they disagree
#   tb_unique_prefix NAME    prints spl-e2e-NAME-<pid> (tb_start_splicer registers the
#                            prefix it finds in the config)
# Statistics (from Splicer's `stats ...` log lines)
#   stat_of LOG KEY          KEY's value in the LAST `stats total` line (0 if absent)
#   tb_stat LOG SEL KEY      same for the last `stats SEL ...` line, SEL = total | worker=N |
#                            port=NAME
#   tb_stats_count LOG       number of `stats total` lines so far
#   tb_wait_stats_line LOG [TIMEOUT]   wait for one more `stats total` line (fresh values)
#   tb_fresh_stat LOG KEY    tb_wait_stats_line then stat_of
#   tb_wait_stat_gt LOG KEY VALUE [TIMEOUT]   wait until stat_of LOG KEY > VALUE
# Traffic helpers
#   tb_in NS CMD...          ip netns exec NS CMD...
#   tb_http_status ARGS...   HTTP status code curl gets from the client for ARGS
#   tb_ping NS DEST [ping args...]     3 echoes, 0 when at least one is answered
#   tb_arping_mac NS IFACE DEST        prints the MAC of the first ARP reply, 1 if none
#   tb_client_add_addr CIDR...         extra client addresses (kept across Splicer restarts)
#   tb_who CURL_ARGS...                the server (X-Server) that answers the client, or none
#   tb_tally N CURL_ARGS...            tb_who N times: "s1=A s2=B s3=C none=D"
#   tb_curl NS URL [curl args...]      curl -sS --max-time 10
#   tb_check_servers         every server answers a curl from another server namespace with
#                            its name, X-Server header, and the right /files/100k bytes
#   tb_tap_anywhere NAME     0 when an interface NAME exists in the root or any namespace
#   tb_sha256 NAME           sha256 of test body NAME (0b 1b 100k 20m; sizes in TB_SIZE); under
#                            $TB_WWW/files/NAME and every server serves them as /files/NAME
#   tb_sha256_of FILE        sha256 of FILE (just the hex digest)
#   tb_body_ok NAME FILE...  0 when every FILE holds test body NAME (by sha256)
#   tb_raw_http NS HOST PORT WAIT PIECE...   one TCP connection from NS; sends the PIECEs
#                            (C escapes like \r\n; "+0.5" sleeps), reads up to WAIT seconds;
#                            prints "statuses=400,200 end=eof|reset|timeout bytes=N" (rawhttp.py)
#   tb_raw_status HOST PORT WAIT PIECE...    the first status code tb_raw_http sees from the
#                            client (000 when none)
#   tb_raw_field LINE KEY    a field of tb_raw_http's line ("end", "statuses", "bytes")
#   tb_check_refusal LOG DESC STATUS COUNTER PIECE...   sends the PIECEs to the VIP; checks
#                            the answer is STATUS, Splicer closes the connection, and
#                            COUNTER (stat_of LOG) moves
#   tb_spawn LOG CMD...      starts CMD in the background (output to LOG), tracked for
#                            teardown; its PID in TB_SPAWNED_PID (call directly, not in $())
#   tb_extra_server NAME IP URL LOG CMD...  adds IP to the third server namespace, starts
#                            CMD there (tb_spawn, output to LOG) and waits up to 5 s for
#                            URL to answer from the first; dies naming NAME if it does not
#   tb_running PID           0 while PID runs (a zombie counts as gone)
#   tb_access_log NAME       path of server NAME's (s1..s3) nginx access log, whose lines are
#                            `$connection $connection_requests $remote_addr:$remote_port
#                            "$request" $status $request_length $body_bytes_sent`
#   tb_xff_log NAME          path of server NAME's second access log, whose lines are
#                            `$remote_addr "$http_x_forwarded_for" "$http_x_forwarded_proto"
#                            "$request" $request_length`; every answer also carries the
#                            headers X-Seen-XFF and X-Seen-XFP (the request's, when not empty)
#   tb_access_lines NAME     how many lines that log has now (a mark for tb_access_since)
#   tb_access_since NAME N   its lines after the first N
#   tb_server_conns NAME [FROM]   established TCP connections to server NAME's port 80 from
#                            FROM (default Splicer's inside address $TB_IN_IP), now
# Checks and reporting
#   tb_log MSG / tb_die MSG  progress line / fatal error (exit 1, teardown runs)
#   tb_check DESC CMD...     run CMD; "ok N - DESC" or "not ok N - DESC" plus its output.
#                            CMD runs in a subshell: what it changes in the test bed's
#                            variables is lost (call tb_client_add_addr etc. directly)
#   tb_check_fails DESC CMD...   same, but CMD is expected to fail
#   tb_check_cmp DESC A OP B     integer comparison (OP: -eq -ne -gt -ge -lt -le)
#   tb_finish                prints a summary; exit 0 when every check passed, else 1
#
# Environment: SPLICER_BIN (default <repo>/target/release/splicer), SPLICER_E2E_LOGDIR (logs
# go there instead of the work dir, run.sh sets it), SPLICER_E2E_KEEP=1 (keep the work dir),
# TB_READY_TIMEOUT (30).

TB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SPLICER_BIN=${SPLICER_BIN:-$TB_REPO/target/release/splicer}
TB_NAME=$(basename "${0%.sh}")

TB_NS_CLIENT=spl-client
TB_NS_LAN=spl-lan
TB_NS_SERVERS=(spl-s1 spl-s2 spl-s3)
TB_SERVER_IPS=(198.19.0.11 198.19.0.12 198.19.0.13)
TB_ALL_NS=("$TB_NS_CLIENT" "$TB_NS_LAN" "${TB_NS_SERVERS[@]}")
TB_TAP_OUT=spl-out
TB_TAP_IN=spl-in
TB_CLIENT_IP=198.18.0.2
TB_OUT_IP=198.18.0.1
TB_IN_IP=198.19.0.1
TB_VIP=198.18.0.100
# MACs for Splicer's DPDK ports: tests pass them as net_tap's mac= devarg so that they are
# known before any ARP.
TB_MAC_OUT=02:73:70:6c:00:01
TB_MAC_IN=02:73:70:6c:00:02
# net_tap gives the kernel side of each TAP the same MAC as the DPDK port. Left so, the
# bridge in spl-lan would take frames for Splicer's inside MAC as its own (local fdb entry)
# and never forward them to spl-in; tb_attach_taps gives the kernel sides these instead.
TB_KMAC_OUT=02:73:70:6c:10:01
TB_KMAC_IN=02:73:70:6c:10:02
TB_CLIENT_ADDRS=("$TB_CLIENT_IP/24")

TB_STATE_DIR=/run/spl-e2e
TB_LOCK_FILE=$TB_STATE_DIR/lock
TB_OWNER_FILE=$TB_STATE_DIR/owner
TB_PID_FILE=$TB_STATE_DIR/pids

# sha256 of the deterministic test bodies (prefixes of the stream `seq -f %07.0f 0 2621439`:
# "0000000\n0000001\n..."; 20m is the whole stream, 100k its first 102400 bytes, 1b "0").
declare -A TB_SHA256=(
    [0b]=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    [1b]=5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9
    [100k]=9b5d9b61f3e39599b913a9b8d346ebd26ee078106302ae173d19b44f1a9d6daf
    [20m]=59d07381441bc2d80d61a7f7481f86033579403d304cc9deff6dbf2cb8adac95
)
declare -A TB_SIZE=([0b]=0 [1b]=1 [100k]=102400 [20m]=20971520)

# Mutable state.
TB_INITIALISED=0
TB_TORN_DOWN=0
TB_DIR=""
TB_LOG_DIR=""
TB_WWW=""
SPLICER_PID=""
SPLICER_LOG=""
TB_CTL_SOCK=""
TB_SPAWNED_PID=""
TB_SPLICER_RC=""
TB_PIDS=()          # every process we started (nginx, dataplanes, helpers)
declare -A TB_NGINX_PIDS=()  # s1 -> PID of that server's nginx
TB_PREFIXES=()      # DPDK file prefixes to clean
TB_SPLICER_LOGS=()  # for the failure report
TB_CHECKS=0
TB_FAILURES=0

# ---------------------------------------------------------------- reporting

tb_log() { printf '# [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

tb_die() {
    printf 'FATAL: %s\n' "$*" >&2
    TB_FAILURES=$((TB_FAILURES + 1))
    exit 1
}

# tb_check DESC CMD... : runs CMD, records and prints the outcome; never exits.
tb_check() {
    local desc=$1 out rc=0
    shift
    TB_CHECKS=$((TB_CHECKS + 1))
    out=$("$@" 2>&1) || rc=$?
    if [[ $rc -eq 0 ]]; then
        printf 'ok %d - %s\n' "$TB_CHECKS" "$desc"
        return 0
    fi
    TB_FAILURES=$((TB_FAILURES + 1))
    printf 'not ok %d - %s (exit %d: %s)\n' "$TB_CHECKS" "$desc" "$rc" "$*"
    [[ -n $out ]] && printf '%s\n' "$out" | tail -n 20 | sed 's/^/    | /'
    return 1
}

# tb_check_fails DESC CMD... : CMD must exit non-zero.
tb_check_fails() {
    local desc=$1 out rc=0
    shift
    TB_CHECKS=$((TB_CHECKS + 1))
    out=$("$@" 2>&1) || rc=$?
    if [[ $rc -ne 0 ]]; then
        printf 'ok %d - %s\n' "$TB_CHECKS" "$desc"
        return 0
    fi
    TB_FAILURES=$((TB_FAILURES + 1))
    printf 'not ok %d - %s (succeeded but must fail: %s)\n' "$TB_CHECKS" "$desc" "$*"
    [[ -n $out ]] && printf '%s\n' "$out" | tail -n 20 | sed 's/^/    | /'
    return 1
}

# tb_check_cmp DESC A OP B : integer comparison, e.g. tb_check_cmp "replies" "$n" -gt 0
tb_check_cmp() {
    local desc=$1 a=$2 op=$3 b=$4
    TB_CHECKS=$((TB_CHECKS + 1))
    if [[ $a =~ ^-?[0-9]+$ && $b =~ ^-?[0-9]+$ ]] && test "$a" "$op" "$b"; then
        printf 'ok %d - %s (%s %s %s)\n' "$TB_CHECKS" "$desc" "$a" "$op" "$b"
        return 0
    fi
    TB_FAILURES=$((TB_FAILURES + 1))
    printf 'not ok %d - %s (%s %s %s is false)\n' "$TB_CHECKS" "$desc" "$a" "$op" "$b"
    return 1
}

tb_finish() {
    if [[ $TB_FAILURES -eq 0 ]]; then
        printf '# %s: all %d checks passed\n' "$TB_NAME" "$TB_CHECKS"
        exit 0
    fi
    printf '# %s: %d of %d checks failed\n' "$TB_NAME" "$TB_FAILURES" "$TB_CHECKS"
    exit 1
}

# ---------------------------------------------------------------- processes

# Start time (clock ticks since boot) of PID, to recognise it later; fails when gone.
tb__starttime() {
    local stat fields
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    read -r -a fields <<<"$stat"
    printf '%s\n' "${fields[19]}"
}

# 0 while PID runs (a zombie counts as gone).
tb__alive() {
    local stat
    [[ -n ${1:-} ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# Remember a PID we started, here and in the state file (for a crashed run's successor).
tb__track_pid() {
    local pid=$1 st
    TB_PIDS+=("$pid")
    st=$(tb__starttime "$pid") || return 0
    printf '%s %s\n' "$pid" "$st" >>"$TB_PID_FILE"
}

# Wait until PID has exited (bounded); 0 when it has.
tb__wait_gone() {
    local pid=$1 timeout=${2:-10} i
    for ((i = 0; i < timeout * 10; i++)); do
        tb__alive "$pid" || return 0
        sleep 0.1
    done
    ! tb__alive "$pid"
}

# Stop PID: SIGNAL (default TERM), wait, then SIGKILL. Only for our own PIDs.
tb__kill() {
    local pid=$1 sig=${2:-TERM} timeout=${3:-5}
    tb__alive "$pid" || return 0
    kill -s "$sig" "$pid" 2>/dev/null || true
    tb__wait_gone "$pid" "$timeout" && return 0
    kill -s KILL "$pid" 2>/dev/null || true
    tb__wait_gone "$pid" 5
}

# ---------------------------------------------------------------- init / teardown

tb__on_exit() {
    local rc=$?
    tb_teardown
    exit "$rc"
}

# One test bed per machine: $TB_OWNER_FILE names the owning shell (PID and start time). The
# flock only guards the check-and-write; it is not held while the test runs, so processes a
# test leaves behind cannot keep the next test from cleaning up after it.
tb__acquire() { tb__acquire_bed "$TB_LOCK_FILE" "$TB_OWNER_FILE" 300; }
tb__release() { tb__release_bed "$TB_OWNER_FILE"; }

# tb__acquire_bed LOCK OWNER_FILE TRIES: makes this shell the owner of a bed (OWNER_FILE
# names its PID and start time) unless another live shell owns it; tries TRIES times,
# 0.1 s apart (the main bed and the scale-out bed, each with its own files).
tb__acquire_bed() {
    local lock=$1 owner=$2 tries=$3 fd pid st i me
    me=$(tb__starttime $$)
    for ((i = 0; i < tries; i++)); do
        exec {fd}>"$lock"
        flock -w 10 "$fd" || true # only guards check-and-write; never wait forever
        if read -r pid st 2>/dev/null <"$owner" && [[ $pid != "$$" ]] &&
            [[ $(tb__starttime "$pid" 2>/dev/null) == "$st" ]]; then
            exec {fd}>&-
            sleep 0.1
            continue
        fi
        printf '%s %s\n' "$$" "$me" >"$owner"
        exec {fd}>&-
        return 0
    done
    return 1
}

# tb__release_bed OWNER_FILE: gives the bed up when this shell owns it.
tb__release_bed() {
    local pid st
    if read -r pid st 2>/dev/null <"$1" && [[ $pid == "$$" ]]; then
        rm -f "$1"
    fi
}

tb_init() {
    [[ $TB_INITIALISED -eq 1 ]] && return 0
    [[ $(id -u) -eq 0 ]] || tb_die "the e2e test bed needs root (network namespaces, TAPs)"
    local c
    for c in ip nginx curl ping arping ethtool flock sha256sum timeout; do
        command -v "$c" >/dev/null || tb_die "missing command '$c' (run scripts/install-deps.sh)"
    done
    mkdir -p "$TB_STATE_DIR"
    tb__acquire || tb_die "another e2e test bed is running (PID $(cut -d' ' -f1 "$TB_OWNER_FILE" 2>/dev/null))"
    TB_INITIALISED=1
    TB_TORN_DOWN=0
    trap tb__on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    tb_cleanup_leftovers
    : >"$TB_PID_FILE"
    TB_DIR=$(mktemp -d "/tmp/spl-e2e-$TB_NAME.XXXXXX")
    TB_LOG_DIR=${SPLICER_E2E_LOGDIR:-$TB_DIR/logs}
    mkdir -p "$TB_LOG_DIR"
    tb_log "work dir $TB_DIR, logs in $TB_LOG_DIR"
}

# Removes what a crashed earlier run left behind. Runs under the lock, so no live test bed
# owns any of it.
tb_cleanup_leftovers() {
    local pid st ns d tap holder
    if [[ -s $TB_PID_FILE ]]; then
        while read -r pid st; do
            [[ -n $pid && $(tb__starttime "$pid" 2>/dev/null) == "$st" ]] || continue
            tb_log "leftover: stopping PID $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80))"
            tb__kill "$pid" TERM 5
        done <"$TB_PID_FILE"
    fi
    for ns in "${TB_ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        tb_log "leftover: deleting namespace $ns"
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            tb__kill "$pid" TERM 3
        done
        ip netns delete "$ns" 2>/dev/null || true
    done
    for d in /var/run/dpdk/spl-e2e-*; do
        [[ -d $d ]] || continue
        tb_log "leftover: removing $d"
        rm -rf "$d"
    done
    rm -f /dev/hugepages/spl-e2e-* 2>/dev/null || true
    # A TAP of that name in the root namespace belongs to a live DPDK process that is not
    # ours (someone's demo?). Give it 30 s to go away, never touch it.
    local i
    for tap in "$TB_TAP_OUT" "$TB_TAP_IN"; do
        for ((i = 0; i < 300; i++)); do
            ip link show dev "$tap" >/dev/null 2>&1 || break
            if ((i % 50 == 0)); then
                holder=$(grep -l "^iff:[[:space:]]*$tap\$" /proc/[0-9]*/fdinfo/* 2>/dev/null |
                    cut -d/ -f3 | sort -u | tr '\n' ' ')
                tb_log "interface $tap exists in the root namespace (held by PID(s) ${holder:-?}); waiting for it to go"
            fi
            sleep 0.1
        done
        if ip link show dev "$tap" >/dev/null 2>&1; then
            tb_die "interface $tap exists in the root namespace (held by PID(s) ${holder:-?}): another DPDK process uses that name; stop it first"
        fi
    done
}

tb_teardown() {
    local - rc pid ns p f
    set +e
    [[ $TB_INITIALISED -eq 1 && $TB_TORN_DOWN -eq 0 ]] || return 0
    TB_TORN_DOWN=1
    if [[ -n $SPLICER_PID ]]; then
        tb_stop_splicer INT 15 >/dev/null 2>&1
    fi
    for ((p = ${#TB_PIDS[@]} - 1; p >= 0; p--)); do
        tb__kill "${TB_PIDS[p]}" TERM 5
    done
    for ns in "${TB_ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            tb__kill "$pid" TERM 3    # stray helpers (ping, curl) started in our namespaces
        done
        ip netns delete "$ns" 2>/dev/null
    done
    for p in "${TB_PREFIXES[@]}"; do
        [[ -n $p ]] || continue
        rm -rf "/var/run/dpdk/$p"
        for f in /dev/hugepages/"$p"map_*; do
            [[ -e $f ]] && rm -f "$f"
        done
    done
    [[ $TB_FAILURES -gt 0 ]] && tb_log_tails "${TB_SPLICER_LOGS[@]}"
    tb_remove_work_dir "$TB_DIR"
    : >"$TB_PID_FILE" 2>/dev/null
    tb__release
    TB_INITIALISED=0
    return 0
}

# ---------------------------------------------------------------- namespaces

tb_in() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

tb__ns_new() {
    local ns=$1
    ip netns add "$ns" || tb_die "cannot create namespace $ns"
    ip -n "$ns" link set lo up
    tb_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        >/dev/null 2>&1 || true
}

# Turn off TX checksum offload on an interface in a namespace (best effort for TAPs).
tb__tx_off() {
    tb_in "$1" ethtool -K "$2" tx off >/dev/null 2>&1
}

tb__make_network() {
    local i ns ip
    tb__ns_new "$TB_NS_CLIENT"
    tb__ns_new "$TB_NS_LAN"
    tb_in "$TB_NS_LAN" sysctl -qw net.bridge.bridge-nf-call-iptables=0 >/dev/null 2>&1 || true
    ip -n "$TB_NS_LAN" link add name br0 type bridge || tb_die "cannot create bridge"
    ip -n "$TB_NS_LAN" link set br0 up
    for i in "${!TB_NS_SERVERS[@]}"; do
        ns=${TB_NS_SERVERS[i]}
        ip=${TB_SERVER_IPS[i]}
        tb__ns_new "$ns"
        ip -n "$TB_NS_LAN" link add name "veth-s$((i + 1))" type veth peer name veth0 netns "$ns" ||
            tb_die "cannot create the veth pair for $ns"
        tb__tx_off "$TB_NS_LAN" "veth-s$((i + 1))" || tb_die "ethtool -K veth-s$((i + 1)) tx off failed"
        tb__tx_off "$ns" veth0 || tb_die "ethtool -K veth0 tx off failed in $ns"
        ip -n "$TB_NS_LAN" link set "veth-s$((i + 1))" master br0 up
        ip -n "$ns" addr add "$ip/24" dev veth0
        ip -n "$ns" link set veth0 up
    done
}

tb_client_add_addr() {
    local a
    for a in "$@"; do
        [[ $a == */* ]] || a=$a/24
        TB_CLIENT_ADDRS+=("$a")
        if ip -n "$TB_NS_CLIENT" link show dev "$TB_TAP_OUT" >/dev/null 2>&1; then
            ip -n "$TB_NS_CLIENT" addr add "$a" dev "$TB_TAP_OUT" || return 1
        fi
    done
}

# 0 when an interface NAME exists in the root namespace or in any named namespace.
tb_tap_anywhere() {
    local name=$1 ns
    ip link show dev "$name" >/dev/null 2>&1 && return 0
    while read -r ns _; do
        [[ -n $ns ]] || continue
        ip -n "$ns" link show dev "$name" >/dev/null 2>&1 && return 0
    done < <(ip netns list 2>/dev/null)
    return 1
}

# ---------------------------------------------------------------- servers

tb__make_files() {
    local n f
    TB_WWW=$TB_DIR/www
    mkdir -p "$TB_WWW/files" "$TB_DIR/dav"
    seq -f '%07.0f' 0 2621439 >"$TB_WWW/files/20m"
    head -c 102400 "$TB_WWW/files/20m" >"$TB_WWW/files/100k"
    head -c 1 "$TB_WWW/files/20m" >"$TB_WWW/files/1b"
    : >"$TB_WWW/files/0b"
    for n in "${!TB_SHA256[@]}"; do
        f=$TB_WWW/files/$n
        [[ $(sha256sum "$f" | cut -d' ' -f1) == "${TB_SHA256[$n]}" ]] ||
            tb_die "test body $n does not have its recorded sha256 (generator changed?)"
    done
    touch -d '2000-01-01 00:00:00 UTC' "$TB_WWW/files/"*
}

tb_sha256() { printf '%s\n' "${TB_SHA256[$1]}"; }

# tb_log_tails FILE...: the last 25 lines of each non-empty log, without the periodic
# per-worker, per-port and mempool stats lines (shown when a test failed).
tb_log_tails() {
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        printf '# ---- last lines of %s (without per-worker/port stats)\n' "$f"
        grep -av -e ' stats worker=' -e ' stats port=' -e ' stats mempool' "$f" |
            tail -n 25 | sed 's/^/# | /'
    done
}

# tb_remove_work_dir DIR: removes a test's work dir, unless SPLICER_E2E_KEEP=1.
tb_remove_work_dir() {
    local dir=$1
    [[ -n $dir && -d $dir ]] || return 0
    if [[ ${SPLICER_E2E_KEEP:-0} == 1 ]]; then
        printf '# kept %s\n' "$dir"
    else
        rm -rf "$dir"
    fi
}

# tb_nginx_preamble NAME DIR: the start of every test bed's nginx.conf, up to inside
# `http {`: a single process (one PID to stop), its pid file and temporary files under DIR,
# its error log in TB_LOG_DIR, keep-alive that outlasts any test. The caller adds its
# access logs and servers and closes the block.
tb_nginx_preamble() {
    local name=$1 dir=$2
    cat <<EOF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $TB_LOG_DIR/nginx-$name-error.log warn;
events { worker_connections 4096; }
http {
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server_tokens off;
EOF
}

tb__nginx_conf() {
    local name=$1 ip=$2 dir=$3
    echo "# nginx for e2e server $name ($ip)."
    tb_nginx_preamble "$name" "$dir"
    cat <<EOF
    log_format splicer '\$connection \$connection_requests \$remote_addr:\$remote_port "\$request" \$status \$request_length \$body_bytes_sent';
    access_log $TB_LOG_DIR/nginx-$name-access.log splicer;
    # What the server learns of the client (t_forward_for): a second log, so that the
    # first keeps the fields other tests parse.
    log_format xff '\$remote_addr "\$http_x_forwarded_for" "\$http_x_forwarded_proto" "\$request" \$request_length';
    access_log $TB_LOG_DIR/nginx-$name-xff.log xff;
    server {
        listen $ip:80 backlog=4096;
        server_name _;
        root $dir/www;
        index index.html;
        add_header X-Server $name always;
        # The request's own URI on every answer: a pipelining client can tell a
        # response given to the wrong request (pipeclient.py).
        add_header X-Uri \$request_uri always;
        # The X-Forwarded-For / -Proto the server got (t_forward_for; not sent when empty).
        add_header X-Seen-XFF \$http_x_forwarded_for always;
        add_header X-Seen-XFP \$http_x_forwarded_proto always;
        # Any path that is no file answers the server's name (/img/x, /?c=7...).
        location / {
            try_files \$uri \$uri/ /index.html;
        }
        location /files/ {
            root $TB_WWW;
        }
        # The health path of t_health: 200 while the server's www/health file exists,
        # 500 once a test removes it.
        location = /health {
            try_files /health =500;
        }
        # The same files at 50 kB/s (/slow/100k takes about 2 s): requests that hold a
        # server connection for a while.
        location /slow/ {
            alias $TB_WWW/files/;
            limit_rate 50k;
        }
        # Servers that answer before the request body has arrived (t_early_response):
        # 413 from the announced length alone, 417 from the head alone (never a
        # 100 Continue), and a body read that gives up after 1 s of silence.
        location /limit/ {
            client_max_body_size 16;
            alias $TB_WWW/files/;
        }
        location /e417/ {
            return 417;
        }
        location /slowbody/ {
            client_body_timeout 1s;
            root $TB_DIR;
            dav_methods PUT;
            create_full_put_path on;
        }
        # Request bodies: PUT stores the body as $TB_DIR/dav/<name>, a directory all three
        # servers share (a later GET, from any server, returns it).
        location /dav/ {
            root $TB_DIR;
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 64m;
            client_body_buffer_size 128k;
        }
        # POST /post?name=NAME: nginx reads the whole body and stores it as
        # $TB_DIR/dav/post-NAME, through a PUT to its own 127.0.0.1:8080 (201 or 204).
        location = /post {
            client_max_body_size 64m;
            client_body_buffer_size 128k;
            proxy_pass http://127.0.0.1:8080/dav/post-\$arg_name;
            proxy_method PUT;
            proxy_http_version 1.1;
        }
    }
    server {
        listen 127.0.0.1:8080;
        access_log off;
        location /dav/ {
            root $TB_DIR;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 64m;
        }
    }
}
EOF
}

tb__start_nginx() {
    local i=$1 ns=${TB_NS_SERVERS[$1]} ip=${TB_SERVER_IPS[$1]} name dir pid
    name=s$((i + 1))
    dir=$TB_DIR/$name
    mkdir -p "$dir/www" "$dir/tmp"
    printf '%s\n' "$name" >"$dir/www/index.html"
    printf 'ok\n' >"$dir/www/health"
    touch -d '2000-01-01 00:00:00 UTC' "$dir/www/index.html"
    tb__nginx_conf "$name" "$ip" "$dir" >"$dir/nginx.conf"
    ip netns exec "$ns" nginx -t -q -c "$dir/nginx.conf" -p "$dir" -e "$TB_LOG_DIR/nginx-$name-error.log" ||
        tb_die "nginx configuration for $name is invalid"
    ip netns exec "$ns" nginx -c "$dir/nginx.conf" -p "$dir" -e "$TB_LOG_DIR/nginx-$name-error.log" \
        </dev/null >>"$dir/stdout.log" 2>&1 &
    pid=$!
    tb__track_pid "$pid"
    TB_NGINX_PIDS[$name]=$pid
}

# Every server answers on its address (asked from the next server's namespace).
tb_check_servers() {
    local i n ns ip name from body hdr sum
    n=${#TB_NS_SERVERS[@]}
    for ((i = 0; i < n; i++)); do
        ns=${TB_NS_SERVERS[i]}
        ip=${TB_SERVER_IPS[i]}
        name=s$((i + 1))
        from=${TB_NS_SERVERS[(i + 1) % n]}
        body=$(tb_curl "$from" "http://$ip/") || { echo "$name: curl from $from failed"; return 1; }
        [[ $body == "$name" ]] || { echo "$name: / answered '$body'"; return 1; }
        hdr=$(tb_curl "$from" "http://$ip/files/0b" -D - -o /dev/null) ||
            { echo "$name: /files/0b failed"; return 1; }
        grep -qi "^X-Server: $name" <<<"$hdr" || { echo "$name: no X-Server header"; return 1; }
        sum=$(tb_curl "$from" "http://$ip/files/100k" | sha256sum | cut -d' ' -f1)
        [[ $sum == "${TB_SHA256[100k]}" ]] || { echo "$name: /files/100k has sha256 $sum"; return 1; }
    done
}

tb__wait_servers() {
    local i ip ns t
    for i in "${!TB_NS_SERVERS[@]}"; do
        ns=${TB_NS_SERVERS[i]}
        ip=${TB_SERVER_IPS[i]}
        for ((t = 0; t < 50; t++)); do
            tb_curl "$ns" "http://$ip/" -o /dev/null 2>/dev/null && break
            sleep 0.1
        done
        ((t < 50)) || tb_die "nginx in $ns does not answer on $ip:80 (see $TB_LOG_DIR/nginx-s$((i + 1))-error.log)"
    done
}

# ---------------------------------------------------------------- the bed

tb_setup() {
    tb_init
    tb_log "setting up namespaces ${TB_ALL_NS[*]}"
    tb__make_network
    tb__make_files
    local i
    for i in "${!TB_NS_SERVERS[@]}"; do
        tb__start_nginx "$i"
    done
    tb__wait_servers
    local out
    out=$(tb_check_servers 2>&1) || tb_die "test bed self-check: $out"
    tb_log "test bed up: 3 nginx servers answer"
}

# ---------------------------------------------------------------- Splicer

tb_register_prefix() {
    local p=$1 q
    [[ -n $p ]] || return 0
    for q in "${TB_PREFIXES[@]}"; do
        [[ $q == "$p" ]] && return 0
    done
    TB_PREFIXES+=("$p")
}

# Prints spl-e2e-NAME-<pid>. (Used as $(...), it cannot register the prefix itself:
# tb_start_splicer registers the prefix it finds in the config; others call
# tb_register_prefix.)
tb_unique_prefix() {
    printf 'spl-e2e-%s-%s\n' "$1" "$$"
}

# tb_write_config FILE PREFIX [WORKERS] [DATAPLANE_LINES] [VIRTUAL_LINES] [REALS] [RULES]
# Writes the test bed's Splicer configuration: both TAP ports with the test bed's MACs,
# no hugepages, DPDK file prefix PREFIX, stats every second, idle_sleep 50us, the VIP
# www on port 80. WORKERS (default 1) picks the lcores: 1 → -l 0-1; 2 → two workers
# mapped onto the 2 cores (--lcores 0@0,1@0,2@1). DATAPLANE_LINES and VIRTUAL_LINES are
# appended to [dataplane] and to the [[virtual]] (one key = value per line). REALS (TOML
# tables, e.g. from tb_reals) goes before the [[virtual]], RULES ([[virtual.rule]] tables)
# after it.
tb_write_config() {
    local file=$1 prefix=$2 workers=${3:-1} dataplane=${4:-} virtual=${5:-} reals=${6:-}
    local rules=${7:-} lcores
    # The ports' --vdev devices: net_tap here; the Docker test bed (docker/test.sh) sets
    # TB_VDEV_OUT / TB_VDEV_IN to net_af_packet ones.
    local vdev_out=${TB_VDEV_OUT:-net_tap0,iface=$TB_TAP_OUT,mac=$TB_MAC_OUT}
    local vdev_in=${TB_VDEV_IN:-net_tap1,iface=$TB_TAP_IN,mac=$TB_MAC_IN}
    case $workers in
    1) lcores='"-l", "0-1"' ;;
    2) lcores='"--lcores", "0@0,1@0,2@1"' ;;
    *) tb_die "tb_write_config: $workers workers do not fit the test bed's 2 cores" ;;
    esac
    cat >"$file" <<CONF
[dataplane]
eal = [$lcores, "--no-pci", "--no-huge", "--no-shconf", "-m", "512",
       "--file-prefix", "$prefix",
       "--vdev", "$vdev_out",
       "--vdev", "$vdev_in"]
workers = $workers
stats_interval = "1s"
idle_sleep = "50us"
$dataplane

[[port]]
name = "outside"
address = "$TB_OUT_IP/24"

[[port]]
name = "inside"
address = "$TB_IN_IP/24"

$reals

[[virtual]]
name = "www"
address = "$TB_VIP:80"
$virtual

$rules
CONF
}

# tb_reals [POOL] [MAXCONNS]: [[real]] tables for the three nginx servers s1..s3.
tb_reals() {
    local pool=${1:-4} maxconns=${2:-64} i
    for i in "${!TB_SERVER_IPS[@]}"; do
        cat <<REAL
[[real]]
name = "s$((i + 1))"
address = "${TB_SERVER_IPS[i]}:80"
weight = 1
pool = $pool
maxconns = $maxconns

REAL
    done
}

# The content rules of t_splice_rules, t_pipelining and the Docker test bed: paths under
# /img/ go to s2, requests for the host api.test to s3 (pass as tb_write_splice_config's
# RULES).
TB_RULES_IMG_API='[[virtual.rule]]
path_prefix = "/img/"
bind = ["s2"]

[[virtual.rule]]
host = "api.test"
bind = ["s3"]'

# tb_write_splice_config FILE PREFIX [WORKERS] [DATAPLANE_LINES] [VIRTUAL_LINES] [RULES]
#                        [POOL] [MAXCONNS]
# The test bed's configuration with the servers bound: reals s1..s3 (tb_reals POOL
# MAXCONNS), the virtual www splicing onto them by round robin, and a control socket
# ($TB_DIR/run/<config name>.sock, kept in TB_CTL_SOCK for tb_ctl). Call it directly, not
# in $(...), so that TB_CTL_SOCK is set.
tb_write_splice_config() {
    local file=$1 prefix=$2 workers=${3:-1} dataplane=${4:-} virtual=${5:-} rules=${6:-}
    local pool=${7:-4} maxconns=${8:-64} name
    name=$(basename "${file%.toml}")
    TB_CTL_SOCK=$TB_DIR/run/$name.sock
    tb_write_config "$file" "$prefix" "$workers" \
        "control_socket = \"$TB_CTL_SOCK\"
$dataplane" \
        "mode = \"splice\"
predictor = \"roundrobin\"
bind = [\"s1\", \"s2\", \"s3\"]
$virtual" \
        "$(tb_reals "$pool" "$maxconns")" "$rules"
}

tb_ctl() { "$SPLICER_BIN" ctl --socket "$TB_CTL_SOCK" "$@"; }

# tb_config_port_lines FILE PORT LINES: LINES go at the end of the [[port]] block whose
# name is PORT (before the next table header), so that a [port.impair] table written there
# belongs to that port.
tb_config_port_lines() {
    local file=$1 port=$2 lines=$3 tmp
    tmp=$(mktemp "$file.XXXXXX") || return 1
    LINES_TO_ADD=$lines awk -v want="$port" '
        function flush() { if (inport) { print ENVIRON["LINES_TO_ADD"]; print "" } inport = 0 }
        /^\[/ { flush(); isport = ($0 == "[[port]]") }
        isport && $0 ~ "^name[[:space:]]*=[[:space:]]*\"" want "\"" { inport = 1; added = 1 }
        { print }
        END { flush(); if (!added) exit 1 }
    ' "$file" >"$tmp" || { rm -f "$tmp"; echo "no [[port]] named $port in $file" >&2; return 1; }
    mv "$tmp" "$file"
}

# tb_impair_lines LOSS DUP REORDER [SEED] [DELAY] [JITTER]: a [port.impair] table.
tb_impair_lines() {
    printf '[port.impair]\nloss = "%s"\nduplicate = "%s"\nreorder = "%s"\nseed = %s\ndelay = "%s"\njitter = "%s"\n' \
        "$1" "$2" "$3" "${4:-1}" "${5:-0s}" "${6:-0s}"
}

# tb_impair_accounting LOG: after Splicer stopped (final stats), with every port impaired.
tb_impair_accounting() {
    local log=$1 nic=0 p v pk dr du de re rl qf rx
    for p in outside inside; do
        v=$(tb_stat "$log" "port=$p" rx_packets)
        nic=$((nic + v))
    done
    pk=$(stat_of "$log" impair_packets)
    dr=$(stat_of "$log" impair_dropped)
    du=$(stat_of "$log" impair_duplicated)
    de=$(stat_of "$log" impair_delayed)
    re=$(stat_of "$log" impair_reordered)
    rl=$(stat_of "$log" impair_released)
    qf=$(stat_of "$log" impair_queue_full)
    rx=$(stat_of "$log" rx_packets)
    printf 'nic_rx=%s impair_packets=%s impair_dropped=%s (%s ppm) impair_duplicated=%s (%s ppm) impair_reordered=%s (%s ppm) impair_delayed=%s impair_released=%s impair_queue_full=%s pipeline_rx=%s\n' \
        "$nic" "$pk" "$dr" "$((pk ? dr * 1000000 / pk : 0))" "$du" "$((pk ? du * 1000000 / pk : 0))" \
        "$re" "$((pk ? re * 1000000 / pk : 0))" "$de" "$rl" "$qf" "$rx"
    local bad=0
    ((pk > 0)) || { echo "no frame was examined"; bad=1; }
    ((nic == pk)) || { echo "NIC received $nic frames, the stage examined $pk"; bad=1; }
    ((rx == pk - dr + du)) || { echo "pipeline got $rx frames, want $pk - $dr + $du = $((pk - dr + du))"; bad=1; }
    ((de + re == rl)) || { echo "held $de + $re frames, released $rl"; bad=1; }
    return "$bad"
}

# The --file-prefix in CONFIG ("--file-prefix", "X" or "--file-prefix=X").
tb_prefix_of() {
    sed -n -e 's/.*"--file-prefix"[[:space:]]*,[[:space:]]*"\([^"]*\)".*/\1/p' \
        -e 's/.*"--file-prefix=\([^"]*\)".*/\1/p' "$1" | head -n 1
}

# tb__wait_log LOG REGEX PID TIMEOUT [FROM]: waits until LOG matches REGEX while PID
# lives, looking only at what was written after its first FROM bytes (default 0): a
# process started on a log that already holds an earlier run's lines (a restart, or
# run.sh given the same test twice) must not be taken as ready by that run's line.
tb__wait_log() {
    local log=$1 regex=$2 pid=$3 timeout=$4 from=${5:-0} i
    for ((i = 0; i < timeout * 10; i++)); do
        tail -c +$((from + 1)) -- "$log" 2>/dev/null | grep -Eq -- "$regex" && return 0
        if ! tb__alive "$pid"; then
            printf 'process %s exited before logging /%s/\n' "$pid" "$regex" >&2
            return 1
        fi
        sleep 0.1
    done
    printf 'no /%s/ in %s after %ss\n' "$regex" "$log" "$timeout" >&2
    return 1
}

# tb__wait_root_links DEV...: waits up to 5 s for each interface to appear in the root
# namespace (net_tap creates its TAPs there when the port starts).
tb__wait_root_links() {
    local dev i
    for dev in "$@"; do
        for ((i = 0; i < 50; i++)); do
            ip link show dev "$dev" >/dev/null 2>&1 && break
            sleep 0.1
        done
        ip link show dev "$dev" >/dev/null 2>&1 || { echo "no interface $dev in the root namespace" >&2; return 1; }
    done
}

# Moves the TAPs (made in the root namespace by net_tap) into the namespaces.
tb_attach_taps() {
    local a
    tb__wait_root_links "$TB_TAP_OUT" "$TB_TAP_IN" || return 1
    ip link set dev "$TB_TAP_OUT" netns "$TB_NS_CLIENT" || return 1
    ip link set dev "$TB_TAP_IN" netns "$TB_NS_LAN" || return 1
    ip -n "$TB_NS_CLIENT" link set dev "$TB_TAP_OUT" address "$TB_KMAC_OUT" || return 1
    ip -n "$TB_NS_LAN" link set dev "$TB_TAP_IN" address "$TB_KMAC_IN" || return 1
    tb__tx_off "$TB_NS_CLIENT" "$TB_TAP_OUT" || true
    tb__tx_off "$TB_NS_LAN" "$TB_TAP_IN" || true
    for a in "${TB_CLIENT_ADDRS[@]}"; do
        ip -n "$TB_NS_CLIENT" addr add "$a" dev "$TB_TAP_OUT" || return 1
    done
    ip -n "$TB_NS_CLIENT" link set "$TB_TAP_OUT" up || return 1
    ip -n "$TB_NS_LAN" link set "$TB_TAP_IN" master br0 up || return 1
}

# tb_start_dataplane READY_REGEX LOG PREFIX CMD... : start a DPDK process that owns the
# spl-out/spl-in TAPs, wait for READY_REGEX in LOG, move the TAPs in. Sets SPLICER_PID.
tb_start_dataplane() {
    local regex=$1 log=$2 prefix=$3
    shift 3
    if [[ -n $SPLICER_PID ]] && tb__alive "$SPLICER_PID"; then
        echo "a dataplane (PID $SPLICER_PID) is already running" >&2
        return 1
    fi
    tb_register_prefix "$prefix"
    TB_SPLICER_LOGS+=("$log")
    # The log is appended to: only a ready line written after this start counts.
    local from
    from=$(stat -c %s -- "$log" 2>/dev/null) || from=0
    # Background jobs of a script start with SIGINT ignored: give the process default
    # signal handling so that SIGINT stops it as it would from a terminal.
    env --default-signal "$@" </dev/null >>"$log" 2>&1 &
    SPLICER_PID=$!
    SPLICER_LOG=$log
    TB_SPLICER_RC=""
    tb__track_pid "$SPLICER_PID"
    tb_log "started PID $SPLICER_PID: $*"
    tb__wait_log "$log" "$regex" "$SPLICER_PID" "${TB_READY_TIMEOUT:-30}" "$from" || return 1
    tb_attach_taps || return 1
    tb_log "TAPs attached: $TB_TAP_OUT in $TB_NS_CLIENT, $TB_TAP_IN in $TB_NS_LAN/br0"
}

tb_start_splicer() {
    local cfg=$1 log=${2:-}
    [[ -x $SPLICER_BIN ]] || { echo "no Splicer binary at $SPLICER_BIN (cargo build --release -p splicer)" >&2; return 1; }
    [[ -r $cfg ]] || { echo "no config $cfg" >&2; return 1; }
    [[ -n $log ]] || log=$TB_LOG_DIR/splicer-$(basename "${cfg%.toml}").log
    local prefix
    prefix=$(tb_prefix_of "$cfg")
    # Splicer's default prefix is "splicer" when the config gives none.
    tb_start_dataplane 'splicer ready' "$log" "${prefix:-splicer}" \
        "$SPLICER_BIN" run --config "$cfg"
}

tb_splicer_alive() { tb__alive "$SPLICER_PID"; }

# tb__backtraces PID: what a process that does not stop is doing, into the test's log dir
# (hang-PID.txt), so that a hang found by CI can be diagnosed from its logs: twice, a second
# apart, each thread's state, CPU time, context switches and kernel stack (blocked in the
# kernel, starved of a CPU, or stopped), then every thread's user stack from gdb (when
# installed), whose frames are also shown on stderr.
tb__backtraces() {
    local pid=$1 out=${TB_LOG_DIR:-/tmp}/hang-$1.txt
    {
        local t
        for t in 1 2; do
            echo "== threads of $pid (name state utime stime cpu), snapshot $t"
            for d in /proc/"$pid"/task/*; do
                awk '{print FILENAME, $2, $3, $14, $15, $39}' "$d/stat" 2>/dev/null
                grep -E '^(nr_switches|se.sum_exec_runtime)' "$d/sched" 2>/dev/null
                sed 's/^/   kernel: /' "$d/stack" 2>/dev/null
            done
            grep -E '^(State|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt)' /proc/"$pid"/status 2>/dev/null
            sleep 1
        done
    } >"$out" 2>&1
    echo "what PID $pid was doing: $out" >&2
    command -v gdb >/dev/null || return 0
    timeout 30 gdb -q -batch -p "$pid" -ex 'thread apply all bt' >>"$out" 2>&1 || true
    grep -E '^(Thread|#[0-9]+ )' "$out" | head -n 80 >&2 || true
}

# tb_stop_splicer [SIGNAL] [TIMEOUT]: returns Splicer's exit code.
tb_stop_splicer() {
    local sig=${1:-INT} timeout=${2:-20} pid=$SPLICER_PID rc=0
    [[ -n $pid ]] || return 0
    if tb__alive "$pid"; then
        kill -s "$sig" "$pid" 2>/dev/null || true
        if ! tb__wait_gone "$pid" "$timeout"; then
            echo "PID $pid still runs ${timeout}s after SIG$sig: SIGKILL" >&2
            tb__backtraces "$pid"
            kill -s KILL "$pid" 2>/dev/null || true
            tb__wait_gone "$pid" 5
        fi
    fi
    wait "$pid" 2>/dev/null || rc=$?
    SPLICER_PID=""
    TB_SPLICER_RC=$rc
    return "$rc"
}

# ---------------------------------------------------------------- statistics

# tb_stat LOG SELECTOR KEY: KEY's value in the last "stats SELECTOR ..." line that names
# it, 0 if none does (the periodic lines name only the counters that changed in their
# period, with their value; the final lines at stop name every counter).
tb_stat() {
    local log=$1 sel=$2 key=$3 line tok
    local -a toks
    line=$(grep -aE "(^|[[:space:]:])stats ${sel}( .*)? ${key}=" "$log" 2>/dev/null | tail -n 1) || true
    read -r -a toks <<<"$line"
    for tok in "${toks[@]}"; do
        if [[ $tok == "$key="* ]]; then
            printf '%s\n' "${tok#*=}"
            return 0
        fi
    done
    printf '0\n'
}

# stat_of LOG KEY: KEY's value in the last "stats total" line (0 if absent).
stat_of() { tb_stat "$1" total "$2"; }

tb_stats_count() {
    local n
    n=$(grep -acE '(^|[[:space:]:])stats total( |$)' "$1" 2>/dev/null) || true
    printf '%s\n' "${n:-0}"
}

# Wait for one more "stats total" line than there is now.
tb_wait_stats_line() {
    local log=$1 timeout=${2:-10} n i
    n=$(tb_stats_count "$log")
    for ((i = 0; i < timeout * 10; i++)); do
        (($(tb_stats_count "$log") > n)) && return 0
        sleep 0.1
    done
    echo "no new stats line in $log within ${timeout}s" >&2
    return 1
}

tb_fresh_stat() {
    tb_wait_stats_line "$1" >/dev/null 2>&1 || true
    stat_of "$1" "$2"
}

# Wait until KEY > VALUE in the last stats total line.
tb_wait_stat_gt() {
    local log=$1 key=$2 value=$3 timeout=${4:-10} i v
    for ((i = 0; i < timeout * 10; i++)); do
        v=$(stat_of "$log" "$key")
        ((v > value)) && return 0
        sleep 0.1
    done
    echo "$key stayed at $(stat_of "$log" "$key") (wanted > $value) for ${timeout}s" >&2
    return 1
}

# ---------------------------------------------------------------- traffic

tb_ping() {
    local ns=$1 dest=$2
    shift 2
    tb_in "$ns" ping -n -q -c 3 -i 0.2 -W 2 "$@" "$dest"
}

# Prints the MAC address of the first ARP reply for DEST sent out of IFACE.
tb_arping_mac() {
    local ns=$1 ifc=$2 dest=$3 mac
    mac=$(tb_in "$ns" arping -c 3 -C 1 -w 4 -r -i "$ifc" "$dest" 2>/dev/null | head -n 1) || true
    [[ $mac =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || return 1
    printf '%s\n' "$mac"
}

# tb_http_status ARGS... : the HTTP status code curl gets from the client namespace for
# ARGS (curl options and the URL), 000 when there was no response; 5 s at most.
tb_http_status() {
    tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code}' "$@" 2>/dev/null
}

# tb_who CURL_ARGS... : the server that answered the client namespace's request (its
# X-Server header), "none" without one.
tb_who() {
    local s
    s=$(tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%header{x-server}' "$@" 2>/dev/null)
    printf '%s\n' "${s:-none}"
}

# tb_tally N CURL_ARGS... : asks N times (a new connection each, tb_who); prints
# "s1=A s2=B s3=C none=D".
tb_tally() {
    local n=$1 i s
    shift
    declare -A c=([s1]=0 [s2]=0 [s3]=0 [none]=0)
    for ((i = 0; i < n; i++)); do
        s=$(tb_who "$@")
        c[$s]=$((${c[$s]:-0} + 1))
    done
    printf 's1=%s s2=%s s3=%s none=%s\n' "${c[s1]}" "${c[s2]}" "${c[s3]}" "${c[none]}"
}

tb_curl() {
    local ns=$1 url=$2
    shift 2
    tb_in "$ns" curl -sS --max-time 10 "$@" "$url"
}

tb_sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# tb_body_ok NAME FILE... : every FILE has the sha256 of test body NAME (else says which
# does not, with its size).
tb_body_ok() {
    local name=$1 f sum rc=0
    shift
    for f in "$@"; do
        sum=$(tb_sha256_of "$f" 2>/dev/null)
        [[ $sum == "${TB_SHA256[$name]}" ]] && continue
        echo "$f: sha256 ${sum:-none}, $(stat -c %s "$f" 2>/dev/null || echo no) bytes; want body $name (${TB_SIZE[$name]} bytes)"
        rc=1
    done
    return "$rc"
}

# tb_raw_http NS HOST PORT WAIT PIECE... : one raw TCP connection (see rawhttp.py); prints
# "statuses=... end=... bytes=N sent=...".
tb_raw_http() {
    local ns=$1
    shift
    tb_in "$ns" timeout 60 python3 "$TB_REPO/tests/e2e/rawhttp.py" "$@"
}

# tb_slow_download NS HOST PATH RATE MAX_TIME : GET http://HOST/PATH read at RATE bytes a
# second with a 64 KiB receive buffer (see slowreader.py: curl --limit-rate sees a reset
# only after the megabytes queued before it); prints "end=done|reset|short|timeout bytes=N"
# and exits as curl would (0, 56 reset, 18 short, 28 timed out).
tb_slow_download() {
    local ns=$1
    shift
    tb_in "$ns" timeout $(($4 + 10)) python3 "$TB_REPO/tests/e2e/slowreader.py" "$@"
}

# tb_raw_field LINE KEY : KEY's value in a tb_raw_http line.
tb_raw_field() {
    local tok
    for tok in $1; do
        [[ $tok == "$2="* ]] && { printf '%s\n' "${tok#*=}"; return 0; }
    done
    return 1
}

# tb_raw_status HOST PORT WAIT PIECE... : the first status code the client gets (000: none).
tb_raw_status() {
    local line s
    line=$(tb_raw_http "$TB_NS_CLIENT" "$@")
    s=$(tb_raw_field "$line" statuses) || s=000
    printf '%s\n' "${s%%,*}"
}

tb_access_log() { printf '%s\n' "$TB_LOG_DIR/nginx-$1-access.log"; }

tb_xff_log() { printf '%s\n' "$TB_LOG_DIR/nginx-$1-xff.log"; }

tb_access_lines() {
    local n
    n=$(wc -l <"$(tb_access_log "$1")" 2>/dev/null) || true
    printf '%s\n' "${n:-0}"
}

tb_access_since() { tail -n "+$(($2 + 1))" "$(tb_access_log "$1")" 2>/dev/null; }

# tb_server_conns NAME [FROM]: established connections to server NAME's port 80 from FROM.
tb_server_conns() {
    local from=${2:-$TB_IN_IP} i=$((${1#s} - 1))
    tb_in "${TB_NS_SERVERS[i]}" ss -Htn state established "( sport = :80 )" |
        awk -v from="$from" '{ split($NF, a, ":"); if (a[1] == from) n++ } END { print n + 0 }'
}

# tb_check_refusal LOG DESC STATUS COUNTER PIECE... : a request Splicer must refuse itself.
tb_check_refusal() {
    local log=$1 desc=$2 want=$3 counter=$4 before line s end
    shift 4
    before=$(stat_of "$log" "$counter")
    line=$(tb_raw_http "$TB_NS_CLIENT" "$TB_VIP" 80 3 "$@")
    s=$(tb_raw_field "$line" statuses) || s=000
    end=$(tb_raw_field "$line" end) || end=none
    tb_check_cmp "$desc gets $want ($line)" "${s%%,*}" -eq "$want"
    tb_check "$desc: Splicer closes the connection (end=$end)" test "$end" = eof -o "$end" = reset
    tb_check "$desc: $counter moves" tb_wait_stat_gt "$log" "$counter" "$before" 5
}

tb_running() { tb__alive "${1:-}"; }

tb_spawn() {
    local log=$1
    shift
    "$@" </dev/null >>"$log" 2>&1 &
    TB_SPAWNED_PID=$!
    tb__track_pid "$TB_SPAWNED_PID"
}

tb_extra_server() {
    local name=$1 ip=$2 url=$3 log=$4 i
    shift 4
    ip -n "${TB_NS_SERVERS[2]}" addr add "$ip/24" dev veth0 || tb_die "cannot add $ip"
    tb_spawn "$log" ip netns exec "${TB_NS_SERVERS[2]}" "$@"
    for ((i = 0; i < 50; i++)); do
        tb_curl "${TB_NS_SERVERS[0]}" "$url" -o /dev/null 2>/dev/null && return 0
        sleep 0.1
    done
    tb_die "$name does not answer on $ip"
}
