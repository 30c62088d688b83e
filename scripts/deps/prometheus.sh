#!/usr/bin/env bash
# Installs Debian's Prometheus for `promtool`, which the hub's metrics test pipes every `/metrics`
# scrape through (`promtool check metrics`: syntax, escaping, help texts, naming conventions).
# Only the tool is used: the package's own server is never started by the tests. Idempotent.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
echo "scripts/deps/prometheus.sh: installing Debian prometheus (for promtool)" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null 2>&1 || { echo "scripts/deps/prometheus.sh: promtool missing after install" >&2; exit 1; }
promtool --version 2>&1 | head -1 >&2
