//! The Notion API client: the version header, the user's connection, and
//! Notion's error body mapped onto the typed integration error.

use serde::de::DeserializeOwned;
use serde_json::Value;
use workway_sdk::prelude::*;

/// Notion's REST API.
pub const API: &str = "https://api.notion.com/v1";

/// The API version every request names (`Notion-Version`).
pub const NOTION_VERSION: &str = "2022-06-28";

/// The OAuth provider whose connection authorises requests.
pub const PROVIDER: &str = "notion";

/// Notion, reached with the user's connection.
pub struct Notion {
    connection: Connection,
}

/// Notion's error body: `{"object": "error", "status": 400, "code":
/// "validation_error", "message": "..."}`.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

impl Notion {
    /// The client for the user's Notion connection.
    pub fn connect(ctx: &Context) -> Result<Self> {
        Ok(Notion {
            connection: ctx.connection(PROVIDER)?,
        })
    }

    /// `POST {API}{path}` with a JSON `body`; the JSON answer as `T`.
    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.send(http::post(format!("{API}{path}")), body)
    }

    /// `PATCH {API}{path}` with a JSON `body`; the JSON answer as `T`.
    pub fn patch<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.send(http::patch(format!("{API}{path}")), body)
    }

    fn send<T: DeserializeOwned>(&self, request: Request<'static>, body: &Value) -> Result<T> {
        let response = request
            .header("Notion-Version", NOTION_VERSION)
            .json(body)?
            .auth(&self.connection)
            .send()?;
        if !response.is_success() {
            return Err(error(&response));
        }
        response.json()
    }
}

/// The typed error for a failed Notion response, by Notion's error `code`
/// (falling back to the HTTP status when the body is not Notion's):
///
/// | code | status | error |
/// |---|---|---|
/// | `unauthorized` | 401 | auth-expired |
/// | `restricted_resource` | 403 | permission-denied |
/// | `object_not_found` | 404 | not-found |
/// | `rate_limited` | 429 | rate-limited, after `Retry-After` seconds |
/// | `validation_error`, `invalid_json`, `invalid_request_url`, `invalid_request`, `missing_version` | 400 | invalid-input |
/// | `conflict_error` | 409 | upstream (Notion says: retry) |
/// | `internal_server_error`, `service_unavailable`, `database_connection_unavailable`, `gateway_timeout` | 5xx | upstream |
pub fn error(response: &Response) -> Error {
    let status = response.status;
    let Ok(body) = serde_json::from_slice::<ErrorBody>(&response.body) else {
        let text = response.text();
        let message = if text.trim().is_empty() {
            format!("Notion answered HTTP {status}")
        } else {
            format!("Notion answered HTTP {status}: {text}")
        };
        return match status {
            409 => Error::Upstream { status, message },
            _ => Error::from_status(status, message, response.retry_after()),
        };
    };
    let message = format!("{} (Notion {})", body.message, body.code);
    match body.code.as_str() {
        "unauthorized" => Error::AuthExpired(message),
        "restricted_resource" => Error::PermissionDenied(message),
        "object_not_found" => Error::NotFound(message),
        "rate_limited" => Error::RateLimited {
            retry_after: response.retry_after(),
            message,
        },
        "validation_error"
        | "invalid_json"
        | "invalid_request_url"
        | "invalid_request"
        | "missing_version" => Error::InvalidInput(message),
        "conflict_error"
        | "internal_server_error"
        | "service_unavailable"
        | "database_connection_unavailable"
        | "gateway_timeout" => Error::Upstream { status, message },
        _ if status == 409 => Error::Upstream { status, message },
        _ => Error::from_status(status, message, response.retry_after()),
    }
}

/// The canonical form (`8-4-4-4-12` lower-case hex) of a Notion id given as
/// a UUID with or without dashes, or as the page's or database's Notion URL
/// (`https://www.notion.so/Tasks-0123...?v=...`). `field` names the input
/// field in the error.
pub fn notion_id(field: &str, raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let candidate = if trimmed.contains('/') {
        let path = trimmed.split(['?', '#']).next().unwrap_or_default();
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
    } else {
        trimmed
    };
    let hex: String = candidate.chars().filter(|c| *c != '-').collect();
    let tail = hex
        .char_indices()
        .rev()
        .nth(31)
        .map_or("", |(i, _)| &hex[i..]);
    let plain_id = !trimmed.contains('/') && hex.len() == 32;
    let from_url = trimmed.contains('/') && tail.len() == 32;
    let id = if plain_id { hex.as_str() } else { tail };
    if !(plain_id || from_url) || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::invalid_input(format!(
            "{field} `{raw}` is not a Notion id: give the 32 hex digits (with or without dashes) \
             at the end of the page's or database's Notion URL, or the URL itself"
        )));
    }
    let id = id.to_ascii_lowercase();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &id[0..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..32]
    ))
}
