//! Notion's wire format: property values going in (typed input to Notion's
//! request JSON), pages coming out (Notion's page object to a plain map),
//! and the 2000-character rich-text rule.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use workway_sdk::prelude::*;

/// Notion refuses a rich-text piece whose `text.content` is longer than this
/// (counted as JavaScript does, in UTF-16 code units).
pub const MAX_TEXT_CHUNK: usize = 2000;

/// Notion refuses a rich-text array with more pieces than this.
pub const MAX_RICH_TEXT_ITEMS: usize = 100;

/// Notion refuses a page creation with more child blocks than this.
pub const MAX_CHILDREN: usize = 100;

/// A property value to write, named by its Notion property type: one key,
/// e.g. `{"title": "Hello"}`, `{"number": 3}`, `{"multi_select": ["a", "b"]}`,
/// `{"date": "2024-05-01"}`, `{"checkbox": true}`. The type must be the
/// property's type in the database. `null` clears a number, select, status,
/// date, url, email or phone number.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PropertyValue {
    /// The title property's text (every database has exactly one title property).
    Title(String),
    /// Text. Long text is split into pieces of at most 2000 characters, as Notion requires.
    RichText(String),
    /// A number, or null to clear it.
    Number(Option<serde_json::Number>),
    /// A select option's name (created if the database does not have it yet), or null.
    Select(Option<String>),
    /// The names of multi-select options.
    MultiSelect(Vec<String>),
    /// A status option's name, or null.
    Status(Option<String>),
    /// A date (`"2024-05-01"`, or a date-time like `"2024-05-01T09:30:00Z"`), a
    /// range `{"start": ..., "end": ...}`, or null.
    Date(Option<DateValue>),
    /// A checkbox.
    Checkbox(bool),
    /// A URL, or null.
    Url(Option<String>),
    /// An email address, or null.
    Email(Option<String>),
    /// A phone number, or null.
    PhoneNumber(Option<String>),
    /// Notion user ids.
    People(Vec<String>),
    /// Ids of related pages.
    Relation(Vec<String>),
}

/// A date: one ISO 8601 date or date-time, or a range.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DateValue {
    /// One date or date-time, e.g. `"2024-05-01"`.
    On(String),
    /// A range.
    Range(DateRange),
}

/// A date range.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// The first day (or date-time), ISO 8601.
    pub start: String,
    /// The last day (or date-time), ISO 8601; omit for a single date.
    #[serde(default)]
    pub end: Option<String>,
}

/// The pieces of `text`, each at most [`MAX_TEXT_CHUNK`] UTF-16 code units,
/// never splitting a character. Empty text has no pieces.
pub fn chunks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut units) = (0, 0);
    for (i, c) in text.char_indices() {
        if units + c.len_utf16() > MAX_TEXT_CHUNK {
            out.push(&text[start..i]);
            (start, units) = (i, 0);
        }
        units += c.len_utf16();
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Notion's rich-text array for plain `text`: `[{"type": "text", "text":
/// {"content": ...}}, ...]`, chunked. `what` names the text in errors.
pub fn rich_text(what: &str, text: &str) -> Result<Value> {
    let pieces = chunks(text);
    if pieces.len() > MAX_RICH_TEXT_ITEMS {
        return Err(Error::invalid_input(format!(
            "{what} is {} characters long; Notion takes at most {MAX_RICH_TEXT_ITEMS} pieces of \
             {MAX_TEXT_CHUNK} characters ({} characters) there: shorten it",
            text.chars().count(),
            MAX_RICH_TEXT_ITEMS * MAX_TEXT_CHUNK
        )));
    }
    Ok(Value::Array(
        pieces
            .into_iter()
            .map(|piece| json!({"type": "text", "text": {"content": piece}}))
            .collect(),
    ))
}

fn names(names: &[String]) -> Value {
    names.iter().map(|name| json!({"name": name})).collect()
}

fn ids(ids: &[String]) -> Value {
    ids.iter().map(|id| json!({"id": id})).collect()
}

fn option_name(name: &Option<String>) -> Value {
    name.as_ref()
        .map_or(Value::Null, |name| json!({"name": name}))
}

impl PropertyValue {
    /// Notion's request JSON for this value of property `name`, e.g.
    /// `{"select": {"name": "Doing"}}`.
    pub fn to_wire(&self, name: &str) -> Result<Value> {
        let what = || format!("property `{name}`");
        Ok(match self {
            PropertyValue::Title(text) => json!({"title": rich_text(&what(), text)?}),
            PropertyValue::RichText(text) => json!({"rich_text": rich_text(&what(), text)?}),
            PropertyValue::Number(n) => json!({"number": n}),
            PropertyValue::Select(option) => json!({"select": option_name(option)}),
            PropertyValue::MultiSelect(options) => json!({"multi_select": names(options)}),
            PropertyValue::Status(option) => json!({"status": option_name(option)}),
            PropertyValue::Date(None) => json!({"date": null}),
            PropertyValue::Date(Some(DateValue::On(start))) => {
                json!({"date": {"start": start, "end": null}})
            }
            PropertyValue::Date(Some(DateValue::Range(range))) => {
                json!({"date": {"start": range.start, "end": range.end}})
            }
            PropertyValue::Checkbox(checked) => json!({"checkbox": checked}),
            PropertyValue::Url(url) => json!({"url": url}),
            PropertyValue::Email(email) => json!({"email": email}),
            PropertyValue::PhoneNumber(phone) => json!({"phone_number": phone}),
            PropertyValue::People(users) => json!({"people": ids(users)}),
            PropertyValue::Relation(pages) => json!({"relation": ids(pages)}),
        })
    }
}

/// Notion's `properties` object for a map of typed values.
pub fn properties_to_wire(properties: &BTreeMap<String, PropertyValue>) -> Result<Value> {
    let mut out = Map::new();
    for (name, value) in properties {
        out.insert(name.clone(), value.to_wire(name)?);
    }
    Ok(Value::Object(out))
}

/// Paragraph blocks for plain `content`: one per paragraph (paragraphs are
/// separated by blank lines; lines inside a paragraph keep their line
/// breaks), each paragraph's text chunked. At most [`MAX_CHILDREN`].
pub fn paragraphs(content: &str) -> Result<Vec<Value>> {
    let content = content.replace("\r\n", "\n");
    let mut paragraphs: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in content.split('\n') {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    if paragraphs.len() > MAX_CHILDREN {
        return Err(Error::invalid_input(format!(
            "content has {} paragraphs; Notion takes at most {MAX_CHILDREN} blocks when a page \
             is created: merge paragraphs (remove blank lines) or shorten the content",
            paragraphs.len()
        )));
    }
    paragraphs
        .iter()
        .enumerate()
        .map(|(i, lines)| {
            let text = rich_text(
                &format!("paragraph {} of content", i + 1),
                &lines.join("\n"),
            )?;
            Ok(json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": text}}))
        })
        .collect()
}

/// A Notion page, with its properties as plain JSON values.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page {
    /// The page's id (a UUID).
    pub id: String,
    /// The page's address in Notion.
    pub url: String,
    /// When the page was created (ISO 8601).
    pub created_time: String,
    /// When the page was last edited (ISO 8601).
    pub last_edited_time: String,
    /// Whether the page is archived (in the trash).
    pub archived: bool,
    /// Each property's value by property name, as plain JSON: title and
    /// rich_text -> the text (a string); number -> a number or null; select
    /// and status -> the option's name or null; multi_select -> the names
    /// (an array of strings); date -> `{"start": ..., "end": ...}` or null;
    /// checkbox -> true or false; url, email and phone_number -> a string or
    /// null; people and relation -> the ids (an array of strings); formula ->
    /// its value (date formulas as `{"start", "end"}`); created_time and
    /// last_edited_time -> the time (a string); any other kind -> null.
    pub properties: BTreeMap<String, Value>,
}

/// Notion's page object, as far as [`Page`] needs it.
#[derive(Debug, Deserialize)]
pub struct RawPage {
    id: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    created_time: String,
    #[serde(default)]
    last_edited_time: String,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    in_trash: bool,
    #[serde(default)]
    properties: BTreeMap<String, Value>,
}

impl From<RawPage> for Page {
    fn from(raw: RawPage) -> Self {
        Page {
            id: raw.id,
            url: raw.url,
            created_time: raw.created_time,
            last_edited_time: raw.last_edited_time,
            archived: raw.archived || raw.in_trash,
            properties: raw
                .properties
                .into_iter()
                .map(|(name, value)| (name, simplify(&value)))
                .collect(),
        }
    }
}

/// The text of a rich-text array: its pieces' `plain_text`, joined.
fn plain_text(pieces: &Value) -> Value {
    let text: String = pieces
        .as_array()
        .map(|pieces| {
            pieces
                .iter()
                .filter_map(|p| {
                    p.get("plain_text")
                        .or_else(|| p.pointer("/text/content"))
                        .and_then(Value::as_str)
                })
                .collect()
        })
        .unwrap_or_default();
    Value::String(text)
}

fn field(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

fn list_of(value: &Value, key: &str) -> Value {
    value
        .as_array()
        .map(|items| items.iter().map(|item| field(item, key)).collect())
        .unwrap_or_else(|| Value::Array(Vec::new()))
}

fn date(value: &Value) -> Value {
    if value.is_object() {
        json!({"start": field(value, "start"), "end": field(value, "end")})
    } else {
        Value::Null
    }
}

/// The plain value of one of Notion's property values (`{"id", "type",
/// <type>: ...}`); see [`Page::properties`].
pub fn simplify(property: &Value) -> Value {
    let Some(kind) = property.get("type").and_then(Value::as_str) else {
        return Value::Null;
    };
    let value = property.get(kind).unwrap_or(&Value::Null);
    match kind {
        "title" | "rich_text" => plain_text(value),
        "number" | "checkbox" | "url" | "email" | "phone_number" | "created_time"
        | "last_edited_time" => value.clone(),
        "select" | "status" => field(value, "name"),
        "multi_select" => list_of(value, "name"),
        "date" => date(value),
        "people" | "relation" => list_of(value, "id"),
        "formula" => match value.get("type").and_then(Value::as_str) {
            Some("date") => date(value.get("date").unwrap_or(&Value::Null)),
            Some(kind) => field(value, kind),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}
