//! What every page shares: the navigation bar ([`Nav`]), the HTML
//! response type, and how times are written for people.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use workway_engine::accounts::{Principal, Role};

/// The navigation bar: who is signed in and what their roles open.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// The signed-in account's display name.
    pub name: Option<String>,
    /// The CSRF value of the sign-out form.
    pub csrf: String,
    /// Whether to link the reviewer dashboard.
    pub reviewer: bool,
    /// Whether to link the developer console.
    pub developer: bool,
    /// Whether to link the operators' pages.
    pub admin: bool,
}

impl Nav {
    /// The bar for nobody signed in.
    pub fn anonymous() -> Nav {
        Nav::default()
    }

    /// The bar for `principal` in a session whose forms carry `csrf`.
    pub fn of(principal: &Principal, csrf: &str) -> Nav {
        Nav {
            name: Some(principal.display_name.clone()),
            csrf: csrf.to_string(),
            reviewer: principal.is(Role::Reviewer),
            developer: principal.is(Role::Developer),
            admin: principal.is(Role::Admin),
        }
    }
}

/// A rendered page: `text/html`, never cached (pages show account data).
#[derive(Debug)]
pub struct Html(pub String);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            self.0,
        )
            .into_response()
    }
}

/// Render `template`; if it fails (a bug, logged for the operator), a
/// plain 500 answer.
pub fn render(template: &impl askama::Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("a page did not render: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be shown; try again, and tell the operator if it persists",
            )
                .into_response()
        }
    }
}

/// A Unix-ms time as people read it: `2026-12-06 15:40 UTC`.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// `text` percent-encoded for a path segment or a query value.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
