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

use workway_engine::accounts::Scope;
use workway_engine::platform::Platform;
use workway_engine::reviewers;
use workway_registry::SignedApproval;
use workway_store::clock::now_ms;
use workway_store::submissions::SubmissionState;

use super::auth::Caller;
use super::body::ApiJson;
use super::error::ApiError;
use super::submissions::{
    SubmissionSummary, SubmissionView, registry, registry_error, reviewer_error, visible,
};

/// Pending submissions, oldest first.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    #[serde(default)]
    fingerprint: Option<String>,
}

/// What an approval answers.
#[derive(Debug, Serialize)]
pub struct Approved {
    /// The submission, now approved.
    pub submission: SubmissionView,
    /// The approval, signed with the reviewer's key.
    pub approval: SignedApproval,
}

/// Approve submission `id` as the caller.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    #[serde(default)]
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

/// Reject pending submission `id` as the caller.
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

/// Revoke approved submission `id` as the caller.
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
