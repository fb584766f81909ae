#!/usr/bin/env bash
# perf/e2e/compare.sh — end-to-end comparison (issue 5, part 2): the same HTTP loads against
#   direct              the nginx servers with no balancer (client on the server LAN): the reference
#   haproxy             Debian's HAProxy (mode http, http-reuse always), kernel stack on veths
#   splicer-tap         Splicer, ports net_tap (TAPs moved into the client namespace / the LAN bridge)
#   splicer-afpacket    Splicer, ports net_af_packet on the same veths HAProxy used
#   splicer-afxdp       Splicer, ports net_af_xdp on the same veths (reported as not measured when
#                       it does not start or does not answer in this VM)
#   direct-end          the reference again at the end: how much the machine drifted during the run
# Loads, each bounded: wrk keep-alive, wrk with `Connection: close`, h2load --h1.
#
#   perf/e2e/compare.sh            # full run: 10 s per wrk load (about 6 minutes in all)
#   perf/e2e/compare.sh --quick    # ~2 s per load: checks that the bed and every target work
#
# Needs root, DPDK 22.11, target/release/splicer (cargo build --release -p splicer), and the
# Debian packages haproxy wrk nghttp2-client nginx ethtool (installed with apt-get if missing).
# Everything lives in network namespaces spb-* with addresses from 198.18.64.0/24 (client side)
# and 198.19.64.0/24 (server side); a trap removes namespaces, links, processes and
# /var/run/dpdk/spb-* on any exit. See perf/README.md, "End-to-end comparison".
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/perf/e2e
SCRIPT_ARGS=("$@")

usage() {
    cat <<'EOF'
usage: perf/e2e/compare.sh [--quick] [--targets LIST] [--out DIR]
  --quick          about 2 s per load (SPB_SECONDS=2, SPB_H2LOAD_N=5000, 0 s warm-up)
  --targets LIST   comma-separated, in order (default
                   direct,haproxy,splicer-tap,splicer-afpacket,splicer-afxdp,direct-end)
  --out DIR        where results and logs go (default /tmp/spb-e2e-<date>-<time>)
environment: SPB_SECONDS (10) SPB_H2LOAD_N (100000) SPB_CONNS (50) SPB_THREADS (2)
  SPB_WARMUP (2, seconds of unmeasured wrk per target) SPB_LOAD_CPUS (0) SPB_LB_CPU (1)
  SPB_KEEPALIVE_REQUESTS (1000000: nginx's keepalive_requests; 1 makes every server close
  after each response, as behind a client's Connection: close) SPB_PCAP (0)
  SPB_IDLE_SLEEP (0s: Splicer busy-polls) SPB_RPS (0; 1: each party's kernel receive work on
  its own CPUs, see rps()) SPB_ROUNDS (1: runs of the whole target list; the table shows
  medians) SPB_PATH (/) SPLICER_BIN (target/release/splicer)
EOF
}

QUICK=0
TARGETS=${SPB_TARGETS:-direct,haproxy,splicer-tap,splicer-afpacket,splicer-afxdp,direct-end}
OUT=${SPB_OUT:-}
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --targets) TARGETS=${2:?--targets needs a list}; shift ;;
    --targets=*) TARGETS=${1#*=} ;;
    --out) OUT=${2:?--out needs a directory}; shift ;;
    --out=*) OUT=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if ((QUICK)); then
    SECS=${SPB_SECONDS:-2}; H2N=${SPB_H2LOAD_N:-5000}; WARMUP=${SPB_WARMUP:-0}
else
    SECS=${SPB_SECONDS:-10}; H2N=${SPB_H2LOAD_N:-100000}; WARMUP=${SPB_WARMUP:-2}
fi
CONNS=${SPB_CONNS:-50}
THREADS=${SPB_THREADS:-2}
LOAD_CPUS=${SPB_LOAD_CPUS:-0}
LB_CPU=${SPB_LB_CPU:-1}
IDLE_SLEEP=${SPB_IDLE_SLEEP:-0s}
RPS=${SPB_RPS:-0}
PCAP=${SPB_PCAP:-0}
KEEPALIVE_REQUESTS=${SPB_KEEPALIVE_REQUESTS:-1000000}   # nginx closes a connection after this many
ROUNDS=${SPB_ROUNDS:-1}
ROUND=1
SFX=""             # "-rN" in file names when there are several rounds
URL_PATH=${SPB_PATH:-/}
SPLICER_BIN=${SPLICER_BIN:-$REPO/target/release/splicer}
OUT=${OUT:-/tmp/spb-e2e-$(date +%Y%m%d-%H%M%S)}

# ---------------------------------------------------------------- names and addresses
NS_C=spb-client             # wrk, h2load
NS_LB=spb-lb                # HAProxy or Splicer
NS_LAN=spb-lan              # bridge spb-br: the server LAN
NS_S=(spb-s1 spb-s2 spb-s3) # nginx
ALL_NS=("$NS_C" "$NS_LB" "$NS_LAN" "${NS_S[@]}")
S_IP=(198.19.64.11 198.19.64.12 198.19.64.13)
C_IP=198.18.64.2            # the client, on the balancer's outside subnet
C_DIRECT_IP=198.19.64.2     # the client's second leg, on the server LAN (direct target)
LB_OUT_IP=198.18.64.1       # balancer outside (Splicer port "outside", HAProxy's veth)
LB_IN_IP=198.19.64.1        # balancer inside: the address the servers see
VIP=198.18.64.100
# veths: client spb-c0 <-> spb-c1 balancer; balancer spb-l1 <-> spb-l0 LAN bridge;
# client spb-cd <-> spb-cdb LAN bridge (direct); spb-sNe (server N) <-> spb-sNb LAN bridge.
# TAPs (net_tap): spb-tout -> client namespace, spb-tin -> LAN bridge.
TAP_OUT=spb-tout TAP_IN=spb-tin
MAC_OUT=02:73:70:62:00:01 MAC_IN=02:73:70:62:00:02     # Splicer's net_tap ports
KMAC_OUT=02:73:70:62:10:01 KMAC_IN=02:73:70:62:10:02   # the TAPs' kernel sides
STATE_DIR=/run/spb-e2e
PID_FILE=$STATE_DIR/pids
LOCK_FILE=$STATE_DIR/lock

# ---------------------------------------------------------------- state
WORK=""
PIDS=()            # every process we started (PID), in start order
NGINX_PIDS=()
LB_PID=""          # the running balancer (HAProxy or Splicer)
LB_KIND=""
CTL_SOCK=""
FAILED_TARGETS=()
CLK_TCK=$(getconf CLK_TCK)
TSC_HZ=""         # the TSC's rate (tsc_hz_of), to state HAProxy's CPU time in cycles

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

starttime() {
    local s f
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    read -r -a f <<<"$s"
    printf '%s\n' "${f[19]}"
}
alive() {
    local s
    [[ -n ${1:-} ]] || return 1
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [[ ${s:0:1} != Z ]]
}
track() {
    PIDS+=("$1")
    local st
    st=$(starttime "$1") && printf '%s %s\n' "$1" "$st" >>"$PID_FILE"
}
wait_gone() {
    local i
    for ((i = 0; i < ${2:-10} * 10; i++)); do alive "$1" || return 0; sleep 0.1; done
    ! alive "$1"
}
# stop PID [SIG] [TIMEOUT]: only PIDs we started.
stop_pid() {
    local pid=$1 sig=${2:-TERM} t=${3:-5}
    alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
    kill -s "$sig" "$pid" 2>/dev/null
    if ! wait_gone "$pid" "$t"; then
        log "PID $pid still runs ${t}s after SIG$sig: SIGKILL"
        kill -s KILL "$pid" 2>/dev/null
        wait_gone "$pid" 5
    fi
    wait "$pid" 2>/dev/null
}
# CPU ticks (utime+stime) of the given PIDs, summed; threads included.
cpu_ticks() {
    local pid s f sum=0
    for pid in "$@"; do
        s=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        s=${s##*) }
        read -r -a f <<<"$s"
        sum=$((sum + f[11] + f[12]))
    done
    printf '%s\n' "$sum"
}
# worker_ticks PID: CPU ticks (utime+stime) of Splicer's worker lcore threads (DPDK names them
# rte-worker-N): the time the scheduler let them run, idle polls included, preemption not.
worker_ticks() {
    local t s f sum=0
    for t in /proc/"$1"/task/*; do
        case $(cat "$t/comm" 2>/dev/null) in rte-worker-* | lcore-worker-*) ;; *) continue ;; esac
        s=$(cat "$t/stat" 2>/dev/null) || continue
        s=${s##*) }
        read -r -a f <<<"$s"
        sum=$((sum + f[11] + f[12]))
    done
    printf '%s\n' "$sum"
}
# machine_ticks: "BUSY STEAL" jiffies of the whole VM since boot (BUSY = user+nice+system of
# every CPU: what processes ran; irq, softirq, steal not included).
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4, $9 }' /proc/stat; }
# children_ticks: sets CHILD_TICKS to the user+sys clock ticks of this shell's waited-for
# children so far (bash `times`; run in this shell, not in $(...), whose subshell would count
# only its own children).
children_ticks() {
    local u s
    times >"$WORK/.times"
    { read -r _ _; read -r u s; } <"$WORK/.times"
    CHILD_TICKS=$(awk -v u="$u" -v s="$s" -v hz="$CLK_TCK" '
        function sec(x, a) { split(x, a, "m"); sub(/s$/, "", a[2]); return a[1] * 60 + a[2] }
        BEGIN { printf "%d\n", (sec(u) + sec(s)) * hz + 0.5 }')
}
# tsc_hz_of: the TSC's rate in Hz, as the kernel calibrated it at boot ("tsc: Refined TSC
# clocksource calibration", else "tsc: Detected ... MHz processor"); empty when unknown.
# Splicer's busy cycles are TSC cycles; HAProxy's CPU seconds are converted at this rate.
tsc_hz_of() {
    local mhz
    mhz=$(dmesg 2>/dev/null | sed -n 's/.*Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n 1)
    [[ -n $mhz ]] || mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n 1)
    [[ -n $mhz ]] || mhz=$(journalctl -k -b 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n 1)
    [[ -n $mhz ]] && awk -v m="$mhz" 'BEGIN { printf "%.0f\n", m * 1e6 }'
}
ticks_to_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }
now_ns() { date +%s%N; }
# workers_json FILE: Splicer's `show workers --json` answer and the wall clock (ns) it was
# read at, as {"ns": ..., "answer": ...}.
workers_json() {
    local t a
    t=$(now_ns)
    a=$("$SPLICER_BIN" ctl --socket "$CTL_SOCK" --json show workers 2>/dev/null) || a=null
    printf '{"ns": %s, "answer": %s}\n' "$t" "${a:-null}" >"$1"
}
servers_tcp_counters() {
    local ns r o p sr=0 so=0 sp=0
    for ns in "${NS_S[@]}"; do
        read -r r o p < <(tcp_counters "$ns")
        sr=$((sr + r)) so=$((so + o)) sp=$((sp + p))
    done
    echo "$sr $so $sp"
}
# tcp_counters NS: "RetransSegs TCPTimeouts TCPLossProbes" of NS's kernel (segments
# retransmitted; of those, RTO expiries, and tail loss probes: a sender that waited twice
# its round trip for an ACK sends its last segment again).
tcp_counters() {
    ip netns exec "$1" cat /proc/net/snmp /proc/net/netstat 2>/dev/null | awk '
        $1 == "Tcp:" && !th { for (i = 2; i <= NF; i++) h[i] = $i; th = 1; next }
        $1 == "Tcp:" && th { for (i = 2; i <= NF; i++) if (h[i] == "RetransSegs") r = $i }
        $1 == "TcpExt:" && !xh { for (i = 2; i <= NF; i++) x[i] = $i; xh = 1; next }
        $1 == "TcpExt:" && xh { for (i = 2; i <= NF; i++) { if (x[i] == "TCPTimeouts") t = $i; if (x[i] == "TCPLossProbes") p = $i } }
        END { print r + 0, t + 0, p + 0 }'
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- cleanup
remove_leftovers() {
    local pid st ns d
    if [[ -s $PID_FILE ]]; then
        while read -r pid st; do
            [[ -n $pid && $(starttime "$pid" 2>/dev/null) == "$st" ]] || continue
            log "leftover of an earlier run: stopping PID $pid"
            stop_pid "$pid" TERM 5
        done <"$PID_FILE"
    fi
    for ns in "${ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        log "leftover of an earlier run: namespace $ns"
        for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid" TERM 3; done
        ip netns delete "$ns" 2>/dev/null
    done
    for d in /var/run/dpdk/spb-*; do [[ -e $d ]] && rm -rf "$d"; done
    : >"$PID_FILE"
}

# shellcheck disable=SC2317  # (runs from the EXIT/INT/TERM trap)
cleanup() {
    local rc=$? p ns pid
    trap - EXIT INT TERM HUP
    set +e
    log "cleaning up"
    stop_balancer >/dev/null 2>&1
    for ((p = ${#PIDS[@]} - 1; p >= 0; p--)); do stop_pid "${PIDS[p]}" TERM 5; done
    for ns in "${ALL_NS[@]}"; do
        [[ -e /var/run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid" TERM 3; done
        ip netns delete "$ns" 2>/dev/null
    done
    # TAPs that were never moved out of the balancer namespace went with it; any spb-* link
    # in the root namespace would be one of ours left by a crash.
    for p in $(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^spb-'); do
        ip link delete "$p" 2>/dev/null
    done
    for p in /var/run/dpdk/spb-*; do [[ -e $p ]] && rm -rf "$p"; done
    : >"$PID_FILE"
    [[ -n $WORK && -d $WORK ]] && rm -rf "${WORK:?}/www" "${WORK:?}/run"
    exit "$rc"
}

# ---------------------------------------------------------------- prerequisites
prereqs() {
    [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, DPDK)"
    local need=() c
    declare -A pkg_of=([haproxy]=haproxy [wrk]=wrk [h2load]=nghttp2-client [nginx]=nginx
        [ethtool]=ethtool [ip]=iproute2 [taskset]=util-linux [flock]=util-linux
        [curl]=curl [python3]=python3)
    for c in "${!pkg_of[@]}"; do
        command -v "$c" >/dev/null || need+=("${pkg_of[$c]}")
    done
    if ((${#need[@]})); then
        log "installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2 ||
            die "apt-get install ${need[*]} failed"
    fi
    [[ -x $SPLICER_BIN ]] || die "no Splicer binary at $SPLICER_BIN: cargo build --release -p splicer"
}

# ---------------------------------------------------------------- the bed
ns_new() {
    ip netns add "$1" || die "cannot create namespace $1"
    ip -n "$1" link set lo up
    in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
}
tx_off() { in_ns "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || die "ethtool -K $2 tx off (in $1) failed"; }
# veth NS_A IF_A NS_B IF_B: a veth pair, TX checksum offload off on both ends, both up.
veth() {
    ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || die "cannot create veth $2/$4"
    tx_off "$1" "$2"
    tx_off "$3" "$4"
    ip -n "$1" link set "$2" up
    ip -n "$3" link set "$4" up
}

make_bed() {
    local i ns
    for ns in "${ALL_NS[@]}"; do ns_new "$ns"; done
    ip -n "$NS_LAN" link add spb-br type bridge || die "cannot create bridge"
    ip -n "$NS_LAN" link set spb-br up
    for i in 0 1 2; do
        ns=${NS_S[i]}
        veth "$ns" "spb-s$((i + 1))e" "$NS_LAN" "spb-s$((i + 1))b"
        ip -n "$NS_LAN" link set "spb-s$((i + 1))b" master spb-br
        ip -n "$ns" addr add "${S_IP[i]}/24" dev "spb-s$((i + 1))e"
    done
    veth "$NS_C" spb-c0 "$NS_LB" spb-c1
    veth "$NS_LB" spb-l1 "$NS_LAN" spb-l0
    ip -n "$NS_LAN" link set spb-l0 master spb-br
    veth "$NS_C" spb-cd "$NS_LAN" spb-cdb
    ip -n "$NS_LAN" link set spb-cdb master spb-br
    ip -n "$NS_C" addr add "$C_DIRECT_IP/24" dev spb-cd
    rps "$NS_C" spb-c0 "$LOAD_CPUS"
    rps "$NS_C" spb-cd "$LOAD_CPUS"
    for i in 0 1 2; do rps "${NS_S[i]}" "spb-s$((i + 1))e" "$LOAD_CPUS"; done
    rps "$NS_LB" spb-c1 "$LB_CPU"
    rps "$NS_LB" spb-l1 "$LB_CPU"
    # Many short connections (Connection: close): the client may reuse ports quickly.
    in_ns "$NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 >/dev/null
    for ns in "${NS_S[@]}"; do
        in_ns "$ns" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 >/dev/null
    done
    in_ns "$NS_LB" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 \
        net.ipv4.ip_local_port_range="1024 65000" >/dev/null
}

nginx_conf() {
    local name=$1 ip=$2 dir=$3
    cat <<EOF
# nginx for server $name ($ip): one process, pinned by taskset to the load CPUs.
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    default_type text/plain;
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests $KEEPALIVE_REQUESTS;
    keepalive_timeout 300s;
    server_tokens off;
    server {
        listen $ip:80 backlog=4096;
        server_name _;
        root $dir/www;
        index index.html;
        add_header X-Server $name always;
        location / { try_files \$uri \$uri/ /index.html; }
    }
}
EOF
}

start_servers() {
    local i name dir pid t
    for i in 0 1 2; do
        name=s$((i + 1))
        dir=$WORK/www/$name
        mkdir -p "$dir/www" "$dir/tmp"
        printf '%s\n' "$name" >"$dir/www/index.html"
        nginx_conf "$name" "${S_IP[i]}" "$dir" >"$dir/nginx.conf"
        in_ns "${NS_S[i]}" nginx -t -q -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" ||
            die "nginx configuration of $name is invalid"
        # ip netns exec, taskset and env exec (no fork): $! is the server's own PID. (A shell
        # function run with & would be a subshell whose PID is not the server's.)
        ip netns exec "${NS_S[i]}" taskset -c "$LOAD_CPUS" nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" \
            </dev/null >>"$WORK/logs/nginx-$name.out" 2>&1 &
        pid=$!
        track "$pid"
        NGINX_PIDS+=("$pid")
    done
    for i in 0 1 2; do
        for ((t = 0; t < 50; t++)); do
            [[ $(in_ns "$NS_C" curl -s -m 2 "http://${S_IP[i]}/") == "s$((i + 1))" ]] && break
            sleep 0.1
        done
        ((t < 50)) || die "nginx s$((i + 1)) does not answer on ${S_IP[i]}:80 from the client's LAN leg"
    done
    log "3 nginx servers answer (CPUs $LOAD_CPUS)"
}

# rps NS IFACE CPUS: receive processing of frames arriving on IFACE (veth, TAP) on CPUS. A veth
# or TAP hands a frame to the kernel on the CPU that sent it, so without this the client's and
# the servers' TCP receive work would run on the balancer's CPU (inside its sendto() for
# af_packet, charged to it) and HAProxy's on the load CPU. With it, each party's kernel
# receive work runs on its own CPUs: client and servers on SPB_LOAD_CPUS, the balancer's
# veths on SPB_LB_CPU.
rps() {
    ((RPS)) || return 0
    local ns=$1 ifc=$2 cpus=$3 mask=0 c q a b
    IFS=, read -r -a parts <<<"$cpus"
    for c in "${parts[@]}"; do
        if [[ $c == *-* ]]; then a=${c%-*} b=${c#*-}; else a=$c b=$c; fi
        for ((q = a; q <= b; q++)); do mask=$((mask | (1 << q))); done
    done
    ip netns exec "$ns" sh -c "for q in /sys/class/net/$ifc/queues/rx-*/rps_cpus; do printf '%x' $mask >\$q; done" ||
        log "could not set rps_cpus on $ifc in $ns"
}

neigh_flush() {
    local ns
    for ns in "${ALL_NS[@]}"; do ip -n "$ns" neigh flush all >/dev/null 2>&1; done
}

# The client's outside address goes on IFACE (spb-c0, or the TAP), nowhere else.
client_on() {
    ip -n "$NS_C" addr flush dev spb-c0 2>/dev/null
    ip -n "$NS_C" link show dev "$TAP_OUT" >/dev/null 2>&1 && ip -n "$NS_C" addr flush dev "$TAP_OUT"
    [[ $1 == none ]] && return 0
    ip -n "$NS_C" addr add "$C_IP/24" dev "$1"
}
# The balancer namespace's kernel gets addresses only for HAProxy.
lb_kernel_addrs() {
    ip -n "$NS_LB" addr flush dev spb-c1
    ip -n "$NS_LB" addr flush dev spb-l1
    if [[ $1 == on ]]; then
        ip -n "$NS_LB" addr add "$LB_OUT_IP/24" dev spb-c1
        ip -n "$NS_LB" addr add "$VIP/24" dev spb-c1
        ip -n "$NS_LB" addr add "$LB_IN_IP/24" dev spb-l1
    fi
}

# ---------------------------------------------------------------- balancers
haproxy_conf() {
    local i
    cat <<EOF
# HAProxy configured like Splicer's virtual "www" (see perf/README.md).
global
    nbthread 1
    maxconn 8000
    # no logging: Splicer logs no per-request line either
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 3s          # Splicer connect_timeout
    timeout queue 3s            # Splicer queue_timeout
    timeout http-request 10s    # Splicer request_timeout
    timeout client 60s          # Splicer client_idle_timeout
    timeout http-keep-alive 60s
    timeout server 60s
    maxconn 8000
frontend www
    bind $VIP:80 backlog 4096
    acl img path_beg /img/
    acl api req.hdr(host),field(1,:) -m str -i api.test
    use_backend only_s2 if img
    use_backend only_s3 if api
    default_backend rr
backend rr
    balance roundrobin
EOF
    for i in 0 1 2; do
        echo "    server s$((i + 1)) ${S_IP[i]}:80 maxconn 64 pool-max-conn 64 pool-purge-delay 60s"
    done
    cat <<EOF
backend only_s2
    server s2 ${S_IP[1]}:80 maxconn 64 pool-max-conn 64 pool-purge-delay 60s
backend only_s3
    server s3 ${S_IP[2]}:80 maxconn 64 pool-max-conn 64 pool-purge-delay 60s
EOF
}

start_haproxy() {
    local cfg=$WORK/haproxy.cfg logf=$WORK/logs/haproxy$SFX.log t
    haproxy_conf >"$cfg"
    haproxy -c -q -f "$cfg" >>"$logf" 2>&1 || { log "haproxy -c failed: $(tail -n 3 "$logf")"; return 1; }
    lb_kernel_addrs on
    client_on spb-c0
    neigh_flush
    ip netns exec "$NS_LB" taskset -c "$LB_CPU" haproxy -db -f "$cfg" </dev/null >>"$logf" 2>&1 &
    LB_PID=$!
    LB_KIND=haproxy
    track "$LB_PID"
    for ((t = 0; t < 50; t++)); do
        in_ns "$NS_LB" ss -Hltn "( sport = :80 )" | grep -q "$VIP:80" && break
        alive "$LB_PID" || { log "haproxy exited: $(tail -n 5 "$logf")"; return 1; }
        sleep 0.1
    done
    log "HAProxy $(haproxy -v | head -n 1 | awk '{ print $3 }') PID $LB_PID on CPU $LB_CPU"
}

# splicer_conf PREFIX VDEV_OUT VDEV_IN
splicer_conf() {
    local prefix=$1 out=$2 in=$3 i
    cat <<EOF
# Splicer for perf/e2e/compare.sh: the virtual of tests/e2e/t_splice_rules.sh with the pools of
# t_splice_wrk.sh (pool 4, maxconns 64), one worker busy-polling on lcore 1.
[dataplane]
eal = ["-l", "0-1", "--no-pci", "--no-huge", "--no-shconf", "-m", "512",
       "--file-prefix", "$prefix", "--vdev", "$out", "--vdev", "$in"]
workers = 1
stats_interval = "5s"
idle_sleep = "$IDLE_SLEEP"
control_socket = "$CTL_SOCK"

[[port]]
name = "outside"
address = "$LB_OUT_IP/24"

[[port]]
name = "inside"
address = "$LB_IN_IP/24"

EOF
    for i in 0 1 2; do
        cat <<EOF
[[real]]
name = "s$((i + 1))"
address = "${S_IP[i]}:80"
weight = 1
pool = 4
maxconns = 64

EOF
    done
    cat <<EOF
[[virtual]]
name = "www"
address = "$VIP:80"
mode = "splice"
predictor = "roundrobin"
bind = ["s1", "s2", "s3"]

[[virtual.rule]]
path_prefix = "/img/"
bind = ["s2"]

[[virtual.rule]]
host = "api.test"
bind = ["s3"]
EOF
}

wait_log() {
    local file=$1 re=$2 pid=$3 timeout=$4 i
    for ((i = 0; i < timeout * 10; i++)); do
        grep -Eq -- "$re" "$file" 2>/dev/null && return 0
        alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}

# start_splicer TARGET: Splicer in the balancer namespace, ports by TARGET's PMD.
start_splicer() {
    local target=$1 prefix=spb-${1#splicer-} cfg=$WORK/$1.toml logf=$WORK/logs/$1$SFX.log out in t
    CTL_SOCK=$WORK/run/$target.sock
    case $target in
    splicer-tap)
        out="net_tap0,iface=$TAP_OUT,mac=$MAC_OUT"
        in="net_tap1,iface=$TAP_IN,mac=$MAC_IN" ;;
    splicer-afpacket)
        out="net_af_packet0,iface=spb-c1,qpairs=1"
        in="net_af_packet1,iface=spb-l1,qpairs=1" ;;
    splicer-afxdp)
        out="net_af_xdp0,iface=spb-c1,start_queue=0,queue_count=1"
        in="net_af_xdp1,iface=spb-l1,start_queue=0,queue_count=1" ;;
    *) die "unknown Splicer target $target" ;;
    esac
    splicer_conf "$prefix" "$out" "$in" >"$cfg"
    : >"$logf"    # wait_log must see this start's 'splicer ready', not an earlier one
    "$SPLICER_BIN" check --config "$cfg" >>"$logf" 2>&1 || { log "splicer check failed: $(tail -n 2 "$logf")"; return 1; }
    lb_kernel_addrs off
    client_on none
    neigh_flush
    # Background jobs of a script start with SIGINT ignored: env --default-signal restores it,
    # so that SIGINT stops Splicer cleanly (final stats, /var/run/dpdk/<prefix> removed).
    ip netns exec "$NS_LB" env --default-signal "$SPLICER_BIN" run --config "$cfg" </dev/null >>"$logf" 2>&1 &
    LB_PID=$!
    LB_KIND=splicer
    track "$LB_PID"
    if ! wait_log "$logf" 'splicer ready' "$LB_PID" 30; then
        log "$target: no 'splicer ready' (see $logf): $(grep -aiE 'error|fail|cannot' "$logf" | tail -n 3 | tr '\n' ' ')"
        return 1
    fi
    if [[ $target == splicer-tap ]]; then
        ip -n "$NS_LB" link set dev "$TAP_OUT" netns "$NS_C" || return 1
        ip -n "$NS_LB" link set dev "$TAP_IN" netns "$NS_LAN" || return 1
        ip -n "$NS_C" link set dev "$TAP_OUT" address "$KMAC_OUT"
        ip -n "$NS_LAN" link set dev "$TAP_IN" address "$KMAC_IN"
        in_ns "$NS_C" ethtool -K "$TAP_OUT" tx off >/dev/null 2>&1
        in_ns "$NS_LAN" ethtool -K "$TAP_IN" tx off >/dev/null 2>&1
        ip -n "$NS_C" link set "$TAP_OUT" up
        rps "$NS_C" "$TAP_OUT" "$LOAD_CPUS"
        ip -n "$NS_LAN" link set "$TAP_IN" master spb-br up
        client_on "$TAP_OUT"
    else
        client_on spb-c0
    fi
    log "Splicer PID $LB_PID ($target): control lcore 0 on CPU 0, worker lcore 1 on CPU 1, idle_sleep $IDLE_SLEEP"
}

stop_balancer() {
    [[ -n $LB_PID ]] || return 0
    local rc=0
    if [[ $LB_KIND == splicer ]]; then
        alive "$LB_PID" && kill -s INT "$LB_PID" 2>/dev/null
        if ! wait_gone "$LB_PID" 20; then
            log "Splicer PID $LB_PID still runs 20 s after SIGINT: SIGKILL"
            kill -s KILL "$LB_PID" 2>/dev/null
            wait_gone "$LB_PID" 5
        fi
        wait "$LB_PID" 2>/dev/null || rc=$?
    else
        stop_pid "$LB_PID" TERM 5
    fi
    LB_PID=""
    LB_KIND=""
    lb_kernel_addrs off 2>/dev/null
    client_on none 2>/dev/null
    return "$rc"
}

# ---------------------------------------------------------------- checks and loads
# check_rules: /img/ → s2, Host api.test → s3, / round robin over s1..s3. Prints what it saw.
xserver() { in_ns "$NS_C" curl -s -m 3 -o /dev/null -D - "$@" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-server" { print $2 }'; }
check_rules() {
    local host=$1 i s seen="" bad=0 rr=""
    for i in 1 2 3; do
        s=$(xserver "http://$host/img/x$i"); seen+="/img/x$i→${s:-none} "; [[ $s == s2 ]] || bad=1
        s=$(xserver -H 'Host: api.test' "http://$host/"); seen+="api.test→${s:-none} "; [[ $s == s3 ]] || bad=1
    done
    for i in 1 2 3 4 5 6; do
        s=$(xserver "http://$host/?rr=$i"); rr+="${s:-none},"
    done
    seen+="/→${rr%,}"
    for s in s1 s2 s3; do [[ $rr == *"$s"* ]] || bad=1; done
    printf '%s\n' "$seen"
    return "$bad"
}

# wait_answers HOST: up to 10 s for one 200 from HOST.
wait_answers() {
    local t
    for ((t = 0; t < 50; t++)); do
        [[ $(in_ns "$NS_C" curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$1/") == 200 ]] && return 0
        sleep 0.2
    done
    return 1
}

# run_load TARGET PMD LOAD HOST: one measurement; appends a JSON line to $RAW.
run_load() {
    local target=$1 pmd=$2 load=$3 host=$4 f h2log="" rc=0 c0 c1 s0 s1 t0 t1 wall args=()
    local w0 w1 r0 r1 o0 o1 sr0 sr1 so0 so1 sp0 sp1 g0 g1 m0 m1 st0 st1 others
    local url=http://$host$URL_PATH lbcpu=()
    f=$WORK/logs/$target-$load$SFX.txt
    local wk=()
    if [[ $LB_KIND == splicer ]]; then
        # The worker's own busy-cycle counters around the load (show workers, JSON), each
        # with the wall clock it was read at: the cycles a request cost the worker.
        workers_json "$f.workers-before.json"
        wk=(--workers-before "$f.workers-before.json" --workers-after "$f.workers-after.json")
    fi
    [[ -n $LB_PID ]] && c0=$(cpu_ticks "$LB_PID")
    [[ $LB_KIND == splicer ]] && w0=$(worker_ticks "$LB_PID")
    s0=$(cpu_ticks "${NGINX_PIDS[@]}")
    read -r r0 o0 _ < <(tcp_counters "$NS_C")
    children_ticks
    g0=$CHILD_TICKS
    read -r m0 st0 < <(machine_ticks)
    read -r sr0 so0 sp0 < <(servers_tcp_counters)
    # Full TCP counters of the client and of server s1, kept as evidence (diff before/after).
    ip netns exec "$NS_C" cat /proc/net/snmp /proc/net/netstat >"$f.client-tcp-before" 2>/dev/null
    ip netns exec "${NS_S[0]}" cat /proc/net/snmp /proc/net/netstat >"$f.s1-tcp-before" 2>/dev/null
    local cap_pid="" cap2_pid=""
    if ((PCAP)); then
        # Headers of server s1's and the client's traffic during the load (SPB_PCAP=1), to
        # find what the servers retransmit and why.
        ip netns exec "${NS_S[0]}" tcpdump -i spb-s1e -s 96 -U -w "$f.s1.pcap" tcp </dev/null >/dev/null 2>&1 &
        cap_pid=$!
        track "$cap_pid"
        ip netns exec "$NS_C" tcpdump -i any -s 96 -U -w "$f.client.pcap" tcp </dev/null >/dev/null 2>&1 &
        cap2_pid=$!
        track "$cap2_pid"
        sleep 0.5
    fi
    t0=$(now_ns)
    case $load in
    wrk-keepalive)
        in_ns "$NS_C" taskset -c "$LOAD_CPUS" timeout $((SECS + 30)) \
            wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --timeout 5s --latency -s "$WORK/latency.lua" "$url" >"$f" 2>&1 || rc=$? ;;
    wrk-close)
        in_ns "$NS_C" taskset -c "$LOAD_CPUS" timeout $((SECS + 30)) \
            wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --timeout 5s --latency -s "$WORK/latency.lua" -H 'Connection: close' "$url" >"$f" 2>&1 || rc=$? ;;
    h2load)
        h2log=$WORK/logs/$target-$load$SFX.requests.tsv
        in_ns "$NS_C" taskset -c "$LOAD_CPUS" timeout $((SECS * 12 + 60)) \
            h2load --h1 -c "$CONNS" -n "$H2N" --log-file="$h2log" "$url" >"$f" 2>&1 || rc=$? ;;
    esac
    t1=$(now_ns)
    [[ -n $cap_pid ]] && { sleep 0.3; stop_pid "$cap_pid" INT 5; stop_pid "$cap2_pid" INT 5; }
    read -r m1 st1 < <(machine_ticks)
    children_ticks
    g1=$CHILD_TICKS
    [[ -n $LB_PID ]] && c1=$(cpu_ticks "$LB_PID")
    if [[ $LB_KIND == splicer ]]; then
        w1=$(worker_ticks "$LB_PID")
        wk+=(--worker-cpu-s "$(ticks_to_s $((w1 - w0)))")
    fi
    s1=$(cpu_ticks "${NGINX_PIDS[@]}")
    [[ $LB_KIND == splicer ]] && workers_json "$f.workers-after.json"
    read -r r1 o1 _ < <(tcp_counters "$NS_C")
    read -r sr1 so1 sp1 < <(servers_tcp_counters)
    ip netns exec "$NS_C" cat /proc/net/snmp /proc/net/netstat >"$f.client-tcp-after" 2>/dev/null
    ip netns exec "${NS_S[0]}" cat /proc/net/snmp /proc/net/netstat >"$f.s1-tcp-after" 2>/dev/null
    ((rc == 0)) || log "$target $load: load generator exit code $rc (see $f)"
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    [[ -n $LB_PID ]] && lbcpu=(--lb-cpu-s "$(ticks_to_s $((c1 - c0)))")
    # Other tenants' CPU during the load: the VM's busy time minus the balancer's, nginx's
    # and the load generator's (children_ticks also counts the few tcp_counters readers).
    others=$(( (m1 - m0) - (s1 - s0) - (g1 - g0) - ${c1:-0} + ${c0:-0} ))
    ((others < 0)) && others=0
    [[ -n $h2log ]] && args=(--h2log "$h2log")
    python3 "$HERE/report.py" measure --raw "$RAW" --target "$target" --pmd "$pmd" --load "$load" \
        --output "$f" "${args[@]}" --seconds "$SECS" --conns "$CONNS" "${lbcpu[@]}" \
        --servers-cpu-s "$(ticks_to_s $((s1 - s0)))" --wall-s "$wall" \
        --loadgen-cpu-s "$(ticks_to_s $((g1 - g0)))" --others-cpu-s "$(ticks_to_s "$others")" \
        --steal-s "$(ticks_to_s $((st1 - st0)))" --round "$ROUND" --client-retrans $((r1 - r0)) --client-rto $((o1 - o0)) \
        --servers-retrans $((sr1 - sr0)) --servers-rto $((so1 - so0)) --servers-tlp $((sp1 - sp0)) \
        --exit-code "$rc" --tsc-hz "${TSC_HZ:-0}" "${wk[@]}" >&2
    [[ -n $h2log ]] && gzip -f "$h2log"
    return 0
}

record_failure() {
    local target=$1 pmd=$2 problem=$3
    FAILED_TARGETS+=("$target")
    python3 -c 'import json,sys; print(json.dumps({"round": int(sys.argv[4]), "target": sys.argv[1], "pmd": sys.argv[2], "failed": True, "problem": sys.argv[3]}))' \
        "$target" "$pmd" "$problem" "$ROUND" >>"$RAW"
}

# link_stats TARGET WHEN: every spb-* interface's counters (drops: a TAP's TX queue full while
# Splicer did not read it shows as TX dropped on the TAP's kernel side).
link_stats() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        echo "## $ns"
        ip -n "$ns" -s link show 2>/dev/null
    done >"$WORK/logs/$1-links-$2$SFX.txt"
}

splicer_stats() {
    local target=$1 when=$2
    "$SPLICER_BIN" ctl --socket "$CTL_SOCK" show stats >"$WORK/logs/$target-stats-$when$SFX.txt" 2>&1
}

run_target() {
    local target=$1 pmd host load seen
    case $target in
    direct | direct-end) pmd="-"; host=${S_IP[0]} ;;
    haproxy) pmd="kernel veth"; host=$VIP ;;
    splicer-tap) pmd=net_tap; host=$VIP ;;
    splicer-afpacket) pmd=net_af_packet; host=$VIP ;;
    splicer-afxdp) pmd=net_af_xdp; host=$VIP ;;
    *) die "unknown target $target (see --help)" ;;
    esac
    log "=== $target"
    case $target in
    haproxy) start_haproxy || { record_failure "$target" "$pmd" "HAProxy did not start"; stop_balancer; return; } ;;
    splicer-*)
        if ! start_splicer "$target"; then
            record_failure "$target" "$pmd" "Splicer did not start: $(grep -aiE 'error|fail|cannot' "$WORK/logs/$target$SFX.log" | tail -n 1 | cut -c1-200)"
            stop_balancer
            return
        fi ;;
    esac
    if ! wait_answers "$host"; then
        [[ $LB_KIND == splicer ]] && splicer_stats "$target" noanswer
        record_failure "$target" "$pmd" "no HTTP answer from $host within 10 s"
        log "$target: no answer from $host"
        stop_balancer
        return
    fi
    if [[ $target != direct* ]]; then
        if seen=$(check_rules "$host"); then
            log "$target: rules hold: $seen"
        else
            log "$target: RULES DO NOT HOLD: $seen"
            printf '%s rules: %s\n' "$target" "$seen" >>"$WORK/logs/rules.txt"
        fi
    fi
    if ((WARMUP > 0)); then
        in_ns "$NS_C" taskset -c "$LOAD_CPUS" timeout $((WARMUP + 20)) \
            wrk -t "$THREADS" -c "$CONNS" -d "${WARMUP}s" "http://$host$URL_PATH" >"$WORK/logs/$target-warmup$SFX.txt" 2>&1
    fi
    [[ $LB_KIND == splicer ]] && splicer_stats "$target" before
    link_stats "$target" before
    for load in wrk-keepalive wrk-close h2load; do
        if [[ -n $LB_PID ]] && ! alive "$LB_PID"; then
            log "$target: the balancer exited during the loads"
            record_failure "$target" "$pmd" "balancer exited during $load"
            break
        fi
        run_load "$target" "$pmd" "$load" "$host"
    done
    link_stats "$target" after
    if [[ $LB_KIND == splicer ]]; then
        splicer_stats "$target" after
        stop_balancer
        log "$target: Splicer exit code $? ($(grep -ac 'panicked' "$WORK/logs/$target$SFX.log") panics)"
    else
        stop_balancer
    fi
}

# ---------------------------------------------------------------- main
prereqs
ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # HAProxy's maxconn, wrk, nginx
mkdir -p "$STATE_DIR"
exec {lockfd}>"$LOCK_FILE"
flock -n "$lockfd" || die "another compare.sh runs (lock $LOCK_FILE)"
remove_leftovers
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
mkdir -p "$OUT"
WORK=$OUT
mkdir -p "$WORK/logs" "$WORK/run" "$WORK/www"
RAW=$WORK/raw.jsonl
: >"$RAW"
TSC_HZ=$(tsc_hz_of)
[[ -n $TSC_HZ ]] || log "TSC rate unknown (no 'tsc: ... MHz' in the kernel log): HAProxy's CPU time is not given in cycles"
# wrk prints p50/75/90/99 with --latency; p99.9 comes from this script's done().
cat >"$WORK/latency.lua" <<'LUA'
done = function(summary, latency, requests)
    io.write(string.format("p99.9_us %d\n", latency:percentile(99.9)))
end
LUA
log "results and logs in $OUT; ${SECS}s per wrk load, h2load -n $H2N, $CONNS connections"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "command: perf/e2e/compare.sh ${SCRIPT_ARGS[*]}"
    echo "env: SPB_SECONDS=$SECS SPB_H2LOAD_N=$H2N SPB_CONNS=$CONNS SPB_THREADS=$THREADS SPB_WARMUP=$WARMUP SPB_LOAD_CPUS=$LOAD_CPUS SPB_LB_CPU=$LB_CPU SPB_IDLE_SLEEP=$IDLE_SLEEP SPB_RPS=$RPS SPB_ROUNDS=$ROUNDS SPB_PATH=$URL_PATH SPB_KEEPALIVE_REQUESTS=$KEEPALIVE_REQUESTS"
    echo "cpu: $(lscpu | awk -F': *' '/^Model name/ { print $2 }'), $(nproc) CPUs"
    echo "kernel: $(uname -r)"
    echo "dpdk: $(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)"
    echo "hugepages: none (EAL --no-huge -m 512); HugePages_Total $(awk '/HugePages_Total/ { print $2 }' /proc/meminfo)"
    echo "splicer: $SPLICER_BIN ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null))"
    echo "haproxy: $(haproxy -v | head -n 1)"
    echo "nginx: $(nginx -v 2>&1)"
    echo "wrk: $(wrk -v 2>&1 | head -n 1)"
    echo "h2load: $(h2load --version)"
    echo "tsc_hz: ${TSC_HZ:-unknown} (kernel log; HAProxy's CPU seconds × this = its cycles)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$WORK/machine.txt"

make_bed
start_servers
IFS=, read -r -a target_list <<<"$TARGETS"
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    if ((ROUNDS > 1)); then
        SFX=-r$ROUND
        log "====== round $ROUND of $ROUNDS"
    fi
    for target in "${target_list[@]}"; do
        run_target "$target"
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$WORK/machine.txt"

notes=(
    "Loads: wrk -t$THREADS -c$CONNS -d${SECS}s --latency (keep-alive; and -H 'Connection: close'), h2load --h1 -c$CONNS -n $H2N; path $URL_PATH. Load generator and nginx on CPU(s) $LOAD_CPUS, balancer on CPU $LB_CPU (Splicer: control lcore 0 on CPU 0, worker lcore 1 busy-polling CPU 1)."
    "× direct: req/s over the direct target's for the same load (client → nginx s1, no balancer). × HAProxy: Splicer's req/s over HAProxy's. Balancer CPU: utime+stime of the balancer process during the load (/proc/PID/stat); a busy-polling Splicer worker shows ~1 core whatever the load. ⚠: errors or non-2xx responses."
)
python3 "$HERE/report.py" table --raw "$RAW" --jsonl "$WORK/results.jsonl" --md "$WORK/results.md" \
    "${notes[@]/#/--note=}"
[[ -s $WORK/logs/rules.txt ]] && { log "content rules did not hold:"; cat "$WORK/logs/rules.txt" >&2; }
log "results: $WORK/results.md, $WORK/results.jsonl; logs in $WORK/logs"
rc=0
for t in "${FAILED_TARGETS[@]}"; do
    [[ $t == splicer-afxdp ]] && { log "not measured: $t (optional: see results.md)"; continue; }
    log "not measured: $t"
    rc=1
done
exit "$rc"
