#!/usr/bin/env bash
# scripts/demo.sh — Splicer on a throw-away test network, as root:
#   installs the dependencies, builds the release binary, brings up the e2e test bed
#   (client namespace, a bridge with three nginx servers; see tests/e2e/README.md), starts
#   Splicer with configs/demo.toml, shows it answering ping, ARP and HTTP for its addresses and
#   the VIP, and shows its statistics lines. On a terminal it then waits for Enter or
#   Ctrl-C; otherwise it stops at once. Everything is torn down on the way out.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
    export PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
config=$repo/configs/demo.toml
[[ -r $config ]] || { echo "demo: no $config" >&2; exit 1; }

scripts/install-deps.sh
echo "==> cargo build --release -p splicer"
cargo build --release -p splicer

set +e # from here on the demo reports, and the EXIT trap tears down
export SPLICER_E2E_LOGDIR=${SPLICER_E2E_LOGDIR:-$(mktemp -d /tmp/splicer-demo-logs.XXXXXX)}
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
. "$repo/tests/e2e/lib.sh"
tb_setup

log=$TB_LOG_DIR/splicer-demo.log
echo "==> starting Splicer: $SPLICER_BIN run --config configs/demo.toml (log: $log)"
if ! tb_start_splicer "$config" "$log"; then
    echo "demo: Splicer did not become ready; its log:"
    tail -n 40 "$log"
    exit 1
fi
grep -a 'splicer ready' "$log" | tail -n 1

# The lines of the last complete statistics set in LOG (from its last "stats total").
last_stats_set() {
    sleep 0.2 # let the set's remaining lines be written
    awk '{ l[NR] = $0 } / stats total/ { s = NR } END { if (s) for (i = s; i <= NR; i++) if (l[i] ~ / stats /) print "  " l[i] }' "$1"
}

show() { # DESCRIPTION COMMAND...
    printf '\n$ %s   # %s\n' "${*:2}" "$1"
    "${@:2}" 2>&1 | sed 's/^/  /'
}

show "Splicer's outside address, from the client" \
    ip netns exec "$TB_NS_CLIENT" ping -n -c 3 -i 0.3 -W 2 "$TB_OUT_IP"
show "the VIP, from the client" \
    ip netns exec "$TB_NS_CLIENT" ping -n -c 3 -i 0.3 -W 2 "$TB_VIP"
show "Splicer's inside address, from server s1" \
    ip netns exec spl-s1 ping -n -c 3 -i 0.3 -W 2 "$TB_IN_IP"
show "ARP for the outside address" \
    ip netns exec "$TB_NS_CLIENT" arping -c 2 -i "$TB_TAP_OUT" "$TB_OUT_IP"
show "ARP for the VIP" \
    ip netns exec "$TB_NS_CLIENT" arping -c 2 -i "$TB_TAP_OUT" "$TB_VIP"
show "ARP for the inside address, from s1" \
    ip netns exec spl-s1 arping -c 2 -i veth0 "$TB_IN_IP"
show "an address nobody owns: no answer (Splicer counts drop_arp_not_for_us)" \
    ip netns exec "$TB_NS_CLIENT" ping -n -c 2 -W 1 198.18.0.77
show "HTTP to the VIP: Splicer reads the request, picks a real round robin and splices the connection onto a pooled server connection" \
    ip netns exec "$TB_NS_CLIENT" curl -sS -m 5 -i "http://$TB_VIP/"
show "three requests on one keep-alive connection: each is routed afresh (round robin over s1..s3)" \
    ip netns exec "$TB_NS_CLIENT" curl -sS -m 5 "http://$TB_VIP/" "http://$TB_VIP/" "http://$TB_VIP/"
show "a path rule: /img/ always goes to s2" \
    ip netns exec "$TB_NS_CLIENT" curl -sS -m 5 "http://$TB_VIP/img/" "http://$TB_VIP/img/"
show "the pools: idle pre-opened server connections per real" \
    "$SPLICER_BIN" ctl show pools
show "a request-smuggling attempt (Content-Length and Transfer-Encoding): 400" \
    ip netns exec "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code}\n' \
    -H 'Content-Length: 1' -H 'Transfer-Encoding: chunked' -d x "http://$TB_VIP/"

echo
echo "==> waiting for Splicer's next statistics (stats_interval of configs/demo.toml)"
if tb_wait_stats_line "$log" 30; then
    last_stats_set "$log"
else
    echo "  (no stats line within 30 s: is stats_interval \"0s\"?)"
fi

if [[ -t 0 ]]; then
    echo
    echo "Splicer runs (PID $SPLICER_PID). Try for example:"
    echo "  ip netns exec $TB_NS_CLIENT ping $TB_VIP"
    echo "  ip netns exec $TB_NS_CLIENT arping -i $TB_TAP_OUT $TB_VIP"
    echo "  ip netns exec $TB_NS_CLIENT curl -i http://$TB_VIP/"
    echo "  tail -f $log"
    echo "Press Enter (or Ctrl-C) to stop and tear everything down."
    trap ':' INT # Ctrl-C ends the read (Splicer, in our process group, gets it too)
    read -r _ || true
    trap 'exit 130' INT
fi

echo "==> stopping Splicer (SIGINT)"
rc=0
tb_stop_splicer INT || rc=$?
echo "Splicer exited with code $rc; its final statistics:"
last_stats_set "$log"
tb_teardown
echo "==> torn down; logs kept in $SPLICER_E2E_LOGDIR"
exit "$rc"
