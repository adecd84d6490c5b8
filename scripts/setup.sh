#!/usr/bin/env bash
# Install what the build needs beyond the Rust toolchain itself: the
# wasm32-wasip2 target that integrations are compiled for, and
# wasm32-unknown-unknown for lean components (`workway plugin build --lean`)
# and the Extism plugin the benchmark compares with.
set -euo pipefail
cd "$(dirname "$0")/.."
for target in wasm32-wasip2 wasm32-unknown-unknown; do
    if ! rustup target list --installed | grep -qx "$target"; then
        echo "==> rustup target add $target"
        rustup target add "$target"
    fi
done
