//! The platform API under `/v1`, JSON in and out, for the CLI, the web UI
//! and third parties alike. Every route but sign-up, sign-in and webhook
//! delivery needs a credential ([`auth::Caller`]); every resource is read
//! and written only within the caller's account, and another account's
//! resource answers 404 as if it did not exist. Errors have one shape
//! ([`error::ApiError`]).
//!
//! - [`account`]: sign-up, sign-in, sign-out, the account, API tokens;
//! - [`admin`]: accounts as operators manage them: roles, disabling;
//! - [`workflows`]: workflow definitions, their versions and webhook secrets;
//! - [`runs`]: starting runs, listing them a page at a time, reading their
//!   step attempts;
//! - [`installations`]: installing and uninstalling integrations;
//! - [`consent`]: what a version may do, accepted before it is installed,
//!   and moving an installation to a newer version;
//! - [`connections`]: listing provider accounts, connecting one with a
//!   key, disconnecting;
//! - [`submissions`]: publishing integrations and reading submissions;
//! - [`reviews`]: the review queue, approving, rejecting and revoking;
//! - [`audit`]: every submission with every decision on it, for admins;
//! - [`billing`]: usage this month, statements, a developer's earnings,
//!   the ledger for admins;
//! - [`integrations`]: the approved integrations, by name and version;
//! - [`listings`]: an integration's marketplace listing (description,
//!   categories, price, icon, what it may do) written by its publishers;
//! - [`ratings`]: ratings and reviews of integrations, the publisher's
//!   replies, admins hiding abusive ones;
//! - [`purchases`]: buying a paid integration, refunds for admins;
//! - [`publishers`]: developer profiles, their verification by an admin,
//!   co-maintainers of an integration;
//! - [`oauth`]: connecting a provider account in the browser (OAuth with PKCE).

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod body;
pub mod connections;
pub mod consent;
pub mod error;
pub mod installations;
pub mod integrations;
pub mod listings;
pub mod oauth;
pub mod paging;
pub mod publishers;
pub mod purchases;
pub mod ratings;
pub mod reviews;
pub mod runs;
pub mod settlement;
pub mod submissions;
pub mod workflows;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt as _};
use utoipa_axum::routes;

use workway_engine::platform::Platform;

/// The `/v1` routes, each registered with its OpenAPI description
/// (`routes!` adds the handler and its `#[utoipa::path]` together, so a
/// route cannot be served undocumented; see [`crate::openapi`]). Webhook
/// delivery is added by the caller. The handlers of one `routes!` share
/// one path.
pub fn routes() -> OpenApiRouter<Arc<Platform>> {
    OpenApiRouter::default()
        .routes(routes!(account::sign_up))
        .routes(routes!(account::sign_in))
        .routes(routes!(account::sign_out))
        .routes(routes!(account::me))
        .routes(routes!(account::change_password))
        .routes(routes!(account::list_tokens, account::create_token))
        .routes(routes!(account::revoke_token))
        .routes(routes!(admin::list))
        .routes(routes!(admin::set_roles))
        .routes(routes!(admin::disable))
        .routes(routes!(admin::enable))
        .routes(routes!(workflows::list, workflows::save))
        .routes(routes!(workflows::show, workflows::delete))
        .routes(routes!(workflows::versions))
        .routes(routes!(workflows::version))
        .routes(routes!(workflows::rotate_secret))
        .routes(routes!(workflows::set_secret))
        .routes(routes!(runs::list, runs::start))
        .routes(routes!(runs::show))
        .routes(routes!(runs::cancel))
        .routes(routes!(runs::rerun))
        .routes(routes!(installations::list, installations::install))
        .routes(routes!(installations::uninstall))
        .routes(routes!(installations::upgrade))
        .routes(routes!(consent::show))
        .routes(routes!(connections::list, connections::connect))
        .routes(routes!(connections::disconnect))
        .routes(
            routes!(submissions::submit, submissions::list)
                .layer(DefaultBodyLimit::max(submissions::SUBMISSION_BODY_BYTES)),
        )
        .routes(routes!(submissions::show))
        .routes(routes!(reviews::queue))
        .routes(routes!(reviews::claim, reviews::release))
        .routes(routes!(reviews::approve))
        .routes(routes!(reviews::reject))
        .routes(routes!(reviews::revoke))
        .routes(routes!(audit::submissions))
        .routes(routes!(billing::usage))
        .routes(routes!(billing::statements))
        .routes(routes!(billing::statement))
        .routes(routes!(billing::credit, billing::buy_credit))
        .routes(routes!(billing::earnings))
        .routes(routes!(billing::ledger))
        .routes(routes!(purchases::buy))
        .routes(routes!(purchases::list))
        .routes(routes!(purchases::refund))
        .routes(routes!(settlement::retry_invoice))
        .routes(routes!(integrations::list))
        .routes(routes!(integrations::show))
        .routes(routes!(integrations::versions))
        .routes(routes!(listings::show, listings::put))
        .routes(routes!(listings::icon, listings::put_icon).layer(listings::icon_body_limit()))
        .routes(routes!(ratings::list_reviews))
        .routes(routes!(ratings::write_review, ratings::delete_review))
        .routes(routes!(ratings::reply_to_review))
        .routes(routes!(ratings::hide_review))
        .routes(routes!(ratings::unhide_review))
        .routes(routes!(ratings::hidden_reviews))
        .routes(routes!(publishers::my_profile, publishers::put_profile))
        .routes(routes!(publishers::public_profile))
        .routes(routes!(publishers::verify))
        .routes(routes!(
            publishers::list_maintainers,
            publishers::add_maintainer
        ))
        .routes(routes!(publishers::remove_maintainer))
        .routes(routes!(oauth::connect))
        .routes(routes!(oauth::callback))
}
