//! The registry end to end, on SQLite and PostgreSQL: submissions validated
//! in the real sandbox, the review state machine, signed approvals bound to
//! the bytes and manifest, and approved components read back verified.

use std::sync::Arc;

use workway_engine::review::{Registry, RegistryError};
use workway_registry::approval::{SignedApproval, TrustedKeys};
use workway_registry::artifacts::{ArtifactError, ArtifactStore};
use workway_registry::review::{Sandbox, Submission};
use workway_registry::{Digest, ReviewKey};
use workway_store::Store;
use workway_store::submissions::SubmissionState;
use workway_store::testing::test_stores;

pub use workway_fixtures::{REVIEWER, first_party_submission};

fn sandbox() -> Arc<dyn Sandbox> {
    crate::support::shared_runtime()
}

/// A registry over a store, with its review key's public half and the
/// folder its artifacts live in.
pub struct Fixture {
    pub registry: Registry,
    pub key_public: String,
    pub artifacts_dir: tempfile::TempDir,
}

/// A registry over `store` with [`REVIEWER`] and a fresh review key.
pub fn registry(store: Store) -> Fixture {
    let artifacts_dir = tempfile::tempdir().expect("temp dir");
    let key = ReviewKey::parse(&ReviewKey::generate("review-1").expect("random")).expect("valid");
    let key_public = key.public();
    let registry = Registry::new(
        store,
        ArtifactStore::open(artifacts_dir.path()).expect("artifact store"),
        sandbox(),
    )
    .with_reviewers([REVIEWER.to_string()])
    .with_review_key(key);
    Fixture {
        registry,
        key_public,
        artifacts_dir,
    }
}

/// Approve `id` as `reviewer`, who was shown its stored report.
pub async fn approve(
    registry: &Registry,
    id: &str,
    reviewer: &str,
    note: Option<&str>,
) -> Result<SignedApproval, RegistryError> {
    let shown = registry.show(id).await?.report.reviewed();
    registry.approve(id, reviewer, &shown, note).await
}

fn refused(result: Result<impl std::fmt::Debug, RegistryError>) -> Vec<String> {
    match result {
        Err(RegistryError::Refused(reasons)) => reasons,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn each_first_party_integration_reaches_pending_review_with_its_report() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        for name in ["gmail", "notion", "slack", "stripe"] {
            let submission = first_party_submission(name);
            let digest = Digest::of(&submission.component);
            let row = f.registry.submit(submission).await.expect("accepted");
            assert_eq!(
                row.state,
                SubmissionState::PendingReview,
                "{name} {}",
                t.label
            );
            let details = f.registry.show(&row.id).await.expect("show");
            let report = &details.report;
            assert_eq!(report.integration, name);
            assert_eq!(report.digest, digest);
            assert_eq!(report.contract_version, "0.1.0");
            assert!(
                report
                    .imports
                    .iter()
                    .any(|i| i.starts_with("workway:plugin/http"))
            );
            assert!(!report.imports.iter().any(|i| i.contains("filesystem")));
            assert_eq!(report.hosts.len(), 1, "{report:?}");
            assert!(report.since_previous.is_none());
            assert!(!report.examples.is_empty());
            for (action, run) in &report.examples {
                assert_eq!(run.outcome, "ok", "{name}.{action}");
                assert!(run.fuel > 0, "{name}.{action}");
            }
            assert_eq!(details.events.len(), 1);
            assert_eq!(details.events[0].actor, "dev@workway");
        }
        assert_eq!(
            f.registry
                .list(Some(SubmissionState::PendingReview))
                .await
                .expect("list")
                .len(),
            4
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn bad_submissions_are_refused_with_clear_reasons_and_nothing_is_stored() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        let slack = first_party_submission("slack");

        // A component importing wasi:http.
        let forbidden = Submission {
            component: std::fs::read(workway_test_artifacts::IMPORTS_FORBIDDEN).expect("built"),
            ..slack.clone()
        };
        let reasons = refused(f.registry.submit(forbidden).await);
        assert!(
            reasons.iter().any(|r| r.contains("wasi:http")),
            "{reasons:#?}"
        );

        // describe() disagrees with the manifest.
        let disagreeing = Submission {
            manifest: slack.manifest.replace(
                "[actions.list-channels]",
                "[actions.archive-channel]\ndescription = \"Archive.\"\n\n[actions.list-channels]",
            ),
            ..slack.clone()
        };
        let reasons = refused(f.registry.submit(disagreeing).await);
        assert!(
            reasons.iter().any(|r| r.contains("archive-channel")),
            "{reasons:#?}"
        );

        // A scope of another provider.
        let misfiled = Submission {
            manifest: slack.manifest.replace(
                "\"chat:write\"",
                "\"https://www.googleapis.com/auth/gmail.modify\"",
            ),
            ..slack.clone()
        };
        let reasons = refused(f.registry.submit(misfiled).await);
        assert!(
            reasons.iter().any(|r| r
                .contains("`slack` has no scope `https://www.googleapis.com/auth/gmail.modify`")),
            "{reasons:#?}"
        );

        // A component targeting a contract version no host supports: the same
        // component with its import versions rewritten.
        let mut future = slack.component.clone();
        let from = b"workway:plugin/http@0.1.0";
        let to = b"workway:plugin/http@0.9.0";
        let at = future
            .windows(from.len())
            .position(|w| w == from)
            .expect("the component imports http@0.1.0");
        future[at..at + to.len()].copy_from_slice(to);
        let reasons = refused(
            f.registry
                .submit(Submission {
                    component: future,
                    ..slack.clone()
                })
                .await,
        );
        assert!(reasons.iter().any(|r| r.contains("0.9.0")), "{reasons:#?}");

        // A corrupt file.
        let mut corrupt = slack.component.clone();
        corrupt.truncate(corrupt.len() / 2);
        let reasons = refused(
            f.registry
                .submit(Submission {
                    component: corrupt,
                    ..slack.clone()
                })
                .await,
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("not a valid WebAssembly component")),
            "{reasons:#?}"
        );

        // A manifest that does not parse, listed with the component's problems.
        let reasons = refused(
            f.registry
                .submit(Submission {
                    manifest: "name = ".into(),
                    component: b"not wasm".to_vec(),
                    ..slack.clone()
                })
                .await,
        );
        assert!(reasons.len() >= 2, "{reasons:#?}");

        assert!(
            f.registry.list(None).await.expect("list").is_empty(),
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

/// The `evolving` integration at `version` (1.0.0 or 2.0.0) with `hosts`.
pub fn evolving(version: &str, hosts: &[&str]) -> Submission {
    let component = match version {
        "1.0.0" => workway_test_artifacts::EVOLVING_V1,
        "2.0.0" => workway_test_artifacts::EVOLVING_V2,
        other => panic!("no build of version {other}"),
    };
    let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    Submission {
        component: std::fs::read(component).expect("built"),
        manifest: format!(
            r#"name = "evolving"
version = "{version}"
publisher = "tests"
description = "Two builds of one integration."

[actions.ping]
description = "Say which version answers."
example = {{}}

[http]
hosts = [{}]
"#,
            hosts.join(", ")
        ),
        replay: None,
        submitted_by: "dev@workway".into(),
    }
}

#[tokio::test]
async fn review_signs_approvals_records_who_and_why_and_serves_only_approved_bytes() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        let v1 = evolving("1.0.0", &["https://api.example.com"]);
        let v1_bytes = v1.component.clone();
        let v1 = f.registry.submit(v1).await.expect("accepted");

        // Nothing serves before approval; only reviewers decide.
        assert!(matches!(
            f.registry.approved("evolving", None).await,
            Err(RegistryError::NotApproved(_))
        ));
        assert!(matches!(
            approve(&f.registry, &v1.id, "dev@workway", None).await,
            Err(RegistryError::NotAReviewer(_))
        ));
        let approval = approve(
            &f.registry,
            &v1.id,
            REVIEWER,
            Some("hosts match the actions"),
        )
        .await
        .expect("approved");
        let trusted = TrustedKeys::parse(&f.key_public).expect("public key");
        let served = f.registry.approved("evolving", None).await.expect("serves");
        assert_eq!(served.submission_id, v1.id);
        assert_eq!(served.component.bytes(), v1_bytes);
        let claims = trusted
            .verify_for(&served.approval, &served.component, &served.manifest)
            .expect("the approval verifies");
        assert_eq!(claims.hosts, ["https://api.example.com"], "{}", t.label);
        assert_eq!(claims.approved_by, REVIEWER);
        assert_eq!(claims.contract_version, "0.1.0");
        assert_eq!(approval, served.approval);
        assert!(matches!(
            approve(&f.registry, &v1.id, REVIEWER, None).await,
            Err(RegistryError::WrongState { .. })
        ));

        // The same version cannot be submitted again; a new version that
        // widens the hosts shows the difference and does not serve until
        // it is approved.
        let again = refused(
            f.registry
                .submit(evolving("1.0.0", &["https://api.example.com"]))
                .await,
        );
        assert!(
            again.iter().any(|r| r.contains("bump the version")),
            "{again:#?}"
        );
        let v2 = f
            .registry
            .submit(evolving(
                "2.0.0",
                &["https://api.example.com", "https://files.example.com"],
            ))
            .await
            .expect("accepted");
        let diff = f
            .registry
            .show(&v2.id)
            .await
            .expect("show")
            .report
            .since_previous
            .expect("a previous approved version");
        assert_eq!(diff.previous_version, "1.0.0");
        assert_eq!(diff.hosts_added, ["https://files.example.com"]);
        assert!(diff.widens());
        assert_eq!(
            f.registry
                .approved("evolving", None)
                .await
                .expect("v1")
                .submission_id,
            v1.id,
            "the approved version keeps serving"
        );
        assert!(matches!(
            f.registry.reject(&v2.id, REVIEWER, " ").await,
            Err(RegistryError::ReasonRequired)
        ));
        f.registry
            .reject(&v2.id, REVIEWER, "files.example.com is not needed")
            .await
            .expect("rejected");
        assert!(matches!(
            approve(&f.registry, &v2.id, REVIEWER, None).await,
            Err(RegistryError::WrongState { .. })
        ));

        // A byte flipped in the stored artifact is caught when it is read.
        let path = f
            .artifacts_dir
            .path()
            .join("sha256")
            .join(Digest::of(&v1_bytes).to_hex());
        let mut bytes = std::fs::read(&path).expect("stored");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, &bytes).expect("tamper");
        assert!(matches!(
            f.registry.approved("evolving", None).await,
            Err(RegistryError::Artifact(ArtifactError::Corrupt { .. }))
        ));

        // Revocation: nothing serves, and the history says who and why.
        f.registry
            .revoke(&v1.id, REVIEWER, "leaks message contents")
            .await
            .expect("revoked");
        assert!(matches!(
            f.registry.approved("evolving", None).await,
            Err(RegistryError::NotApproved(_))
        ));
        let events = f.registry.show(&v1.id).await.expect("show").events;
        let history: Vec<_> = events
            .iter()
            .map(|e| (e.to_state, e.actor.as_str(), e.reason.as_deref()))
            .collect();
        assert_eq!(
            history,
            vec![
                (SubmissionState::PendingReview, "dev@workway", None),
                (
                    SubmissionState::Approved,
                    REVIEWER,
                    Some("hosts match the actions")
                ),
                (
                    SubmissionState::Revoked,
                    REVIEWER,
                    Some("leaks message contents")
                ),
            ],
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

/// `evolving` at `version` submitted by `who`.
fn evolving_by(version: &str, who: &str) -> Submission {
    Submission {
        submitted_by: who.into(),
        ..evolving(version, &["https://api.example.com"])
    }
}

#[tokio::test]
async fn an_approval_signs_what_the_reviewer_was_shown_not_a_row_changed_since() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        let row = f
            .registry
            .submit(evolving("1.0.0", &["https://api.example.com"]))
            .await
            .expect("accepted");
        let shown = f.registry.show(&row.id).await.expect("show").report;
        let fingerprint = shown.reviewed().fingerprint();

        // After the reviewer read the report, someone with write access to
        // the database widens the manifest, its hash and the report alike.
        let widened = row.manifest.replace(
            "hosts = [\"https://api.example.com\"]",
            "hosts = [\"https://api.example.com\", \"https://evil.example.com\"]",
        );
        assert_ne!(widened, row.manifest);
        let mut report = shown.clone();
        report.hosts.push("https://evil.example.com".into());
        report.manifest_sha256 = workway_registry::approval::manifest_sha256(&widened);
        let report = serde_json::to_string(&report).expect("json");
        let hash = workway_registry::approval::manifest_sha256(&widened);
        assert_eq!(
            t.tamper(
                "UPDATE submissions SET manifest = $1, manifest_sha256 = $2, report = $3 WHERE id = $4",
                &[&widened, &hash, &report, &row.id],
            )
            .await,
            1
        );

        // The fingerprint the reviewer was given no longer matches ...
        let stale = f.registry.shown(&row.id, &fingerprint).await;
        assert!(
            matches!(stale, Err(RegistryError::NotAsReviewed { .. })),
            "{}: {stale:?}",
            t.label
        );
        // ... and approving with what was shown names each difference.
        let refused = approve_shown(&f.registry, &row.id, &shown.reviewed()).await;
        let Err(RegistryError::NotAsReviewed { differences, .. }) = refused else {
            panic!("{}: expected a refusal, got {refused:?}", t.label);
        };
        assert!(
            differences
                .iter()
                .any(|d| d.contains("the hosts") && d.contains("evil.example.com")),
            "{differences:#?}"
        );
        assert!(
            differences.iter().any(|d| d.contains("manifest's sha256")),
            "{differences:#?}"
        );

        // The stored component swapped for another stored artifact (the
        // row's digest pointed at version 2.0.0's bytes) is refused too.
        let other = f
            .registry
            .submit(evolving("2.0.0", &["https://api.example.com"]))
            .await
            .expect("accepted");
        assert_eq!(
            t.tamper(
                "UPDATE submissions SET manifest = $1, manifest_sha256 = $2, report = $3, digest = $4 WHERE id = $5",
                &[
                    &row.manifest,
                    &row.manifest_sha256,
                    &row.report,
                    &other.digest,
                    &row.id
                ],
            )
            .await,
            1
        );
        let refused = approve_shown(&f.registry, &row.id, &shown.reviewed()).await;
        let Err(RegistryError::NotAsReviewed { differences, .. }) = refused else {
            panic!("{}: expected a refusal, got {refused:?}", t.label);
        };
        assert!(
            differences
                .iter()
                .any(|d| d.contains("digest") && d.contains(&other.digest)),
            "{differences:#?}"
        );
        let state = f.registry.show(&row.id).await.expect("show").row.state;
        assert_eq!(state, SubmissionState::PendingReview, "nothing was signed");

        // Put back as shown, it is approved, and the signed claims are what
        // the reviewer read.
        t.tamper(
            "UPDATE submissions SET digest = $1 WHERE id = $2",
            &[&row.digest, &row.id],
        )
        .await;
        let approval = approve_shown(&f.registry, &row.id, &shown.reviewed())
            .await
            .expect("approved");
        assert_eq!(approval.claims.hosts, shown.hosts);
        assert_eq!(approval.claims.digest, shown.digest);
        assert_eq!(approval.claims.manifest_sha256, shown.manifest_sha256);
        t.cleanup().await;
    }
}

async fn approve_shown(
    registry: &Registry,
    id: &str,
    shown: &workway_registry::Reviewed,
) -> Result<SignedApproval, RegistryError> {
    registry.approve(id, REVIEWER, shown, None).await
}

#[tokio::test]
async fn the_submitter_of_a_version_can_never_approve_it() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        // The developer is on the reviewer list too.
        let registry = f
            .registry
            .with_reviewers([REVIEWER.to_string(), "dev@workway".to_string()]);
        let row = registry
            .submit(evolving("1.0.0", &[]))
            .await
            .expect("accepted");
        let own = approve(&registry, &row.id, "dev@workway", None).await;
        assert!(
            matches!(&own, Err(RegistryError::OwnSubmission(who)) if who == "dev@workway"),
            "{}: {own:?}",
            t.label
        );
        assert_eq!(
            registry.show(&row.id).await.expect("show").row.state,
            SubmissionState::PendingReview
        );
        approve(&registry, &row.id, REVIEWER, None)
            .await
            .expect("another reviewer approves");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_integration_name_belongs_to_its_first_approved_publisher() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        // Two publishers submit first versions before either is approved.
        let mallory = f
            .registry
            .submit(evolving_by("1.0.0", "mallory"))
            .await
            .expect("no one owns the name yet");
        let dev = f
            .registry
            .submit(evolving_by("2.0.0", "dev@workway"))
            .await
            .expect("no one owns the name yet");
        approve(&f.registry, &dev.id, REVIEWER, None)
            .await
            .expect("the first approval claims the name");

        // The other publisher's pending version cannot be approved ...
        let taken = approve(&f.registry, &mallory.id, REVIEWER, None).await;
        assert!(
            matches!(&taken, Err(RegistryError::NameOwned { owner, .. }) if owner == "dev@workway"),
            "{}: {taken:?}",
            t.label
        );
        assert_eq!(
            f.registry.show(&mallory.id).await.expect("show").row.state,
            SubmissionState::PendingReview
        );
        // ... and a new one is refused at submission, while the owner's
        // next version is accepted.
        f.registry
            .reject(&mallory.id, REVIEWER, "not the owner")
            .await
            .expect("rejected");
        let reasons = refused(f.registry.submit(evolving_by("1.0.0", "mallory")).await);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("`evolving` belongs to `dev@workway`")),
            "{}: {reasons:#?}",
            t.label
        );
        f.registry
            .submit(evolving_by("1.0.0", "dev@workway"))
            .await
            .expect("the owner publishes another version");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn revocations_are_numbered_by_the_database_and_signed() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        let trusted = TrustedKeys::parse(&f.key_public).expect("public key");
        let mut ids = Vec::new();
        for version in ["1.0.0", "2.0.0"] {
            let row = f
                .registry
                .submit(evolving(version, &[]))
                .await
                .expect("accepted");
            approve(&f.registry, &row.id, REVIEWER, None)
                .await
                .expect("approved");
            ids.push(row);
        }
        for row in ids.iter().rev() {
            f.registry
                .revoke(&row.id, REVIEWER, "withdrawn")
                .await
                .expect("revoked");
        }
        let log = f.registry.revocations_from(1).await.expect("log");
        let numbers: Vec<i64> = log.iter().map(|r| r.seq).collect();
        assert_eq!(numbers, [1, 2], "{}", t.label);
        for (entry, row) in log.iter().zip(ids.iter().rev()) {
            let record = entry.record.as_ref().expect("parses");
            let claims = trusted.verify_revocation(record).expect("signed");
            assert_eq!(claims.seq, entry.seq);
            assert_eq!(claims.submission_id, row.id);
            assert_eq!(claims.digest.to_string(), row.digest);
            assert_eq!(claims.revoked_by, REVIEWER);
        }
        // A registry without the review key cannot revoke.
        let unsigned = Registry::new(
            t.reopen().await,
            ArtifactStore::open(f.artifacts_dir.path()).expect("artifact store"),
            sandbox(),
        )
        .with_reviewers([REVIEWER.to_string()]);
        assert!(matches!(
            unsigned.revoke(&ids[0].id, REVIEWER, "again").await,
            Err(RegistryError::NoReviewKey)
        ));
        t.cleanup().await;
    }
}
