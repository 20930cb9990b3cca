#!/usr/bin/env bash
# Runs every benchmark once in smoke mode (VERDICT_BENCH_SMOKE=1: each shrinks its
# workload to seconds and writes under target/bench/smoke/), on the dev profile the
# tests already built, so a benchmark that no longer runs fails CI instead of rotting.
# The figures mean nothing; the benchmarks' own are `cargo run --release -p
# verdict-bench --bin NAME` (bench/README.md).
#
#   scripts/bench-smoke.sh            every benchmark
#   scripts/bench-smoke.sh l1-gas     only the named ones
set -euo pipefail
cd "$(dirname "$0")/.."
export VERDICT_BENCH_SMOKE=1

# l1-chain compares against anvil from contracts/node_modules.
if [ ! -x contracts/node_modules/.bin/anvil ]; then
    (cd contracts && npm ci --no-audit --no-fund --loglevel=error)
fi

binaries=(l1-gas store-commit profile-steps peak-memory challenger-check l1-chain node-sync sequencer-load)
if [ $# -gt 0 ]; then
    binaries=("$@")
fi

echo "bench smoke: building the benchmark binaries"
cargo build -p verdict-bench --bins
failed=()
for bin in "${binaries[@]}"; do
    started=$(date +%s)
    echo
    echo "--- bench smoke: $bin"
    if cargo run --quiet -p verdict-bench --bin "$bin"; then
        echo "--- $bin: ok ($(($(date +%s) - started)) s)"
    else
        echo "--- $bin: FAILED"
        failed+=("$bin")
    fi
done
if [ $# -eq 0 ]; then
    echo
    echo "--- bench smoke: criterion benches (each benchmark run once, in test mode)"
    if ! cargo test -p verdict-bench --benches; then
        failed+=(criterion)
    fi
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "bench smoke failed: ${failed[*]}"
    exit 1
fi
echo "bench smoke: all ok"
