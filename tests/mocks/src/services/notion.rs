//! A stand-in for Notion's REST API (`https://api.notion.com/v1`,
//! `Notion-Version: 2022-06-28`): databases with a property schema, the
//! pages in them, and the three endpoints the Notion integration calls.
//!
//! | method and path | what it does |
//! |---|---|
//! | `POST /v1/pages` | creates a page in a database (`parent.database_id`), with `properties` and `children` blocks |
//! | `GET /v1/pages/{id}` | the page |
//! | `GET /v1/databases/{id}` | the database, with its property schema |
//! | `PATCH /v1/pages/{id}` | sets `properties`, `archived` (or `in_trash`) |
//! | `POST /v1/databases/{id}/query` | the database's pages (archived ones left out), filtered, sorted, paginated |
//!
//! Every request must carry `Authorization: Bearer <an accepted token>` (else
//! 401 `unauthorized`) and `Notion-Version: 2022-06-28` (else 400
//! `missing_version`); a body must be JSON with `Content-Type:
//! application/json` (else 400 `invalid_request` or `invalid_json`). Page
//! properties are checked against the database schema as Notion does: an
//! unknown name is `"<name> is not a property that exists."`, a value of
//! another type `"<name> is expected to be <type>."`, each value has
//! exactly one type key, rich-text arrays hold at most 100 pieces of at
//! most 2000 characters (UTF-16 code units, as Notion counts), a page is
//! created with at most 100 `children`. Unknown ids answer 404
//! `object_not_found` with Notion's message ("Could not find database with
//! ID: ... Make sure the relevant pages and databases are shared with your
//! integration."). Pages come back as Notion's page object (`"object":
//! "page"`, every property of the schema with its `id`, `type` and typed
//! value), queries as Notion's list (`results`, `next_cursor`, `has_more`,
//! `"type": "page_or_database"`), with cursor pagination: `page_size` 1 to
//! 100 (default 100), `next_cursor` the id of the next page of results.
//!
//! The subset of query filters understood (others answer 400
//! `validation_error`): compound `and` / `or`; for `title` and `rich_text`
//! properties (either filter key) `equals`, `does_not_equal`, `contains`,
//! `does_not_contain`, `starts_with`, `ends_with` (case-sensitive),
//! `is_empty`, `is_not_empty`; `number` `equals`, `does_not_equal`,
//! `greater_than`, `less_than`, `greater_than_or_equal_to`,
//! `less_than_or_equal_to`, `is_empty`, `is_not_empty`; `checkbox`
//! `equals`, `does_not_equal`; `select` and `status` `equals`,
//! `does_not_equal`, `is_empty`, `is_not_empty`; `multi_select`
//! `contains`, `does_not_contain`, `is_empty`, `is_not_empty`; `date`
//! `equals`, `before`, `after`, `on_or_before`, `on_or_after`, `is_empty`,
//! `is_not_empty` (on the start, compared as ISO 8601 text). Sorts: by a
//! property (title, rich_text, number, checkbox, select, status,
//! multi_select, date, url, email, phone_number) or by the `created_time` /
//! `last_edited_time` timestamp, `ascending` or `descending`; empty values
//! sort last either way; ties, and queries without sorts, keep creation
//! order.
//!
//! Property types a schema may use: `title`, `rich_text`, `number`,
//! `select`, `multi_select`, `status`, `date`, `checkbox`, `url`, `email`,
//! `phone_number`, `people`, `relation` (all writable), `created_time` and
//! `last_edited_time` (read-only, filled in by the mock).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};

use super::{AcceptedTokens, ServiceServer};
use crate::request::RecordedRequest;
use crate::response::MockResponse;
use crate::{Flavor, TestCa, unauthorized};

/// The host name the mock's certificate is for.
pub const HOST: &str = "api.notion.com";

/// The only `Notion-Version` the mock accepts.
pub const NOTION_VERSION: &str = "2022-06-28";

/// The property types a database schema may use.
pub const PROPERTY_TYPES: &[&str] = &[
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "people",
    "relation",
    "created_time",
    "last_edited_time",
];

const MAX_TEXT: usize = 2000;
const MAX_ITEMS: usize = 100;
const MAX_CHILDREN: usize = 100;
const REQUEST_ID: &str = "7c1f8a2e-4b3d-4e5f-9a6b-0c1d2e3f4a5b";
/// The integration's bot user, the author of every page it writes.
const BOT_USER: &str = "b0b0b0b0-1111-4222-8333-444455556666";

/// Notion's error body with `status`, `code` and `message`.
pub fn error(status: u16, code: &str, message: impl Into<String>) -> MockResponse {
    MockResponse::json(
        status,
        json!({"object": "error", "status": status, "code": code,
               "message": message.into(), "request_id": REQUEST_ID}),
    )
}

/// 400 `validation_error` with `message`.
pub fn validation_error(message: impl Into<String>) -> MockResponse {
    error(400, "validation_error", message)
}

/// 404 `object_not_found` for a `kind` (`database`, `page`) with `id`, in
/// Notion's words.
pub fn object_not_found(kind: &str, id: &str) -> MockResponse {
    error(
        404,
        "object_not_found",
        format!(
            "Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
        ),
    )
}

/// 429 `rate_limited` with `Retry-After: <seconds>`.
pub fn rate_limited(retry_after_secs: u64) -> MockResponse {
    error(
        429,
        "rate_limited",
        "You have been rate limited. Please try again in a few minutes.",
    )
    .header("retry-after", retry_after_secs.to_string())
}

/// 403 `restricted_resource`.
pub fn restricted_resource() -> MockResponse {
    error(
        403,
        "restricted_resource",
        "API token does not have access to this resource.",
    )
}

/// 409 `conflict_error` (Notion asks the caller to retry).
pub fn conflict_error() -> MockResponse {
    error(
        409,
        "conflict_error",
        "Conflict occurred while saving. Please try again.",
    )
}

/// 500 `internal_server_error`.
pub fn internal_server_error() -> MockResponse {
    error(500, "internal_server_error", "Unexpected error occurred.")
}

/// 503 `service_unavailable`.
pub fn service_unavailable() -> MockResponse {
    error(
        503,
        "service_unavailable",
        "Notion is unavailable, please try again later.",
    )
}

/// 504 `gateway_timeout`.
pub fn gateway_timeout() -> MockResponse {
    error(
        504,
        "gateway_timeout",
        "Notion timed out while processing the request.",
    )
}

/// A running Notion mock.
pub struct NotionMock {
    service: ServiceServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for NotionMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotionMock")
            .field("port", &self.service.port())
            .finish_non_exhaustive()
    }
}

impl NotionMock {
    /// Start the mock over TLS for [`HOST`] (certificate signed by `ca`),
    /// accepting the bearer tokens `tokens` accepts. It has no databases yet.
    pub async fn start(ca: &TestCa, tokens: AcceptedTokens) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let service = ServiceServer::start(ca, HOST, move |faults, req| {
            faults
                .take(req)
                .unwrap_or_else(|| handle(&shared, &tokens, req))
        })
        .await;
        NotionMock { service, state }
    }

    /// Add a database with `id` (a UUID, dashes optional), `title` and a
    /// schema of `(property name, property type)` (see [`PROPERTY_TYPES`];
    /// exactly one `title`). Returns the id in canonical form.
    ///
    /// # Panics
    ///
    /// On an invalid id, an unknown type, or not exactly one title property.
    pub fn add_database(&self, id: &str, title: &str, schema: &[(&str, &str)]) -> String {
        let id = canonical_id(id).expect("a database id is a UUID");
        let titles = schema.iter().filter(|(_, kind)| *kind == "title").count();
        assert_eq!(titles, 1, "a database has exactly one title property");
        let properties = schema
            .iter()
            .enumerate()
            .map(|(i, (name, kind))| {
                assert!(
                    PROPERTY_TYPES.contains(kind),
                    "unknown property type {kind}"
                );
                Property {
                    name: (*name).to_string(),
                    id: if *kind == "title" {
                        "title".into()
                    } else {
                        property_id(i)
                    },
                    kind: (*kind).to_string(),
                }
            })
            .collect();
        self.lock().databases.insert(
            id.clone(),
            Database {
                id: id.clone(),
                title: title.to_string(),
                properties,
            },
        );
        id
    }

    /// Add a page to database `database_id` with `properties` in Notion's
    /// request format (`{"Name": {"title": [{"text": {"content": "A"}}]}}`),
    /// checked as `POST /v1/pages` checks them. Returns the page object.
    ///
    /// # Panics
    ///
    /// If the database does not exist or the properties are refused.
    pub fn add_page(&self, database_id: &str, properties: Value) -> Value {
        let body = json!({"parent": {"database_id": database_id}, "properties": properties});
        let mut state = self.lock();
        match state.create_page(&body) {
            Ok(page) => page,
            Err(refusal) => panic!(
                "the mock refused the seeded page: {}",
                String::from_utf8_lossy(&refusal.body)
            ),
        }
    }

    /// The page object of page `id` (archived or not), as `GET /v1/pages/{id}` answers.
    pub fn page(&self, id: &str) -> Option<Value> {
        let state = self.lock();
        let page = state.pages.get(&canonical_id(id)?)?;
        Some(state.render(page))
    }

    /// The child blocks page `id` was created with.
    pub fn children(&self, id: &str) -> Vec<Value> {
        canonical_id(id)
            .and_then(|id| self.lock().pages.get(&id).map(|p| p.children.clone()))
            .unwrap_or_default()
    }

    /// The page objects of database `database_id`, archived ones included, in creation order.
    pub fn pages(&self, database_id: &str) -> Vec<Value> {
        let Some(database_id) = canonical_id(database_id) else {
            return Vec::new();
        };
        let state = self.lock();
        let mut pages: Vec<&StoredPage> = state
            .pages
            .values()
            .filter(|p| p.database_id == database_id)
            .collect();
        pages.sort_by_key(|p| p.seq);
        pages.into_iter().map(|p| state.render(p)).collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A property of a database schema.
#[derive(Debug, Clone)]
struct Property {
    name: String,
    id: String,
    kind: String,
}

#[derive(Debug)]
struct Database {
    id: String,
    title: String,
    properties: Vec<Property>,
}

impl Database {
    /// Notion's database object.
    fn render(&self) -> Value {
        let properties: Map<String, Value> = self
            .properties
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    json!({"id": p.id, "name": p.name, "type": p.kind, p.kind.as_str(): {}}),
                )
            })
            .collect();
        let title = json!([{"type": "text", "text": {"content": self.title, "link": null},
                            "annotations": default_annotations(), "plain_text": self.title,
                            "href": null}]);
        json!({
            "object": "database",
            "id": self.id,
            "title": title,
            "description": [],
            "properties": properties,
            "parent": {"type": "workspace", "workspace": true},
            "url": format!("https://www.notion.so/{}", self.id.replace('-', "")),
            "archived": false,
            "in_trash": false,
            "is_inline": false,
        })
    }

    /// The property named (or with id) `key`.
    fn property(&self, key: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name == key)
            .or_else(|| self.properties.iter().find(|p| p.id == key))
    }
}

#[derive(Debug)]
struct StoredPage {
    id: String,
    database_id: String,
    seq: u64,
    created: u64,
    edited: u64,
    archived: bool,
    /// Typed values (Notion's response form) by property name.
    values: BTreeMap<String, Value>,
    children: Vec<Value>,
}

#[derive(Debug, Default)]
struct State {
    databases: BTreeMap<String, Database>,
    pages: BTreeMap<String, StoredPage>,
    /// Ids handed out so far.
    counter: u64,
    /// Minutes after 2024-05-01T00:00Z; one passes per write.
    clock: u64,
}

type Answer = Result<Value, MockResponse>;

fn handle(state: &Mutex<State>, tokens: &AcceptedTokens, req: &RecordedRequest) -> MockResponse {
    if !tokens.check(req) {
        return unauthorized(Flavor::Notion, None);
    }
    match req.header("notion-version") {
        None => {
            return error(
                400,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
            );
        }
        Some(v) if v != NOTION_VERSION => {
            return validation_error(format!(
                "Notion-Version header failed validation: Notion-Version header should be one of the supported versions (the mock knows `{NOTION_VERSION}`), instead was `{v}`."
            ));
        }
        Some(_) => {}
    }
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let answer = match (req.method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "pages"]) => body(req).and_then(|body| lock(state).create_page(&body)),
        ("GET", ["v1", "pages", id]) => path_id("page_id", id).and_then(|id| {
            let state = lock(state);
            let page = state.page(&id)?;
            Ok(state.render(page))
        }),
        ("PATCH", ["v1", "pages", id]) => path_id("page_id", id)
            .and_then(|id| Ok((id, body(req)?)))
            .and_then(|(id, body)| lock(state).update_page(&id, &body)),
        ("GET", ["v1", "databases", id]) => {
            path_id("database_id", id).and_then(|id| Ok(lock(state).database(&id)?.render()))
        }
        ("POST", ["v1", "databases", id, "query"]) => path_id("database_id", id)
            .and_then(|id| Ok((id, body(req)?)))
            .and_then(|(id, body)| lock(state).query(&id, &body)),
        _ => Err(error(400, "invalid_request_url", "Invalid request URL.")),
    };
    match answer {
        Ok(value) => MockResponse::json(200, value),
        Err(refusal) => refusal,
    }
}

/// The request's JSON object body (an empty body is `{}`).
fn body(req: &RecordedRequest) -> Answer {
    let content_type = req.header("content-type").unwrap_or_default();
    if !req.body.is_empty()
        && !content_type
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(error(
            400,
            "invalid_request",
            format!(
                "Content-Type header should be `application/json`, instead was `{content_type}`."
            ),
        ));
    }
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    match req.json() {
        Some(value @ Value::Object(_)) => Ok(value),
        Some(_) => Err(invalid("body should be an object")),
        None => Err(error(400, "invalid_json", "Error parsing JSON body.")),
    }
}

/// A `validation_error` for a body check, in Notion's words.
fn invalid(what: impl std::fmt::Display) -> MockResponse {
    validation_error(format!("body failed validation: {what}."))
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "undefined".to_string(), Value::to_string)
}

fn path_id(name: &str, raw: &str) -> Result<String, MockResponse> {
    canonical_id(raw).ok_or_else(|| {
        validation_error(format!(
            "path failed validation: path.{name} should be a valid uuid, instead was `\"{raw}\"`."
        ))
    })
}

/// `8-4-4-4-12` lower-case form of a UUID given with or without dashes.
fn canonical_id(raw: &str) -> Option<String> {
    let hex: String = raw.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// A well-mixed 64-bit number from `n` (splitmix64).
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A short, URL-encoded-looking property id, as Notion gives them (`%3AUPp`).
fn property_id(index: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut n = mix(index as u64 + 1000);
    let mut id = String::from("%3A");
    for _ in 0..3 {
        id.push(char::from(CHARS[(n % CHARS.len() as u64) as usize]));
        n /= CHARS.len() as u64;
    }
    id
}

/// ISO 8601 time `minutes` after 2024-05-01T00:00:00.000Z.
fn timestamp(minutes: u64) -> String {
    // Days since 1970-01-01 of 2024-05-01.
    const BASE_DAYS: i64 = 19_844;
    let days = BASE_DAYS + (minutes / 1440) as i64;
    let (h, m) = ((minutes % 1440) / 60, minutes % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:00.000Z")
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

fn default_annotations() -> Value {
    json!({"bold": false, "italic": false, "strikethrough": false, "underline": false,
           "code": false, "color": "default"})
}

/// Notion's rich-text response objects for a request's rich-text array at `path`.
fn rich_text(path: &str, value: &Value) -> Result<Value, MockResponse> {
    let items = value
        .as_array()
        .ok_or_else(|| invalid(format!("{path} should be an array, instead was `{value}`")))?;
    if items.len() > MAX_ITEMS {
        return Err(invalid(format!(
            "{path}.length should be ≤ `{MAX_ITEMS}`, instead was `{}`",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if let Some(kind) = item.get("type").filter(|t| *t != "text") {
            return Err(invalid(format!(
                "{at}.type should be `\"text\"` (the mock knows text only), instead was `{kind}`"
            )));
        }
        let text = item.get("text").filter(|t| t.is_object()).ok_or_else(|| {
            invalid(format!(
                "{at}.text should be defined, instead was `{}`",
                shown(item.get("text"))
            ))
        })?;
        let content = text.get("content").and_then(Value::as_str).ok_or_else(|| {
            invalid(format!(
                "{at}.text.content should be a string, instead was `{}`",
                shown(text.get("content"))
            ))
        })?;
        let length = content.encode_utf16().count();
        if length > MAX_TEXT {
            return Err(invalid(format!(
                "{at}.text.content.length should be ≤ `{MAX_TEXT}`, instead was `{length}`"
            )));
        }
        let link = text.get("link").cloned().unwrap_or(Value::Null);
        let mut annotations = default_annotations();
        if let (Some(given), Some(all)) = (
            item.get("annotations").and_then(Value::as_object),
            annotations.as_object_mut(),
        ) {
            for (k, v) in given {
                all.insert(k.clone(), v.clone());
            }
        }
        out.push(json!({
            "type": "text",
            "text": {"content": content, "link": link},
            "annotations": annotations,
            "plain_text": content,
            "href": link.get("url").cloned().unwrap_or(Value::Null),
        }));
    }
    Ok(Value::Array(out))
}

/// The option object Notion returns for a select, status or multi-select `name`.
fn option(name: &str) -> Value {
    let hash = name
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let id = format!("{:08x}", mix(hash) as u32);
    json!({"id": format!("{}-{}", &id[..4], &id[4..]), "name": name, "color": "default"})
}

/// The option named in a request's `{"name": ...}` at `path`.
fn option_in(path: &str, value: &Value) -> Result<Value, MockResponse> {
    match value.get("name").and_then(Value::as_str) {
        Some(name) if name.contains(',') => Err(invalid(format!(
            "{path}.name should not contain commas, instead was `\"{name}\"`"
        ))),
        Some(name) => Ok(option(name)),
        None => Err(invalid(format!(
            "{path}.name should be defined, instead was `{}`",
            shown(value.get("name"))
        ))),
    }
}

/// `[{"id": ...}]` at `path`, as `{"object": "user", "id"}` when `users`.
fn references(path: &str, value: &Value, users: bool) -> Result<Value, MockResponse> {
    let items = value
        .as_array()
        .ok_or_else(|| invalid(format!("{path} should be an array, instead was `{value}`")))?;
    if items.len() > MAX_ITEMS {
        return Err(invalid(format!(
            "{path}.length should be ≤ `{MAX_ITEMS}`, instead was `{}`",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let raw = item.get("id").and_then(Value::as_str).unwrap_or_default();
            let id = canonical_id(raw).ok_or_else(|| {
                invalid(format!(
                    "{path}[{i}].id should be a valid uuid, instead was `{}`",
                    shown(item.get("id"))
                ))
            })?;
            Ok(if users {
                json!({"object": "user", "id": id})
            } else {
                json!({"id": id})
            })
        })
        .collect()
}

fn nullable_string(path: &str, value: &Value) -> Result<Value, MockResponse> {
    match value {
        Value::Null | Value::String(_) => Ok(value.clone()),
        other => Err(invalid(format!(
            "{path} should be a string or `null`, instead was `{other}`"
        ))),
    }
}

/// The stored (response-form) value of a request's property value `value`
/// for `property`.
fn property_value(property: &Property, value: &Value) -> Result<Value, MockResponse> {
    let name = &property.name;
    let kind = property.kind.as_str();
    let expected = || validation_error(format!("{name} is expected to be {kind}."));
    let object = value.as_object().ok_or_else(expected)?;
    let type_keys: Vec<&String> = object
        .keys()
        .filter(|k| !matches!(k.as_str(), "type" | "id"))
        .collect();
    if type_keys.len() != 1 || type_keys[0] != kind {
        return Err(expected());
    }
    if object.get("type").is_some_and(|t| t != kind) {
        return Err(expected());
    }
    let inner = &object[kind];
    let path = format!("body.properties.{name}.{kind}");
    match kind {
        "title" | "rich_text" => rich_text(&path, inner),
        "number" => match inner {
            Value::Null | Value::Number(_) => Ok(inner.clone()),
            other => Err(invalid(format!(
                "{path} should be a number or `null`, instead was `{other}`"
            ))),
        },
        "select" | "status" => match inner {
            Value::Null => Ok(Value::Null),
            option => option_in(&path, option),
        },
        "multi_select" => {
            let items = inner.as_array().ok_or_else(|| {
                invalid(format!("{path} should be an array, instead was `{inner}`"))
            })?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| option_in(&format!("{path}[{i}]"), item))
                .collect()
        }
        "date" => match inner {
            Value::Null => Ok(Value::Null),
            Value::Object(date) => {
                let start = date
                    .get("start")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !is_iso_date(start) {
                    return Err(invalid(format!(
                        "{path}.start should be a valid ISO 8601 date string, instead was `{}`",
                        shown(date.get("start"))
                    )));
                }
                let end = date.get("end").cloned().unwrap_or(Value::Null);
                if !(end.is_null() || end.as_str().is_some_and(is_iso_date)) {
                    return Err(invalid(format!(
                        "{path}.end should be a valid ISO 8601 date string or `null`, instead was `{end}`"
                    )));
                }
                Ok(json!({"start": start, "end": end,
                          "time_zone": date.get("time_zone").cloned().unwrap_or(Value::Null)}))
            }
            other => Err(invalid(format!(
                "{path} should be an object or `null`, instead was `{other}`"
            ))),
        },
        "checkbox" => match inner {
            Value::Bool(_) => Ok(inner.clone()),
            other => Err(invalid(format!(
                "{path} should be a boolean, instead was `{other}`"
            ))),
        },
        "url" | "email" | "phone_number" => nullable_string(&path, inner),
        "people" => references(&path, inner, true),
        "relation" => references(&path, inner, false),
        _ => Err(validation_error(format!(
            "{name} is a {kind} property, which cannot be set."
        ))),
    }
}

/// The empty value of a property of `kind` on a new page.
fn empty_value(kind: &str) -> Value {
    match kind {
        "title" | "rich_text" | "multi_select" | "people" | "relation" => json!([]),
        "checkbox" => json!(false),
        _ => Value::Null,
    }
}

/// The plain text of a title or rich-text value.
fn plain(value: &Value) -> String {
    value
        .as_array()
        .map(|pieces| {
            pieces
                .iter()
                .filter_map(|p| p.get("plain_text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

impl State {
    fn next_id(&mut self) -> String {
        self.counter += 1;
        let a = mix(self.counter);
        let b = mix(a);
        canonical_id(&format!(
            "{:08x}{:04x}4{:03x}8{:03x}{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        ))
        .unwrap_or_default()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn database(&self, id: &str) -> Result<&Database, MockResponse> {
        self.databases
            .get(id)
            .ok_or_else(|| object_not_found("database", id))
    }

    fn page(&self, id: &str) -> Result<&StoredPage, MockResponse> {
        self.pages
            .get(id)
            .ok_or_else(|| object_not_found("page", id))
    }

    /// Checked, stored values for a request's `properties` object.
    fn property_values(
        &self,
        database: &Database,
        properties: Option<&Value>,
    ) -> Result<BTreeMap<String, Value>, MockResponse> {
        let Some(properties) = properties else {
            return Ok(BTreeMap::new());
        };
        let properties = properties.as_object().ok_or_else(|| {
            invalid(format!(
                "body.properties should be an object, instead was `{properties}`"
            ))
        })?;
        let mut out = BTreeMap::new();
        for (key, value) in properties {
            let property = database
                .property(key)
                .ok_or_else(|| validation_error(format!("{key} is not a property that exists.")))?;
            out.insert(property.name.clone(), property_value(property, value)?);
        }
        Ok(out)
    }

    fn create_page(&mut self, body: &Value) -> Answer {
        if let Some(key) = body.as_object().and_then(|b| {
            b.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "parent" | "properties" | "children" | "icon" | "cover"
                )
            })
        }) {
            return Err(invalid(format!("body.{key} should be not present")));
        }
        let parent = body
            .get("parent")
            .ok_or_else(|| invalid("body.parent should be defined, instead was `undefined`"))?;
        let raw_id = parent
            .get("database_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid(format!(
                    "body.parent.database_id should be defined (the mock keeps pages in databases only), instead was `{}`",
                    shown(parent.get("database_id"))
                ))
            })?;
        let database_id = canonical_id(raw_id).ok_or_else(|| {
            invalid(format!(
                "body.parent.database_id should be a valid uuid, instead was `\"{raw_id}\"`"
            ))
        })?;
        let database = self.database(&database_id)?;
        let mut values = self.property_values(database, body.get("properties"))?;
        for property in &database.properties {
            values
                .entry(property.name.clone())
                .or_insert_with(|| empty_value(&property.kind));
        }
        let children = match body.get("children") {
            None => Vec::new(),
            Some(children) => self.blocks(children)?,
        };
        let id = self.next_id();
        let now = self.tick();
        let page = StoredPage {
            id: id.clone(),
            database_id,
            seq: self.counter,
            created: now,
            edited: now,
            archived: false,
            values,
            children,
        };
        let rendered = self.render(&page);
        self.pages.insert(id, page);
        Ok(rendered)
    }

    /// Checked, stored blocks for a request's `children`.
    fn blocks(&mut self, children: &Value) -> Result<Vec<Value>, MockResponse> {
        let items = children.as_array().ok_or_else(|| {
            invalid(format!(
                "body.children should be an array, instead was `{children}`"
            ))
        })?;
        if items.len() > MAX_CHILDREN {
            return Err(invalid(format!(
                "body.children.length should be ≤ `{MAX_CHILDREN}`, instead was `{}`",
                items.len()
            )));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, block) in items.iter().enumerate() {
            let kind = block.get("type").and_then(Value::as_str).ok_or_else(|| {
                invalid(format!(
                    "body.children[{i}].type should be defined, instead was `{}`",
                    shown(block.get("type"))
                ))
            })?;
            let mut content = block
                .get(kind)
                .filter(|c| c.is_object())
                .cloned()
                .ok_or_else(|| {
                    invalid(format!(
                        "body.children[{i}].{kind} should be an object, instead was `{}`",
                        shown(block.get(kind))
                    ))
                })?;
            if let Some(text) = content.get("rich_text") {
                content["rich_text"] =
                    rich_text(&format!("body.children[{i}].{kind}.rich_text"), text)?;
            }
            let id = self.next_id();
            out.push(
                json!({"object": "block", "id": id, "type": kind, kind: content,
                            "has_children": false, "archived": false}),
            );
        }
        Ok(out)
    }

    fn update_page(&mut self, id: &str, body: &Value) -> Answer {
        if let Some(key) = body.as_object().and_then(|b| {
            b.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "properties" | "archived" | "in_trash" | "icon" | "cover"
                )
            })
        }) {
            return Err(invalid(format!("body.{key} should be not present")));
        }
        let archived = match body.get("archived").or_else(|| body.get("in_trash")) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(invalid(format!(
                    "body.archived should be a boolean, instead was `{other}`"
                )));
            }
        };
        let page = self.page(id)?;
        if page.archived && archived != Some(false) && body.get("properties").is_some() {
            return Err(validation_error(
                "Can't edit block that is archived. You must unarchive the block before editing.",
            ));
        }
        let database = self.database(&page.database_id)?;
        let values = self.property_values(database, body.get("properties"))?;
        let now = self.tick();
        let page = self
            .pages
            .get_mut(id)
            .ok_or_else(|| object_not_found("page", id))?;
        page.values.extend(values);
        if let Some(archived) = archived {
            page.archived = archived;
        }
        page.edited = now;
        let page = self.page(id)?;
        Ok(self.render(page))
    }

    fn query(&self, database_id: &str, body: &Value) -> Answer {
        let database = self.database(database_id)?;
        if let Some(key) = body.as_object().and_then(|b| {
            b.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "filter" | "sorts" | "start_cursor" | "page_size"
                )
            })
        }) {
            return Err(invalid(format!("body.{key} should be not present")));
        }
        let page_size = match body.get("page_size") {
            None => MAX_ITEMS as u64,
            Some(size) => match size.as_u64() {
                Some(n) if (1..=MAX_ITEMS as u64).contains(&n) => n,
                Some(n) if n > MAX_ITEMS as u64 => {
                    return Err(invalid(format!(
                        "body.page_size should be ≤ `{MAX_ITEMS}`, instead was `{n}`"
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                        "body.page_size should be a number between 1 and {MAX_ITEMS}, instead was `{size}`"
                    )));
                }
            },
        };
        let mut pages: Vec<&StoredPage> = self
            .pages
            .values()
            .filter(|p| p.database_id == database_id && !p.archived)
            .collect();
        pages.sort_by_key(|p| p.seq);
        if let Some(filter) = body.get("filter") {
            let mut kept = Vec::new();
            for page in pages {
                if matches(database, filter, page)? {
                    kept.push(page);
                }
            }
            pages = kept;
        }
        if let Some(sorts) = body.get("sorts") {
            let keys = sort_keys(database, sorts)?;
            pages.sort_by(|a, b| {
                keys.iter()
                    .map(|key| key.compare(a, b))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
        }
        let start = match body.get("start_cursor") {
            None | Some(Value::Null) => 0,
            Some(cursor) => {
                let cursor_id = cursor.as_str().and_then(canonical_id);
                pages
                    .iter()
                    .position(|p| Some(&p.id) == cursor_id.as_ref())
                    .ok_or_else(|| {
                        validation_error(format!("start_cursor provided is invalid: {cursor}"))
                    })?
            }
        };
        let end = (start + page_size as usize).min(pages.len());
        let results: Vec<Value> = pages[start..end].iter().map(|p| self.render(p)).collect();
        let next = pages.get(end).map(|p| p.id.clone());
        Ok(json!({
            "object": "list",
            "results": results,
            "next_cursor": next,
            "has_more": next.is_some(),
            "type": "page_or_database",
            "page_or_database": {},
            "request_id": REQUEST_ID,
        }))
    }

    /// Notion's page object for `page`.
    fn render(&self, page: &StoredPage) -> Value {
        let mut properties = Map::new();
        let mut title = String::new();
        if let Some(database) = self.databases.get(&page.database_id) {
            for property in &database.properties {
                let kind = property.kind.as_str();
                let value = match kind {
                    "created_time" => json!(timestamp(page.created)),
                    "last_edited_time" => json!(timestamp(page.edited)),
                    _ => page
                        .values
                        .get(&property.name)
                        .cloned()
                        .unwrap_or_else(|| empty_value(kind)),
                };
                if kind == "title" {
                    title = plain(&value);
                }
                let mut entry = json!({"id": property.id, "type": kind, kind: value});
                if kind == "relation" {
                    entry["has_more"] = json!(false);
                }
                properties.insert(property.name.clone(), entry);
            }
        }
        let slug: Vec<&str> = title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let compact = page.id.replace('-', "");
        let url = if slug.is_empty() {
            format!("https://www.notion.so/{compact}")
        } else {
            format!("https://www.notion.so/{}-{compact}", slug.join("-"))
        };
        json!({
            "object": "page",
            "id": page.id,
            "created_time": timestamp(page.created),
            "last_edited_time": timestamp(page.edited),
            "created_by": {"object": "user", "id": BOT_USER},
            "last_edited_by": {"object": "user", "id": BOT_USER},
            "cover": null,
            "icon": null,
            "parent": {"type": "database_id", "database_id": page.database_id},
            "archived": page.archived,
            "in_trash": page.archived,
            "properties": properties,
            "url": url,
            "public_url": null,
        })
    }
}

/// A filter refused for using something outside the mock's subset.
fn unsupported(what: impl std::fmt::Display) -> MockResponse {
    invalid(format!(
        "body.filter: {what} is not supported (see the mock's subset)"
    ))
}

/// Whether `page` passes `filter`.
fn matches(database: &Database, filter: &Value, page: &StoredPage) -> Result<bool, MockResponse> {
    let object = filter.as_object().ok_or_else(|| {
        invalid(format!(
            "body.filter should be an object, instead was `{filter}`"
        ))
    })?;
    if let Some(all) = object.get("and") {
        let parts = all
            .as_array()
            .ok_or_else(|| unsupported("a non-array `and`"))?;
        for part in parts {
            if !matches(database, part, page)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(any) = object.get("or") {
        let parts = any
            .as_array()
            .ok_or_else(|| unsupported("a non-array `or`"))?;
        for part in parts {
            if matches(database, part, page)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let name = object
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported(format!("the filter {filter}")))?;
    let property = database.property(name).ok_or_else(|| {
        validation_error(format!("Could not find property with name or id: {name}"))
    })?;
    let kind = property.kind.as_str();
    let (key, condition) = object
        .iter()
        .find(|(k, _)| k.as_str() != "property")
        .ok_or_else(|| unsupported(format!("the filter {filter}")))?;
    let text_kinds = ["title", "rich_text"];
    let fits = key == kind || (text_kinds.contains(&key.as_str()) && text_kinds.contains(&kind));
    if !fits {
        return Err(invalid(format!(
            "body.filter.{key} does not match the type of property `{name}`, which is {kind}"
        )));
    }
    let (op, operand) = condition
        .as_object()
        .and_then(|c| c.iter().next())
        .ok_or_else(|| unsupported(format!("the condition {condition}")))?;
    let value = page
        .values
        .get(&property.name)
        .cloned()
        .unwrap_or(Value::Null);
    let bad = || unsupported(format!("`{key}.{op}` with {operand}"));
    Ok(match kind {
        "title" | "rich_text" => {
            let text = plain(&value);
            let s = operand.as_str();
            match (op.as_str(), s) {
                ("equals", Some(s)) => text == s,
                ("does_not_equal", Some(s)) => text != s,
                ("contains", Some(s)) => text.contains(s),
                ("does_not_contain", Some(s)) => !text.contains(s),
                ("starts_with", Some(s)) => text.starts_with(s),
                ("ends_with", Some(s)) => text.ends_with(s),
                ("is_empty", _) => text.is_empty(),
                ("is_not_empty", _) => !text.is_empty(),
                _ => return Err(bad()),
            }
        }
        "number" => {
            let n = value.as_f64();
            let x = operand.as_f64();
            match (op.as_str(), n, x) {
                ("is_empty", _, _) => n.is_none(),
                ("is_not_empty", _, _) => n.is_some(),
                ("equals", n, Some(x)) => n == Some(x),
                ("does_not_equal", n, Some(x)) => n != Some(x),
                ("greater_than", Some(n), Some(x)) => n > x,
                ("less_than", Some(n), Some(x)) => n < x,
                ("greater_than_or_equal_to", Some(n), Some(x)) => n >= x,
                ("less_than_or_equal_to", Some(n), Some(x)) => n <= x,
                (_, None, Some(_)) => false,
                _ => return Err(bad()),
            }
        }
        "checkbox" => match (op.as_str(), operand.as_bool()) {
            ("equals", Some(b)) => value.as_bool() == Some(b),
            ("does_not_equal", Some(b)) => value.as_bool() != Some(b),
            _ => return Err(bad()),
        },
        "select" | "status" => {
            let chosen = value.get("name").and_then(Value::as_str);
            match (op.as_str(), operand.as_str()) {
                ("equals", Some(s)) => chosen == Some(s),
                ("does_not_equal", Some(s)) => chosen != Some(s),
                ("is_empty", _) => chosen.is_none(),
                ("is_not_empty", _) => chosen.is_some(),
                _ => return Err(bad()),
            }
        }
        "multi_select" => {
            let names: Vec<&str> = value
                .as_array()
                .map(|items| items.iter().filter_map(|o| o["name"].as_str()).collect())
                .unwrap_or_default();
            match (op.as_str(), operand.as_str()) {
                ("contains", Some(s)) => names.contains(&s),
                ("does_not_contain", Some(s)) => !names.contains(&s),
                ("is_empty", _) => names.is_empty(),
                ("is_not_empty", _) => !names.is_empty(),
                _ => return Err(bad()),
            }
        }
        "date" => {
            let start = value.get("start").and_then(Value::as_str);
            match (op.as_str(), start, operand.as_str()) {
                ("is_empty", _, _) => start.is_none(),
                ("is_not_empty", _, _) => start.is_some(),
                (_, None, Some(_)) => false,
                ("equals", Some(d), Some(x)) => d == x,
                ("before", Some(d), Some(x)) => d < x,
                ("after", Some(d), Some(x)) => d > x,
                ("on_or_before", Some(d), Some(x)) => d <= x,
                ("on_or_after", Some(d), Some(x)) => d >= x,
                _ => return Err(bad()),
            }
        }
        _ => return Err(unsupported(format!("filtering {kind} properties"))),
    })
}

/// What a sort compares.
enum SortBy {
    Property(String, String),
    Created,
    Edited,
}

struct SortKey {
    by: SortBy,
    descending: bool,
}

/// A comparable form of a value; `None` for empty.
#[derive(PartialEq, PartialOrd)]
enum Key {
    Number(f64),
    Text(String),
}

impl SortKey {
    fn key(&self, page: &StoredPage) -> Option<Key> {
        match &self.by {
            SortBy::Created => Some(Key::Number(page.created as f64)),
            SortBy::Edited => Some(Key::Number(page.edited as f64)),
            SortBy::Property(name, kind) => {
                let value = page.values.get(name)?;
                match kind.as_str() {
                    "title" | "rich_text" => {
                        Some(plain(value)).filter(|t| !t.is_empty()).map(Key::Text)
                    }
                    "number" => value.as_f64().map(Key::Number),
                    "checkbox" => Some(Key::Number(if value.as_bool() == Some(true) {
                        1.0
                    } else {
                        0.0
                    })),
                    "select" | "status" => value["name"].as_str().map(|s| Key::Text(s.into())),
                    "multi_select" => {
                        let names: Vec<&str> = value
                            .as_array()
                            .map(|items| items.iter().filter_map(|o| o["name"].as_str()).collect())
                            .unwrap_or_default();
                        (!names.is_empty()).then(|| Key::Text(names.join(",")))
                    }
                    "date" => value["start"].as_str().map(|s| Key::Text(s.into())),
                    _ => value.as_str().map(|s| Key::Text(s.into())),
                }
            }
        }
    }

    fn compare(&self, a: &StoredPage, b: &StoredPage) -> Ordering {
        match (self.key(a), self.key(b)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let order = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                if self.descending {
                    order.reverse()
                } else {
                    order
                }
            }
        }
    }
}

fn sort_keys(database: &Database, sorts: &Value) -> Result<Vec<SortKey>, MockResponse> {
    let items = sorts.as_array().ok_or_else(|| {
        invalid(format!(
            "body.sorts should be an array, instead was `{sorts}`"
        ))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, sort)| {
            let descending = match sort.get("direction").and_then(Value::as_str) {
                Some("ascending") => false,
                Some("descending") => true,
                _ => {
                    return Err(invalid(format!(
                        "body.sorts[{i}].direction should be `\"ascending\"` or `\"descending\"`, instead was `{}`",
                        shown(sort.get("direction"))
                    )));
                }
            };
            let by = if let Some(name) = sort.get("property").and_then(Value::as_str) {
                let property = database.property(name).ok_or_else(|| {
                    validation_error(format!("Could not find sort property with name or id: {name}"))
                })?;
                if matches!(property.kind.as_str(), "people" | "relation") {
                    return Err(unsupported(format!("sorting by {} properties", property.kind)));
                }
                match property.kind.as_str() {
                    "created_time" => SortBy::Created,
                    "last_edited_time" => SortBy::Edited,
                    kind => SortBy::Property(property.name.clone(), kind.to_string()),
                }
            } else {
                match sort.get("timestamp").and_then(Value::as_str) {
                    Some("created_time") => SortBy::Created,
                    Some("last_edited_time") => SortBy::Edited,
                    _ => {
                        return Err(invalid(format!(
                            "body.sorts[{i}] should have `property`, or `timestamp` of `\"created_time\"` or `\"last_edited_time\"`, instead was `{sort}`"
                        )));
                    }
                }
            };
            Ok(SortKey { by, descending })
        })
        .collect()
}

impl std::ops::Deref for NotionMock {
    type Target = ServiceServer;

    fn deref(&self) -> &ServiceServer {
        &self.service
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "8f3c2a4b-5d6e-4f70-a1b2-c3d4e5f60718";

    fn state() -> Mutex<State> {
        let mut state = State::default();
        state.databases.insert(
            DB.into(),
            Database {
                id: DB.into(),
                title: "Tasks".into(),
                properties: vec![
                    Property {
                        name: "Name".into(),
                        id: "title".into(),
                        kind: "title".into(),
                    },
                    Property {
                        name: "Done".into(),
                        id: property_id(1),
                        kind: "checkbox".into(),
                    },
                ],
            },
        );
        Mutex::new(state)
    }

    fn request(method: &str, path: &str, headers: &[(&str, &str)], body: Value) -> RecordedRequest {
        let mut all = vec![
            ("authorization".to_string(), "Bearer good".to_string()),
            ("notion-version".to_string(), NOTION_VERSION.to_string()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        for (name, value) in headers {
            all.retain(|(n, _)| n != name);
            if !value.is_empty() {
                all.push((name.to_string(), value.to_string()));
            }
        }
        RecordedRequest {
            method: method.into(),
            path: path.into(),
            query: None,
            headers: all,
            body: serde_json::to_vec(&body).expect("JSON"),
        }
    }

    /// Status, code and message of the mock's answer.
    fn answer(state: &Mutex<State>, req: &RecordedRequest) -> (u16, Value) {
        let response = handle(state, &AcceptedTokens::exactly("good"), req);
        let body: Value = serde_json::from_slice(&response.body).expect("JSON answer");
        (response.status, body)
    }

    fn page_body(properties: Value) -> Value {
        json!({"parent": {"database_id": DB}, "properties": properties})
    }

    #[test]
    fn refuses_what_notion_refuses() {
        let state = state();
        let ok = page_body(json!({"Name": {"title": [{"text": {"content": "A"}}]}}));
        let cases = [
            (
                request("POST", "/v1/pages", &[("authorization", "")], ok.clone()),
                401,
                "unauthorized",
                "API token is invalid.",
            ),
            (
                request("POST", "/v1/pages", &[("notion-version", "")], ok.clone()),
                400,
                "missing_version",
                "Notion-Version header should be defined",
            ),
            (
                request(
                    "POST",
                    "/v1/pages",
                    &[("content-type", "text/plain")],
                    ok.clone(),
                ),
                400,
                "invalid_request",
                "application/json",
            ),
            (
                request("GET", "/v1/nothing", &[], json!({})),
                400,
                "invalid_request_url",
                "Invalid request URL.",
            ),
            (
                request(
                    "POST",
                    "/v1/pages",
                    &[],
                    page_body(json!({"Nme": {"title": []}})),
                ),
                400,
                "validation_error",
                "Nme is not a property that exists.",
            ),
            (
                request(
                    "POST",
                    "/v1/pages",
                    &[],
                    page_body(json!({"Done": {"rich_text": []}})),
                ),
                400,
                "validation_error",
                "Done is expected to be checkbox.",
            ),
            (
                request(
                    "POST",
                    "/v1/pages",
                    &[],
                    page_body(json!({"Name": {"title": [], "rich_text": []}})),
                ),
                400,
                "validation_error",
                "Name is expected to be title.",
            ),
            (
                request(
                    "POST",
                    "/v1/pages",
                    &[],
                    page_body(
                        json!({"Name": {"title": [{"text": {"content": "x".repeat(2001)}}]}}),
                    ),
                ),
                400,
                "validation_error",
                "body.properties.Name.title[0].text.content.length should be ≤ `2000`, instead was `2001`.",
            ),
            (
                request(
                    "POST",
                    "/v1/pages",
                    &[],
                    json!({"parent": {"database_id": DB}, "properties": {},
                    "children": vec![json!({"type": "paragraph", "paragraph": {"rich_text": []}}); 101]}),
                ),
                400,
                "validation_error",
                "body.children.length should be ≤ `100`, instead was `101`.",
            ),
            (
                request(
                    "POST",
                    &format!("/v1/databases/{DB}/query"),
                    &[],
                    json!({"page_size": 101}),
                ),
                400,
                "validation_error",
                "body.page_size should be ≤ `100`, instead was `101`.",
            ),
            (
                request(
                    "POST",
                    &format!("/v1/databases/{DB}/query"),
                    &[],
                    json!({"start_cursor": "8f3c2a4b5d6e4f70a1b2c3d4e5f60000"}),
                ),
                400,
                "validation_error",
                "start_cursor provided is invalid",
            ),
            (
                request(
                    "POST",
                    "/v1/databases/00000000000040008000000000000000/query",
                    &[],
                    json!({}),
                ),
                404,
                "object_not_found",
                "Could not find database with ID: 00000000-0000-4000-8000-000000000000. Make sure the relevant pages and databases are shared with your integration.",
            ),
        ];
        for (req, status, code, message) in cases {
            let (got_status, body) = answer(&state, &req);
            assert_eq!(
                (got_status, body["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
            assert_eq!(body["object"], "error");
            assert!(
                body["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(message)),
                "{body}"
            );
        }
        assert!(lock(&state).pages.is_empty());
    }

    #[test]
    fn stores_pages_and_pages_through_queries() {
        let state = state();
        for i in 0..3 {
            let body = page_body(json!({
                "Name": {"title": [{"text": {"content": format!("Row {i}")}}]},
                "Done": {"checkbox": i == 1},
            }));
            let (status, page) = answer(&state, &request("POST", "/v1/pages", &[], body));
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["object"], "page");
            assert_eq!(page["properties"]["Done"]["type"], "checkbox");
        }
        let query = format!("/v1/databases/{DB}/query");
        let filter = json!({"property": "Done", "checkbox": {"equals": false}});
        let sorts = json!([{"property": "Name", "direction": "descending"}]);
        let (_, first) = answer(
            &state,
            &request(
                "POST",
                &query,
                &[],
                json!({"page_size": 1, "filter": filter, "sorts": sorts}),
            ),
        );
        assert_eq!(first["object"], "list");
        assert_eq!(first["type"], "page_or_database");
        assert_eq!(first["has_more"], true);
        assert_eq!(
            first["results"][0]["properties"]["Name"]["title"][0]["plain_text"],
            "Row 2"
        );
        let (_, second) = answer(
            &state,
            &request(
                "POST",
                &query,
                &[],
                json!({"page_size": 1, "filter": filter, "sorts": sorts, "start_cursor": first["next_cursor"]}),
            ),
        );
        assert_eq!(
            second["results"][0]["properties"]["Name"]["title"][0]["plain_text"],
            "Row 0"
        );
        assert_eq!(second["has_more"], false);
        assert_eq!(second["next_cursor"], Value::Null);
    }

    #[test]
    fn timestamps_count_minutes_from_may_2024() {
        assert_eq!(timestamp(0), "2024-05-01T00:00:00.000Z");
        assert_eq!(timestamp(61), "2024-05-01T01:01:00.000Z");
        assert_eq!(timestamp(31 * 1440), "2024-06-01T00:00:00.000Z");
    }

    #[test]
    fn ids_are_canonical_uuids() {
        assert_eq!(
            canonical_id("8F3C2A4B5D6E4F70A1B2C3D4E5F60718").as_deref(),
            Some("8f3c2a4b-5d6e-4f70-a1b2-c3d4e5f60718")
        );
        assert_eq!(canonical_id("nope"), None);
        let mut state = State::default();
        let (a, b) = (state.next_id(), state.next_id());
        assert_ne!(a, b);
        assert_eq!(canonical_id(&a).as_deref(), Some(a.as_str()));
    }
}
