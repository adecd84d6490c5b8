//! The review governance tables on SQLite and PostgreSQL: approvals
//! recorded once per reviewer while a submission stays pending, claims
//! that one reviewer holds until they expire, and the upgrade of a
//! database made by the release before them.

use workway_store::submissions::{NewSubmission, RecordOutcome, SubmissionState, Transition};
use workway_store::testing::{earlier_databases, test_stores};

async fn submitted(store: &workway_store::Store, id: &str) {
    store
        .submissions()
        .insert(&NewSubmission {
            id,
            integration: "evolving",
            version: "2.0.0",
            digest: "sha256:abc",
            manifest: "name = \"evolving\"",
            manifest_sha256: "00",
            contract_version: "1",
            size: 10,
            submitted_by: "dev",
            report: "{}",
            now: 1000,
        })
        .await
        .expect("inserted");
}

fn recorded<'a>(id: &'a str, reviewer: &'a str, now: i64) -> Transition<'a> {
    Transition {
        id,
        from: SubmissionState::PendingReview,
        to: SubmissionState::PendingReview,
        actor: reviewer,
        reason: Some("approval 1 of 2"),
        approval: None,
        now,
    }
}

#[tokio::test]
async fn an_approval_is_recorded_once_per_reviewer_with_its_event() {
    for t in test_stores().await {
        let submissions = t.store.submissions();
        submitted(&t.store, "s1").await;
        let first = submissions
            .record_approval(&recorded("s1", "rita", 2000), "fp")
            .await
            .expect("records");
        assert_eq!(first, RecordOutcome::Recorded, "{}", t.label);
        let again = submissions
            .record_approval(&recorded("s1", "rita", 3000), "fp")
            .await
            .expect("records");
        assert_eq!(again, RecordOutcome::AlreadyApproved, "{}", t.label);
        let approvals = submissions.approvals("s1").await.expect("reads");
        assert_eq!(approvals.len(), 1, "{}", t.label);
        assert_eq!(
            (
                approvals[0].reviewer.as_str(),
                approvals[0].fingerprint.as_str()
            ),
            ("rita", "fp")
        );
        assert_eq!(approvals[0].at, 2000);
        let events = submissions.events("s1").await.expect("reads");
        assert_eq!(events.len(), 2, "{}", t.label);
        assert_eq!(events[1].actor, "rita");
        assert_eq!(events[1].to_state, SubmissionState::PendingReview);
        assert_eq!(events[1].reason.as_deref(), Some("approval 1 of 2"));
        let row = submissions.get("s1").await.expect("reads").expect("kept");
        assert_eq!(row.state, SubmissionState::PendingReview);

        // A submission no longer pending records nothing.
        submissions
            .transition(&Transition {
                id: "s1",
                from: SubmissionState::PendingReview,
                to: SubmissionState::Rejected,
                actor: "rob",
                reason: Some("no"),
                approval: None,
                now: 4000,
            })
            .await
            .expect("moves");
        let late = submissions
            .record_approval(&recorded("s1", "rob", 5000), "fp")
            .await
            .expect("records");
        assert_eq!(late, RecordOutcome::WrongState, "{}", t.label);
        assert_eq!(submissions.approvals("s1").await.expect("reads").len(), 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_claim_is_held_by_one_reviewer_until_it_expires() {
    for t in test_stores().await {
        let submissions = t.store.submissions();
        submitted(&t.store, "s1").await;
        let held = submissions
            .claim("s1", "rita", 1000, 2000)
            .await
            .expect("claims");
        assert_eq!((held.reviewer.as_str(), held.expires_at), ("rita", 2000));
        // Another reviewer does not take a live claim.
        let other = submissions
            .claim("s1", "rob", 1500, 2500)
            .await
            .expect("claims");
        assert_eq!((other.reviewer.as_str(), other.expires_at), ("rita", 2000));
        // Claiming again extends one's own.
        let extended = submissions
            .claim("s1", "rita", 1600, 2600)
            .await
            .expect("claims");
        assert_eq!(extended.expires_at, 2600, "{}", t.label);
        // An expired claim is replaced.
        let taken = submissions
            .claim("s1", "rob", 2600, 3600)
            .await
            .expect("claims");
        assert_eq!((taken.reviewer.as_str(), taken.claimed_at), ("rob", 2600));
        assert!(!submissions.release("s1", "rita").await.expect("releases"));
        assert!(submissions.release("s1", "rob").await.expect("releases"));
        assert_eq!(submissions.claim_of("s1").await.expect("reads"), None);
        assert!(submissions.claims().await.expect("reads").is_empty());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_earlier_database_upgrades_with_its_submissions() {
    for db in earlier_databases(12).await {
        let label = db.label;
        db.execute(
            "INSERT INTO submissions (id, integration, version, digest, manifest, \
             manifest_sha256, contract_version, size, submitted_by, state, report, approval, \
             created_at, updated_at) VALUES ('s1', 'evolving', '2.0.0', 'sha256:abc', 'm', \
             '00', '1', 10, $1, 'pending_review', '{}', NULL, 1000, 1000)",
            &["dev"],
        )
        .await;
        let t = db.upgrade().await;
        let submissions = t.store.submissions();
        let row = submissions.get("s1").await.expect("reads").expect("kept");
        assert_eq!(
            (row.submitted_by.as_str(), row.state),
            ("dev", SubmissionState::PendingReview),
            "{label}"
        );
        assert!(submissions.approvals("s1").await.expect("reads").is_empty());
        submissions
            .record_approval(&recorded("s1", "rita", 2000), "fp")
            .await
            .expect("the new table takes approvals");
        let claim = submissions
            .claim("s1", "rita", 2000, 3000)
            .await
            .expect("the new table takes claims");
        assert_eq!(claim.reviewer, "rita", "{label}");
        t.cleanup().await;
    }
}
