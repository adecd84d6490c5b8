//! The `submissions` and `review_events` tables: integration components
//! submitted for review, their review state, and every transition with who
//! made it, when and why.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

stored_enum! {
    /// Where a submission is in review.
    pub enum SubmissionState("submission state") {
        /// Submitted and validated; waiting for a reviewer.
        PendingReview = "pending_review",
        /// Approved and signed: it may run.
        Approved = "approved",
        /// Refused by a reviewer.
        Rejected = "rejected",
        /// Was approved, then withdrawn: it must stop running everywhere.
        Revoked = "revoked",
    }
}

/// A stored submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRow {
    /// The submission's id.
    pub id: String,
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The component's digest (`sha256:...`).
    pub digest: String,
    /// The manifest's text as submitted.
    pub manifest: String,
    /// The hex sha256 of `manifest`.
    pub manifest_sha256: String,
    /// The contract version the component targets.
    pub contract_version: String,
    /// The component's size in bytes.
    pub size: i64,
    /// Who submitted it.
    pub submitted_by: String,
    /// Where it is in review.
    pub state: SubmissionState,
    /// The review report, JSON.
    pub report: String,
    /// The signed approval, JSON, once approved.
    pub approval: Option<String>,
    /// When it was submitted (Unix ms).
    pub created_at: i64,
    /// When its state last changed (Unix ms).
    pub updated_at: i64,
}

/// A submission to insert (in `pending_review`).
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    /// The submission's id.
    pub id: &'a str,
    /// The integration's name.
    pub integration: &'a str,
    /// Its version.
    pub version: &'a str,
    /// The component's digest.
    pub digest: &'a str,
    /// The manifest's text.
    pub manifest: &'a str,
    /// Its hex sha256.
    pub manifest_sha256: &'a str,
    /// The contract version.
    pub contract_version: &'a str,
    /// The component's size.
    pub size: i64,
    /// Who submits.
    pub submitted_by: &'a str,
    /// The review report, JSON.
    pub report: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// One recorded state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewEvent {
    /// The submission.
    pub submission_id: String,
    /// Its order among the submission's events, from 1.
    pub seq: i64,
    /// The state before (none for the submission itself).
    pub from_state: Option<SubmissionState>,
    /// The state after.
    pub to_state: SubmissionState,
    /// Who made the change.
    pub actor: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// When (Unix ms).
    pub at: i64,
}

/// A state change to make.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    /// The submission.
    pub id: &'a str,
    /// The state it must be in now.
    pub from: SubmissionState,
    /// The state it moves to.
    pub to: SubmissionState,
    /// Who makes the change.
    pub actor: &'a str,
    /// Why.
    pub reason: Option<&'a str>,
    /// The signed approval to store (approvals only).
    pub approval: Option<&'a str>,
    /// Now (Unix ms).
    pub now: i64,
}

/// The queries on the registry's tables.
#[derive(Debug, Clone, Copy)]
pub struct Submissions<'s> {
    store: &'s Store,
}

impl Store {
    /// The `submissions` and `review_events` tables.
    pub fn submissions(&self) -> Submissions<'_> {
        Submissions { store: self }
    }
}

const COLUMNS: &str = "id, integration, version, digest, manifest, manifest_sha256, \
     contract_version, size, submitted_by, state, report, approval, created_at, updated_at";

fn decode(row: &AnyRow) -> Result<SubmissionRow, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(SubmissionRow {
        id: row.try_get("id")?,
        integration: row.try_get("integration")?,
        version: row.try_get("version")?,
        digest: row.try_get("digest")?,
        manifest: row.try_get("manifest")?,
        manifest_sha256: row.try_get("manifest_sha256")?,
        contract_version: row.try_get("contract_version")?,
        size: row.try_get("size")?,
        submitted_by: row.try_get("submitted_by")?,
        state: SubmissionState::decode(&state)?,
        report: row.try_get("report")?,
        approval: row.try_get("approval")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn decode_event(row: &AnyRow) -> Result<ReviewEvent, StoreError> {
    let from: Option<String> = row.try_get("from_state")?;
    let to: String = row.try_get("to_state")?;
    Ok(ReviewEvent {
        submission_id: row.try_get("submission_id")?,
        seq: row.try_get("seq")?,
        from_state: from.as_deref().map(SubmissionState::decode).transpose()?,
        to_state: SubmissionState::decode(&to)?,
        actor: row.try_get("actor")?,
        reason: row.try_get("reason")?,
        at: row.try_get("at")?,
    })
}

impl Submissions<'_> {
    /// Store a new submission in `pending_review`, with its first event.
    pub async fn insert(&self, new: &NewSubmission<'_>) -> Result<(), StoreError> {
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(&format!(
            "INSERT INTO submissions ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $12)"
        ))
        .bind(new.id)
        .bind(new.integration)
        .bind(new.version)
        .bind(new.digest)
        .bind(new.manifest)
        .bind(new.manifest_sha256)
        .bind(new.contract_version)
        .bind(new.size)
        .bind(new.submitted_by)
        .bind(SubmissionState::PendingReview.as_str())
        .bind(new.report)
        .bind(new.now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO review_events (submission_id, seq, from_state, to_state, actor, reason, at) \
             VALUES ($1, 1, NULL, $2, $3, NULL, $4)",
        )
        .bind(new.id)
        .bind(SubmissionState::PendingReview.as_str())
        .bind(new.submitted_by)
        .bind(new.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The submission with this id.
    pub async fn get(&self, id: &str) -> Result<Option<SubmissionRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM submissions WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Submissions, newest first; only those in `state` when given.
    pub async fn list(
        &self,
        state: Option<SubmissionState>,
    ) -> Result<Vec<SubmissionRow>, StoreError> {
        let rows = match state {
            Some(state) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM submissions WHERE state = $1 \
                     ORDER BY created_at DESC, id DESC"
                ))
                .bind(state.as_str())
                .fetch_all(self.store.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM submissions ORDER BY created_at DESC, id DESC"
                ))
                .fetch_all(self.store.pool())
                .await?
            }
        };
        rows.iter().map(decode).collect()
    }

    /// Every submission of `integration`, newest first.
    pub async fn of_integration(
        &self,
        integration: &str,
    ) -> Result<Vec<SubmissionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM submissions WHERE integration = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(integration)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Every submission of the component with `digest` (one component may
    /// be submitted more than once).
    pub async fn with_digest(&self, digest: &str) -> Result<Vec<SubmissionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM submissions WHERE digest = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(digest)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Move a submission from `from` to `to` and record the event, in one
    /// transaction. The UPDATE is conditional on the current state, so of
    /// two reviewers acting at once only one succeeds. Whether it moved.
    pub async fn transition(&self, t: &Transition<'_>) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let moved = sqlx::query(
            "UPDATE submissions SET state = $1, updated_at = $2, \
             approval = COALESCE($3, approval) WHERE id = $4 AND state = $5",
        )
        .bind(t.to.as_str())
        .bind(t.now)
        .bind(t.approval)
        .bind(t.id)
        .bind(t.from.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !moved {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO review_events (submission_id, seq, from_state, to_state, actor, reason, at) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 \
             FROM review_events WHERE submission_id = $1",
        )
        .bind(t.id)
        .bind(t.from.as_str())
        .bind(t.to.as_str())
        .bind(t.actor)
        .bind(t.reason)
        .bind(t.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The recorded events of a submission, in order.
    pub async fn events(&self, id: &str) -> Result<Vec<ReviewEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT submission_id, seq, from_state, to_state, actor, reason, at \
             FROM review_events WHERE submission_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_event).collect()
    }

    /// The digests revoked at or after `since` (Unix ms), for hosts that
    /// poll for revocations.
    pub async fn revoked_since(&self, since: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT digest FROM submissions WHERE state = $1 AND updated_at >= $2",
        )
        .bind(SubmissionState::Revoked.as_str())
        .bind(since)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get("digest").map_err(StoreError::from))
            .collect()
    }
}
