//! Keyset pagination shared by the listings ordered newest first by
//! `created_at` then id (runs, an integration's reviews): the `limit` and
//! `cursor` query parameters, checked with errors that name them, and the
//! opaque cursor itself; and [`query_of`], a route's query string read
//! with an error that lists what the route takes.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;

use super::error::ApiError;

/// A route's query parameters, or 400 naming `query` that says what was
/// wrong and which parameters the route `takes` (`"limit and cursor"`).
pub fn query_of<T>(query: Result<Query<T>, QueryRejection>, takes: &str) -> Result<T, ApiError> {
    query.map(|Query(q)| q).map_err(|rejection| {
        ApiError::invalid(
            "query",
            format!("{}; this route takes {takes}", rejection.body_text()),
        )
    })
}

/// How many items a page holds unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 20;

/// The most items a page holds.
pub const MAX_LIMIT: i64 = 100;

/// The page size `limit` asks for ([`DEFAULT_LIMIT`] when absent), or
/// 400 naming `limit`.
pub fn limit(limit: Option<&str>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("limit must be a number from 1 to {MAX_LIMIT}"),
                )
            }),
    }
}

/// The boundary `cursor` names (none for the first page), or 400 naming
/// `cursor`.
pub fn before(cursor: Option<&str>) -> Result<Option<(i64, String)>, ApiError> {
    cursor
        .map(|cursor| decode_cursor(cursor).ok_or_else(not_a_cursor))
        .transpose()
}

/// 400 naming `cursor`: a value this API did not give.
pub fn not_a_cursor() -> ApiError {
    ApiError::invalid(
        "cursor",
        "this is not a cursor this API gave: pass `next_cursor` from the previous \
         page unchanged, or leave `cursor` out for the first page",
    )
}

/// A page boundary: the previous page's last key, hex-encoded so clients
/// treat it as opaque.
pub fn encode_key(created_at: i64, id: &str) -> String {
    encode_text(&format!("{created_at}.{id}"))
}

/// The boundary `cursor` encodes, if it is one [`encode_key`] made.
pub fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    let text = decode_text(cursor)?;
    let (created_at, id) = text.split_once('.')?;
    Some((created_at.parse().ok()?, id.to_string()))
}

/// A boundary of another order (an email, for accounts by email), as an
/// opaque cursor: its bytes in hex.
pub fn encode_text(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The text a cursor made by [`encode_text`] holds.
pub fn decode_text(cursor: &str) -> Option<String> {
    if !cursor.len().is_multiple_of(2) || !cursor.is_ascii() {
        return None;
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_cursor_round_trips_and_anything_else_is_refused() {
        let email = "ünïcode+tag@example.com";
        assert_eq!(decode_text(&encode_text(email)).as_deref(), Some(email));
        for bad in ["a", "zz", "ff", "é1"] {
            assert!(decode_text(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        let cursor = encode_key(1_700_000_000_123, "7f1c-run.with.dots");
        assert_eq!(
            decode_cursor(&cursor),
            Some((1_700_000_000_123, "7f1c-run.with.dots".to_string()))
        );
        for bad in ["", "zz", "abc", "é1", "31", "782e79"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
        assert_eq!(limit(None).ok(), Some(DEFAULT_LIMIT));
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("101")).is_err());
        assert!(before(Some("zz")).is_err());
        assert_eq!(before(None).ok(), Some(None));
    }
}
