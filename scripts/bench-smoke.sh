#!/usr/bin/env bash
# Runs every benchmark once in smoke mode (VERDICT_BENCH_SMOKE=1: each shrinks its
# workload to seconds and writes under target/bench/smoke/), on the dev profile the
# tests already built, so a benchmark that no longer runs fails CI instead of rotting.
# The figures mean nothing; the benchmarks' own are `cargo run --release -p
# verdict-bench --bin NAME` and `cargo bench -p verdict-bench`.
#
#   scripts/bench-smoke.sh               every benchmark binary (what CI runs)
#   scripts/bench-smoke.sh l1-gas        only the named ones
#   scripts/bench-smoke.sh --criterion   the binaries, then the criterion benches
#
# The criterion benches are not in CI's run: their dev-dependencies (criterion) change
# the features of crates burn and tract build on, so building them compiles that stack
# a second time (about 14 minutes on 2 cores, measured). clippy builds them in CI all the
# same, so they cannot stop compiling unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."
export VERDICT_BENCH_SMOKE=1

# l1-chain compares against anvil from contracts/node_modules.
if [ ! -x contracts/node_modules/.bin/anvil ]; then
    (cd contracts && npm ci --no-audit --no-fund --loglevel=error)
fi

criterion=false
if [ "${1:-}" = "--criterion" ]; then
    criterion=true
    shift
fi

# The build's JSON messages say where each executable is. The benchmark binaries are
# built together with every workspace test target (which `cargo test` built already),
# so dependency features are resolved exactly as for the test run: built alone, the
# bins miss the dev-dependencies' features (criterion turns on regex/ciborium/itertools
# features under burn and tract) and recompile that whole stack (~10 min cold on 2 cores).
echo "bench smoke: building the benchmark binaries"
messages=$(cargo build --workspace --bins --tests --message-format=json-render-diagnostics)
executables=$(python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and not m["profile"]["test"] and "verdict-bench" in m["package_id"]):
        print(m["target"]["kind"][0], m["target"]["name"], m["executable"])
' <<<"$messages")

if [ $# -gt 0 ]; then
    wanted=("$@")
else
    mapfile -t wanted < <(awk '{print $2}' <<<"$executables")
fi
failed=()
for name in "${wanted[@]}"; do
    line=$(awk -v n="$name" '$2 == n' <<<"$executables")
    if [ -z "$line" ]; then
        echo "--- $name: no such benchmark"
        failed+=("$name")
        continue
    fi
    read -r kind _ executable <<<"$line"
    started=$(date +%s)
    echo
    echo "--- bench smoke: $name ($kind)"
    if "$executable"; then
        echo "--- $name: ok ($(($(date +%s) - started)) s)"
    else
        echo "--- $name: FAILED"
        failed+=("$name")
    fi
done
if $criterion; then
    echo
    echo "--- bench smoke: criterion benches (each benchmark once, criterion's test mode)"
    if ! cargo test -p verdict-bench --benches; then
        failed+=(criterion)
    fi
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "bench smoke failed: ${failed[*]}"
    exit 1
fi
echo "bench smoke: all ok"
