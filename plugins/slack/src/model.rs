//! Slack Web API wire types: what `chat.postMessage` and
//! `conversations.list` send and answer (only the fields the actions use).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of `chat.postMessage`.
#[derive(Debug, Serialize)]
pub struct PostMessage<'a> {
    /// The conversation id.
    pub channel: &'a str,
    /// The text (the notification fallback when `blocks` are given).
    pub text: &'a str,
    /// Block Kit blocks, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<&'a [Map<String, Value>]>,
    /// The parent message's `ts`, for a thread reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<&'a str>,
    /// Whether to unfurl text links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfurl_links: Option<bool>,
}

/// `chat.postMessage`'s answer when `ok` is true.
#[derive(Debug, Deserialize)]
pub struct PostedMessage {
    /// The conversation the message went to.
    pub channel: String,
    /// The message's timestamp (its id within the conversation).
    pub ts: String,
    /// The message as Slack stored it.
    #[serde(default)]
    pub message: Option<StoredMessage>,
}

/// The `message` object of `chat.postMessage`'s answer.
#[derive(Debug, Deserialize)]
pub struct StoredMessage {
    /// The text as Slack stored it.
    #[serde(default)]
    pub text: Option<String>,
    /// The thread's parent `ts`, for a reply.
    #[serde(default)]
    pub thread_ts: Option<String>,
}

/// `conversations.list`'s answer when `ok` is true.
#[derive(Debug, Deserialize)]
pub struct ConversationsList {
    /// One page of conversations.
    #[serde(default)]
    pub channels: Vec<Conversation>,
    /// Where the next page starts.
    #[serde(default)]
    pub response_metadata: Option<ResponseMetadata>,
}

impl ConversationsList {
    /// The cursor of the next page; `None` at the end (Slack sends `""`).
    pub fn next_cursor(&self) -> Option<&str> {
        self.response_metadata
            .as_ref()
            .map(|m| m.next_cursor.as_str())
            .filter(|c| !c.is_empty())
    }
}

/// Slack's `response_metadata`.
#[derive(Debug, Default, Deserialize)]
pub struct ResponseMetadata {
    /// The next page's cursor; empty at the end.
    #[serde(default)]
    pub next_cursor: String,
    /// Details of an error (`invalid_blocks`, `invalid_arguments`).
    #[serde(default)]
    pub messages: Vec<String>,
}

/// A conversation object (channel, private channel, group DM or DM).
#[derive(Debug, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: String,
    /// Its name (absent for DMs).
    #[serde(default)]
    pub name: Option<String>,
    /// Its normalized name.
    #[serde(default)]
    pub name_normalized: Option<String>,
    /// Whether it is private.
    #[serde(default)]
    pub is_private: bool,
    /// Whether it is a DM.
    #[serde(default)]
    pub is_im: bool,
    /// Whether it is a group DM.
    #[serde(default)]
    pub is_mpim: bool,
    /// Whether it is archived.
    #[serde(default)]
    pub is_archived: bool,
    /// Whether the app's user is in it (absent for DMs).
    #[serde(default)]
    pub is_member: Option<bool>,
    /// How many members it has (absent for DMs).
    #[serde(default)]
    pub num_members: Option<u64>,
    /// Its topic.
    #[serde(default)]
    pub topic: Option<TextValue>,
    /// Its purpose.
    #[serde(default)]
    pub purpose: Option<TextValue>,
    /// When it was created, in Unix seconds.
    #[serde(default)]
    pub created: i64,
}

/// A topic or purpose: `{ "value": .., "creator": .., "last_set": .. }`.
#[derive(Debug, Deserialize)]
pub struct TextValue {
    /// The text.
    #[serde(default)]
    pub value: String,
}

/// The fields of an `ok: false` answer.
#[derive(Debug, Default, Deserialize)]
pub struct Failure {
    /// Slack's error code (`channel_not_found`).
    #[serde(default)]
    pub error: String,
    /// For `missing_scope`: the scope the method needs.
    #[serde(default)]
    pub needed: Option<String>,
    /// For `missing_scope`: the scopes the token has.
    #[serde(default)]
    pub provided: Option<String>,
    /// Details (`invalid_blocks`, `invalid_arguments`).
    #[serde(default)]
    pub response_metadata: Option<ResponseMetadata>,
}
