//! The web UI served by `workway serve`: server-rendered HTML pages
//! (askama templates in `host/server/templates/`), one stylesheet, no
//! script a page needs to work. Pages use the API's sessions, its
//! authorisation and its handlers, so a page can show or change only
//! what the same account could through `/v1`.
//!
//! - [`session`]: who is looking (the session cookie), and posted forms
//!   checked against their CSRF field;
//! - [`error`]: failures as pages, and the trip to sign-in and back;
//! - [`layout`]: the navigation bar, the HTML response, times for people;
//! - [`account`]: sign-up, sign-in, sign-out, the account and API tokens;
//! - [`marketplace`]: search and an integration's page;
//! - [`review`]: the reviewer dashboard.
//!
//! Every page is sent with a strict Content-Security-Policy (only this
//! origin's stylesheet, images and scripts; no inline code; forms post
//! only here; never framed) and `nosniff`; user-supplied text is escaped
//! by the templates, and a listing's Markdown is rendered with raw HTML
//! escaped by the engine.

pub mod account;
pub mod error;
pub mod layout;
pub mod marketplace;
pub mod review;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use workway_engine::platform::Platform;

/// The Content-Security-Policy of every page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The stylesheet, served at `/static/style.css`.
const STYLESHEET: &str = include_str!("../../static/style.css");

/// The pages' routes.
pub fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(account::sign_in_page).post(account::sign_in))
        .route("/signup", get(account::sign_up_page).post(account::sign_up))
        .route("/signout", post(account::sign_out))
        .route("/account", get(account::show))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/marketplace", get(marketplace::search))
        .route("/marketplace/{name}", get(marketplace::integration))
        .route("/review", get(review::queue))
        .route("/static/style.css", get(stylesheet))
        .layer(middleware::from_fn(security_headers))
}

/// `GET /`: the marketplace (which sends a stranger to sign in).
async fn home() -> Redirect {
    Redirect::to("/marketplace")
}

/// `GET /static/style.css`.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Add the pages' security headers to every answer.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
