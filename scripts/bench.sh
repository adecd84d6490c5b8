#!/usr/bin/env bash
# Run the side-by-side benchmark and print its tables (optimised build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo bench -p workway-bench --bench isolation "$@"
