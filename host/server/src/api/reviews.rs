//! Review: reviewer accounts (the `review` scope) work through pending
//! submissions and sign their decisions with keys of their own.
//!
//! - `GET /v1/reviews/queue` → pending submissions, oldest first, with
//!   their age, approvals so far and needed, and live claim;
//! - `POST /v1/reviews/{id}/claim` → the caller's claim for
//!   [`reviewers::CLAIM_MS`] (30 minutes); while it lasts other reviewers'
//!   approvals and rejections are 409 `claimed`;
//!   `DELETE /v1/reviews/{id}/claim` releases one's own (204);
//! - `POST /v1/reviews/{id}/approve` `{fingerprint}` (the fingerprint of
//!   the report the reviewer was shown by `GET /v1/submissions/{id}`) →
//!   the approved submission and the signed approval; 403 for the
//!   submitter, 409 when the report changed since it was shown. A version
//!   that widens access needs two different reviewers: the first approval
//!   answers 202 `{approvals: 1, needed: 2, submission}` and the same
//!   reviewer approving again is 409 `already_approved`;
//! - `POST /v1/reviews/{id}/reject` `{reason}` → the rejected submission;
//! - `POST /v1/reviews/{id}/revoke` `{reason}` → the revoked submission:
//!   hosts stop starting it.
//!
//! Every route needs the reviewer role (403 otherwise); a rejection or a
//! revocation without a reason is 400 naming `reason`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::platform::Platform;
use workway_engine::review::Approval;
use workway_engine::reviewers;
use workway_registry::SignedApproval;
use workway_store::clock::now_ms;

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use super::submissions::{SubmissionSummary, SubmissionView, registry, reviewer_error, visible};

/// A pending submission in the reviewers' queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    /// What it is and where it is in review.
    #[serde(flatten)]
    pub summary: SubmissionSummary,
    /// Seconds since it was submitted.
    pub age_secs: i64,
    /// Approvals recorded so far.
    pub approvals: u32,
    /// Approvals from different reviewers it needs: 2 when it widens
    /// access compared with the previous approved version, else 1.
    pub needed: u32,
    /// The reviewer holding a live claim on it, if any.
    pub claimed_by: Option<String>,
    /// When that claim lapses (Unix ms), if any.
    pub claim_expires_at: Option<i64>,
}

/// Pending submissions, oldest first, with their age, approvals and claim.
#[utoipa::path(
    get,
    path = "/v1/reviews/queue",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"])),
    responses(
        (status = 200, description = "Submissions pending review, oldest first.", body = Vec<QueueItem>),
    ),
)]
pub async fn queue(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<QueueItem>>, ApiError> {
    let principal = caller.require(Scope::Review)?;
    let now = now_ms();
    let entries = reviewers::queue(&platform, principal, now)
        .await
        .map_err(reviewer_error)?;
    Ok(Json(
        entries
            .iter()
            .map(|e| QueueItem {
                summary: SubmissionSummary::from(&e.row),
                age_secs: (now - e.row.created_at).max(0) / 1000,
                approvals: e.approvals,
                needed: e.needed,
                claimed_by: e.claim.as_ref().map(|c| c.reviewer.clone()),
                claim_expires_at: e.claim.as_ref().map(|c| c.expires_at),
            })
            .collect(),
    ))
}

/// A reviewer's claim on a submission.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    /// The submission.
    pub submission_id: String,
    /// The reviewer holding it.
    pub claimed_by: String,
    /// When it was claimed (Unix ms).
    pub claimed_at: i64,
    /// When it lapses (Unix ms).
    pub claim_expires_at: i64,
}

/// Claim a pending submission for 30 minutes.
///
/// While the claim lasts, other reviewers' approvals and rejections are
/// refused with 409 `claimed`; claiming again extends one's own claim; an
/// expired claim is ignored.
#[utoipa::path(
    post,
    path = "/v1/reviews/{id}/claim",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"], "csrf" = [])),
    params(("id" = String, Path, description = "The pending submission's id.")),
    responses(
        (status = 200, description = "Claimed by the caller.", body = ClaimView),
        (status = 404, description = "No such submission (`not_found`).", body = ErrorBody),
        (status = 409, description = "Another reviewer holds a live claim (`claimed`, `details.claimed_by`, `details.claim_expires_at`), or the submission is not pending (`wrong_state`).", body = ErrorBody),
    ),
)]
pub async fn claim(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClaimView>, ApiError> {
    let principal = caller.require(Scope::Review)?;
    let held = reviewers::claim(&platform, principal, &id, now_ms())
        .await
        .map_err(reviewer_error)?;
    Ok(Json(ClaimView {
        submission_id: held.submission_id,
        claimed_by: held.reviewer,
        claimed_at: held.claimed_at,
        claim_expires_at: held.expires_at,
    }))
}

/// Release the caller's claim on a submission.
#[utoipa::path(
    delete,
    path = "/v1/reviews/{id}/claim",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"], "csrf" = [])),
    params(("id" = String, Path, description = "The submission's id.")),
    responses(
        (status = 204, description = "The caller holds no claim on it any more."),
        (status = 404, description = "No such submission (`not_found`).", body = ErrorBody),
        (status = 409, description = "Another reviewer holds a live claim (`claimed`).", body = ErrorBody),
    ),
)]
pub async fn release(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Review)?;
    reviewers::release(&platform, principal, &id, now_ms())
        .await
        .map_err(reviewer_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/reviews/{id}/approve`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The fingerprint of the report the reviewer was shown by
    /// `GET /v1/submissions/{id}` (required).
    #[serde(default)]
    #[schema(required = true, value_type = String, min_length = 1)]
    pub(crate) fingerprint: Option<String>,
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

/// What a first approval of a version that needs two answers (202).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalRecorded {
    /// Approvals recorded so far, this one included.
    pub approvals: u32,
    /// Approvals from different reviewers the submission needs.
    pub needed: u32,
    /// The submission, still pending review; its history shows the
    /// approval.
    pub submission: SubmissionView,
}

/// Approve a submission as the caller.
///
/// The approval is signed with the reviewer's own key; the submitter can
/// never approve their own submission. A version that widens access
/// compared with the integration's previous approved version (new hosts,
/// new scopes, a new provider: the report's `since_previous`) needs two
/// approvals from two different reviewers: the first is recorded and
/// answered with 202, the second approves and signs. Other versions,
/// including a first version, need one.
#[utoipa::path(
    post,
    path = "/v1/reviews/{id}/approve",
    tag = "reviews",
    security(("api_token" = ["review"]), ("session" = ["review"], "csrf" = [])),
    params(("id" = String, Path, description = "The pending submission's id.")),
    request_body = Approve,
    responses(
        (status = 200, description = "Approved: the submission and the signed approval.", body = Approved),
        (status = 202, description = "Approval recorded; the version widens access, so a different reviewer must approve it too.", body = ApprovalRecorded),
        (status = 400, description = "No fingerprint (`invalid_input`, `details.field` = `fingerprint`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 403, description = "The caller submitted it (`forbidden`, `details.reason` = `own_submission`); or see the shared 403.", body = ErrorBody),
        (status = 404, description = "No such submission (`not_found`).", body = ErrorBody),
        (status = 409, description = "The report changed since it was shown (`not_as_reviewed`, `details.differences`), the submission is not pending (`wrong_state`), the caller already approved it (`already_approved`), another reviewer claimed it (`claimed`), another account owns the name (`name_owned`), or the name could be mistaken for one another account owns (`lookalike_name`).", body = ErrorBody),
    ),
)]
pub async fn approve(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Approve>,
) -> Result<Response, ApiError> {
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
    let outcome = reviewers::approve(&platform, principal, &id, &fingerprint, now_ms())
        .await
        .map_err(reviewer_error)?;
    let details = visible(registry(&platform)?, principal, &id).await?;
    // Still pending after a recorded first approval: the second reviewer
    // reads the same listing changes.
    let submission = SubmissionView::read(&platform, &details).await?;
    Ok(match outcome {
        Approval::Approved(approval) => Json(Approved {
            submission,
            approval: *approval,
        })
        .into_response(),
        Approval::Recorded { approvals, needed } => (
            StatusCode::ACCEPTED,
            Json(ApprovalRecorded {
                approvals,
                needed,
                submission,
            }),
        )
            .into_response(),
    })
}

/// `POST /v1/reviews/{id}/reject` and `.../revoke`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why (required): the developer and other reviewers read it.
    #[serde(default)]
    #[schema(required = true, value_type = String, min_length = 1)]
    pub(crate) reason: Option<String>,
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
        (status = 409, description = "The submission is not pending (`wrong_state`), or another reviewer claimed it (`claimed`).", body = ErrorBody),
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
    reviewers::reject(&platform, principal, &id, &reason, now_ms())
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
