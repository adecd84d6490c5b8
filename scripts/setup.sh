#!/usr/bin/env bash
# Install what the build needs beyond the Rust toolchain itself: the
# wasm32-wasip2 target that integrations are compiled for.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "==> rustup target add wasm32-wasip2"
    rustup target add wasm32-wasip2
fi
