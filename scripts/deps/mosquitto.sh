#!/usr/bin/env bash
# Installs Debian's Mosquitto (an MQTT broker) for the hub's MQTT tests; the tests start their
# own broker process on a loopback port with a temporary configuration. Idempotent.
set -euo pipefail
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
    exit 0
fi
echo "scripts/deps/mosquitto.sh: installing Debian mosquitto" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients >/dev/null
# The package's own service is not needed (and cannot start in containers without systemd).
[ -x /usr/sbin/mosquitto ] || { echo "scripts/deps/mosquitto.sh: mosquitto missing after install" >&2; exit 1; }
/usr/sbin/mosquitto -h 2>&1 | head -1 >&2 || true
