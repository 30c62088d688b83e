#!/usr/bin/env bash
# SNMP peers for the olt-poller and olt-sim tests and the olt-load bench:
#   - Debian `snmp` (net-snmp's snmpget / snmpbulkwalk) and `snmpd` (a protocol-speed baseline);
#   - PyPI `snmpsim` in its own venv under $FIBREPLANE_TOOLS/snmpsim-venv, created from Debian's
#     /usr/bin/python3 (a Python under root's mode-700 home breaks after snmpsim drops privileges).
# Idempotent and fast when everything is there; fails loudly otherwise.
set -euo pipefail
TOOLS="${FIBREPLANE_TOOLS:-$HOME/.cache/fibreplane/tools}"
VENV="$TOOLS/snmpsim-venv"
SNMPSIM_VERSION="1.2.2"
# snmpsim 1.2.2 imports pysmi but does not declare it; 1.6.x is the line it was released with.
PYSMI_VERSION="1.6.3"

need_apt=()
command -v snmpbulkwalk >/dev/null 2>&1 || need_apt+=(snmp)
command -v snmpd >/dev/null 2>&1 || [ -x /usr/sbin/snmpd ] || need_apt+=(snmpd)
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
/usr/bin/python3 -c 'import dbm.gnu' >/dev/null 2>&1 || need_apt+=(python3-gdbm)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "snmp.sh: installing ${need_apt[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
command -v snmpbulkwalk >/dev/null || { echo "snmp.sh: snmpbulkwalk missing after install" >&2; exit 1; }

if ! "$VENV/bin/python" -c "import snmpsim, pysmi, sys; sys.exit(0 if snmpsim.__version__ == '$SNMPSIM_VERSION' and pysmi.__version__ == '$PYSMI_VERSION' else 1)" >/dev/null 2>&1; then
    echo "snmp.sh: creating $VENV with snmpsim $SNMPSIM_VERSION" >&2
    mkdir -p "$TOOLS"
    rm -rf "$VENV"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "snmpsim==$SNMPSIM_VERSION" "pysmi==$PYSMI_VERSION"
fi
[ -x "$VENV/bin/snmpsim-command-responder" ] || { echo "snmp.sh: snmpsim-command-responder missing" >&2; exit 1; }
# snmpsim drops privileges to nobody when started as root: the venv must be readable by it.
chmod -R a+rX "$VENV"
