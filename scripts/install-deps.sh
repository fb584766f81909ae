#!/usr/bin/env bash
# scripts/install-deps.sh — installs what Splicer's build, demo and tests need on Debian 12
# (as root). Idempotent: when every package is already installed it does not call apt.
#
#   build:  libdpdk-dev dpdk pkg-config clang libclang-dev gcc libc6-dev (and cargo, which
#           must already be there: rustup is not a Debian package)
#   tests:  nginx-light curl iproute2 iputils-ping arping ethtool wrk tcpdump procps
#           tmux (drives the interactive shell), python3 (JSON and exposition checks,
#           the raw HTTP client), nghttp2-client (h2load, for load tests), httperf (a
#           client that pipelines bursts of requests), slowhttptest
#           (slowloris, slow-body and slow-read attacks), shellcheck, hping3 and nftables
#           (the SYN flood test), debootstrap (the Docker test bed's base image; the Docker
#           engine and Compose themselves are the machine's, docker/README.md), valgrind
#           (callgrind: the instruction-count gate), chromium and python3-pil (the status
#           page's screenshot test), systemd (systemd-analyze verify of
#           packaging/splicer.service), openssl (t_tcp_mode's self-signed certificate for
#           TLS through a tcp virtual), python3-matplotlib (perf/plot.py's PNG charts), bird2
#           (the BGP speaker and router of t_announce and t_scaleout: Splicer announces its
#           VIPs through BIRD, docs/SCALE-OUT.md), gdb (the e2e tests log every thread's
#           stack of a Splicer that does not stop when told)
#   package: dpkg-dev (dpkg-shlibdeps, for cargo-deb's $auto Depends), groff-base and
#           bsdextrautils (packaging/test-deb.sh formats the man pages: groff, col); cargo-deb
#           itself is a cargo install (pinned below), done only when missing
#
# `arping` is Thomas Habets' arping 2.x (the `arping` package); it conflicts with
# iputils-arping, whose flags differ. The tests use `arping -c N -C 1 -w SEC -r -i IFACE`.
set -euo pipefail

packages=(
    libdpdk-dev dpdk pkg-config clang libclang-dev gcc libc6-dev
    nginx-light curl iproute2 iputils-ping arping ethtool wrk tcpdump procps tmux python3
    nghttp2-client httperf slowhttptest shellcheck hping3 nftables debootstrap valgrind systemd openssl bird2 gdb
    dpkg-dev groff-base bsdextrautils
    chromium python3-pil python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${packages[@]}"
    # nginx's package starts a server in the root namespace; the tests run their own nginx
    # inside network namespaces and need none outside.
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        if systemctl is-active --quiet nginx 2>/dev/null; then
            echo "install-deps: stopping the nginx service the package started"
            systemctl stop nginx || true
        fi
    elif [[ -s /run/nginx.pid ]] && command -v service >/dev/null; then
        echo "install-deps: stopping the nginx service the package started"
        service nginx stop >/dev/null 2>&1 || true
    fi
    # Likewise bird2's: the tests run their own BIRDs inside namespaces.
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        if systemctl is-active --quiet bird 2>/dev/null; then
            echo "install-deps: stopping the bird service the package started"
            systemctl stop bird || true
        fi
    fi
else
    echo "install-deps: all ${#packages[@]} packages present"
fi

if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
    PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
if ! command -v cargo >/dev/null; then
    echo "install-deps: cargo not found: install a Rust toolchain (rustup, stable >= 1.80) and put cargo on PATH" >&2
    exit 1
fi

# cargo-deb builds the Debian package (scripts/package.sh). Pinned, so that every machine
# builds the same package layout; installed into ~/.cargo/bin only when missing or another
# version.
cargo_deb_version=3.8.0
if [[ $(cargo-deb --version 2>/dev/null) != *" $cargo_deb_version"* ]]; then
    echo "install-deps: cargo install cargo-deb $cargo_deb_version"
    cargo install cargo-deb --version "$cargo_deb_version" --locked
fi

dpdk_version=$(pkg-config --modversion libdpdk 2>/dev/null || true)
if [[ $dpdk_version != 22.11* ]]; then
    echo "install-deps: pkg-config finds DPDK '${dpdk_version:-none}', Splicer needs 22.11" >&2
    exit 1
fi
echo "install-deps: ok (DPDK $dpdk_version, $(cargo --version))"
