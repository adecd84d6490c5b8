//! What admins see of review: every submission with every decision made
//! on it (who, when, why), the approvals recorded towards a version that
//! needs two, and the claim held on it, newest first a page at a time.
//! Publishers read their own submissions' histories through
//! `GET /v1/submissions/{id}`; this is the whole registry's.
//!
//! - `GET /v1/admin/submissions?state=&integration=&limit=&cursor=`
//!   (scope `admin`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::platform::Platform;
use workway_store::submissions::SubmissionState;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::paging;
use super::submissions::{EventView, SubmissionSummary};

/// `GET /v1/admin/submissions`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub(crate) state: Option<String>,
    pub(crate) integration: Option<String>,
    pub(crate) limit: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// One approval recorded towards a version that needs two.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedApproval {
    /// The reviewer's account.
    pub reviewer: String,
    /// The fingerprint of the report approved.
    pub fingerprint: String,
    /// When (Unix ms).
    pub at: i64,
}

/// A claim on a pending submission.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    /// The reviewer holding it.
    pub reviewer: String,
    /// Until when (Unix ms); an expired claim holds nothing.
    pub expires_at: i64,
}

/// One submission with everything decided on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditedSubmission {
    /// What it is and where it is in review.
    #[serde(flatten)]
    pub summary: SubmissionSummary,
    /// Every state change with who, when and why, oldest first.
    pub events: Vec<EventView>,
    /// Approvals recorded towards a version that needs two.
    pub approvals: Vec<RecordedApproval>,
    /// The claim on it, if one was made and not released.
    pub claim: Option<ClaimView>,
}

/// One page of audited submissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The submissions, newest first.
    pub items: Vec<AuditedSubmission>,
    /// What fetches the next page, or `null` on the last.
    pub next_cursor: Option<String>,
}

/// Every submission with every decision on it, for admins.
///
/// Newest first; filtered by state or integration; a page at a time.
#[utoipa::path(
    get,
    path = "/v1/admin/submissions",
    tag = "reviews",
    security(("api_token" = ["admin"]), ("session" = ["admin"])),
    params(
        ("state" = Option<String>, Query, description = "Only submissions in this state: pending_review, approved, rejected or revoked."),
        ("integration" = Option<String>, Query, description = "Only submissions of this integration."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged; left out for the first page."),
    ),
    responses(
        (status = 200, description = "A page of submissions with their decisions, newest first.", body = AuditPage),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` names it).", body = ErrorBody),
        (status = 403, description = "The credential lacks the `admin` scope (`forbidden`).", body = ErrorBody),
    ),
)]
pub async fn submissions(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(Scope::Admin)?;
    let query = paging::query_of(query, "state, integration, limit and cursor")?;
    let limit = paging::limit(query.limit.as_deref())?;
    let before = paging::before(query.cursor.as_deref())?;
    let state = match &query.state {
        None => None,
        Some(text) => Some(SubmissionState::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "state",
                format!(
                    "unknown state `{}`: use pending_review, approved, rejected or revoked",
                    text.chars().take(40).collect::<String>()
                ),
            )
        })?),
    };
    let submissions = platform.store.submissions();
    let rows = submissions
        .page(
            state,
            query.integration.as_deref(),
            before.as_ref().map(|(at, id)| (*at, id.as_str())),
            limit + 1,
        )
        .await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let mut items = Vec::with_capacity(rows.len());
    for row in rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let events = submissions.events(&row.id).await?;
        let approvals = submissions.approvals(&row.id).await?;
        let claim = submissions.claim_of(&row.id).await?;
        items.push(AuditedSubmission {
            summary: SubmissionSummary::from(row),
            events: events.iter().map(EventView::from).collect(),
            approvals: approvals
                .into_iter()
                .map(|a| RecordedApproval {
                    reviewer: a.reviewer,
                    fingerprint: a.fingerprint,
                    at: a.at,
                })
                .collect(),
            claim: claim.map(|c| ClaimView {
                reviewer: c.reviewer,
                expires_at: c.expires_at,
            }),
        });
    }
    let next_cursor = more
        .then(|| items.last())
        .flatten()
        .map(|last| paging::encode_key(last.summary.created_at, &last.summary.id));
    Ok(Json(AuditPage { items, next_cursor }))
}
