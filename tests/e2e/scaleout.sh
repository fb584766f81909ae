# shellcheck shell=bash disable=SC2034  # (variables are for the tests that source this file)
# tests/e2e/scaleout.sh — the two-appliance test bed: two Splicers behind a Linux ECMP
# router, sharing one VIP. Source it from a test:
#
#     . "$(dirname "$0")/scaleout.sh"
#     so_setup                          # namespaces, bridges, router, nginx x2; trap EXIT
#     so_write_config a; so_write_config b
#     so_start_splicer a; so_start_splicer b
#     so_route a b                      # VIP/32 via both (L4 multipath hash)
#     tb_check "..." ...                # lib.sh's reporting helpers work as usual
#     tb_finish
#
# Every namespace, bridge and TAP is named so-*: the bed never collides with lib.sh's
# spl-* bed, so it does not take lib.sh's machine-wide bed ownership; it owns the so-*
# bed instead (/run/so-e2e/owner: the owning shell's PID and start time, written under
# a flock; a second bed waits up to 10 minutes for the first to end). Every function may
# be called in a subshell (tb_check ...): the Splicers' PIDs are kept in files.
#
# Topology (tests/e2e/README.md has the picture):
#   so-cli    client: veth so-c0 198.18.40.2/24 (+ .3 .. .9), default via 198.18.40.1
#   so-rtr    router: so-r0 198.18.40.1/24 (to the client), so-r1 198.18.41.1/24 (to the
#             outside segment); ip_forward, fib_multipath_hash_policy=1 (L4 hash);
#             VIP 198.18.42.100/32 routed by so_route over the appliances' outside addresses
#   so-seg    the outside segment: bridge br0 with the router's so-r1 peer and the two
#             Splicers' outside TAPs (so-a-out, so-b-out)
#   so-lan    the inside segment: bridge br0 with the inside TAPs (so-a-in, so-b-in) and a
#             veth per server
#   so-s1/2   servers: veth0 198.19.41.11/.12 /24, nginx on :80
#   Splicer a: outside 198.18.41.11/24 (gateway 198.18.41.1), inside 198.19.41.1/24
#   Splicer b: outside 198.18.41.12/24 (gateway 198.18.41.1), inside 198.19.41.2/24
#   Both: VIP 198.18.42.100:80 (virtual "www", port "outside", splicing onto s1 s2),
#   1 worker, idle_sleep 100us, their own --file-prefix, MACs and control socket; the
#   cluster heartbeat addresses (SO_CONTROL) are 127.0.41.11:7411 and 127.0.41.12:7411.
#
# Functions
#   so_setup                 lock, traps, leftovers of a crashed run, work dir, network,
#                            test files, nginx in so-s1/so-s2 (self-checked)
#   so_teardown              stops both Splicers (SIGINT, then SIGKILL) and every process
#                            we started, deletes the so-* namespaces, the DPDK prefixes'
#                            files, the work dir; runs from the EXIT trap
#   so_write_config NAME [DATAPLANE_LINES] [TAIL]   writes $SO_DIR/NAME.toml (NAME = a|b):
#                            DATAPLANE_LINES go into [dataplane], TAIL (whole sections,
#                            e.g. so_cluster_lines or an [announce] table) at the end
#   so_cluster_lines NAME [INTERVAL] [DEAD]   prints the [cluster] section of NAME with the
#                            other appliance as its peer
#   so_start_splicer NAME    starts Splicer NAME with $SO_DIR/NAME.toml, waits for
#                            `splicer ready`, moves its TAPs into so-seg / so-lan
#   so_stop_splicer NAME [SIG] [TIMEOUT]   SIGINT by default (KILL for a crash); returns
#                            its exit code
#   so_alive NAME            0 while Splicer NAME runs
#   so_route NAME...         the router's VIP route: multipath over the named appliances
#                            (none: the route is deleted)
#   so_route_show            the router's VIP route, one line
#   so_ctl NAME ARGS...      splicer ctl against NAME's control socket
#   so_stat NAME KEY         KEY in NAME's last `stats total` line (lib.sh stat_of)
#   so_log NAME              path of NAME's log
#   so_in NS CMD...          ip netns exec NS CMD...
#   so_curl URL [ARGS...]    curl -sS --max-time 10 from so-cli
#   so_spread N              N short connections from so-cli to the VIP (distinct source
#                            ports); prints "ok=K"
#   so_downloads_start DIR N PATH [CURL_ARGS...]   N downloads of http://VIP/PATH in the
#                            background from so-cli, source addresses rotating over
#                            SO_CLIENT_IPS; body i in DIR/i.body, curl's exit code in
#                            DIR/i.rc when it ends, its source address:port in DIR/i.port
#   so_downloads_wait DIR N [TIMEOUT]   wait until every download of DIR has ended
#   so_downloads_tally DIR N NAME   prints "ok=A bad=B failed=C" (NAME = body name, see
#                            so_sha256): complete and sha256-exact, complete but wrong,
#                            curl failed
#   so_sha256 NAME           sha256 of test body NAME (100k, 2m, 8m; served under /files/
#                            and, at SO_SLOW_RATE bytes/s, under /slow/)
#   so_flows_of NAME         the client address:port of every client connection Splicer
#                            NAME holds (from `show flows`), one per line

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SO_NS_CLIENT=so-cli
SO_NS_ROUTER=so-rtr
SO_NS_SEG=so-seg
SO_NS_LAN=so-lan
SO_NS_SERVERS=(so-s1 so-s2)
SO_SERVER_IPS=(198.19.41.11 198.19.41.12)
SO_ALL_NS=("$SO_NS_CLIENT" "$SO_NS_ROUTER" "$SO_NS_SEG" "$SO_NS_LAN" "${SO_NS_SERVERS[@]}")
SO_CLIENT_IPS=(198.18.40.2 198.18.40.3 198.18.40.4 198.18.40.5)
SO_ROUTER_CLIENT_IP=198.18.40.1
SO_ROUTER_SEG_IP=198.18.41.1
SO_VIP=198.18.42.100
SO_NAMES=(a b)
declare -A SO_OUT_IP=([a]=198.18.41.11 [b]=198.18.41.12)
declare -A SO_IN_IP=([a]=198.19.41.1 [b]=198.19.41.2)
# DPDK ports' MACs (net_tap mac= devarg) and, different, the kernel sides' (net_tap copies
# the port's MAC to the kernel side; on a bridge that would make frames to the port look
# local to the bridge).
declare -A SO_MAC_OUT=([a]=02:73:6f:0a:00:01 [b]=02:73:6f:0b:00:01)
declare -A SO_MAC_IN=([a]=02:73:6f:0a:00:02 [b]=02:73:6f:0b:00:02)
declare -A SO_KMAC_OUT=([a]=02:73:6f:1a:00:01 [b]=02:73:6f:1b:00:01)
declare -A SO_KMAC_IN=([a]=02:73:6f:1a:00:02 [b]=02:73:6f:1b:00:02)
# Cluster heartbeat addresses (UDP, host stack, root namespace).
declare -A SO_CONTROL=([a]=127.0.41.11:7411 [b]=127.0.41.12:7411)
# The EAL cores: a's worker on CPU 1, b's on CPU 0, so that two busy workers do not share.
declare -A SO_LCORES=([a]='"--lcores", "0@0,1@1"' [b]='"--lcores", "0@1,1@0"')
SO_SLOW_RATE=${SO_SLOW_RATE:-204800}

SO_STATE_DIR=/run/so-e2e
SO_LOCK=$SO_STATE_DIR/lock
SO_OWNER_FILE=$SO_STATE_DIR/owner
SO_PID_FILE=$SO_STATE_DIR/pids

SO_INITIALISED=0
SO_TORN_DOWN=0
SO_DIR=""
SO_WWW=""
declare -A SO_SHA256=()
declare -A SO_SIZE=()

so_in() { tb_in "$@"; }

# Every process we start, with its start time, so that teardown (or the next bed after
# a crash) stops exactly those.
so__track_pid() {
    local pid=$1 st
    st=$(tb__starttime "$pid") || return 0
    printf '%s %s\n' "$pid" "$st" >>"$SO_PID_FILE"
}

# Stops every process of the PID file that still is the one we started, newest first.
so__kill_tracked() {
    local pid st
    [[ -s $SO_PID_FILE ]] || return 0
    tac "$SO_PID_FILE" | while read -r pid st; do
        [[ -n $pid && $(tb__starttime "$pid" 2>/dev/null) == "$st" ]] || continue
        tb__kill "$pid" TERM 5
    done
}

# Takes the so-* bed: waits up to 10 min while another live shell owns it.
so__acquire() { tb__acquire_bed "$SO_LOCK" "$SO_OWNER_FILE" 6000; }
so__release() { tb__release_bed "$SO_OWNER_FILE"; }

so__on_exit() {
    local rc=$?
    so_teardown
    exit "$rc"
}

so_init() {
    [[ $SO_INITIALISED -eq 1 ]] && return 0
    [[ $(id -u) -eq 0 ]] || tb_die "the scale-out test bed needs root (network namespaces, TAPs)"
    local c
    for c in ip nginx curl ethtool flock sha256sum timeout ss; do
        command -v "$c" >/dev/null || tb_die "missing command '$c' (run scripts/install-deps.sh)"
    done
    mkdir -p "$SO_STATE_DIR"
    so__acquire || tb_die "another scale-out bed runs (PID $(cut -d' ' -f1 "$SO_OWNER_FILE" 2>/dev/null))"
    SO_INITIALISED=1
    SO_TORN_DOWN=0
    trap so__on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    so_cleanup_leftovers
    : >"$SO_PID_FILE"
    SO_DIR=$(mktemp -d "/tmp/so-e2e-$TB_NAME.XXXXXX")
    mkdir -p "$SO_DIR/run"
    # lib.sh's helpers (stat_of, tb_die's report) read these.
    TB_DIR=$SO_DIR
    TB_LOG_DIR=${SPLICER_E2E_LOGDIR:-$SO_DIR/logs}
    mkdir -p "$TB_LOG_DIR"
    tb_log "work dir $SO_DIR, logs in $TB_LOG_DIR"
}

# What a crashed earlier run left (we own the bed: no live one owns any of it).
so_cleanup_leftovers() {
    local pid ns d name tap
    so__kill_tracked
    for ns in "${SO_ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        tb_log "leftover: deleting namespace $ns"
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            tb__kill "$pid" TERM 3
        done
        ip netns delete "$ns" 2>/dev/null || true
    done
    for d in /var/run/dpdk/so-e2e-*; do
        [[ -d $d ]] || continue
        rm -rf "$d"
    done
    for name in "${SO_NAMES[@]}"; do
        for tap in "so-$name-out" "so-$name-in"; do
            ip link show dev "$tap" >/dev/null 2>&1 &&
                tb_die "interface $tap exists in the root namespace: a DPDK process not ours uses it"
        done
    done
    return 0
}

so_teardown() {
    local - p ns pid f name
    set +e
    [[ $SO_INITIALISED -eq 1 && $SO_TORN_DOWN -eq 0 ]] || return 0
    SO_TORN_DOWN=1
    for name in "${SO_NAMES[@]}"; do
        so_stop_splicer "$name" INT 15 >/dev/null 2>&1
    done
    so__kill_tracked
    for ns in "${SO_ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            tb__kill "$pid" TERM 3
        done
        ip netns delete "$ns" 2>/dev/null
    done
    for name in "${SO_NAMES[@]}"; do
        p=$(so_prefix "$name")
        rm -rf "/var/run/dpdk/$p"
        rm -f /dev/hugepages/"$p"map_* 2>/dev/null
    done
    if [[ $TB_FAILURES -gt 0 ]]; then
        local logs=()
        for name in "${SO_NAMES[@]}"; do
            logs+=("$(so_log "$name")")
        done
        tb_log_tails "${logs[@]}"
    fi
    tb_remove_work_dir "$SO_DIR"
    : >"$SO_PID_FILE" 2>/dev/null
    so__release
    SO_INITIALISED=0
    return 0
}

# ---------------------------------------------------------------- network

so__ns_new() {
    local ns=$1
    ip netns add "$ns" || tb_die "cannot create namespace $ns"
    ip -n "$ns" link set lo up
    so_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        >/dev/null 2>&1 || true
}

so__bridge() {
    local ns=$1
    so__ns_new "$ns"
    so_in "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=0 >/dev/null 2>&1 || true
    ip -n "$ns" link add name br0 type bridge || tb_die "cannot create the bridge in $ns"
    ip -n "$ns" link set br0 up
}

so__make_network() {
    local i a ns
    so__ns_new "$SO_NS_CLIENT"
    so__ns_new "$SO_NS_ROUTER"
    so__bridge "$SO_NS_SEG"
    so__bridge "$SO_NS_LAN"
    # client <-> router
    ip -n "$SO_NS_CLIENT" link add name so-c0 type veth peer name so-r0 netns "$SO_NS_ROUTER" ||
        tb_die "cannot create the client-router veth pair"
    tb__tx_off "$SO_NS_CLIENT" so-c0
    tb__tx_off "$SO_NS_ROUTER" so-r0
    for a in "${SO_CLIENT_IPS[@]}"; do
        ip -n "$SO_NS_CLIENT" addr add "$a/24" dev so-c0
    done
    ip -n "$SO_NS_CLIENT" link set so-c0 up
    ip -n "$SO_NS_CLIENT" route add default via "$SO_ROUTER_CLIENT_IP"
    ip -n "$SO_NS_ROUTER" addr add "$SO_ROUTER_CLIENT_IP/24" dev so-r0
    ip -n "$SO_NS_ROUTER" link set so-r0 up
    # router <-> outside segment
    ip -n "$SO_NS_ROUTER" link add name so-r1 type veth peer name so-rtr netns "$SO_NS_SEG" ||
        tb_die "cannot create the router-segment veth pair"
    tb__tx_off "$SO_NS_ROUTER" so-r1
    tb__tx_off "$SO_NS_SEG" so-rtr
    ip -n "$SO_NS_ROUTER" addr add "$SO_ROUTER_SEG_IP/24" dev so-r1
    ip -n "$SO_NS_ROUTER" link set so-r1 up
    ip -n "$SO_NS_SEG" link set so-rtr master br0 up
    so_in "$SO_NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 \
        net.ipv4.fib_multipath_hash_policy=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0 >/dev/null || tb_die "router sysctls failed"
    # servers on the inside segment
    for i in "${!SO_NS_SERVERS[@]}"; do
        ns=${SO_NS_SERVERS[i]}
        so__ns_new "$ns"
        ip -n "$SO_NS_LAN" link add name "so-v$((i + 1))" type veth peer name veth0 netns "$ns" ||
            tb_die "cannot create the veth pair for $ns"
        tb__tx_off "$SO_NS_LAN" "so-v$((i + 1))"
        tb__tx_off "$ns" veth0
        ip -n "$SO_NS_LAN" link set "so-v$((i + 1))" master br0 up
        ip -n "$ns" addr add "${SO_SERVER_IPS[i]}/24" dev veth0
        ip -n "$ns" link set veth0 up
    done
}

# ---------------------------------------------------------------- servers

so__make_files() {
    SO_WWW=$SO_DIR/www
    mkdir -p "$SO_WWW/files"
    seq -f '%07.0f' 0 1048575 >"$SO_WWW/files/8m"
    head -c 2097152 "$SO_WWW/files/8m" >"$SO_WWW/files/2m"
    head -c 102400 "$SO_WWW/files/8m" >"$SO_WWW/files/100k"
    local n
    for n in 100k 2m 8m; do
        SO_SHA256[$n]=$(sha256sum "$SO_WWW/files/$n" | cut -d' ' -f1)
        SO_SIZE[$n]=$(stat -c %s "$SO_WWW/files/$n")
    done
}

so_sha256() { printf '%s\n' "${SO_SHA256[$1]}"; }

so__nginx_conf() {
    local name=$1 ip=$2 dir=$3
    tb_nginx_preamble "$name" "$dir"
    cat <<EOF
    access_log $TB_LOG_DIR/nginx-$name-access.log;
    server {
        listen $ip:80 backlog=4096;
        root $dir/www;
        add_header X-Server $name always;
        location / { try_files \$uri /index.html; }
        location /files/ { root $SO_WWW; }
        # Long downloads: the same files at SO_SLOW_RATE bytes/s.
        location /slow/ {
            alias $SO_WWW/files/;
            limit_rate $SO_SLOW_RATE;
        }
        location = /health { try_files /health =500; }
    }
}
EOF
}

so__start_nginx() {
    local i=$1 ns=${SO_NS_SERVERS[$1]} ip=${SO_SERVER_IPS[$1]} name dir
    name=s$((i + 1))
    dir=$SO_DIR/$name
    mkdir -p "$dir/www" "$dir/tmp"
    printf '%s\n' "$name" >"$dir/www/index.html"
    printf 'ok\n' >"$dir/www/health"
    so__nginx_conf "$name" "$ip" "$dir" >"$dir/nginx.conf"
    so_in "$ns" nginx -t -q -c "$dir/nginx.conf" -p "$dir" -e "$TB_LOG_DIR/nginx-$name-error.log" ||
        tb_die "nginx configuration for $name is invalid"
    so_in "$ns" nginx -c "$dir/nginx.conf" -p "$dir" -e "$TB_LOG_DIR/nginx-$name-error.log" \
        </dev/null >>"$dir/stdout.log" 2>&1 &
    so__track_pid "$!"
}

so__wait_servers() {
    local i t from
    for i in "${!SO_NS_SERVERS[@]}"; do
        from=${SO_NS_SERVERS[(i + 1) % ${#SO_NS_SERVERS[@]}]}
        for ((t = 0; t < 50; t++)); do
            so_in "$from" curl -sS -m 2 -o /dev/null "http://${SO_SERVER_IPS[i]}/files/100k" 2>/dev/null && break
            sleep 0.1
        done
        ((t < 50)) || tb_die "nginx s$((i + 1)) does not answer on ${SO_SERVER_IPS[i]}:80"
    done
}

so_setup() {
    so_init
    tb_log "setting up namespaces ${SO_ALL_NS[*]}"
    so__make_network
    so__make_files
    local i
    for i in "${!SO_NS_SERVERS[@]}"; do
        so__start_nginx "$i"
    done
    so__wait_servers
    tb_log "scale-out bed up: router, segments, 2 nginx servers"
}

# ---------------------------------------------------------------- Splicers

so_log() { printf '%s\n' "$TB_LOG_DIR/splicer-$1.log"; }
so__pid() { cat "$SO_DIR/run/$1.pid" 2>/dev/null; }
so_ctl() {
    local name=$1
    shift
    "$SPLICER_BIN" ctl --socket "$SO_DIR/run/$name.sock" "$@"
}
so_stat() { stat_of "$(so_log "$1")" "$2"; }
so_prefix() { printf 'so-e2e-%s-%s\n' "$1" "$$"; }

# so_cluster_lines NAME [INTERVAL] [DEAD]: NAME's [cluster] section, the other one its peer.
so_cluster_lines() {
    local name=$1 interval=${2:-500ms} dead=${3:-2s} other
    for other in "${SO_NAMES[@]}"; do
        [[ $other != "$name" ]] && break
    done
    cat <<EOF
[cluster]
name = "$name"
control = "${SO_CONTROL[$name]}"
heartbeat_interval = "$interval"
dead_time = "$dead"

[[cluster.peers]]
name = "$other"
address = "${SO_OUT_IP[$other]}"
control = "${SO_CONTROL[$other]}"
EOF
}

# so_write_config NAME [DATAPLANE_LINES] [TAIL]
so_write_config() {
    local name=$1 dataplane=${2:-} tail=${3:-} prefix
    prefix=$(so_prefix "$name")
    cat >"$SO_DIR/$name.toml" <<CONF
[dataplane]
eal = [${SO_LCORES[$name]}, "--no-pci", "--no-huge", "--no-shconf", "-m", "384",
       "--file-prefix", "$prefix",
       "--vdev", "net_tap0,iface=so-$name-out,mac=${SO_MAC_OUT[$name]}",
       "--vdev", "net_tap1,iface=so-$name-in,mac=${SO_MAC_IN[$name]}"]
workers = 1
stats_interval = "1s"
idle_sleep = "100us"
control_socket = "$SO_DIR/run/$name.sock"
$dataplane

[[port]]
name = "outside"
address = "${SO_OUT_IP[$name]}/24"
gateway = "$SO_ROUTER_SEG_IP"

[[port]]
name = "inside"
address = "${SO_IN_IP[$name]}/24"

[[real]]
name = "s1"
address = "${SO_SERVER_IPS[0]}:80"
pool = 4

[[real]]
name = "s2"
address = "${SO_SERVER_IPS[1]}:80"
pool = 4

[[virtual]]
name = "www"
address = "$SO_VIP:80"
port = "outside"
mode = "splice"
predictor = "roundrobin"
bind = ["s1", "s2"]

$tail
CONF
}

so__attach_taps() {
    local name=$1
    tb__wait_root_links "so-$name-out" "so-$name-in" || return 1
    ip link set dev "so-$name-out" netns "$SO_NS_SEG" || return 1
    ip link set dev "so-$name-in" netns "$SO_NS_LAN" || return 1
    ip -n "$SO_NS_SEG" link set dev "so-$name-out" address "${SO_KMAC_OUT[$name]}" || return 1
    ip -n "$SO_NS_LAN" link set dev "so-$name-in" address "${SO_KMAC_IN[$name]}" || return 1
    tb__tx_off "$SO_NS_SEG" "so-$name-out" || true
    tb__tx_off "$SO_NS_LAN" "so-$name-in" || true
    ip -n "$SO_NS_SEG" link set "so-$name-out" master br0 up || return 1
    ip -n "$SO_NS_LAN" link set "so-$name-in" master br0 up || return 1
}

# so_start_splicer NAME: $SO_DIR/NAME.toml, log appended to so_log NAME.
so_start_splicer() {
    local name=$1 log prefix pid i
    [[ -x $SPLICER_BIN ]] || { echo "no Splicer binary at $SPLICER_BIN" >&2; return 1; }
    if so_alive "$name"; then
        echo "Splicer $name already runs" >&2
        return 1
    fi
    log=$(so_log "$name")
    printf '# ---- start %s\n' "$(date +%T)" >>"$log"
    env --default-signal "$SPLICER_BIN" run --config "$SO_DIR/$name.toml" </dev/null >>"$log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$SO_DIR/run/$name.pid"
    so__track_pid "$pid"
    tb_log "started Splicer $name, PID $pid"
    local start
    start=$(grep -ac '^# ---- start' "$log")
    for ((i = 0; i < 300; i++)); do
        # `splicer ready` after this run's start marker.
        awk -v n="$start" '/^# ---- start/ { s++ } s == n && /splicer ready/ { f = 1 } END { exit !f }' "$log" && break
        tb__alive "$pid" || { echo "Splicer $name exited before it was ready (see $log)" >&2; return 1; }
        sleep 0.1
    done
    ((i < 300)) || { echo "Splicer $name not ready after 30 s" >&2; return 1; }
    so__attach_taps "$name"
}

so_alive() { tb__alive "$(so__pid "$1")"; }

# so_stop_splicer NAME [SIGNAL] [TIMEOUT]
so_stop_splicer() {
    local name=$1 sig=${2:-INT} timeout=${3:-20} pid rc=0
    pid=$(so__pid "$name")
    [[ -n $pid ]] || return 0
    if tb__alive "$pid"; then
        kill -s "$sig" "$pid" 2>/dev/null || true
        if ! tb__wait_gone "$pid" "$timeout"; then
            kill -s KILL "$pid" 2>/dev/null || true
            tb__wait_gone "$pid" 5
        fi
    fi
    # Our child only when started by this shell (not in a subshell): its exit code then.
    wait "$pid" 2>/dev/null || rc=$?
    rm -f "$SO_DIR/run/$name.pid"
    return "$rc"
}

# ---------------------------------------------------------------- router

# so_route NAME...: VIP/32 over the named appliances' outside addresses (L4 multipath).
so_route() {
    local hops=() name
    for name in "$@"; do
        hops+=(nexthop via "${SO_OUT_IP[$name]}" dev so-r1)
    done
    if [[ $# -eq 0 ]]; then
        ip -n "$SO_NS_ROUTER" route del "$SO_VIP/32" 2>/dev/null || true
    elif [[ $# -eq 1 ]]; then
        ip -n "$SO_NS_ROUTER" route replace "$SO_VIP/32" via "${SO_OUT_IP[$1]}" dev so-r1
    else
        ip -n "$SO_NS_ROUTER" route replace "$SO_VIP/32" "${hops[@]}"
    fi
}

so_route_show() { ip -n "$SO_NS_ROUTER" route show "$SO_VIP/32" | tr -s ' \n' ' '; echo; }

# ---------------------------------------------------------------- traffic

so_curl() {
    local url=$1
    shift
    so_in "$SO_NS_CLIENT" curl -sS --max-time 10 "$@" "$url"
}

# so_spread N: N new connections to the VIP from so-cli; prints "ok=K".
so_spread() {
    local n=$1 i ok=0 src
    for ((i = 0; i < n; i++)); do
        src=${SO_CLIENT_IPS[i % ${#SO_CLIENT_IPS[@]}]}
        [[ $(so_in "$SO_NS_CLIENT" curl -sS -m 5 --interface "$src" -o /dev/null -w '%{http_code}' \
            "http://$SO_VIP/" 2>/dev/null) == 200 ]] && ok=$((ok + 1))
    done
    printf 'ok=%s\n' "$ok"
}

# so_downloads_start DIR N PATH [CURL_ARGS...]
so_downloads_start() {
    local dir=$1 n=$2 path=$3 i src
    shift 3
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
        src=${SO_CLIENT_IPS[i % ${#SO_CLIENT_IPS[@]}]}
        (
            rc=0
            so_in "$SO_NS_CLIENT" curl -sS --interface "$src" -o "$dir/$i.body" \
                -w '%{local_ip}:%{local_port}' "$@" "http://$SO_VIP/$path" >"$dir/$i.port" 2>"$dir/$i.err" || rc=$?
            echo "$rc" >"$dir/$i.rc"
        ) </dev/null &
        so__track_pid "$!"
    done
}

# so_downloads_wait DIR N [TIMEOUT]: 0 when every download ended within TIMEOUT (120) s.
so_downloads_wait() {
    local dir=$1 n=$2 timeout=${3:-120} t i ended
    for ((t = 0; t < timeout * 5; t++)); do
        ended=0
        for ((i = 0; i < n; i++)); do
            [[ -s $dir/$i.rc ]] && ended=$((ended + 1))
        done
        ((ended == n)) && return 0
        sleep 0.2
    done
    echo "$ended of $n downloads ended within ${timeout}s" >&2
    return 1
}

# so_downloads_tally DIR N NAME: "ok=A bad=B failed=C".
so_downloads_tally() {
    local dir=$1 n=$2 name=$3 i ok=0 bad=0 failed=0 rc sum
    for ((i = 0; i < n; i++)); do
        rc=$(cat "$dir/$i.rc" 2>/dev/null)
        if [[ $rc != 0 ]]; then
            failed=$((failed + 1))
            continue
        fi
        sum=$(sha256sum "$dir/$i.body" 2>/dev/null | cut -d' ' -f1)
        if [[ $sum == "${SO_SHA256[$name]}" ]]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    done
    printf 'ok=%s bad=%s failed=%s\n' "$ok" "$bad" "$failed"
}

# so_flows_of NAME: client address:port of the client legs Splicer NAME holds now. The
# listing is asked again (5 times at most) when the worker did not answer within the
# control core's second, as on a loaded machine; fails when it never did.
so_flows_of() {
    local out i
    for ((i = 0; i < 5; i++)); do
        if out=$(so_ctl "$1" show flows limit 1000 2>&1); then
            grep -oE '198\.18\.40\.[0-9]+:[0-9]+' <<<"$out" | sort -u
            return 0
        fi
        echo "so_flows_of $1: $out" >&2
        sleep 0.2
    done
    return 1
}
