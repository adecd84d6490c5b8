//! The publishers' tables on SQLite and (when the server answers)
//! PostgreSQL: developer profiles and their verification, co-maintainers
//! and the one rule for who publishes a name, and the upgrade of a
//! database made by the release before them.

use workway_store::Store;
use workway_store::publishers::ProfileFields;
use workway_store::submissions::{ApproveOutcome, NewSubmission, SubmissionState, Transition};
use workway_store::testing::{earlier_databases, test_stores};

fn fields<'a>(account_id: &'a str, display_name: &'a str, now: i64) -> ProfileFields<'a> {
    ProfileFields {
        account_id,
        display_name,
        website: Some("https://acme.example"),
        support_contact: "help@acme.example",
        payout_account: Some("acct_1"),
        now,
    }
}

async fn submit(store: &Store, id: &str, version: &str, by: &str, now: i64) {
    store
        .submissions()
        .insert(&NewSubmission {
            id,
            integration: "slack",
            version,
            digest: &format!("sha256:{id}"),
            manifest: "name = \"slack\"",
            manifest_sha256: "abc",
            contract_version: "0.1.0",
            size: 1,
            submitted_by: by,
            report: "{}",
            now,
        })
        .await
        .expect("insert");
}

async fn approve(store: &Store, id: &str, by: &str, now: i64) -> ApproveOutcome {
    store
        .submissions()
        .approve(
            &Transition {
                id,
                from: SubmissionState::PendingReview,
                to: SubmissionState::Approved,
                actor: "rita",
                reason: None,
                approval: Some("{}"),
                now,
            },
            "slack",
            by,
        )
        .await
        .expect("approve runs")
}

#[tokio::test]
async fn profiles_are_written_whole_and_verification_follows_what_was_shown() {
    for t in test_stores().await {
        let p = t.store.publishers();
        assert_eq!(p.profile("acc_a").await.expect("read"), None, "{}", t.label);
        assert_eq!(
            p.set_verified("acc_a", Some("admin"), 5)
                .await
                .expect("runs"),
            None,
            "no profile, nothing to verify"
        );

        let made = p
            .put_profile(&fields("acc_a", "Acme", 10))
            .await
            .expect("put");
        assert_eq!(made.display_name, "Acme", "{}", t.label);
        assert_eq!(made.website.as_deref(), Some("https://acme.example"));
        assert_eq!(made.payout_account.as_deref(), Some("acct_1"));
        assert_eq!((made.created_at, made.updated_at), (10, 10));
        assert!(!made.verified());

        let verified = p
            .set_verified("acc_a", Some("admin"), 20)
            .await
            .expect("runs")
            .expect("a profile");
        assert_eq!(
            verified.verified_by.as_deref(),
            Some("admin"),
            "{}",
            t.label
        );
        assert_eq!(verified.verified_at, Some(20));

        // A new support contact keeps the verification ...
        let kept = p
            .put_profile(&ProfileFields {
                support_contact: "https://acme.example/help",
                payout_account: None,
                ..fields("acc_a", "Acme", 30)
            })
            .await
            .expect("put");
        assert!(kept.verified(), "{}: {kept:?}", t.label);
        assert_eq!(kept.payout_account, None, "an omitted reference is cleared");
        assert_eq!((kept.created_at, kept.updated_at), (10, 30));
        // ... a new name or website does not.
        let renamed = p
            .put_profile(&fields("acc_a", "Acme Inc", 40))
            .await
            .expect("put");
        assert!(!renamed.verified(), "{}: {renamed:?}", t.label);
        assert_eq!(renamed.verified_by, None);
        p.set_verified("acc_a", Some("admin"), 50)
            .await
            .expect("runs");
        let moved = p
            .put_profile(&ProfileFields {
                website: None,
                ..fields("acc_a", "Acme Inc", 60)
            })
            .await
            .expect("put");
        assert!(!moved.verified(), "{}: {moved:?}", t.label);

        // Un-verifying clears who and when; other profiles are untouched.
        p.put_profile(&fields("acc_b", "Bee", 70))
            .await
            .expect("put");
        p.set_verified("acc_a", Some("admin"), 80)
            .await
            .expect("runs");
        let cleared = p
            .set_verified("acc_a", None, 90)
            .await
            .expect("runs")
            .expect("a profile");
        assert_eq!((cleared.verified_by, cleared.verified_at), (None, None));
        let b = p.profile("acc_b").await.expect("read").expect("b's");
        assert_eq!(b.display_name, "Bee", "{}", t.label);
        assert!(!b.verified());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn co_maintainers_publish_a_name_without_taking_it() {
    for t in test_stores().await {
        let s = t.store.submissions();
        let p = t.store.publishers();
        assert_eq!(
            s.refusing_owner("slack", "anyone").await.expect("read"),
            None
        );

        submit(&t.store, "s1", "1.0.0", "owner", 1).await;
        assert_eq!(
            approve(&t.store, "s1", "owner", 2).await,
            ApproveOutcome::Approved
        );
        assert_eq!(
            s.refusing_owner("slack", "owner").await.expect("read"),
            None
        );
        assert_eq!(
            s.refusing_owner("slack", "helper")
                .await
                .expect("read")
                .as_deref(),
            Some("owner"),
            "{}",
            t.label
        );

        assert!(
            p.add_maintainer("slack", "helper", "owner", 3)
                .await
                .expect("add")
        );
        assert!(
            !p.add_maintainer("slack", "helper", "owner", 4)
                .await
                .expect("again")
        );
        let listed = p.maintainers("slack").await.expect("list");
        assert_eq!(listed.len(), 1, "{}", t.label);
        assert_eq!(
            (
                listed[0].account_id.as_str(),
                listed[0].added_by.as_str(),
                listed[0].added_at
            ),
            ("helper", "owner", 3)
        );
        assert_eq!(p.maintainers("notion").await.expect("list"), vec![]);
        assert_eq!(
            s.refusing_owner("slack", "helper").await.expect("read"),
            None
        );
        assert_eq!(
            s.refusing_owner("notion", "helper").await.expect("read"),
            None,
            "an unowned name is anyone's"
        );

        // The co-maintainer's version is approved; the name stays the owner's.
        submit(&t.store, "s2", "1.1.0", "helper", 5).await;
        assert_eq!(
            approve(&t.store, "s2", "helper", 6).await,
            ApproveOutcome::Approved
        );
        let owner = s.owner("slack").await.expect("read").expect("owned");
        assert_eq!(
            (owner.owner.as_str(), owner.submission_id.as_str()),
            ("owner", "s1")
        );

        // Removed, their pending version can no longer be approved.
        submit(&t.store, "s3", "1.2.0", "helper", 7).await;
        assert!(
            p.remove_maintainer("slack", "helper")
                .await
                .expect("remove")
        );
        assert!(!p.remove_maintainer("slack", "helper").await.expect("again"));
        assert_eq!(
            approve(&t.store, "s3", "helper", 8).await,
            ApproveOutcome::OwnedBy("owner".into()),
            "{}",
            t.label
        );
        assert_eq!(
            s.get("s3").await.expect("read").expect("kept").state,
            SubmissionState::PendingReview
        );
        let owners = s.owners().await.expect("list");
        assert_eq!(owners.len(), 1, "{}", t.label);
        assert_eq!(owners[0].integration, "slack");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_without_losing_rows() {
    // Migration 0008 was the previous release's last.
    for old in earlier_databases(8).await {
        let label = old.label;
        old.execute(
            "INSERT INTO accounts (id, email, display_name, password_hash, roles, created_at, \
             updated_at) VALUES ('acc_dev', 'dev@acme.example', 'Dev', 'hash', 'user developer', \
             1, 1)",
            &[],
        )
        .await;
        old.execute(
            "INSERT INTO submissions (id, integration, version, digest, manifest, \
             manifest_sha256, contract_version, size, submitted_by, state, report, approval, \
             created_at, updated_at) VALUES ('s1', 'slack', '1.0.0', 'sha256:s1', 'name', 'abc', \
             '0.1.0', 1, 'acc_dev', 'approved', '{}', '{}', 2, 3)",
            &[],
        )
        .await;
        old.execute(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ('slack', 'acc_dev', 's1', 3)",
            &[],
        )
        .await;

        let t = old.upgrade().await;
        let account = t
            .store
            .accounts()
            .get("acc_dev")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(account.email, "dev@acme.example", "{label}");
        assert_eq!(account.roles, ["user", "developer"]);
        let row = t
            .store
            .submissions()
            .get("s1")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(
            (row.state, row.submitted_by.as_str()),
            (SubmissionState::Approved, "acc_dev")
        );
        let owner = t
            .store
            .submissions()
            .owner("slack")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(owner.owner, "acc_dev", "{label}");

        // The new tables work beside the old rows.
        assert_eq!(
            t.store.publishers().profile("acc_dev").await.expect("read"),
            None
        );
        t.store
            .publishers()
            .put_profile(&fields("acc_dev", "Dev", 4))
            .await
            .expect("a profile on the upgraded database");
        assert!(
            t.store
                .publishers()
                .add_maintainer("slack", "acc_other", "acc_dev", 5)
                .await
                .expect("add")
        );
        assert_eq!(
            t.store
                .submissions()
                .refusing_owner("slack", "acc_other")
                .await
                .expect("read"),
            None,
            "{label}"
        );
        t.cleanup().await;
    }
}
