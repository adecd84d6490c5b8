#!/usr/bin/env bash
# Run the whole test suite: unit tests, the runtime against real
# components (including the adversarial ones), the SDK's macro errors and
# the CLI. (The benchmark crate has no tests; it runs with scripts/bench.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --exclude workway-bench "$@"
