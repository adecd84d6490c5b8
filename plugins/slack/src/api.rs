//! A small client for Slack's Web API (`https://slack.com/api/<method>`)
//! and the mapping of its failures onto the typed integration error.
//!
//! Slack answers almost every failure with HTTP 200 and
//! `{"ok": false, "error": "<code>"}`; the code, not the status, says what
//! went wrong. Rate limits are HTTP 429 with `Retry-After: <seconds>`.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use workway_sdk::prelude::*;

use crate::model::Failure;

/// The Web API's base URL.
pub const API: &str = "https://slack.com/api";

/// `GET /api/<method>?<query>`, authorised with `conn`; the `ok: true`
/// answer parsed as `T`.
pub fn get<T: DeserializeOwned>(
    conn: &Connection,
    method: &str,
    query: &[(&str, &str)],
) -> Result<T> {
    let mut request = http::get(format!("{API}/{method}"));
    for (name, value) in query {
        request = request.query(*name, *value);
    }
    parse(method, request.auth(conn).send()?)
}

/// `POST /api/<method>` with a JSON body (the SDK names the charset, as
/// Slack wants), authorised with `conn`; the `ok: true` answer parsed as `T`.
pub fn post_json<T: DeserializeOwned>(
    conn: &Connection,
    method: &str,
    body: &impl Serialize,
) -> Result<T> {
    let response = http::post(format!("{API}/{method}"))
        .json(body)?
        .auth(conn)
        .send()?;
    parse(method, response)
}

/// The `ok` flag and warning every Web API answer carries.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    warning: Option<String>,
}

/// The `ok: true` answer of `method` as `T`, or the typed error.
fn parse<T: DeserializeOwned>(method: &str, response: Response) -> Result<T> {
    let status = response.status;
    let failure = || serde_json::from_slice::<Failure>(&response.body).ok();
    let code = || failure().map(|f| f.error).filter(|c| !c.is_empty());

    if status == 429 {
        return Err(Error::RateLimited {
            retry_after: response.retry_after(),
            message: format!(
                "{method}: {} (HTTP 429)",
                code().as_deref().unwrap_or("ratelimited")
            ),
        });
    }
    if !response.is_success() {
        let message = match code() {
            Some(code) => format!("{method}: {code} (HTTP {status})"),
            None => format!("{method}: HTTP {status}: {}", snippet(&response.text())),
        };
        if status >= 500 {
            return Err(Error::Upstream { status, message });
        }
        return Err(Error::from_status(status, message, response.retry_after()));
    }

    let envelope: Envelope =
        serde_json::from_slice(&response.body).map_err(|_| Error::Upstream {
            status,
            message: format!(
                "{method}: the answer is not JSON: {}",
                snippet(&response.text())
            ),
        })?;
    if !envelope.ok {
        return Err(map_failure(
            method,
            failure().unwrap_or_default(),
            response.retry_after(),
        ));
    }
    if let Some(warning) = envelope.warning {
        log::warn(format!("{method}: Slack warned: {warning}"));
    }
    serde_json::from_slice(&response.body).map_err(|e| Error::Upstream {
        status,
        message: format!("{method}: the answer is not the expected shape: {e}"),
    })
}

/// The typed error of an `ok: false` answer (HTTP 200, as Slack sends them).
pub fn map_failure(method: &str, failure: Failure, retry_after: Option<Duration>) -> Error {
    let code = if failure.error.is_empty() {
        "unknown_error"
    } else {
        failure.error.as_str()
    };
    let details = failure
        .response_metadata
        .as_ref()
        .map(|m| m.messages.join("; "))
        .filter(|m| !m.is_empty());
    let with_details = |hint: &str| match &details {
        Some(d) => format!("{method}: {code}: {d}{hint}"),
        None => format!("{method}: {code}{hint}"),
    };
    match code {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            Error::AuthExpired(with_details(
                " (Slack did not accept the connection's token; reconnect Slack)",
            ))
        }
        "missing_scope" => {
            let needed = failure.needed.as_deref().unwrap_or("an unnamed scope");
            let provided = failure.provided.as_deref().unwrap_or("none listed");
            Error::PermissionDenied(format!(
                "{method}: missing_scope: the Slack connection lacks the `{needed}` scope \
                 (granted: {provided}); reconnect Slack and grant it"
            ))
        }
        "not_in_channel" => Error::PermissionDenied(with_details(
            " (the Workway app is not a member of the channel; invite it with /invite)",
        )),
        "is_archived" => Error::PermissionDenied(with_details(
            " (the channel is archived; unarchive it or pick another)",
        )),
        "restricted_action" | "ekm_access_denied" | "access_denied" => {
            Error::PermissionDenied(with_details(""))
        }
        "channel_not_found" => Error::NotFound(with_details(
            " (no such channel, or a private one the app is not in)",
        )),
        "thread_not_found" | "message_not_found" => Error::NotFound(with_details("")),
        "ratelimited" | "rate_limited" => Error::RateLimited {
            retry_after,
            message: with_details(""),
        },
        "invalid_blocks"
        | "invalid_blocks_format"
        | "invalid_arguments"
        | "msg_too_long"
        | "no_text"
        | "too_many_attachments"
        | "invalid_cursor" => Error::InvalidInput(with_details("")),
        // Slack reports its own failures with HTTP 200; give them the status
        // they stand for, so that they are retried like any 5xx.
        "fatal_error" | "internal_error" => Error::Upstream {
            status: 500,
            message: with_details(""),
        },
        "service_unavailable" => Error::Upstream {
            status: 503,
            message: with_details(""),
        },
        "request_timeout" => Error::Upstream {
            status: 504,
            message: with_details(""),
        },
        _ => Error::Upstream {
            status: 200,
            message: with_details(""),
        },
    }
}

/// At most 300 characters of `text`, for messages.
fn snippet(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}
