//! Steps from different services chain through the result envelope alone:
//! `gmail.fetch-email`'s output feeds `notion.create-page`'s input with no
//! transform in between, only references into the first step's envelope
//! (`{"$ref": "/data/messages/0/subject"}`, a JSON pointer), as a workflow
//! step's input template draws on earlier steps.

use serde_json::{Value, json};
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::gmail::{self, GmailMock, SeedMessage};
use workway_mocks::services::notion::{self, NotionMock};
use workway_report::{ExecutionReport, Outcome};

use super::{Integration, World};
use crate::support::data;

const GOOGLE_TOKEN: &str = "ya29.chained-test";
const NOTION_TOKEN: &str = "secret_chained-test";
const DATABASE: &str = "5c6a2821-6bb1-4a7e-b6e1-c50111515c3d";

/// The result envelope of a successful step: `{"data": ..., "metadata": {...}}`.
fn envelope(report: &ExecutionReport) -> Value {
    match &report.outcome {
        Outcome::Ok { data, metadata } => json!({
            "data": data,
            "metadata": metadata
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<serde_json::Map<String, Value>>(),
        }),
        other => panic!("expected success, got {other:#?}"),
    }
}

/// `template` with every `{"$ref": "<JSON pointer>"}` replaced by what the
/// pointer selects in `envelope`.
fn resolve(template: &Value, envelope: &Value) -> Value {
    match template {
        Value::Object(map) if map.len() == 1 && map.contains_key("$ref") => {
            let pointer = map["$ref"].as_str().expect("a $ref is a JSON pointer");
            envelope
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{pointer} selects nothing in {envelope}"))
                .clone()
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, envelope)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, envelope)).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn gmail_fetch_email_feeds_notion_create_page_through_the_envelope() {
    let world = World::new();
    let gmail_mock = GmailMock::start(&world.ca, AcceptedTokens::exactly(GOOGLE_TOKEN)).await;
    let notion_mock = NotionMock::start(&world.ca, AcceptedTokens::exactly(NOTION_TOKEN)).await;
    gmail_mock.add_message(SeedMessage::new(
        "\"Ada Lovelace\" <ada@example.com>",
        &["me@example.com"],
        "Invoice 42 is due",
        "Hello,\n\nInvoice 42 for 1,200 EUR is due on Friday.\n\nAda",
    ));
    notion_mock.add_database(
        DATABASE,
        "Inbox triage",
        &[
            ("Name", "title"),
            ("From", "email"),
            ("Sender", "rich_text"),
            ("Gmail id", "rich_text"),
        ],
    );

    let gmail = Integration::load("gmail").await;
    let notion = Integration::load("notion").await;
    let tokens = [("google", GOOGLE_TOKEN), ("notion", NOTION_TOKEN)];
    let gmail_caps = world.capabilities(&gmail, &[(gmail::HOST, gmail_mock.port())], &tokens);
    let notion_caps = world.capabilities(&notion, &[(notion::HOST, notion_mock.port())], &tokens);

    let fetched = gmail
        .run(
            &gmail_caps,
            "fetch-email",
            json!({"query": "invoice", "max_results": 1}),
        )
        .await;
    let step_one = envelope(&fetched);

    // The second step's input template: references into step one's
    // envelope, nothing else.
    let template = json!({
        "database_id": DATABASE,
        "properties": {
            "Name": {"title": {"$ref": "/data/messages/0/subject"}},
            "From": {"email": {"$ref": "/data/messages/0/from/email"}},
            "Sender": {"rich_text": {"$ref": "/data/messages/0/from/name"}},
            "Gmail id": {"rich_text": {"$ref": "/data/messages/0/id"}},
        },
        "content": {"$ref": "/data/messages/0/body_text"},
    });
    let created = notion
        .run(&notion_caps, "create-page", resolve(&template, &step_one))
        .await;
    let page = data(&created);

    assert_eq!(page["properties"]["Name"], "Invoice 42 is due", "{page}");
    assert_eq!(page["properties"]["From"], "ada@example.com");
    assert_eq!(page["properties"]["Sender"], "Ada Lovelace");
    assert_eq!(
        page["properties"]["Gmail id"],
        step_one["data"]["messages"][0]["id"]
    );
    // What Notion stored: the email's text as the page's paragraphs.
    let id = page["id"].as_str().expect("a page id");
    let stored = notion_mock.page(id).expect("Notion stored the page");
    assert_eq!(
        stored["properties"]["From"]["email"], "ada@example.com",
        "{stored}"
    );
    let paragraphs: Vec<String> = notion_mock
        .children(id)
        .iter()
        .map(|block| {
            block["paragraph"]["rich_text"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["text"]["content"].as_str())
                .collect()
        })
        .collect();
    assert_eq!(
        paragraphs,
        [
            "Hello,",
            "Invoice 42 for 1,200 EUR is due on Friday.",
            "Ada"
        ]
    );
}
