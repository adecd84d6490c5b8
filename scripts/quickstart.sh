#!/usr/bin/env bash
# Set up everything and run the main job: create an example integration,
# build it to a component, check it, and run its action in the sandbox;
# then do the same with a first-party integration (Slack), offline against
# its replay file; then take Slack through review (publish, approve with a
# fresh review key) and run the approved version by name. Everything lives
# in target/quickstart (SQLite database, artifact folder).
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

echo "==> review: publish plugins/slack, approve it, run the approved version by name"
export WORKWAY_DATA_DIR="$PWD/target/quickstart/data"
rm -rf "$WORKWAY_DATA_DIR"
WORKWAY_REVIEW_KEY="$("$workway" review new-key --id quickstart)"
export WORKWAY_REVIEW_KEY
export WORKWAY_REVIEWERS=reviewer
"$workway" plugin publish "$slack" --manifest plugins/slack/workway.toml --as developer \
    | tee target/quickstart/submission.txt
id="$(awk 'NR == 1 {print $2}' target/quickstart/submission.txt)"
"$workway" review list
"$workway" review approve "$id" --as reviewer --note "hosts and scopes match the actions"
echo "==> workway plugin run slack send-message --example (the approved version, by name)"
"$workway" plugin run slack send-message --example --replay plugins/slack/replay.json
