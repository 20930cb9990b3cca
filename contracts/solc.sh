#!/usr/bin/env bash
# solc for forge, offline: the solcjs compiler from npm (node_modules/solc), bridged to
# what forge expects of a native solc (see ../shared/NOTES.md, "Foundry and solc"):
# - solcjs does not know --allow-paths (forge passes it with a value): drop both;
# - in --standard-json mode solcjs may print ">>> Cannot retry compilation with SMT ..."
#   before the JSON: filter that line out;
# - node truncates piped stdout at 64 KiB when solcjs exits: write to a file instead;
# - forge may hand over a non-blocking stdin pipe, on which solcjs's one-shot
#   readFileSync(stdin) fails with EAGAIN when the input is not there yet: buffer stdin
#   into a file first, retrying on EAGAIN, and give solcjs the file.
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
input="$(mktemp)"
trap 'rm -f "$out" "$input"' EXIT
case " ${args[*]} " in
    *" --standard-json "*)
        node -e '
            const fs = require("fs");
            const buf = Buffer.alloc(1 << 16);
            const pause = new Int32Array(new SharedArrayBuffer(4));
            const chunks = [];
            for (;;) {
                let n;
                try {
                    n = fs.readSync(0, buf, 0, buf.length, null);
                } catch (e) {
                    if (e.code === "EAGAIN") { Atomics.wait(pause, 0, 0, 5); continue; }
                    if (e.code === "EOF") break;
                    throw e;
                }
                if (n === 0) break;
                chunks.push(Buffer.from(buf.subarray(0, n)));
            }
            fs.writeFileSync(process.argv[1], Buffer.concat(chunks));
        ' "$input"
        ;;
    *) : >"$input" ;;
esac
status=0
node "$solcjs" "${args[@]}" <"$input" >"$out" || status=$?
sed '/^>>> Cannot retry compilation with SMT/d' "$out"
exit "$status"
