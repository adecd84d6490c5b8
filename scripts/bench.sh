#!/usr/bin/env bash
# Run the benchmarks and print their tables (optimised build):
# `scripts/bench.sh` runs them all, `scripts/bench.sh isolation`,
# `scripts/bench.sh brokers`, `scripts/bench.sh workflows`,
# `scripts/bench.sh scaleout`, `scripts/bench.sh api` (authenticated
# API requests per second), `scripts/bench.sh billing` (what the usage
# record adds to a step commit), `scripts/bench.sh claims` (a claim's time
# as one owner's backlog grows to 10,000 runs) or `scripts/bench.sh
# marketplace` (search and listing pages with 10,000 listings and
# 1,000,000 executions) or
# `scripts/bench.sh pages` (the web UI's pages with seeded data) one of them.
# The `extism` feature adds the Extism comparison (a second wasmtime, left
# out of the default build so CI compiles one). `scaleout` starts
# `workway worker` processes, so the release `workway` binary is built
# first (the benchmark finds it beside itself in the target folder).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/start-postgres.sh || true
if [ "$#" -eq 0 ]; then
    set -- isolation brokers workflows scaleout api marketplace billing claims pages
fi
# The isolation benchmark's languages table runs the same echo written in
# Python and JavaScript (bench/plugins/), built here as a developer would:
# `workway plugin new --lang`, the echo source, `workway plugin build`
# (which installs componentize-py and componentize-js on first use).
build_echo_plugins() {
    cargo build --release -p workway-cli --bin workway
    export WORKWAY_TOOLS_DIR="$PWD/target/tmp/workway-tools"
    local lang ext dir wasm
    for lang in python js; do
        ext=$([ "$lang" = python ] && echo py || echo js)
        dir="target/bench-plugins/echo-$lang"
        rm -rf "$dir"
        target/release/workway plugin new "$dir" --lang "$lang" --name "echo-$lang" >/dev/null
        cp "bench/plugins/echo.$ext" "$dir/app.$ext"
        wasm=$(target/release/workway plugin build "$dir" | head -n 1)
        case "$wasm" in /*) ;; *) wasm="$PWD/$wasm" ;; esac
        if [ "$lang" = python ]; then
            export BENCH_ECHO_PY="$wasm"
        else
            export BENCH_ECHO_JS="$wasm"
        fi
    done
}
for bench in "$@"; do
    if [ "$bench" = scaleout ]; then
        cargo build --release -p workway-cli --bin workway
    fi
    if [ "$bench" = isolation ] && [ -z "${BENCH_ECHO_PY:-}${BENCH_ECHO_JS:-}" ]; then
        build_echo_plugins
    fi
    cargo bench -p workway-bench --features extism --bench "$bench"
done
