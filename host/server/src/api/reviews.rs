//! Review: reviewer accounts (the `review` scope) work through pending
//! submissions and sign their decisions with keys of their own.
//!
//! - `GET /v1/reviews/queue` → pending submissions, oldest first;
//! - `POST /v1/reviews/{id}/approve` `{fingerprint}` (the fingerprint of
//!   the report the reviewer was shown by `GET /v1/submissions/{id}`) →
//!   the approved submission and the signed approval; 403 for the
//!   submitter, 409 when the report changed since it was shown;
//! - `POST /v1/reviews/{id}/reject` `{reason}` → the rejected submission;
//! - `POST /v1/reviews/{id}/revoke` `{reason}` → the revoked submission:
//!   hosts stop starting it.
//!
//! Every route needs the reviewer role (403 otherwise); a rejection or a
//! revocation without a reason is 400 naming `reason`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::platform::Platform;
use workway_engine::reviewers;
use workway_registry::SignedApproval;
use workway_store::clock::now_ms;
use workway_store::submissions::SubmissionState;

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use super::submissions::{
    SubmissionSummary, SubmissionView, registry, registry_error, reviewer_error, visible,
};

/// Pending submissions, oldest first.
#[utoipa::path(
    get,
    path = "/v1/reviews/queue",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"])),
    responses(
        (status = 200, description = "Submissions pending review, oldest first.", body = Vec<SubmissionSummary>),
    ),
)]
pub async fn queue(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<SubmissionSummary>>, ApiError> {
    caller.require(Scope::Review)?;
    let mut rows = registry(&platform)?
        .list(Some(SubmissionState::PendingReview))
        .await
        .map_err(registry_error)?;
    rows.reverse();
    Ok(Json(rows.iter().map(SubmissionSummary::from).collect()))
}

/// `POST /v1/reviews/{id}/approve`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The fingerprint of the report the reviewer was shown by
    /// `GET /v1/submissions/{id}` (required).
    #[serde(default)]
    #[schema(required = true, value_type = String, min_length = 1)]
    fingerprint: Option<String>,
}

/// What an approval answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Approved {
    /// The submission, now approved.
    pub submission: SubmissionView,
    /// The approval, signed with the reviewer's key: `{key_id, claims,
    /// signature}`.
    #[schema(value_type = Object)]
    pub approval: SignedApproval,
}

/// Approve a submission as the caller.
///
/// The approval is signed with the reviewer's own key; the submitter can
/// never approve their own submission.
#[utoipa::path(
    post,
    path = "/v1/reviews/{id}/approve",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"], "csrf" = [])),
    params(("id" = String, Path, description = "The pending submission's id.")),
    request_body = Approve,
    responses(
        (status = 200, description = "Approved: the submission and the signed approval.", body = Approved),
        (status = 400, description = "No fingerprint (`invalid_input`, `details.field` = `fingerprint`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 403, description = "The caller submitted it (`forbidden`, `details.reason` = `own_submission`); or see the shared 403.", body = ErrorBody),
        (status = 404, description = "No such submission (`not_found`).", body = ErrorBody),
        (status = 409, description = "The report changed since it was shown (`not_as_reviewed`, `details.differences`), the submission is not pending (`wrong_state`), another account owns the name (`name_owned`), or the name could be mistaken for one another account owns (`lookalike_name`).", body = ErrorBody),
    ),
)]
pub async fn approve(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Approve>,
) -> Result<Json<Approved>, ApiError> {
    let principal = caller.require(Scope::Review)?;
    let fingerprint = body
        .fingerprint
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                "fingerprint",
                "give the fingerprint of the report you reviewed (GET /v1/submissions/{id} shows it)",
            )
        })?;
    let approval = reviewers::approve(&platform, principal, &id, &fingerprint, now_ms())
        .await
        .map_err(reviewer_error)?;
    let details = visible(registry(&platform)?, principal, &id).await?;
    Ok(Json(Approved {
        submission: SubmissionView::from(&details),
        approval,
    }))
}

/// `POST /v1/reviews/{id}/reject` and `.../revoke`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why (required): the developer and other reviewers read it.
    #[serde(default)]
    #[schema(required = true, value_type = String, min_length = 1)]
    reason: Option<String>,
}

impl Decision {
    /// The reason, or 400 naming it.
    fn reason(self) -> Result<String, ApiError> {
        self.reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
            ApiError::invalid(
                "reason",
                "give a reason: the developer and other reviewers read it",
            )
        })
    }
}

/// Reject a pending submission as the caller.
#[utoipa::path(
    post,
    path = "/v1/reviews/{id}/reject",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"], "csrf" = [])),
    params(("id" = String, Path, description = "The pending submission's id.")),
    request_body = Decision,
    responses(
        (status = 200, description = "Rejected.", body = SubmissionView),
        (status = 400, description = "No reason (`invalid_input`, `details.field` = `reason`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 404, description = "No such submission (`not_found`).", body = ErrorBody),
        (status = 409, description = "The submission is not pending (`wrong_state`).", body = ErrorBody),
    ),
)]
pub async fn reject(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Decision>,
) -> Result<Json<SubmissionView>, ApiError> {
    let principal = caller.require(Scope::Review)?;
    let reason = body.reason()?;
    reviewers::reject(&platform, principal, &id, &reason)
        .await
        .map_err(reviewer_error)?;
    let details = visible(registry(&platform)?, principal, &id).await?;
    Ok(Json(SubmissionView::from(&details)))
}

/// Revoke an approved submission as the caller.
///
/// The revocation is signed; hosts stop starting the revoked version.
#[utoipa::path(
    post,
    path = "/v1/reviews/{id}/revoke",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"], "csrf" = [])),
    params(("id" = String, Path, description = "The approved submission's id.")),
    request_body = Decision,
    responses(
        (status = 200, description = "Revoked.", body = SubmissionView),
        (status = 400, description = "No reason (`invalid_input`, `details.field` = `reason`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 404, description = "No such submission (`not_found`).", body = ErrorBody),
        (status = 409, description = "The submission is not approved (`wrong_state`).", body = ErrorBody),
    ),
)]
pub async fn revoke(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Decision>,
) -> Result<Json<SubmissionView>, ApiError> {
    let principal = caller.require(Scope::Review)?;
    let reason = body.reason()?;
    reviewers::revoke(&platform, principal, &id, &reason, now_ms())
        .await
        .map_err(reviewer_error)?;
    let details = visible(registry(&platform)?, principal, &id).await?;
    Ok(Json(SubmissionView::from(&details)))
}
