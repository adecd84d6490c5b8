//! What a mock server saw: one fully-read HTTP request, as a third-party API
//! would have received it from the code under test.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One request received by a [`MockServer`](crate::MockServer), body included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Request method, e.g. `"POST"`.
    pub method: String,
    /// Request path without the query string, e.g. `"/token"`.
    pub path: String,
    /// Raw query string (without `?`), if the request target had one.
    pub query: Option<String>,
    /// Headers in the order received; names are lower-case.
    pub headers: Vec<(String, String)>,
    /// The complete request body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body parsed as `application/x-www-form-urlencoded` pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// First value of form field `name` in an urlencoded body.
    pub fn form_param(&self, name: &str) -> Option<String> {
        first(self.form(), name)
    }

    /// The query string parsed into decoded pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let query = self.query.as_deref().unwrap_or("");
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    /// First value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        first(self.query_pairs(), name)
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// `(user, password)` of an `Authorization: Basic ...` header.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?;
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

fn first(pairs: Vec<(String, String)>, name: &str) -> Option<String> {
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}
