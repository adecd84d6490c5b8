//! The Stripe API client: requests authorised with the user's Stripe
//! Connect grant, Stripe's API version pinned, and Stripe's error bodies
//! mapped onto the typed integration error.

use workway_sdk::prelude::*;

use crate::model::{ErrorBody, StripeError};

/// Stripe's API host.
pub const API: &str = "https://api.stripe.com";

/// The API version every request pins with `Stripe-Version`.
///
/// Without the header Stripe answers in the connected account's default
/// API version, which the account's owner can upgrade in the Dashboard at
/// any time and which differs from one connected account to the next; a
/// new version may rename or remove fields. Pinning makes the wire format
/// this integration parses (see [`crate::model`]) the same for every user
/// and every day, and moving to a newer version a deliberate change here.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// The OAuth provider of the connection (Stripe Connect).
pub const PROVIDER: &str = "stripe";

/// A client for one connected Stripe account.
pub struct Stripe {
    connection: Connection,
}

impl Stripe {
    /// The client for the user's Stripe connection.
    pub fn connect(ctx: &Context) -> Result<Self> {
        Ok(Stripe {
            connection: ctx.connection(PROVIDER)?,
        })
    }

    /// `GET {API}{path}?{query}`; the 2xx response, or the typed error.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Response> {
        let request = query
            .iter()
            .fold(http::get(format!("{API}{path}")), |r, (k, v)| {
                r.query(*k, v.as_str())
            });
        self.send(request)
    }

    /// `POST {API}{path}` with `fields` form-encoded (Stripe takes
    /// `application/x-www-form-urlencoded`, nested parameters in brackets:
    /// `metadata[order_id]=42`), and `Idempotency-Key` when given.
    pub fn post_form(
        &self,
        path: &str,
        fields: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Response> {
        let mut request = http::post(format!("{API}{path}")).form(fields);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        self.send(request)
    }

    fn send(&self, request: Request<'_>) -> Result<Response> {
        let response = request
            .header("stripe-version", STRIPE_VERSION)
            .header("accept", "application/json")
            .auth(&self.connection)
            .send()?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(error_from(&response))
        }
    }
}

/// The typed error for Stripe's failed `response`, by status: 400 and 402
/// (a declined card) invalid-input with Stripe's message, 401
/// auth-expired, 403 permission-denied, 404 not-found, 409 (an idempotency
/// key in use by a concurrent request) upstream so that it is retried, 429
/// rate-limited (Stripe sends no `Retry-After` as a rule: honoured when
/// present), 5xx upstream. A `Stripe-Should-Retry` header is Stripe's hint
/// on whether a retry can succeed; it does not change the mapping and is
/// added to the message.
pub fn error_from(response: &Response) -> Error {
    let status = response.status;
    let error = response
        .json::<ErrorBody>()
        .map(|b| b.error)
        .unwrap_or_default();
    let mut message = describe(&error, response);
    if let Some(request_id) = response.header("request-id") {
        message.push_str(&format!(" (request {request_id})"));
    }
    match response.header("stripe-should-retry") {
        Some("false") => {
            message.push_str(" (Stripe-Should-Retry: false: Stripe says a retry will not succeed)")
        }
        Some("true") => {
            message.push_str(" (Stripe-Should-Retry: true: Stripe says a retry may succeed)")
        }
        _ => {}
    }
    match status {
        400 => Error::InvalidInput(message),
        401 => Error::AuthExpired(message),
        402 => Error::InvalidInput(format!("the card was declined: {message}")),
        403 => Error::PermissionDenied(message),
        404 => Error::NotFound(message),
        409 => Error::Upstream { status, message },
        429 => Error::RateLimited {
            retry_after: response.retry_after(),
            message,
        },
        _ => Error::from_status(status, message, response.retry_after()),
    }
}

/// Stripe's message with its param, code and decline code, keys redacted;
/// the status and some of the body when the body is not Stripe's JSON.
fn describe(error: &StripeError, response: &Response) -> String {
    let mut message = match &error.message {
        Some(m) => redact_keys(m),
        None => {
            let text = response.text();
            let text = text.trim();
            if text.is_empty() {
                format!("Stripe answered HTTP {}", response.status)
            } else {
                let head: String = text.chars().take(200).collect();
                format!(
                    "Stripe answered HTTP {}: {}",
                    response.status,
                    redact_keys(&head)
                )
            }
        }
    };
    let details: Vec<String> = [
        error.param.as_ref().map(|p| format!("param: {p}")),
        error.code.as_ref().map(|c| format!("code: {c}")),
        error
            .decline_code
            .as_ref()
            .map(|d| format!("decline code: {d}")),
        error.kind.as_ref().map(|t| format!("type: {t}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !details.is_empty() {
        message.push_str(&format!(" ({})", details.join(", ")));
    }
    message
}

/// `text` with every Stripe key Stripe echoes back (`sk_live_****1234`,
/// `rk_test_...`) replaced by `[key]`: even masked, parts of a user's
/// token do not belong in execution reports.
pub fn redact_keys(text: &str) -> String {
    const PREFIXES: [&str; 4] = ["sk_live_", "sk_test_", "rk_live_", "rk_test_"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let at_word_start = !out
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if at_word_start && PREFIXES.iter().any(|p| rest.starts_with(p)) {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '*'))
                .unwrap_or(rest.len());
            out.push_str("[key]");
            rest = &rest[end..];
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_redacted() {
        assert_eq!(
            redact_keys("Invalid API Key provided: sk_live_****abcd"),
            "Invalid API Key provided: [key]"
        );
        assert_eq!(
            redact_keys("The provided key 'rk_test_***wxyz' does not have access"),
            "The provided key '[key]' does not have access"
        );
        assert_eq!(redact_keys("mask_live_1 é"), "mask_live_1 é");
    }
}
