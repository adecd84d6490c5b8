#!/usr/bin/env bash
# Run the benchmarks and print their tables (optimised build):
# `scripts/bench.sh` runs both, `scripts/bench.sh isolation` or
# `scripts/bench.sh brokers` one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/start-postgres.sh || true
if [ "$#" -eq 0 ]; then
    set -- isolation brokers
fi
for bench in "$@"; do
    cargo bench -p workway-bench --bench "$bench"
done
