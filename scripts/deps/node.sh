#!/usr/bin/env bash
# Installs Debian's Node.js for the script crate's extension tests: GenieACS extensions are
# Node.js modules, which the ACS runs as child processes (`node`). Idempotent.
set -euo pipefail
if command -v node >/dev/null 2>&1; then
    exit 0
fi
echo "scripts/deps/node.sh: installing Debian nodejs" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends nodejs >/dev/null
command -v node >/dev/null 2>&1 || { echo "scripts/deps/node.sh: node missing after install" >&2; exit 1; }
node --version >&2
