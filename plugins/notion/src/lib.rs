//! Workway's Notion integration: create and update database pages, and
//! query a database, through Notion's REST API (`Notion-Version:
//! 2022-06-28`) with the user's Notion connection.
//!
//! Property values go in typed (`{"Name": {"title": "Hello"}, "Score":
//! {"number": 3}}`) and come out plain (`{"Name": "Hello", "Score": 3}`),
//! so one step's page feeds the next step's input without transforms.

mod api;
mod model;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use workway_sdk::prelude::*;

use api::{Notion, notion_id};
use model::{Page, PropertyValue, RawPage, paragraphs, properties_to_wire};

/// A new page in a database.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePageInput {
    /// The database to add the page to: its id (32 hex digits, with or
    /// without dashes) or its Notion URL.
    pub database_id: String,
    /// The page's property values by property name, each named by its type:
    /// `{"Name": {"title": "Hello"}, "Score": {"number": 3}, "Tags":
    /// {"multi_select": ["a", "b"]}, "Due": {"date": "2024-05-01"}, "Done":
    /// {"checkbox": true}}`.
    pub properties: BTreeMap<String, PropertyValue>,
    /// The page's body as plain text: each paragraph (separated by a blank
    /// line) becomes a paragraph block; at most 100 paragraphs.
    #[serde(default)]
    pub content: Option<String>,
}

/// Add a page to a Notion database, with property values and optional plain-text content.
#[action(name = "create-page")]
fn create_page(ctx: &Context, input: CreatePageInput) -> Result<Page> {
    let database_id = notion_id("database_id", &input.database_id)?;
    let mut body = json!({
        "parent": {"database_id": database_id},
        "properties": properties_to_wire(&input.properties)?,
    });
    if let Some(content) = &input.content {
        body["children"] = Value::Array(paragraphs(content)?);
    }
    let page: RawPage = Notion::connect(ctx)?.post("/pages", &body)?;
    Ok(page.into())
}

/// Changes to a page.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePageInput {
    /// The page to change: its id (32 hex digits, with or without dashes)
    /// or its Notion URL.
    pub page_id: String,
    /// Property values to set, by property name, each named by its type
    /// (as in create-page); properties not named are left as they are.
    #[serde(default)]
    pub properties: Option<BTreeMap<String, PropertyValue>>,
    /// `true` to archive the page (move it to the trash), `false` to restore it.
    #[serde(default)]
    pub archived: Option<bool>,
}

/// Change a Notion page's property values, or archive or restore it.
#[action(name = "update-page")]
fn update_page(ctx: &Context, input: UpdatePageInput) -> Result<Page> {
    let page_id = notion_id("page_id", &input.page_id)?;
    let mut body = Map::new();
    if let Some(properties) = input.properties.as_ref().filter(|p| !p.is_empty()) {
        body.insert("properties".into(), properties_to_wire(properties)?);
    }
    if let Some(archived) = input.archived {
        body.insert("archived".into(), Value::Bool(archived));
    }
    if body.is_empty() {
        return Err(Error::invalid_input(
            "nothing to change: give `properties` (e.g. {\"Done\": {\"checkbox\": true}}), \
             `archived`, or both",
        ));
    }
    let page: RawPage =
        Notion::connect(ctx)?.patch(&format!("/pages/{page_id}"), &Value::Object(body))?;
    Ok(page.into())
}

/// The order of results: by a property, or by a page timestamp.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum Sort {
    /// By a property's value: `{"property": "Due", "direction": "ascending"}`.
    Property {
        /// The property's name.
        property: String,
        /// `ascending` or `descending`.
        direction: Direction,
    },
    /// By when pages were created or edited: `{"timestamp": "created_time",
    /// "direction": "descending"}`.
    Timestamp {
        /// `created_time` or `last_edited_time`.
        timestamp: Timestamp,
        /// `ascending` or `descending`.
        direction: Direction,
    },
}

/// A sort direction.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

/// A page timestamp to sort by.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Timestamp {
    /// When the page was created.
    CreatedTime,
    /// When the page was last edited.
    LastEditedTime,
}

fn default_max_results() -> u32 {
    100
}

/// A database query.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryDatabaseInput {
    /// The database to query: its id (32 hex digits, with or without
    /// dashes) or its Notion URL.
    pub database_id: String,
    /// Which pages to return: Notion's own filter object, passed to Notion
    /// as is (see "Filter database entries" in Notion's API reference), e.g.
    /// `{"property": "Done", "checkbox": {"equals": false}}` or
    /// `{"and": [{"property": "Stage", "select": {"equals": "Doing"}}, ...]}`.
    /// Omit it for every page.
    #[serde(default)]
    pub filter: Option<Value>,
    /// The order of results, most significant first: `[{"property": "Due",
    /// "direction": "ascending"}]` or `[{"timestamp": "created_time",
    /// "direction": "descending"}]`.
    #[serde(default)]
    pub sorts: Vec<Sort>,
    /// The most pages to return, 1 to 1000 (100 by default); more pages are
    /// fetched from Notion 100 at a time.
    #[serde(default = "default_max_results")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_results: u32,
    /// Continue an earlier query from its `next_cursor`.
    #[serde(default)]
    pub start_cursor: Option<String>,
}

/// The pages a query found.
#[derive(Serialize, JsonSchema)]
pub struct QueryDatabaseOutput {
    /// The pages, in the query's order (see `Page.properties` for the plain values).
    pub pages: Vec<Page>,
    /// Whether the database has more matching pages than were returned.
    pub has_more: bool,
    /// When `has_more`: the `start_cursor` that continues the query (also
    /// in the result's `next-cursor` metadata).
    pub next_cursor: Option<String>,
}

/// One page of Notion's list answer.
#[derive(Deserialize)]
struct PageList {
    results: Vec<RawPage>,
    #[serde(default)]
    next_cursor: Option<String>,
    #[serde(default)]
    has_more: bool,
}

/// Requests one query may send, below the host's per-execution cap.
const MAX_REQUESTS: usize = 40;

/// Find pages in a Notion database, filtered and sorted, following Notion's pagination.
#[action(name = "query-database")]
fn query_database(ctx: &Context, input: QueryDatabaseInput) -> Result<QueryDatabaseOutput> {
    let database_id = notion_id("database_id", &input.database_id)?;
    if !(1..=1000).contains(&input.max_results) {
        return Err(Error::invalid_input(format!(
            "max_results is {}; give 1 to 1000",
            input.max_results
        )));
    }
    if input.filter.as_ref().is_some_and(|f| !f.is_object()) {
        return Err(Error::invalid_input(
            "filter must be a Notion filter object, like {\"property\": \"Done\", \"checkbox\": {\"equals\": false}}",
        ));
    }
    let max = input.max_results as usize;
    let notion = Notion::connect(ctx)?;
    let path = format!("/databases/{database_id}/query");
    let mut pages: Vec<Page> = Vec::new();
    let mut cursor = input.start_cursor;
    for _ in 0..MAX_REQUESTS {
        let mut body = json!({"page_size": (max - pages.len()).min(100)});
        if let Some(filter) = &input.filter {
            body["filter"] = filter.clone();
        }
        if !input.sorts.is_empty() {
            body["sorts"] = serde_json::to_value(&input.sorts)?;
        }
        if let Some(cursor) = &cursor {
            body["start_cursor"] = json!(cursor);
        }
        let list: PageList = notion.post(&path, &body)?;
        pages.extend(list.results.into_iter().map(Page::from));
        pages.truncate(max);
        cursor = list.next_cursor.filter(|_| list.has_more);
        if cursor.is_none() || pages.len() >= max {
            break;
        }
    }
    if let Some(cursor) = &cursor {
        ctx.set_metadata("next-cursor", cursor.clone());
    }
    Ok(QueryDatabaseOutput {
        pages,
        has_more: cursor.is_some(),
        next_cursor: cursor,
    })
}

workway_sdk::integration! {
    name: "notion",
    actions: [create_page, update_page, query_database],
}
