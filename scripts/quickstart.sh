#!/usr/bin/env bash
# Set up everything and run the main job: create an example integration,
# build it to a component, check it, and run its action in the sandbox;
# then do the same with a first-party integration (Slack), offline against
# its replay file. Then the platform: start `workway serve` in the
# background (SQLite and local files, nothing configured but where the
# local stand-ins of Gmail, Notion and Slack are), make a developer, a
# reviewer and a user account with the operator's `workway admin`, and
# sign each in with `workway login`; through the API the developer
# publishes Slack, Gmail and Notion, the reviewer approves them (signed
# with the reviewer's own key), the approved Slack runs by name, and the
# user installs the three, connects accounts and runs the three-step
# workflow examples/workflows/inbox-to-notion.yaml. Everything lives in
# target/quickstart (SQLite database, artifact folder, credentials).
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

echo "==> the platform: local stand-ins of Gmail, Notion and Slack, then workway serve"
cargo build --quiet -p workway-mocks --bin mock-services
out="$PWD/target/quickstart"
stand_ins="$out/stand-ins"
rm -rf "$stand_ins"
"$PWD/target/debug/mock-services" "$stand_ins" > "$out/stand-ins.txt" &
pids=$!
trap 'kill $pids 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -f "$stand_ins/workway.toml" ] && break; sleep 0.1; done
# The server's own settings: its data folder, and a host configuration
# that sends the integrations' requests to the stand-ins.
export WORKWAY_DATA_DIR="$out/data"
export WORKWAY_CONFIG="$stand_ins/workway.toml"
rm -rf "$WORKWAY_DATA_DIR" "$out/serve.log"
"$workway" serve --listen 127.0.0.1:0 2> "$out/serve.log" &
pids="$pids $!"
server=""
for _ in $(seq 300); do
    server="$(sed -n 's/^workway serving on //p' "$out/serve.log")"
    [ -n "$server" ] && break
    sleep 0.1
done
[ -n "$server" ] || { cat "$out/serve.log"; echo "workway serve did not start" >&2; exit 1; }
echo "    serving on $server (log: $out/serve.log)"

echo "==> accounts: the operator makes a developer, a reviewer and a user; each signs in"
for who in developer reviewer user; do
    role=()
    [ "$who" != user ] && role=(--role "$who")
    echo "$who's quickstart password" \
        | "$workway" admin create-user "$who@example.com" --name "$who" "${role[@]}" --password-stdin
    echo "$who's quickstart password" \
        | WORKWAY_CREDENTIALS="$out/$who.json" "$workway" login --server "$server" \
            --email "$who@example.com" --password-stdin
done
# Run the workway command as one of the three accounts.
as() { local who="$1"; shift; WORKWAY_CREDENTIALS="$out/$who.json" "$workway" "$@"; }

echo "==> review: the developer publishes plugins/slack, the reviewer approves it"
as developer plugin publish "$slack" --manifest plugins/slack/workway.toml | tee "$out/slack.txt"
id="$(awk 'NR == 1 {print $2}' "$out/slack.txt")"
as reviewer review list
reviewed="$(awk '$1 == "fingerprint" {print $2}' "$out/slack.txt")"
as reviewer review approve "$id" --reviewed "$reviewed"
echo "==> workway plugin run slack send-message --example (the approved version, by name)"
"$workway" plugin run slack send-message --example --replay plugins/slack/replay.json

echo "==> workflows: Gmail -> Notion -> Slack against the local stand-ins"
for name in gmail notion; do
    wasm="$("$workway" plugin build "plugins/$name" | sed -n 1p)"
    as developer plugin publish "$wasm" --manifest "plugins/$name/workway.toml" > "$out/$name.txt"
    as reviewer review approve "$(awk 'NR == 1 {print $2}' "$out/$name.txt")" \
        --reviewed "$(awk '$1 == "fingerprint" {print $2}' "$out/$name.txt")"
done
for name in gmail notion slack; do as user install "$name" --yes; done
# A pasted token names the scopes it was granted (Notion's carry none): a
# connection is handed only to installations approved for all of them.
echo ya29.local-stand-in | as user connect google --token - --account me@example.com \
    --scope https://www.googleapis.com/auth/gmail.modify
echo secret_local-stand-in | as user connect notion --token - --account "Acme workspace"
echo xoxb-local-stand-in | as user connect slack --token - --account "Acme" \
    --scope chat:write --scope channels:read --scope groups:read
as user workflow create examples/workflows/inbox-to-notion.yaml
as user run inbox-to-notion
as user runs list
