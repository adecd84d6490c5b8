//! The store's queries, on SQLite and (when the server answers) PostgreSQL.

use workway_store::Store;
use workway_store::accounts::NewAccount;
use workway_store::api_tokens::ApiTokenRow;
use workway_store::connections::{ConnectionStatus, Fence, Lease, NewConnection, RefreshedTokens};
use workway_store::oauth_states::OAuthStateRow;
use workway_store::reviewer_keys::ReviewerKeyRow;
use workway_store::sessions::SessionRow;
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

fn new_account<'a>(id: &'a str, email: &'a str, roles: &'a [String], now: i64) -> NewAccount<'a> {
    NewAccount {
        id,
        email,
        display_name: "Alice",
        password_hash: "$argon2id$secret-hash",
        roles,
        now,
    }
}

#[tokio::test]
async fn accounts_round_trip_and_an_email_is_taken_once() {
    for t in test_stores().await {
        let a = t.store.accounts();
        assert_eq!(a.count().await.expect("count"), 0, "{}", t.label);
        let roles = scopes(&["admin", "member"]);
        let row = a
            .insert(&new_account("a1", "alice@example.com", &roles, 1_000))
            .await
            .expect("insert")
            .expect("the email is free");
        assert_eq!(row.id, "a1", "{}", t.label);
        assert_eq!(row.roles, roles);
        assert_eq!(row.password_hash, "$argon2id$secret-hash");
        assert_eq!((row.created_at, row.updated_at), (1_000, 1_000));
        assert_eq!(row.disabled_at, None);
        assert_eq!(a.get("a1").await.expect("get"), Some(row.clone()));
        assert_eq!(
            a.by_email("alice@example.com").await.expect("by email"),
            Some(row.clone()),
            "{}",
            t.label
        );
        assert!(
            a.by_email("ALICE@example.com")
                .await
                .expect("by email")
                .is_none()
        );
        assert!(a.get("nobody").await.expect("get").is_none());

        let shown = format!("{row:?}");
        assert!(!shown.contains("secret-hash"), "{shown}");
        assert!(
            shown.contains("<hash>") && shown.contains("alice@example.com"),
            "{shown}"
        );
        let new = new_account("a1", "alice@example.com", &roles, 0);
        assert!(!format!("{new:?}").contains("secret-hash"));

        // A taken email is a `None`, not an error, on every backend.
        assert_eq!(
            a.insert(&new_account("a2", "alice@example.com", &[], 2_000))
                .await
                .expect("a taken email is not an error"),
            None,
            "{}",
            t.label
        );
        // Two sign-ups racing for one address on two hosts: one wins.
        let other = t.reopen().await;
        let other_accounts = other.accounts();
        let (b1, b2) = (
            new_account("b1", "bob@example.com", &[], 3_000),
            new_account("b2", "bob@example.com", &[], 3_000),
        );
        let (x, y) = tokio::join!(a.insert(&b1), other_accounts.insert(&b2));
        let won: Vec<_> = [x.expect("insert"), y.expect("insert")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(won.len(), 1, "exactly one winner ({})", t.label);
        assert_eq!(a.count().await.expect("count"), 2, "{}", t.label);

        assert!(
            a.set_password("a1", "$argon2id$new", 4_000)
                .await
                .expect("set")
        );
        assert!(
            a.set_roles("a1", &scopes(&["member"]), 5_000)
                .await
                .expect("set")
        );
        assert!(a.set_disabled("a1", Some(6_000), 6_500).await.expect("set"));
        let row = a.get("a1").await.expect("get").expect("exists");
        assert_eq!(row.password_hash, "$argon2id$new", "{}", t.label);
        assert_eq!(row.roles, scopes(&["member"]));
        assert_eq!(row.disabled_at, Some(6_000));
        assert_eq!((row.created_at, row.updated_at), (1_000, 6_500));
        assert!(a.set_disabled("a1", None, 7_000).await.expect("set"));
        assert_eq!(
            a.get("a1").await.expect("get").expect("exists").disabled_at,
            None,
            "{}",
            t.label
        );
        assert!(!a.set_password("nobody", "x", 0).await.expect("set"));
        assert!(!a.set_roles("nobody", &[], 0).await.expect("set"));
        assert!(!a.set_disabled("nobody", Some(1), 0).await.expect("set"));
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn accounts_are_listed_by_email_a_page_at_a_time() {
    for t in test_stores().await {
        let a = t.store.accounts();
        for (id, email) in [
            ("e", "erin@example.com"),
            ("c", "carol@example.com"),
            ("a", "alice@example.com"),
            ("d", "dave@example.com"),
            ("b", "bob@example.com"),
        ] {
            a.insert(&new_account(id, email, &[], 0))
                .await
                .expect("insert")
                .expect("free");
        }
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = a.list(None, after.as_deref(), 2).await.expect("list");
            let Some(last) = page.last() else { break };
            after = Some(last.email.clone());
            pages.push(page.into_iter().map(|r| r.id).collect::<Vec<_>>());
        }
        assert_eq!(
            pages,
            vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]],
            "{}",
            t.label
        );
        assert_eq!(a.list(None, None, 10).await.expect("list").len(), 5);
        assert!(
            a.list(None, Some("erin@example.com"), 10)
                .await
                .expect("list")
                .is_empty()
        );

        // A search matches part of the email or the name, in any case;
        // `%` and `_` are only themselves.
        let mut odd = new_account("f", "fr_nk%50@example.org", &[], 0);
        odd.display_name = "Frank Ünder";
        a.insert(&odd).await.expect("insert").expect("free");
        let ids = |rows: Vec<workway_store::accounts::AccountRow>| {
            rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
        };
        let found = |q: &'static str| {
            let a = t.store.accounts();
            async move { ids(a.list(Some(q), None, 10).await.expect("search")) }
        };
        assert_eq!(found("CAROL").await, vec!["c"], "{}", t.label);
        assert_eq!(found("example.org").await, vec!["f"], "{}", t.label);
        assert_eq!(found("frank").await, vec!["f"], "{}", t.label);
        assert_eq!(found("_").await, vec!["f"], "{}", t.label);
        assert_eq!(found("%5").await, vec!["f"], "{}", t.label);
        assert!(found("a%e").await.is_empty(), "{}", t.label);
        assert_eq!(
            found("Alice").await.len(),
            5,
            "every seeded name: {}",
            t.label
        );
        assert_eq!(
            ids(a
                .list(Some("example.com"), Some("b"), 2)
                .await
                .expect("search")),
            vec!["b", "c"],
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

fn session(id_hash: &str, account_id: &str, now: i64, expires_at: i64) -> SessionRow {
    SessionRow {
        id_hash: id_hash.into(),
        account_id: account_id.into(),
        created_at: now,
        expires_at,
        last_seen_at: now,
        revoked_at: None,
    }
}

#[tokio::test]
async fn sessions_are_live_until_they_expire_or_are_revoked() {
    for t in test_stores().await {
        let s = t.store.sessions();
        let row = session("s1", "alice", 1_000, 10_000);
        s.insert(&row).await.expect("insert");
        assert!(s.insert(&row).await.is_err(), "unique ({})", t.label);
        assert_eq!(s.live("s1", 9_999).await.expect("live"), Some(row.clone()));
        assert_eq!(
            s.live("s1", 10_000).await.expect("live"),
            None,
            "{}",
            t.label
        );
        assert_eq!(s.live("nope", 0).await.expect("live"), None);

        // Touching within the gap writes nothing; after it, slides the expiry.
        assert!(!s.touch("s1", 1_500, 20_000, 1_000).await.expect("touch"));
        assert!(!s.touch("s1", 2_000, 20_000, 1_000).await.expect("touch"));
        assert!(s.touch("s1", 2_001, 20_000, 1_000).await.expect("touch"));
        let live = s.live("s1", 15_000).await.expect("live").expect("slid");
        assert_eq!((live.last_seen_at, live.expires_at), (2_001, 20_000));
        // An expired session is not slid back to life.
        assert!(!s.touch("s1", 20_000, 30_000, 0).await.expect("touch"));

        assert!(s.revoke("s1", 3_000).await.expect("revoke"), "{}", t.label);
        assert!(!s.revoke("s1", 3_001).await.expect("revoke twice"));
        assert_eq!(s.live("s1", 3_001).await.expect("live"), None);
        assert!(!s.touch("s1", 9_000, 40_000, 0).await.expect("touch"));

        // Revoking all of an account's sessions keeps the one asked for.
        for (id, account, expires) in [
            ("a1", "alice", 50_000),
            ("a2", "alice", 50_000),
            ("a3", "alice", 50_000),
            ("old", "alice", 4_000),
            ("b1", "bob", 50_000),
        ] {
            s.insert(&session(id, account, 1_000, expires))
                .await
                .expect("insert");
        }
        assert_eq!(
            s.revoke_all("alice", Some("a2"), 5_000)
                .await
                .expect("revoke all"),
            2,
            "{}",
            t.label
        );
        assert!(s.live("a2", 5_000).await.expect("live").is_some());
        assert!(s.live("a1", 5_000).await.expect("live").is_none());
        assert!(
            s.live("b1", 5_000).await.expect("live").is_some(),
            "{}",
            t.label
        );
        assert_eq!(
            s.revoke_all("alice", None, 6_000)
                .await
                .expect("revoke all"),
            1
        );
        assert_eq!(
            s.revoke_all("alice", None, 6_000)
                .await
                .expect("revoke all"),
            0
        );

        // Purged: expired (`old`) or revoked (`s1`, `a1`, `a3`, `a2`) before 5_500.
        assert_eq!(s.purge(5_500).await.expect("purge"), 4, "{}", t.label);
        assert_eq!(s.purge(6_001).await.expect("purge"), 1, "{}", t.label);
        assert!(s.live("b1", 6_001).await.expect("live").is_some());
        assert_eq!(s.purge(60_000).await.expect("purge"), 1, "{}", t.label);
        t.cleanup().await;
    }
}

fn token(id: &str, account_id: &str, created_at: i64, expires_at: Option<i64>) -> ApiTokenRow {
    ApiTokenRow {
        id: id.into(),
        account_id: account_id.into(),
        name: format!("token {id}"),
        prefix: format!("ww_{id}"),
        token_hash: format!("hash-{id}"),
        scopes: scopes(&["runs:read", "workflows:write"]),
        created_at,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    }
}

#[tokio::test]
async fn api_tokens_are_live_until_revoked_by_their_owner_or_expired() {
    for t in test_stores().await {
        let k = t.store.api_tokens();
        let forever = token("t1", "alice", 1_000, None);
        let brief = token("t2", "alice", 2_000, Some(5_000));
        let bobs = token("t3", "bob", 3_000, None);
        for row in [&forever, &brief, &bobs] {
            k.insert(row).await.expect("insert");
        }
        assert!(
            k.insert(&ApiTokenRow {
                id: "t4".into(),
                ..forever.clone()
            })
            .await
            .is_err(),
            "a token hash is unique ({})",
            t.label
        );

        assert_eq!(
            k.live("hash-t1", i64::MAX - 1).await.expect("live"),
            Some(forever.clone()),
            "{}",
            t.label
        );
        assert_eq!(
            k.live("hash-t2", 4_999).await.expect("live"),
            Some(brief.clone())
        );
        assert_eq!(
            k.live("hash-t2", 5_000).await.expect("live"),
            None,
            "{}",
            t.label
        );
        assert_eq!(k.live("hash-nope", 0).await.expect("live"), None);

        let listed: Vec<String> = k
            .list("alice")
            .await
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, ["t2", "t1"], "newest first ({})", t.label);

        // Bob cannot revoke Alice's token: nothing changes.
        assert!(
            !k.revoke("bob", "t1", 6_000).await.expect("revoke"),
            "{}",
            t.label
        );
        assert_eq!(
            k.live("hash-t1", 6_000).await.expect("live"),
            Some(forever.clone())
        );
        assert!(
            k.revoke("alice", "t1", 6_000).await.expect("revoke"),
            "{}",
            t.label
        );
        assert!(!k.revoke("alice", "t1", 6_001).await.expect("revoke twice"));
        assert_eq!(
            k.live("hash-t1", 6_001).await.expect("live"),
            None,
            "{}",
            t.label
        );
        let listed = k.list("alice").await.expect("list");
        assert_eq!(listed.len(), 2, "revoked tokens are still listed");
        assert_eq!(listed[1].revoked_at, Some(6_000), "{}", t.label);
        assert!(k.live("hash-t3", 6_001).await.expect("live").is_some());

        // The first use always writes; later ones once per gap.
        assert!(
            k.touch("t3", 7_000, 1_000).await.expect("touch"),
            "{}",
            t.label
        );
        assert!(!k.touch("t3", 7_500, 1_000).await.expect("touch"));
        assert!(!k.touch("t3", 8_000, 1_000).await.expect("touch"));
        assert!(k.touch("t3", 8_001, 1_000).await.expect("touch"));
        assert_eq!(
            k.live("hash-t3", 9_000)
                .await
                .expect("live")
                .expect("live")
                .last_used_at,
            Some(8_001),
            "{}",
            t.label
        );
        assert!(!k.touch("nope", 9_000, 0).await.expect("touch"));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn rate_limits_count_every_hit_from_every_host() {
    for t in test_stores().await {
        let other = t.reopen().await;
        let mut hits = tokio::task::JoinSet::new();
        for i in 0..20 {
            let store = if i % 2 == 0 {
                t.store.clone()
            } else {
                other.clone()
            };
            hits.spawn(async move { store.rate_limits().hit("signin:1.2.3.4", 60_000).await });
        }
        let mut seen: Vec<i64> = hits
            .join_all()
            .await
            .into_iter()
            .map(|r| r.expect("hit"))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=20).collect::<Vec<i64>>(), "{}", t.label);
        let r = t.store.rate_limits();
        assert_eq!(r.hits("signin:1.2.3.4", 60_000).await.expect("hits"), 20);
        assert_eq!(
            other
                .rate_limits()
                .hits("signin:1.2.3.4", 60_000)
                .await
                .expect("hits"),
            20,
            "{}",
            t.label
        );

        // Windows and buckets are counted apart.
        assert_eq!(r.hit("signin:1.2.3.4", 120_000).await.expect("hit"), 1);
        assert_eq!(r.hit("signin:5.6.7.8", 60_000).await.expect("hit"), 1);
        assert_eq!(r.hits("signin:1.2.3.4", 120_000).await.expect("hits"), 1);
        assert_eq!(r.hits("signin:9.9.9.9", 60_000).await.expect("hits"), 0);

        assert_eq!(r.purge(60_000).await.expect("purge"), 0, "{}", t.label);
        assert_eq!(r.purge(120_000).await.expect("purge"), 2, "{}", t.label);
        assert_eq!(r.hits("signin:1.2.3.4", 60_000).await.expect("hits"), 0);
        assert_eq!(r.hits("signin:1.2.3.4", 120_000).await.expect("hits"), 1);
        other.close().await;
        t.cleanup().await;
    }
}

fn reviewer_key(key_id: &str, account_id: &str, now: i64) -> ReviewerKeyRow {
    ReviewerKeyRow {
        key_id: key_id.to_string(),
        account_id: account_id.to_string(),
        public_key: format!("public-{key_id}"),
        sealed_private_key: format!("v1.k1.sealed-{key_id}"),
        created_at: now,
        retired_at: None,
    }
}

#[tokio::test]
async fn a_reviewer_has_one_active_key_and_retired_keys_are_kept() {
    for t in test_stores().await {
        let k = t.store.reviewer_keys();
        assert_eq!(k.active("acc_rita").await.expect("active"), None);
        let first = reviewer_key("rk-1", "acc_rita", 1_000);
        assert!(k.insert(&first).await.expect("insert"), "{}", t.label);
        // A second active key for the same account loses, as does a taken id.
        assert!(
            !k.insert(&reviewer_key("rk-2", "acc_rita", 1_001))
                .await
                .expect("insert"),
            "{}",
            t.label
        );
        assert!(
            !k.insert(&reviewer_key("rk-1", "acc_rob", 1_001))
                .await
                .expect("insert"),
            "{}",
            t.label
        );
        assert_eq!(
            k.active("acc_rita").await.expect("active"),
            Some(first.clone())
        );
        assert_eq!(k.get("rk-1").await.expect("get"), Some(first.clone()));
        assert_eq!(k.get("rk-2").await.expect("get"), None);

        // Two hosts racing to make the account's first key make one.
        let other = t.reopen().await;
        let mut racing = tokio::task::JoinSet::new();
        for i in 0..6 {
            let store = if i % 2 == 0 {
                t.store.clone()
            } else {
                other.clone()
            };
            racing.spawn(async move {
                store
                    .reviewer_keys()
                    .insert(&reviewer_key(&format!("rk-race-{i}"), "acc_rob", 2_000))
                    .await
            });
        }
        let won = racing
            .join_all()
            .await
            .into_iter()
            .filter(|r| *r.as_ref().expect("insert"))
            .count();
        assert_eq!(won, 1, "{}", t.label);

        assert_eq!(k.retire("acc_rita", 3_000).await.expect("retire"), 1);
        assert_eq!(k.retire("acc_rita", 3_500).await.expect("retire"), 0);
        assert_eq!(k.active("acc_rita").await.expect("active"), None);
        let retired = k.get("rk-1").await.expect("get").expect("kept");
        assert_eq!(retired.retired_at, Some(3_000), "{}", t.label);
        // Once retired, the account may get a new key.
        assert!(
            k.insert(&reviewer_key("rk-3", "acc_rita", 4_000))
                .await
                .expect("insert"),
            "{}",
            t.label
        );
        let all: Vec<String> = k
            .all()
            .await
            .expect("all")
            .into_iter()
            .map(|r| r.key_id)
            .collect();
        assert_eq!(all.len(), 3, "{all:?} {}", t.label);
        assert_eq!(all[0], "rk-1");
        assert_eq!(all[2], "rk-3");
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_developer_lists_their_own_submissions_newest_first() {
    for t in test_stores().await {
        submit(&t.store, "s1", "1.0.0", 1_000).await;
        submit(&t.store, "s2", "1.1.0", 2_000).await;
        let s = t.store.submissions();
        let own: Vec<String> = s
            .of_submitter("dev@acme")
            .await
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(own, ["s2", "s1"], "{}", t.label);
        assert!(
            s.of_submitter("dev@other").await.expect("list").is_empty(),
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}
