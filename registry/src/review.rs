//! Submission and review: a developer submits a component with its
//! manifest; validation runs before anything is stored; reviewers approve
//! (signing the approval), reject, or later revoke; every transition is
//! recorded; the host asks for approved components by integration name.
//!
//! The registry does not run components itself: a [`Sandbox`] (the host's
//! runtime) inspects them and runs their declared examples with no network.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use workway_store::submissions::{
    NewSubmission, ReviewEvent, SubmissionRow, SubmissionState, Transition,
};
use workway_store::{Store, StoreError};

use crate::approval::{ApprovalClaims, ReviewKey, SignedApproval, manifest_sha256};
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

/// What a reviewer sees for one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewReport {
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The component's digest.
    pub digest: Digest,
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
    /// The component's bytes (checked against the digest as they were read).
    pub component: Vec<u8>,
    /// The manifest's text.
    pub manifest: String,
    /// The signed approval.
    pub approval: SignedApproval,
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
    #[error("no review key is configured (WORKWAY_REVIEW_KEY); approvals cannot be signed")]
    NoReviewKey,
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

    /// Approve a pending submission: sign its claims and record the decision.
    pub async fn approve(
        &self,
        id: &str,
        reviewer: &str,
        reason: Option<&str>,
    ) -> Result<SignedApproval, RegistryError> {
        self.check_reviewer(reviewer)?;
        let key = self.key.as_ref().ok_or(RegistryError::NoReviewKey)?;
        let row = self.row(id).await?;
        let manifest = Manifest::from_toml(&row.manifest)
            .map_err(|e| RegistryError::Damaged(id.to_string(), e.to_string()))?;
        let digest: Digest = row
            .digest
            .parse()
            .map_err(|e: crate::digest::DigestParseError| {
                RegistryError::Damaged(id.to_string(), e.to_string())
            })?;
        let now = now_ms();
        let approval = key.sign(ApprovalClaims::new(
            &manifest,
            &row.manifest,
            digest,
            &row.contract_version,
            reviewer,
            now,
        ));
        let json = serde_json::to_string(&approval)
            .map_err(|e| RegistryError::Damaged(id.to_string(), e.to_string()))?;
        self.transition(
            &row,
            SubmissionState::PendingReview,
            SubmissionState::Approved,
            reviewer,
            reason,
            Some(&json),
            "approved",
        )
        .await?;
        Ok(approval)
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
        self.transition(
            &row,
            SubmissionState::PendingReview,
            SubmissionState::Rejected,
            reviewer,
            Some(reason),
            None,
            "rejected",
        )
        .await
    }

    /// Revoke an approved submission: hosts stop starting it.
    pub async fn revoke(
        &self,
        id: &str,
        reviewer: &str,
        reason: &str,
    ) -> Result<(), RegistryError> {
        self.check_reviewer(reviewer)?;
        let row = self.row(id).await?;
        self.transition(
            &row,
            SubmissionState::Approved,
            SubmissionState::Revoked,
            reviewer,
            Some(reason),
            None,
            "revoked",
        )
        .await
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
            component,
            manifest: row.manifest,
            approval,
        })
    }

    /// The digests revoked at or after `since` (Unix ms): what hosts poll.
    pub async fn revoked_since(&self, since: i64) -> Result<Vec<Digest>, RegistryError> {
        self.store
            .submissions()
            .revoked_since(since)
            .await?
            .into_iter()
            .map(|d| {
                d.parse().map_err(|e: crate::digest::DigestParseError| {
                    RegistryError::Damaged(d.clone(), e.to_string())
                })
            })
            .collect()
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

    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        row: &SubmissionRow,
        from: SubmissionState,
        to: SubmissionState,
        actor: &str,
        reason: Option<&str>,
        approval: Option<&str>,
        action: &'static str,
    ) -> Result<(), RegistryError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if to != SubmissionState::Approved && reason.is_none() {
            return Err(RegistryError::ReasonRequired);
        }
        let wrong_state = |state| RegistryError::WrongState {
            id: row.id.clone(),
            state,
            action,
        };
        if row.state != from {
            return Err(wrong_state(row.state));
        }
        let moved = self
            .store
            .submissions()
            .transition(&Transition {
                id: &row.id,
                from,
                to,
                actor,
                reason,
                approval,
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
