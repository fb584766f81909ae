#!/usr/bin/env bash
# docker/base.sh — prints the tag of the test bed's base image, splicer-base:<hash>, after
# building it if this machine does not have it yet.
#
# No container registry is reachable, so nothing is pulled: the image is a Debian 12
# (bookworm) tree made by `debootstrap --variant=minbase` from the mirror apt already uses,
# with the packages below, imported with `docker import`. <hash> is the sha256 (first 16
# hex digits) of this file and the mirror URL: changing the package list (or anything
# else here) gives a new tag, and an unchanged one is built once per machine. The base is
# the only image the test bed keeps (docker/test.sh down removes everything else).
#
# Usage: docker/base.sh [--print-hash]    (as root; needs debootstrap and a Docker engine)
# Environment: SPL_DOCKER_MIRROR (default: the first Debian mirror in apt's sources).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# Runtime of Splicer and splicer-bench (DPDK 22.11 from bookworm, as scripts/install-deps.sh
# installs it on the host: the EAL and its libraries, plus the plugin drivers the test bed
# loads: the vdev bus, the ring mempool, net_tap, net_af_packet, net_ring), and what the
# servers (nginx-light) and the client (curl, python3) need; iproute2 and ethtool set up
# interfaces, bridges and offloads; iputils-ping, procps and tcpdump are for debugging.
packages=(
    dpdk librte-eal23 librte-ethdev23 librte-mbuf23 librte-mempool23 librte-ring23
    librte-bus-vdev23 librte-mempool-ring23 librte-net-tap23 librte-net-af-packet23
    librte-net-ring23
    iproute2 ethtool iputils-ping procps tcpdump
    nginx-light curl python3
)

# The first deb.debian.org-style mirror of a bookworm suite in apt's sources.
mirror() {
    local m
    if [[ -n ${SPL_DOCKER_MIRROR:-} ]]; then
        printf '%s\n' "$SPL_DOCKER_MIRROR"
        return
    fi
    m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE 'https?://[^ ]*/debian/?( |$)' | head -n 1 | tr -d ' ') || true
    printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

mirror_url=$(mirror)
hash=$( { cat "$here/base.sh"; printf '%s\n' "$mirror_url"; } | sha256sum | cut -c1-16)
tag=splicer-base:$hash
if [[ ${1:-} == --print-hash ]]; then
    printf '%s\n' "$tag"
    exit 0
fi

log() { printf 'base: %s\n' "$*" >&2; }

if docker image inspect "$tag" >/dev/null 2>&1; then
    printf '%s\n' "$tag"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || { log "building $tag needs root (debootstrap)"; exit 1; }
command -v debootstrap >/dev/null || { log "debootstrap missing (scripts/install-deps.sh)"; exit 1; }

# One build at a time per machine; a second caller waits, then finds the image.
mkdir -p /run/spl-docker
exec {lock}>/run/spl-docker/base.lock
flock -w 900 "$lock" || { log "another base build holds /run/spl-docker/base.lock"; exit 1; }
if docker image inspect "$tag" >/dev/null 2>&1; then
    printf '%s\n' "$tag"
    exit 0
fi

root=$(mktemp -d /var/tmp/spl-docker-base.XXXXXX)
# shellcheck disable=SC2064  # $root is fixed now
trap "rm -rf '$root'" EXIT
started=$(date +%s)
log "building $tag: debootstrap bookworm from $mirror_url into $root (once per machine)"
include=$(IFS=,; printf '%s' "${packages[*]}")
if ! debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror_url" \
    >"$root.log" 2>&1; then
    tail -n 20 "$root.log" >&2
    log "debootstrap failed (full log: $root.log)"
    exit 1
fi
rm -f "$root.log"
# No package caches or lists in the image; no nginx service configuration is used (the
# test bed writes its own); an apt source for users who extend the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
printf 'deb %s bookworm main\n' "$mirror_url" >"$root/etc/apt/sources.list"
tar -C "$root" -c . | docker import \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL org.splicer.base=$hash" \
    --message "Splicer test bed base: debootstrap bookworm, $(IFS=' '; printf '%s' "${packages[*]}")" \
    - "$tag" >/dev/null
log "built $tag in $(($(date +%s) - started)) s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
printf '%s\n' "$tag"
