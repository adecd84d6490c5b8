//! The Notion integration (`plugins/notion`) in the sandbox against the
//! Notion mock: what it sends (Notion-Version, the host's bearer token,
//! Notion's property wire format, chunked rich text, cursor pagination),
//! what it returns (pages with plain property values), and how Notion's
//! error bodies map onto the typed integration errors.

use serde_json::{Value, json};
use workway_capabilities::Capabilities;
use workway_mocks::RecordedRequest;
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::notion::{self, HOST, NotionMock};
use workway_report::{ExecutionReport, IntegrationError};

use super::{Integration, World, integration_error, metadata};
use crate::support::data;

const TOKEN: &str = "secret_notion_access_token";
const DB: &str = "8f3c2a4b-5d6e-4f70-a1b2-c3d4e5f60718";
const USER: &str = "4a1b2c3d-5e6f-4071-8293-a4b5c6d7e8f9";
const OTHER_PAGE: &str = "9e8d7c6b-5a49-4382-b716-a5b4c3d2e1f0";

/// The test database's schema.
const SCHEMA: &[(&str, &str)] = &[
    ("Name", "title"),
    ("Notes", "rich_text"),
    ("Score", "number"),
    ("Stage", "select"),
    ("Tags", "multi_select"),
    ("Status", "status"),
    ("Due", "date"),
    ("Done", "checkbox"),
    ("Link", "url"),
    ("Contact", "email"),
    ("Phone", "phone_number"),
    ("Owner", "people"),
    ("Blocks", "relation"),
    ("Created", "created_time"),
    ("Edited", "last_edited_time"),
];

/// The integration, the mock with the test database, and capabilities
/// reaching it with the accepted token.
struct Setup {
    _world: World,
    mock: NotionMock,
    notion: Integration,
    caps: Capabilities,
}

async fn setup() -> Setup {
    setup_with_token(TOKEN).await
}

async fn setup_with_token(token: &str) -> Setup {
    let world = World::new();
    let mock = NotionMock::start(&world.ca, AcceptedTokens::exactly(TOKEN)).await;
    mock.add_database(DB, "Tasks", SCHEMA);
    let notion = Integration::load("notion").await;
    let caps = world.capabilities(&notion, &[(HOST, mock.port())], &[("notion", token)]);
    Setup {
        _world: world,
        mock,
        notion,
        caps,
    }
}

impl Setup {
    async fn run(&self, action: &str, input: Value) -> ExecutionReport {
        self.notion.run(&self.caps, action, input).await
    }

    /// Seed a row with Notion request-format properties; its page id.
    fn row(&self, name: &str, score: u32, done: bool, tags: &[&str]) -> String {
        let tags: Vec<Value> = tags.iter().map(|t| json!({"name": t})).collect();
        let page = self.mock.add_page(
            DB,
            json!({
                "Name": {"title": [{"text": {"content": name}}]},
                "Score": {"number": score},
                "Done": {"checkbox": done},
                "Tags": {"multi_select": tags},
            }),
        );
        page["id"].as_str().expect("page id").to_string()
    }
}

/// Every request carries what Notion requires.
fn assert_notion_request(req: &RecordedRequest, method: &str, path: &str) {
    assert_eq!(req.method, method, "{req:?}");
    assert_eq!(req.path, path);
    assert_eq!(req.query, None);
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(req.header("notion-version"), Some("2022-06-28"));
    assert_eq!(
        req.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(req.header("host"), Some(HOST));
}

fn text(content: &str) -> Value {
    json!({"type": "text", "text": {"content": content}})
}

fn paragraph(pieces: &[&str]) -> Value {
    let pieces: Vec<Value> = pieces.iter().map(|p| text(p)).collect();
    json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": pieces}})
}

/// The lengths (in characters) of a rich-text array's pieces.
fn piece_lengths(rich_text: &Value) -> Vec<usize> {
    rich_text
        .as_array()
        .expect("rich text array")
        .iter()
        .map(|p| {
            p["text"]["content"]
                .as_str()
                .expect("content")
                .chars()
                .count()
        })
        .collect()
}

#[tokio::test]
async fn create_page_sends_each_property_kind_in_notion_wire_format() {
    let s = setup().await;
    let report = s
        .run(
            "create-page",
            json!({
                // The id as pasted from a Notion URL: no dashes, any case.
                "database_id": "8F3C2A4B5D6E4F70A1B2C3D4E5F60718",
                "properties": {
                    "Name": {"title": "Plan the launch"},
                    "Notes": {"rich_text": "Two lines\nof notes"},
                    "Score": {"number": 3},
                    "Stage": {"select": "Doing"},
                    "Tags": {"multi_select": ["ops", "launch"]},
                    "Status": {"status": "In progress"},
                    "Due": {"date": {"start": "2024-05-01", "end": "2024-05-03"}},
                    "Done": {"checkbox": true},
                    "Link": {"url": "https://example.com/spec"},
                    "Contact": {"email": "ada@example.com"},
                    "Phone": {"phone_number": "+1 555 0100"},
                    "Owner": {"people": [USER]},
                    "Blocks": {"relation": [OTHER_PAGE]},
                },
                "content": "First paragraph.\nStill the first.\n\n\n  \nSecond paragraph.\n",
            }),
        )
        .await;
    let page = data(&report).clone();

    let requests = s.mock.requests();
    assert_eq!(requests.len(), 1);
    assert_notion_request(&requests[0], "POST", "/v1/pages");
    assert_eq!(
        requests[0].json().expect("JSON body"),
        json!({
            "parent": {"database_id": DB},
            "properties": {
                "Name": {"title": [text("Plan the launch")]},
                "Notes": {"rich_text": [text("Two lines\nof notes")]},
                "Score": {"number": 3},
                "Stage": {"select": {"name": "Doing"}},
                "Tags": {"multi_select": [{"name": "ops"}, {"name": "launch"}]},
                "Status": {"status": {"name": "In progress"}},
                "Due": {"date": {"start": "2024-05-01", "end": "2024-05-03"}},
                "Done": {"checkbox": true},
                "Link": {"url": "https://example.com/spec"},
                "Contact": {"email": "ada@example.com"},
                "Phone": {"phone_number": "+1 555 0100"},
                "Owner": {"people": [{"id": USER}]},
                "Blocks": {"relation": [{"id": OTHER_PAGE}]},
            },
            "children": [
                paragraph(&["First paragraph.\nStill the first."]),
                paragraph(&["Second paragraph."]),
            ],
        })
    );

    let id = page["id"].as_str().expect("id");
    assert_eq!(page["archived"], json!(false));
    assert_eq!(
        page["url"],
        json!(format!(
            "https://www.notion.so/Plan-the-launch-{}",
            id.replace('-', "")
        ))
    );
    assert_eq!(
        page["properties"],
        json!({
            "Name": "Plan the launch",
            "Notes": "Two lines\nof notes",
            "Score": 3,
            "Stage": "Doing",
            "Tags": ["ops", "launch"],
            "Status": "In progress",
            "Due": {"start": "2024-05-01", "end": "2024-05-03"},
            "Done": true,
            "Link": "https://example.com/spec",
            "Contact": "ada@example.com",
            "Phone": "+1 555 0100",
            "Owner": [USER],
            "Blocks": [OTHER_PAGE],
            "Created": page["created_time"],
            "Edited": page["last_edited_time"],
        })
    );

    // The mock stored what it was sent: the page reads back with it.
    let stored = s.mock.page(id).expect("stored");
    assert_eq!(stored["object"], "page");
    assert_eq!(stored["parent"]["database_id"], DB);
    assert_eq!(
        stored["properties"]["Name"]["title"][0]["plain_text"],
        "Plan the launch"
    );
    let children = s.mock.children(id);
    assert_eq!(children.len(), 2);
    assert_eq!(
        children[1]["paragraph"]["rich_text"][0]["plain_text"],
        "Second paragraph."
    );
}

#[tokio::test]
async fn a_single_date_and_cleared_values_are_sent_as_notion_expects() {
    let s = setup().await;
    let report = s
        .run(
            "create-page",
            json!({
                "database_id": DB,
                "properties": {
                    "Name": {"title": ""},
                    "Due": {"date": "2024-05-01T09:30:00Z"},
                    "Stage": {"select": null},
                    "Score": {"number": 2.5},
                },
            }),
        )
        .await;
    let page = data(&report);
    let body = s.mock.requests()[0].json().expect("JSON body");
    assert_eq!(
        body,
        json!({
            "parent": {"database_id": DB},
            "properties": {
                "Name": {"title": []},
                "Due": {"date": {"start": "2024-05-01T09:30:00Z", "end": null}},
                "Stage": {"select": null},
                "Score": {"number": 2.5},
            },
        })
    );
    assert_eq!(page["properties"]["Name"], "");
    assert_eq!(
        page["properties"]["Due"],
        json!({"start": "2024-05-01T09:30:00Z", "end": null})
    );
    assert_eq!(page["properties"]["Stage"], Value::Null);
    assert_eq!(page["properties"]["Score"], json!(2.5));
    assert_eq!(page["properties"]["Tags"], json!([]));
}

#[tokio::test]
async fn long_text_is_sent_in_pieces_of_at_most_2000_characters() {
    let s = setup().await;
    let notes = "n".repeat(4500);
    // Each emoji is two UTF-16 code units, as Notion counts: 1000 per piece.
    let title = "🙂".repeat(1500);
    let long_paragraph = "p".repeat(2500);
    let report = s
        .run(
            "create-page",
            json!({
                "database_id": DB,
                "properties": {"Name": {"title": title}, "Notes": {"rich_text": notes}},
                "content": format!("{long_paragraph}\n\nshort"),
            }),
        )
        .await;
    let page = data(&report);
    assert_eq!(page["properties"]["Notes"], json!(notes));
    assert_eq!(page["properties"]["Name"], json!(title));

    let body = s.mock.requests()[0].json().expect("JSON body");
    assert_eq!(
        piece_lengths(&body["properties"]["Notes"]["rich_text"]),
        [2000, 2000, 500]
    );
    assert_eq!(
        piece_lengths(&body["properties"]["Name"]["title"]),
        [1000, 500]
    );
    assert_eq!(
        piece_lengths(&body["children"][0]["paragraph"]["rich_text"]),
        [2000, 500]
    );
    assert_eq!(
        piece_lengths(&body["children"][1]["paragraph"]["rich_text"]),
        [5]
    );
}

#[tokio::test]
async fn text_and_content_beyond_notion_limits_are_refused_before_sending() {
    let s = setup().await;
    let too_long = s
        .run(
            "create-page",
            json!({
                "database_id": DB,
                "properties": {"Notes": {"rich_text": "x".repeat(200_001)}},
            }),
        )
        .await;
    let IntegrationError::InvalidInput { message } = integration_error(&too_long) else {
        panic!("{too_long:#?}")
    };
    assert!(message.contains("property `Notes`"), "{message}");
    assert!(message.contains("200000"), "{message}");

    let paragraphs = vec!["one paragraph"; 101].join("\n\n");
    let too_many = s
        .run(
            "create-page",
            json!({"database_id": DB, "properties": {}, "content": paragraphs}),
        )
        .await;
    let IntegrationError::InvalidInput { message } = integration_error(&too_many) else {
        panic!("{too_many:#?}")
    };
    assert!(message.contains("101 paragraphs"), "{message}");
    assert!(message.contains("at most 100 blocks"), "{message}");

    let bad_id = s
        .run(
            "create-page",
            json!({"database_id": "tasks", "properties": {}}),
        )
        .await;
    let IntegrationError::InvalidInput { message } = integration_error(&bad_id) else {
        panic!("{bad_id:#?}")
    };
    assert!(
        message.contains("database_id `tasks` is not a Notion id"),
        "{message}"
    );
    assert!(s.mock.requests().is_empty());
}

#[tokio::test]
async fn a_notion_url_is_accepted_as_the_database_id() {
    let s = setup().await;
    let report = s
        .run(
            "query-database",
            json!({
                "database_id": "https://www.notion.so/acme/Tasks-8f3c2a4b5d6e4f70a1b2c3d4e5f60718?v=0123456789abcdef0123456789abcdef",
                "max_results": 5,
            }),
        )
        .await;
    data(&report);
    assert_eq!(
        s.mock.requests()[0].path,
        format!("/v1/databases/{DB}/query")
    );
}

#[tokio::test]
async fn update_page_sets_properties_archives_and_restores() {
    let s = setup().await;
    let id = s.row("Write docs", 1, false, &["docs"]);
    let compact = id.replace('-', "");

    let report = s
        .run(
            "update-page",
            json!({
                "page_id": compact,
                "properties": {"Score": {"number": 8}, "Done": {"checkbox": true}, "Stage": {"select": "Done"}},
            }),
        )
        .await;
    let page = data(&report);
    assert_eq!(page["id"], json!(id));
    assert_eq!(page["properties"]["Score"], 8);
    assert_eq!(page["properties"]["Done"], true);
    assert_eq!(page["properties"]["Stage"], "Done");
    assert_eq!(page["properties"]["Name"], "Write docs");
    assert_eq!(page["properties"]["Tags"], json!(["docs"]));
    assert_ne!(page["last_edited_time"], page["created_time"]);
    let requests = s.mock.requests();
    assert_notion_request(&requests[0], "PATCH", &format!("/v1/pages/{id}"));
    assert_eq!(
        requests[0].json().expect("JSON body"),
        json!({"properties": {
            "Score": {"number": 8},
            "Done": {"checkbox": true},
            "Stage": {"select": {"name": "Done"}},
        }})
    );
    let stored = s.mock.page(&id).expect("stored");
    assert_eq!(stored["properties"]["Score"]["number"], 8);

    let archived = s
        .run("update-page", json!({"page_id": id, "archived": true}))
        .await;
    assert_eq!(data(&archived)["archived"], true);
    assert_eq!(
        s.mock.requests()[1].json().expect("JSON body"),
        json!({"archived": true})
    );
    assert_eq!(s.mock.page(&id).expect("stored")["archived"], true);

    // Archived pages leave the database's query results.
    let query = s.run("query-database", json!({"database_id": DB})).await;
    assert_eq!(data(&query)["pages"], json!([]));

    // Notion refuses edits to an archived page, in its own words.
    let refused = s
        .run(
            "update-page",
            json!({"page_id": id, "properties": {"Score": {"number": 9}}}),
        )
        .await;
    let IntegrationError::InvalidInput { message } = integration_error(&refused) else {
        panic!("{refused:#?}")
    };
    assert!(
        message.contains("Can't edit block that is archived."),
        "{message}"
    );

    let restored = s
        .run("update-page", json!({"page_id": id, "archived": false}))
        .await;
    assert_eq!(data(&restored)["archived"], false);
    assert_eq!(data(&restored)["properties"]["Score"], 8);
}

#[tokio::test]
async fn update_page_with_nothing_to_change_is_refused_before_sending() {
    let s = setup().await;
    let id = s.row("Idle", 0, false, &[]);
    for input in [
        json!({"page_id": id}),
        json!({"page_id": id, "properties": {}}),
    ] {
        let report = s.run("update-page", input).await;
        let IntegrationError::InvalidInput { message } = integration_error(&report) else {
            panic!("{report:#?}")
        };
        assert!(message.contains("nothing to change"), "{message}");
    }
    assert!(s.mock.requests().is_empty());
}

/// The rows seeded for the query tests: `Task 000` .. `Task 249`, score
/// `i % 37`, done when `i` is even, tagged `odd`/`even`.
fn seed_rows(s: &Setup) -> Vec<(String, u32, usize)> {
    (0..250)
        .map(|i| {
            let score = (i % 37) as u32;
            let tag = if i % 2 == 0 { "even" } else { "odd" };
            let id = s.row(&format!("Task {i:03}"), score, i % 2 == 0, &[tag]);
            (id, score, i)
        })
        .collect()
}

#[tokio::test]
async fn query_database_follows_cursors_with_a_filter_and_sorts() {
    let s = setup().await;
    let rows = seed_rows(&s);
    // Open rows (odd i), highest score first, then oldest first.
    let mut expected: Vec<&(String, u32, usize)> = rows.iter().filter(|r| r.2 % 2 == 1).collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let filter = json!({"property": "Done", "checkbox": {"equals": false}});
    let sorts = json!([
        {"property": "Score", "direction": "descending"},
        {"timestamp": "created_time", "direction": "ascending"},
    ]);

    let report = s
        .run(
            "query-database",
            json!({"database_id": DB, "filter": filter, "sorts": sorts, "max_results": 1000}),
        )
        .await;
    let out = data(&report);
    let pages = out["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 125);
    assert_eq!(out["has_more"], false);
    assert_eq!(out["next_cursor"], Value::Null);
    let ids: Vec<&str> = pages
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    let want: Vec<&str> = expected.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, want);
    assert_eq!(pages[0]["properties"]["Done"], false);
    assert_eq!(pages[0]["properties"]["Tags"], json!(["odd"]));

    let requests = s.mock.requests();
    assert_eq!(requests.len(), 2, "125 results are two pages of 100");
    let path = format!("/v1/databases/{DB}/query");
    for req in &requests {
        assert_notion_request(req, "POST", &path);
    }
    assert_eq!(
        requests[0].json().expect("JSON body"),
        json!({"page_size": 100, "filter": filter, "sorts": sorts})
    );
    // The second request continues from Notion's `next_cursor`: the id of
    // the 101st result.
    assert_eq!(
        requests[1].json().expect("JSON body"),
        json!({"page_size": 100, "filter": filter, "sorts": sorts, "start_cursor": want[100]})
    );
}

#[tokio::test]
async fn query_database_stops_at_max_results_and_resumes_from_its_cursor() {
    let s = setup().await;
    let rows = seed_rows(&s);
    let filter = json!({"and": [
        {"property": "Tags", "multi_select": {"contains": "even"}},
        {"property": "Name", "title": {"starts_with": "Task 1"}},
    ]});
    // Even i from 100 to 198, in creation order: 50 rows.
    let want: Vec<&str> = rows
        .iter()
        .filter(|r| r.2 % 2 == 0 && (100..200).contains(&r.2))
        .map(|r| r.0.as_str())
        .collect();
    assert_eq!(want.len(), 50);

    let first = s
        .run(
            "query-database",
            json!({"database_id": DB, "filter": filter, "max_results": 30}),
        )
        .await;
    let out = data(&first);
    assert_eq!(out["pages"].as_array().expect("pages").len(), 30);
    assert_eq!(out["has_more"], true);
    assert_eq!(out["next_cursor"], json!(want[30]));
    assert_eq!(
        metadata(&first),
        [("next-cursor".to_string(), want[30].to_string())]
    );
    assert_eq!(
        s.mock.requests()[0].json().expect("JSON body"),
        json!({"page_size": 30, "filter": filter})
    );

    let second = s
        .run(
            "query-database",
            json!({"database_id": DB, "filter": filter, "max_results": 30,
                   "start_cursor": out["next_cursor"]}),
        )
        .await;
    let rest = data(&second);
    let ids: Vec<&str> = rest["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, want[30..]);
    assert_eq!(rest["has_more"], false);
    assert!(metadata(&second).is_empty());
}

#[tokio::test]
async fn page_properties_of_every_kind_come_out_as_plain_values() {
    let s = setup().await;
    let page_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    // A page as Notion returns it, with kinds the mock does not store.
    s.mock.faults().push(workway_mocks::MockResponse::json(
        200,
        json!({
            "object": "page", "id": page_id,
            "created_time": "2024-05-01T10:00:00.000Z",
            "last_edited_time": "2024-05-02T11:00:00.000Z",
            "archived": false, "in_trash": false,
            "url": "https://www.notion.so/Mixed-0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d",
            "properties": {
                "Name": {"id": "title", "type": "title", "title": [
                    {"type": "text", "text": {"content": "Mi", "link": null}, "plain_text": "Mi"},
                    {"type": "mention", "mention": {"type": "user"}, "plain_text": "xed"}]},
                "Total": {"id": "a", "type": "formula", "formula": {"type": "number", "number": 42}},
                "Label": {"id": "b", "type": "formula", "formula": {"type": "string", "string": "hi"}},
                "When": {"id": "c", "type": "formula", "formula": {"type": "date",
                          "date": {"start": "2024-06-01", "end": null, "time_zone": null}}},
                "Stage": {"id": "d", "type": "select", "select": null},
                "Status": {"id": "e", "type": "status", "status": {"id": "x", "name": "Done", "color": "green"}},
                "Due": {"id": "f", "type": "date", "date": null},
                "Link": {"id": "g", "type": "url", "url": null},
                "Count": {"id": "h", "type": "rollup", "rollup": {"type": "number", "number": 3}},
                "Files": {"id": "i", "type": "files", "files": []},
                "Owner": {"id": "j", "type": "people", "people": [{"object": "user", "id": USER}]},
                "Created": {"id": "k", "type": "created_time", "created_time": "2024-05-01T10:00:00.000Z"},
            },
        }),
    ));
    let report = s
        .run(
            "update-page",
            json!({"page_id": page_id, "archived": false}),
        )
        .await;
    assert_eq!(
        data(&report)["properties"],
        json!({
            "Name": "Mixed",
            "Total": 42,
            "Label": "hi",
            "When": {"start": "2024-06-01", "end": null},
            "Stage": null,
            "Status": "Done",
            "Due": null,
            "Link": null,
            "Count": null,
            "Files": null,
            "Owner": [USER],
            "Created": "2024-05-01T10:00:00.000Z",
        })
    );
}

#[tokio::test]
async fn an_unknown_property_is_invalid_input_with_notions_message() {
    let s = setup().await;
    let report = s
        .run(
            "create-page",
            json!({"database_id": DB, "properties": {"Nme": {"title": "Typo"}}}),
        )
        .await;
    let IntegrationError::InvalidInput { message } = integration_error(&report) else {
        panic!("{report:#?}")
    };
    assert!(
        message.contains("Nme is not a property that exists."),
        "{message}"
    );
    assert!(message.contains("validation_error"), "{message}");

    let wrong_type = s
        .run(
            "create-page",
            json!({"database_id": DB, "properties": {"Score": {"rich_text": "three"}}}),
        )
        .await;
    let IntegrationError::InvalidInput { message } = integration_error(&wrong_type) else {
        panic!("{wrong_type:#?}")
    };
    assert!(
        message.contains("Score is expected to be number."),
        "{message}"
    );
    assert!(s.mock.pages(DB).is_empty());
}

#[tokio::test]
async fn an_invalid_token_is_auth_expired() {
    let s = setup_with_token("secret_revoked").await;
    let report = s.run("query-database", json!({"database_id": DB})).await;
    let IntegrationError::AuthExpired { message } = integration_error(&report) else {
        panic!("{report:#?}")
    };
    assert!(message.contains("API token is invalid."), "{message}");
    assert_eq!(
        s.mock.requests()[0].header("authorization"),
        Some("Bearer secret_revoked")
    );
}

#[tokio::test]
async fn rate_limited_waits_for_retry_after_seconds() {
    let s = setup().await;
    s.mock.faults().push(notion::rate_limited(7));
    let report = s.run("query-database", json!({"database_id": DB})).await;
    assert_eq!(
        integration_error(&report),
        &IntegrationError::RateLimited {
            retry_after_ms: Some(7_000),
            message: "You have been rate limited. Please try again in a few minutes. (Notion rate_limited)".into(),
        }
    );
}

#[tokio::test]
async fn an_unknown_database_is_not_found() {
    let s = setup().await;
    let missing = "00000000-1111-4222-8333-444444444444";
    let report = s
        .run(
            "create-page",
            json!({"database_id": missing, "properties": {"Name": {"title": "x"}}}),
        )
        .await;
    let IntegrationError::NotFound { message } = integration_error(&report) else {
        panic!("{report:#?}")
    };
    assert!(
        message.contains(&format!("Could not find database with ID: {missing}.")),
        "{message}"
    );
    let page = s
        .run("update-page", json!({"page_id": missing, "archived": true}))
        .await;
    assert!(matches!(
        integration_error(&page),
        IntegrationError::NotFound { message } if message.contains("Could not find page with ID")
    ));
}

#[tokio::test]
async fn a_restricted_resource_is_permission_denied() {
    let s = setup().await;
    s.mock.faults().push(notion::restricted_resource());
    let report = s.run("query-database", json!({"database_id": DB})).await;
    let IntegrationError::PermissionDenied { message } = integration_error(&report) else {
        panic!("{report:#?}")
    };
    assert!(message.contains("does not have access"), "{message}");
}

#[tokio::test]
async fn a_conflict_is_upstream_so_it_is_retried() {
    let s = setup().await;
    s.mock.faults().push(notion::conflict_error());
    let report = s
        .run(
            "update-page",
            json!({"page_id": OTHER_PAGE, "archived": true}),
        )
        .await;
    let IntegrationError::Upstream { status, message } = integration_error(&report) else {
        panic!("{report:#?}")
    };
    assert_eq!(*status, 409);
    assert!(
        message.contains("Conflict occurred while saving."),
        "{message}"
    );
}

#[tokio::test]
async fn server_errors_are_upstream_with_their_status() {
    let s = setup().await;
    for (fault, want) in [
        (notion::internal_server_error(), 500),
        (notion::service_unavailable(), 503),
        (
            notion::error(503, "database_connection_unavailable", "Unavailable."),
            503,
        ),
        (notion::gateway_timeout(), 504),
        (
            workway_mocks::MockResponse::text(502, "<html>Bad gateway</html>"),
            502,
        ),
    ] {
        s.mock.faults().push(fault);
        let report = s.run("query-database", json!({"database_id": DB})).await;
        let IntegrationError::Upstream { status, .. } = integration_error(&report) else {
            panic!("{report:#?}")
        };
        assert_eq!(*status, want);
    }
}

#[tokio::test]
async fn a_connection_failure_is_network() {
    let world = World::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let notion = Integration::load("notion").await;
    let caps = world.capabilities(&notion, &[(HOST, port)], &[("notion", TOKEN)]);
    let report = notion
        .run(&caps, "query-database", json!({"database_id": DB}))
        .await;
    assert!(
        matches!(integration_error(&report), IntegrationError::Network { .. }),
        "{report:#?}"
    );
}

#[tokio::test]
async fn every_manifest_example_runs_against_the_replay_file() {
    let notion = Integration::load("notion").await;
    let caps = notion.replay();
    for action in ["create-page", "update-page", "query-database"] {
        let report = notion.run(&caps, action, notion.example(action)).await;
        let out = data(&report);
        assert!(out.is_object(), "{action}: {out}");
    }
}

#[tokio::test]
async fn fuel_of_each_action_on_the_mock() {
    let s = setup().await;
    let id = s.row("Measure", 1, false, &["a"]);
    for i in 0..20 {
        s.row(&format!("Row {i}"), i, i % 2 == 0, &["b"]);
    }
    let runs = [
        (
            "create-page",
            json!({
                "database_id": DB,
                "properties": {
                    "Name": {"title": "Weekly review"}, "Score": {"number": 3},
                    "Tags": {"multi_select": ["ops", "weekly"]}, "Due": {"date": "2024-05-01"},
                    "Done": {"checkbox": false},
                },
                "content": "Agenda for the week.\n\nAction items from last week.",
            }),
        ),
        (
            "update-page",
            json!({"page_id": id, "properties": {"Done": {"checkbox": true}, "Score": {"number": 5}}}),
        ),
        (
            "query-database",
            json!({
                "database_id": DB,
                "filter": {"property": "Done", "checkbox": {"equals": false}},
                "sorts": [{"property": "Score", "direction": "ascending"}],
                "max_results": 10,
            }),
        ),
    ];
    for (action, input) in runs {
        let report = s.run(action, input).await;
        data(&report);
        println!("figure notion.{action} fuel={}", report.fuel_used);
    }
}
