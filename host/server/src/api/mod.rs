//! The platform API under `/v1`, JSON in and out, for the CLI, the web UI
//! and third parties alike. Every route but sign-up, sign-in and webhook
//! delivery needs a credential ([`auth::Caller`]); every resource is read
//! and written only within the caller's account, and another account's
//! resource answers 404 as if it did not exist. Errors have one shape
//! ([`error::ApiError`]).
//!
//! - [`account`]: sign-up, sign-in, sign-out, the account, API tokens;
//! - [`workflows`]: workflow definitions, their versions and webhook secrets;
//! - [`runs`]: starting runs, listing them a page at a time, reading their
//!   step attempts;
//! - [`installations`]: installing and uninstalling integrations;
//! - [`connections`]: listing and disconnecting provider accounts;
//! - [`submissions`]: publishing integrations and reading submissions;
//! - [`reviews`]: the review queue, approving, rejecting and revoking;
//! - [`integrations`]: the approved integrations, by name and version;
//! - [`oauth`]: connecting a provider account in the browser (OAuth with PKCE).

pub mod account;
pub mod auth;
pub mod body;
pub mod connections;
pub mod error;
pub mod installations;
pub mod integrations;
pub mod oauth;
pub mod reviews;
pub mod runs;
pub mod submissions;
pub mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};

use workway_engine::platform::Platform;

/// The `/v1` routes (webhook delivery is added by the caller).
pub fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/auth/signup", post(account::sign_up))
        .route("/v1/auth/signin", post(account::sign_in))
        .route("/v1/auth/signout", post(account::sign_out))
        .route("/v1/account", get(account::me))
        .route("/v1/account/password", post(account::change_password))
        .route(
            "/v1/tokens",
            get(account::list_tokens).post(account::create_token),
        )
        .route("/v1/tokens/{id}", delete(account::revoke_token))
        .route("/v1/workflows", get(workflows::list).post(workflows::save))
        .route("/v1/workflows/{name}", get(workflows::show))
        .route("/v1/workflows/{name}/versions", get(workflows::versions))
        .route(
            "/v1/workflows/{name}/versions/{version}",
            get(workflows::version),
        )
        .route(
            "/v1/workflows/{name}/rotate-secret",
            post(workflows::rotate_secret),
        )
        .route("/v1/runs", get(runs::list).post(runs::start))
        .route("/v1/runs/{id}", get(runs::show))
        .route("/v1/runs/{id}/cancel", post(runs::cancel))
        .route("/v1/runs/{id}/rerun", post(runs::rerun))
        .route(
            "/v1/installations",
            get(installations::list).post(installations::install),
        )
        .route(
            "/v1/installations/{integration}",
            delete(installations::uninstall),
        )
        .route("/v1/connections", get(connections::list))
        .route("/v1/connections/{id}", delete(connections::disconnect))
        .route(
            "/v1/submissions",
            post(submissions::submit).get(submissions::list).layer(
                axum::extract::DefaultBodyLimit::max(submissions::SUBMISSION_BODY_BYTES),
            ),
        )
        .route("/v1/submissions/{id}", get(submissions::show))
        .route("/v1/reviews/queue", get(reviews::queue))
        .route("/v1/reviews/{id}/approve", post(reviews::approve))
        .route("/v1/reviews/{id}/reject", post(reviews::reject))
        .route("/v1/reviews/{id}/revoke", post(reviews::revoke))
        .route("/v1/integrations", get(integrations::list))
        .route("/v1/integrations/{name}", get(integrations::show))
        .route(
            "/v1/integrations/{name}/versions",
            get(integrations::versions),
        )
        .route("/v1/connections/{provider}/connect", get(oauth::connect))
        .route(oauth::CALLBACK_PATH, get(oauth::callback))
}
