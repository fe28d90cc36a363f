#!/usr/bin/env bash
# Runs every Canopy test: unit, store contract, the AWS integration tests against a moto server on
# 127.0.0.1 (installed from PyPI and started here when none is running), and the policy engine's
# conformance tests against Cloud Custodian.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${CANOPY_MOTO_PORT:-5055}"
export CANOPY_MOTO_ENDPOINT="http://127.0.0.1:${port}"

# moto serves the AWS integration tests; Cloud Custodian (c7n) is the oracle for the policy engine;
# schemathesis checks the API against its OpenAPI document.
if ! python3 -c "import moto.server, flask_cors, c7n.filters.core, schemathesis, selenium" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.2,<5.3' 'c7n>=0.9.50' 'schemathesis>=4.3,<5' 'selenium>=4.20'
fi

# The FinOps Foundation's FOCUS validator and CUR converter, pinned, in a venv of their own: their
# dependencies (pandas, polars, pandera) are old and must not disturb the tools above.
focus_tools=.build/focus-tools
if ! "$focus_tools/bin/python3" -c "import focus_validator, focus_converter" 2>/dev/null; then
    rm -rf "$focus_tools"
    mkdir -p .build
    python3 -m venv "$focus_tools"
    "$focus_tools/bin/python3" -m pip install --quiet --disable-pip-version-check \
        'focus-validator==1.0.0' 'focus-converter==1.0.0' 'multimethod<1.11' 'click<8.2'
fi

# pySigma and its SQLite backend, the peer of Canopy's Sigma engine, pinned, in a venv of their own.
sigma_tools=.build/sigma-tools
if ! "$sigma_tools/bin/python3" -c "import sigma.backends.sqlite, yaml" 2>/dev/null; then
    rm -rf "$sigma_tools"
    mkdir -p .build
    python3 -m venv "$sigma_tools"
    "$sigma_tools/bin/python3" -m pip install --quiet --disable-pip-version-check 'pysigma==2.0.1' 'pysigma-backend-sqlite==2.1.1'
fi

source Scripts/moto.sh
moto_pid=""
if ! port_open "$port"; then
    trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true' EXIT
    start_moto "$port" "${TMPDIR:-/tmp}/canopy-moto-${port}.log"
fi

swift test "$@"
