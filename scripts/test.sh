#!/usr/bin/env bash
# The project's test command (the README's second set-up command; .ci/run calls it verbatim).
# It needs only the Rust toolchain: anything else a test needs is installed here, loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
# A target directory outside the clone keeps repeated CI runs incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fibreplane/target}"
cargo fmt --all -- --check
cargo test --workspace --all-features --locked
