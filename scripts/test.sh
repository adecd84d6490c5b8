#!/usr/bin/env bash
# Run the whole test suite: unit tests, the store on SQLite and PostgreSQL,
# the capability brokers against local mock servers, the runtime against
# real components (including the adversarial ones), the first-party
# integrations against their service mocks, the SDK's macro errors and the
# CLI. (The benchmark crate has no tests; it runs with
# scripts/bench.sh.) The PostgreSQL half of the store tests runs when a
# server answers at 127.0.0.1:5432 (started here if installed);
# WORKWAY_REQUIRE_POSTGRES=1 makes its absence a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/start-postgres.sh || true
cargo test --workspace --exclude workway-bench "$@"
# The first-party integrations' own unit tests (MIME encoding, error
# mapping helpers) run on the host target, in their own workspace.
(cd plugins && cargo test --target-dir ../target/plugins-host)
