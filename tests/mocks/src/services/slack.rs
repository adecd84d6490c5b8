//! A stand-in for Slack's Web API (`https://slack.com/api/<method>`) as a
//! bot token sees it: `conversations.list` and `chat.postMessage`.
//!
//! Like Slack, it answers failures with HTTP 200 and `{"ok": false,
//! "error": "<code>"}` (`not_authed` without a token, `invalid_auth` with a
//! wrong one), rate limits with HTTP 429 and `Retry-After`. It checks what
//! Slack checks: the bearer token, the request's content type
//! (`missing_post_type`, `invalid_post_type`, `invalid_charset`,
//! `invalid_json`, `json_not_object`, and the `missing_charset` warning for
//! JSON without a charset), the channel (`channel_not_found`,
//! `not_in_channel`, `is_archived`), the message (`no_text`,
//! `msg_too_long`, `invalid_blocks` with Slack's `response_metadata.messages`,
//! `thread_not_found`), and `conversations.list`'s `types`, `limit` and
//! `cursor` (`invalid_types`, `invalid_limit`, `invalid_cursor`), with real
//! cursor pagination (`response_metadata.next_cursor`, `""` at the end).
//!
//! Channels and messages live in memory: seed channels with
//! [`SlackMock::add_channel`], read posted messages back with
//! [`SlackMock::messages`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::{AcceptedTokens, ServiceServer};
use crate::{MockResponse, RecordedRequest, TestCa};

/// The host name the mock's certificate is for.
pub const HOST: &str = "slack.com";
/// The workspace's team id.
pub const TEAM_ID: &str = "T0WORKWAY";
/// The bot user the token belongs to (the author of posted messages).
pub const BOT_USER_ID: &str = "U0WORKWAY";
/// The bot's id.
pub const BOT_ID: &str = "B0WORKWAY";
/// The Slack app's id.
pub const APP_ID: &str = "A0WORKWAY";

/// The most blocks Slack accepts in one message.
const MAX_BLOCKS: usize = 50;
/// The longest message text Slack accepts.
const MAX_TEXT: usize = 40_000;
/// `conversations.list`'s page size when `limit` is absent.
const DEFAULT_LIMIT: usize = 100;
/// `conversations.list`'s largest page.
const MAX_LIMIT: usize = 1000;
/// The first message's timestamp, in seconds.
const FIRST_TS_SECS: u64 = 1_712_345_678;

/// The kind of a conversation, as `conversations.list`'s `types` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A public channel (`C...`).
    PublicChannel,
    /// A private channel (`G...` or `C...`).
    PrivateChannel,
    /// A group direct message.
    Mpim,
    /// A direct message (`D...`).
    Im,
}

impl ChannelKind {
    /// The `types` value (`public_channel`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::PublicChannel => "public_channel",
            ChannelKind::PrivateChannel => "private_channel",
            ChannelKind::Mpim => "mpim",
            ChannelKind::Im => "im",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "public_channel" => Some(ChannelKind::PublicChannel),
            "private_channel" => Some(ChannelKind::PrivateChannel),
            "mpim" => Some(ChannelKind::Mpim),
            "im" => Some(ChannelKind::Im),
            _ => None,
        }
    }
}

/// A conversation in the mock workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its id (`C0123ABCD`).
    pub id: String,
    /// Its name without `#` (for a direct message, the other user's id).
    pub name: String,
    /// What kind of conversation it is.
    pub kind: ChannelKind,
    /// Whether it is archived.
    pub is_archived: bool,
    /// Whether the bot is a member (it can post only where it is, and sees
    /// private conversations only where it is).
    pub is_member: bool,
    /// How many members it has.
    pub num_members: u64,
    /// Its topic.
    pub topic: String,
    /// Its purpose.
    pub purpose: String,
    /// When it was created, in Unix seconds.
    pub created: u64,
}

impl Channel {
    fn new(id: &str, name: &str, kind: ChannelKind) -> Self {
        Channel {
            id: id.into(),
            name: name.into(),
            kind,
            is_archived: false,
            is_member: true,
            num_members: 3,
            topic: String::new(),
            purpose: String::new(),
            created: 1_600_000_000,
        }
    }

    /// A public channel the bot is in.
    pub fn public(id: &str, name: &str) -> Self {
        Self::new(id, name, ChannelKind::PublicChannel)
    }

    /// A private channel the bot is in.
    pub fn private(id: &str, name: &str) -> Self {
        Self::new(id, name, ChannelKind::PrivateChannel)
    }

    /// A group direct message including the bot.
    pub fn mpim(id: &str, name: &str) -> Self {
        Self::new(id, name, ChannelKind::Mpim)
    }

    /// A direct message between the bot and `user`.
    pub fn im(id: &str, user: &str) -> Self {
        Self {
            num_members: 2,
            ..Self::new(id, user, ChannelKind::Im)
        }
    }

    /// Archived (builder style).
    pub fn archived(mut self) -> Self {
        self.is_archived = true;
        self
    }

    /// Without the bot as a member (builder style).
    pub fn without_bot(mut self) -> Self {
        self.is_member = false;
        self
    }

    /// With `n` members (builder style).
    pub fn members(mut self, n: u64) -> Self {
        self.num_members = n;
        self
    }

    /// With a topic (builder style).
    pub fn topic(mut self, topic: &str) -> Self {
        self.topic = topic.into();
        self
    }

    /// With a purpose (builder style).
    pub fn purpose(mut self, purpose: &str) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// Created at `created` Unix seconds (builder style).
    pub fn created(mut self, created: u64) -> Self {
        self.created = created;
        self
    }

    /// Whether the bot's token can see it.
    fn visible(&self) -> bool {
        self.kind == ChannelKind::PublicChannel || self.is_member
    }

    /// The conversation object as `conversations.list` returns it.
    pub fn to_json(&self) -> Value {
        let updated = self.created * 1000;
        if self.kind == ChannelKind::Im {
            return json!({
                "id": self.id,
                "created": self.created,
                "is_archived": self.is_archived,
                "is_im": true,
                "is_org_shared": false,
                "context_team_id": TEAM_ID,
                "updated": updated,
                "user": self.name,
                "is_user_deleted": false,
                "priority": 0,
            });
        }
        let text = |value: &str| {
            let set = !value.is_empty();
            json!({
                "value": value,
                "creator": if set { "U0ADMIN" } else { "" },
                "last_set": if set { self.created } else { 0 },
            })
        };
        json!({
            "id": self.id,
            "name": self.name,
            "is_channel": self.kind == ChannelKind::PublicChannel,
            "is_group": self.kind == ChannelKind::PrivateChannel,
            "is_im": false,
            "is_mpim": self.kind == ChannelKind::Mpim,
            "is_private": self.kind != ChannelKind::PublicChannel,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": false,
            "is_org_shared": false,
            "is_pending_ext_shared": false,
            "pending_shared": [],
            "context_team_id": TEAM_ID,
            "updated": updated,
            "parent_conversation": null,
            "creator": "U0ADMIN",
            "is_ext_shared": false,
            "shared_team_ids": [TEAM_ID],
            "pending_connected_team_ids": [],
            "is_member": self.is_member,
            "topic": text(&self.topic),
            "purpose": text(&self.purpose),
            "previous_names": [],
            "num_members": self.num_members,
        })
    }
}

/// A message posted through `chat.postMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The conversation id.
    pub channel: String,
    /// Its timestamp (`1712345678.000100`).
    pub ts: String,
    /// Its text, if any.
    pub text: Option<String>,
    /// Its Block Kit blocks, as received.
    pub blocks: Option<Value>,
    /// The thread's parent `ts`, for a reply.
    pub thread_ts: Option<String>,
    /// The `unfurl_links` argument, if given.
    pub unfurl_links: Option<bool>,
}

#[derive(Debug, Default)]
struct State {
    channels: Vec<Channel>,
    messages: Vec<Message>,
    posted: u64,
    warning: Option<String>,
}

/// The mock Slack Web API server.
pub struct SlackMock {
    service: ServiceServer,
    state: Arc<Mutex<State>>,
}

impl SlackMock {
    /// Start the mock for [`HOST`], with a certificate signed by `ca`,
    /// accepting the bot tokens `tokens` accepts. The workspace starts
    /// empty: seed it with [`add_channel`](Self::add_channel).
    pub async fn start(ca: &TestCa, tokens: AcceptedTokens) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let service = ServiceServer::start(ca, HOST, move |faults, req| {
            faults
                .take(req)
                .unwrap_or_else(|| handle(&shared, &tokens, req))
        })
        .await;
        SlackMock { service, state }
    }

    /// Add a conversation to the workspace (after those already there, in
    /// `conversations.list`'s order).
    pub fn add_channel(&self, channel: Channel) {
        lock(&self.state).channels.push(channel);
    }

    /// From now on, add Slack's `warning` (as `warning` and in
    /// `response_metadata.warnings`) to every successful answer that has
    /// no warning of its own, as Slack does for a deprecated or
    /// superfluous argument (`superfluous_charset`, `missing_charset`...).
    pub fn warn(&self, warning: &str) {
        lock(&self.state).warning = Some(warning.to_string());
    }

    /// Add several conversations.
    pub fn add_channels(&self, channels: impl IntoIterator<Item = Channel>) {
        lock(&self.state).channels.extend(channels);
    }

    /// The workspace's conversations.
    pub fn channels(&self) -> Vec<Channel> {
        lock(&self.state).channels.clone()
    }

    /// Every message posted, in order.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.state).messages.clone()
    }

    /// The messages posted to conversation `channel` (an id), in order.
    pub fn messages_in(&self, channel: &str) -> Vec<Message> {
        lock(&self.state)
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// The `next_cursor` of a `conversations.list` page whose next page
    /// starts at conversation `id` (what the mock sends and accepts).
    pub fn cursor_for(id: &str) -> String {
        encode_cursor(id)
    }

    /// Slack's answer to a failed call: HTTP 200 with `{"ok": false,
    /// "error": code}`.
    pub fn error(code: &str) -> MockResponse {
        failure(code)
    }

    /// An `ok: false` answer with details in `response_metadata.messages`,
    /// as Slack gives for `invalid_arguments` and `invalid_blocks`.
    pub fn error_with_messages(code: &str, messages: &[&str]) -> MockResponse {
        MockResponse::json(
            200,
            json!({ "ok": false, "error": code, "response_metadata": { "messages": messages } }),
        )
    }

    /// Slack's `missing_scope` answer: the scope the method `needed` and
    /// the scopes the token has (`provided`, comma-separated).
    pub fn missing_scope(needed: &str, provided: &str) -> MockResponse {
        MockResponse::json(
            200,
            json!({ "ok": false, "error": "missing_scope", "needed": needed, "provided": provided }),
        )
    }

    /// Slack's rate limit: HTTP 429 with `Retry-After: <seconds>` and
    /// `{"ok": false, "error": "ratelimited"}`.
    pub fn rate_limited(retry_after_secs: u64) -> MockResponse {
        MockResponse::json(429, json!({ "ok": false, "error": "ratelimited" }))
            .header("retry-after", retry_after_secs.to_string())
    }

    /// An HTTP-level server failure (`503`), with the plain body Slack's
    /// edge sends.
    pub fn server_error(status: u16) -> MockResponse {
        MockResponse::text(
            status,
            "upstream connect error or disconnect/reset before headers",
        )
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn failure(code: &str) -> MockResponse {
    MockResponse::json(200, json!({ "ok": false, "error": code }))
}

fn invalid_blocks(messages: Vec<String>) -> MockResponse {
    MockResponse::json(
        200,
        json!({ "ok": false, "error": "invalid_blocks", "response_metadata": { "messages": messages } }),
    )
}

/// An `ok: true` answer with `body`'s fields, and Slack's warning, if any.
fn success(body: Value, warning: Option<&str>) -> MockResponse {
    let mut object = Map::new();
    object.insert("ok".into(), Value::Bool(true));
    if let Value::Object(fields) = body {
        object.extend(fields);
    }
    if let Some(warning) = warning {
        object.insert("warning".into(), json!(warning));
        let metadata = object
            .entry("response_metadata")
            .or_insert_with(|| json!({}));
        metadata["warnings"] = json!([warning]);
    }
    MockResponse::json(200, Value::Object(object))
}

fn handle(state: &Mutex<State>, tokens: &AcceptedTokens, req: &RecordedRequest) -> MockResponse {
    let Some(method) = req.path.strip_prefix("/api/") else {
        return MockResponse::text(404, "Not Found");
    };
    if req.method != "GET" && req.method != "POST" {
        return MockResponse::status(405).header("allow", "GET, POST");
    }
    match req.bearer_token() {
        None => return failure("not_authed"),
        Some(token) if !tokens.accepts(token) => return failure("invalid_auth"),
        Some(_) => {}
    }
    let mut args = match Args::from_request(req) {
        Ok(args) => args,
        Err(rejection) => return rejection,
    };
    let mut state = lock(state);
    if args.warning.is_none() {
        args.warning.clone_from(&state.warning);
    }
    match method {
        "conversations.list" => conversations_list(&state, &args),
        "chat.postMessage" => post_message(&mut state, &args),
        other => MockResponse::json(
            200,
            json!({ "ok": false, "error": "unknown_method", "req_method": other }),
        ),
    }
}

/// A call's arguments, from the query (GET), a form or a JSON body (POST).
struct Args {
    fields: Map<String, Value>,
    warning: Option<String>,
}

impl Args {
    fn from_request(req: &RecordedRequest) -> Result<Self, MockResponse> {
        let strings = |pairs: Vec<(String, String)>| {
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect::<Map<_, _>>()
        };
        if req.method == "GET" {
            return Ok(Args {
                fields: strings(req.query_pairs()),
                warning: None,
            });
        }
        let Some(content_type) = req.header("content-type") else {
            if req.body.is_empty() {
                return Ok(Args {
                    fields: strings(req.query_pairs()),
                    warning: None,
                });
            }
            return Err(failure("missing_post_type"));
        };
        let mut parts = content_type.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let charset = parts.find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
        });
        if let Some(charset) = &charset
            && !matches!(charset.as_str(), "utf-8" | "utf8" | "iso-8859-1")
        {
            return Err(failure("invalid_charset"));
        }
        let warning = charset.is_none().then(|| "missing_charset".to_string());
        let fields = match media.as_str() {
            "application/json" => match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(fields)) => fields,
                Ok(_) => return Err(failure("json_not_object")),
                Err(_) => return Err(failure("invalid_json")),
            },
            "application/x-www-form-urlencoded" | "text/plain" => {
                if std::str::from_utf8(&req.body).is_err() {
                    return Err(failure("invalid_form_data"));
                }
                strings(req.form())
            }
            // Valid at Slack, but this mock does not parse multipart bodies.
            "multipart/form-data" => return Err(failure("invalid_form_data")),
            _ => return Err(failure("invalid_post_type")),
        };
        Ok(Args { fields, warning })
    }

    /// A text argument (numbers and booleans as their text).
    fn text(&self, name: &str) -> Option<String> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A JSON argument (in a form, the field's text parsed as JSON).
    fn json(&self, name: &str) -> Option<Value> {
        match self.fields.get(name)? {
            Value::String(s) => {
                Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())))
            }
            other => Some(other.clone()),
        }
    }

    /// A boolean argument (`true`, `1`, `false`, `0`).
    fn flag(&self, name: &str) -> Option<bool> {
        match self.fields.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Value::Number(n) => Some(n.as_u64() != Some(0)),
            _ => None,
        }
    }
}

/// A cursor as Slack makes them: base64 of `team:<next conversation id>`.
fn encode_cursor(id: &str) -> String {
    STANDARD.encode(format!("team:{id}"))
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = STANDARD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("team:").map(str::to_string)
}

fn conversations_list(state: &State, args: &Args) -> MockResponse {
    let types = args
        .text("types")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "public_channel".into());
    let mut kinds = Vec::new();
    for name in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        match ChannelKind::parse(name) {
            Some(kind) => kinds.push(kind),
            None => return failure("invalid_types"),
        }
    }
    let exclude_archived = args.flag("exclude_archived").unwrap_or(false);
    let limit = match args.text("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(0) => DEFAULT_LIMIT,
            Ok(n) => n.min(MAX_LIMIT),
            Err(_) => return failure("invalid_limit"),
        },
    };
    let listed: Vec<&Channel> = state
        .channels
        .iter()
        .filter(|c| kinds.contains(&c.kind) && c.visible())
        .filter(|c| !(exclude_archived && c.is_archived))
        .collect();
    let start = match args.text("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => {
            let Some(id) = decode_cursor(&cursor) else {
                return failure("invalid_cursor");
            };
            match listed.iter().position(|c| c.id == id) {
                Some(start) => start,
                None => return failure("invalid_cursor"),
            }
        }
    };
    let end = (start + limit).min(listed.len());
    let next_cursor = listed
        .get(end)
        .map(|c| encode_cursor(&c.id))
        .unwrap_or_default();
    let channels: Vec<Value> = listed[start..end].iter().map(|c| c.to_json()).collect();
    success(
        json!({ "channels": channels, "response_metadata": { "next_cursor": next_cursor } }),
        args.warning.as_deref(),
    )
}

fn post_message(state: &mut State, args: &Args) -> MockResponse {
    let wanted = args.text("channel").unwrap_or_default();
    let wanted = wanted.trim();
    let by_name = wanted.strip_prefix('#').unwrap_or(wanted);
    let Some(channel) = state
        .channels
        .iter()
        .find(|c| c.id == wanted || (c.kind != ChannelKind::Im && c.name == by_name))
        .filter(|c| !wanted.is_empty() && c.visible())
        .cloned()
    else {
        return failure("channel_not_found");
    };
    if channel.is_archived {
        return failure("is_archived");
    }
    if !channel.is_member {
        return failure("not_in_channel");
    }

    let text = args.text("text").filter(|t| !t.is_empty());
    let blocks = match args.json("blocks") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.is_empty() => None,
        Some(Value::Array(items)) => {
            if let Some(messages) = block_errors(&items) {
                return invalid_blocks(messages);
            }
            Some(Value::Array(items))
        }
        Some(_) => return failure("invalid_blocks_format"),
    };
    if text.is_none() && blocks.is_none() {
        return failure("no_text");
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return failure("msg_too_long");
    }
    let thread_ts = match args.text("thread_ts").filter(|t| !t.is_empty()) {
        None => None,
        Some(ts) => {
            let parent = state
                .messages
                .iter()
                .find(|m| m.channel == channel.id && m.ts == ts);
            match parent {
                // A reply to a reply joins the parent's thread.
                Some(parent) => Some(parent.thread_ts.clone().unwrap_or(ts)),
                None => return failure("thread_not_found"),
            }
        }
    };

    state.posted += 1;
    let n = state.posted;
    let ts = format!("{}.{:06}", FIRST_TS_SECS + n / 10_000, (n % 10_000) * 100);
    let message = Message {
        channel: channel.id.clone(),
        ts: ts.clone(),
        text: text.clone(),
        blocks: blocks.clone(),
        thread_ts: thread_ts.clone(),
        unfurl_links: args.flag("unfurl_links"),
    };
    state.messages.push(message);

    let mut stored = json!({
        "user": BOT_USER_ID,
        "type": "message",
        "ts": ts,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": text.unwrap_or_default(),
        "team": TEAM_ID,
        "bot_profile": {
            "id": BOT_ID, "app_id": APP_ID, "name": "Workway", "deleted": false,
            "icons": {}, "updated": FIRST_TS_SECS, "team_id": TEAM_ID,
        },
    });
    if let Some(blocks) = blocks {
        stored["blocks"] = blocks;
    }
    if let Some(parent) = thread_ts {
        stored["thread_ts"] = json!(parent);
        stored["parent_user_id"] = json!(BOT_USER_ID);
    }
    success(
        json!({ "channel": channel.id, "ts": ts, "message": stored }),
        args.warning.as_deref(),
    )
}

/// What Slack says about malformed blocks (`response_metadata.messages`),
/// or `None` when they are well formed.
fn block_errors(blocks: &[Value]) -> Option<Vec<String>> {
    if blocks.len() > MAX_BLOCKS {
        return Some(vec![format!(
            "[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
        )]);
    }
    let messages: Vec<String> = blocks
        .iter()
        .enumerate()
        .filter_map(|(i, block)| match block {
            Value::Object(fields) => match fields.get("type") {
                Some(Value::String(kind)) if !kind.is_empty() => None,
                Some(_) => Some(format!(
                    "[ERROR] must be a string [json-pointer:/blocks/{i}/type]"
                )),
                None => Some(format!(
                    "[ERROR] missing required field: type [json-pointer:/blocks/{i}]"
                )),
            },
            _ => Some(format!(
                "[ERROR] must be an object [json-pointer:/blocks/{i}]"
            )),
        })
        .collect();
    (!messages.is_empty()).then_some(messages)
}

impl std::ops::Deref for SlackMock {
    type Target = ServiceServer;

    fn deref(&self) -> &ServiceServer {
        &self.service
    }
}
