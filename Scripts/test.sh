#!/usr/bin/env bash
# Runs every Canopy test: unit, store contract, and the AWS integration tests against a moto
# server on 127.0.0.1 (installed from PyPI and started here when none is running).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${CANOPY_MOTO_PORT:-5055}"
export CANOPY_MOTO_ENDPOINT="http://127.0.0.1:${port}"

if ! python3 -c "import moto.server, flask_cors" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.2,<5.3'
fi

moto_pid=""
if ! python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
PY
then
    python3 -m moto.server -H 127.0.0.1 -p "$port" > "${TMPDIR:-/tmp}/canopy-moto-${port}.log" 2>&1 &
    moto_pid=$!
    trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 60); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=1).close()" 2>/dev/null && break
        sleep 0.5
    done
fi

swift test "$@"
