#!/usr/bin/env bash
# The layers' boundaries, checked: each crate's normal (non-dev)
# dependency tree must not reach what its layer must not depend on, and no
# crate has an import circle between its modules. docs/ARCHITECTURE.md has
# the table this enforces; change both together.
set -euo pipefail
cd "$(dirname "$0")/.."

# crate | folder | crates its dependency tree must not contain
rules=(
    "workway-registry|registry|wasmtime sqlx hyper axum clap"
    "workway-store|store|wasmtime hyper axum clap"
    "workway-capabilities|host/capabilities|wasmtime sqlx hyper axum clap"
    "workway-report|host/report|wasmtime sqlx hyper axum clap"
    "workway-runtime|host/runtime|sqlx hyper axum clap"
    "workway-egress|host/egress|wasmtime sqlx axum clap"
    "workway-vault|host/vault|wasmtime axum clap"
    "workway-workflow|host/workflow|wasmtime sqlx hyper axum clap"
    "workway-engine|host/engine|axum clap"
    "workway-server|host/server|clap"
    "workway-cli|host/cli|"
)

failed=0
for rule in "${rules[@]}"; do
    IFS='|' read -r crate dir forbidden <<<"$rule"
    tree=$(cargo tree --quiet -p "$crate" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
    for name in $forbidden; do
        if grep -qx "$name" <<<"$tree"; then
            echo "boundary broken: $crate depends on $name (through:"
            cargo tree --quiet -p "$crate" -e normal -i "$name" | sed 's/^/    /'
            echo ")"
            failed=1
        fi
    done
    if ! python3 scripts/boundaries/module_cycles.py "$dir/src"; then
        echo "import circle between modules of $crate (above)"
        failed=1
    fi
done
if [ "$failed" = 1 ]; then
    echo "see docs/ARCHITECTURE.md: what each layer may depend on" >&2
    exit 1
fi
echo "boundaries hold: ${#rules[@]} crates, no forbidden dependency, no import circle"
