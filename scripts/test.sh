#!/usr/bin/env bash
# The project's test command (the README's second set-up command; .ci/run calls it verbatim).
# It needs only the Rust toolchain: anything else a test needs is installed here, loudly, by the
# scripts in scripts/deps/ (one per external peer: net-snmp, snmpsim, Chromium, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
# A target directory outside the clone keeps repeated CI runs incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fibreplane/target}"
# Tools the tests need live outside the clone too (a Python venv, for example).
export FIBREPLANE_TOOLS="${FIBREPLANE_TOOLS:-$HOME/.cache/fibreplane/tools}"
for dep in scripts/deps/*.sh; do
    [ -e "$dep" ] || continue
    echo "test.sh: $dep" >&2
    bash "$dep"
done
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# The proof tests (benches/tests/proof) build the `fibreplane` binary they run with these same
# arguments and `--no-run`: inside this run that finds everything fresh.
export FIBREPLANE_TEST_ARGS="--workspace --all-features --locked"
# shellcheck disable=SC2086 # the arguments are words on purpose
cargo test $FIBREPLANE_TEST_ARGS
