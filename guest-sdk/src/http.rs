//! Outbound HTTP through the host's broker.
//!
//! ```ignore
//! let conn = ctx.connection("slack")?;
//! let reply: Reply = http::post("https://slack.com/api/chat.postMessage")
//!     .json(&message)?
//!     .auth(&conn)
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! ```
//!
//! The host checks every request against the integration's approved hosts;
//! a request outside them ends the execution with `capability-denied`.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::workway::plugin::http as wit;
use crate::connection::Connection;
use crate::error::Error;

pub use wit::Method;

/// An outbound request being built.
#[must_use = "a request does nothing until `.send()`"]
pub struct Request<'a> {
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    auth: Option<&'a Connection>,
}

/// A GET request to `url`.
pub fn get(url: impl Into<String>) -> Request<'static> {
    Request::new(Method::Get, url)
}

/// A POST request to `url`.
pub fn post(url: impl Into<String>) -> Request<'static> {
    Request::new(Method::Post, url)
}

/// A PUT request to `url`.
pub fn put(url: impl Into<String>) -> Request<'static> {
    Request::new(Method::Put, url)
}

/// A PATCH request to `url`.
pub fn patch(url: impl Into<String>) -> Request<'static> {
    Request::new(Method::Patch, url)
}

/// A DELETE request to `url`.
pub fn delete(url: impl Into<String>) -> Request<'static> {
    Request::new(Method::Delete, url)
}

impl<'a> Request<'a> {
    /// A request with `method` to `url`.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            auth: None,
        }
    }

    /// Append a query parameter, percent-encoded.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Add a header. Credential headers (`Authorization`, `Cookie`) are the
    /// host's to set: use [`Request::auth`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Send `body` as JSON (`Content-Type: application/json; charset=utf-8`
    /// unless a content type was set; some services, Slack among them, want
    /// the charset named).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        self.body = Some(serde_json::to_vec(body)?);
        Ok(self.default_content_type("application/json; charset=utf-8"))
    }

    /// Set `Content-Type` to `value` unless the caller already set one.
    fn default_content_type(self, value: &str) -> Self {
        if self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            self
        } else {
            self.header("content-type", value)
        }
    }

    /// Send `fields` as `application/x-www-form-urlencoded`.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, fields: &[(K, V)]) -> Self {
        let encoded = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
            .collect::<Vec<_>>()
            .join("&");
        self.body = Some(encoded.into_bytes());
        self.default_content_type("application/x-www-form-urlencoded")
    }

    /// Send raw bytes as the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Give up after `timeout` (the host caps it at the execution's deadline).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Have the host authorise the request with `connection`'s grant.
    pub fn auth<'b>(self, connection: &'b Connection) -> Request<'b>
    where
        'a: 'b,
    {
        Request {
            auth: Some(connection),
            ..self
        }
    }

    /// Send the request through the host's broker.
    pub fn send(self) -> Result<Response, Error> {
        let mut url = self.url;
        if !self.query.is_empty() {
            let sep = if url.contains('?') { '&' } else { '?' };
            url.push(sep);
            let pairs: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            url.push_str(&pairs.join("&"));
        }
        let request = wit::Request {
            method: self.method,
            url,
            headers: self
                .headers
                .into_iter()
                .map(|(name, value)| wit::Header { name, value })
                .collect(),
            body: self.body,
            timeout_ms: self
                .timeout
                .map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX)),
        };
        match wit::send(&request, self.auth.map(|c| &c.handle)) {
            Ok(r) => Ok(Response {
                status: r.status,
                headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                body: r.body,
            }),
            Err(wit::HttpError::InvalidRequest(m)) => {
                Err(Error::Internal(format!("bad request: {m}")))
            }
            Err(wit::HttpError::Network(m)) => Err(Error::Network(m)),
            Err(wit::HttpError::Timeout) => Err(Error::Network("request timed out".into())),
            Err(wit::HttpError::TooLarge(m)) => Err(Error::Internal(m)),
        }
    }
}

/// A response from the upstream service.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-case as the host gives them.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Upstream {
            status: self.status,
            message: format!("response is not the expected JSON: {e}"),
        })
    }

    /// How long the service asked the caller to wait, from `Retry-After`
    /// (delay-seconds or an HTTP-date, RFC 9110 section 10.2.3). An
    /// HTTP-date is taken relative to the response's own `Date` header when
    /// it has one (the server's clock wrote both, so skew between the
    /// server's and the host's clocks cancels out), else to the wall clock.
    /// A lean component has no wall clock: there, an HTTP-date without a
    /// `Date` header gives `None` (the caller's own backoff applies).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?;
        let now = match self.header("date").and_then(parse_http_date) {
            Some(secs) => std::time::UNIX_EPOCH + Duration::from_secs(secs),
            None => match wall_clock() {
                Some(now) => now,
                None => return value.trim().parse().ok().map(Duration::from_secs),
            },
        };
        parse_retry_after(value, now)
    }

    /// `self` if 2xx, else the typed error a generic REST API's status means
    /// (see [`Error::from_status`]), with the body as the message and
    /// `Retry-After` as the delay. Integrations refine this with the
    /// service's own error body.
    pub fn error_for_status(self) -> Result<Self, Error> {
        if self.is_success() {
            return Ok(self);
        }
        let message = {
            let text = self.text();
            if text.is_empty() {
                format!("HTTP {}", self.status)
            } else {
                text
            }
        };
        Err(Error::from_status(self.status, message, self.retry_after()))
    }
}

/// The wall clock, where the target has one. std on wasm32-unknown-unknown
/// (a lean component, `workway plugin build --lean`) panics on
/// `SystemTime::now`.
fn wall_clock() -> Option<std::time::SystemTime> {
    if cfg!(all(target_arch = "wasm32", target_os = "unknown")) {
        None
    } else {
        Some(std::time::SystemTime::now())
    }
}

/// Parse a `Retry-After` value: delay-seconds, or an HTTP-date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) taken relative to `now` (a date in the
/// past means "now": zero).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the Unix epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    Some(days * 86_400 + h * 3_600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146_097 + doe - 719_468).ok()
}

/// Percent-encode `s` for a query string or form body (RFC 3986 unreserved
/// characters are kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: b"nope".to_vec(),
        }
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        assert!(matches!(
            response(401, &[]).error_for_status(),
            Err(Error::AuthExpired(_))
        ));
        assert!(matches!(
            response(403, &[]).error_for_status(),
            Err(Error::PermissionDenied(_))
        ));
        assert!(matches!(
            response(404, &[]).error_for_status(),
            Err(Error::NotFound(_))
        ));
        assert_eq!(
            response(429, &[("Retry-After", "7")])
                .error_for_status()
                .unwrap_err(),
            Error::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
                message: "nope".into()
            }
        );
        assert!(matches!(
            response(422, &[]).error_for_status(),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            response(409, &[]).error_for_status(),
            Err(Error::Upstream { status: 409, .. })
        ));
        assert!(matches!(
            response(503, &[]).error_for_status(),
            Err(Error::Upstream { status: 503, .. })
        ));
        assert!(response(204, &[]).error_for_status().is_ok());
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", std::time::UNIX_EPOCH),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("Sun, 36 Nov 1994 08:49:37 GMT", now),
            None
        );
    }

    #[test]
    fn a_retry_after_date_is_relative_to_the_response_date() {
        let dated = response(
            429,
            &[
                ("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"),
                ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ],
        );
        assert_eq!(dated.retry_after(), Some(Duration::from_secs(30)));
        // Without a Date header the wall clock is "now": that date is long past.
        let undated = response(429, &[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")]);
        assert_eq!(undated.retry_after(), Some(Duration::ZERO));
        assert_eq!(
            response(429, &[("retry-after", " 5 ")]).retry_after(),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn encoding_keeps_unreserved_characters() {
        assert_eq!(encode("a b&c=d~é"), "a%20b%26c%3Dd~%C3%A9");
    }
}
