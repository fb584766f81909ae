#!/usr/bin/env bash
# scripts/package.sh — builds the Debian package target/debian/splicer_<version>-1_<arch>.deb
# with cargo-deb (splicer/Cargo.toml, [package.metadata.deb]; docs/OPERATIONS.md,
# "Package"):
#   1. cargo build --release -p splicer (skipped with SPLICER_PACKAGE_NO_BUILD=1, when the
#      release binary is already built, as in scripts/test.sh)
#   2. `splicer generate man|completions` into packaging/generated/ (not in git): the man pages
#      (clap_mangen) and the bash, zsh and fish completions (clap_complete), from the
#      binary's own command line
#   3. cargo deb --no-build: binary, unit, /etc/splicer/splicer.toml (a conffile), man
#      pages, completions, docs; Depends from dpkg-shlibdeps plus the DPDK plugin drivers
# Prints the path of the .deb. Needs cargo-deb (scripts/install-deps.sh installs it) and
# dpkg-dev (dpkg-shlibdeps).
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
    export PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
command -v cargo-deb >/dev/null || {
    echo "package: cargo-deb missing (scripts/install-deps.sh installs it)" >&2
    exit 1
}

target=${CARGO_TARGET_DIR:-target}
if [[ ${SPLICER_PACKAGE_NO_BUILD:-0} != 1 ]]; then
    cargo build --release -p splicer >&2
fi
bin=$target/release/splicer
[[ -x $bin ]] || { echo "package: $bin missing (cargo build --release -p splicer)" >&2; exit 1; }

gen=packaging/generated   # splicer/Cargo.toml names this path; not in git (.gitignore)
rm -rf "$gen"
"$bin" generate man "$gen/man" >/dev/null
"$bin" generate completions "$gen/completions" >/dev/null
# A man page that groff cannot format would install but show garbage.
for page in "$gen"/man/*.1; do
    if command -v groff >/dev/null; then
        warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        [[ -z $warnings ]] || { echo "package: $page: $warnings" >&2; exit 1; }
    fi
done

mkdir -p "$target/debian"
rm -f "$target"/debian/splicer_*.deb
cargo deb --no-build --strip -p splicer --output "$target/debian/" >&2
deb=$(ls "$target"/debian/splicer_*.deb)
printf '%s\n' "$deb"
