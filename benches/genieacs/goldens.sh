#!/usr/bin/env bash
# Regenerates acs/testdata/genieacs-scripts/goldens/ by running every scenario against GenieACS
# 1.2.16 itself. Not part of the test suite (it needs GenieACS's source and a few minutes):
# the suite only compares Fibreplane with the goldens this writes.
#
# Usage: benches/genieacs/goldens.sh [--scenario NAME]...
#   GENIEACS_SRC   a git clone (or bare mirror) of the public genieacs/genieacs repository;
#                  GenieACS is not on the npm registry this machine reaches, so it is built
#                  from its v1.2.16 tag. Nothing of it enters this repository (AGPL).
#   GOLDENS_CACHE  where GenieACS, its node modules and the SecantusDB venv are installed
#                  (default ~/.cache/fibreplane/genieacs); reused across runs.
#   GOLDENS_RUN    where the services' logs go (default /work/genieacs-run).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${GOLDENS_CACHE:-$HOME/.cache/fibreplane/genieacs}
run=${GOLDENS_RUN:-/work/genieacs-run}
tag=v1.2.16
# Loopback ports away from the defaults, so a Fibreplane lab on 7547/7557/7567 is untouched.
db_port=27117 cwmp_port=17547 nbi_port=17557 fs_port=17567
mkdir -p "$cache" "$run"

# 1. GenieACS 1.2.16, built from its tag with its own lock file.
if [[ ! -x "$cache/src/dist/bin/genieacs-cwmp" ]]; then
  : "${GENIEACS_SRC:?set GENIEACS_SRC to a clone of genieacs/genieacs (see the usage above)}"
  rm -rf "$cache/src"
  git clone -q --branch "$tag" "$GENIEACS_SRC" "$cache/src"
  (cd "$cache/src" && npm ci --no-audit --no-fund && npm run build)
  (cd "$cache/src/dist" && npm ci --omit=dev --no-audit --no-fund)
fi
[[ "$(cd "$cache/src" && git describe --tags)" == "$tag" ]] || { echo "not $tag" >&2; exit 1; }

# 2. SecantusDB, a MongoDB-wire-compatible server from PyPI, in its own venv.
if [[ ! -x "$cache/venv/bin/secantusd-py" ]]; then
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q secantusdb
fi

# 3. The services, on loopback, with a fresh in-memory database; stopped on exit.
pids=()
# Each service is stopped by its own pid and waited for (SecantusDB takes a few seconds), so
# the next run finds its ports free.
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
port_free() {
  if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "127.0.0.1:$1 is already in use (a GenieACS or SecantusDB left running?)" >&2; exit 1
  fi
}
for p in $db_port $cwmp_port $nbi_port $fs_port; do port_free $p; done
wait_port() {
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done
  echo "port $1 never opened; see $run/*.log" >&2; return 1
}
"$cache/venv/bin/secantusd-py" --host 127.0.0.1 --port $db_port --storage-path :memory: \
  >"$run/db.log" 2>&1 & pids+=($!)
wait_port $db_port
export GENIEACS_MONGODB_CONNECTION_URL=mongodb://127.0.0.1:$db_port/genieacs
export GENIEACS_EXT_DIR=$repo/acs/testdata/genieacs-scripts/ext
export GENIEACS_CWMP_INTERFACE=127.0.0.1 GENIEACS_CWMP_PORT=$cwmp_port GENIEACS_CWMP_WORKER_PROCESSES=1
export GENIEACS_NBI_INTERFACE=127.0.0.1 GENIEACS_NBI_PORT=$nbi_port GENIEACS_NBI_WORKER_PROCESSES=1
export GENIEACS_FS_INTERFACE=127.0.0.1 GENIEACS_FS_PORT=$fs_port GENIEACS_FS_WORKER_PROCESSES=1
for svc in cwmp nbi fs; do
  node "$cache/src/dist/bin/genieacs-$svc" >"$run/$svc.log" 2>&1 & pids+=($!)
done
wait_port $cwmp_port; wait_port $nbi_port; wait_port $fs_port

# 4. The scenarios, driven by cpe-sim's fleet library; goldens written in place.
cd "$repo"
# Built under the shared cargo lock; the executable's path is cargo's to say (the target
# directory may be redirected), so it is read from cargo's own artifact message.
exe=$(flock /tmp/fp-cargo.lock cargo build -q -p fibreplane-benches --bin genieacs-goldens \
  --message-format=json | sed -n 's/.*"executable":"\([^"]*genieacs-goldens\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || { echo "genieacs-goldens did not build" >&2; exit 1; }
"$exe" --cwmp "http://127.0.0.1:$cwmp_port/" --nbi "http://127.0.0.1:$nbi_port" "$@"
