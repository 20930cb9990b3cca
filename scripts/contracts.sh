#!/usr/bin/env bash
# Builds and tests the L1 contracts (contracts/, a Foundry project) with forge and solc
# from npm: `npm ci` installs the pinned versions (package-lock.json), then formatting,
# build, tests (unit, fuzz, invariant, vectors) and the committed gas snapshot are checked.
#
#   scripts/contracts.sh             # what CI runs
#   scripts/contracts.sh --snapshot  # rewrite contracts/.gas-snapshot after a gas change
set -euo pipefail
cd "$(dirname "$0")/../contracts"

if ! command -v npm >/dev/null 2>&1; then
    echo "contracts: npm is missing; scripts/setup.sh installs it" >&2
    exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npx forge --version | head -n 1
npx forge fmt --check
npx forge build
# The Rust code embeds compiled artifacts (node/l1/artifacts/); they must match the sources.
"../scripts/contract-artifacts.sh" --check
npx forge test
if [ "${1:-}" = "--snapshot" ]; then
    npx forge snapshot
else
    npx forge snapshot --check
fi
