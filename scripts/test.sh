#!/usr/bin/env bash
# scripts/test.sh — everything CI checks, in order; stops at the first failure.
#   1. scripts/install-deps.sh (skips apt when all is installed)
#   2. shellcheck on the shell scripts; no import circles in the dataplane crates
#   3. cargo fmt --all -- --check
#   4. cargo clippy --workspace --all-targets -- -D warnings
#   5. cargo test --workspace, then every fuzz target for 10 s (scripts/fuzz.sh)
#   6. cargo build --release -p splicer, then the Debian package (scripts/package.sh);
#      systemd-analyze verify of packaging/splicer.service
#   7. perf smoke: splicer-bench all (baseline, established, lifecycle, keepalive) for 1 s each (checks the generators' verification)
#   8. perf gate: instructions per frame / request under callgrind against perf/budgets.toml (perf/gate.sh)
#   9. tests/e2e/run.sh (as root: namespaces, TAPs, nginx)
#  10. docker/test.sh: the same binary and e2e configurations in Docker containers (net_tap,
#      net_af_packet, the net_ring bench); builds the base image once per machine
#  11. packaging/test-deb.sh: the .deb installed in a clean Debian 12 container (the same
#      base image, no network), `splicer check` and a short run from it, then removed
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
    export PATH=${HOME:-/root}/.cargo/bin:$PATH
fi

step() { printf '\n==> %s\n' "$*"; }

step "install dependencies"
scripts/install-deps.sh

step "shellcheck"
shellcheck -x scripts/*.sh packaging/*.sh tests/e2e/*.sh perf/*.sh perf/e2e/*.sh perf/soak/*.sh docker/*.sh .ci/run

# The dataplane's files import each other without circles (docs/DESIGN.md).
step "no import circles in the dataplane crates"
for src in dataplane/pipeline/src dataplane/wire/src dataplane/http/src dataplane/worker/src dataplane/agent/src; do
    python3 scripts/module-cycles.py "$src"
done

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace"
cargo test --workspace

# Every libFuzzer target (fuzz/, docs/FUZZING.md) for 10 s, starting from the committed
# corpus, which holds the inputs that once failed: a short campaign and a regression test.
step "fuzz smoke: scripts/fuzz.sh --seconds 10"
scripts/fuzz.sh --seconds 10

step "cargo build --release -p splicer"
cargo build --release -p splicer

step "Debian package: scripts/package.sh"
SPLICER_PACKAGE_NO_BUILD=1 scripts/package.sh

step "systemd unit: scripts/verify-unit.sh (systemd-analyze verify)"
scripts/verify-unit.sh target/release/splicer

# A correctness smoke of the benchmark's generator and verifier, not a performance gate.
step "perf smoke: splicer-bench all --no-huge --seconds 1"
cargo build --release -p splicer-bench
target/release/splicer-bench all --no-huge --seconds 1
target/release/splicer-bench pipelined --depth 8 --no-huge --seconds 1

# The instruction-count regression gate: fails when a scenario executes more than 3 %
# over its budget (perf/budgets.toml; perf/README.md, "Instruction-count gate").
step "perf gate: perf/gate.sh"
perf/gate.sh

step "end-to-end tests"
SPLICER_E2E_NO_BUILD=1 tests/e2e/run.sh

# Splicer, nginx and a client as containers (docker/README.md): a Docker engine with
# Compose must run on the machine; no registry is needed.
step "Docker test bed: docker/test.sh"
SPL_DOCKER_NO_BUILD=1 docker/test.sh

step "Debian package in a clean container: packaging/test-deb.sh"
packaging/test-deb.sh

printf '\n==> all checks passed\n'
