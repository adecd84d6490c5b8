#!/usr/bin/env bash
# Run the whole test suite: unit tests, the store on SQLite and PostgreSQL,
# the capability brokers against local mock servers, the runtime against
# real components (including the adversarial ones), the first-party
# integrations against their service mocks, the SDK's macro errors, the
# CLI (Python and JavaScript integrations included), and the web UI in a
# headless Chromium. (The benchmark crate has no tests; it runs with
# scripts/bench.sh.) The PostgreSQL half of the store tests needs a server
# at 127.0.0.1:5432. In CI (CI=true) or with WORKWAY_REQUIRE_POSTGRES=1 it
# is installed and started here and its absence fails the run; a developer
# without PostgreSQL gets the SQLite half only, and a warning before and
# after the tests saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${CI:-}" = true ] || [ "${WORKWAY_REQUIRE_POSTGRES:-}" = 1 ]; then
    scripts/start-postgres.sh --install
    export WORKWAY_REQUIRE_POSTGRES=1
elif ! scripts/start-postgres.sh; then
    warn() {
        cat >&2 <<'WARNING'

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! PostgreSQL is NOT available: every store test runs on SQLite ONLY.    !!
!! A green run here does not show the PostgreSQL store works; CI fails   !!
!! without it. Fix: run scripts/start-postgres.sh --install as root.     !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

WARNING
    }
    warn
    trap warn EXIT
fi
# The web UI's browser tests drive Debian's chromium through chromedriver.
# In CI their absence fails the run; elsewhere the tests say they skipped.
if [ "${CI:-}" = true ] || [ "${WORKWAY_REQUIRE_BROWSER:-}" = 1 ]; then
    scripts/install-browser.sh
    export WORKWAY_REQUIRE_BROWSER=1
elif ! scripts/install-browser.sh; then
    echo "!! chromium/chromedriver missing: the browser tests will skip (run scripts/install-browser.sh as root)" >&2
fi
# Python and JavaScript integrations build with componentize-py and
# componentize-js, which `workway plugin build` installs into
# target/tmp/workway-tools (the CLI's tests share it) and which need
# python3 with venv, npm and node. In CI their absence fails the run;
# elsewhere the tests say they skipped.
if [ "${CI:-}" = true ] || [ "${WORKWAY_REQUIRE_TOOLCHAINS:-}" = 1 ]; then
    scripts/install-toolchains.sh
    export WORKWAY_REQUIRE_TOOLCHAINS=1
elif ! scripts/install-toolchains.sh; then
    echo "!! python3-venv or npm missing: the Python and JavaScript integration tests will skip (run scripts/install-toolchains.sh as root)" >&2
fi
cargo test --workspace --exclude workway-bench "$@"
# The first-party integrations' own unit tests (MIME encoding, error
# mapping helpers) run on the host target, in their own workspace.
(cd plugins && cargo test --target-dir ../target/plugins-host)
