#!/usr/bin/env bash
# solc for forge, offline: the solcjs compiler from npm (node_modules/solc), bridged to
# what forge expects of a native solc (see ../shared/NOTES.md, "Foundry and solc"):
# - solcjs does not know --allow-paths (forge passes it with a value): drop both;
# - in --standard-json mode solcjs may print ">>> Cannot retry compilation with SMT ..."
#   before the JSON: filter that line out;
# - node truncates piped stdout at 64 KiB when solcjs exits: write to a file instead.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
solcjs="$here/node_modules/solc/solc.js"
if [ ! -f "$solcjs" ]; then
    echo "solc.sh: $solcjs is missing; run scripts/contracts.sh (it runs npm ci)" >&2
    exit 1
fi
args=()
skip_next=0
for arg in "$@"; do
    if [ "$skip_next" = 1 ]; then
        skip_next=0
        continue
    fi
    case "$arg" in
        --allow-paths) skip_next=1 ;;
        --allow-paths=*) ;;
        *) args+=("$arg") ;;
    esac
done
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
node "$solcjs" "${args[@]}" >"$out" || status=$?
sed '/^>>> Cannot retry compilation with SMT/d' "$out"
exit "$status"
