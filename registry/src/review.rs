//! Submission and review: a developer submits a component with its
//! manifest; validation runs before anything is stored; reviewers approve
//! (signing the approval), reject, or later revoke; every transition is
//! recorded; the host asks for approved components by integration name.
//!
//! The rules a review enforces, whatever the reviewer list says:
//! - an approval signs what the reviewer was shown ([`Reviewed`]): the
//!   artifact is read and inspected again at approval, and any difference
//!   from the report refuses the approval;
//! - the submitter of a version never approves it;
//! - a name belongs to the submitter of its first approved version; another
//!   publisher's version of it is refused at submission (and at approval);
//! - a revocation is signed and numbered by the database, never dated by a
//!   machine's clock, so hosts detect one that was edited or deleted.
//!
//! The registry does not run components itself: a [`Sandbox`] (the host's
//! runtime) inspects them and runs their declared examples with no network.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use workway_store::submissions::{
    NewSubmission, ReviewEvent, SubmissionRow, SubmissionState, Transition,
};
use workway_store::{Store, StoreError};

use workway_store::submissions::{ApproveOutcome, RevocationRow};

use crate::approval::{
    ApprovalClaims, ReviewKey, RevocationClaims, SignedApproval, SignedRevocation, manifest_sha256,
};
use crate::artifacts::{ArtifactError, ArtifactStore};
use crate::crosscheck::{IntegrationDescription, crosscheck};
use crate::digest::Digest;
use crate::manifest::Manifest;

/// What a sandbox learned by loading a component.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// Every import, as the component spells it.
    pub imports: Vec<String>,
    /// The `workway:plugin` contract version it targets.
    pub contract_version: String,
    /// What `describe()` returned.
    pub description: IntegrationDescription,
    /// Fuel `describe()` used.
    pub describe_fuel: u64,
}

/// One declared example, run in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleRun {
    /// Guest fuel used.
    pub fuel: u64,
    /// `ok`, or the typed error it ended with.
    pub outcome: String,
}

/// The runtime the registry validates components with.
#[async_trait]
pub trait Sandbox: Send + Sync {
    /// Load `component`: compile it, check its imports and contract
    /// version, and run `describe()`. The reasons it is refused otherwise.
    async fn inspect(&self, component: &[u8]) -> Result<Inspection, Vec<String>>;

    /// Run `action` on `input` with no network: every request is refused,
    /// or answered from `replay` (a replay file's JSON) when given.
    async fn run_example(
        &self,
        component: &[u8],
        action: &str,
        input: &serde_json::Value,
        replay: Option<&str>,
    ) -> ExampleRun;
}

/// A submission as a developer sends it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The component's bytes.
    pub component: Vec<u8>,
    /// The manifest's text (`workway.toml`).
    pub manifest: String,
    /// A replay file's JSON for running the examples offline, if any.
    pub replay: Option<String>,
    /// Who submits.
    pub submitted_by: String,
}

/// How the capabilities changed since the previous approved version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityDiff {
    /// The version compared with.
    pub previous_version: String,
    /// Hosts the new version adds.
    pub hosts_added: Vec<String>,
    /// Hosts it no longer calls.
    pub hosts_removed: Vec<String>,
    /// Scopes it adds, as `provider: scope`.
    pub scopes_added: Vec<String>,
    /// Scopes it drops, as `provider: scope`.
    pub scopes_removed: Vec<String>,
}

impl CapabilityDiff {
    /// Whether the new version asks for nothing new.
    pub fn widens(&self) -> bool {
        !self.hosts_added.is_empty() || !self.scopes_added.is_empty()
    }
}

/// What a reviewer was shown of a submission, carried into the approval:
/// the host re-derives the same from the stored artifact and manifest and
/// refuses to sign when anything differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewed {
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The component's digest.
    pub digest: Digest,
    /// The hex sha256 of the manifest's text.
    pub manifest_sha256: String,
    /// The outbound hosts.
    pub hosts: Vec<String>,
    /// The OAuth scopes, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
}

impl Reviewed {
    /// What `manifest` (whose text is `text`) and the component with
    /// `digest` amount to.
    fn derive(manifest: &Manifest, text: &str, digest: Digest) -> Self {
        Reviewed {
            integration: manifest.name.clone(),
            version: manifest.version.clone(),
            digest,
            manifest_sha256: manifest_sha256(text),
            hosts: manifest.http.hosts.clone(),
            scopes: scopes_of(manifest),
        }
    }

    /// A short code naming exactly this (32 hex digits of a sha256 over it):
    /// `review show` prints it and `review approve --reviewed` takes it
    /// back, so the approval is of what the reviewer read.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"workway-reviewed-v1\n");
        // Serializing strings and maps cannot fail.
        hasher.update(serde_json::to_vec(self).unwrap_or_default());
        hex::encode(&hasher.finalize()[..16])
    }

    /// Each way `now` differs from what was shown, as sentences.
    fn differences(&self, now: &Reviewed) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |what: &str, shown: String, actual: String| {
            if shown != actual {
                out.push(format!("{what} is now {actual}, not {shown} as shown"));
            }
        };
        differ(
            "the integration",
            self.integration.clone(),
            now.integration.clone(),
        );
        differ("the version", self.version.clone(), now.version.clone());
        differ(
            "the component's digest",
            self.digest.to_string(),
            now.digest.to_string(),
        );
        differ(
            "the manifest's sha256",
            self.manifest_sha256.clone(),
            now.manifest_sha256.clone(),
        );
        differ(
            "the hosts",
            format!("[{}]", self.hosts.join(", ")),
            format!("[{}]", now.hosts.join(", ")),
        );
        differ(
            "the scopes",
            format!("{:?}", self.scopes),
            format!("{:?}", now.scopes),
        );
        out
    }
}

/// What a reviewer sees for one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewReport {
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The component's digest.
    pub digest: Digest,
    /// The hex sha256 of the manifest's text (empty in reports stored
    /// before it was recorded: such a submission cannot be approved).
    #[serde(default)]
    pub manifest_sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The contract version it targets.
    pub contract_version: String,
    /// Everything it imports.
    pub imports: Vec<String>,
    /// The outbound hosts it declares.
    pub hosts: Vec<String>,
    /// The OAuth scopes it asks for, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
    /// The change since the previous approved version, if there is one.
    pub since_previous: Option<CapabilityDiff>,
    /// Fuel `describe()` used.
    pub describe_fuel: u64,
    /// Each action's example, run with no network (actions without an
    /// example are absent).
    pub examples: BTreeMap<String, ExampleRun>,
}

impl ReviewReport {
    /// The parts of the report an approval must match.
    pub fn reviewed(&self) -> Reviewed {
        Reviewed {
            integration: self.integration.clone(),
            version: self.version.clone(),
            digest: self.digest,
            manifest_sha256: self.manifest_sha256.clone(),
            hosts: self.hosts.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

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
    /// The component's bytes (checked against the digest as they were read).
    pub component: Vec<u8>,
    /// The manifest's text.
    pub manifest: String,
    /// The signed approval.
    pub approval: SignedApproval,
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
        let inspection = match self.sandbox.inspect(&submission.component).await {
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
        if let Some(owner) = self.store.submissions().owner(&manifest.name).await?
            && owner.owner != submission.submitted_by
        {
            reasons.push(
                RegistryError::NameOwned {
                    integration: manifest.name.clone(),
                    owner: owner.owner,
                }
                .to_string(),
            );
        }
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
            hosts: manifest.http.hosts.clone(),
            scopes: scopes_of(&manifest),
            since_previous: previous.map(|p| diff(&p, &manifest)),
            describe_fuel: inspection.describe_fuel,
            examples,
        };
        Ok((manifest, report))
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

    /// Approve a pending submission as `reviewer`, who was shown `seen`:
    /// read the stored component again (its bytes checked against the
    /// digest), inspect it in the sandbox, and sign only if the component,
    /// the manifest, the hosts and the scopes are still what was shown.
    /// The submitter never approves their own version, and a name owned by
    /// another publisher is refused.
    pub async fn approve(
        &self,
        id: &str,
        reviewer: &str,
        seen: &Reviewed,
        reason: Option<&str>,
    ) -> Result<SignedApproval, RegistryError> {
        self.check_reviewer(reviewer)?;
        let key = self.key.as_ref().ok_or(RegistryError::NoReviewKey)?;
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
        let damaged = |e: String| RegistryError::Damaged(id.to_string(), e);
        let manifest = Manifest::from_toml(&row.manifest).map_err(|e| damaged(e.to_string()))?;
        let digest: Digest = row
            .digest
            .parse()
            .map_err(|e: crate::digest::DigestParseError| damaged(e.to_string()))?;
        let component = self.artifacts.get(&digest)?;
        let now = Reviewed::derive(&manifest, &row.manifest, Digest::of(&component));
        let mut differences = seen.differences(&now);
        if row.integration != now.integration || row.version != now.version {
            differences.push(format!(
                "the record files it as {} {}, but its manifest says {} {}",
                row.integration, row.version, now.integration, now.version
            ));
        }
        let inspection = match self.sandbox.inspect(&component).await {
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

    /// Reject a pending submission, with the reason the developer reads.
    pub async fn reject(
        &self,
        id: &str,
        reviewer: &str,
        reason: &str,
    ) -> Result<(), RegistryError> {
        self.check_reviewer(reviewer)?;
        let row = self.row(id).await?;
        self.transition_to_rejected(&row, reviewer, reason).await
    }

    /// Revoke an approved submission: hosts stop starting it. The
    /// revocation is numbered by the database and signed with the review
    /// key, so hosts detect one that was edited or deleted.
    pub async fn revoke(
        &self,
        id: &str,
        reviewer: &str,
        reason: &str,
    ) -> Result<(), RegistryError> {
        self.check_reviewer(reviewer)?;
        let key = self.key.as_ref().ok_or(RegistryError::NoReviewKey)?;
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
        let digest: Digest = row
            .digest
            .parse()
            .map_err(|e: crate::digest::DigestParseError| {
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

fn scopes_of(manifest: &Manifest) -> BTreeMap<String, Vec<String>> {
    manifest
        .oauth
        .iter()
        .map(|(p, r)| (p.clone(), r.scopes.clone()))
        .collect()
}

/// What `next` asks for that `previous` did not, and the reverse.
pub fn diff(previous: &Manifest, next: &Manifest) -> CapabilityDiff {
    let hosts = |m: &Manifest| m.http.hosts.iter().cloned().collect::<BTreeSet<_>>();
    let scopes = |m: &Manifest| {
        m.oauth
            .iter()
            .flat_map(|(p, r)| r.scopes.iter().map(move |s| format!("{p}: {s}")))
            .collect::<BTreeSet<_>>()
    };
    let (h0, h1) = (hosts(previous), hosts(next));
    let (s0, s1) = (scopes(previous), scopes(next));
    CapabilityDiff {
        previous_version: previous.version.clone(),
        hosts_added: h1.difference(&h0).cloned().collect(),
        hosts_removed: h0.difference(&h1).cloned().collect(),
        scopes_added: s1.difference(&s0).cloned().collect(),
        scopes_removed: s0.difference(&s1).cloned().collect(),
    }
}

/// Compare `1.10.0` and `1.9.0` as versions (numeric parts), falling back
/// to text for anything else.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
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

    #[test]
    fn the_diff_names_what_widens() {
        let base = r#"
name = "slack"
version = "0.1.0"
publisher = "p"
description = "d"
[actions.a]
description = "a"
[oauth.slack]
scopes = ["chat:write"]
[http]
hosts = ["https://slack.com"]
"#;
        let previous = Manifest::from_toml(base).expect("valid");
        let next = Manifest::from_toml(
            &base
                .replace("0.1.0", "0.2.0")
                .replace(
                    "\"https://slack.com\"",
                    "\"https://slack.com\", \"https://files.slack.com\"",
                )
                .replace("[\"chat:write\"]", "[\"chat:write\", \"users:read\"]"),
        )
        .expect("valid");
        let d = diff(&previous, &next);
        assert_eq!(d.previous_version, "0.1.0");
        assert_eq!(d.hosts_added, ["https://files.slack.com"]);
        assert_eq!(d.scopes_added, ["slack: users:read"]);
        assert!(d.widens());
        assert!(!diff(&next, &previous).widens());
    }
}
