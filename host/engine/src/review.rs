//! Submission and review: a developer submits a component with its
//! manifest; validation runs before anything is stored; reviewers approve
//! (signing the approval), reject, or later revoke; every transition is
//! recorded; the host asks for approved components by integration name.
//!
//! What a review shows and signs (the report, its fingerprint, the
//! capability diff) is the registry's pure contract
//! (`workway_registry::review`); this module keeps the state: the
//! submissions, their history, the name owners and the revocation log.
//!
//! Two kinds of reviewer act here. The local command line names its
//! reviewers in configuration and signs with the one platform review key
//! ([`Registry::approve`], [`Registry::reject`], [`Registry::revoke`]).
//! The API's reviewers are accounts with the reviewer role, each signing
//! with a key of their own; the caller checks the role and brings the key
//! ([`Registry::approve_as`], [`Registry::reject_as`],
//! [`Registry::revoke_as`]), and hosts trust those keys from the store
//! ([`Registry::reviewer_keys`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use workway_registry::approval::{
    ApprovalClaims, ReviewKey, RevocationClaims, SignedApproval, SignedRevocation, TrustedKeys,
    manifest_sha256,
};
use workway_registry::artifacts::{ArtifactError, ArtifactStore};
use workway_registry::crosscheck::crosscheck;
use workway_registry::names;
use workway_registry::review::{ReviewReport, Reviewed, Sandbox, Submission, diff, scopes_of};
use workway_registry::{Digest, Digested, Manifest};
use workway_store::clock::now_ms;
use workway_store::submissions::{
    ApproveOutcome, NewSubmission, RecordOutcome, ReviewEvent, RevocationRow, SubmissionRow,
    SubmissionState, Transition,
};
use workway_store::{Store, StoreError};

/// A submission with its report and history, as `review show` prints it.
#[derive(Debug, Clone)]
pub struct SubmissionDetails {
    /// The stored submission.
    pub row: SubmissionRow,
    /// Its review report.
    pub report: ReviewReport,
    /// Every state change.
    pub events: Vec<ReviewEvent>,
}

/// An approved component, verified, for the host to load.
#[derive(Debug, Clone)]
pub struct ApprovedComponent {
    /// The submission it came from.
    pub submission_id: String,
    /// The integration the registry's record files it under.
    pub integration: String,
    /// The version the registry's record gives it.
    pub version: String,
    /// The component's bytes, checked against the digest as they were read
    /// and carrying it.
    pub component: Digested,
    /// The manifest's text.
    pub manifest: String,
    /// The signed approval.
    pub approval: SignedApproval,
}

/// Who acts on a submission and the key their decision is signed with:
/// a reviewer the caller has already checked may review (the API: an
/// account with the reviewer role and its own key).
#[derive(Debug, Clone, Copy)]
pub struct ActingReviewer<'a> {
    /// The reviewer, as the records name them (an account id for the API).
    pub name: &'a str,
    /// The key approvals and revocations are signed with.
    pub key: &'a ReviewKey,
}

/// How many approvals, from as many different reviewers, a submission
/// with `report` needs: two when it widens access compared with its
/// integration's previous approved version (new hosts, new scopes, a new
/// provider: [`workway_registry::review::CapabilityDiff::widens`]), one
/// otherwise, including a first version (there is nothing to widen).
/// The one place the two-reviewer rule is decided.
pub fn approvals_needed(report: &ReviewReport) -> u32 {
    match &report.since_previous {
        Some(diff) if diff.widens() => 2,
        _ => 1,
    }
}

/// What an approval through [`Registry::approve_counted`] did.
#[derive(Debug, Clone)]
pub enum Approval {
    /// The submission is approved, and this is the signed approval
    /// (boxed: it is large beside the other variant).
    Approved(Box<SignedApproval>),
    /// The approval is recorded; the submission stays pending until
    /// `needed` different reviewers approved.
    Recorded {
        /// Approvals so far, this one included.
        approvals: u32,
        /// Approvals the submission needs.
        needed: u32,
    },
}

/// One entry of the revocation log as stored, not yet verified.
#[derive(Debug, Clone)]
pub struct StoredRevocation {
    /// Its number in the log.
    pub seq: i64,
    /// The signed revocation, or why the stored text does not parse.
    pub record: Result<SignedRevocation, String>,
    /// The stored text, to notice a record changed after it was read.
    pub raw: String,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Validation refused the submission; every reason is listed.
    #[error("the submission is refused:\n  - {}", .0.join("\n  - "))]
    Refused(Vec<String>),
    /// No submission has this id.
    #[error("no submission `{0}`; `workway review list` shows them")]
    UnknownSubmission(String),
    /// The actor may not review.
    #[error("`{0}` is not a reviewer; only reviewers approve, reject or revoke")]
    NotAReviewer(String),
    /// The transition is not allowed from the submission's state.
    #[error("submission `{id}` is {state}; it cannot be {action}")]
    WrongState {
        /// The submission.
        id: String,
        /// Its state.
        state: SubmissionState,
        /// What was attempted (`approved`, ...).
        action: &'static str,
    },
    /// A rejection or revocation needs a reason.
    #[error("give a reason: the developer and other reviewers read it")]
    ReasonRequired,
    /// This registry has no review key, so it cannot sign approvals.
    #[error(
        "no review key is configured (WORKWAY_REVIEW_KEY); approvals and revocations cannot be signed"
    )]
    NoReviewKey,
    /// The reviewer already approved this version, which needs another
    /// reviewer's approval too.
    #[error(
        "`{reviewer}` already approved submission `{id}`; it widens access, so a different reviewer must give the second approval"
    )]
    AlreadyApproved {
        /// The submission.
        id: String,
        /// The reviewer.
        reviewer: String,
    },
    /// The reviewer submitted this version: someone else must approve it.
    #[error("`{0}` submitted this version and cannot approve it; another reviewer must")]
    OwnSubmission(String),
    /// The name belongs to another publisher.
    #[error(
        "`{integration}` belongs to `{owner}`, who published its first approved version; only they publish versions of it (pick another name)"
    )]
    NameOwned {
        /// The integration.
        integration: String,
        /// Its owner.
        owner: String,
    },
    /// A new name could be mistaken for a name another publisher owns.
    #[error(
        "`{integration}` looks like `{existing}`, which another publisher owns; pick a name that cannot be mistaken for it"
    )]
    Lookalike {
        /// The name submitted.
        integration: String,
        /// The owned name it looks like.
        existing: String,
    },
    /// What would be signed is not what the reviewer was shown.
    #[error(
        "submission `{id}` is not what was shown for review, so it is not approved:\n  - {}\nread it again with `workway review show {id}` and approve what it shows",
        .differences.join("\n  - ")
    )]
    NotAsReviewed {
        /// The submission.
        id: String,
        /// Each difference.
        differences: Vec<String>,
    },
    /// Nothing approved serves this integration (and version).
    #[error("no approved version of `{0}`")]
    NotApproved(String),
    /// A stored record does not parse.
    #[error("stored record of submission `{0}` is damaged: {1}")]
    Damaged(String, String),
    /// The artifact store failed.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registry: submissions, review and approved components.
pub struct Registry {
    store: Store,
    artifacts: ArtifactStore,
    sandbox: Arc<dyn Sandbox>,
    reviewers: BTreeSet<String>,
    key: Option<ReviewKey>,
}

impl Registry {
    /// A registry over `store` and `artifacts`, validating with `sandbox`.
    pub fn new(store: Store, artifacts: ArtifactStore, sandbox: Arc<dyn Sandbox>) -> Self {
        Registry {
            store,
            artifacts,
            sandbox,
            reviewers: BTreeSet::new(),
            key: None,
        }
    }

    /// The people allowed to move submissions between states.
    pub fn with_reviewers(mut self, reviewers: impl IntoIterator<Item = String>) -> Self {
        self.reviewers = reviewers.into_iter().collect();
        self
    }

    /// The content-addressed artifact store the components live in; the
    /// marketplace keeps listings' icons there too.
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.artifacts
    }

    /// The key approvals are signed with.
    pub fn with_review_key(mut self, key: ReviewKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Validate `submission` and, when it passes, store the component and
    /// a `pending_review` submission with its report.
    pub async fn submit(&self, submission: Submission) -> Result<SubmissionRow, RegistryError> {
        let (manifest, report) = self.validate(&submission).await?;
        let digest = self.artifacts.put(&submission.component)?;
        let id = new_id();
        let report_json = serde_json::to_string(&report)
            .map_err(|e| RegistryError::Damaged(id.clone(), e.to_string()))?;
        self.store
            .submissions()
            .insert(&NewSubmission {
                id: &id,
                integration: &manifest.name,
                version: &manifest.version,
                digest: &digest.to_string(),
                manifest: &submission.manifest,
                manifest_sha256: &manifest_sha256(&submission.manifest),
                contract_version: &report.contract_version,
                size: i64::try_from(report.size).unwrap_or(i64::MAX),
                submitted_by: &submission.submitted_by,
                report: &report_json,
                now: now_ms(),
            })
            .await?;
        self.row(&id).await
    }

    /// Every check a submission must pass, all reasons collected.
    async fn validate(
        &self,
        submission: &Submission,
    ) -> Result<(Manifest, ReviewReport), RegistryError> {
        let mut reasons = Vec::new();
        let manifest = match Manifest::from_toml(&submission.manifest) {
            Ok(m) => Some(m),
            Err(e) => {
                reasons.push(e.to_string());
                None
            }
        };
        let size = submission.component.len() as u64;
        if size > self.artifacts.max_size() {
            reasons.push(format!(
                "the component is {size} bytes; the limit is {} bytes",
                self.artifacts.max_size()
            ));
        }
        let limits = manifest.as_ref().map(|m| m.limits).unwrap_or_default();
        let inspection = match self.sandbox.inspect(&submission.component, &limits).await {
            Ok(i) => Some(i),
            Err(mut refused) => {
                reasons.append(&mut refused);
                None
            }
        };
        let (Some(manifest), Some(inspection)) = (manifest, inspection) else {
            return Err(RegistryError::Refused(reasons));
        };
        reasons.extend(crosscheck(&manifest, &inspection.description));
        reasons.extend(
            self.name_refusal(&manifest.name, &submission.submitted_by)
                .await?
                .map(|e| e.to_string()),
        );
        let earlier = self
            .store
            .submissions()
            .of_integration(&manifest.name)
            .await?;
        if let Some(same) = earlier.iter().find(|s| {
            s.version == manifest.version
                && matches!(
                    s.state,
                    SubmissionState::PendingReview | SubmissionState::Approved
                )
        }) {
            reasons.push(format!(
                "version {} of `{}` is already {} (submission {}); bump the version in workway.toml",
                manifest.version, manifest.name, same.state, same.id
            ));
        }
        if !reasons.is_empty() {
            return Err(RegistryError::Refused(reasons));
        }
        let previous = earlier
            .iter()
            .find(|s| s.state == SubmissionState::Approved)
            .and_then(|s| Manifest::from_toml(&s.manifest).ok());
        let mut examples = BTreeMap::new();
        for (action, declared) in &manifest.actions {
            if let Some(input) = &declared.example {
                let run = self
                    .sandbox
                    .run_example(
                        &submission.component,
                        &manifest.limits,
                        action,
                        input,
                        submission.replay.as_deref(),
                    )
                    .await;
                examples.insert(action.clone(), run);
            }
        }
        let report = ReviewReport {
            integration: manifest.name.clone(),
            version: manifest.version.clone(),
            digest: Digest::of(&submission.component),
            manifest_sha256: manifest_sha256(&submission.manifest),
            size,
            contract_version: inspection.contract_version,
            imports: inspection.imports,
            inert_imports: inspection.inert_imports,
            toolkit: inspection.toolkit,
            limits: inspection.limits,
            hosts: manifest.http.hosts.clone(),
            scopes: scopes_of(&manifest),
            since_previous: previous.map(|p| diff(&p, &manifest)),
            describe_fuel: inspection.describe_fuel,
            examples,
            actions: inspection.description.actions.clone(),
        };
        Ok((manifest, report))
    }

    /// Why `publisher` may not publish a version under `name`, if they may
    /// not: the name is owned by someone who has not made them a
    /// co-maintainer ([`RegistryError::NameOwned`]), or the name is new and
    /// could be mistaken for a name another publisher owns
    /// ([`RegistryError::Lookalike`], see [`workway_registry::names`]).
    /// Publishers may use lookalikes of their own names.
    pub async fn name_refusal(
        &self,
        name: &str,
        publisher: &str,
    ) -> Result<Option<RegistryError>, RegistryError> {
        let submissions = self.store.submissions();
        if let Some(owner) = submissions.refusing_owner(name, publisher).await? {
            return Ok(Some(RegistryError::NameOwned {
                integration: name.to_string(),
                owner,
            }));
        }
        if submissions.owner(name).await?.is_some() {
            return Ok(None);
        }
        let skeleton = names::skeleton(name);
        Ok(submissions
            .owners()
            .await?
            .into_iter()
            .find(|o| o.owner != publisher && names::skeleton(&o.integration) == skeleton)
            .map(|o| RegistryError::Lookalike {
                integration: name.to_string(),
                existing: o.integration,
            }))
    }

    /// Submissions, newest first, in `state` when given.
    pub async fn list(
        &self,
        state: Option<SubmissionState>,
    ) -> Result<Vec<SubmissionRow>, RegistryError> {
        Ok(self.store.submissions().list(state).await?)
    }

    /// One submission with its report and history.
    pub async fn show(&self, id: &str) -> Result<SubmissionDetails, RegistryError> {
        let row = self.row(id).await?;
        let report = serde_json::from_str(&row.report)
            .map_err(|e| RegistryError::Damaged(id.to_string(), e.to_string()))?;
        let events = self.store.submissions().events(id).await?;
        Ok(SubmissionDetails {
            row,
            report,
            events,
        })
    }

    /// The part of submission `id`'s stored report an approval must match,
    /// if its fingerprint is `fingerprint` (what `review show` printed);
    /// refused when the report changed since it was shown.
    pub async fn shown(&self, id: &str, fingerprint: &str) -> Result<Reviewed, RegistryError> {
        let reviewed = self.show(id).await?.report.reviewed();
        let actual = reviewed.fingerprint();
        if actual != fingerprint.trim() {
            return Err(RegistryError::NotAsReviewed {
                id: id.to_string(),
                differences: vec![format!(
                    "its report's fingerprint is now {actual}, not {} as shown",
                    fingerprint.trim()
                )],
            });
        }
        Ok(reviewed)
    }

    /// Approve a pending submission as `reviewer`, one of the configured
    /// reviewers, signing with the platform review key (see
    /// [`Registry::approve_as`]).
    pub async fn approve(
        &self,
        id: &str,
        reviewer: &str,
        seen: &Reviewed,
        reason: Option<&str>,
    ) -> Result<SignedApproval, RegistryError> {
        self.check_reviewer(reviewer)?;
        let key = self.key.as_ref().ok_or(RegistryError::NoReviewKey)?;
        let reviewer = ActingReviewer {
            name: reviewer,
            key,
        };
        self.approve_as(id, reviewer, seen, reason).await
    }

    /// Approve a pending submission as `reviewer`, who was shown `seen`
    /// (the report with `fingerprint`), counting approvals: a version that
    /// needs two ([`approvals_needed`]) is approved, as
    /// [`Registry::approve_as`] does and signed with this reviewer's key,
    /// only when a different reviewer already approved the same report;
    /// until then the approval is recorded (with an event in the history)
    /// and the submission stays pending. A reviewer approves a submission
    /// once. The caller has checked that `reviewer` may review.
    pub async fn approve_counted(
        &self,
        id: &str,
        reviewer: ActingReviewer<'_>,
        seen: &Reviewed,
        fingerprint: &str,
    ) -> Result<Approval, RegistryError> {
        let details = self.show(id).await?;
        let row = &details.row;
        if row.state != SubmissionState::PendingReview {
            return Err(RegistryError::WrongState {
                id: row.id.clone(),
                state: row.state,
                action: "approved",
            });
        }
        if row.submitted_by == reviewer.name {
            return Err(RegistryError::OwnSubmission(reviewer.name.to_string()));
        }
        let needed = approvals_needed(&details.report);
        if needed <= 1 {
            let approval = self.approve_as(id, reviewer, seen, None).await?;
            return Ok(Approval::Approved(Box::new(approval)));
        }
        let fingerprint = fingerprint.trim();
        let submissions = self.store.submissions();
        let earlier = submissions.approvals(id).await?;
        if earlier.iter().any(|a| a.reviewer == reviewer.name) {
            return Err(RegistryError::AlreadyApproved {
                id: id.to_string(),
                reviewer: reviewer.name.to_string(),
            });
        }
        let count = |approvals: &[workway_store::submissions::ReviewApproval]| {
            u32::try_from(
                approvals
                    .iter()
                    .filter(|a| a.fingerprint == fingerprint)
                    .count(),
            )
            .unwrap_or(u32::MAX)
        };
        let mut approvals = count(&earlier).saturating_add(1);
        if approvals < needed {
            let reason = format!(
                "approval {approvals} of {needed}: this version widens access, so a different reviewer must approve it too"
            );
            let recorded = submissions
                .record_approval(
                    &Transition {
                        id,
                        from: SubmissionState::PendingReview,
                        to: SubmissionState::PendingReview,
                        actor: reviewer.name,
                        reason: Some(&reason),
                        approval: None,
                        now: now_ms(),
                    },
                    fingerprint,
                )
                .await?;
            match recorded {
                RecordOutcome::Recorded => {}
                RecordOutcome::AlreadyApproved => {
                    return Err(RegistryError::AlreadyApproved {
                        id: id.to_string(),
                        reviewer: reviewer.name.to_string(),
                    });
                }
                RecordOutcome::WrongState => {
                    return Err(RegistryError::WrongState {
                        id: id.to_string(),
                        state: self.row(id).await?.state,
                        action: "approved",
                    });
                }
            }
            // Another reviewer may have recorded theirs at the same time:
            // count again, and complete when the two together suffice.
            approvals = count(&submissions.approvals(id).await?);
            if approvals < needed {
                return Ok(Approval::Recorded { approvals, needed });
            }
        }
        let reason = format!("approval {needed} of {needed}");
        let approval = self.approve_as(id, reviewer, seen, Some(&reason)).await?;
        Ok(Approval::Approved(Box::new(approval)))
    }

    /// Approve a pending submission as `reviewer`, who was shown `seen`:
    /// read the stored component again (its bytes checked against the
    /// digest), inspect it in the sandbox, and sign with the reviewer's key
    /// only if the component, the manifest, the hosts and the scopes are
    /// still what was shown. The submitter never approves their own
    /// version, and a name owned by another publisher (who did not make
    /// the submitter a co-maintainer), or a new name that could be mistaken
    /// for one, is refused. The
    /// caller has checked that `reviewer` may review.
    pub async fn approve_as(
        &self,
        id: &str,
        reviewer: ActingReviewer<'_>,
        seen: &Reviewed,
        reason: Option<&str>,
    ) -> Result<SignedApproval, RegistryError> {
        let ActingReviewer {
            name: reviewer,
            key,
        } = reviewer;
        let row = self.row(id).await?;
        if row.state != SubmissionState::PendingReview {
            return Err(RegistryError::WrongState {
                id: row.id,
                state: row.state,
                action: "approved",
            });
        }
        if row.submitted_by == reviewer {
            return Err(RegistryError::OwnSubmission(reviewer.to_string()));
        }
        // A lookalike name claimed since this version was submitted (two
        // publishers' versions pending at once) is refused here too; the
        // owner rule is checked again inside the approving transaction.
        if let Some(refusal) = self
            .name_refusal(&row.integration, &row.submitted_by)
            .await?
        {
            return Err(refusal);
        }
        let damaged = |e: String| RegistryError::Damaged(id.to_string(), e);
        let manifest = Manifest::from_toml(&row.manifest).map_err(|e| damaged(e.to_string()))?;
        let digest: Digest = row
            .digest
            .parse()
            .map_err(|e: workway_registry::DigestParseError| damaged(e.to_string()))?;
        let component = self.artifacts.get(&digest)?;
        let now = Reviewed::derive(&manifest, &row.manifest, component.digest());
        let mut differences = seen.differences(&now);
        if row.integration != now.integration || row.version != now.version {
            differences.push(format!(
                "the record files it as {} {}, but its manifest says {} {}",
                row.integration, row.version, now.integration, now.version
            ));
        }
        let inspection = match self
            .sandbox
            .inspect(component.bytes(), &manifest.limits)
            .await
        {
            Ok(inspection) => {
                differences.extend(crosscheck(&manifest, &inspection.description));
                Some(inspection)
            }
            Err(refused) => {
                differences.extend(refused);
                None
            }
        };
        let Some(inspection) = inspection.filter(|_| differences.is_empty()) else {
            return Err(RegistryError::NotAsReviewed {
                id: id.to_string(),
                differences,
            });
        };
        let approval = key.sign(ApprovalClaims::new(
            &manifest,
            &row.manifest,
            now.digest,
            &inspection.contract_version,
            reviewer,
            now_ms(),
        ));
        let json = serde_json::to_string(&approval).map_err(|e| damaged(e.to_string()))?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let outcome = self
            .store
            .submissions()
            .approve(
                &Transition {
                    id: &row.id,
                    from: SubmissionState::PendingReview,
                    to: SubmissionState::Approved,
                    actor: reviewer,
                    reason,
                    approval: Some(&json),
                    now: now_ms(),
                },
                &row.integration,
                &row.submitted_by,
            )
            .await?;
        match outcome {
            ApproveOutcome::Approved => Ok(approval),
            ApproveOutcome::OwnedBy(owner) => Err(RegistryError::NameOwned {
                integration: row.integration,
                owner,
            }),
            ApproveOutcome::WrongState => Err(RegistryError::WrongState {
                state: self.row(id).await?.state,
                id: row.id,
                action: "approved",
            }),
        }
    }

    /// Reject a pending submission as `reviewer`, one of the configured
    /// reviewers, with the reason the developer reads.
    pub async fn reject(
        &self,
        id: &str,
        reviewer: &str,
        reason: &str,
    ) -> Result<(), RegistryError> {
        self.check_reviewer(reviewer)?;
        self.reject_as(id, reviewer, reason).await
    }

    /// Reject a pending submission as `reviewer`, whom the caller has
    /// checked may review, with the reason the developer reads.
    pub async fn reject_as(
        &self,
        id: &str,
        reviewer: &str,
        reason: &str,
    ) -> Result<(), RegistryError> {
        if reason.trim().is_empty() {
            return Err(RegistryError::ReasonRequired);
        }
        let row = self.row(id).await?;
        self.transition_to_rejected(&row, reviewer, reason).await
    }

    /// Revoke an approved submission as `reviewer`, one of the configured
    /// reviewers, signing with the platform review key (see
    /// [`Registry::revoke_as`]).
    pub async fn revoke(
        &self,
        id: &str,
        reviewer: &str,
        reason: &str,
    ) -> Result<(), RegistryError> {
        self.check_reviewer(reviewer)?;
        let key = self.key.as_ref().ok_or(RegistryError::NoReviewKey)?;
        let reviewer = ActingReviewer {
            name: reviewer,
            key,
        };
        self.revoke_as(id, reviewer, reason).await
    }

    /// Revoke an approved submission as `reviewer`, whom the caller has
    /// checked may review: hosts stop starting it. The revocation is
    /// numbered by the database and signed with the reviewer's key, so
    /// hosts detect one that was edited or deleted.
    pub async fn revoke_as(
        &self,
        id: &str,
        reviewer: ActingReviewer<'_>,
        reason: &str,
    ) -> Result<(), RegistryError> {
        let ActingReviewer {
            name: reviewer,
            key,
        } = reviewer;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(RegistryError::ReasonRequired);
        }
        let row = self.row(id).await?;
        let wrong_state = |state| RegistryError::WrongState {
            id: id.to_string(),
            state,
            action: "revoked",
        };
        if row.state != SubmissionState::Approved {
            return Err(wrong_state(row.state));
        }
        let digest: Digest =
            row.digest
                .parse()
                .map_err(|e: workway_registry::DigestParseError| {
                    RegistryError::Damaged(id.to_string(), e.to_string())
                })?;
        let now = now_ms();
        let sign = |seq: i64| {
            let signed = key.sign_revocation(RevocationClaims {
                seq,
                submission_id: row.id.clone(),
                integration: row.integration.clone(),
                version: row.version.clone(),
                digest,
                revoked_by: reviewer.to_string(),
                reason: reason.to_string(),
                revoked_at: now,
            });
            // Serializing strings and integers cannot fail.
            serde_json::to_string(&signed).unwrap_or_default()
        };
        let revoked = self
            .store
            .submissions()
            .revoke(
                &Transition {
                    id: &row.id,
                    from: SubmissionState::Approved,
                    to: SubmissionState::Revoked,
                    actor: reviewer,
                    reason: Some(reason),
                    approval: None,
                    now,
                },
                &row.digest,
                &sign,
            )
            .await?;
        match revoked {
            Some(_) => Ok(()),
            None => Err(wrong_state(self.row(id).await?.state)),
        }
    }

    /// The approved component serving `integration` (the newest approved
    /// version, or exactly `version`), its bytes verified against the digest.
    pub async fn approved(
        &self,
        integration: &str,
        version: Option<&str>,
    ) -> Result<ApprovedComponent, RegistryError> {
        let rows = self.store.submissions().of_integration(integration).await?;
        let row = rows
            .into_iter()
            .filter(|r| r.state == SubmissionState::Approved)
            .filter(|r| version.is_none_or(|v| r.version == v))
            .max_by(|a, b| compare_versions(&a.version, &b.version))
            .ok_or_else(|| {
                RegistryError::NotApproved(match version {
                    Some(v) => format!("{integration}@{v}"),
                    None => integration.to_string(),
                })
            })?;
        let damaged = |e: String| RegistryError::Damaged(row.id.clone(), e);
        let approval: SignedApproval = serde_json::from_str(row.approval.as_deref().unwrap_or(""))
            .map_err(|e| damaged(e.to_string()))?;
        let digest: Digest = row.digest.parse().map_err(|e| damaged(format!("{e}")))?;
        let component = self.artifacts.get(&digest)?;
        Ok(ApprovedComponent {
            submission_id: row.id,
            integration: row.integration,
            version: row.version,
            component,
            manifest: row.manifest,
            approval,
        })
    }

    /// The submissions `submitted_by` made, newest first.
    pub async fn submitted_by(
        &self,
        submitted_by: &str,
    ) -> Result<Vec<SubmissionRow>, RegistryError> {
        Ok(self.store.submissions().of_submitter(submitted_by).await?)
    }

    /// The newest approved (not revoked) submission of every integration
    /// that has one, by name.
    pub async fn approved_integrations(&self) -> Result<Vec<SubmissionRow>, RegistryError> {
        let mut newest: BTreeMap<String, SubmissionRow> = BTreeMap::new();
        for row in self
            .store
            .submissions()
            .list(Some(SubmissionState::Approved))
            .await?
        {
            match newest.get(&row.integration) {
                Some(kept) if compare_versions(&kept.version, &row.version).is_ge() => {}
                _ => {
                    newest.insert(row.integration.clone(), row);
                }
            }
        }
        Ok(newest.into_values().collect())
    }

    /// The approved (not revoked) submissions of `integration`, newest
    /// version first.
    pub async fn approved_versions(
        &self,
        integration: &str,
    ) -> Result<Vec<SubmissionRow>, RegistryError> {
        let mut rows: Vec<SubmissionRow> = self
            .store
            .submissions()
            .of_integration(integration)
            .await?
            .into_iter()
            .filter(|r| r.state == SubmissionState::Approved)
            .collect();
        rows.sort_by(|a, b| compare_versions(&b.version, &a.version));
        Ok(rows)
    }

    /// The reviewer accounts' keys hosts trust, retired ones with their
    /// retirement time: read from the store each call. A stored key that
    /// does not parse is left out (what it signed then does not verify)
    /// and logged.
    pub async fn reviewer_keys(&self) -> Result<TrustedKeys, RegistryError> {
        let mut trusted = TrustedKeys::default();
        for row in self.store.reviewer_keys().all().await? {
            match TrustedKeys::default().with_reviewer_key(
                &row.key_id,
                &row.public_key,
                &row.account_id,
                row.retired_at,
            ) {
                Ok(one) => trusted.extend(&one),
                Err(e) => tracing::error!("reviewer key `{}` is not usable: {e}", row.key_id),
            }
        }
        Ok(trusted)
    }

    /// The revocation log from number `from` on, in order: what hosts
    /// poll. Each record is returned as stored; hosts verify it.
    pub async fn revocations_from(
        &self,
        from: i64,
    ) -> Result<Vec<StoredRevocation>, RegistryError> {
        Ok(self
            .store
            .submissions()
            .revocations_from(from)
            .await?
            .into_iter()
            .map(|row: RevocationRow| StoredRevocation {
                seq: row.seq,
                record: serde_json::from_str(&row.record).map_err(|e| e.to_string()),
                raw: row.record,
            })
            .collect())
    }

    fn check_reviewer(&self, actor: &str) -> Result<(), RegistryError> {
        if self.reviewers.contains(actor) {
            Ok(())
        } else {
            Err(RegistryError::NotAReviewer(actor.to_string()))
        }
    }

    async fn row(&self, id: &str) -> Result<SubmissionRow, RegistryError> {
        self.store
            .submissions()
            .get(id)
            .await?
            .ok_or_else(|| RegistryError::UnknownSubmission(id.to_string()))
    }

    /// Move `row` from pending review to rejected, with `reason`.
    async fn transition_to_rejected(
        &self,
        row: &SubmissionRow,
        actor: &str,
        reason: &str,
    ) -> Result<(), RegistryError> {
        let reason = Some(reason.trim()).filter(|r| !r.is_empty());
        if reason.is_none() {
            return Err(RegistryError::ReasonRequired);
        }
        let wrong_state = |state| RegistryError::WrongState {
            id: row.id.clone(),
            state,
            action: "rejected",
        };
        if row.state != SubmissionState::PendingReview {
            return Err(wrong_state(row.state));
        }
        let moved = self
            .store
            .submissions()
            .transition(&Transition {
                id: &row.id,
                from: SubmissionState::PendingReview,
                to: SubmissionState::Rejected,
                actor,
                reason,
                approval: None,
                now: now_ms(),
            })
            .await?;
        if moved {
            Ok(())
        } else {
            // Someone else moved it in between.
            let now = self.row(&row.id).await?;
            Err(wrong_state(now.state))
        }
    }
}

/// Compare `1.10.0` and `1.9.0` as versions (numeric parts), falling back
/// to text for anything else.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Option<Vec<u64>> {
        v.split(['-', '+'])
            .next()?
            .split('.')
            .map(|p| p.parse().ok())
            .collect()
    };
    match (parts(a), parts(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 8];
    // A clock fallback keeps submissions working without randomness.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (now_ms() as u64).to_le_bytes();
    }
    format!("sub_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Greater);
        assert_eq!(compare_versions("0.1.0", "0.1.0"), Equal);
        assert_eq!(compare_versions("0.2.0-beta", "0.10.0"), Less);
    }
}
