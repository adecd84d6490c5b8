#!/usr/bin/env bash
# Start a seeded server (SQLite, the first-party integrations approved, a
# reviewer with a token, a user) and write a PNG of every page of the web
# UI at 1440 and 375 px wide into target/screenshots/ (or
# $WORKWAY_SCREENSHOTS), driving Debian's Chromium through ChromeDriver.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/install-browser.sh
export WORKWAY_REQUIRE_BROWSER=1
cargo test -p workway-tests --test e2e -- --ignored --exact \
    web::screenshots::screenshots_of_every_page --nocapture
echo "screenshots in ${WORKWAY_SCREENSHOTS:-target/screenshots}/"
