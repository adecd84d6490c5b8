//! The Slack integration (`plugins/slack`) against the Slack Web API mock:
//! `send-message` (by id, by name resolved across `conversations.list`
//! pages, with Block Kit blocks, as a thread reply), `list-channels`
//! (cursor pagination), Slack's error model (HTTP 200 `ok: false` codes,
//! HTTP 429 with `Retry-After`) mapped onto the typed errors, and each
//! manifest example offline against `replay.json`.

use serde_json::{Value, json};
use workway_capabilities::Capabilities;
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::slack::{Channel, HOST, SlackMock};
use workway_mocks::{MockResponse, RecordedRequest};
use workway_report::IntegrationError;

use super::{Integration, World, integration_error, metadata};
use crate::support::{data, well_behaved};

const TOKEN: &str = "xoxb-17-workway-test-token";

/// One test's Slack: the component, the mock and capabilities reaching it.
struct Slack {
    integration: Integration,
    world: World,
    mock: SlackMock,
    caps: Capabilities,
}

async fn slack() -> Slack {
    let integration = Integration::load("slack").await;
    let world = World::new();
    let mock = SlackMock::start(&world.ca, AcceptedTokens::exactly(TOKEN)).await;
    let caps = world.capabilities(&integration, &[(HOST, mock.port())], &[("slack", TOKEN)]);
    Slack {
        integration,
        world,
        mock,
        caps,
    }
}

impl Slack {
    async fn run(&self, action: &str, input: Value) -> workway_report::ExecutionReport {
        self.integration.run(&self.caps, action, input).await
    }
}

/// `n` public channels the bot is in, `C1000000`, `C1000001`, ... named
/// `team-0`, `team-1`, ...
fn filler(n: usize) -> Vec<Channel> {
    (0..n)
        .map(|i| Channel::public(&format!("C{:07}", 1_000_000 + i), &format!("team-{i}")))
        .collect()
}

/// What every Web API call the plugin makes must carry.
fn assert_authorized(req: &RecordedRequest) {
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the host attaches the bot token"
    );
}

/// A `chat.postMessage` call as Slack wants it: POST, JSON with the charset
/// named; its body.
fn post_body(req: &RecordedRequest) -> Value {
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/api/chat.postMessage");
    assert_eq!(req.query, None);
    assert_authorized(req);
    assert_eq!(
        req.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    req.json().expect("a JSON body")
}

/// A `conversations.list` call: GET with the query only; its query pairs.
fn list_query(req: &RecordedRequest) -> Vec<(String, String)> {
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/api/conversations.list");
    assert!(req.body.is_empty());
    assert_authorized(req);
    req.query_pairs()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The name of an error's variant, for tables.
fn kind(error: &IntegrationError) -> &'static str {
    match error {
        IntegrationError::AuthExpired { .. } => "auth-expired",
        IntegrationError::RateLimited { .. } => "rate-limited",
        IntegrationError::InvalidInput { .. } => "invalid-input",
        IntegrationError::NotFound { .. } => "not-found",
        IntegrationError::PermissionDenied { .. } => "permission-denied",
        IntegrationError::Upstream { .. } => "upstream",
        IntegrationError::Network { .. } => "network",
        IntegrationError::Internal { .. } => "internal",
    }
}

fn message(error: &IntegrationError) -> &str {
    match error {
        IntegrationError::AuthExpired { message }
        | IntegrationError::RateLimited { message, .. }
        | IntegrationError::InvalidInput { message }
        | IntegrationError::NotFound { message }
        | IntegrationError::PermissionDenied { message }
        | IntegrationError::Upstream { message, .. }
        | IntegrationError::Network { message }
        | IntegrationError::Internal { message } => message,
    }
}

#[tokio::test]
async fn send_message_by_id_posts_json_with_the_charset() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));

    let report = s
        .run(
            "send-message",
            json!({ "channel": "C0123ABCD", "text": "Deploy finished: v1.4.2 is live." }),
        )
        .await;

    assert_eq!(
        data(&report),
        &json!({
            "channel": "C0123ABCD",
            "ts": "1712345678.000100",
            "text": "Deploy finished: v1.4.2 is live.",
        })
    );
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 1, "an id needs no lookup");
    assert_eq!(
        post_body(&requests[0]),
        json!({ "channel": "C0123ABCD", "text": "Deploy finished: v1.4.2 is live." })
    );
    let stored = s.mock.messages_in("C0123ABCD");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].ts, "1712345678.000100");
    assert_eq!(
        stored[0].text.as_deref(),
        Some("Deploy finished: v1.4.2 is live.")
    );
    assert_eq!(stored[0].blocks, None);
    assert_eq!(stored[0].thread_ts, None);
}

#[tokio::test]
async fn send_message_by_name_follows_the_cursors_of_conversations_list() {
    let s = slack().await;
    // 230 channels before it: the name is on the second page of 200.
    s.mock.add_channels(filler(230));
    s.mock
        .add_channel(Channel::private("G0DEPLOYS", "deploys").members(7));
    s.mock.add_channels(filler(300).into_iter().skip(230));

    let report = s
        .run(
            "send-message",
            json!({ "channel": "#deploys", "text": "Shipped" }),
        )
        .await;

    assert_eq!(data(&report)["channel"], "G0DEPLOYS");
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 3, "two pages, then the post");
    let first = pairs(&[
        ("types", "public_channel,private_channel"),
        ("exclude_archived", "false"),
        ("limit", "200"),
    ]);
    assert_eq!(list_query(&requests[0]), first);
    let mut second = first.clone();
    second.push(("cursor".into(), SlackMock::cursor_for("C1000200")));
    assert_eq!(list_query(&requests[1]), second);
    assert!(
        requests[1]
            .query
            .as_deref()
            .is_some_and(|q| q.contains("types=public_channel%2Cprivate_channel")),
        "the query is percent-encoded: {:?}",
        requests[1].query
    );
    assert_eq!(
        post_body(&requests[2]),
        json!({ "channel": "G0DEPLOYS", "text": "Shipped" })
    );
    assert_eq!(s.mock.messages_in("G0DEPLOYS").len(), 1);

    // A bare name resolves the same way (Slack names are lower-case).
    let report = s
        .run(
            "send-message",
            json!({ "channel": "Deploys", "text": "Again" }),
        )
        .await;
    assert_eq!(data(&report)["channel"], "G0DEPLOYS");
    assert_eq!(s.mock.messages_in("G0DEPLOYS").len(), 2);
}

#[tokio::test]
async fn an_unknown_channel_name_is_not_found_after_every_page() {
    let s = slack().await;
    s.mock.add_channels(filler(250));

    let report = s
        .run("send-message", json!({ "channel": "#nope", "text": "hi" }))
        .await;

    let error = integration_error(&report);
    assert_eq!(kind(error), "not-found", "{error:?}");
    assert!(message(error).contains("#nope"), "{error:?}");
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 2, "both pages read, nothing posted");
    assert!(requests.iter().all(|r| r.path == "/api/conversations.list"));
    assert!(s.mock.messages().is_empty());
}

#[tokio::test]
async fn blocks_are_passed_through_exactly() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    let blocks = json!([
        { "type": "header", "text": { "type": "plain_text", "text": "Deploy v1.4.2", "emoji": true } },
        { "type": "section", "block_id": "summary",
          "text": { "type": "mrkdwn", "text": "*Status:* :white_check_mark: live\n<https://ci.example/42|build 42>" },
          "fields": [ { "type": "mrkdwn", "text": "*Env*\nprod" }, { "type": "mrkdwn", "text": "*By*\n<@U0ADMIN>" } ] },
        { "type": "divider" },
        { "type": "actions", "elements": [
            { "type": "button", "action_id": "rollback", "style": "danger",
              "text": { "type": "plain_text", "text": "Roll back" }, "value": "v1.4.1" } ] },
        { "type": "context", "elements": [ { "type": "image", "image_url": "https://ci.example/logo.png", "alt_text": "CI" } ] }
    ]);

    let report = s
        .run(
            "send-message",
            json!({ "channel": "C0123ABCD", "text": "Deploy v1.4.2 is live", "blocks": blocks }),
        )
        .await;

    assert_eq!(data(&report)["text"], "Deploy v1.4.2 is live");
    let requests = s.mock.requests();
    assert_eq!(
        post_body(&requests[0]),
        json!({ "channel": "C0123ABCD", "text": "Deploy v1.4.2 is live", "blocks": blocks })
    );
    assert_eq!(s.mock.messages_in("C0123ABCD")[0].blocks, Some(blocks));
}

#[tokio::test]
async fn a_thread_reply_names_its_parent() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    let parent = s
        .run(
            "send-message",
            json!({ "channel": "C0123ABCD", "text": "Deploying v1.4.2" }),
        )
        .await;
    let parent_ts = data(&parent)["ts"].as_str().expect("ts").to_string();
    assert!(
        data(&parent).get("thread_ts").is_none(),
        "{:?}",
        data(&parent)
    );

    let reply = s
        .run(
            "send-message",
            json!({ "channel": "C0123ABCD", "text": "Done, see https://ci.example/42",
                    "thread_ts": parent_ts, "unfurl_links": false }),
        )
        .await;

    assert_eq!(
        data(&reply),
        &json!({
            "channel": "C0123ABCD",
            "ts": "1712345678.000200",
            "text": "Done, see https://ci.example/42",
            "thread_ts": parent_ts,
        })
    );
    let requests = s.mock.requests();
    assert_eq!(
        post_body(&requests[1]),
        json!({ "channel": "C0123ABCD", "text": "Done, see https://ci.example/42",
                "thread_ts": parent_ts, "unfurl_links": false })
    );
    let stored = s.mock.messages_in("C0123ABCD");
    assert_eq!(stored[1].thread_ts.as_deref(), Some(parent_ts.as_str()));
    assert_eq!(stored[1].unfurl_links, Some(false));
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    let too_many: Vec<Value> = (0..51)
        .map(|i| json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("{i}") } }))
        .collect();
    let cases = [
        (
            json!({ "channel": "C0123ABCD", "text": "  " }),
            "text is empty",
        ),
        (
            json!({ "channel": "C0123ABCD", "text": "hi", "blocks": too_many }),
            "at most 50",
        ),
        (
            json!({ "channel": "C0123ABCD", "text": "hi", "thread_ts": "yesterday" }),
            "thread_ts",
        ),
        (json!({ "channel": "#", "text": "hi" }), "channel is empty"),
    ];
    for (input, expected) in cases {
        let report = s.run("send-message", input.clone()).await;
        let error = integration_error(&report);
        assert_eq!(kind(error), "invalid-input", "{input}: {error:?}");
        assert!(message(error).contains(expected), "{input}: {error:?}");
    }
    assert!(s.mock.requests().is_empty());
}

#[tokio::test]
async fn list_channels_follows_cursors_across_pages() {
    let s = slack().await;
    s.mock.add_channel(
        Channel::public("C0GENERAL", "general")
            .members(42)
            .topic("Company-wide announcements")
            .purpose("Everyone")
            .created(1_449_252_889),
    );
    s.mock
        .add_channel(Channel::public("C0ARCHIVE", "old-stuff").archived());
    s.mock
        .add_channel(Channel::public("C0LURKING", "random").without_bot());
    s.mock
        .add_channel(Channel::private("G0SECRETS", "secret").without_bot());
    s.mock.add_channels(filler(449));

    let report = s
        .run(
            "list-channels",
            json!({ "types": ["public_channel"], "max_results": 1000 }),
        )
        .await;

    let channels = data(&report)["channels"].as_array().expect("channels");
    assert_eq!(
        channels.len(),
        451,
        "public, not archived, members or not; no private ones"
    );
    assert_eq!(
        channels[0],
        json!({
            "id": "C0GENERAL", "name": "general", "is_private": false, "is_archived": false,
            "is_member": true, "num_members": 42, "topic": "Company-wide announcements",
            "purpose": "Everyone", "created": 1_449_252_889,
        })
    );
    assert_eq!(channels[1]["id"], "C0LURKING");
    assert_eq!(channels[1]["is_member"], false);
    assert_eq!(channels[450]["id"], "C1000448");
    assert!(metadata(&report).is_empty(), "all read: no next cursor");

    let requests = s.mock.requests();
    assert_eq!(requests.len(), 3, "pages of 200, 200 and 51");
    let page = |cursor: Option<String>| {
        let mut query = pairs(&[
            ("types", "public_channel"),
            ("exclude_archived", "true"),
            ("limit", "200"),
        ]);
        if let Some(cursor) = cursor {
            query.push(("cursor".into(), cursor));
        }
        query
    };
    assert_eq!(list_query(&requests[0]), page(None));
    assert_eq!(
        list_query(&requests[1]),
        page(Some(SlackMock::cursor_for("C1000198")))
    );
    assert_eq!(
        list_query(&requests[2]),
        page(Some(SlackMock::cursor_for("C1000398")))
    );
}

#[tokio::test]
async fn list_channels_stops_at_max_results_and_hands_back_the_cursor() {
    let s = slack().await;
    s.mock.add_channels(filler(600));

    let report = s.run("list-channels", json!({ "max_results": 250 })).await;

    let channels = data(&report)["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 250);
    assert_eq!(channels[249]["id"], "C1000249");
    assert_eq!(
        metadata(&report),
        &[("next-cursor".to_string(), SlackMock::cursor_for("C1000250"))]
    );
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        list_query(&requests[1]),
        pairs(&[
            ("types", "public_channel"),
            ("exclude_archived", "true"),
            ("limit", "50"),
            ("cursor", &SlackMock::cursor_for("C1000200")),
        ])
    );

    // The defaults: public channels, archived left out, 200 at most.
    let report = s.run("list-channels", json!({})).await;
    assert_eq!(
        data(&report)["channels"].as_array().map(Vec::len),
        Some(200)
    );
    let last = s.mock.requests().pop().expect("a request");
    assert_eq!(
        list_query(&last),
        pairs(&[
            ("types", "public_channel"),
            ("exclude_archived", "true"),
            ("limit", "200"),
        ])
    );
}

#[tokio::test]
async fn list_channels_of_private_and_direct_kinds() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0GENERAL", "general"));
    s.mock
        .add_channel(Channel::private("G0DEPLOYS", "deploys").purpose("Releases"));
    s.mock
        .add_channel(Channel::private("G0SECRETS", "secret").without_bot());
    s.mock
        .add_channel(Channel::private("G0ARCHIVE", "archive").archived());
    s.mock
        .add_channel(Channel::mpim("G0MPIM001", "mpdm-ana--bo--workway-1"));
    s.mock
        .add_channel(Channel::im("D0ANA0001", "U0ANA").created(1_700_000_000));

    let report = s
        .run(
            "list-channels",
            json!({ "types": ["private_channel", "mpim", "im"], "exclude_archived": false }),
        )
        .await;

    let channels = data(&report)["channels"].as_array().expect("channels");
    let ids: Vec<&str> = channels.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, ["G0DEPLOYS", "G0ARCHIVE", "G0MPIM001", "D0ANA0001"]);
    assert_eq!(channels[0]["purpose"], "Releases");
    assert_eq!(channels[0]["is_private"], true);
    assert_eq!(channels[1]["is_archived"], true);
    assert_eq!(
        channels[3],
        json!({
            "id": "D0ANA0001", "name": null, "is_private": true, "is_archived": false,
            "is_member": true, "num_members": null, "topic": "", "purpose": "",
            "created": 1_700_000_000,
        })
    );
    assert_eq!(
        list_query(&s.mock.requests()[0]),
        pairs(&[
            ("types", "private_channel,mpim,im"),
            ("exclude_archived", "false"),
            ("limit", "200"),
        ])
    );
}

#[tokio::test]
async fn slack_error_codes_map_to_typed_errors() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    let table = [
        ("invalid_auth", "auth-expired"),
        ("not_authed", "auth-expired"),
        ("token_revoked", "auth-expired"),
        ("token_expired", "auth-expired"),
        ("account_inactive", "auth-expired"),
        ("not_in_channel", "permission-denied"),
        ("is_archived", "permission-denied"),
        ("restricted_action", "permission-denied"),
        ("ekm_access_denied", "permission-denied"),
        ("access_denied", "permission-denied"),
        ("channel_not_found", "not-found"),
        ("thread_not_found", "not-found"),
        ("message_not_found", "not-found"),
        ("ratelimited", "rate-limited"),
        ("invalid_blocks", "invalid-input"),
        ("invalid_arguments", "invalid-input"),
        ("msg_too_long", "invalid-input"),
        ("no_text", "invalid-input"),
        ("too_many_attachments", "invalid-input"),
        ("invalid_cursor", "invalid-input"),
        ("fatal_error", "upstream"),
        ("internal_error", "upstream"),
        ("service_unavailable", "upstream"),
        ("request_timeout", "upstream"),
        ("team_added_to_org", "upstream"),
    ];
    for (code, expected) in table {
        s.mock.faults().push(SlackMock::error(code));
        let report = s
            .run(
                "send-message",
                json!({ "channel": "C0123ABCD", "text": "hi" }),
            )
            .await;
        let error = integration_error(&report);
        assert_eq!(kind(error), expected, "{code}: {error:?}");
        assert!(message(error).contains(code), "{code}: {error:?}");
    }
    assert_eq!(s.mock.faults().pending(), 0);
    assert!(s.mock.messages().is_empty());

    // Slack's own failures are retried like 5xx; an unknown code is not.
    let upstream_status = |code: &'static str| {
        let s = &s;
        async move {
            s.mock.faults().push(SlackMock::error(code));
            let report = s
                .run(
                    "send-message",
                    json!({ "channel": "C0123ABCD", "text": "hi" }),
                )
                .await;
            match integration_error(&report) {
                IntegrationError::Upstream { status, .. } => *status,
                other => panic!("{code}: {other:?}"),
            }
        }
    };
    assert_eq!(upstream_status("internal_error").await, 500);
    assert_eq!(upstream_status("service_unavailable").await, 503);
    assert_eq!(upstream_status("request_timeout").await, 504);
    assert_eq!(upstream_status("team_added_to_org").await, 200);
}

#[tokio::test]
async fn missing_scope_names_the_scope_to_grant() {
    let s = slack().await;
    s.mock.faults().push(SlackMock::missing_scope(
        "groups:read",
        "chat:write,channels:read",
    ));

    let report = s
        .run("list-channels", json!({ "types": ["private_channel"] }))
        .await;

    let error = integration_error(&report);
    assert_eq!(kind(error), "permission-denied", "{error:?}");
    assert!(message(error).contains("`groups:read`"), "{error:?}");
    assert!(
        message(error).contains("chat:write,channels:read"),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_mocks_own_refusals_map_to_typed_errors() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    s.mock
        .add_channel(Channel::public("C0LURKING", "random").without_bot());
    s.mock
        .add_channel(Channel::public("C0ARCHIVE", "old").archived());
    s.mock
        .add_channel(Channel::private("G0SECRETS", "secret").without_bot());
    let post = |channel: &str| json!({ "channel": channel, "text": "hi" });
    let cases = [
        (post("C0NOWHERE1"), "not-found", "channel_not_found"),
        (post("G0SECRETS"), "not-found", "channel_not_found"),
        (post("C0LURKING"), "permission-denied", "not_in_channel"),
        (post("C0ARCHIVE"), "permission-denied", "is_archived"),
        (
            json!({ "channel": "C0123ABCD", "text": "hi", "thread_ts": "1600000000.000100" }),
            "not-found",
            "thread_not_found",
        ),
        (
            json!({ "channel": "C0123ABCD", "text": "hi",
                    "blocks": [ { "type": "divider" }, { "text": { "type": "mrkdwn", "text": "no type" } } ] }),
            "invalid-input",
            "[ERROR] missing required field: type [json-pointer:/blocks/1]",
        ),
    ];
    for (input, expected, words) in cases {
        let report = s.run("send-message", input.clone()).await;
        let error = integration_error(&report);
        assert_eq!(kind(error), expected, "{input}: {error:?}");
        assert!(message(error).contains(words), "{input}: {error:?}");
    }
    assert!(s.mock.messages().is_empty());

    // A token Slack does not know: `invalid_auth`, with HTTP 200.
    let caps = s.world.capabilities(
        &s.integration,
        &[(HOST, s.mock.port())],
        &[("slack", "xoxb-revoked")],
    );
    let report = s
        .integration
        .run(&caps, "send-message", post("C0123ABCD"))
        .await;
    let error = integration_error(&report);
    assert_eq!(kind(error), "auth-expired", "{error:?}");
    assert!(message(error).contains("invalid_auth"), "{error:?}");
}

#[tokio::test]
async fn invalid_arguments_carry_slacks_messages() {
    let s = slack().await;
    s.mock.faults().push(SlackMock::error_with_messages(
        "invalid_arguments",
        &["[ERROR] must be more than 0 characters [json-pointer:/text]"],
    ));
    let report = s
        .run(
            "send-message",
            json!({ "channel": "C0123ABCD", "text": "hi" }),
        )
        .await;
    let error = integration_error(&report);
    assert_eq!(kind(error), "invalid-input", "{error:?}");
    assert!(
        message(error).contains("invalid_arguments: [ERROR] must be more than 0 characters"),
        "{error:?}"
    );
}

#[tokio::test]
async fn http_429_waits_for_retry_after() {
    let s = slack().await;
    s.mock.add_channels(filler(3));
    s.mock
        .faults()
        .push_for("/api/conversations.list", SlackMock::rate_limited(30));

    let report = s.run("list-channels", json!({})).await;
    match integration_error(&report) {
        IntegrationError::RateLimited {
            retry_after_ms,
            message,
        } => {
            assert_eq!(*retry_after_ms, Some(30_000));
            assert!(message.contains("ratelimited"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // `ratelimited` in an HTTP 200 body: rate limited, no delay given.
    s.mock.faults().push(SlackMock::error("ratelimited"));
    let report = s.run("list-channels", json!({})).await;
    assert_eq!(
        integration_error(&report),
        &IntegrationError::RateLimited {
            retry_after_ms: None,
            message: "conversations.list: ratelimited".into()
        }
    );

    // Then it works again.
    let report = s.run("list-channels", json!({})).await;
    assert_eq!(data(&report)["channels"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn http_statuses_map_through_from_status() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    let cases = [
        (SlackMock::server_error(503), "upstream", Some(503)),
        (SlackMock::server_error(500), "upstream", Some(500)),
        (
            MockResponse::json(401, json!({ "ok": false, "error": "invalid_auth" })),
            "auth-expired",
            None,
        ),
        (
            MockResponse::text(403, "Forbidden"),
            "permission-denied",
            None,
        ),
        (MockResponse::text(404, "Not Found"), "not-found", None),
        (
            MockResponse::text(400, "Bad Request"),
            "invalid-input",
            None,
        ),
    ];
    for (response, expected, status) in cases {
        let code = response.status;
        s.mock.faults().push(response);
        let report = s
            .run(
                "send-message",
                json!({ "channel": "C0123ABCD", "text": "hi" }),
            )
            .await;
        let error = integration_error(&report);
        assert_eq!(kind(error), expected, "HTTP {code}: {error:?}");
        if let (Some(want), IntegrationError::Upstream { status, .. }) = (status, error) {
            assert_eq!(*status, want);
        }
        assert!(
            message(error).contains(&code.to_string()),
            "HTTP {code}: {error:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_slack_is_a_network_error() {
    let integration = Integration::load("slack").await;
    let world = World::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let caps = world.capabilities(&integration, &[(HOST, port)], &[("slack", TOKEN)]);
    for (action, input) in [
        (
            "send-message",
            json!({ "channel": "C0123ABCD", "text": "hi" }),
        ),
        ("list-channels", json!({})),
    ] {
        let report = integration.run(&caps, action, input).await;
        let error = integration_error(&report);
        assert_eq!(kind(error), "network", "{action}: {error:?}");
    }
}

/// The mock refuses what Slack refuses, seen through the well-behaved
/// plugin's raw `fetch` (the Slack plugin always sends the right thing).
#[tokio::test]
async fn the_mock_checks_content_types_and_arguments_like_slack() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    let component = well_behaved().await;
    let fetch = |input: Value| {
        let caps = s.caps.clone();
        let component = component.clone();
        async move {
            let report =
                crate::support::run(&component, "fetch", &input.to_string(), None, caps).await;
            let body = data(&report)["body"].as_str().expect("body").to_string();
            serde_json::from_str::<Value>(&body).expect("JSON")
        }
    };
    let url = "https://slack.com/api/chat.postMessage";

    // JSON without a charset: accepted, with Slack's warning.
    let answer = fetch(json!({ "url": url, "method": "POST", "connection": "slack",
                               "headers": [["content-type", "application/json"]],
                               "json": { "channel": "C0123ABCD", "text": "hi" } }))
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["warning"], "missing_charset");
    assert_eq!(
        answer["response_metadata"]["warnings"],
        json!(["missing_charset"])
    );
    assert_eq!(answer["message"]["bot_id"], "B0WORKWAY");

    // No token at all.
    let answer = fetch(json!({ "url": url, "method": "POST",
                               "json": { "channel": "C0123ABCD", "text": "hi" } }))
    .await;
    assert_eq!(answer, json!({ "ok": false, "error": "not_authed" }));

    // Neither text nor blocks.
    let answer = fetch(json!({ "url": url, "method": "POST", "connection": "slack",
                               "json": { "channel": "C0123ABCD" } }))
    .await;
    assert_eq!(answer, json!({ "ok": false, "error": "no_text" }));

    // A body that is not a JSON object.
    let answer = fetch(json!({ "url": url, "method": "POST", "connection": "slack",
                               "json": ["C0123ABCD", "hi"] }))
    .await;
    assert_eq!(answer, json!({ "ok": false, "error": "json_not_object" }));

    // Unknown conversation types and cursors.
    let answer = fetch(
        json!({ "url": "https://slack.com/api/conversations.list?types=channels",
                               "connection": "slack" }),
    )
    .await;
    assert_eq!(answer, json!({ "ok": false, "error": "invalid_types" }));
    let answer = fetch(
        json!({ "url": "https://slack.com/api/conversations.list?cursor=bm9wZQ%3D%3D",
                               "connection": "slack" }),
    )
    .await;
    assert_eq!(answer, json!({ "ok": false, "error": "invalid_cursor" }));

    assert_eq!(s.mock.messages().len(), 1);
}

#[tokio::test]
async fn every_manifest_example_runs_against_the_replay_file() {
    let integration = Integration::load("slack").await;
    let caps = integration.replay();
    for action in ["send-message", "list-channels"] {
        let report = integration
            .run(&caps, action, integration.example(action))
            .await;
        let output = data(&report);
        assert!(output.is_object(), "{action}: {output}");
    }
    let report = integration
        .run(&caps, "send-message", integration.example("send-message"))
        .await;
    assert_eq!(data(&report)["ts"], "1712345678.000100");
}

#[tokio::test]
async fn fuel_of_each_action_on_the_mock() {
    let s = slack().await;
    s.mock.add_channel(Channel::public("C0123ABCD", "general"));
    s.mock.add_channels(filler(20));
    for (action, input) in [
        (
            "send-message",
            json!({ "channel": "C0123ABCD", "text": "Deploy finished" }),
        ),
        ("list-channels", json!({})),
    ] {
        let report = s.run(action, input).await;
        data(&report);
        println!(
            "figure {}.{action} fuel={}",
            s.integration.name, report.fuel_used
        );
    }
}
