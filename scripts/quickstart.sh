#!/usr/bin/env bash
# Set up everything and run the main job: create an example integration,
# build it to a component, check it, and run its action in the sandbox;
# then do the same with a first-party integration (Slack), offline against
# its replay file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "==> building the workway CLI"
cargo build --quiet -p workway-host --bin workway
workway="$PWD/target/debug/workway"

example="$PWD/target/quickstart/example"
rm -rf "$example"
echo "==> workway plugin new $example"
"$workway" plugin new "$example" --name example
echo "==> workway plugin build"
wasm="$("$workway" plugin build "$example" | sed -n 1p)"
echo "==> workway plugin check $wasm"
"$workway" plugin check "$wasm"
echo "==> workway plugin run $wasm echo"
"$workway" plugin run "$wasm" echo --input '{"message": "hello from workway", "shout": true}'

echo "==> workway plugin build plugins/slack (a first-party integration)"
slack="$("$workway" plugin build plugins/slack | sed -n 1p)"
"$workway" plugin check "$slack" --manifest plugins/slack/workway.toml
echo "==> workway plugin run $slack send-message --example (offline, from plugins/slack/replay.json)"
"$workway" plugin run "$slack" send-message --example \
    --manifest plugins/slack/workway.toml --replay plugins/slack/replay.json
