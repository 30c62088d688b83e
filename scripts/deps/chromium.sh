#!/usr/bin/env bash
# Installs Debian's Chromium for the modem-bridge browser-path tests and the modem-load bench.
# Idempotent: when /usr/lib/chromium/chromium already runs, it does nothing. It never downloads a
# browser build of its own (chromiumoxide's fetcher is off): only Debian's package is used.
set -euo pipefail
BIN=/usr/lib/chromium/chromium
if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    exit 0
fi
echo "scripts/deps/chromium.sh: installing Debian chromium (first run only, ~150 MB)" >&2
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
if ! "$BIN" --version >/dev/null 2>&1; then
    echo "scripts/deps/chromium.sh: $BIN does not run after installing chromium" >&2
    exit 1
fi
"$BIN" --version >&2
