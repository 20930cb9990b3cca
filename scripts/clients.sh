#!/usr/bin/env bash
# Installs and tests the client libraries, each against the shared vectors of
# specs/vectors/ in its own test suite:
#   clients/python  pip-installed (from PyPI: eth-account, web3) into target/clients/venv,
#                   tested with pytest;
#   clients/js      `npm ci` (package-lock.json), built with tsc, tested with node's runner.
# The Rust end-to-end test (cli: roles::publish) then drives both command lines against
# a devnet, so `make test` runs this before `cargo test`.
#
#   scripts/clients.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
venv="$target/clients/venv"

for tool in python3 npm node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "clients: $tool is missing; scripts/setup.sh installs it" >&2
        exit 1
    fi
done

echo "clients: Python (clients/python) into $venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./clients/python pytest
"$venv/bin/python" -m pytest -q clients/python/tests

echo "clients: TypeScript (clients/js)"
(
    cd clients/js
    npm ci --no-audit --no-fund --loglevel=error
    npm run --silent build
    npm test --silent
)
echo "clients: ok"
