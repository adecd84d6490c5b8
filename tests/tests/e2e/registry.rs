//! The registry end to end, on SQLite and PostgreSQL: submissions validated
//! in the real sandbox, the review state machine, signed approvals bound to
//! the bytes and manifest, and approved components read back verified.

use std::sync::Arc;

use workway_registry::approval::TrustedKeys;
use workway_registry::artifacts::{ArtifactError, ArtifactStore};
use workway_registry::review::{Registry, RegistryError, Sandbox, Submission};
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
    let Some(t) = test_stores().await.into_iter().next() else {
        return;
    };
    let f = registry(t.store.clone());
    let slack = first_party_submission("slack");

    // A component importing wasi:filesystem.
    let filesystem = Submission {
        component: std::fs::read(workway_test_artifacts::IMPORTS_FILESYSTEM).expect("built"),
        ..slack.clone()
    };
    let reasons = refused(f.registry.submit(filesystem).await);
    assert!(
        reasons.iter().any(|r| r.contains("wasi:filesystem")),
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
        reasons
            .iter()
            .any(|r| r
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

    assert!(f.registry.list(None).await.expect("list").is_empty());
    t.cleanup().await;
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
            f.registry.approve(&v1.id, "dev@workway", None).await,
            Err(RegistryError::NotAReviewer(_))
        ));
        let approval = f
            .registry
            .approve(&v1.id, REVIEWER, Some("hosts match the actions"))
            .await
            .expect("approved");
        let trusted = TrustedKeys::parse(&f.key_public).expect("public key");
        let served = f.registry.approved("evolving", None).await.expect("serves");
        assert_eq!(served.submission_id, v1.id);
        assert_eq!(served.component, v1_bytes);
        let claims = trusted
            .verify_for(&served.approval, &served.component, &served.manifest)
            .expect("the approval verifies");
        assert_eq!(claims.hosts, ["https://api.example.com"], "{}", t.label);
        assert_eq!(claims.approved_by, REVIEWER);
        assert_eq!(claims.contract_version, "0.1.0");
        assert_eq!(approval, served.approval);
        assert!(matches!(
            f.registry.approve(&v1.id, REVIEWER, None).await,
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
            f.registry.approve(&v2.id, REVIEWER, None).await,
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
