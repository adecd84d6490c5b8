//! The store's queries, on SQLite and (when the server answers) PostgreSQL.

use workway_store::Store;
use workway_store::connections::{ConnectionStatus, Fence, Lease, NewConnection, RefreshedTokens};
use workway_store::oauth_states::OAuthStateRow;
use workway_store::submissions::{NewSubmission, SubmissionState, Transition};
use workway_store::testing::test_stores;

fn lease(token: &str, token_version: i64) -> Lease<'_> {
    Lease {
        token,
        token_version,
    }
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn insert(store: &Store, id: &str, owner: &str, provider: &str, now: i64) {
    let scopes = scopes(&["chat:write", "users:read"]);
    store
        .connections()
        .insert(&NewConnection {
            id,
            owner,
            provider,
            account: Some("Acme"),
            scopes: &scopes,
            access_token: "sealed-access",
            refresh_token: Some("sealed-refresh"),
            expires_at: Some(now + 3_600_000),
            now,
        })
        .await
        .expect("insert");
}

#[tokio::test]
async fn connections_round_trip_and_delete() {
    for t in test_stores().await {
        let c = t.store.connections();
        insert(&t.store, "c1", "alice", "slack", 1_000).await;
        insert(&t.store, "c2", "alice", "slack", 2_000).await;
        insert(&t.store, "c3", "bob", "google", 1_500).await;

        let row = c.get("c1").await.expect("get").expect("exists");
        assert_eq!(row.owner, "alice", "{}", t.label);
        assert_eq!(row.scopes, scopes(&["chat:write", "users:read"]));
        assert_eq!(row.account.as_deref(), Some("Acme"));
        assert_eq!(row.expires_at, Some(3_601_000));
        assert_eq!(row.status, ConnectionStatus::Active);
        assert_eq!(row.token_version, 1);
        assert_eq!(row.refresh_lease_owner, None);

        let newest = c
            .find("alice", "slack")
            .await
            .expect("find")
            .expect("exists");
        assert_eq!(newest.id, "c2", "{}", t.label);
        assert!(c.find("alice", "google").await.expect("find").is_none());
        let listed: Vec<String> = c
            .list("alice")
            .await
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, ["c1", "c2"], "{}", t.label);
        let page: Vec<String> = c
            .page(Some("c1"), 10)
            .await
            .expect("page")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(page, ["c2", "c3"], "{}", t.label);

        assert!(c.delete("c1").await.expect("delete"));
        assert!(!c.delete("c1").await.expect("delete twice"));
        assert!(c.get("c1").await.expect("get").is_none(), "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn one_lease_at_a_time_and_refresh_bumps_the_version() {
    for t in test_stores().await {
        let c = t.store.connections();
        insert(&t.store, "c1", "alice", "slack", 0).await;
        let other = t.reopen().await;

        assert!(
            c.try_lease("c1", lease("host-a", 1), 100, 30_100)
                .await
                .expect("lease")
        );
        // A second process cannot take a lease that is still held.
        assert!(
            !other
                .connections()
                .try_lease("c1", lease("host-b", 1), 200, 30_200)
                .await
                .expect("lease"),
            "{}",
            t.label
        );
        // Only the holder can store tokens.
        let tokens = RefreshedTokens {
            access_token: "new-access",
            refresh_token: None,
            expires_at: Some(99),
            now: 300,
        };
        assert!(
            !other
                .connections()
                .store_refreshed("c1", lease("host-b", 1), &tokens)
                .await
                .expect("store")
        );
        assert!(
            c.store_refreshed("c1", lease("host-a", 1), &tokens)
                .await
                .expect("store"),
            "{}",
            t.label
        );
        let row = other
            .connections()
            .get("c1")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(row.access_token, "new-access");
        assert_eq!(
            row.refresh_token.as_deref(),
            Some("sealed-refresh"),
            "refresh token kept when not rotated"
        );
        assert_eq!(row.token_version, 2);
        assert_eq!(row.refresh_lease_owner, None);

        // A lease on tokens someone already refreshed is refused.
        assert!(
            !c.try_lease("c1", lease("host-a", 1), 400, 500)
                .await
                .expect("lease"),
            "{}",
            t.label
        );
        // An expired lease can be taken over.
        assert!(
            c.try_lease("c1", lease("host-a", 2), 400, 500)
                .await
                .expect("lease")
        );
        assert!(
            other
                .connections()
                .try_lease("c1", lease("host-b", 2), 600, 30_600)
                .await
                .expect("lease"),
            "{}",
            t.label
        );
        other
            .connections()
            .release_lease("c1", lease("host-b", 2))
            .await
            .expect("release");

        // A connection needing re-authorisation cannot be leased.
        c.mark_needs_reauth(
            "c1",
            Fence::Version(2),
            "refresh failed: invalid_grant",
            700,
        )
        .await
        .expect("mark");
        let row = c.get("c1").await.expect("get").expect("exists");
        assert_eq!(row.status, ConnectionStatus::NeedsReauth);
        assert_eq!(
            row.status_reason.as_deref(),
            Some("refresh failed: invalid_grant")
        );
        assert!(
            !c.try_lease("c1", lease("host-a", 2), 800, 900)
                .await
                .expect("lease"),
            "{}",
            t.label
        );

        // Resealing only applies to the version it read.
        assert!(!c.reseal("c1", 1, "x", None).await.expect("reseal"));
        assert!(
            c.reseal("c1", 2, "resealed", Some("resealed-r"))
                .await
                .expect("reseal")
        );
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn oauth_states_are_taken_once() {
    for t in test_stores().await {
        let s = t.store.oauth_states();
        let row = OAuthStateRow {
            state_hash: "h1".into(),
            owner: "alice".into(),
            provider: "google".into(),
            scopes: scopes(&["openid", "email"]),
            redirect_uri: "https://workway.example/oauth/callback".into(),
            pkce_verifier: "sealed".into(),
            expires_at: 10_000,
            created_at: 0,
        };
        s.insert(&row).await.expect("insert");
        assert!(
            s.insert(&row).await.is_err(),
            "a state is unique ({})",
            t.label
        );
        let other = t.reopen().await;
        let other_states = other.oauth_states();
        let (a, b) = tokio::join!(s.take("h1"), other_states.take("h1"));
        let taken: Vec<_> = [a.expect("take"), b.expect("take")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(taken, vec![row.clone()], "exactly one taker ({})", t.label);

        s.insert(&OAuthStateRow {
            state_hash: "old".into(),
            expires_at: 5,
            ..row.clone()
        })
        .await
        .expect("insert");
        s.insert(&OAuthStateRow {
            state_hash: "new".into(),
            ..row.clone()
        })
        .await
        .expect("insert");
        assert_eq!(s.purge_expired(6).await.expect("purge"), 1, "{}", t.label);
        assert!(s.take("new").await.expect("take").is_some());
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn migrations_apply_once_across_handles() {
    for t in test_stores().await {
        // Opening again runs the migrator again: it must find nothing to do.
        let again = t.reopen().await;
        insert(&again, "c1", "alice", "notion", 0).await;
        assert!(
            t.store
                .connections()
                .get("c1")
                .await
                .expect("get")
                .is_some(),
            "{}",
            t.label
        );
        again.close().await;
        t.cleanup().await;
    }
}

async fn submit(store: &Store, id: &str, version: &str, now: i64) {
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
            size: 1234,
            submitted_by: "dev@acme",
            report: "{}",
            now,
        })
        .await
        .expect("insert");
}

#[tokio::test]
async fn submissions_move_through_review_once_and_record_every_step() {
    for t in test_stores().await {
        let s = t.store.submissions();
        submit(&t.store, "s1", "1.0.0", 1_000).await;
        submit(&t.store, "s2", "1.1.0", 2_000).await;
        let row = s.get("s1").await.expect("get").expect("exists");
        assert_eq!(row.state, SubmissionState::PendingReview, "{}", t.label);
        assert_eq!(row.size, 1234);
        assert_eq!(row.approval, None);

        let approve = Transition {
            id: "s1",
            from: SubmissionState::PendingReview,
            to: SubmissionState::Approved,
            actor: "rita",
            reason: Some("looks right"),
            approval: Some("{\"signed\": true}"),
            now: 3_000,
        };
        assert!(
            s.transition(&approve).await.expect("approve"),
            "{}",
            t.label
        );
        // A second reviewer acting on the same state loses.
        assert!(!s.transition(&approve).await.expect("again"), "{}", t.label);
        let revoke = Transition {
            id: "s1",
            from: SubmissionState::Approved,
            to: SubmissionState::Revoked,
            actor: "rita",
            reason: Some("exfiltrates data"),
            approval: None,
            now: 4_000,
        };
        assert!(s.transition(&revoke).await.expect("revoke"));
        let row = s.get("s1").await.expect("get").expect("exists");
        assert_eq!(row.state, SubmissionState::Revoked);
        assert_eq!(row.approval.as_deref(), Some("{\"signed\": true}"), "kept");
        assert_eq!(row.updated_at, 4_000);

        let events = s.events("s1").await.expect("events");
        let steps: Vec<_> = events
            .iter()
            .map(|e| (e.seq, e.from_state, e.to_state, e.actor.as_str()))
            .collect();
        assert_eq!(
            steps,
            vec![
                (1, None, SubmissionState::PendingReview, "dev@acme"),
                (
                    2,
                    Some(SubmissionState::PendingReview),
                    SubmissionState::Approved,
                    "rita"
                ),
                (
                    3,
                    Some(SubmissionState::Approved),
                    SubmissionState::Revoked,
                    "rita"
                ),
            ],
            "{}",
            t.label
        );
        assert_eq!(events[2].reason.as_deref(), Some("exfiltrates data"));

        let pending = s
            .list(Some(SubmissionState::PendingReview))
            .await
            .expect("list");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, "s2");
        assert_eq!(s.list(None).await.expect("all").len(), 2);
        assert_eq!(s.of_integration("slack").await.expect("of").len(), 2);
        assert_eq!(
            s.with_digest("sha256:s1").await.expect("by digest").len(),
            1
        );
        assert_eq!(
            s.revoked_since(3_500).await.expect("revoked"),
            vec!["sha256:s1".to_string()]
        );
        assert!(s.revoked_since(4_001).await.expect("revoked").is_empty());
        t.cleanup().await;
    }
}
