//! Gmail API wire types (`users.messages`, `users.labels`), as Google
//! documents them; only the fields the actions read.

use serde::{Deserialize, Deserializer, Serialize};

/// A field Google may omit; an explicit `null` reads as the default too.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `users.messages.list`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageList {
    /// Message ids on this page (absent when there are none).
    #[serde(default, deserialize_with = "nullable")]
    pub messages: Vec<MessageRef>,
    /// The token of the next page, if there is one.
    pub next_page_token: Option<String>,
    /// Gmail's estimate of the total number of results.
    #[serde(default, deserialize_with = "nullable")]
    pub result_size_estimate: u64,
}

/// One entry of a message list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    /// The message id.
    pub id: String,
}

/// A `users.messages` resource (`format=full`, or the short answer of
/// `send` and `modify`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The message id.
    pub id: String,
    /// Its thread's id.
    #[serde(default, deserialize_with = "nullable")]
    pub thread_id: String,
    /// Its labels' ids.
    #[serde(default, deserialize_with = "nullable")]
    pub label_ids: Vec<String>,
    /// A short part of the text, HTML-escaped.
    #[serde(default, deserialize_with = "nullable")]
    pub snippet: String,
    /// The parsed MIME structure.
    pub payload: Option<MessagePart>,
}

/// One MIME part of a message (the payload is the top-level part).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePart {
    /// `text/plain`, `multipart/alternative`, ...
    #[serde(default, deserialize_with = "nullable")]
    pub mime_type: String,
    /// The attachment's file name, empty for body parts.
    #[serde(default, deserialize_with = "nullable")]
    pub filename: String,
    /// The part's headers, as sent.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: Vec<Header>,
    /// The part's body (empty for multipart containers).
    #[serde(default, deserialize_with = "nullable")]
    pub body: PartBody,
    /// Child parts of a `multipart/*` part.
    #[serde(default, deserialize_with = "nullable")]
    pub parts: Vec<MessagePart>,
}

impl MessagePart {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// A header as Gmail gives it.
#[derive(Debug, Deserialize)]
pub struct Header {
    /// Its name.
    pub name: String,
    /// Its raw value (encoded-words not decoded).
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

/// A part's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartBody {
    /// The content, base64url, when Gmail inlines it.
    pub data: Option<String>,
    /// Set when the content must be fetched separately (attachments).
    pub attachment_id: Option<String>,
}

/// `users.labels.list`'s answer.
#[derive(Debug, Deserialize)]
pub struct LabelList {
    /// Every label of the mailbox, system and user.
    #[serde(default, deserialize_with = "nullable")]
    pub labels: Vec<Label>,
}

/// A `users.labels` resource.
#[derive(Debug, Deserialize)]
pub struct Label {
    /// The label id (`INBOX`, `Label_12`).
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// `users.labels.create`'s body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewLabel<'a> {
    /// The name.
    pub name: &'a str,
    /// Shown in the label list.
    pub label_list_visibility: &'a str,
    /// Shown in the message list.
    pub message_list_visibility: &'a str,
}

/// `users.messages.send`'s body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest<'a> {
    /// The whole RFC 5322 message, base64url.
    pub raw: String,
    /// The thread to add the message to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<&'a str>,
}

/// `users.messages.modify`'s body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifyRequest<'a> {
    /// Label ids to add.
    pub add_label_ids: [&'a str; 1],
}

/// Google's error body: `{"error": {"code", "message", "errors": [...],
/// "status", "details": [...]}}`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    /// The error.
    #[serde(default, deserialize_with = "nullable")]
    pub error: GoogleError,
}

/// The `error` object of Google's error body.
#[derive(Debug, Default, Deserialize)]
pub struct GoogleError {
    /// A message for people.
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
    /// `NOT_FOUND`, `RESOURCE_EXHAUSTED`, ...
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    /// The legacy per-error reasons (`notFound`, `rateLimitExceeded`).
    #[serde(default, deserialize_with = "nullable")]
    pub errors: Vec<ErrorItem>,
    /// Typed details (`google.rpc.RetryInfo`, ...).
    #[serde(default, deserialize_with = "nullable")]
    pub details: Vec<serde_json::Value>,
}

/// One entry of `error.errors`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorItem {
    /// `notFound`, `rateLimitExceeded`, `userRateLimitExceeded`, ...
    #[serde(default, deserialize_with = "nullable")]
    pub reason: String,
}
