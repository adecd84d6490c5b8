#!/usr/bin/env bash
# Run the whole test suite: unit tests, the runtime against real
# components (including the adversarial ones), and the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace "$@"
