//! The gmail integration against its mock: every action in the sandbox,
//! through the production egress broker, with the Google token attached by
//! the host; what the mock received; Google's error shapes mapped onto the
//! typed errors; the manifest examples offline against `replay.json`.

use serde_json::{Value, json};
use workway_capabilities::Capabilities;
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::gmail::{GmailMock, HOST, SeedMessage};
use workway_mocks::{MockResponse, RecordedRequest};
use workway_report::{ExecutionReport, HostError, IntegrationError};

use super::{Integration, World, integration_error, metadata};
use crate::support::{data, host_error};

const TOKEN: &str = "ya29.a0-gmail-test-token";
const ME: &str = "me@example.com";
const API: &str = "/gmail/v1/users/me";

/// One test's world: the integration, a CA, the Gmail mock and the
/// capabilities that reach it with [`TOKEN`].
struct Setup {
    gmail: Integration,
    mock: GmailMock,
    caps: Capabilities,
    _world: World,
}

async fn setup() -> Setup {
    let gmail = Integration::load("gmail").await;
    let world = World::new();
    let mock = GmailMock::start(&world.ca, AcceptedTokens::exactly(TOKEN)).await;
    let caps = world.capabilities(&gmail, &[(HOST, mock.port())], &[("google", TOKEN)]);
    Setup {
        gmail,
        mock,
        caps,
        _world: world,
    }
}

impl Setup {
    async fn run(&self, action: &str, input: Value) -> ExecutionReport {
        self.gmail.run(&self.caps, action, input).await
    }
}

/// The request was sent by the host with the connection's token.
fn assert_authorized(req: &RecordedRequest) {
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "{} {}",
        req.method,
        req.path
    );
}

fn pairs(req: &RecordedRequest) -> Vec<(String, String)> {
    req.query_pairs()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------
// fetch-email

#[tokio::test]
async fn fetch_email_decodes_headers_addresses_and_bodies() {
    let s = setup().await;
    let plain = s.mock.add_message(SeedMessage::new(
        "bob@example.com (Bob Smith)",
        &[ME],
        "Plain",
        "it's plain & simple\r\nsecond line\r\n",
    ));
    let alternative = s.mock.add_message(
        SeedMessage::new(
            r#""Doe, Jane" <jane@example.com>"#,
            &[ME, "Bob Smith <bob@example.com>"],
            "Café ☕ réunion",
            "Bonjour,\r\n\r\nla réunion est à 10h.\r\n",
        )
        .html("<p>Bonjour,</p><p>la réunion est à <b>10h</b>.</p>")
        .encoded_subject()
        .cc(&["=?UTF-8?Q?Ren=C3=A9_Lef=C3=A8vre?= <rene@example.com>"]),
    );
    let html_only = s.mock.add_message(
        SeedMessage::new("news@example.com", &[ME], "News", "").html_only(
            "<html><head><style>p { color: red }</style></head><body><p>Hello <b>world</b></p><p>Tom &amp; Jerry</p></body></html>",
        ),
    );
    let with_attachment = s.mock.add_message(
        SeedMessage::new("billing@example.com", &[ME], "Invoice", "See the PDF.\r\n")
            .html("<p>See the <i>PDF</i>.</p>")
            .attachment("invoice.pdf", "application/pdf", b"%PDF-1.4 not really"),
    );

    let report = s.run("fetch-email", json!({})).await;
    let out = data(&report);
    assert_eq!(out["result_size_estimate"], 4);
    let messages = out["messages"].as_array().expect("messages");
    let ids: Vec<&str> = messages.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [&with_attachment, &html_only, &alternative, &plain]);

    // Encoded-word subject (B then Q, folded), multipart/alternative body,
    // quoted display name with a comma, encoded display name in Cc.
    let m = &messages[2];
    assert_eq!(m["subject"], "Café ☕ réunion");
    assert_eq!(m["thread_id"], alternative.as_str());
    assert_eq!(m["label_ids"], json!(["INBOX", "UNREAD"]));
    assert_eq!(
        m["from"],
        json!({ "name": "Doe, Jane", "email": "jane@example.com" })
    );
    assert_eq!(
        m["to"],
        json!([
            { "name": null, "email": ME },
            { "name": "Bob Smith", "email": "bob@example.com" },
        ])
    );
    assert_eq!(
        m["cc"],
        json!([{ "name": "René Lefèvre", "email": "rene@example.com" }])
    );
    assert_eq!(m["body_text"], "Bonjour,\n\nla réunion est à 10h.\n");
    assert_eq!(m["date"], "Tue, 14 Nov 2023 09:30:00 +0100");
    let headers = m["headers"].as_array().expect("headers");
    assert!(headers.contains(&json!({ "name": "Subject", "value": "Café ☕ réunion" })));
    assert!(headers.contains(&json!({ "name": "Cc", "value": "René Lefèvre <rene@example.com>" })));
    assert!(headers.iter().any(|h| {
        h["name"] == "Content-Type"
            && h["value"]
                .as_str()
                .unwrap()
                .starts_with("multipart/alternative")
    }));

    // Only HTML: tags stripped, style dropped, entities decoded.
    assert_eq!(messages[1]["body_text"], "Hello world\nTom & Jerry");
    // multipart/mixed > multipart/alternative > text/plain, beside a PDF.
    assert_eq!(messages[0]["body_text"], "See the PDF.\n");
    // A comment as the display name; Gmail's HTML-escaped snippet decoded.
    assert_eq!(
        messages[3]["from"],
        json!({ "name": "Bob Smith", "email": "bob@example.com" })
    );
    assert_eq!(messages[3]["snippet"], "it's plain & simple second line");
    assert_eq!(
        messages[3]["body_text"],
        "it's plain & simple\nsecond line\n"
    );
    assert!(metadata(&report).contains(&("result-size-estimate".to_string(), "4".to_string())));

    // One list, then one full fetch per message, newest first.
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 5);
    requests.iter().for_each(assert_authorized);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, format!("{API}/messages"));
    assert_eq!(pairs(&requests[0]), owned(&[("maxResults", "10")]));
    for (req, id) in requests[1..].iter().zip(&ids) {
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, format!("{API}/messages/{id}"));
        assert_eq!(pairs(req), owned(&[("format", "full")]));
    }
}

#[tokio::test]
async fn fetch_email_follows_next_page_tokens() {
    let s = setup().await;
    s.mock.set_max_page_size(2);
    let mut alice = Vec::new();
    for n in 1..=5 {
        alice.push(s.mock.add_message(SeedMessage::new(
            "Alice <alice@example.com>",
            &[ME],
            &format!("Report {n}"),
            "numbers",
        )));
        s.mock
            .add_message(SeedMessage::new("bob@example.com", &[ME], "Other", "no"));
    }
    alice.reverse(); // newest first

    // Four wanted: two pages of two, the second asked for what is left.
    let report = s
        .run(
            "fetch-email",
            json!({ "query": "from:alice", "max_results": 4 }),
        )
        .await;
    let out = data(&report);
    let subjects: Vec<&str> = out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Report 5", "Report 4", "Report 3", "Report 2"]);
    assert_eq!(out["result_size_estimate"], 5);
    let requests = s.mock.requests();
    let lists: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.path == format!("{API}/messages"))
        .collect();
    assert_eq!(lists.len(), 2);
    assert_eq!(
        pairs(lists[0]),
        owned(&[("q", "from:alice"), ("maxResults", "4")])
    );
    let second = pairs(lists[1]);
    assert_eq!(
        second[..2],
        owned(&[("q", "from:alice"), ("maxResults", "2")])
    );
    assert_eq!(second[2].0, "pageToken");
    assert!(!second[2].1.is_empty());
    assert_eq!(requests.len(), 2 + 4);

    // All of them: three pages, the last without a nextPageToken.
    let report = s
        .run(
            "fetch-email",
            json!({ "query": "from:alice", "max_results": 100 }),
        )
        .await;
    let ids: Vec<&str> = data(&report)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, alice.iter().map(String::as_str).collect::<Vec<_>>());
    let lists: Vec<Vec<(String, String)>> = s.mock.requests()[6..]
        .iter()
        .filter(|r| r.path == format!("{API}/messages"))
        .map(pairs)
        .collect();
    let max_results: Vec<&str> = lists.iter().map(|p| p[1].1.as_str()).collect();
    assert_eq!(max_results, ["100", "98", "96"]);
}

#[tokio::test]
async fn fetch_email_filters_by_label_ids_and_skips_messages_deleted_meanwhile() {
    let s = setup().await;
    let starred = s.mock.add_message(
        SeedMessage::new("a@example.com", &[ME], "Starred one", "x").labels(&["INBOX", "STARRED"]),
    );
    s.mock
        .add_message(SeedMessage::new("b@example.com", &[ME], "Not starred", "y"));
    let gone = s.mock.add_message(
        SeedMessage::new("c@example.com", &[ME], "Starred, then deleted", "z")
            .labels(&["INBOX", "STARRED"]),
    );
    // Listed, then deleted before it is fetched.
    s.mock
        .faults()
        .push_for(format!("{API}/messages/{gone}"), GmailMock::not_found());

    let report = s
        .run(
            "fetch-email",
            json!({ "query": "is:starred", "label_ids": ["INBOX", "STARRED"] }),
        )
        .await;
    let out = data(&report);
    let messages = out["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["id"], starred.as_str());
    assert_eq!(out["result_size_estimate"], 2);
    let requests = s.mock.requests();
    assert_eq!(
        pairs(&requests[0]),
        owned(&[
            ("q", "is:starred"),
            ("maxResults", "10"),
            ("labelIds", "INBOX"),
            ("labelIds", "STARRED"),
        ])
    );
    assert_eq!(requests.len(), 3);
    assert!(
        report
            .log
            .entries
            .iter()
            .any(|l| format!("{l:?}").contains("skipped"))
    );
}

#[tokio::test]
async fn fetch_email_validates_its_input() {
    let s = setup().await;
    let report = s.run("fetch-email", json!({ "max_results": 0 })).await;
    assert!(matches!(host_error(&report), HostError::InputInvalid(_)));
    let report = s.run("fetch-email", json!({ "max_results": 101 })).await;
    assert!(matches!(host_error(&report), HostError::InputInvalid(_)));
    let report = s.run("fetch-email", json!({ "label_ids": [" "] })).await;
    match integration_error(&report) {
        IntegrationError::InvalidInput { message } => {
            assert!(message.contains("label_ids[0]"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.mock.requests().is_empty());
}

// ---------------------------------------------------------------------------
// send-email

#[tokio::test]
async fn send_email_builds_a_message_the_mock_decodes() {
    let s = setup().await;
    let original = s.mock.add_message(SeedMessage::new(
        "jane@example.com",
        &[ME],
        "Réunion",
        "On se voit ?",
    ));
    let subject = "Re: Réunion — ☕ at 10, with a rather long subject to force folding";
    let body = format!("Hi Jane,\nsee you there.\n\n{}\n", "x".repeat(120));

    let report = s
        .run(
            "send-email",
            json!({
                "to": ["Jane Doe <jane@example.com>", "bob@example.com"],
                "cc": [r#""Ops, Team" <ops@example.com>"#],
                "bcc": ["audit@example.com"],
                "subject": subject,
                "body": body,
                "thread_id": original,
                "in_reply_to": "<CAF=abc@mail.example.com>",
            }),
        )
        .await;
    let out = data(&report);

    let sent = s.mock.sent();
    assert_eq!(sent.len(), 1);
    let sent = &sent[0];
    assert_eq!(
        out,
        &json!({ "id": sent.id, "thread_id": original, "label_ids": ["SENT"] })
    );
    assert_eq!(sent.requested_thread_id.as_deref(), Some(original.as_str()));
    assert_eq!(
        sent.header("To"),
        Some(r#""Jane Doe" <jane@example.com>, bob@example.com"#)
    );
    assert_eq!(sent.header("Cc"), Some(r#""Ops, Team" <ops@example.com>"#));
    assert_eq!(sent.header("Bcc"), Some("audit@example.com"));
    let raw_subject = sent.header("Subject").unwrap();
    assert!(raw_subject.starts_with("=?UTF-8?B?"), "{raw_subject}");
    assert_eq!(sent.subject().as_deref(), Some(subject));
    assert_eq!(
        sent.header("In-Reply-To"),
        Some("<CAF=abc@mail.example.com>")
    );
    assert_eq!(
        sent.header("References"),
        Some("<CAF=abc@mail.example.com>")
    );
    assert_eq!(sent.header("MIME-Version"), Some("1.0"));
    assert_eq!(
        sent.header("Content-Type"),
        Some(r#"text/plain; charset="UTF-8""#)
    );
    assert_eq!(sent.header("Content-Transfer-Encoding"), Some("base64"));
    assert_eq!(sent.body, body.replace('\n', "\r\n"));
    // CRLF everywhere (the mock refuses anything else), folded headers and
    // base64 lines of 76.
    let (head, encoded) = sent.raw.split_once("\r\n\r\n").unwrap();
    assert!(head.lines().all(|l| l.len() <= 78), "{head}");
    assert!(head.contains("\r\n =?UTF-8?B?"), "subject folded: {head}");
    let lines: Vec<&str> = encoded.split_terminator("\r\n").collect();
    assert!(lines.len() > 2);
    assert!(lines[..lines.len() - 1].iter().all(|l| l.len() == 76));

    let requests = s.mock.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_authorized(req);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("{API}/messages/send"));
    assert_eq!(
        req.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let json = req.json().unwrap();
    assert_eq!(json["threadId"], original.as_str());
    assert!(json["raw"].as_str().unwrap().len() > 100);
    assert_eq!(json.as_object().unwrap().len(), 2);

    // And it reads back through fetch-email.
    let report = s.run("fetch-email", json!({ "query": "in:sent" })).await;
    let out = data(&report);
    let message = &out["messages"][0];
    assert_eq!(message["id"], sent.id.as_str());
    assert_eq!(message["subject"], subject);
    assert_eq!(message["from"]["email"], ME);
    assert_eq!(
        message["to"],
        json!([
            { "name": "Jane Doe", "email": "jane@example.com" },
            { "name": null, "email": "bob@example.com" },
        ])
    );
    assert_eq!(message["cc"][0]["name"], "Ops, Team");
    assert_eq!(message["body_text"], body);
}

#[tokio::test]
async fn send_email_without_thread_starts_one() {
    let s = setup().await;
    let report = s
        .run(
            "send-email",
            json!({ "to": ["jane@example.com"], "subject": "Hello", "body": "Hi" }),
        )
        .await;
    let out = data(&report);
    assert_eq!(out["thread_id"], out["id"]);
    let sent = &s.mock.sent()[0];
    assert_eq!(sent.header("Subject"), Some("Hello"));
    assert_eq!(sent.header("Cc"), None);
    assert_eq!(sent.body, "Hi");
    let json = s.mock.requests()[0].json().unwrap();
    assert!(json.get("threadId").is_none());
}

#[tokio::test]
async fn send_email_refuses_header_injection_and_bad_addresses() {
    let s = setup().await;
    let cases = [
        (
            json!({ "to": ["jane@example.com"], "subject": "Hi\r\nBcc: evil@example.com" }),
            "subject",
        ),
        (
            json!({ "to": ["jane@example.com\r\nBcc: evil@example.com"] }),
            "`to[0]`",
        ),
        (
            json!({ "to": ["jane@example.com"], "cc": ["ops@example.com\nX-Evil: 1"] }),
            "`cc[0]`",
        ),
        (
            json!({ "to": ["jane@example.com"], "bcc": ["Eve <eve@example.com>\r"] }),
            "`bcc[0]`",
        ),
        (
            json!({ "to": ["jane@example.com"], "in_reply_to": "<a@b>\r\nBcc: evil@example.com" }),
            "in_reply_to",
        ),
        (json!({ "to": ["not an address"] }), "`to[0]`"),
        (json!({ "to": ["jane@localhost"] }), "`to[0]`"),
        (
            json!({ "to": ["jane@example.com, bob@example.com"] }),
            "one address",
        ),
        (
            json!({ "to": ["jane@example.com"], "thread_id": "../labels" }),
            "thread_id",
        ),
    ];
    for (input, expected) in cases {
        let report = s.run("send-email", input.clone()).await;
        match integration_error(&report) {
            IntegrationError::InvalidInput { message } => {
                assert!(message.contains(expected), "{input}: {message}")
            }
            other => panic!("{input}: {other:?}"),
        }
    }
    let report = s.run("send-email", json!({ "to": [] })).await;
    assert!(matches!(host_error(&report), HostError::InputInvalid(_)));
    assert!(s.mock.requests().is_empty(), "nothing was sent");
    assert!(s.mock.sent().is_empty());
}

// ---------------------------------------------------------------------------
// add-label

#[tokio::test]
async fn add_label_creates_a_missing_label_then_reuses_it() {
    let s = setup().await;
    let first = s
        .mock
        .add_message(SeedMessage::new("a@example.com", &[ME], "One", "1"));
    let second = s
        .mock
        .add_message(SeedMessage::new("b@example.com", &[ME], "Two", "2"));

    let report = s
        .run(
            "add-label",
            json!({ "message_id": first, "label": "Invoices" }),
        )
        .await;
    assert_eq!(
        data(&report),
        &json!({
            "message_id": first,
            "label_id": "Label_1",
            "label_name": "Invoices",
            "created": true,
            "label_ids": ["INBOX", "UNREAD", "Label_1"],
        })
    );
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 3);
    requests.iter().for_each(assert_authorized);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", format!("{API}/labels").as_str())
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("POST", format!("{API}/labels").as_str())
    );
    assert_eq!(
        requests[1].header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        requests[1].json().unwrap(),
        json!({ "name": "Invoices", "labelListVisibility": "labelShow", "messageListVisibility": "show" })
    );
    assert_eq!(requests[2].method, "POST");
    assert_eq!(requests[2].path, format!("{API}/messages/{first}/modify"));
    assert_eq!(
        requests[2].header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        requests[2].json().unwrap(),
        json!({ "addLabelIds": ["Label_1"] })
    );

    // The same name in another case: found, not created again.
    let report = s
        .run(
            "add-label",
            json!({ "message_id": second, "label": "  invoices " }),
        )
        .await;
    let out = data(&report);
    assert_eq!(out["label_id"], "Label_1");
    assert_eq!(out["label_name"], "Invoices");
    assert_eq!(out["created"], false);
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[3].path, format!("{API}/labels"));
    assert_eq!(requests[4].path, format!("{API}/messages/{second}/modify"));
    assert_eq!(
        s.mock.label_ids(&second).unwrap(),
        ["INBOX", "UNREAD", "Label_1"]
    );
    let user_labels: Vec<Value> = s
        .mock
        .labels()
        .into_iter()
        .filter(|l| l["type"] == "user")
        .collect();
    assert_eq!(user_labels.len(), 1);

    // A system label by its name.
    let report = s
        .run(
            "add-label",
            json!({ "message_id": first, "label": "starred" }),
        )
        .await;
    assert_eq!(data(&report)["label_id"], "STARRED");
    assert_eq!(data(&report)["created"], false);
}

#[tokio::test]
async fn add_label_uses_a_label_created_meanwhile() {
    let s = setup().await;
    let id = s
        .mock
        .add_message(SeedMessage::new("a@example.com", &[ME], "One", "1"));
    let receipts = s.mock.add_label("Receipts");
    // The first list does not have it yet; creating it answers 409.
    s.mock.faults().push_for(
        format!("{API}/labels"),
        MockResponse::json(
            200,
            json!({ "labels": [{ "id": "INBOX", "name": "INBOX", "type": "system" }] }),
        ),
    );
    let report = s
        .run(
            "add-label",
            json!({ "message_id": id, "label": "Receipts" }),
        )
        .await;
    let out = data(&report);
    assert_eq!(out["label_id"], receipts.as_str());
    assert_eq!(out["created"], false);
    let paths: Vec<(String, String)> = s
        .mock
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        paths,
        [
            ("GET".to_string(), format!("{API}/labels")),
            ("POST".to_string(), format!("{API}/labels")),
            ("GET".to_string(), format!("{API}/labels")),
            ("POST".to_string(), format!("{API}/messages/{id}/modify")),
        ]
    );
}

#[tokio::test]
async fn add_label_of_an_unknown_message_is_not_found() {
    let s = setup().await;
    s.mock.add_label("Invoices");
    let report = s
        .run(
            "add-label",
            json!({ "message_id": "18bcd2a0ffffffff", "label": "Invoices" }),
        )
        .await;
    match integration_error(&report) {
        IntegrationError::NotFound { message } => {
            assert!(
                message.contains("Requested entity was not found."),
                "{message}"
            );
            assert!(message.contains("18bcd2a0ffffffff"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let report = s
        .run("add-label", json!({ "message_id": "x", "label": " " }))
        .await;
    assert!(matches!(
        integration_error(&report),
        IntegrationError::InvalidInput { .. }
    ));
}

// ---------------------------------------------------------------------------
// Error mappings

/// Run fetch-email (one seeded message) with `fault` answering the first request.
async fn fetch_with_fault(fault: MockResponse) -> IntegrationError {
    let s = setup().await;
    s.mock
        .add_message(SeedMessage::new("a@example.com", &[ME], "One", "1"));
    s.mock.faults().push(fault);
    let report = s.run("fetch-email", json!({})).await;
    assert_eq!(s.mock.faults().pending(), 0);
    integration_error(&report).clone()
}

#[tokio::test]
async fn a_rejected_token_is_auth_expired() {
    let gmail = Integration::load("gmail").await;
    let world = World::new();
    let mock = GmailMock::start(&world.ca, AcceptedTokens::exactly("another-token")).await;
    let caps = world.capabilities(&gmail, &[(HOST, mock.port())], &[("google", TOKEN)]);
    let report = gmail.run(&caps, "fetch-email", json!({})).await;
    match integration_error(&report) {
        IntegrationError::AuthExpired { message } => assert!(
            message.contains("Request had invalid authentication credentials"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn rate_limits_carry_googles_retry_delay() {
    // 429 with google.rpc.RetryInfo.
    match fetch_with_fault(GmailMock::too_many_requests("1.5s")).await {
        IntegrationError::RateLimited {
            retry_after_ms,
            message,
        } => {
            assert_eq!(retry_after_ms, Some(1500));
            assert!(message.contains("Resource has been exhausted"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Retry-After wins over the body.
    let fault = GmailMock::too_many_requests("30s").header("retry-after", "7");
    match fetch_with_fault(fault).await {
        IntegrationError::RateLimited { retry_after_ms, .. } => {
            assert_eq!(retry_after_ms, Some(7000))
        }
        other => panic!("{other:?}"),
    }
    // Gmail's usage limits come as 403 userRateLimitExceeded.
    match fetch_with_fault(GmailMock::user_rate_limit_exceeded()).await {
        IntegrationError::RateLimited {
            retry_after_ms,
            message,
        } => {
            assert_eq!(retry_after_ms, None);
            assert!(message.contains("User-rate limit exceeded"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let fault = GmailMock::error(
        403,
        "PERMISSION_DENIED",
        "rateLimitExceeded",
        "Rate Limit Exceeded",
    )
    .header("retry-after", "2");
    assert!(matches!(
        fetch_with_fault(fault).await,
        IntegrationError::RateLimited {
            retry_after_ms: Some(2000),
            ..
        }
    ));
}

#[tokio::test]
async fn other_failures_map_to_their_typed_errors() {
    match fetch_with_fault(GmailMock::insufficient_scopes()).await {
        IntegrationError::PermissionDenied { message } => assert!(
            message.contains("Request had insufficient authentication scopes."),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    match fetch_with_fault(GmailMock::not_found()).await {
        IntegrationError::NotFound { message } => {
            assert!(
                message.contains("Requested entity was not found."),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    match fetch_with_fault(GmailMock::failed_precondition("Mail service not enabled")).await {
        IntegrationError::InvalidInput { message } => {
            assert!(message.contains("Mail service not enabled"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    match fetch_with_fault(GmailMock::backend_error()).await {
        IntegrationError::Upstream { status, message } => {
            assert_eq!(status, 500);
            assert!(message.contains("Internal error encountered."), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match fetch_with_fault(GmailMock::unavailable()).await {
        IntegrationError::Upstream { status, .. } => assert_eq!(status, 503),
        other => panic!("{other:?}"),
    }
    // Not Google's JSON at all.
    match fetch_with_fault(MockResponse::text(502, "Bad Gateway")).await {
        IntegrationError::Upstream { status, message } => {
            assert_eq!(status, 502);
            assert!(message.contains("Bad Gateway"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_mocks_own_400s_reach_the_caller_as_invalid_input() {
    let s = setup().await;
    let report = s
        .run("fetch-email", json!({ "label_ids": ["Label_404"] }))
        .await;
    match integration_error(&report) {
        IntegrationError::InvalidInput { message } => {
            assert!(message.contains("Invalid label: Label_404"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // A thread that does not exist.
    let report = s
        .run(
            "send-email",
            json!({ "to": ["jane@example.com"], "thread_id": "18bcd2a0deadbeef" }),
        )
        .await;
    assert!(matches!(
        integration_error(&report),
        IntegrationError::NotFound { .. }
    ));
}

#[tokio::test]
async fn an_unreachable_gmail_is_a_network_error() {
    let gmail = Integration::load("gmail").await;
    let world = World::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let caps = world.capabilities(&gmail, &[(HOST, port)], &[("google", TOKEN)]);
    for (action, input) in [
        ("fetch-email", json!({})),
        ("send-email", json!({ "to": ["jane@example.com"] })),
        ("add-label", json!({ "message_id": "1", "label": "X" })),
    ] {
        let report = gmail.run(&caps, action, input).await;
        assert!(
            matches!(integration_error(&report), IntegrationError::Network { .. }),
            "{action}: {:?}",
            report.outcome
        );
    }
}

// ---------------------------------------------------------------------------
// Examples and figures

#[tokio::test]
async fn manifest_examples_run_against_the_replay_file() {
    let gmail = Integration::load("gmail").await;
    let caps = gmail.replay();
    for action in ["fetch-email", "send-email", "add-label"] {
        let report = gmail.run(&caps, action, gmail.example(action)).await;
        let out = data(&report);
        match action {
            "fetch-email" => {
                assert_eq!(out["messages"][0]["subject"], "Your invoice — November");
                assert_eq!(out["messages"][0]["from"]["name"], "Example Billing");
            }
            "send-email" => assert_eq!(out["label_ids"], json!(["SENT"])),
            _ => assert_eq!(out["created"], true),
        }
    }
}

#[tokio::test]
async fn fuel_of_each_action_on_the_mock() {
    let s = setup().await;
    let mut last = String::new();
    for n in 0..3 {
        last = s.mock.add_message(
            SeedMessage::new(
                r#""Doe, Jane" <jane@example.com>"#,
                &[ME],
                &format!("Café ☕ {n}"),
                "Bonjour,\r\nà bientôt.\r\n",
            )
            .html("<p>Bonjour,</p><p>à bientôt.</p>")
            .encoded_subject(),
        );
    }
    let runs = [
        ("fetch-email", json!({ "max_results": 3 })),
        (
            "send-email",
            json!({ "to": ["Jane Doe <jane@example.com>"], "subject": "Réunion", "body": "À demain." }),
        ),
        (
            "add-label",
            json!({ "message_id": last, "label": "Invoices" }),
        ),
    ];
    for (action, input) in runs {
        let report = s.run(action, input).await;
        data(&report);
        println!("figure gmail.{action} fuel={}", report.fuel_used);
    }
}
