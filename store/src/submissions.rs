//! The `submissions` and `review_events` tables: integration components
//! submitted for review, their review state, and every transition with who
//! made it, when and why; `integration_owners`, who owns each name; and
//! `revocations`, the numbered log of signed revocations hosts read.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

pub use crate::submission_state::SubmissionState;

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

/// The publisher an integration name belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameOwner {
    /// The integration's name.
    pub integration: String,
    /// Who owns it: the submitter of its first approved version.
    pub owner: String,
    /// That first approved submission.
    pub submission_id: String,
    /// When the name was claimed (Unix ms).
    pub claimed_at: i64,
}

/// What [`Submissions::approve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveOutcome {
    /// The submission is approved (and its submitter owns the name).
    Approved,
    /// The submission was no longer in the expected state.
    WrongState,
    /// The name belongs to another publisher; nothing changed.
    OwnedBy(String),
}

/// One stored revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRow {
    /// Its number in the log, from 1, with no gaps.
    pub seq: i64,
    /// The revoked submission.
    pub submission_id: String,
    /// The revoked component's digest.
    pub digest: String,
    /// The signed revocation, JSON.
    pub record: String,
    /// When it was recorded (Unix ms, the revoking process's clock: for
    /// display only; hosts follow `seq`).
    pub at: i64,
}

/// One reviewer's approval recorded while a submission waits for more
/// (the `review_approvals` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewApproval {
    /// The submission.
    pub submission_id: String,
    /// The reviewer who approved.
    pub reviewer: String,
    /// The fingerprint of the report they approved.
    pub fingerprint: String,
    /// When (Unix ms).
    pub at: i64,
}

/// What [`Submissions::record_approval`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The approval is recorded, with its event.
    Recorded,
    /// This reviewer's approval was already recorded; nothing changed.
    AlreadyApproved,
    /// The submission was no longer in the expected state.
    WrongState,
}

/// A reviewer's claim on a pending submission (the `review_claims` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewClaim {
    /// The submission.
    pub submission_id: String,
    /// The reviewer holding it.
    pub reviewer: String,
    /// When it was claimed (Unix ms).
    pub claimed_at: i64,
    /// When the claim lapses (Unix ms).
    pub expires_at: i64,
}

fn decode_approval(r: &AnyRow) -> Result<ReviewApproval, StoreError> {
    Ok(ReviewApproval {
        submission_id: r.try_get("submission_id")?,
        reviewer: r.try_get("reviewer")?,
        fingerprint: r.try_get("fingerprint")?,
        at: r.try_get("at")?,
    })
}

fn decode_claim(r: &AnyRow) -> Result<ReviewClaim, StoreError> {
    Ok(ReviewClaim {
        submission_id: r.try_get("submission_id")?,
        reviewer: r.try_get("reviewer")?,
        claimed_at: r.try_get("claimed_at")?,
        expires_at: r.try_get("expires_at")?,
    })
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

    /// A page of every submission, newest first (by creation, then id),
    /// optionally only those in `state` or of `integration`, after the
    /// boundary `before` (the previous page's last `(created_at, id)`):
    /// what an admin audits.
    pub async fn page(
        &self,
        state: Option<SubmissionState>,
        integration: Option<&str>,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<SubmissionRow>, StoreError> {
        let mut filters = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if state.is_some() {
            filters.push(format!("state = {}", next()));
        }
        if integration.is_some() {
            filters.push(format!("integration = {}", next()));
        }
        if before.is_some() {
            let (at, id) = (next(), next());
            filters.push(format!(
                "(created_at < {at} OR (created_at = {at} AND id < {id}))"
            ));
        }
        let limit_at = next();
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM submissions {filter} \
             ORDER BY created_at DESC, id DESC LIMIT {limit_at}"
        );
        let mut q = sqlx::query(&sql);
        if let Some(state) = state {
            q = q.bind(state.as_str());
        }
        if let Some(integration) = integration {
            q = q.bind(integration);
        }
        if let Some((at, id)) = before {
            q = q.bind(at).bind(id);
        }
        let rows = q.bind(limit).fetch_all(self.store.pool()).await?;
        rows.iter().map(decode).collect()
    }

    /// Every submission made by `submitted_by`, newest first: what a
    /// developer lists as their own.
    pub async fn of_submitter(&self, submitted_by: &str) -> Result<Vec<SubmissionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM submissions WHERE submitted_by = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(submitted_by)
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
        if !move_state(&mut tx, t).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Who owns `integration`, once a version of it was approved.
    pub async fn owner(&self, integration: &str) -> Result<Option<NameOwner>, StoreError> {
        let row = sqlx::query(
            "SELECT integration, owner, submission_id, claimed_at FROM integration_owners \
             WHERE integration = $1",
        )
        .bind(integration)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| {
            Ok(NameOwner {
                integration: r.try_get("integration")?,
                owner: r.try_get("owner")?,
                submission_id: r.try_get("submission_id")?,
                claimed_at: r.try_get("claimed_at")?,
            })
        })
        .transpose()
    }

    /// Every owned name with its owner, by name: what a new name is
    /// compared with for lookalikes.
    pub async fn owners(&self) -> Result<Vec<NameOwner>, StoreError> {
        let rows = sqlx::query(
            "SELECT integration, owner, submission_id, claimed_at FROM integration_owners \
             ORDER BY integration",
        )
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NameOwner {
                    integration: r.try_get("integration")?,
                    owner: r.try_get("owner")?,
                    submission_id: r.try_get("submission_id")?,
                    claimed_at: r.try_get("claimed_at")?,
                })
            })
            .collect()
    }

    /// The owner of `integration` when `publisher` may not publish versions
    /// of it: someone else owns the name and has not made `publisher` a
    /// co-maintainer. `None` when `publisher` may (the name is free, theirs,
    /// or they co-maintain it). The one rule for who publishes a name,
    /// read at submission and again when approving.
    pub async fn refusing_owner(
        &self,
        integration: &str,
        publisher: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut connection = self.store.pool().acquire().await?;
        refusing_owner(&mut connection, integration, publisher).await
    }

    /// Approve a submission of `integration` submitted by `submitter`: in
    /// one transaction, claim the name for `submitter` unless someone owns
    /// it, refuse if the owner is someone else who has not made
    /// `submitter` a co-maintainer ([`Submissions::refusing_owner`]; a
    /// co-maintainer's approved version leaves the name with its owner),
    /// then move the submission (`t.from` must be its state) and record
    /// the event.
    pub async fn approve(
        &self,
        t: &Transition<'_>,
        integration: &str,
        submitter: &str,
    ) -> Result<ApproveOutcome, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (integration) DO NOTHING",
        )
        .bind(integration)
        .bind(submitter)
        .bind(t.id)
        .bind(t.now)
        .execute(&mut *tx)
        .await?;
        if let Some(owner) = refusing_owner(&mut tx, integration, submitter).await? {
            tx.rollback().await?;
            return Ok(ApproveOutcome::OwnedBy(owner));
        }
        if !move_state(&mut tx, t).await? {
            tx.rollback().await?;
            return Ok(ApproveOutcome::WrongState);
        }
        tx.commit().await?;
        Ok(ApproveOutcome::Approved)
    }

    /// Revoke a submission whose component is `digest`: in one transaction,
    /// move it (`t.from` must be its state), take the next revocation number
    /// and store the record `sign` makes for that number. The number, or
    /// `None` when the submission was not in `t.from`.
    pub async fn revoke(
        &self,
        t: &Transition<'_>,
        digest: &str,
        sign: &(dyn Fn(i64) -> String + Send + Sync),
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        if !move_state(&mut tx, t).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let seq: i64 =
            sqlx::query("UPDATE revocation_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
                .fetch_one(&mut *tx)
                .await?
                .try_get("seq")?;
        sqlx::query(
            "INSERT INTO revocations (seq, submission_id, digest, record, at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(seq)
        .bind(t.id)
        .bind(digest)
        .bind(sign(seq))
        .bind(t.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(seq))
    }

    /// The revocations numbered `from` and after, in order.
    pub async fn revocations_from(&self, from: i64) -> Result<Vec<RevocationRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, submission_id, digest, record, at FROM revocations \
             WHERE seq >= $1 ORDER BY seq",
        )
        .bind(from)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RevocationRow {
                    seq: r.try_get("seq")?,
                    submission_id: r.try_get("submission_id")?,
                    digest: r.try_get("digest")?,
                    record: r.try_get("record")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// Record `t.actor`'s approval of the report with `fingerprint`
    /// without moving the submission: in one transaction, check it is in
    /// `t.from` (`t.to` should be the same state), record the event with
    /// `t.reason`, and keep the approval. A reviewer's second approval of
    /// the same submission changes nothing.
    pub async fn record_approval(
        &self,
        t: &Transition<'_>,
        fingerprint: &str,
    ) -> Result<RecordOutcome, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO review_approvals (submission_id, reviewer, fingerprint, at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (submission_id, reviewer) DO NOTHING",
        )
        .bind(t.id)
        .bind(t.actor)
        .bind(fingerprint)
        .bind(t.now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            tx.rollback().await?;
            return Ok(RecordOutcome::AlreadyApproved);
        }
        if !move_state(&mut tx, t).await? {
            tx.rollback().await?;
            return Ok(RecordOutcome::WrongState);
        }
        tx.commit().await?;
        Ok(RecordOutcome::Recorded)
    }

    /// The approvals recorded for submission `id`, oldest first.
    pub async fn approvals(&self, id: &str) -> Result<Vec<ReviewApproval>, StoreError> {
        let rows = sqlx::query(
            "SELECT submission_id, reviewer, fingerprint, at FROM review_approvals \
             WHERE submission_id = $1 ORDER BY at, reviewer",
        )
        .bind(id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_approval).collect()
    }

    /// Claim submission `id` for `reviewer` from `now` until `expires_at`,
    /// unless another reviewer holds a claim that has not expired at `now`
    /// (one statement, so of two reviewers claiming at once one wins);
    /// claiming again extends one's own claim. The claim that holds
    /// afterwards: `reviewer`'s, or the other reviewer's.
    pub async fn claim(
        &self,
        id: &str,
        reviewer: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<ReviewClaim, StoreError> {
        sqlx::query(
            "INSERT INTO review_claims (submission_id, reviewer, claimed_at, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (submission_id) DO UPDATE SET \
             reviewer = excluded.reviewer, claimed_at = excluded.claimed_at, \
             expires_at = excluded.expires_at \
             WHERE review_claims.reviewer = excluded.reviewer \
             OR review_claims.expires_at <= excluded.claimed_at",
        )
        .bind(id)
        .bind(reviewer)
        .bind(now)
        .bind(expires_at)
        .execute(self.store.pool())
        .await?;
        let row = sqlx::query(
            "SELECT submission_id, reviewer, claimed_at, expires_at FROM review_claims \
             WHERE submission_id = $1",
        )
        .bind(id)
        .fetch_one(self.store.pool())
        .await?;
        decode_claim(&row)
    }

    /// The claim on submission `id`, expired or not.
    pub async fn claim_of(&self, id: &str) -> Result<Option<ReviewClaim>, StoreError> {
        let row = sqlx::query(
            "SELECT submission_id, reviewer, claimed_at, expires_at FROM review_claims \
             WHERE submission_id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode_claim).transpose()
    }

    /// The claims on the submissions pending review, expired or not, by
    /// submission: what the queue shows (a decided submission's claim is
    /// left behind, harmless, and not read).
    pub async fn claims(&self) -> Result<Vec<ReviewClaim>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.submission_id, c.reviewer, c.claimed_at, c.expires_at FROM review_claims c \
             JOIN submissions s ON s.id = c.submission_id WHERE s.state = 'pending_review' \
             ORDER BY c.submission_id",
        )
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_claim).collect()
    }

    /// Drop `reviewer`'s claim on submission `id`: whether there was one.
    pub async fn release(&self, id: &str, reviewer: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM review_claims WHERE submission_id = $1 AND reviewer = $2")
                .bind(id)
                .bind(reviewer)
                .execute(self.store.pool())
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// The recorded approvals of the submissions pending review, by
    /// submission: what the queue counts (those of decided submissions
    /// are history, and are not read).
    pub async fn all_approvals(&self) -> Result<Vec<ReviewApproval>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.submission_id, a.reviewer, a.fingerprint, a.at FROM review_approvals a \
             JOIN submissions s ON s.id = a.submission_id WHERE s.state = 'pending_review' \
             ORDER BY a.submission_id, a.at, a.reviewer",
        )
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_approval).collect()
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

    /// The digests whose submissions were revoked (their state last changed)
    /// at or after `since` (Unix ms). The times come from the revoking
    /// machine's clock; hosts deciding what may run read
    /// [`revocations_from`](Submissions::revocations_from) instead.
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

/// The conditional state change and its event, inside `tx`: whether the
/// submission was in `t.from` (and so moved).
/// The owner of `integration` if it is neither `publisher` nor someone who
/// made `publisher` a co-maintainer (see [`Submissions::refusing_owner`]).
async fn refusing_owner(
    connection: &mut sqlx::AnyConnection,
    integration: &str,
    publisher: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT o.owner FROM integration_owners o WHERE o.integration = $1 AND o.owner <> $2 \
         AND NOT EXISTS (SELECT 1 FROM integration_maintainers m \
         WHERE m.integration = o.integration AND m.account_id = $2)",
    )
    .bind(integration)
    .bind(publisher)
    .fetch_optional(&mut *connection)
    .await?;
    row.map(|r| r.try_get("owner"))
        .transpose()
        .map_err(Into::into)
}

async fn move_state(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    t: &Transition<'_>,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE submissions SET state = $1, updated_at = $2, \
         approval = COALESCE($3, approval) WHERE id = $4 AND state = $5",
    )
    .bind(t.to.as_str())
    .bind(t.now)
    .bind(t.approval)
    .bind(t.id)
    .bind(t.from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if !moved {
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
    .execute(&mut **tx)
    .await?;
    // What the marketplace search finds changes with every approval and
    // revocation.
    if t.from == SubmissionState::Approved || t.to == SubmissionState::Approved {
        crate::search::refresh_submission_in(tx, t.id).await?;
    }
    Ok(true)
}
