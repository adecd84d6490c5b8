//! The web UI served by `workway serve`: server-rendered HTML pages
//! (askama templates in `host/server/templates/`), one stylesheet, and
//! two scripts that only enhance (`static/live.js`: a run's page updated
//! over Server-Sent Events; `static/copy.js`: copy buttons for tokens and
//! secrets); every page works with scripts off. Pages use the API's sessions, its
//! authorisation and its handlers, so a page can show or change only
//! what the same account could through `/v1`.
//!
//! - [`session`]: who is looking (the session cookie), and posted forms
//!   checked against their CSRF field;
//! - [`error`]: failures as pages, and the trip to sign-in and back;
//! - [`layout`]: the navigation bar, the HTML response, times for people;
//! - [`account`]: sign-up, sign-in, sign-out, the account and API tokens;
//! - [`marketplace`]: search and an integration's page;
//! - [`ratings`]: writing a review, the publisher's reply;
//! - [`installations`]: the consent screen, installing, the account's
//!   installations;
//! - [`connections`]: connected accounts, connecting one through the
//!   provider (OAuth) or with a key, disconnecting;
//! - [`billing`]: usage this month, credit, statements, purchases, and
//!   buying a paid integration;
//! - [`workflows`]: workflows written in YAML, their versions, webhook
//!   secrets, starting a run;
//! - [`runs`]: the run monitor: runs by status, a run's step timeline,
//!   cancel and rerun;
//! - [`developer`]: the developer console (submitting a component) and a
//!   submission's page with its review report;
//! - [`listing`]: the console's page for one integration: its figures,
//!   its listing, icon and co-maintainers;
//! - [`review`]: the reviewer dashboard and the reviewer's actions on a
//!   submission's page;
//! - [`admin`]: the operators' pages: accounts and roles, hidden reviews,
//!   revocations and every review decision, the ledger.
//!
//! Every page is sent with a strict Content-Security-Policy (only this
//! origin's stylesheet, images and scripts; no inline code; forms post
//! only here; never framed) and `nosniff`; user-supplied text is escaped
//! by the templates, and a listing's Markdown is rendered with raw HTML
//! escaped by the engine.

pub mod account;
pub mod admin;
pub mod billing;
pub mod connections;
pub mod developer;
pub mod error;
pub mod installations;
pub mod layout;
pub mod listing;
pub mod marketplace;
pub mod ratings;
pub mod review;
pub mod runs;
pub mod session;
pub mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use workway_engine::platform::Platform;

use crate::api::submissions;

/// The Content-Security-Policy of every page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The stylesheet, served at `/static/style.css`.
const STYLESHEET: &str = include_str!("../../static/style.css");

/// The run page's live updates, served at `/static/live.js`.
const LIVE_SCRIPT: &str = include_str!("../../static/live.js");

/// Copy buttons on every page, served at `/static/copy.js`.
const COPY_SCRIPT: &str = include_str!("../../static/copy.js");

/// The most an icon upload's whole form may hold: the API's icon limit
/// (1 MiB, of which the engine accepts 256 KiB) and room for the form.
const ICON_UPLOAD_BYTES: usize = 1024 * 1024 + 16 * 1024;

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
        .route(
            "/marketplace/{name}/install",
            get(installations::consent).post(installations::install),
        )
        .route("/marketplace/{name}/buy", post(billing::buy))
        .route("/marketplace/{name}/reviews", post(ratings::write))
        .route("/marketplace/{name}/reviews/delete", post(ratings::delete))
        .route(
            "/marketplace/{name}/reviews/{id}/reply",
            post(ratings::reply),
        )
        .route("/billing", get(billing::show))
        .route("/billing/credit", post(billing::buy_credit))
        .route("/installations", get(installations::list))
        .route(
            "/installations/{name}/uninstall",
            post(installations::uninstall),
        )
        .route(
            "/installations/{name}/upgrade",
            post(installations::upgrade),
        )
        .route("/connections", get(connections::list))
        .route("/connections/key", post(connections::connect_key))
        .route(
            "/connections/{id}/disconnect",
            post(connections::disconnect),
        )
        .route("/workflows", get(workflows::list).post(workflows::save))
        .route("/workflows/new", get(workflows::new))
        .route("/workflows/{name}", get(workflows::show))
        .route(
            "/workflows/{name}/rotate-secret",
            post(workflows::rotate_secret),
        )
        .route("/workflows/{name}/secret", post(workflows::set_secret))
        .route("/workflows/{name}/runs", post(workflows::start))
        .route(
            "/workflows/{name}/versions/{version}",
            get(workflows::version),
        )
        .route("/workflows/{name}/delete", post(workflows::delete))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(runs::show))
        .route("/runs/{id}/events", get(runs::events))
        .route("/runs/{id}/cancel", post(runs::cancel))
        .route("/runs/{id}/rerun", post(runs::rerun))
        .route("/developer", get(developer::show))
        .route(
            "/developer/submissions",
            post(developer::submit)
                .layer(DefaultBodyLimit::max(submissions::SUBMISSION_BODY_BYTES)),
        )
        .route("/developer/integrations/{name}", get(listing::show))
        .route(
            "/developer/integrations/{name}/listing",
            post(listing::save_listing),
        )
        .route(
            "/developer/integrations/{name}/icon",
            post(listing::save_icon).layer(DefaultBodyLimit::max(ICON_UPLOAD_BYTES)),
        )
        .route(
            "/developer/integrations/{name}/maintainers",
            post(listing::add_maintainer),
        )
        .route(
            "/developer/integrations/{name}/maintainers/{account}/remove",
            post(listing::remove_maintainer),
        )
        .route("/submissions/{id}", get(developer::submission))
        .route("/submissions/{id}/{action}", post(review::act))
        .route("/review", get(review::queue))
        .route("/admin", get(admin_home))
        .route("/admin/accounts", get(admin::accounts))
        .route("/admin/accounts/{id}/{action}", post(admin::account_action))
        .route("/admin/reviews", get(admin::reviews))
        .route("/admin/reviews/{id}/{action}", post(admin::review_action))
        .route("/admin/submissions", get(admin::submissions))
        .route("/admin/ledger", get(admin::ledger))
        .route("/static/style.css", get(stylesheet))
        .route("/static/live.js", get(|| script(LIVE_SCRIPT)))
        .route("/static/copy.js", get(|| script(COPY_SCRIPT)))
        .layer(middleware::from_fn(security_headers))
}

/// `GET /`: the marketplace (which sends a stranger to sign in).
async fn home() -> Redirect {
    Redirect::to("/marketplace")
}

/// `GET /admin`: the accounts page, where operators start.
async fn admin_home() -> Redirect {
    Redirect::to("/admin/accounts")
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

/// `GET /static/live.js` and `/static/copy.js`.
async fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        source,
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
