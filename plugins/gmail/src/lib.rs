//! Gmail for Workway: fetch messages matching a search, send plain-text
//! email, and label messages, through the Gmail REST API
//! (`https://gmail.googleapis.com/gmail/v1/users/me`) with the user's
//! Google connection.

mod api;
mod mime;
mod model;

use workway_sdk::prelude::*;

use api::{Gmail, segment};
use mime::Mailbox;
use model::{
    Label, LabelList, Message, MessageList, MessagePart, ModifyRequest, NewLabel, SendRequest,
};

// ---------------------------------------------------------------------------
// fetch-email

/// Which messages to fetch.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchEmailInput {
    /// A Gmail search query, as typed in Gmail's search box
    /// (`from:alice@example.com subject:invoice is:unread`); empty matches
    /// every message outside Spam and Trash.
    #[serde(default)]
    pub query: String,
    /// How many messages to fetch, newest first: 1 to 100.
    #[serde(default = "default_max_results")]
    #[schemars(range(min = 1, max = 100))]
    pub max_results: u32,
    /// Only messages carrying all of these label ids (`INBOX`, `UNREAD`,
    /// `Label_12`).
    #[serde(default)]
    pub label_ids: Vec<String>,
}

fn default_max_results() -> u32 {
    10
}

/// The messages found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FetchEmailOutput {
    /// The messages, newest first, at most `max_results`.
    pub messages: Vec<Email>,
    /// Gmail's estimate of how many messages match the query in all.
    pub result_size_estimate: u64,
}

/// One message, its headers decoded.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Email {
    /// The message id.
    pub id: String,
    /// The id of the message's thread.
    pub thread_id: String,
    /// The ids of the message's labels (`INBOX`, `UNREAD`, `Label_12`).
    pub label_ids: Vec<String>,
    /// The sender, from the `From` header (absent in a message without one).
    pub from: Option<Address>,
    /// The `To` recipients.
    pub to: Vec<Address>,
    /// The `Cc` recipients.
    pub cc: Vec<Address>,
    /// The subject, decoded (empty when there is none).
    pub subject: String,
    /// The `Date` header as the sender wrote it.
    pub date: Option<String>,
    /// Gmail's short extract of the text.
    pub snippet: String,
    /// The plain-text body: the `text/plain` part, or the `text/html` part
    /// with its tags stripped when there is no plain-text part.
    pub body_text: String,
    /// Every header of the message, in order, encoded-words decoded.
    pub headers: Vec<EmailHeader>,
}

/// An email address with its display name.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Address {
    /// The display name (`Jane Doe`), if the header gave one.
    pub name: Option<String>,
    /// The address (`jane@example.com`).
    pub email: String,
}

/// One message header.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EmailHeader {
    /// The header name (`Subject`).
    pub name: String,
    /// Its value, unfolded, RFC 2047 encoded-words decoded.
    pub value: String,
}

/// Fetch the messages matching a Gmail search query, newest first, with
/// decoded headers, parsed addresses and the plain-text body.
#[action(name = "fetch-email")]
fn fetch_email(ctx: &Context, input: FetchEmailInput) -> Result<FetchEmailOutput> {
    if !(1..=100).contains(&input.max_results) {
        return Err(Error::invalid_input(format!(
            "`max_results` must be between 1 and 100, got {}",
            input.max_results
        )));
    }
    if let Some(i) = input.label_ids.iter().position(|l| l.trim().is_empty()) {
        return Err(Error::invalid_input(format!(
            "`label_ids[{i}]` is empty: give label ids such as `INBOX` or `Label_12`"
        )));
    }
    let max = input.max_results as usize;
    let gmail = Gmail::connect(ctx)?;

    let mut ids: Vec<String> = Vec::new();
    let mut estimate = None;
    let mut page_token: Option<String> = None;
    loop {
        let remaining = (max - ids.len()).to_string();
        let mut query: Vec<(&str, &str)> = Vec::new();
        if !input.query.is_empty() {
            query.push(("q", &input.query));
        }
        query.push(("maxResults", &remaining));
        for label in &input.label_ids {
            query.push(("labelIds", label));
        }
        if let Some(token) = &page_token {
            query.push(("pageToken", token));
        }
        let page: MessageList = gmail.get("/messages", &query, "listing messages")?;
        estimate.get_or_insert(page.result_size_estimate);
        let empty_page = page.messages.is_empty();
        ids.extend(page.messages.into_iter().map(|m| m.id));
        match page.next_page_token {
            Some(token) if ids.len() < max && !token.is_empty() && !empty_page => {
                page_token = Some(token);
            }
            _ => break,
        }
    }
    ids.truncate(max);

    let mut messages = Vec::with_capacity(ids.len());
    for id in &ids {
        let path = format!("/messages/{}", segment(id));
        let what = format!("fetching message {id}");
        match gmail.get::<Message>(&path, &[("format", "full")], &what) {
            Ok(message) => messages.push(email_from(message)),
            // Deleted between the list and the fetch: it no longer matches.
            Err(Error::NotFound(message)) => log::warn(format!("skipped: {message}")),
            Err(e) => return Err(e),
        }
    }
    let estimate = estimate.unwrap_or(0);
    ctx.set_metadata("result-size-estimate", estimate.to_string());
    Ok(FetchEmailOutput {
        messages,
        result_size_estimate: estimate,
    })
}

fn email_from(message: Message) -> Email {
    let payload = message.payload.unwrap_or_default();
    let addresses = |name: &str| -> Vec<Address> {
        payload
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .flat_map(|h| mime::parse_address_list(&h.value))
            .map(address)
            .collect()
    };
    Email {
        from: addresses("From").into_iter().next(),
        to: addresses("To"),
        cc: addresses("Cc"),
        subject: payload
            .header("Subject")
            .map(mime::decode_header)
            .unwrap_or_default(),
        date: payload
            .header("Date")
            .map(|d| mime::unfold(d).trim().to_string()),
        snippet: mime::decode_entities(&message.snippet),
        body_text: body_text(&payload),
        headers: payload
            .headers
            .iter()
            .map(|h| EmailHeader {
                name: h.name.clone(),
                value: mime::decode_header(&h.value),
            })
            .collect(),
        id: message.id,
        thread_id: message.thread_id,
        label_ids: message.label_ids,
    }
}

fn address(mailbox: Mailbox) -> Address {
    Address {
        name: mailbox.name,
        email: mailbox.email,
    }
}

/// The plain-text body: the first inline `text/plain` part anywhere in the
/// MIME tree, else the first `text/html` part with its tags stripped.
fn body_text(payload: &MessagePart) -> String {
    if let Some(part) = find_part(payload, "text/plain") {
        return part_text(part).replace("\r\n", "\n");
    }
    find_part(payload, "text/html")
        .map(|part| mime::html_to_text(&part_text(part)))
        .unwrap_or_default()
}

fn find_part<'a>(part: &'a MessagePart, mime_type: &str) -> Option<&'a MessagePart> {
    let attachment = !part.filename.is_empty()
        || part.body.attachment_id.is_some()
        || part
            .header("Content-Disposition")
            .is_some_and(|d| d.trim().to_ascii_lowercase().starts_with("attachment"));
    if part.mime_type.eq_ignore_ascii_case(mime_type) && part.body.data.is_some() && !attachment {
        return Some(part);
    }
    part.parts.iter().find_map(|p| find_part(p, mime_type))
}

/// A part's content, base64url-decoded and read in its charset.
fn part_text(part: &MessagePart) -> String {
    let bytes = part
        .body
        .data
        .as_deref()
        .and_then(mime::decode_base64url)
        .unwrap_or_default();
    let charset = part
        .header("Content-Type")
        .and_then(|ct| {
            ct.split(';').skip(1).find_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("charset")
                    .then(|| value.trim().trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "utf-8".into());
    mime::decode_charset(&bytes, &charset)
}

// ---------------------------------------------------------------------------
// send-email

/// The email to send.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmailInput {
    /// Recipients, at least one: `jane@example.com` or `Jane Doe <jane@example.com>`.
    #[schemars(length(min = 1))]
    pub to: Vec<String>,
    /// Carbon-copy recipients, in the same forms as `to`.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind carbon-copy recipients, in the same forms as `to`.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// The subject (any Unicode; one line).
    #[serde(default)]
    pub subject: String,
    /// The plain-text body.
    #[serde(default)]
    pub body: String,
    /// The thread to reply in (a Gmail thread id); give `in_reply_to` and a
    /// matching subject too, so that recipients' mail programs thread it.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// The `Message-ID` header of the message replied to (`<abc@mail.example.com>`).
    #[serde(default)]
    pub in_reply_to: Option<String>,
}

/// The sent message.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SendEmailOutput {
    /// The sent message's id.
    pub id: String,
    /// Its thread's id.
    pub thread_id: String,
    /// Its label ids (`SENT`, ...).
    pub label_ids: Vec<String>,
}

/// Send a plain-text email from the connected Gmail account.
#[action(name = "send-email")]
fn send_email(ctx: &Context, input: SendEmailInput) -> Result<SendEmailOutput> {
    let message = compose(&input)?;
    let thread_id = input.thread_id.as_deref().map(str::trim);
    if let Some(id) = thread_id
        && (id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(Error::invalid_input(format!(
            "`thread_id` must be a Gmail thread id (letters and digits), got {id:?}"
        )));
    }
    let gmail = Gmail::connect(ctx)?;
    let request = SendRequest {
        raw: mime::encode_base64url(message.as_bytes()),
        thread_id,
    };
    let sent: Message = gmail.post("/messages/send", &request, "sending the message")?;
    Ok(SendEmailOutput {
        id: sent.id,
        thread_id: sent.thread_id,
        label_ids: sent.label_ids,
    })
}

/// The RFC 5322 message for `input`: CRLF line endings, non-ASCII header
/// text as RFC 2047 encoded-words, the body UTF-8 in base64 lines of 76.
/// Line breaks in header values (header injection) and malformed
/// addresses are refused.
fn compose(input: &SendEmailInput) -> Result<String> {
    if input.to.is_empty() {
        return Err(Error::invalid_input(
            "`to` needs at least one recipient, like `jane@example.com`",
        ));
    }
    let mut headers: Vec<(&str, String)> = Vec::new();
    for (field, name, list) in [
        ("to", "To", &input.to),
        ("cc", "Cc", &input.cc),
        ("bcc", "Bcc", &input.bcc),
    ] {
        if !list.is_empty() {
            headers.push((name, recipients(field, list)?));
        }
    }
    no_line_breaks("subject", &input.subject)?;
    if !input.subject.is_empty() {
        headers.push(("Subject", mime::encode_header_text(&input.subject)));
    }
    if let Some(id) = &input.in_reply_to {
        let id = message_id(id)?;
        headers.push(("In-Reply-To", id.clone()));
        headers.push(("References", id));
    }
    headers.push(("MIME-Version", "1.0".into()));
    headers.push(("Content-Type", "text/plain; charset=\"UTF-8\"".into()));
    headers.push(("Content-Transfer-Encoding", "base64".into()));

    let mut message = String::new();
    for (name, value) in headers {
        message.push_str(name);
        message.push_str(": ");
        message.push_str(&value);
        message.push_str("\r\n");
    }
    message.push_str("\r\n");
    message.push_str(&mime::base64_lines(mime::crlf(&input.body).as_bytes()));
    Ok(message)
}

/// A recipient list as a header value, each entry checked.
fn recipients(field: &str, list: &[String]) -> Result<String> {
    let mut formatted = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let at = format!("`{field}[{i}]`");
        no_line_breaks(&at, entry)?;
        let mut mailboxes = mime::parse_address_list(entry);
        let mailbox = match (mailboxes.pop(), mailboxes.is_empty()) {
            (Some(m), true) => m,
            _ => {
                return Err(Error::invalid_input(format!(
                    "{at} must be one address, like `jane@example.com` or `Jane Doe <jane@example.com>`; got {entry:?}"
                )));
            }
        };
        if !mime::is_valid_email(&mailbox.email) {
            return Err(Error::invalid_input(format!(
                "{at}: {:?} is not a valid email address (expected `name@domain.tld`)",
                mailbox.email
            )));
        }
        formatted.push(mime::format_mailbox(&mailbox));
    }
    Ok(formatted.join(",\r\n "))
}

/// Refuse control characters (CR and LF above all: they would end the
/// header and let the value inject others).
fn no_line_breaks(field: &str, value: &str) -> Result<()> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::invalid_input(format!(
            "{field} contains a line break or control character; header values must be one line"
        )));
    }
    Ok(())
}

/// A `Message-ID` in angle brackets (`<abc@example.com>`).
fn message_id(value: &str) -> Result<String> {
    no_line_breaks("`in_reply_to`", value)?;
    let id = value.trim();
    let inner = id
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id);
    let valid = inner.contains('@')
        && !inner.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || !c.is_ascii());
    if !valid {
        return Err(Error::invalid_input(format!(
            "`in_reply_to` must be a Message-ID like `<abc@mail.example.com>`; got {value:?}"
        )));
    }
    Ok(format!("<{inner}>"))
}

// ---------------------------------------------------------------------------
// add-label

/// The message and the label to add to it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLabelInput {
    /// The Gmail message id.
    pub message_id: String,
    /// The label's name (`Invoices`, `Clients/Acme`); matched without regard
    /// to case, and created when the mailbox has no such label.
    pub label: String,
}

/// The labelled message.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AddLabelOutput {
    /// The message id.
    pub message_id: String,
    /// The label's id (`Label_12`, or a system label's id such as `STARRED`).
    pub label_id: String,
    /// The label's name as Gmail spells it.
    pub label_name: String,
    /// Whether the label was created by this action.
    pub created: bool,
    /// The message's label ids after the change.
    pub label_ids: Vec<String>,
}

/// Add a label to a message, by the label's name, creating the label if
/// the mailbox does not have it yet.
#[action(name = "add-label")]
fn add_label(ctx: &Context, input: AddLabelInput) -> Result<AddLabelOutput> {
    let message_id = input.message_id.trim();
    if message_id.is_empty() {
        return Err(Error::invalid_input(
            "`message_id` is empty: give a Gmail message id",
        ));
    }
    let name = input.label.trim();
    if name.is_empty() {
        return Err(Error::invalid_input(
            "`label` is empty: give the label's name, like `Invoices`",
        ));
    }
    no_line_breaks("`label`", name)?;

    let gmail = Gmail::connect(ctx)?;
    let (label, created) = match find_label(&gmail, name)? {
        Some(label) => (label, false),
        None => create_label(&gmail, name)?,
    };
    let modified: Message = gmail.post(
        &format!("/messages/{}/modify", segment(message_id)),
        &ModifyRequest {
            add_label_ids: [&label.id],
        },
        &format!("labelling message {message_id}"),
    )?;
    Ok(AddLabelOutput {
        message_id: modified.id,
        label_id: label.id,
        label_name: label.name,
        created,
        label_ids: modified.label_ids,
    })
}

fn find_label(gmail: &Gmail, name: &str) -> Result<Option<Label>> {
    let list: LabelList = gmail.get("/labels", &[], "listing labels")?;
    let lower = name.to_lowercase();
    Ok(list
        .labels
        .into_iter()
        .find(|l| l.name.to_lowercase() == lower))
}

/// Create label `name`; when Gmail answers 409 (another run created it
/// meanwhile), use the existing one.
fn create_label(gmail: &Gmail, name: &str) -> Result<(Label, bool)> {
    let body = NewLabel {
        name,
        label_list_visibility: "labelShow",
        message_list_visibility: "show",
    };
    let response = gmail.post_response("/labels", &body)?;
    let what = format!("creating label {name:?}");
    if response.status == 409
        && let Some(existing) = find_label(gmail, name)?
    {
        return Ok((existing, false));
    }
    Ok((api::parse(response, &what)?, true))
}

workway_sdk::integration! {
    name: "gmail",
    actions: [fetch_email, send_email, add_label],
}
