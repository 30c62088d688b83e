#!/usr/bin/env bash
# Creates the Python venv with PyPI's tplinkrouterc6u, the real TP-Link EX client the xx230v-sim
# tests drive out of process (GPL-3.0: it is only ever run, never copied). Idempotent: a venv that
# already imports the pinned version is left alone. Tests find it at
# $FIBREPLANE_TOOLS/tplink-venv/bin/python.
set -euo pipefail
TOOLS="${FIBREPLANE_TOOLS:-$HOME/.cache/fibreplane/tools}"
VENV="$TOOLS/tplink-venv"
VERSION=5.37.0
PY="$VENV/bin/python"
if [ -x "$PY" ] && "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('tplinkrouterc6u') != '$VERSION')" 2>/dev/null; then
    exit 0
fi
echo "scripts/deps/tplink-client.sh: creating $VENV with tplinkrouterc6u==$VERSION" >&2
mkdir -p "$TOOLS"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "tplinkrouterc6u==$VERSION"
"$PY" -c "from tplinkrouterc6u import TPLinkEXClient" || {
    echo "scripts/deps/tplink-client.sh: tplinkrouterc6u does not import TPLinkEXClient" >&2
    exit 1
}
