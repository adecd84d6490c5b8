#!/usr/bin/env bash
# Run the benchmarks and print their tables (optimised build):
# `scripts/bench.sh` runs them all, `scripts/bench.sh isolation`,
# `scripts/bench.sh brokers` or `scripts/bench.sh workflows` one of them.
# The `extism` feature adds the Extism comparison (a second wasmtime, left
# out of the default build so CI compiles one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/start-postgres.sh || true
if [ "$#" -eq 0 ]; then
    set -- isolation brokers workflows
fi
for bench in "$@"; do
    cargo bench -p workway-bench --features extism --bench "$bench"
done
