#!/usr/bin/env bash
# Set up everything and run the main job: create an example integration,
# build it to a component, check it, and run its action in the sandbox;
# then do the same with a first-party integration (Slack), offline against
# its replay file; then take Slack through review (publish, approve with a
# fresh review key) and run the approved version by name; then take Gmail
# and Notion through review too, install the three integrations, connect
# accounts on local stand-ins of the services, and run the three-step
# workflow examples/workflows/inbox-to-notion.yaml. Everything lives in
# target/quickstart (SQLite database, artifact folder).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "==> building the workway CLI"
cargo build --quiet -p workway-cli --bin workway
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
reviewed="$(awk '$1 == "fingerprint" {print $2}' target/quickstart/submission.txt)"
"$workway" review approve "$id" --reviewed "$reviewed" --as reviewer --note "hosts and scopes match the actions"
echo "==> workway plugin run slack send-message --example (the approved version, by name)"
"$workway" plugin run slack send-message --example --replay plugins/slack/replay.json

echo "==> workflows: Gmail -> Notion -> Slack against local stand-ins of the three services"
cargo build --quiet -p workway-mocks --bin mock-services
stand_ins="$PWD/target/quickstart/stand-ins"
rm -rf "$stand_ins"
"$PWD/target/debug/mock-services" "$stand_ins" > target/quickstart/stand-ins.txt &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -f "$stand_ins/workway.toml" ] && break; sleep 0.1; done
export WORKWAY_CONFIG="$stand_ins/workway.toml"
export WORKWAY_USER=quickstart
for name in gmail notion; do
    wasm="$("$workway" plugin build "plugins/$name" | sed -n 1p)"
    "$workway" plugin publish "$wasm" --manifest "plugins/$name/workway.toml" --as developer \
        > "target/quickstart/$name.txt"
    "$workway" review approve "$(awk 'NR == 1 {print $2}' "target/quickstart/$name.txt")" \
        --reviewed "$(awk '$1 == "fingerprint" {print $2}' "target/quickstart/$name.txt")" --as reviewer
done
for name in gmail notion slack; do "$workway" install "$name"; done
# A pasted token names the scopes it was granted (Notion's carry none): a
# connection is handed only to installations approved for all of them.
echo ya29.local-stand-in | "$workway" connect google --token - --account me@example.com \
    --scope https://www.googleapis.com/auth/gmail.modify
echo secret_local-stand-in | "$workway" connect notion --token - --account "Acme workspace"
echo xoxb-local-stand-in | "$workway" connect slack --token - --account "Acme" \
    --scope chat:write --scope channels:read --scope groups:read
"$workway" workflow create examples/workflows/inbox-to-notion.yaml
"$workway" run inbox-to-notion
"$workway" runs list
