//! Workway's Slack integration: post messages and list conversations
//! through Slack's Web API (`https://slack.com/api`), authorised by the
//! user's Slack connection (a bot token the host attaches).

mod api;
mod model;

use serde_json::{Map, Value};
use workway_sdk::prelude::*;

use crate::model::{Conversation, ConversationsList, PostMessage, PostedMessage};

/// The most blocks Slack accepts in one message.
const MAX_BLOCKS: usize = 50;

/// The largest page Slack recommends for `conversations.list`.
const PAGE_SIZE: usize = 200;

/// How many pages a channel-name lookup reads before giving up (the host
/// allows 50 requests per execution; one is kept for the post).
const MAX_LOOKUP_PAGES: usize = 40;

/// How many pages `list-channels` reads at most (Slack may answer with
/// short, even empty, pages before the end).
const MAX_LIST_PAGES: usize = 45;

/// A message to post.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageInput {
    /// Where to post: a conversation id (`C0123ABCD`, `G...`, `D...`) or a
    /// channel name (`general` or `#general`), which is looked up among the
    /// public and private channels the app can see.
    pub channel: String,
    /// The message text (Slack mrkdwn). With `blocks`, it is the fallback
    /// shown in notifications and by clients that cannot render blocks.
    pub text: String,
    /// Block Kit layout blocks, sent to Slack exactly as given (at most 50;
    /// each an object with a `type`).
    #[serde(default)]
    pub blocks: Option<Vec<Map<String, Value>>>,
    /// Reply in a thread: the `ts` of the thread's parent message
    /// (`1712345678.000100`).
    #[serde(default)]
    pub thread_ts: Option<String>,
    /// Whether Slack unfurls links to text-based content (Slack's default
    /// when absent).
    #[serde(default)]
    pub unfurl_links: Option<bool>,
}

/// The posted message.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SendMessageOutput {
    /// The id of the conversation the message was posted to.
    pub channel: String,
    /// The message's timestamp, its id within the conversation.
    pub ts: String,
    /// The message text as Slack stored it.
    pub text: String,
    /// The thread's parent `ts`, when the message is a thread reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

/// Post a message to a Slack channel, by channel id or name, optionally
/// with Block Kit blocks or as a thread reply.
#[action(name = "send-message")]
fn send_message(ctx: &Context, input: SendMessageInput) -> Result<SendMessageOutput> {
    if input.text.trim().is_empty() {
        return Err(Error::invalid_input(
            "text is empty: give the message text (with blocks, the notification fallback)",
        ));
    }
    if let Some(blocks) = &input.blocks
        && blocks.len() > MAX_BLOCKS
    {
        return Err(Error::invalid_input(format!(
            "blocks: {} given, Slack accepts at most {MAX_BLOCKS} per message; split the message",
            blocks.len()
        )));
    }
    let thread_ts = input.thread_ts.as_deref().map(str::trim);
    if let Some(ts) = thread_ts
        && !is_ts(ts)
    {
        return Err(Error::invalid_input(format!(
            "thread_ts `{ts}` is not a Slack message timestamp: give the parent message's `ts` (like `1712345678.000100`)"
        )));
    }

    let conn = ctx.connection("slack")?;
    let channel = resolve_channel(&conn, &input.channel)?;
    let posted: PostedMessage = api::post_json(
        &conn,
        "chat.postMessage",
        &PostMessage {
            channel: &channel,
            text: &input.text,
            blocks: input.blocks.as_deref(),
            thread_ts,
            unfurl_links: input.unfurl_links,
        },
    )?;
    let message = posted.message;
    let (text, echoed_thread) = match message {
        Some(m) => (m.text, m.thread_ts),
        None => (None, None),
    };
    Ok(SendMessageOutput {
        channel: posted.channel,
        ts: posted.ts,
        text: text.unwrap_or(input.text),
        thread_ts: echoed_thread.or_else(|| thread_ts.map(str::to_string)),
    })
}

/// Whether `s` looks like a Slack message timestamp (`1712345678.000100`).
fn is_ts(s: &str) -> bool {
    match s.split_once('.') {
        Some((secs, micros)) => {
            !secs.is_empty()
                && !micros.is_empty()
                && secs.bytes().all(|b| b.is_ascii_digit())
                && micros.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Whether `s` is a conversation id rather than a name: ids are upper-case
/// (`C0123ABCD`, `G...`, `D...`), names never are.
fn is_conversation_id(s: &str) -> bool {
    s.len() >= 9
        && s.starts_with(['C', 'G', 'D'])
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The conversation id `channel` names.
fn resolve_channel(conn: &Connection, channel: &str) -> Result<String> {
    let channel = channel.trim();
    let name = match channel.strip_prefix('#') {
        Some(name) => name.trim(),
        None if is_conversation_id(channel) => return Ok(channel.to_string()),
        None => channel,
    };
    if name.is_empty() {
        return Err(Error::invalid_input(
            "channel is empty: give a channel id (`C0123ABCD`) or name (`#general`)",
        ));
    }
    let wanted = name.to_lowercase();
    let limit = PAGE_SIZE.to_string();
    let mut cursor = String::new();
    for _ in 0..MAX_LOOKUP_PAGES {
        let mut query = vec![
            ("types", "public_channel,private_channel"),
            ("exclude_archived", "false"),
            ("limit", limit.as_str()),
        ];
        if !cursor.is_empty() {
            query.push(("cursor", cursor.as_str()));
        }
        let page: ConversationsList = api::get(conn, "conversations.list", &query)?;
        let found = page.channels.iter().find(|c| {
            c.name.as_deref() == Some(wanted.as_str())
                || c.name_normalized.as_deref() == Some(wanted.as_str())
        });
        if let Some(found) = found {
            return Ok(found.id.clone());
        }
        match page.next_cursor() {
            Some(next) if next != cursor => cursor = next.to_string(),
            _ => {
                return Err(Error::not_found(format!(
                    "no channel named `#{wanted}` among the public channels and the private channels the app is in; check the name or invite the app"
                )));
            }
        }
    }
    Err(Error::not_found(format!(
        "no channel named `#{wanted}` among the first {} channels; give the channel id instead",
        MAX_LOOKUP_PAGES * PAGE_SIZE
    )))
}

/// A kind of Slack conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationType {
    /// Public channels.
    PublicChannel,
    /// Private channels the app is in.
    PrivateChannel,
    /// Group direct messages the app is in.
    Mpim,
    /// Direct messages with the app.
    Im,
}

impl ConversationType {
    fn as_str(self) -> &'static str {
        match self {
            ConversationType::PublicChannel => "public_channel",
            ConversationType::PrivateChannel => "private_channel",
            ConversationType::Mpim => "mpim",
            ConversationType::Im => "im",
        }
    }
}

fn default_types() -> Vec<ConversationType> {
    vec![ConversationType::PublicChannel]
}

fn default_true() -> bool {
    true
}

fn default_max_results() -> u32 {
    200
}

/// Which conversations to list.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListChannelsInput {
    /// The kinds of conversation to list (default: public channels only).
    #[serde(default = "default_types")]
    #[schemars(length(min = 1))]
    pub types: Vec<ConversationType>,
    /// Leave out archived channels (default true).
    #[serde(default = "default_true")]
    pub exclude_archived: bool,
    /// The most conversations to return, 1 to 1000 (default 200).
    #[serde(default = "default_max_results")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_results: u32,
}

/// One conversation.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Channel {
    /// The conversation id (`C0123ABCD`).
    pub id: String,
    /// The channel name without `#` (null for direct messages).
    pub name: Option<String>,
    /// Whether it is private (private channels, group and direct messages).
    pub is_private: bool,
    /// Whether it is archived.
    pub is_archived: bool,
    /// Whether the app is a member (it can post only where it is).
    pub is_member: bool,
    /// How many members it has (null when Slack does not say, as for
    /// direct messages).
    pub num_members: Option<u64>,
    /// The channel topic (empty when unset).
    pub topic: String,
    /// The channel purpose (empty when unset).
    pub purpose: String,
    /// When it was created, in Unix seconds.
    pub created: i64,
}

impl From<Conversation> for Channel {
    fn from(c: Conversation) -> Self {
        let direct = c.is_im || c.is_mpim;
        Channel {
            id: c.id,
            name: c.name,
            is_private: c.is_private || direct,
            is_archived: c.is_archived,
            is_member: c.is_member.unwrap_or(direct),
            num_members: c.num_members,
            topic: c.topic.map(|t| t.value).unwrap_or_default(),
            purpose: c.purpose.map(|p| p.value).unwrap_or_default(),
            created: c.created,
        }
    }
}

/// The conversations found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListChannelsOutput {
    /// The conversations, in Slack's order.
    pub channels: Vec<Channel>,
}

/// List the workspace's channels the app can see (public by default; also
/// private channels, group and direct messages when asked), following
/// Slack's pagination up to `max_results`.
#[action(name = "list-channels")]
fn list_channels(ctx: &Context, input: ListChannelsInput) -> Result<ListChannelsOutput> {
    if input.types.is_empty() {
        return Err(Error::invalid_input(
            "types is empty: give at least one of public_channel, private_channel, mpim, im",
        ));
    }
    if !(1..=1000).contains(&input.max_results) {
        return Err(Error::invalid_input(format!(
            "max_results {} is out of range: give 1 to 1000",
            input.max_results
        )));
    }
    let mut kinds: Vec<&str> = Vec::new();
    for kind in &input.types {
        if !kinds.contains(&kind.as_str()) {
            kinds.push(kind.as_str());
        }
    }
    let types = kinds.join(",");
    let exclude_archived = if input.exclude_archived {
        "true"
    } else {
        "false"
    };
    let max = input.max_results as usize;

    let conn = ctx.connection("slack")?;
    let mut channels: Vec<Channel> = Vec::new();
    let mut cursor = String::new();
    for _ in 0..MAX_LIST_PAGES {
        let limit = (max - channels.len()).min(PAGE_SIZE).to_string();
        let mut query = vec![
            ("types", types.as_str()),
            ("exclude_archived", exclude_archived),
            ("limit", limit.as_str()),
        ];
        if !cursor.is_empty() {
            query.push(("cursor", cursor.as_str()));
        }
        let page: ConversationsList = api::get(&conn, "conversations.list", &query)?;
        let next = page.next_cursor().map(str::to_string);
        channels.extend(page.channels.into_iter().map(Channel::from));
        match next {
            Some(next) if next != cursor && channels.len() < max => cursor = next,
            Some(next) if channels.len() >= max => {
                ctx.set_metadata("next-cursor", next);
                cursor.clear();
                break;
            }
            _ => {
                cursor.clear();
                break;
            }
        }
    }
    if !cursor.is_empty() {
        // Stopped on the page cap with more to come.
        ctx.set_metadata("next-cursor", cursor);
    }
    channels.truncate(max);
    Ok(ListChannelsOutput { channels })
}

workway_sdk::integration! {
    name: "slack",
    actions: [send_message, list_channels],
}
