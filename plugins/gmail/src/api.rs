//! The Gmail REST client: requests to `gmail.googleapis.com` authorised by
//! the user's Google connection, and Google's error bodies mapped onto the
//! typed integration errors.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use workway_sdk::prelude::*;

use crate::model::ErrorBody;

/// Every call is under the signed-in user's mailbox.
pub const BASE: &str = "https://gmail.googleapis.com/gmail/v1/users/me";

/// The OAuth provider whose connection authorises the calls.
const PROVIDER: &str = "google";

/// Gmail through the user's connection.
pub struct Gmail {
    connection: Connection,
}

impl Gmail {
    /// The client for the execution's Google connection.
    pub fn connect(ctx: &Context) -> Result<Self> {
        Ok(Gmail {
            connection: ctx.connection(PROVIDER)?,
        })
    }

    /// `GET {BASE}{path}?{query}`, the answer parsed as `T`; `what` names
    /// the operation in error messages.
    pub fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<T> {
        let mut request = http::get(format!("{BASE}{path}"));
        for (name, value) in query {
            request = request.query(*name, *value);
        }
        let response = request
            .header("accept", "application/json")
            .auth(&self.connection)
            .send()?;
        parse(response, what)
    }

    /// `POST {BASE}{path}` with a JSON body, the answer parsed as `T`.
    pub fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T> {
        parse(self.post_response(path, body)?, what)
    }

    /// `POST {BASE}{path}` with a JSON body; the response whatever its
    /// status (for callers that handle a status themselves).
    pub fn post_response<B: Serialize>(&self, path: &str, body: &B) -> Result<Response> {
        http::post(format!("{BASE}{path}"))
            .json(body)?
            .header("accept", "application/json")
            .auth(&self.connection)
            .send()
    }
}

/// A path segment (a message id) percent-encoded.
pub fn segment(id: &str) -> String {
    http::encode(id)
}

/// The answer parsed as `T` if 2xx, else the typed error [`error_for`] gives.
pub fn parse<T: DeserializeOwned>(response: Response, what: &str) -> Result<T> {
    if response.is_success() {
        response.json()
    } else {
        Err(error_for(&response, what))
    }
}

/// The typed error of a failed Gmail call: 401 auth-expired; 429, and 403
/// with a rate-limit reason (Gmail's usage limits), rate-limited after
/// `Retry-After` or the body's `google.rpc.RetryInfo`; other 403
/// permission-denied; 404 not-found; other 4xx invalid-input with Google's
/// message; 5xx upstream.
pub fn error_for(response: &Response, what: &str) -> Error {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let error = body.error;
    let detail = if error.message.is_empty() {
        let text = response.text();
        let text = text.trim();
        if text.is_empty() || text.len() > 300 {
            format!("HTTP {}", response.status)
        } else {
            text.to_string()
        }
    } else {
        error.message.clone()
    };
    let message = format!("{what}: {detail}");
    let retry_after = response
        .retry_after()
        .or_else(|| retry_info(&error.details));
    let rate_limit_reason = error.errors.iter().any(|e| {
        matches!(
            e.reason.as_str(),
            "rateLimitExceeded" | "userRateLimitExceeded" | "dailyLimitExceeded" | "quotaExceeded"
        )
    });
    match response.status {
        403 if rate_limit_reason || error.status == "RESOURCE_EXHAUSTED" => Error::RateLimited {
            retry_after,
            message,
        },
        status => Error::from_status(status, message, retry_after),
    }
}

/// The delay of a `google.rpc.RetryInfo` detail (`"retryDelay": "1.5s"`).
fn retry_info(details: &[serde_json::Value]) -> Option<Duration> {
    details
        .iter()
        .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
        .find_map(|d| parse_duration(d["retryDelay"].as_str()?))
}

/// A protobuf JSON `Duration`: seconds with up to nine fractional digits
/// and an `s` suffix (`"30s"`, `"1.5s"`).
pub fn parse_duration(value: &str) -> Option<Duration> {
    let number = value.trim().strip_suffix('s')?;
    let (seconds, fraction) = number.split_once('.').unwrap_or((number, ""));
    let seconds: u64 = seconds.parse().ok()?;
    if fraction.len() > 9 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().ok()?
    };
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_duration("0.000000001s"),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
