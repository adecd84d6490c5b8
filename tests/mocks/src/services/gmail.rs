//! A stand-in for the Gmail REST API (`https://gmail.googleapis.com/gmail/v1`).
//!
//! It keeps one mailbox in memory and serves, under
//! `/gmail/v1/users/{me|ACCOUNT}/`:
//!
//! - `GET messages` (`users.messages.list`): `q`, `maxResults` (default 100,
//!   capped at 500, or at [`GmailMock::set_max_page_size`]), `labelIds` (repeatable: a message must carry all),
//!   `includeSpamTrash`, `pageToken`; newest first, with real
//!   `nextPageToken` pagination (tokens are bound to the query that issued
//!   them) and `resultSizeEstimate`. The `q` subset understood:
//!   `from:x`, `to:x`, `cc:x`, `subject:x`, `label:x` / `in:x` (a label name
//!   or id), `is:unread`, `is:read`, `is:starred`, plain words and
//!   `"quoted phrases"` (matched case-insensitively as substrings of the
//!   subject, the addresses and the body). Any other `operator:value` is
//!   matched as a plain word. Spam and Trash are left out unless
//!   `includeSpamTrash=true`, asked for with `labelIds`, or `in:spam` /
//!   `in:trash` is in `q`.
//! - `GET messages/{id}` (`users.messages.get`): `format` `full` (default),
//!   `metadata` or `minimal`, the real `users.messages` resource (`id`,
//!   `threadId`, `labelIds`, `snippet`, `historyId`, `internalDate`,
//!   `sizeEstimate`, `payload` with `partId`, `mimeType`, `filename`,
//!   `headers`, `body {size, data | attachmentId}`, `parts`).
//! - `POST messages/send`: `{"raw", "threadId"?}`; the raw message is
//!   base64url-decoded and checked (CRLF line endings only, ASCII headers,
//!   lines of at most 998 characters, a recipient in `To`/`Cc`/`Bcc` with
//!   valid addresses, `MIME-Version: 1.0`, a `Content-Type`, a known
//!   `Content-Transfer-Encoding`, base64 bodies in lines of at most 76),
//!   then stored as a `SENT` message and readable with [`GmailMock::sent`].
//! - `POST messages/{id}/modify`: `addLabelIds` / `removeLabelIds`.
//! - `GET labels`, `GET labels/{id}`, `POST labels` (409 `ALREADY_EXISTS`
//!   when the name exists, case-insensitively, system labels included).
//!
//! Every request needs an accepted `Authorization: Bearer` token (else
//! Google's 401), POST bodies need `Content-Type: application/json` and
//! JSON with only known fields (else Google's 400 `INVALID_ARGUMENT`), and
//! unknown ids get Google's 404 body. [`Faults`] answers come ahead of all
//! that, once the token is accepted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::api::unauthorized;
use crate::oauth::Flavor;
use crate::request::RecordedRequest;
use crate::response::MockResponse;
use crate::services::{AcceptedTokens, ServiceServer};
use crate::tls::TestCa;

/// The API host the mock stands in for.
pub const HOST: &str = "gmail.googleapis.com";

/// The mailbox's own address (the `From` of sent messages; also accepted
/// as the `userId` path segment beside `me`).
pub const ACCOUNT: &str = "me@example.com";

/// The system labels every mailbox has.
const SYSTEM_LABELS: &[&str] = &[
    "CHAT",
    "SENT",
    "INBOX",
    "IMPORTANT",
    "TRASH",
    "DRAFT",
    "SPAM",
    "CATEGORY_FORUMS",
    "CATEGORY_UPDATES",
    "CATEGORY_PERSONAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_SOCIAL",
    "STARRED",
    "UNREAD",
];

/// A message to put in the mailbox with [`GmailMock::add_message`].
#[derive(Debug, Clone)]
pub struct SeedMessage {
    /// The `From` header, as sent (`"Jane Doe" <jane@example.com>`).
    pub from: String,
    /// The `To` header's addresses, as sent.
    pub to: Vec<String>,
    /// The `Cc` header's addresses, as sent.
    pub cc: Vec<String>,
    /// The subject, as text.
    pub subject: String,
    /// Write the subject as RFC 2047 encoded-words: its first half
    /// `=?UTF-8?B?...?=`, its second `=?UTF-8?Q?...?=`, folded between.
    pub encode_subject: bool,
    /// The `text/plain` part.
    pub text: Option<String>,
    /// The `text/html` part (with `text`: a `multipart/alternative`).
    pub html: Option<String>,
    /// An attachment `(filename, mime type, content)`: the message becomes
    /// `multipart/mixed` around the body.
    pub attachment: Option<(String, String, Vec<u8>)>,
    /// Label ids (default `INBOX`, `UNREAD`).
    pub labels: Vec<String>,
    /// The `Date` header.
    pub date: String,
    /// The thread to put the message in (default: a new thread).
    pub thread_id: Option<String>,
    /// More headers, appended as given.
    pub extra_headers: Vec<(String, String)>,
}

impl SeedMessage {
    /// A plain-text message in the inbox, unread.
    pub fn new(from: &str, to: &[&str], subject: &str, text: &str) -> Self {
        SeedMessage {
            from: from.into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            cc: Vec::new(),
            subject: subject.into(),
            encode_subject: false,
            text: Some(text.into()),
            html: None,
            attachment: None,
            labels: vec!["INBOX".into(), "UNREAD".into()],
            date: "Tue, 14 Nov 2023 09:30:00 +0100".into(),
            thread_id: None,
            extra_headers: Vec::new(),
        }
    }

    /// Add a `text/html` alternative (builder style).
    pub fn html(mut self, html: &str) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Only a `text/html` body, no plain-text part (builder style).
    pub fn html_only(mut self, html: &str) -> Self {
        self.text = None;
        self.html = Some(html.into());
        self
    }

    /// Encode the subject as RFC 2047 encoded-words (builder style).
    pub fn encoded_subject(mut self) -> Self {
        self.encode_subject = true;
        self
    }

    /// Add `Cc` recipients (builder style).
    pub fn cc(mut self, cc: &[&str]) -> Self {
        self.cc = cc.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Attach a file (builder style).
    pub fn attachment(mut self, filename: &str, mime_type: &str, content: &[u8]) -> Self {
        self.attachment = Some((filename.into(), mime_type.into(), content.to_vec()));
        self
    }

    /// Replace the label ids (builder style).
    pub fn labels(mut self, labels: &[&str]) -> Self {
        self.labels = labels.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Put the message in thread `thread_id` (builder style).
    pub fn in_thread(mut self, thread_id: &str) -> Self {
        self.thread_id = Some(thread_id.into());
        self
    }

    /// Add a header (builder style).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }
}

/// A message received by `messages/send`, as the mock parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The id the mock gave it.
    pub id: String,
    /// Its thread.
    pub thread_id: String,
    /// The `threadId` of the request, if it had one.
    pub requested_thread_id: Option<String>,
    /// The raw RFC 5322 message, decoded from `raw`.
    pub raw: String,
    /// Its headers, in order, unfolded (encoded-words left as sent).
    pub headers: Vec<(String, String)>,
    /// The body, its transfer encoding undone, as UTF-8 text.
    pub body: String,
}

impl SentMessage {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The `Subject`, RFC 2047 `=?UTF-8?B|Q?...?=` words decoded.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(decode_words)
    }
}

struct StoredMessage {
    id: String,
    thread_id: String,
    label_ids: Vec<String>,
    history_id: u64,
    internal_date: u64,
    headers: Vec<(String, String)>,
    subject: String,
    searchable: String,
    snippet: String,
    payload: Value,
    size_estimate: usize,
}

impl StoredMessage {
    fn resource(&self, format: &str) -> Value {
        let mut resource = json!({
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": self.label_ids,
            "snippet": self.snippet,
            "sizeEstimate": self.size_estimate,
            "historyId": self.history_id.to_string(),
            "internalDate": self.internal_date.to_string(),
        });
        match format {
            "full" => resource["payload"] = self.payload.clone(),
            "metadata" => {
                resource["payload"] = json!({
                    "mimeType": self.payload["mimeType"],
                    "headers": self.payload["headers"],
                })
            }
            _ => {}
        }
        resource
    }

    fn short(&self) -> Value {
        json!({ "id": self.id, "threadId": self.thread_id, "labelIds": self.label_ids })
    }

    fn header(&self, name: &str) -> &str {
        header_value(&self.headers, name).unwrap_or_default()
    }
}

#[derive(Clone)]
struct StoredLabel {
    id: String,
    name: String,
    system: bool,
    label_list_visibility: Option<String>,
    message_list_visibility: Option<String>,
}

impl StoredLabel {
    fn resource(&self) -> Value {
        let mut label = json!({
            "id": self.id,
            "name": self.name,
            "type": if self.system { "system" } else { "user" },
        });
        if let Some(v) = &self.label_list_visibility {
            label["labelListVisibility"] = json!(v);
        }
        if let Some(v) = &self.message_list_visibility {
            label["messageListVisibility"] = json!(v);
        }
        label
    }
}

struct State {
    messages: Vec<StoredMessage>,
    labels: Vec<StoredLabel>,
    sent: Vec<SentMessage>,
    /// `pageToken` -> (the query it belongs to, the offset it resumes at).
    page_tokens: HashMap<String, (String, usize)>,
    /// The most messages one list page holds (Gmail's cap is 500).
    max_page_size: usize,
    next_id: u64,
    next_label: u64,
    history: u64,
    clock_ms: u64,
}

impl State {
    fn new() -> Self {
        let labels = SYSTEM_LABELS
            .iter()
            .map(|id| StoredLabel {
                id: id.to_string(),
                name: id.to_string(),
                system: true,
                label_list_visibility: None,
                message_list_visibility: None,
            })
            .collect();
        State {
            messages: Vec::new(),
            labels,
            sent: Vec::new(),
            page_tokens: HashMap::new(),
            max_page_size: 500,
            next_id: 1,
            next_label: 1,
            history: 4_000,
            clock_ms: 1_700_000_000_000,
        }
    }

    fn new_message_id(&mut self) -> String {
        self.next_id += 1;
        format!(
            "{:016x}",
            0x18bc_d2a0_0000_0000_u64 + self.next_id * 0x1_3579
        )
    }

    fn tick(&mut self) -> (u64, u64) {
        self.history += 17;
        self.clock_ms += 60_000;
        (self.history, self.clock_ms)
    }

    fn message(&self, id: &str) -> Option<&StoredMessage> {
        self.messages.iter().find(|m| m.id == id)
    }

    fn label_by_name(&self, name: &str) -> Option<&StoredLabel> {
        self.labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
    }
}

/// The running Gmail mock.
pub struct GmailMock {
    service: ServiceServer,
    state: Arc<Mutex<State>>,
}

impl GmailMock {
    /// Start the mock on 127.0.0.1 with a certificate for [`HOST`] signed
    /// by `ca`, accepting `tokens`.
    pub async fn start(ca: &TestCa, tokens: AcceptedTokens) -> Self {
        let state = Arc::new(Mutex::new(State::new()));
        let shared = state.clone();
        let service = ServiceServer::start(ca, HOST, move |faults, req| {
            if !tokens.check(req) {
                return unauthorized(Flavor::Google, None);
            }
            faults
                .take(req)
                .unwrap_or_else(|| route(&mut lock(&shared), req))
        })
        .await;
        GmailMock { service, state }
    }

    /// Put `seed` in the mailbox, newer than every message so far; its id.
    pub fn add_message(&self, seed: SeedMessage) -> String {
        let mut state = lock(&self.state);
        let id = state.new_message_id();
        let (history_id, internal_date) = state.tick();
        let message = build_seeded(&id, history_id, internal_date, seed);
        state.messages.push(message);
        id
    }

    /// Answer list requests with at most `size` messages a page, whatever
    /// `maxResults` asks (Gmail may return short pages; callers must follow
    /// `nextPageToken`).
    pub fn set_max_page_size(&self, size: usize) {
        lock(&self.state).max_page_size = size.clamp(1, 500);
    }

    /// Remove a message (as if deleted elsewhere).
    pub fn delete_message(&self, id: &str) {
        lock(&self.state).messages.retain(|m| m.id != id);
    }

    /// The message's `users.messages` resource (`format=full`), if it exists.
    pub fn message(&self, id: &str) -> Option<Value> {
        lock(&self.state).message(id).map(|m| m.resource("full"))
    }

    /// The message's label ids, if it exists.
    pub fn label_ids(&self, id: &str) -> Option<Vec<String>> {
        lock(&self.state).message(id).map(|m| m.label_ids.clone())
    }

    /// Create a user label `name` directly; its id.
    pub fn add_label(&self, name: &str) -> String {
        let mut state = lock(&self.state);
        create_label(&mut state, name, "labelShow", "show").id
    }

    /// Every label, as `users.labels` resources.
    pub fn labels(&self) -> Vec<Value> {
        lock(&self.state)
            .labels
            .iter()
            .map(StoredLabel::resource)
            .collect()
    }

    /// The messages received by `messages/send`, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        lock(&self.state).sent.clone()
    }

    /// Google's error body: `{"error": {"code", "message", "errors":
    /// [{"message", "domain", "reason"}], "status"}}`.
    pub fn error(code: u16, status: &str, reason: &str, message: &str) -> MockResponse {
        MockResponse::json(code, error_body(code, status, reason, message))
    }

    /// Google's 404 for an unknown id.
    pub fn not_found() -> MockResponse {
        Self::error(
            404,
            "NOT_FOUND",
            "notFound",
            "Requested entity was not found.",
        )
    }

    /// A 429 `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail
    /// whose `retryDelay` is `retry_delay` (`"30s"`, `"1.5s"`).
    pub fn too_many_requests(retry_delay: &str) -> MockResponse {
        let mut body = error_body(
            429,
            "RESOURCE_EXHAUSTED",
            "rateLimitExceeded",
            "Resource has been exhausted (e.g. check quota).",
        );
        body["error"]["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": retry_delay,
        }]);
        MockResponse::json(429, body)
    }

    /// Gmail's per-user usage limit: a 403 whose reason is
    /// `userRateLimitExceeded` (to be retried, not a permission problem).
    pub fn user_rate_limit_exceeded() -> MockResponse {
        let mut body = error_body(
            403,
            "PERMISSION_DENIED",
            "userRateLimitExceeded",
            "User-rate limit exceeded.  Retry after 2023-11-14T09:31:00.000Z",
        );
        body["error"]["errors"][0]["domain"] = json!("usageLimits");
        MockResponse::json(403, body)
    }

    /// The 403 for a token without the needed scope.
    pub fn insufficient_scopes() -> MockResponse {
        let mut body = error_body(
            403,
            "PERMISSION_DENIED",
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        );
        body["error"]["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com",
            "metadata": { "service": "gmail.googleapis.com", "method": "caribou.api.proto.MailboxService.ListMessages" },
        }]);
        MockResponse::json(403, body)
    }

    /// A 400 `FAILED_PRECONDITION` with `message` (`Mail service not enabled`).
    pub fn failed_precondition(message: &str) -> MockResponse {
        Self::error(400, "FAILED_PRECONDITION", "failedPrecondition", message)
    }

    /// A 400 `INVALID_ARGUMENT` with `message`.
    pub fn invalid_argument(message: &str) -> MockResponse {
        Self::error(400, "INVALID_ARGUMENT", "invalidArgument", message)
    }

    /// Google's 500 `backendError`.
    pub fn backend_error() -> MockResponse {
        Self::error(
            500,
            "INTERNAL",
            "backendError",
            "Internal error encountered.",
        )
    }

    /// Google's 503 `UNAVAILABLE`.
    pub fn unavailable() -> MockResponse {
        Self::error(
            503,
            "UNAVAILABLE",
            "backendError",
            "The service is currently unavailable.",
        )
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error_body(code: u16, status: &str, reason: &str, message: &str) -> Value {
    json!({ "error": {
        "code": code,
        "message": message,
        "errors": [{ "message": message, "domain": "global", "reason": reason }],
        "status": status,
    }})
}

fn invalid(message: &str) -> MockResponse {
    GmailMock::invalid_argument(message)
}

// ---------------------------------------------------------------------------
// Routing

fn route(state: &mut State, req: &RecordedRequest) -> MockResponse {
    let Some(rest) = req.path.strip_prefix("/gmail/v1/users/") else {
        return google_404_page(req);
    };
    let (user, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let user = percent_decode(user);
    if user != "me" && !user.eq_ignore_ascii_case(ACCOUNT) {
        return GmailMock::error(
            403,
            "PERMISSION_DENIED",
            "forbidden",
            &format!("Delegation denied for {ACCOUNT}"),
        );
    }
    let segments: Vec<String> = rest.split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = if req.method == "POST" {
        match json_body(req) {
            Ok(body) => Some(body),
            Err(rejection) => return rejection,
        }
    } else {
        None
    };
    match (req.method.as_str(), segments.as_slice(), body) {
        ("GET", ["messages"], _) => list_messages(state, req),
        ("POST", ["messages", "send"], Some(body)) => send_message(state, &body),
        ("GET", ["messages", id], _) => get_message(state, req, id),
        ("POST", ["messages", id, "modify"], Some(body)) => modify_message(state, id, &body),
        ("GET", ["labels"], _) => {
            let labels: Vec<Value> = state.labels.iter().map(StoredLabel::resource).collect();
            MockResponse::json(200, json!({ "labels": labels }))
        }
        ("GET", ["labels", id], _) => match state.labels.iter().find(|l| l.id == *id) {
            Some(label) => MockResponse::json(200, label.resource()),
            None => GmailMock::not_found(),
        },
        ("POST", ["labels"], Some(body)) => create_label_request(state, &body),
        _ => google_404_page(req),
    }
}

/// What Google answers for a path or method it does not serve.
fn google_404_page(req: &RecordedRequest) -> MockResponse {
    MockResponse::bytes(
        404,
        format!(
            "<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That’s an error.</ins><p>The requested URL <code>{}</code> was not found on this server.  <ins>That’s all we know.</ins>",
            req.path
        ),
    )
    .header("content-type", "text/html; charset=UTF-8")
}

/// A POST body: `Content-Type: application/json` and a JSON object.
fn json_body(req: &RecordedRequest) -> Result<Value, MockResponse> {
    let json_type = req.header("content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json_type {
        return Err(invalid(&format!(
            "Invalid JSON payload received. Content-Type {:?} is not application/json.",
            req.header("content-type").unwrap_or_default()
        )));
    }
    match req.json() {
        Some(body @ Value::Object(_)) => Ok(body),
        _ => Err(invalid(
            "Invalid JSON payload received. Unexpected token.\n\n^",
        )),
    }
}

/// Google's answer to a JSON field the method does not know.
fn unknown_fields(body: &Value, known: &[&str], message: &str) -> Option<MockResponse> {
    let field = body
        .as_object()?
        .keys()
        .find(|k| !known.contains(&k.as_str()))?;
    Some(invalid(&format!(
        "Invalid JSON payload received. Unknown name \"{field}\" at '{message}': Cannot find field."
    )))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// users.messages.list and get

fn list_messages(state: &mut State, req: &RecordedRequest) -> MockResponse {
    const PARAMS: &[&str] = &[
        "q",
        "maxResults",
        "pageToken",
        "labelIds",
        "includeSpamTrash",
        "alt",
        "fields",
        "prettyPrint",
    ];
    let pairs = req.query_pairs();
    if let Some((name, _)) = pairs.iter().find(|(k, _)| !PARAMS.contains(&k.as_str())) {
        return invalid(&format!(
            "Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. Field '{name}' could not be found in request message."
        ));
    }
    let q = req.query_param("q").unwrap_or_default();
    let label_ids: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "labelIds")
        .map(|(_, v)| v.clone())
        .collect();
    let include_spam_trash = match req.query_param("includeSpamTrash").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return invalid(&format!(
                "Invalid value at 'include_spam_trash' (TYPE_BOOL), \"{other}\""
            ));
        }
    };
    let max_results = match req.query_param("maxResults") {
        None => 100,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => (n as usize).min(state.max_page_size),
            Err(_) => {
                return invalid(&format!(
                    "Invalid value at 'max_results' (TYPE_UINT32), \"{v}\""
                ));
            }
        },
    };
    for id in &label_ids {
        if !state.labels.iter().any(|l| &l.id == id) {
            return invalid(&format!("Invalid label: {id}"));
        }
    }
    let signature = format!("{q}\u{0}{label_ids:?}\u{0}{include_spam_trash}");
    let offset = match req.query_param("pageToken") {
        None => 0,
        Some(token) => match state.page_tokens.get(&token) {
            Some((issued_for, offset)) if *issued_for == signature => *offset,
            _ => return invalid("Invalid pageToken"),
        },
    };

    let terms = parse_query(&q);
    let wants_spam_trash = include_spam_trash
        || label_ids.iter().any(|l| l == "SPAM" || l == "TRASH")
        || terms.iter().any(|t| {
            matches!(t, Term::Label(l) if l.eq_ignore_ascii_case("spam") || l.eq_ignore_ascii_case("trash"))
        });
    let mut matching: Vec<&StoredMessage> = state
        .messages
        .iter()
        .filter(|m| label_ids.iter().all(|l| m.label_ids.contains(l)))
        .filter(|m| wants_spam_trash || !m.label_ids.iter().any(|l| l == "SPAM" || l == "TRASH"))
        .filter(|m| terms.iter().all(|t| t.matches(m, &state.labels)))
        .collect();
    matching.sort_by_key(|m| std::cmp::Reverse(m.internal_date));
    let total = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(max_results)
        .map(|m| json!({ "id": m.id, "threadId": m.thread_id }))
        .collect();
    let next = offset + page.len();
    let mut answer = json!({ "resultSizeEstimate": total });
    if !page.is_empty() {
        answer["messages"] = json!(page);
    }
    if next < total && !page.is_empty() {
        let token = format!(
            "{:020}",
            10_000_000_000_000_000_000_u64 / 7 + state.history + next as u64
        );
        state.history += 1;
        state.page_tokens.insert(token.clone(), (signature, next));
        answer["nextPageToken"] = json!(token);
    }
    MockResponse::json(200, answer)
}

fn get_message(state: &State, req: &RecordedRequest, id: &str) -> MockResponse {
    let format = req.query_param("format").unwrap_or_else(|| "full".into());
    if !matches!(format.as_str(), "full" | "metadata" | "minimal") {
        return invalid(&format!(
            "Invalid value at 'format' (type.googleapis.com/caribou.api.proto.MessageFormat), \"{format}\" (the mock serves full, metadata and minimal)"
        ));
    }
    if id.is_empty() {
        return invalid("Invalid id value");
    }
    match state.message(id) {
        Some(message) => MockResponse::json(200, message.resource(&format)),
        None => GmailMock::not_found(),
    }
}

/// One term of the supported `q` subset.
enum Term {
    From(String),
    To(String),
    Cc(String),
    Subject(String),
    Label(String),
    Unread(bool),
    Starred,
    Word(String),
}

impl Term {
    fn matches(&self, m: &StoredMessage, labels: &[StoredLabel]) -> bool {
        let has = |needle: &str, hay: &str| hay.to_lowercase().contains(&needle.to_lowercase());
        match self {
            Term::From(x) => has(x, m.header("From")),
            Term::To(x) => has(x, m.header("To")),
            Term::Cc(x) => has(x, m.header("Cc")),
            Term::Subject(x) => has(x, &m.subject),
            Term::Label(name) => {
                let wanted = name.replace('-', " ");
                labels
                    .iter()
                    .filter(|l| {
                        l.id.eq_ignore_ascii_case(name)
                            || l.name.eq_ignore_ascii_case(name)
                            || l.name.eq_ignore_ascii_case(&wanted)
                    })
                    .any(|l| m.label_ids.contains(&l.id))
            }
            Term::Unread(unread) => m.label_ids.iter().any(|l| l == "UNREAD") == *unread,
            Term::Starred => m.label_ids.iter().any(|l| l == "STARRED"),
            Term::Word(w) => has(w, &m.searchable),
        }
    }
}

fn parse_query(q: &str) -> Vec<Term> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
        .into_iter()
        .map(|token| match token.split_once(':') {
            Some((op, value)) => match (op.to_ascii_lowercase().as_str(), value) {
                ("from", v) => Term::From(v.into()),
                ("to", v) => Term::To(v.into()),
                ("cc", v) => Term::Cc(v.into()),
                ("subject", v) => Term::Subject(v.into()),
                ("label" | "in", v) => Term::Label(v.into()),
                ("is", v) if v.eq_ignore_ascii_case("unread") => Term::Unread(true),
                ("is", v) if v.eq_ignore_ascii_case("read") => Term::Unread(false),
                ("is", v) if v.eq_ignore_ascii_case("starred") => Term::Starred,
                _ => Term::Word(token),
            },
            None => Term::Word(token),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Building message resources

fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn headers_json(headers: &[(String, String)]) -> Value {
    Value::Array(
        headers
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect(),
    )
}

fn leaf_part(part_id: &str, mime_type: &str, content: &str) -> Value {
    json!({
        "partId": part_id,
        "mimeType": mime_type,
        "filename": "",
        "headers": headers_json(&[
            ("Content-Type".into(), format!("{mime_type}; charset=\"UTF-8\"")),
            ("Content-Transfer-Encoding".into(), "quoted-printable".into()),
        ]),
        "body": { "size": content.len(), "data": b64url(content.as_bytes()) },
    })
}

/// Renumber `part`'s `partId`s under `prefix` (`"0"` -> `"0.0"`, `"0.1"`).
fn under(prefix: &str, mut part: Value) -> Value {
    part["partId"] = json!(prefix);
    if let Some(children) = part.get_mut("parts").and_then(Value::as_array_mut) {
        for (i, child) in children.iter_mut().enumerate() {
            *child = under(&format!("{prefix}.{i}"), child.take());
        }
    }
    part
}

fn build_seeded(id: &str, history_id: u64, internal_date: u64, seed: SeedMessage) -> StoredMessage {
    let boundary = |n: u64| format!("0000000000{:016x}", internal_date.wrapping_mul(31) + n);
    // The body: one part, or a multipart/alternative.
    let (mut content_type, mut body) = match (&seed.text, &seed.html) {
        (Some(text), Some(html)) => {
            let b = boundary(1);
            let part = json!({
                "partId": "",
                "mimeType": "multipart/alternative",
                "filename": "",
                "headers": headers_json(&[("Content-Type".into(), format!("multipart/alternative; boundary=\"{b}\""))]),
                "body": { "size": 0 },
                "parts": [leaf_part("0", "text/plain", text), leaf_part("1", "text/html", html)],
            });
            (format!("multipart/alternative; boundary=\"{b}\""), part)
        }
        (None, Some(html)) => (
            "text/html; charset=\"UTF-8\"".to_string(),
            leaf_part("", "text/html", html),
        ),
        (text, None) => (
            "text/plain; charset=\"UTF-8\"".to_string(),
            leaf_part("", "text/plain", text.as_deref().unwrap_or_default()),
        ),
    };
    if let Some((filename, mime_type, content)) = &seed.attachment {
        let b = boundary(2);
        let attachment = json!({
            "partId": "1",
            "mimeType": mime_type,
            "filename": filename,
            "headers": headers_json(&[
                ("Content-Type".into(), format!("{mime_type}; name=\"{filename}\"")),
                ("Content-Disposition".into(), format!("attachment; filename=\"{filename}\"")),
                ("Content-Transfer-Encoding".into(), "base64".into()),
            ]),
            "body": { "attachmentId": format!("ANGjdJ{}", b64url(id.as_bytes())), "size": content.len() },
        });
        content_type = format!("multipart/mixed; boundary=\"{b}\"");
        body = json!({
            "partId": "",
            "mimeType": "multipart/mixed",
            "filename": "",
            "headers": headers_json(&[("Content-Type".into(), content_type.clone())]),
            "body": { "size": 0 },
            "parts": [under("0", body), attachment],
        });
    }

    let subject_header = if seed.encode_subject {
        encode_words(&seed.subject)
    } else {
        seed.subject.clone()
    };
    let mut headers: Vec<(String, String)> = vec![
        ("Delivered-To".into(), ACCOUNT.into()),
        ("MIME-Version".into(), "1.0".into()),
        ("Date".into(), seed.date.clone()),
        ("Message-ID".into(), format!("<{id}@mail.example.com>")),
        ("Subject".into(), subject_header),
        ("From".into(), seed.from.clone()),
        ("To".into(), seed.to.join(", ")),
    ];
    if !seed.cc.is_empty() {
        headers.push(("Cc".into(), seed.cc.join(", ")));
    }
    headers.extend(seed.extra_headers.iter().cloned());
    headers.push(("Content-Type".into(), content_type));
    // The top-level part carries the message's headers.
    body["headers"] = headers_json(&headers);

    let text = seed
        .text
        .clone()
        .or_else(|| seed.html.as_deref().map(strip_tags))
        .unwrap_or_default();
    let searchable = format!(
        "{} {} {} {} {} {}",
        seed.subject,
        seed.from,
        seed.to.join(" "),
        seed.cc.join(" "),
        text,
        seed.html.as_deref().map(strip_tags).unwrap_or_default()
    );
    let size_estimate = body.to_string().len();
    StoredMessage {
        id: id.to_string(),
        thread_id: seed.thread_id.unwrap_or_else(|| id.to_string()),
        label_ids: seed.labels,
        history_id,
        internal_date,
        headers,
        subject: seed.subject,
        searchable,
        snippet: snippet(&text),
        payload: body,
        size_estimate,
    }
}

/// Gmail's snippet: the start of the text, whitespace collapsed, HTML-escaped.
fn snippet(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = collapsed.chars().take(120).collect();
    short
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `text` as two RFC 2047 encoded-words folded apart: the first half in
/// "B", the second in "Q" (both must be decoded and joined without the
/// folding whitespace).
fn encode_words(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (first, second): (String, String) = (
        chars[..chars.len() / 2].iter().collect(),
        chars[chars.len() / 2..].iter().collect(),
    );
    let q: String = second
        .bytes()
        .map(|b| match b {
            b' ' => "_".to_string(),
            b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
            b => format!("={b:02X}"),
        })
        .collect();
    format!(
        "=?UTF-8?B?{}?=\r\n =?UTF-8?Q?{q}?=",
        STANDARD.encode(first.as_bytes())
    )
}

/// Decode `=?UTF-8?B?...?=` and `=?UTF-8?Q?...?=` words, dropping the
/// whitespace between adjacent ones (enough to read back what the plugin
/// sends).
fn decode_words(value: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut pending_space = String::new();
    let mut previous_encoded = false;
    let unfolded = value.replace("\r\n", "");
    for token in unfolded.split_inclusive(char::is_whitespace) {
        let word = token.trim_end();
        let trailing = &token[word.len()..];
        if word.is_empty() {
            pending_space.push_str(trailing);
            continue;
        }
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut fields = w.splitn(3, '?');
                let (charset, encoding, text) = (fields.next()?, fields.next()?, fields.next()?);
                if !charset.eq_ignore_ascii_case("utf-8") {
                    return None;
                }
                match encoding {
                    "B" | "b" => STANDARD.decode(text).ok(),
                    "Q" | "q" => decode_q(text),
                    _ => None,
                }
            });
        match decoded {
            Some(bytes) => {
                if !previous_encoded {
                    out.extend_from_slice(pending_space.as_bytes());
                }
                out.extend_from_slice(&bytes);
                previous_encoded = true;
            }
            None => {
                out.extend_from_slice(pending_space.as_bytes());
                out.extend_from_slice(word.as_bytes());
                previous_encoded = false;
            }
        }
        pending_space = trailing.to_string();
    }
    if !previous_encoded {
        out.extend_from_slice(pending_space.as_bytes());
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_q(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' => {
                out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// users.messages.send

fn send_message(state: &mut State, body: &Value) -> MockResponse {
    if let Some(rejection) = unknown_fields(body, &["raw", "threadId"], "message") {
        return rejection;
    }
    let Some(raw) = body["raw"].as_str().filter(|r| !r.is_empty()) else {
        return invalid(
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
        );
    };
    let requested_thread_id = match &body["threadId"] {
        Value::Null => None,
        Value::String(t) => Some(t.clone()),
        other => {
            return invalid(&format!(
                "Invalid value at 'message.thread_id' (TYPE_STRING), {other}"
            ));
        }
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')) else {
        return invalid(&format!(
            "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed for \"{}\"",
            raw.chars().take(40).collect::<String>()
        ));
    };
    let parsed = match parse_rfc5322(&bytes) {
        Ok(parsed) => parsed,
        Err(rejection) => return rejection,
    };
    if let Some(thread) = &requested_thread_id
        && !state.messages.iter().any(|m| &m.thread_id == thread)
    {
        return GmailMock::not_found();
    }

    let id = state.new_message_id();
    let (history_id, internal_date) = state.tick();
    let thread_id = requested_thread_id.clone().unwrap_or_else(|| id.clone());
    let mut headers = parsed.headers.clone();
    if header_value(&headers, "From").is_none() {
        headers.insert(0, ("From".into(), ACCOUNT.into()));
    }
    headers.push(("Date".into(), "Tue, 14 Nov 2023 10:00:00 +0100".into()));
    headers.push(("Message-Id".into(), format!("<{id}@mail.gmail.com>")));
    let mime_type = header_value(&headers, "Content-Type")
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("text/plain")
        .trim()
        .to_ascii_lowercase();
    let payload = json!({
        "partId": "",
        "mimeType": mime_type,
        "filename": "",
        "headers": headers_json(&headers),
        "body": { "size": parsed.body.len(), "data": b64url(parsed.body.as_bytes()) },
    });
    let subject = header_value(&headers, "Subject")
        .map(decode_words)
        .unwrap_or_default();
    let searchable = format!(
        "{subject} {} {} {}",
        header_value(&headers, "To").unwrap_or_default(),
        header_value(&headers, "Cc").unwrap_or_default(),
        parsed.body
    );
    let message = StoredMessage {
        id: id.clone(),
        thread_id: thread_id.clone(),
        label_ids: vec!["SENT".into()],
        history_id,
        internal_date,
        headers: headers.clone(),
        subject,
        searchable,
        snippet: snippet(&parsed.body),
        size_estimate: bytes.len(),
        payload,
    };
    let answer = message.short();
    state.messages.push(message);
    state.sent.push(SentMessage {
        id,
        thread_id,
        requested_thread_id,
        raw: String::from_utf8_lossy(&bytes).into_owned(),
        headers: parsed.headers,
        body: parsed.body,
    });
    MockResponse::json(200, answer)
}

struct ParsedMessage {
    headers: Vec<(String, String)>,
    body: String,
}

/// Parse and check a raw message the way the send path needs it.
fn parse_rfc5322(bytes: &[u8]) -> Result<ParsedMessage, MockResponse> {
    let fail = |why: &str| Err(invalid(&format!("Invalid raw message: {why}")));
    for (i, &b) in bytes.iter().enumerate() {
        let bare_lf = b == b'\n' && (i == 0 || bytes[i - 1] != b'\r');
        let bare_cr = b == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        if bare_lf || bare_cr {
            return fail("line endings must be CRLF (a bare CR or LF was found)");
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return fail("no empty line between the headers and the body");
    };
    if text.split("\r\n").any(|line| line.len() > 998) {
        return fail("a line is longer than 998 characters");
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if !line.is_ascii() {
            return fail("headers must be ASCII (use RFC 2047 encoded-words)");
        }
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some((_, value)) => value.push_str(line),
                None => return fail("the first header line is a continuation"),
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return fail(&format!("not a header line: {line:?}"));
        };
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace() || c.is_control()) {
            return fail(&format!("bad header name: {name:?}"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut recipients = 0;
    for name in ["To", "Cc", "Bcc"] {
        for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            let addresses = split_addresses(value);
            if addresses.iter().any(|a| !plausible_address(a)) {
                return Err(invalid(&format!("Invalid {name} header")));
            }
            recipients += addresses.len();
        }
    }
    if recipients == 0 {
        return Err(invalid("Recipient address required"));
    }
    if header_value(&headers, "MIME-Version") != Some("1.0") {
        return fail("MIME-Version: 1.0 is required");
    }
    let Some(content_type) = header_value(&headers, "Content-Type") else {
        return fail("Content-Type is required");
    };
    if !content_type.contains('/') {
        return fail(&format!("bad Content-Type {content_type:?}"));
    }
    let encoding = header_value(&headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let body = match encoding.as_str() {
        "base64" => {
            if body.split("\r\n").any(|line| line.len() > 76) {
                return fail("base64 body lines must be at most 76 characters");
            }
            let joined: String = body.split_whitespace().collect();
            match STANDARD.decode(joined) {
                Ok(decoded) => String::from_utf8_lossy(&decoded).into_owned(),
                Err(e) => return fail(&format!("base64 body: {e}")),
            }
        }
        "7bit" | "8bit" | "binary" | "quoted-printable" => body.to_string(),
        other => return fail(&format!("unknown Content-Transfer-Encoding {other:?}")),
    };
    Ok(ParsedMessage { headers, body })
}

/// Split an address list at commas outside quotes and angle brackets.
fn split_addresses(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `Name <local@domain.tld>` or `local@domain.tld`.
fn plausible_address(item: &str) -> bool {
    let email = match (item.rfind('<'), item.rfind('>')) {
        (Some(open), Some(close)) if close > open && item[close + 1..].trim().is_empty() => {
            &item[open + 1..close]
        }
        (None, None) => item,
        _ => return false,
    };
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let bad =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '@' | '"' | '<' | '>' | ',');
    !local.is_empty()
        && !local.contains(bad)
        && !domain.contains(bad)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

// ---------------------------------------------------------------------------
// users.messages.modify and users.labels

fn modify_message(state: &mut State, id: &str, body: &Value) -> MockResponse {
    if let Some(rejection) = unknown_fields(body, &["addLabelIds", "removeLabelIds"], "") {
        return rejection;
    }
    let ids = |field: &str| -> Result<Vec<String>, MockResponse> {
        match &body[field] {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        invalid(&format!("Invalid value at '{field}' (TYPE_STRING), {v}"))
                    })
                })
                .collect(),
            other => Err(invalid(&format!(
                "Invalid value at '{field}' (TYPE_STRING), {other}"
            ))),
        }
    };
    let (add, remove) = match (ids("addLabelIds"), ids("removeLabelIds")) {
        (Ok(add), Ok(remove)) => (add, remove),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if add.is_empty() && remove.is_empty() {
        return invalid("No label add or removes specified");
    }
    if let Some(unknown) = add
        .iter()
        .chain(&remove)
        .find(|l| !state.labels.iter().any(|known| &known.id == *l))
    {
        return invalid(&format!("Invalid label: {unknown}"));
    }
    state.history += 1;
    let history = state.history;
    let Some(message) = state.messages.iter_mut().find(|m| m.id == id) else {
        return GmailMock::not_found();
    };
    for label in add {
        if !message.label_ids.contains(&label) {
            message.label_ids.push(label);
        }
    }
    message.label_ids.retain(|l| !remove.contains(l));
    message.history_id = history;
    MockResponse::json(200, message.short())
}

fn create_label(
    state: &mut State,
    name: &str,
    label_list_visibility: &str,
    message_list_visibility: &str,
) -> StoredLabel {
    let label = StoredLabel {
        id: format!("Label_{}", state.next_label),
        name: name.to_string(),
        system: false,
        label_list_visibility: Some(label_list_visibility.into()),
        message_list_visibility: Some(message_list_visibility.into()),
    };
    state.next_label += 1;
    state.labels.push(label.clone());
    label
}

fn create_label_request(state: &mut State, body: &Value) -> MockResponse {
    if let Some(rejection) = unknown_fields(
        body,
        &[
            "name",
            "labelListVisibility",
            "messageListVisibility",
            "color",
            "type",
        ],
        "label",
    ) {
        return rejection;
    }
    let Some(name) = body["name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return invalid("Invalid label name");
    };
    let label_list = body["labelListVisibility"].as_str().unwrap_or("labelShow");
    if !matches!(label_list, "labelShow" | "labelShowIfUnread" | "labelHide") {
        return invalid(&format!(
            "Invalid value at 'label.label_list_visibility' (type.googleapis.com/caribou.api.proto.Label.LabelListVisibility), \"{label_list}\""
        ));
    }
    let message_list = body["messageListVisibility"].as_str().unwrap_or("show");
    if !matches!(message_list, "show" | "hide") {
        return invalid(&format!(
            "Invalid value at 'label.message_list_visibility' (type.googleapis.com/caribou.api.proto.Label.MessageListVisibility), \"{message_list}\""
        ));
    }
    if state.label_by_name(name).is_some() {
        return GmailMock::error(
            409,
            "ALREADY_EXISTS",
            "duplicate",
            "Label name exists or conflicts",
        );
    }
    let label = create_label(state, name, label_list, message_list);
    let mut answer = label.resource();
    if let Some(map) = answer.as_object_mut() {
        map.remove("type");
    }
    MockResponse::json(200, answer)
}

impl std::ops::Deref for GmailMock {
    type Target = ServiceServer;

    fn deref(&self) -> &ServiceServer {
        &self.service
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_round_trip() {
        let header = encode_words("Café ☕ réunion");
        assert!(header.contains("?B?") && header.contains("?Q?"), "{header}");
        assert_eq!(decode_words(&header), "Café ☕ réunion");
        assert_eq!(decode_words("Re: plain words"), "Re: plain words");
    }

    #[test]
    fn raw_messages_are_checked() {
        let good =
            b"To: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi\r\n";
        assert!(parse_rfc5322(good).is_ok());
        let bare_lf = b"To: a@example.com\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi";
        assert!(parse_rfc5322(bare_lf).is_err());
        let no_to = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi";
        assert!(parse_rfc5322(no_to).is_err());
        assert_eq!(
            split_addresses(r#""Doe, J" <j@x.org>, k@y.org"#),
            vec![r#""Doe, J" <j@x.org>"#, "k@y.org"]
        );
        assert!(!plausible_address("not an address"));
    }
}
