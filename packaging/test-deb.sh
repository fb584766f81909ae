#!/usr/bin/env bash
# packaging/test-deb.sh — installs the Debian package in a clean Debian 12 container and
# checks it (TAP-like `ok N - ...` lines; exit 0 when every check passed).
#
# Usage: packaging/test-deb.sh [DEB]   (default: target/debian/splicer_*.deb, built by
#        scripts/package.sh; as root, with a Docker engine and debootstrap)
#
# The container is the Docker test bed's base image (docker/base.sh: debootstrap bookworm,
# built once per machine), run with no network: `apt-get install ./splicer_*.deb` resolves
# the package's dependencies from what the image holds, offline. The image holds more than
# Splicer needs (nginx, python3, the whole dpdk package), so after the install everything
# but Debian's base system and Splicer is marked automatically installed and `apt-get
# autoremove` removes what no Depends of splicer holds (Recommends not counted): a library
# Splicer needs but does not declare is gone before Splicer runs, and the run fails.
#
# Checks: the package's metadata and file list (host); the man pages format with groff
# without warnings (host, from the .deb); in the container: install, the autoremove, no
# python3 left, `splicer --version`, `splicer check` on /etc/splicer/splicer.toml (and a
# broken copy fails with exit 2), man pages and completions installed, the unit installed
# and not enabled; the unit's ExecStart run by hand (no systemd in the container) for a
# few seconds: `splicer ready`, `splicer ctl show ports`, `weight s1 5` and `save` keep the
# conffile's comments, SIGTERM exits 0; reinstalling keeps the changed conffile;
# `dpkg -r` leaves only the conffile, `dpkg -P` removes it too.
#
# Takes /tmp/splicer-docker.lock (one Docker user at a time on a shared machine); a
# caller that already holds it sets SPLICER_DOCKER_LOCK_HELD=1. The container is spl-deb-test, removed on exit.
# The single-quoted scripts below run in the container or a child shell, on purpose:
# shellcheck disable=SC2016
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

name=spl-deb-test
checks=0 failures=0

check() {
    local desc=$1 out rc=0
    shift
    checks=$((checks + 1))
    out=$("$@" 2>&1) || rc=$?
    if [[ $rc -eq 0 ]]; then
        printf 'ok %d - %s\n' "$checks" "$desc"
        return 0
    fi
    failures=$((failures + 1))
    printf 'not ok %d - %s (exit %d: %s)\n' "$checks" "$desc" "$rc" "$*"
    [[ -n $out ]] && printf '%s\n' "$out" | tail -n 20 | sed 's/^/    | /'
    return 1
}
die() {
    printf 'Bail out! %s\n' "$*"
    exit 1
}
# cin CMD...: runs CMD in the container.
cin() { docker exec "$name" "$@"; }
# cin_sh SCRIPT: runs a shell script in the container.
cin_sh() { docker exec "$name" bash -ec "$1"; }

[[ $(id -u) -eq 0 ]] || die "needs root (Docker, debootstrap)"
command -v docker >/dev/null || die "needs a Docker engine"

deb=${1:-}
if [[ -z $deb ]]; then
    shopt -s nullglob
    debs=(target/debian/splicer_*.deb)
    shopt -u nullglob
    [[ ${#debs[@]} -eq 1 ]] || die "expected one target/debian/splicer_*.deb (scripts/package.sh), found ${#debs[@]}"
    deb=${debs[0]}
fi
[[ -f $deb ]] || die "$deb: no such file"
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")

work=$(mktemp -d /tmp/spl-deb-test.XXXXXX)
cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- on the host: what the package says and holds ---
field() { dpkg-deb -f "$deb" "$1"; }
depends=$(field Depends)
printf '# Depends: %s\n' "$depends"
check "Depends names the DPDK 22.11 libraries Splicer links (dpkg-shlibdeps)" \
    grep -qE '(^|, )librte-eal23( |,|$)' <<<"$depends"
check "... and the plugin drivers the example configuration loads" \
    bash -c 'for p in librte-bus-vdev23 librte-mempool-ring23 librte-net-tap23; do grep -qw "$p" <<<"$1" || exit 1; done' _ "$depends"
check "... and no python" bash -c '! grep -qi python <<<"$1"' _ "$depends"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/files"
for f in /usr/bin/splicer /etc/splicer/splicer.toml /usr/lib/systemd/system/splicer.service \
    /usr/share/bash-completion/completions/splicer /usr/share/zsh/vendor-completions/_splicer \
    /usr/share/fish/vendor_completions.d/splicer.fish /usr/share/doc/splicer/README.md \
    /usr/share/doc/splicer/CONFIGURATION.md /usr/share/doc/splicer/OPERATIONS.md; do
    check "the package holds $f" grep -qx "$f" "$work/files"
done
mkdir -p "$work/ctl" "$work/tree"
dpkg-deb -e "$deb" "$work/ctl"
dpkg-deb -x "$deb" "$work/tree"
check "/etc/splicer/splicer.toml is a conffile" grep -qx /etc/splicer/splicer.toml "$work/ctl/conffiles"
shopt -s nullglob
pages=("$work"/tree/usr/share/man/man1/splicer*.1*)
shopt -u nullglob
check "man pages splicer.1 and one per subcommand (${#pages[@]})" test "${#pages[@]}" -ge 5
for page in "${pages[@]}"; do
    check "$(basename "$page") formats with groff -man without warnings" \
        bash -c 'out=$( { [[ $1 == *.gz ]] && zcat "$1" || cat "$1"; } | groff -man -Tutf8 -ww 2>&1 >/dev/null); [[ -z $out ]] || { echo "$out"; exit 1; }' _ "$page"
done
check "splicer.1 has NAME, SYNOPSIS and FILES" bash -c \
    'text=$( { [[ $1 == *.gz ]] && zcat "$1" || cat "$1"; } | groff -man -Tutf8 2>/dev/null | col -b); for s in NAME SYNOPSIS FILES "SEE ALSO"; do grep -q "^$s" <<<"$text" || exit 1; done' \
    _ "$(printf '%s\n' "${pages[@]}" | grep '/splicer\.1' | head -n 1)"

# --- in a clean Debian 12 container ---
if [[ ${SPLICER_DOCKER_LOCK_HELD:-0} != 1 ]]; then
    exec {lock}>/tmp/splicer-docker.lock
    flock -w 1800 "$lock" || die "another run holds /tmp/splicer-docker.lock"
fi
base=$(docker/base.sh) || die "no base image (docker/base.sh)"
docker rm -f "$name" >/dev/null 2>&1 || true
mkdir -p "$work/deb"
cp "$deb" "$work/deb/"
debname=$(basename "$deb")
# No network: nothing can be downloaded. Docker's default capabilities (apt and dpkg
# change users and owners) plus NET_ADMIN and /dev/net/tun for the example's net_tap
# ports (docker/README.md, Privileges).
docker run -d --name "$name" --network none --cap-add NET_ADMIN \
    --device /dev/net/tun -v "$work/deb:/deb:ro" "$base" sleep 900 >/dev/null ||
    die "cannot start a container from $base"

check "not installed before" bash -c "! docker exec $name test -e /usr/bin/splicer"
check "apt-get install ./$debname resolves its dependencies offline" \
    cin env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o Dpkg::Use-Pty=0 "/deb/$debname"
# A clean Debian 12 with Splicer: debootstrap marked every package of the image as
# installed by hand; mark all but the base system (Priority required or important,
# Essential) and splicer as automatic, and autoremove what splicer's Depends do not hold.
check "autoremove what neither Debian's base system nor splicer's Depends hold" cin_sh '
    apt-mark auto $(dpkg-query -W -f="\${db:Status-Abbrev} \${Package} \${Priority} \${Essential}\n" |
        awk "\$1 == \"ii\" && \$3 != \"required\" && \$3 != \"important\" && \$4 != \"yes\" && \$2 != \"splicer\" {print \$2}") >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -q -o Dpkg::Use-Pty=0 \
        -o APT::AutoRemove::RecommendsImportant=false -o APT::AutoRemove::SuggestsImportant=false >/dev/null
    dpkg-query -W -f="\${db:Status-Abbrev}\n" splicer | grep -q "^ii"'
printf '# DPDK packages left: %s\n' "$(cin dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'librte-*' dpdk 2>/dev/null | awk '$1 == "ii" {printf "%s ", $2}')"
check "... python3 and nginx are gone (Splicer needs neither)" \
    bash -c "! docker exec $name sh -c 'command -v python3 || command -v nginx'"
check "splicer --version" bash -c "docker exec $name splicer --version | grep -qx 'splicer [0-9.]*'"
check "splicer check --config /etc/splicer/splicer.toml" \
    cin splicer check --config /etc/splicer/splicer.toml
check "a broken copy fails splicer check with exit 2 and names the key" cin_sh '
    sed "s/^workers = 1/workers = 0/" /etc/splicer/splicer.toml >/tmp/bad.toml
    rc=0; err=$(splicer check --config /tmp/bad.toml 2>&1) || rc=$?
    [ "$rc" -eq 2 ] && echo "$err" | grep -q workers'
for f in /usr/share/man/man1/splicer.1.gz /usr/share/man/man1/splicer-run.1.gz \
    /usr/share/bash-completion/completions/splicer /usr/share/zsh/vendor-completions/_splicer \
    /usr/share/fish/vendor_completions.d/splicer.fish /lib/systemd/system/splicer.service; do
    check "installed: $f" cin_sh "test -s $f || test -s ${f%.gz}"
done
check "bash completion completes 'splicer ch' to check" cin_sh '
    . /usr/share/bash-completion/completions/splicer
    COMP_WORDS=(splicer ch); COMP_CWORD=1; COMP_LINE="splicer ch"; COMP_POINT=10
    _splicer splicer ch splicer
    [ "${COMPREPLY[*]}" = check ]'
check "the unit is not enabled (hugepages and ports first)" \
    bash -c "! docker exec $name sh -c 'ls /etc/systemd/system/*.wants/splicer.service' 2>/dev/null"

# The unit's ExecStart, run by hand: systemd does not run in this container.
exec_start=$(cin sed -n 's/^ExecStart=//p' /lib/systemd/system/splicer.service)
printf '# ExecStart=%s\n' "$exec_start"
check "ExecStart is 'splicer run' on the installed configuration" \
    test "$exec_start" = "/usr/bin/splicer run --config /etc/splicer/splicer.toml"
check "ExecStopPost's 'splicer withdraw' has nothing to do without [announce] (exit 0)" cin_sh '
    cmd=$(sed -n "s/^ExecStopPost=-//p" /lib/systemd/system/splicer.service)
    [ "$cmd" = "/usr/bin/splicer withdraw --config /etc/splicer/splicer.toml" ] && $cmd | grep -q "nothing to withdraw"'
docker exec -d "$name" bash -c "$exec_start >/tmp/splicer.log 2>&1; echo \$? >/tmp/splicer.rc"
ready=0
for _ in $(seq 1 60); do
    if cin grep -q 'splicer ready' /tmp/splicer.log 2>/dev/null; then ready=1; break; fi
    sleep 0.5
done
check "splicer ready within 30 s" test "$ready" -eq 1 || cin tail -n 20 /tmp/splicer.log | sed 's/^/# | /'
check "splicer ctl show ports (default socket /run/splicer/splicer.sock)" \
    bash -c "docker exec $name splicer ctl show ports | grep -q outside"
cp "$work/tree/etc/splicer/splicer.toml" "$work/packaged.toml"
check "ctl weight s1 5" cin splicer ctl weight s1 5
check "ctl save writes the conffile keeping its comments" \
    bash -c "docker exec $name splicer ctl save | grep -q 'comments and layout kept'"
docker cp "$name:/etc/splicer/splicer.toml" "$work/saved.toml" >/dev/null
check "... only the weight line is new, every packaged line is still there" \
    bash -c 'diff "$1" "$2" | grep "^[<>]" | tr "\n" " " | grep -qx "> weight = 5 "' _ "$work/packaged.toml" "$work/saved.toml" ||
    diff "$work/packaged.toml" "$work/saved.toml" | sed 's/^/# | /'
check "SIGTERM stops Splicer with exit code 0" cin_sh '
    pid=$(pidof splicer); kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    sleep 0.5; [ "$(cat /tmp/splicer.rc)" = 0 ] && grep -q "splicer stopped" /tmp/splicer.log'
check "reinstalling keeps the changed conffile" cin_sh "
    DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold /deb/$debname >/dev/null
    grep -qx 'weight = 5' /etc/splicer/splicer.toml"
check "dpkg -r splicer (installed until now)" cin_sh '
    dpkg-query -W -f="\${Status}\n" splicer | grep -qx "install ok installed"
    dpkg -r splicer >/dev/null'
check "... removes the binary, the unit, the man pages, completions and docs" cin_sh '
    for f in /usr/bin/splicer /lib/systemd/system/splicer.service /usr/share/man/man1/splicer.1.gz \
        /usr/share/bash-completion/completions/splicer /usr/share/doc/splicer; do
        [ ! -e "$f" ] || { echo "left: $f"; exit 1; }
    done'
check "... and keeps the configuration (a conffile) until purged" cin test -f /etc/splicer/splicer.toml
check "dpkg -P splicer removes /etc/splicer" cin_sh 'dpkg -P splicer >/dev/null && [ ! -e /etc/splicer ]'

printf '# %d checks, %d failed\n' "$checks" "$failures"
printf '%d passed, %d failed\n' "$((checks - failures))" "$failures"
[[ $failures -eq 0 ]]
