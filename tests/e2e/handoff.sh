# shellcheck shell=bash disable=SC2034  # (variables are for the tests that source this file)
# tests/e2e/handoff.sh — the TCP handoff test bed (issue 15): a client, a router, a front
# end (Splicer, or tests/e2e/fakefront.py standing in for it) and two back ends, each
# running `splicer agent` in front of its kernel and nginx. Every name starts with `ho-`, so
# it never collides with lib.sh's bed. Source it from a test:
#
#     . "$(dirname "$0")/handoff.sh"
#     ho_setup                      # namespaces, links, router, test files, nginx x2
#     ho_start_agent 1; ho_start_agent 2
#     ho_start_fakefront            # or: ho_write_splicer_config F; ho_start_splicer F
#     tb_check "..." ...            # lib.sh's reporting
#     tb_finish
#
#   ho-client  ho-c0 198.18.10.2/24, default via the router
#   ho-router  ho-rc 198.18.10.1/24 (client side), ho-rl 198.19.10.1/24 (LAN), and the front
#              end's outside link 198.18.30.1/24 (Splicer's TAP ho-so, or the veth ho-rs to
#              the fake front end); forwards; the VIP 198.18.20.100/32 is routed to the front
#              end's outside address 198.18.30.2
#   ho-lan     bridge ho-br: the router (ho-lr), the front end's inside port (Splicer's TAP
#              ho-si, or the veth ho-lf), the back ends (ho-l1, ho-l2)
#   ho-bN      ho-wN: the back end's wire interface, no address (the agent's net_af_packet
#              port); ho-kN: the agent's net_tap port, 198.19.10.1N/24, default via the
#              router; the VIP on lo (arp_ignore/arp_announce as for LVS-DR); nginx on *:80
#   ho-front   the fake front end only: ho-fo 198.18.30.2/24 (outside), ho-fl 198.19.10.2/24
#
# Back ends answer the client from the VIP through the router: the response never passes
# the front end (direct server return).
#
# Functions
#   ho_setup                   ho_init + network + test bodies + nginx in each back end
#   ho_start_agent N [EXTRA]   starts `splicer agent` in ho-bN (EXTRA: more config lines),
#                              waits for `agent ready`, configures ho-kN; HO_AGENT_PID[N]
#   ho_stop_agent N [SIG]      stops it (SIGTERM default; KILL for a crash)
#   ho_agent_stat N KEY        KEY's value in agent N's last `agent stats` line
#   ho_wait_agent_stat_gt N KEY VALUE [TIMEOUT]   waits until it passes VALUE
#   ho_backend_conns N         connections back end N's kernel holds established with the
#                              client; ho_wait_backend_conns_gone N [TIMEOUT] waits for none
#   ho_start_fakefront         starts fakefront.py (ho-front namespace) in front of both
#                              back ends; HO_FRONT_LOG
#   ho_front_stat KEY          KEY from fakefront.py's last `front stats` line
#   ho_routed_declare          (before ho_setup) a third back end, ho-b3, on its own subnet
#                              behind the router (the routed mode: t_handoff_routed.sh)
#   ho_routed_setup            (after ho_setup) its links, nginx and agent 3
#   ho_write_routed_config FILE PREFIX [LINES]   Splicer with one handoff virtual on the VIP
#                              bound to b3, `handoff_mode = "routed"`
#   ho_write_splicer_config FILE PREFIX [VIRTUAL_LINES]   Splicer with a handoff virtual
#                              (HO_WORKERS=2 in the environment: two workers on the 2
#                              cores, --lcores 0@0,1@0,2@1)
#   ho_start_splicer FILE      starts Splicer, waits for `splicer ready`, attaches its TAPs
#   ho_curl URL [ARGS]         curl from the client, 10 s limit
#   ho_body_ok NAME            GET /files/NAME through the VIP, sha256-checked
#
# Environment: SPLICER_BIN (default <repo>/target/release/splicer), SPLICER_E2E_LOGDIR.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HO_NS_CLIENT=ho-client
HO_NS_ROUTER=ho-router
HO_NS_LAN=ho-lan
HO_NS_FRONT=ho-front
HO_NS_BACK=(ho-b1 ho-b2)
HO_ALL_NS=("$HO_NS_CLIENT" "$HO_NS_ROUTER" "$HO_NS_LAN" "$HO_NS_FRONT" "${HO_NS_BACK[@]}")
HO_CLIENT_IP=198.18.10.2
HO_ROUTER_CLIENT_IP=198.18.10.1
HO_ROUTER_FRONT_IP=198.18.30.1
HO_FRONT_OUT_IP=198.18.30.2
HO_ROUTER_LAN_IP=198.19.10.1
HO_FRONT_IN_IP=198.19.10.2
HO_BACK_IPS=(198.19.10.11 198.19.10.12)
HO_VIP=198.18.20.100
HO_AGENT_PORT=7470
# Splicer's port MACs (net_tap's mac= devarg) and the kernel sides of its TAPs (net_tap
# copies the port's MAC there; a bridge would then keep frames for it to itself).
HO_MAC_OUT=02:68:6f:00:00:01
HO_MAC_IN=02:68:6f:00:00:02
HO_KMAC_OUT=02:68:6f:00:10:01
HO_KMAC_IN=02:68:6f:00:10:02
HO_LOCK=/tmp/ho-e2e.lock

HO_INITIALISED=0
HO_LOCK_FD=""
declare -A HO_AGENT_PID=()
declare -A HO_AGENT_LOG=()
# Per agent N, when set: its `fronts` address and its kernel's default gateway (a back
# end on another segment: t_handoff_routed.sh); else the front end's inside address and
# the router's LAN address.
declare -A HO_AGENT_FRONT=()
declare -A HO_AGENT_GW=()
HO_FRONT_PID=""
HO_FRONT_LOG=""

# ---------------------------------------------------------------- init / teardown

ho_init() {
    [[ $HO_INITIALISED -eq 1 ]] && return 0
    [[ $(id -u) -eq 0 ]] || tb_die "the handoff test bed needs root"
    local c
    for c in ip nginx curl ethtool flock sha256sum python3; do
        command -v "$c" >/dev/null || tb_die "missing command '$c'"
    done
    [[ -x $SPLICER_BIN ]] || tb_die "no splicer binary at $SPLICER_BIN"
    exec {HO_LOCK_FD}>"$HO_LOCK"
    flock -w 300 "$HO_LOCK_FD" || tb_die "another handoff test bed holds $HO_LOCK"
    HO_INITIALISED=1
    # lib.sh's teardown is not ours (it owns the spl-* bed): only the reporting is shared.
    trap ho__on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    ho_cleanup_leftovers
    TB_DIR=$(mktemp -d "/tmp/ho-e2e-$TB_NAME.XXXXXX")
    TB_LOG_DIR=${SPLICER_E2E_LOGDIR:-$TB_DIR/logs}
    mkdir -p "$TB_LOG_DIR"
    tb_log "work dir $TB_DIR, logs in $TB_LOG_DIR"
}

ho__on_exit() {
    local rc=$?
    ho_teardown
    exit "$rc"
}

# Namespaces and DPDK run directories a crashed earlier run left (under the lock, so no
# live bed owns them).
ho_cleanup_leftovers() {
    local ns pid d
    for ns in "${HO_ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        tb_log "leftover: deleting namespace $ns"
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            tb__kill "$pid" TERM 3
        done
        ip netns delete "$ns" 2>/dev/null || true
    done
    for d in /var/run/dpdk/ho-e2e-*; do
        [[ -d $d ]] && rm -rf "$d"
    done
    for d in ho-so ho-si; do
        ip link show dev "$d" >/dev/null 2>&1 &&
            tb_die "interface $d exists in the root namespace: another Splicer uses the bed's names"
    done
    return 0
}

ho_teardown() {
    local - p ns pid f
    set +e
    [[ $HO_INITIALISED -eq 1 ]] || return 0
    HO_INITIALISED=0
    if [[ -n $SPLICER_PID ]]; then
        tb__kill "$SPLICER_PID" INT 15
    fi
    for ((p = ${#TB_PIDS[@]} - 1; p >= 0; p--)); do
        tb__kill "${TB_PIDS[p]}" TERM 5
    done
    for ns in "${HO_ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            tb__kill "$pid" TERM 3
        done
        ip netns delete "$ns" 2>/dev/null
    done
    for p in "${TB_PREFIXES[@]}"; do
        [[ -n $p ]] && rm -rf "/var/run/dpdk/$p"
    done
    [[ $TB_FAILURES -gt 0 ]] && tb_log_tails "${HO_AGENT_LOG[@]}" "$HO_FRONT_LOG" "$SPLICER_LOG"
    tb_remove_work_dir "$TB_DIR"
    [[ -n $HO_LOCK_FD ]] && exec {HO_LOCK_FD}>&-
    return 0
}

# ---------------------------------------------------------------- network

ho__ns() {
    ip netns add "$1" || tb_die "cannot create namespace $1"
    ip -n "$1" link set lo up
    tb_in "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null 2>&1 || true
}

# Full checksums in every frame: the agent and the front ends update checksums
# incrementally, which needs a correct one to start from (veths otherwise hand over
# CHECKSUM_PARTIAL packets whose checksum field holds only the pseudo-header's sum).
ho__offloads_off() {
    tb_in "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
}

# ho__veth NS_A IF_A NS_B IF_B
ho__veth() {
    ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" ||
        tb_die "cannot create veth $2/$4"
    ho__offloads_off "$1" "$2"
    ho__offloads_off "$3" "$4"
    ip -n "$1" link set "$2" up
    ip -n "$3" link set "$4" up
}

ho__make_network() {
    local ns i
    for ns in "${HO_ALL_NS[@]}"; do
        ho__ns "$ns"
    done
    ip -n "$HO_NS_LAN" link add ho-br type bridge || tb_die "cannot create the bridge"
    tb_in "$HO_NS_LAN" sysctl -qw net.bridge.bridge-nf-call-iptables=0 >/dev/null 2>&1 || true
    ip -n "$HO_NS_LAN" link set ho-br up
    # client <-> router
    ho__veth "$HO_NS_CLIENT" ho-c0 "$HO_NS_ROUTER" ho-rc
    ip -n "$HO_NS_CLIENT" addr add "$HO_CLIENT_IP/24" dev ho-c0
    ip -n "$HO_NS_CLIENT" route add default via "$HO_ROUTER_CLIENT_IP"
    ip -n "$HO_NS_ROUTER" addr add "$HO_ROUTER_CLIENT_IP/24" dev ho-rc
    # router <-> LAN
    ho__veth "$HO_NS_ROUTER" ho-rl "$HO_NS_LAN" ho-lr
    ip -n "$HO_NS_LAN" link set ho-lr master ho-br
    ip -n "$HO_NS_ROUTER" addr add "$HO_ROUTER_LAN_IP/24" dev ho-rl
    tb_in "$HO_NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
        >/dev/null || tb_die "cannot enable forwarding in the router"
    # back ends: the wire veth only; the agent creates the kernel's TAP
    for i in "${!HO_NS_BACK[@]}"; do
        ns=${HO_NS_BACK[i]}
        ho__veth "$HO_NS_LAN" "ho-l$((i + 1))" "$ns" "ho-w$((i + 1))"
        ip -n "$HO_NS_LAN" link set "ho-l$((i + 1))" master ho-br
        ip -n "$ns" addr add "$HO_VIP/32" dev lo
        # LVS-DR: the VIP on lo is never announced nor answered for by ARP.
        tb_in "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
            >/dev/null || tb_die "cannot set arp_ignore in $ns"
    done
}

# ---------------------------------------------------------------- back ends

ho__nginx_conf() {
    local name=$1 dir=$2
    tb_nginx_preamble "$name" "$dir"
    cat <<EOF
    access_log $TB_LOG_DIR/nginx-$name-access.log;
    server {
        # Every address: the VIP (handed-off connections) and the back end's own.
        listen 80 backlog=4096;
        root $dir/www;
        add_header X-Server $name always;
        location / {
            try_files \$uri /index.html;
        }
        location /files/ {
            root $TB_WWW;
        }
    }
}
EOF
}

ho__start_nginx() {
    local i=$1 ns=${HO_NS_BACK[$1]} name dir
    name=b$((i + 1))
    dir=$TB_DIR/$name
    mkdir -p "$dir/www" "$dir/tmp"
    printf '%s\n' "$name" >"$dir/www/index.html"
    ho__nginx_conf "$name" "$dir" >"$dir/nginx.conf"
    tb_in "$ns" nginx -t -q -c "$dir/nginx.conf" -p "$dir" -e "$TB_LOG_DIR/nginx-$name-error.log" ||
        tb_die "nginx configuration for $name is invalid"
    # `ip netns exec` execs the command: $! is nginx itself (through a function it would
    # be a subshell, and killing that would leave the program running).
    ip netns exec "$ns" nginx -c "$dir/nginx.conf" -p "$dir" -e "$TB_LOG_DIR/nginx-$name-error.log" \
        </dev/null >>"$dir/stdout.log" 2>&1 &
    TB_PIDS+=("$!")
}

ho_setup() {
    ho_init
    tb_log "setting up namespaces ${HO_ALL_NS[*]}"
    ho__make_network
    tb__make_files
    local i
    for i in "${!HO_NS_BACK[@]}"; do
        ho__start_nginx "$i"
    done
}

# ho__count PATTERN LOG: lines of LOG matching PATTERN (0 without the file).
ho__count() {
    local c
    c=$(grep -ac "$1" "$2" 2>/dev/null)
    echo "${c:-0}"
}

# ho__wait_for PATTERN LOG BEFORE PID WHAT: waits up to 30 s for more than BEFORE lines of
# LOG to match PATTERN (logs are appended to across restarts); dies if PID exits.
ho__wait_for() {
    local pattern=$1 log=$2 before=$3 pid=$4 what=$5 t
    for ((t = 0; t < 300; t++)); do
        (($(ho__count "$pattern" "$log") > before)) && return 0
        tb__alive "$pid" || tb_die "$what exited at start: $(tail -n 5 "$log")"
        sleep 0.1
    done
    tb_die "$what not ready in 30 s"
}

# ---------------------------------------------------------------- agents

# ho_start_agent N [EXTRA_CONFIG_LINES]
ho_start_agent() {
    local n=$1 extra=${2:-} ns=${HO_NS_BACK[$1 - 1]} ip=${HO_BACK_IPS[$1 - 1]} cfg log prefix before t
    prefix=ho-e2e-agent$n-$$
    cfg=$TB_DIR/agent$n.toml
    log=$TB_LOG_DIR/agent$n.log
    TB_PREFIXES+=("$prefix")
    cat >"$cfg" <<EOF
listen = "$ip:$HO_AGENT_PORT"
fronts = ["${HO_AGENT_FRONT[$n]:-$HO_FRONT_IN_IP}"]
wire_iface = "ho-w$n"
kernel_iface = "ho-k$n"
file_prefix = "$prefix"
eal = ["-l", "$((n % 2))", "--no-huge", "--no-shconf", "-m", "128"]
idle_sleep = "100us"
stats_interval = "1s"
$extra
EOF
    # A killed agent's TAP goes with its last file descriptor, a moment after the process.
    for ((t = 0; t < 50; t++)); do
        ip -n "$ns" link show dev "ho-k$n" >/dev/null 2>&1 || break
        sleep 0.1
    done
    # Still there: another agent holds it (net_tap would join it as a second queue).
    ((t < 50)) || tb_die "ho-k$n still exists: an agent for back end $n still runs"
    before=$(ho__count 'agent ready' "$log")
    ip netns exec "$ns" "$SPLICER_BIN" agent --config "$cfg" </dev/null >>"$log" 2>&1 &
    HO_AGENT_PID[$n]=$!
    HO_AGENT_LOG[$n]=$log
    TB_PIDS+=("$!")
    ho__wait_for 'agent ready' "$log" "$before" "${HO_AGENT_PID[$n]}" "agent $n"
    # The kernel's side of the exception port: a fixed MAC (net_tap gives a new TAP a
    # random one, and the neighbours' ARP caches would keep the old one across an agent
    # restart: frames bridged to the kernel would be dropped until they expire), the
    # back end's address and routes.
    ho__offloads_off "$ns" "ho-k$n"
    ip -n "$ns" link set "ho-k$n" address "02:68:6f:00:20:0$n"
    ip -n "$ns" addr replace "$ip/24" dev "ho-k$n"
    ip -n "$ns" link set "ho-k$n" up
    ip -n "$ns" route replace default via "${HO_AGENT_GW[$n]:-$HO_ROUTER_LAN_IP}"
}

# ho_stop_agent N [SIGNAL]
ho_stop_agent() {
    local n=$1 sig=${2:-TERM}
    tb__kill "${HO_AGENT_PID[$n]}" "$sig" 10
}

# ho_agent_stat N KEY: KEY in the last `agent stats connections=...` line of agent N.
ho_agent_stat() {
    local line
    line=$(grep -a 'agent stats connections=' "${HO_AGENT_LOG[$1]}" | tail -n 1)
    sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<" $line" | head -n 1 | grep . || echo 0
}

# ho_wait_agent_stat_gt N KEY VALUE [TIMEOUT]: waits (default 5 s) until agent N's KEY
# passes VALUE (its stats lines come every second).
ho_wait_agent_stat_gt() {
    local n=$1 key=$2 value=$3 timeout=${4:-5} t v
    for ((t = 0; t < timeout * 10; t++)); do
        v=$(ho_agent_stat "$n" "$key")
        ((v > value)) && return 0
        sleep 0.1
    done
    echo "agent $n: $key stayed at $v (wanted > $value) for ${timeout}s"
    return 1
}

# ho_backend_conns N: the TCP connections back end N's kernel holds established with the
# client (handed-off ones: from the VIP in the layer-2 mode, from its own address routed).
ho_backend_conns() {
    ip netns exec "${HO_NS_BACK[$1 - 1]}" ss -Htn state established dst "$HO_CLIENT_IP" | wc -l
}

# ho_wait_backend_conns_gone N [TIMEOUT]: waits (default 5 s) until back end N's kernel
# holds no connection established with the client.
ho_wait_backend_conns_gone() {
    local n=$1 timeout=${2:-5} t c
    for ((t = 0; t < timeout * 10; t++)); do
        c=$(ho_backend_conns "$n")
        ((c == 0)) && return 0
        sleep 0.1
    done
    echo "back end $n still holds $c connection(s) with the client after ${timeout}s:"
    ip netns exec "${HO_NS_BACK[$n - 1]}" ss -tni state established dst "$HO_CLIENT_IP" | head -n 6
    return 1
}

# ---------------------------------------------------------------- front ends

# The fake front end (fakefront.py): the front end's part of a handoff done in Python with
# raw sockets, so that the agent can be tested without Splicer.
ho_start_fakefront() {
    local before
    ho__veth "$HO_NS_FRONT" ho-fo "$HO_NS_ROUTER" ho-rs
    ho__veth "$HO_NS_FRONT" ho-fl "$HO_NS_LAN" ho-lf
    ip -n "$HO_NS_LAN" link set ho-lf master ho-br
    ip -n "$HO_NS_FRONT" addr add "$HO_FRONT_OUT_IP/24" dev ho-fo
    ip -n "$HO_NS_FRONT" addr add "$HO_FRONT_IN_IP/24" dev ho-fl
    ip -n "$HO_NS_ROUTER" addr add "$HO_ROUTER_FRONT_IP/24" dev ho-rs
    ip -n "$HO_NS_ROUTER" route add "$HO_VIP/32" via "$HO_FRONT_OUT_IP"
    HO_FRONT_LOG=$TB_LOG_DIR/fakefront.log
    before=$(ho__count 'front ready' "$HO_FRONT_LOG")
    ip netns exec "$HO_NS_FRONT" python3 -u "$(dirname "${BASH_SOURCE[0]}")/fakefront.py" \
        --outside ho-fo --inside ho-fl --vip "$HO_VIP:80" --bind "$HO_FRONT_IN_IP:$HO_AGENT_PORT" \
        --agent "${HO_BACK_IPS[0]}:$HO_AGENT_PORT" --agent "${HO_BACK_IPS[1]}:$HO_AGENT_PORT" \
        </dev/null >>"$HO_FRONT_LOG" 2>&1 &
    HO_FRONT_PID=$!
    TB_PIDS+=("$!")
    ho__wait_for 'front ready' "$HO_FRONT_LOG" "$before" "$HO_FRONT_PID" fakefront.py
}

# ho_front_stat KEY: KEY from fakefront.py's last `front stats` line (it writes one a second).
ho_front_stat() {
    local line
    line=$(grep -a 'front stats' "$HO_FRONT_LOG" | tail -n 1)
    sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $line" | head -n 1 | grep . || echo 0
}

# ho_write_splicer_config FILE PREFIX [VIRTUAL_LINES]: Splicer with an outside port towards
# the router and an inside port on the LAN, the two back ends as reals with agents, and a
# handoff virtual on the VIP.
ho_write_splicer_config() {
    local file=$1 prefix=$2 virtual=${3:-} lcores='"-l", "0-1"'
    if [[ ${HO_WORKERS:-1} == 2 ]]; then
        lcores='"--lcores", "0@0,1@0,2@1"'
    fi
    TB_PREFIXES+=("$prefix")
    TB_CTL_SOCK=$TB_DIR/splicer.sock
    cat >"$file" <<CONF
[dataplane]
eal = [$lcores, "--no-pci", "--no-huge", "--no-shconf", "-m", "512",
       "--file-prefix", "$prefix",
       "--vdev", "net_tap0,iface=ho-so,mac=$HO_MAC_OUT",
       "--vdev", "net_tap1,iface=ho-si,mac=$HO_MAC_IN"]
workers = ${HO_WORKERS:-1}
stats_interval = "1s"
idle_sleep = "100us"
control_socket = "$TB_CTL_SOCK"

[[port]]
name = "outside"
address = "$HO_FRONT_OUT_IP/24"
gateway = "$HO_ROUTER_FRONT_IP"

[[port]]
name = "inside"
address = "$HO_FRONT_IN_IP/24"

[[real]]
name = "b1"
address = "${HO_BACK_IPS[0]}:80"
agent = "${HO_BACK_IPS[0]}:$HO_AGENT_PORT"

[[real]]
name = "b2"
address = "${HO_BACK_IPS[1]}:80"
agent = "${HO_BACK_IPS[1]}:$HO_AGENT_PORT"

[[virtual]]
name = "www"
address = "$HO_VIP:80"
port = "outside"
mode = "handoff"
bind = ["b1", "b2"]
$virtual
CONF
}

# ---------------------------------------------------------------- routed mode

# The third back end: ho-b3 behind the router on its own subnet, no VIP on its loopback.
#
#   ho-router  ho-r3 198.19.20.1/24 ── ho-b3: ho-w3 (the agent's wire port, no address),
#                                      ho-k3 198.19.20.13/24 (the agent's TAP), default
#                                      via 198.19.20.1; nginx on *:80
HO_B3_NS=ho-b3
HO_B3_IP=198.19.20.13
HO_B3_GW=198.19.20.1

# ho_routed_declare: before ho_setup, so that ho-b3 is created, and removed at the end,
# with the bed's namespaces.
ho_routed_declare() {
    HO_ALL_NS+=("$HO_B3_NS")
}

# ho_routed_setup: after ho_setup: ho-b3's link to the router, its nginx and agent 3 (its
# channel comes from Splicer's outside address: the route to it is the gateway).
ho_routed_setup() {
    HO_NS_BACK+=("$HO_B3_NS")
    HO_BACK_IPS+=("$HO_B3_IP")
    ho__veth "$HO_NS_ROUTER" ho-r3 "$HO_B3_NS" ho-w3
    ip -n "$HO_NS_ROUTER" addr add "$HO_B3_GW/24" dev ho-r3
    ho__start_nginx 2
    HO_AGENT_FRONT[3]=$HO_FRONT_OUT_IP
    HO_AGENT_GW[3]=$HO_B3_GW
    ho_start_agent 3
}

# ho_write_routed_config FILE PREFIX [LINES]: Splicer (one worker) reaching back end 3
# through its outside port's gateway; a handoff virtual on the VIP bound to b3, a real with
# handoff_mode = "routed"; fast failure detection. LINES are appended.
ho_write_routed_config() {
    local file=$1 prefix=$2 extra=${3:-}
    TB_PREFIXES+=("$prefix")
    TB_CTL_SOCK=$TB_DIR/splicer.sock
    cat >"$file" <<CONF
[dataplane]
eal = ["-l", "0-1", "--no-pci", "--no-huge", "--no-shconf", "-m", "512",
       "--file-prefix", "$prefix",
       "--vdev", "net_tap0,iface=ho-so,mac=$HO_MAC_OUT",
       "--vdev", "net_tap1,iface=ho-si,mac=$HO_MAC_IN"]
workers = 1
stats_interval = "1s"
idle_sleep = "100us"
control_socket = "$TB_CTL_SOCK"
agent_heartbeat = "300ms"
agent_dead_time = "1s"
handoff_timeout = "500ms"

[[port]]
name = "outside"
address = "$HO_FRONT_OUT_IP/24"
gateway = "$HO_ROUTER_FRONT_IP"

[[port]]
name = "inside"
address = "$HO_FRONT_IN_IP/24"

[[real]]
name = "b3"
address = "$HO_B3_IP:80"
agent = "$HO_B3_IP:$HO_AGENT_PORT"
handoff_mode = "routed"

[[virtual]]
name = "www"
address = "$HO_VIP:80"
port = "outside"
mode = "handoff"
bind = ["b3"]
$extra
CONF
}

# ho_start_splicer FILE: starts Splicer in the root namespace, then moves its TAPs: ho-so
# to the router (the front end's outside link), ho-si onto the LAN bridge.
ho_start_splicer() {
    local cfg=$1 before
    SPLICER_LOG=$TB_LOG_DIR/splicer.log
    before=$(ho__count 'splicer ready' "$SPLICER_LOG")
    "$SPLICER_BIN" run --config "$cfg" </dev/null >>"$SPLICER_LOG" 2>&1 &
    SPLICER_PID=$!
    ho__wait_for 'splicer ready' "$SPLICER_LOG" "$before" "$SPLICER_PID" splicer
    ip link set ho-so netns "$HO_NS_ROUTER" || tb_die "cannot move ho-so"
    ip link set ho-si netns "$HO_NS_LAN" || tb_die "cannot move ho-si"
    ip -n "$HO_NS_ROUTER" link set ho-so address "$HO_KMAC_OUT"
    ip -n "$HO_NS_LAN" link set ho-si address "$HO_KMAC_IN"
    ho__offloads_off "$HO_NS_ROUTER" ho-so
    ho__offloads_off "$HO_NS_LAN" ho-si
    ip -n "$HO_NS_ROUTER" addr add "$HO_ROUTER_FRONT_IP/24" dev ho-so
    ip -n "$HO_NS_ROUTER" link set ho-so up
    ip -n "$HO_NS_ROUTER" route add "$HO_VIP/32" via "$HO_FRONT_OUT_IP"
    ip -n "$HO_NS_LAN" link set ho-si master ho-br
    ip -n "$HO_NS_LAN" link set ho-si up
}

# ---------------------------------------------------------------- traffic

ho_curl() {
    local url=$1
    shift
    tb_in "$HO_NS_CLIENT" curl -sS --max-time 10 "$url" "$@"
}

# ho_body_ok NAME: GET /files/NAME from the client through the VIP; 0 when the body's
# sha256 is the test body's.
ho_body_ok() {
    local sum
    sum=$(ho_curl "http://$HO_VIP/files/$1" | sha256sum | cut -d' ' -f1)
    [[ $sum == "$(tb_sha256 "$1")" ]] || {
        echo "/files/$1: sha256 $sum, want $(tb_sha256 "$1")"
        return 1
    }
}
