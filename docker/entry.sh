#!/usr/bin/env bash
# docker/entry.sh — the entry point of every test bed container (installed in the Splicer
# image as /usr/local/lib/splicer-docker/entry.sh):
#
#   entry.sh splicer tap|af_packet CONFIG LOG OUT_ADDR IN_ADDR READY_FILE
#       Splicer on two ports joined to the container's two Docker networks. The Docker
#       address OUT_ADDR / IN_ADDR (Splicer's own port addresses, so that Docker's IPAM
#       gives them to no one else) is removed from the container's interface: the DPDK
#       port answers for it, the container's kernel must not.
#         tap        DPDK's net_tap makes spl-out / spl-in; each is bridged (br-out / br-in)
#                    with the container interface of its network, after `splicer ready`.
#         af_packet  the container interfaces are renamed spl-out / spl-in before Splicer
#                    starts, and net_af_packet reads and writes them directly.
#       Writes READY_FILE when the ports are joined; SIGTERM/SIGINT stop Splicer (SIGINT:
#       final statistics, exit 0), the container exits with Splicer's code. Splicer's
#       output goes to LOG and to the container's log.
#   entry.sh nginx CONF          nginx in the foreground (the e2e suite's configuration)
#   entry.sh client              stays up for `docker exec` (curl, python3)
#
# Every role first turns TX checksum offload off on its interfaces (see docker/README.md:
# a DPDK port does not finish the checksums a kernel leaves to the NIC).
set -euo pipefail

log() { printf 'entry: %s\n' "$*" >&2; }

# The container interface that holds ADDR (Docker's address for this network).
iface_of() {
    ip -o -4 addr show | awk -v a="$1" '{ split($4, p, "/"); if (p[1] == a) { print $2; exit } }'
}

tx_off_all() {
    local p i
    for p in /sys/class/net/*; do
        i=${p##*/}
        [[ $i == lo ]] && continue
        ethtool -K "$i" tx off >/dev/null 2>&1 || log "ethtool -K $i tx off failed"
    done
}

# garp IFACE MAC ADDR: a gratuitous ARP (request, sender = target = ADDR, from MAC) sent
# raw on IFACE. After a container (re)starts, Docker's bridge may still forward the
# port's MAC to the veth of the container's previous run (the kernel tears that
# network namespace down asynchronously, and its veth stays in the bridge meanwhile),
# and a DPDK port that sends nothing unasked never corrects it: peers' frames vanish
# until their ARP entry expires (about 20 s). An appliance announces itself after a
# start; this frame does it for Splicer's port.
garp() {
    python3 - "$@" <<'PY'
import socket, sys
ifc, mac, addr = sys.argv[1:4]
m = bytes.fromhex(mac.replace(":", ""))
a = socket.inet_aton(addr)
arp = bytes.fromhex("0001080006040001") + m + a + bytes(6) + a
frame = (b"\xff" * 6 + m + b"\x08\x06" + arp).ljust(60, b"\0")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifc, 0))
s.send(frame)
PY
}

# The container stops: stop the child CHILD (by PID) with SIGNAL and return its code.
child=""
stop_child() {
    local sig=$1
    [[ -n $child ]] || exit 0
    kill -s "$sig" "$child" 2>/dev/null || true
}

splicer_role() {
    local mode=$1 cfg=$2 logf=$3 out_addr=$4 in_addr=$5 ready=$6
    local out_if in_if rc=0 i
    rm -f "$ready"
    out_if=$(iface_of "$out_addr")
    in_if=$(iface_of "$in_addr")
    [[ -n $out_if && -n $in_if ]] || { log "no interface with $out_addr / $in_addr"; ip -br addr >&2; exit 1; }
    log "outside network on $out_if, inside on $in_if; ports by $mode"
    ip addr flush dev "$out_if"
    ip addr flush dev "$in_if"
    case $mode in
    af_packet)
        # net_af_packet reads the frames of these interfaces; the kernel keeps no address on
        # them, so it neither answers ARP for Splicer's addresses nor resets its TCP.
        ip link set "$out_if" down
        ip link set "$out_if" name spl-out
        ip link set "$in_if" down
        ip link set "$in_if" name spl-in
        for i in spl-out spl-in; do
            ethtool -K "$i" gro off lro off >/dev/null 2>&1 || true
            ip link set "$i" up
        done
        ;;
    tap) ;;
    *) log "unknown port mode $mode"; exit 2 ;;
    esac
    mkdir -p "$(dirname "$logf")"
    : >>"$logf"
    # A restarted container appends to the log of its earlier run: look past that.
    local from
    from=$(($(stat -c %s "$logf") + 1))
    trap 'stop_child INT' INT
    trap 'stop_child TERM' TERM
    # Splicer's output to its log file and the container's log (docker logs).
    splicer run --config "$cfg" > >(tee -a "$logf") 2>&1 &
    child=$!
    for ((i = 0; i < 300; i++)); do
        tail -c "+$from" "$logf" | grep -q 'splicer ready' && break
        kill -0 "$child" 2>/dev/null || break
        sleep 0.1
    done
    if ! tail -c "+$from" "$logf" | grep -q 'splicer ready'; then
        log "Splicer did not log 'splicer ready'"
        stop_child TERM
        wait "$child" || rc=$?
        exit $((rc ? rc : 1))
    fi
    local out_mac in_mac
    if [[ $mode == tap ]]; then
        # Splicer's port MACs are the TAPs' (net_tap copies them to the kernel side).
        out_mac=$(cat /sys/class/net/spl-out/address)
        in_mac=$(cat /sys/class/net/spl-in/address)
        # As tests/e2e/lib.sh's tb_attach_taps: the kernel side of each TAP gets a MAC of its
        # own (net_tap copies the DPDK port's, and a bridge would keep frames for a local
        # MAC), TX checksum offload off, then a bridge with the container's interface.
        join_tap spl-out "$out_if" br-out 02:73:70:6c:10:01
        join_tap spl-in "$in_if" br-in 02:73:70:6c:10:02
    else
        out_if=spl-out in_if=spl-in
        out_mac=$(cat /sys/class/net/spl-out/address)
        in_mac=$(cat /sys/class/net/spl-in/address)
    fi
    for i in 1 2 3; do
        garp "$out_if" "$out_mac" "$out_addr" || log "gratuitous ARP on $out_if failed"
        garp "$in_if" "$in_mac" "$in_addr" || log "gratuitous ARP on $in_if failed"
        [[ $i -lt 3 ]] && sleep 0.2
    done
    printf '%s\n' "$mode" >"$ready"
    log "ports joined; Splicer runs as PID $child"
    wait "$child" || rc=$?
    # A signal interrupts the first wait; wait again for the real exit code.
    if kill -0 "$child" 2>/dev/null; then
        rc=0
        wait "$child" || rc=$?
    fi
    rm -f "$ready"
    log "Splicer exited with code $rc"
    exit "$rc"
}

join_tap() {
    local tap=$1 eth=$2 br=$3 kmac=$4
    ip link set dev "$tap" address "$kmac"
    ethtool -K "$tap" tx off >/dev/null 2>&1 || true
    ip link add name "$br" type bridge
    ip link set dev "$br" type bridge forward_delay 0 stp_state 0 2>/dev/null || true
    ip link set dev "$eth" master "$br"
    ip link set dev "$tap" master "$br"
    ip link set dev "$eth" up
    ip link set dev "$tap" up
    ip link set dev "$br" up
}

role=${1:-}
shift || true
case $role in
splicer)
    [[ $# -eq 6 ]] || { log "usage: entry.sh splicer tap|af_packet CONFIG LOG OUT_ADDR IN_ADDR READY_FILE"; exit 2; }
    tx_off_all
    splicer_role "$@"
    ;;
nginx)
    [[ $# -eq 1 ]] || { log "usage: entry.sh nginx CONF"; exit 2; }
    tx_off_all
    conf=$1
    nginx -t -q -c "$conf" -p "$(dirname "$conf")"
    exec nginx -c "$conf" -p "$(dirname "$conf")"
    ;;
client)
    tx_off_all
    trap 'exit 0' TERM INT
    log "client up"
    while :; do
        sleep 3600 &
        wait $! || true
    done
    ;;
*)
    log "usage: entry.sh splicer|nginx|client ..."
    exit 2
    ;;
esac
