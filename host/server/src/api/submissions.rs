//! Publishing: a developer account uploads an integration's component and
//! manifest and gets its submission and review report back.
//!
//! - `POST /v1/submissions` `{manifest, component, replay?}` (the
//!   manifest's `workway.toml` text, the `.wasm` file base64, the replay
//!   file's text) → 201 the submission with its report; 422 with every
//!   reason when validation refuses it; needs the `publish` scope;
//! - `GET /v1/submissions` → the caller's own submissions, newest first;
//! - `GET /v1/submissions/{id}` → one submission with its report, its
//!   report's fingerprint (what a reviewer approves) and its history, for
//!   its submitter, any reviewer or an admin; anyone else gets 404.
//!
//! The body of `POST /v1/submissions` may be up to
//! [`SUBMISSION_BODY_BYTES`]: room for the largest component the artifact
//! store keeps, base64-encoded, and its manifest and replay file.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use workway_engine::accounts::{Principal, Scope};
use workway_engine::marketplace::listing_changes::{self, ListingChanges};
use workway_engine::platform::Platform;
use workway_engine::review::{Registry, RegistryError, SubmissionDetails};
use workway_engine::reviewers::ReviewerError;
use workway_registry::ReviewReport;
use workway_registry::artifacts::DEFAULT_MAX_SIZE;
use workway_registry::review::Submission;
use workway_store::clock::now_ms;
use workway_store::submissions::{ReviewEvent, SubmissionRow, SubmissionState};

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};

/// The largest body `POST /v1/submissions` takes, in bytes: the artifact
/// store's largest component base64-encoded, plus 1 MiB for the manifest,
/// the replay file and the JSON around them.
pub const SUBMISSION_BODY_BYTES: usize = (DEFAULT_MAX_SIZE as usize).div_ceil(3) * 4 + (1 << 20);

/// A submission in a list: what it is and where it is in review.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionSummary {
    /// The submission's id.
    pub id: String,
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The component's digest (`sha256:...`).
    pub digest: String,
    /// `pending_review`, `approved`, `rejected` or `revoked`.
    pub state: String,
    /// The account that submitted it.
    pub submitted_by: String,
    /// When it was submitted (Unix ms).
    pub created_at: i64,
    /// When its state last changed (Unix ms).
    pub updated_at: i64,
}

impl From<&SubmissionRow> for SubmissionSummary {
    fn from(row: &SubmissionRow) -> Self {
        SubmissionSummary {
            id: row.id.clone(),
            integration: row.integration.clone(),
            version: row.version.clone(),
            digest: row.digest.clone(),
            state: row.state.as_str().to_string(),
            submitted_by: row.submitted_by.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// One recorded state change.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ReviewEvent)]
pub struct EventView {
    /// The state before (none for the submission itself).
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// Who made the change.
    pub actor: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// When (Unix ms).
    pub at: i64,
}

impl From<&ReviewEvent> for EventView {
    fn from(e: &ReviewEvent) -> Self {
        EventView {
            from: e.from_state.map(|s| s.as_str().to_string()),
            to: e.to_state.as_str().to_string(),
            actor: e.actor.clone(),
            reason: e.reason.clone(),
            at: e.at,
        }
    }
}

/// A submission with its report and history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Submission)]
pub struct SubmissionView {
    /// What it is and where it is in review.
    #[serde(flatten)]
    pub summary: SubmissionSummary,
    /// The review report: the integration, version and digest, the size,
    /// the contract version, the toolchain that built it, its imports (and
    /// which are linked inert), the sandbox limits, hosts and OAuth scopes, the
    /// change since the previous approved version, the fuel `describe()`
    /// used and each action's example run.
    #[schema(value_type = Object)]
    pub report: ReviewReport,
    /// The fingerprint of what the report shows: a reviewer approves with it.
    pub fingerprint: String,
    /// The signed approval's key and reviewer, once approved:
    /// `{key_id, approved_by, approved_at}`.
    #[schema(value_type = Option<Object>)]
    pub approval: Option<serde_json::Value>,
    /// Every state change, oldest first.
    pub events: Vec<EventView>,
    /// While it waits for review: how the integration's listing text
    /// changed since its newest approved version was approved (for a
    /// first version, everything the listing says). `null` once decided.
    pub listing_changes: Option<ListingChangesView>,
}

/// How a listing's text changed since the integration's newest approved
/// version was approved.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ListingChanges)]
pub struct ListingChangesView {
    /// The approved version compared against; `null` for a first version.
    pub since_version: Option<String>,
    /// When it was approved (Unix ms).
    pub since_approved_at: Option<i64>,
    /// The listing revision current then; `null` when there was no listing.
    pub from_revision: Option<i64>,
    /// The listing revision current now; `null` when there is no listing.
    pub to_revision: Option<i64>,
    /// Whether nothing changed.
    pub unchanged: bool,
    /// The summary then and now, when it changed.
    pub summary: Option<TextChange>,
    /// The description's changes as a unified diff, when it changed.
    pub description_diff: Option<String>,
    /// Categories added.
    pub categories_added: Vec<String>,
    /// Categories removed.
    pub categories_removed: Vec<String>,
    /// The upfront price in cents then and now (`null` is free), when it
    /// changed.
    pub price_cents: Option<PriceChange>,
}

/// A text field then and now.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextChange {
    /// Then.
    pub before: String,
    /// Now.
    pub after: String,
}

/// A price then and now, in cents (`null` is free).
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceChange {
    /// Then.
    pub before: Option<i64>,
    /// Now.
    pub after: Option<i64>,
}

impl From<ListingChanges> for ListingChangesView {
    fn from(c: ListingChanges) -> Self {
        ListingChangesView {
            unchanged: c.is_empty(),
            since_version: c.since_version,
            since_approved_at: c.since_approved_at,
            from_revision: c.from_revision,
            to_revision: c.to_revision,
            summary: c.summary.map(|s| TextChange {
                before: s.before,
                after: s.after,
            }),
            description_diff: c.description_diff,
            categories_added: c.categories_added,
            categories_removed: c.categories_removed,
            price_cents: c.price_cents.map(|p| PriceChange {
                before: p.before,
                after: p.after,
            }),
        }
    }
}

impl SubmissionView {
    /// `details` as shown, with its listing changes read when it waits
    /// for review.
    pub(crate) async fn read(
        platform: &Platform,
        details: &SubmissionDetails,
    ) -> Result<SubmissionView, ApiError> {
        let mut view = SubmissionView::from(details);
        if details.row.state == SubmissionState::PendingReview {
            let changes = listing_changes::since_last_approval(
                &platform.store,
                &details.row.integration,
                now_ms(),
            )
            .await
            .map_err(|e| ApiError::internal(&e))?;
            view.listing_changes = Some(changes.into());
        }
        Ok(view)
    }
}

impl From<&SubmissionDetails> for SubmissionView {
    fn from(d: &SubmissionDetails) -> Self {
        let approval = d
            .row
            .approval
            .as_deref()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .map(|a| {
                json!({
                    "key_id": a["key_id"],
                    "approved_by": a["claims"]["approved_by"],
                    "approved_at": a["claims"]["approved_at"],
                })
            });
        SubmissionView {
            summary: SubmissionSummary::from(&d.row),
            fingerprint: d.report.reviewed().fingerprint(),
            report: d.report.clone(),
            approval,
            events: d.events.iter().map(EventView::from).collect(),
            listing_changes: None,
        }
    }
}

/// `POST /v1/submissions`'s body: one JSON object carrying the manifest,
/// the component and, optionally, the replay file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// The integration's manifest: the text of its `workway.toml`.
    pub(crate) manifest: String,
    /// The component: the `.wasm` file's bytes, base64-encoded (standard
    /// alphabet, with padding).
    #[schema(content_encoding = "base64", content_media_type = "application/wasm")]
    pub(crate) component: String,
    /// The replay file's text, when the integration has one: recorded
    /// answers its examples are run against.
    #[serde(default)]
    pub(crate) replay: Option<String>,
}

/// The registry this host publishes to, or 503.
pub(crate) fn registry(platform: &Platform) -> Result<&Registry, ApiError> {
    platform
        .registry
        .as_deref()
        .ok_or_else(|| reviewer_error(ReviewerError::NoRegistry))
}

/// A registry failure as the API answers it.
pub(crate) fn registry_error(e: RegistryError) -> ApiError {
    use RegistryError as E;
    match e {
        E::Refused(ref reasons) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
                .with_details(json!({ "reasons": reasons }))
        }
        E::UnknownSubmission(_) => ApiError::not_found("submission"),
        E::NotApproved(_) => ApiError::not_found("approved integration"),
        E::NotAReviewer(_) => ApiError::forbidden(e.to_string()),
        E::OwnSubmission(_) => ApiError::forbidden(
            "you submitted this submission, so you cannot claim, approve or reject it: another reviewer must",
        )
        .with_details(json!({ "reason": "own_submission" })),
        E::ReasonRequired => ApiError::invalid(
            "reason",
            "give a reason: the developer and other reviewers read it",
        ),
        E::WrongState { .. } => ApiError::new(StatusCode::CONFLICT, "wrong_state", e.to_string()),
        E::AlreadyApproved { .. } => {
            ApiError::new(StatusCode::CONFLICT, "already_approved", e.to_string())
        }
        E::NameOwned { .. } => ApiError::new(StatusCode::CONFLICT, "name_owned", e.to_string()),
        E::Lookalike { .. } => ApiError::new(StatusCode::CONFLICT, "lookalike_name", e.to_string()),
        E::NotAsReviewed {
            ref differences, ..
        } => ApiError::new(StatusCode::CONFLICT, "not_as_reviewed", e.to_string())
            .with_details(json!({ "differences": differences })),
        E::Store(e) => e.into(),
        E::NoReviewKey | E::Damaged(..) | E::Artifact(_) => ApiError::internal(&e),
    }
}

/// A reviewer's failure as the API answers it.
pub(crate) fn reviewer_error(e: ReviewerError) -> ApiError {
    match e {
        ReviewerError::NotAReviewer => ApiError::forbidden(e.to_string()),
        ReviewerError::NoRegistry => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        ),
        ReviewerError::Registry(e) => registry_error(e),
        ReviewerError::Claimed { ref by, until } => {
            ApiError::new(StatusCode::CONFLICT, "claimed", e.to_string())
                .with_details(json!({ "claimed_by": by, "claim_expires_at": until }))
        }
        ReviewerError::Store(e) => e.into(),
        ReviewerError::Randomness(_) | ReviewerError::Keyring(_) | ReviewerError::DamagedKey(_) => {
            ApiError::internal(&e)
        }
    }
}

/// Submission `id` with its report and history, if `principal` submitted
/// it or reviews; 404 otherwise, as for a missing one.
pub(crate) async fn visible(
    registry: &Registry,
    principal: &Principal,
    id: &str,
) -> Result<SubmissionDetails, ApiError> {
    let details = registry.show(id).await.map_err(registry_error)?;
    if details.row.submitted_by == principal.account_id
        || principal.can(Scope::Review)
        || principal.can(Scope::Admin)
    {
        Ok(details)
    } else {
        Err(ApiError::not_found("submission"))
    }
}

/// Submit an integration for review as the caller.
///
/// The body is one JSON object (not multipart): the manifest's text, the
/// component base64-encoded and the optional replay file's text. It may
/// be as large as the artifact store's largest component base64-encoded
/// plus 1 MiB; a larger body is refused with 413. The component is
/// validated at once: the answer carries the review report.
#[utoipa::path(
    post,
    path = "/v1/submissions",
    tag = "submissions",
    security(("api_token" = ["publish"]), ("session" = ["publish"], "csrf" = [])),
    request_body = Publish,
    responses(
        (status = 201, description = "Submitted: pending review, with its review report.", body = SubmissionView),
        (status = 400, description = "`component` is not base64 (`invalid_input`, `details.field` = `component`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 413, description = "The body is larger than this route takes (`invalid_body`).", body = ErrorBody),
        (status = 422, description = "Validation refused it (`refused`): every reason in `details.reasons`.", body = ErrorBody),
    ),
)]
pub async fn submit(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<Publish>,
) -> Result<(StatusCode, Json<SubmissionView>), ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let registry = registry(&platform)?;
    let component = STANDARD
        .decode(body.component.trim())
        .ok()
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                "component",
                "`component` must be the .wasm file's bytes, base64-encoded (standard alphabet)",
            )
        })?;
    let row = registry
        .submit(Submission {
            component,
            manifest: body.manifest,
            replay: body.replay,
            submitted_by: principal.account_id.clone(),
        })
        .await
        .map_err(registry_error)?;
    let details = registry.show(&row.id).await.map_err(registry_error)?;
    let view = SubmissionView::read(&platform, &details).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The caller's own submissions, newest first.
#[utoipa::path(
    get,
    path = "/v1/submissions",
    tag = "submissions",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The caller's own submissions, newest first.", body = Vec<SubmissionSummary>),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<SubmissionSummary>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let rows = registry(&platform)?
        .submitted_by(&principal.account_id)
        .await
        .map_err(registry_error)?;
    Ok(Json(rows.iter().map(SubmissionSummary::from).collect()))
}

/// One submission, for its submitter or a reviewer.
///
/// With its report, the report's fingerprint (what a reviewer approves)
/// and its history.
#[utoipa::path(
    get,
    path = "/v1/submissions/{id}",
    tag = "submissions",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("id" = String, Path, description = "The submission's id.")),
    responses(
        (status = 200, description = "The submission with its report, fingerprint and history.", body = SubmissionView),
        (status = 404, description = "No such submission, or the caller neither submitted it nor reviews (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn show(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SubmissionView>, ApiError> {
    let principal = if caller.0.can(Scope::Review) || caller.0.can(Scope::Admin) {
        &caller.0
    } else {
        caller.require(Scope::Read)?
    };
    let details = visible(registry(&platform)?, principal, &id).await?;
    Ok(Json(SubmissionView::read(&platform, &details).await?))
}
