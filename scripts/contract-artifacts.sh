#!/usr/bin/env bash
# Compiles the L1 contracts and writes the artifacts the Rust code embeds
# (node/l1/artifacts/<Contract>.json: ABI, creation and runtime bytecode), which
# `verdict_l1::bindings` reads at compile time with alloy's `sol!`.
#
#   scripts/contract-artifacts.sh          # rewrite node/l1/artifacts/ after a contract change
#   scripts/contract-artifacts.sh --check  # fail when the committed artifacts are stale (CI)
#
# forge, anvil and solc come from npm (contracts/package.json), offline; see
# scripts/contracts.sh. The bytecode carries no metadata hash (foundry.toml), so the
# artifacts depend only on the sources and compiler settings.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out_dir="$root/node/l1/artifacts"

# Contracts the node deploys and talks to, plus test harnesses the differential tests
# call in revm.
contracts=(Bridge ModelRegistry Rollup OneStepVerifier StateStepVerifier BatchDataVerifier DisputeGame MerkleHarness)

cd "$root/contracts"
if [ ! -x node_modules/.bin/forge ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npx forge build >/dev/null

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
for name in "${contracts[@]}"; do
    source_json="$(find out -path "*/${name}.json" -not -path "*/build-info/*" | head -n 1)"
    if [ -z "$source_json" ]; then
        echo "contract-artifacts: no forge output for $name" >&2
        exit 1
    fi
    node -e '
        const fs = require("fs");
        const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const slim = {
            abi: a.abi,
            bytecode: { object: a.bytecode.object },
            deployedBytecode: { object: a.deployedBytecode.object },
        };
        fs.writeFileSync(process.argv[2], JSON.stringify(slim, null, 1) + "\n");
    ' "$source_json" "$staging/$name.json"
done

if [ "${1:-}" = "--check" ]; then
    if ! diff -r -q "$staging" "$out_dir" >/dev/null 2>&1; then
        diff -r -q "$staging" "$out_dir" || true
        echo "contract-artifacts: node/l1/artifacts/ is stale; run scripts/contract-artifacts.sh and commit the result" >&2
        exit 1
    fi
    echo "contract-artifacts: node/l1/artifacts/ is up to date"
else
    mkdir -p "$out_dir"
    rm -f "$out_dir"/*.json
    cp "$staging"/*.json "$out_dir"/
    echo "contract-artifacts: wrote ${contracts[*]} to node/l1/artifacts/"
fi
