//! The token vault and the OAuth flow against a local mock of each
//! provider's authorization server, on SQLite and (when the server answers)
//! PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use workway_capabilities::ConnectionBroker as _;
use workway_capabilities::secret::Secret;
use workway_egress::{Egress, EgressConfig};
use workway_mocks::{Flavor, MockOAuthProvider, MockResponse, MockServer};
use workway_store::Store;
use workway_store::clock::now_ms;
use workway_store::connections::{ConnectionStatus, Fence, Lease, NewConnection, RefreshedTokens};
use workway_store::testing::test_stores;
use workway_vault::credentials::ExecutionConnections;
use workway_vault::oauth::flow::{FlowError, OAuthFlow};
use workway_vault::oauth::providers::{ProviderRegistry, ProviderSettings};
use workway_vault::oauth::token::TokenSet;
use workway_vault::{CacheClock, Keyring, ProviderRevocation, Vault, VaultError, VaultSettings};

const CLIENT_ID: &str = "workway-client";
const CLIENT_SECRET: &str = "workway-client-secret";
const REDIRECT: &str = "https://workway.example/oauth/callback";

fn keyring(ids: &[&str]) -> (String, Arc<Keyring>) {
    let spec: Vec<String> = ids
        .iter()
        .map(|id| Keyring::generate_entry(id).expect("random"))
        .collect();
    let spec = spec.join(",");
    (
        spec.clone(),
        Arc::new(Keyring::parse(&spec).expect("valid keys")),
    )
}

/// Providers with client credentials, the mock's provider pointed at it.
fn providers(mock: &MockOAuthProvider) -> Arc<ProviderRegistry> {
    let mut settings = BTreeMap::new();
    settings.insert(
        mock.flavor().provider_name().to_string(),
        ProviderSettings {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(CLIENT_SECRET.into()),
            token_url: Some(mock.token_url()),
            authorization_url: Some(mock.authorize_url()),
            // Notion has no revocation endpoint to repoint.
            revocation_url: (mock.flavor() != Flavor::Notion).then(|| mock.revocation_url()),
            ..Default::default()
        },
    );
    Arc::new(
        ProviderRegistry::builtin()
            .configure(&settings)
            .expect("valid settings"),
    )
}

fn vault(store: Store, mock: &MockOAuthProvider, keys: Arc<Keyring>) -> Arc<Vault> {
    let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
    Arc::new(Vault::new(store, keys, providers(mock), egress))
}

/// `vault` without a token cache: every token read opens the stored row,
/// as a process sees a change made behind its back once the cache's bound
/// has passed.
fn uncached_vault(store: Store, mock: &MockOAuthProvider, keys: Arc<Keyring>) -> Arc<Vault> {
    let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
    Arc::new(
        Vault::new(store, keys, providers(mock), egress).with_settings(VaultSettings {
            token_cache: Duration::ZERO,
            ..VaultSettings::default()
        }),
    )
}

/// A grant the mock knows, stored in the vault with the given expiry.
async fn seeded(
    vault: &Vault,
    mock: &MockOAuthProvider,
    expires_at: Option<i64>,
) -> (String, String) {
    let grant = mock.seed_grant();
    let info = vault
        .save(
            "alice",
            mock.flavor().provider_name(),
            &["chat:write".to_string()],
            &TokenSet {
                access_token: Secret::new(grant.access_token.clone()),
                refresh_token: Some(Secret::new(grant.refresh_token)),
                expires_at,
                scopes: None,
                account: Some("Acme".into()),
            },
        )
        .await
        .expect("saved");
    (info.id, grant.access_token)
}

#[tokio::test]
async fn the_authorization_code_flow_stores_a_sealed_grant_for_every_provider() {
    for flavor in [
        Flavor::Google,
        Flavor::Slack,
        Flavor::Notion,
        Flavor::Stripe,
    ] {
        for t in test_stores().await {
            let mock = MockOAuthProvider::start(flavor, CLIENT_ID, CLIENT_SECRET).await;
            let (_, keys) = keyring(&["k1"]);
            let vault = vault(t.store.clone(), &mock, keys);
            let flow = OAuthFlow::new(vault.clone());
            let name = flavor.provider_name();
            let start = flow
                .begin("alice", name, &["read".to_string()], REDIRECT)
                .await
                .expect("begin");
            let url = url::Url::parse(&start.authorization_url).expect("url");
            let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            assert_eq!(params["code_challenge_method"], "S256", "{name}");
            assert_eq!(params["state"], start.state);
            assert!(!params.values().any(|v| v.contains(CLIENT_SECRET)));

            let consent = mock.authorize(&start.authorization_url).expect("consent");
            let query = consent
                .redirect
                .split_once('?')
                .expect("query")
                .1
                .to_string();
            let info = flow.callback(&query).await.expect("callback");
            assert_eq!(info.provider, name);
            assert!(
                info.account.is_some(),
                "{name}: account label from the token response"
            );
            assert_eq!(mock.code_exchange_count(), 1);

            // The token is sealed at rest and opens for the host.
            let row = t
                .store
                .connections()
                .get(&info.id)
                .await
                .expect("get")
                .expect("row");
            let token = mock.current_access_token().expect("issued");
            assert!(
                !row.access_token.contains(&token),
                "{name}: token stored in the clear"
            );
            assert!(row.access_token.starts_with("v1.k1."));
            let opened = vault.access_token(&info.id).await.expect("token");
            assert_eq!(opened.expose(), token, "{name} on {}", t.label);

            // The state is single-use.
            assert!(
                matches!(flow.callback(&query).await, Err(FlowError::UnknownState)),
                "{name}: a replayed callback must be refused"
            );
            assert_eq!(mock.code_exchange_count(), 1);
            t.cleanup().await;
        }
    }
}

#[tokio::test]
async fn a_declined_or_forged_callback_is_refused() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let flow = OAuthFlow::new(vault(t.store.clone(), &mock, keys));
        let start = flow
            .begin("alice", "slack", &[], REDIRECT)
            .await
            .expect("begin");
        let declined = flow
            .callback(&format!("error=access_denied&state={}", start.state))
            .await;
        assert!(
            matches!(&declined, Err(FlowError::Denied { error, .. }) if error == "access_denied"),
            "{declined:?}"
        );
        // Declining used the state up.
        assert!(matches!(
            flow.complete(&start.state, "code").await,
            Err(FlowError::UnknownState)
        ));
        assert!(matches!(
            flow.callback("code=abc&state=forged").await,
            Err(FlowError::UnknownState)
        ));
        assert!(matches!(
            flow.callback("code=abc").await,
            Err(FlowError::Missing("state"))
        ));
        let bad = flow
            .begin("alice", "slack", &[], "http://evil.example/cb")
            .await;
        assert!(matches!(bad, Err(FlowError::BadRedirect(_))));
        assert_eq!(mock.code_exchange_count(), 0);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn racing_refreshes_across_store_handles_call_the_provider_once() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        // Long enough that every caller arrives while the refresh is in flight.
        mock.set_refresh_delay(Duration::from_millis(300));
        let (_, keys) = keyring(&["k1"]);
        let a = vault(t.store.clone(), &mock, keys.clone());
        let b = vault(t.reopen().await, &mock, keys);
        let (id, old) = seeded(&a, &mock, Some(now_ms() - 1_000)).await;

        let mut tasks = Vec::new();
        for i in 0..8 {
            let v = if i % 2 == 0 { a.clone() } else { b.clone() };
            let id = id.clone();
            tasks.push(tokio::spawn(async move { v.access_token(&id).await }));
        }
        let mut tokens = Vec::new();
        for task in tasks {
            tokens.push(
                task.await
                    .expect("joined")
                    .expect("token")
                    .expose()
                    .to_string(),
            );
        }
        assert_eq!(mock.refresh_count(), 1, "exactly one refresh ({})", t.label);
        assert!(
            tokens.iter().all(|tok| *tok == tokens[0]),
            "everyone got the new token"
        );
        assert_ne!(tokens[0], old);
        assert!(mock.is_valid_access_token(&tokens[0]));
        let row = t
            .store
            .connections()
            .get(&id)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(row.token_version, 2);
        assert!(row.expires_at.is_some_and(|at| at > now_ms()));
        assert_eq!(row.refresh_lease_owner, None, "the lease is released");
        // Fresh now: no further refresh.
        a.access_token(&id).await.expect("token");
        assert_eq!(mock.refresh_count(), 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_even_when_reported_twice() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Notion, CLIENT_ID, CLIENT_SECRET).await;
        mock.set_refresh_delay(Duration::from_millis(200));
        let (_, keys) = keyring(&["k1"]);
        let a = vault(t.store.clone(), &mock, keys.clone());
        let b = vault(t.reopen().await, &mock, keys);
        // Notion tokens carry no expiry: only a 401 reveals they are dead.
        let (id, old) = seeded(&a, &mock, None).await;
        let rejected = Secret::new(old.clone());
        let (x, y) = tokio::join!(
            a.token_rejected(&id, &rejected),
            b.token_rejected(&id, &rejected)
        );
        let x = x.expect("refreshed").expect("a new token");
        let y = y.expect("refreshed").expect("a new token");
        assert_eq!(x, y);
        assert_ne!(x.expose(), old);
        assert_eq!(mock.refresh_count(), 1, "{}", t.label);
        // Reporting the old token again after the refresh changes nothing.
        let z = a
            .token_rejected(&id, &rejected)
            .await
            .expect("ok")
            .expect("token");
        assert_eq!(z, x);
        assert_eq!(mock.refresh_count(), 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_refresh_needs_reauthorisation_and_stops_retrying() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Google, CLIENT_ID, CLIENT_SECRET).await;
        mock.fail_refresh_with(Some("invalid_grant"));
        let (_, keys) = keyring(&["k1"]);
        let v = vault(t.store.clone(), &mock, keys);
        let (id, _) = seeded(&v, &mock, Some(now_ms() - 1)).await;
        let err = v.access_token(&id).await.unwrap_err();
        assert!(
            matches!(&err, VaultError::NeedsReauth { reason, .. } if reason.contains("invalid_grant")),
            "{err}"
        );
        let summary = v.get(&id).await.expect("get").expect("exists");
        assert_eq!(summary.status, ConnectionStatus::NeedsReauth, "{}", t.label);
        assert!(
            summary
                .status_reason
                .is_some_and(|r| r.contains("invalid_grant"))
        );
        // Later executions get the same answer without hammering the provider.
        assert!(matches!(
            v.access_token(&id).await,
            Err(VaultError::NeedsReauth { .. })
        ));
        assert_eq!(mock.refresh_count(), 1, "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_unavailable_token_endpoint_keeps_a_still_valid_token() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        // Two-second tokens: the vault refreshes them in their second half.
        mock.expire_access_tokens_in(2);
        let (_, keys) = keyring(&["k1"]);
        let v = vault(t.store.clone(), &mock, keys);
        let (id, _) = seeded(&v, &mock, Some(now_ms() - 1)).await;
        let current = v.access_token(&id).await.expect("refreshed");
        assert_eq!(mock.refresh_count(), 1);
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        // Inside the refresh margin, not expired, and the endpoint is down:
        // the refresh is tried, and the still-valid token is used.
        mock.fail_refresh_with(Some("service_unavailable"));
        assert_eq!(v.access_token(&id).await.expect("token"), current);
        assert_eq!(mock.refresh_count(), 2, "{}", t.label);
        let summary = v.get(&id).await.expect("get").expect("exists");
        assert_eq!(
            summary.status,
            ConnectionStatus::Active,
            "a transient failure is not a revocation"
        );
        // Expired and the endpoint is down: a retryable error, still active.
        let (expired, _) = seeded(&v, &mock, Some(now_ms() - 1)).await;
        assert!(matches!(
            v.access_token(&expired).await,
            Err(VaultError::RefreshUnavailable { .. })
        ));
        let summary = v.get(&expired).await.expect("get").expect("exists");
        assert_eq!(summary.status, ConnectionStatus::Active);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn deleting_a_connection_erases_its_tokens() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Stripe, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let v = vault(t.store.clone(), &mock, keys);
        let (id, _) = seeded(&v, &mock, None).await;
        assert!(v.delete(&id).await.expect("delete"));
        assert!(t.store.connections().get(&id).await.expect("get").is_none());
        assert!(matches!(
            v.access_token(&id).await,
            Err(VaultError::NotFound(_))
        ));
        assert!(
            v.list("alice").await.expect("list").is_empty(),
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn rotating_the_key_reseals_every_token() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (old_spec, old_keys) = keyring(&["old"]);
        let v = vault(t.store.clone(), &mock, old_keys);
        let (id, token) = seeded(&v, &mock, None).await;
        let (new_spec, _) = keyring(&["new"]);
        let both = Arc::new(Keyring::parse(&format!("{new_spec},{old_spec}")).expect("valid"));
        let rotating = vault(t.store.clone(), &mock, both);
        assert_eq!(
            rotating.rotate_keys().await.expect("rotate"),
            1,
            "{}",
            t.label
        );
        assert_eq!(
            rotating.rotate_keys().await.expect("rotate"),
            0,
            "idempotent"
        );
        let only_new = vault(
            t.store.clone(),
            &mock,
            Arc::new(Keyring::parse(&new_spec).expect("valid")),
        );
        assert_eq!(
            only_new.access_token(&id).await.expect("opens").expose(),
            token
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn tokens_shorter_lived_than_the_refresh_margin_are_not_refreshed_on_every_use() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        // The provider hands out 30-second tokens; the vault's margin is a
        // minute by default, and an hour here.
        mock.expire_access_tokens_in(30);
        let (_, keys) = keyring(&["k1"]);
        let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
        let v = Vault::new(t.store.clone(), keys, providers(&mock), egress).with_settings(
            VaultSettings {
                refresh_skew: Duration::from_secs(3_600),
                ..VaultSettings::default()
            },
        );
        let (id, old) = seeded(&v, &mock, Some(now_ms() - 1)).await;
        let new = v.access_token(&id).await.expect("refreshed");
        assert_ne!(new.expose(), old);
        for _ in 0..3 {
            assert_eq!(v.access_token(&id).await.expect("token"), new);
        }
        assert_eq!(mock.refresh_count(), 1, "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_auth_expired_execution_refreshes_its_connections_once_for_the_retry() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let a = vault(t.store.clone(), &mock, keys.clone());
        let b = vault(t.reopen().await, &mock, keys);
        // Fresh by its expiry, yet the service answered `token_expired`
        // (Slack says so with HTTP 200, so only the plugin can tell).
        let (id, old) = seeded(&a, &mock, Some(now_ms() + 3_600_000)).await;
        let slack = BTreeMap::from([("slack".to_string(), vec!["chat:write".to_string()])]);
        let seen_by_a = a
            .connections_for("alice", &slack)
            .await
            .expect("connections");
        let seen_by_b = b
            .connections_for("alice", &slack)
            .await
            .expect("connections");
        let (x, y) = tokio::join!(
            a.after_auth_expired(&seen_by_a),
            b.after_auth_expired(&seen_by_b)
        );
        assert_eq!(x.expect("refreshed"), vec![id.clone()]);
        assert_eq!(y.expect("refreshed"), vec![id.clone()]);
        assert_eq!(
            mock.refresh_count(),
            1,
            "two failed executions, one refresh ({})",
            t.label
        );
        let new = a.access_token(&id).await.expect("token");
        assert_ne!(new.expose(), old);
        // The same report again (a stale execution) refreshes nothing.
        a.after_auth_expired(&seen_by_a).await.expect("no-op");
        assert_eq!(mock.refresh_count(), 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_connection_deleted_during_its_refresh_is_not_used() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        mock.set_refresh_delay(Duration::from_secs(1));
        let (_, keys) = keyring(&["k1"]);
        let v = vault(t.store.clone(), &mock, keys);
        let (id, _) = seeded(&v, &mock, Some(now_ms() - 1)).await;
        let refreshing = {
            let (v, id) = (v.clone(), id.clone());
            tokio::spawn(async move { v.access_token(&id).await })
        };
        // The provider has the refresh request (its answer is held): the
        // refresh is in flight.
        while mock.refresh_count() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(v.delete(&id).await.expect("delete"));
        let outcome = refreshing.await.expect("joined");
        assert!(
            matches!(outcome, Err(VaultError::NotFound(_))),
            "{}: {outcome:?}",
            t.label
        );
        assert!(t.store.connections().get(&id).await.expect("get").is_none());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn disconnecting_erases_the_tokens_and_revokes_the_grant_at_the_provider() {
    for flavor in [
        Flavor::Google,
        Flavor::Slack,
        Flavor::Stripe,
        Flavor::Notion,
    ] {
        for t in test_stores().await {
            let mock = MockOAuthProvider::start(flavor, CLIENT_ID, CLIENT_SECRET).await;
            let (_, keys) = keyring(&["k1"]);
            let v = vault(t.store.clone(), &mock, keys);
            let flow = OAuthFlow::new(v.clone());
            let name = flavor.provider_name();
            let start = flow
                .begin("alice", name, &[], REDIRECT)
                .await
                .expect("begin");
            let consent = mock.authorize(&start.authorization_url).expect("consent");
            let query = consent
                .redirect
                .split_once('?')
                .expect("query")
                .1
                .to_string();
            let info = flow.callback(&query).await.expect("connected");
            let token = mock.current_access_token().expect("issued");
            assert!(mock.is_valid_access_token(&token));

            let gone = v
                .disconnect(&info.id)
                .await
                .expect("disconnect")
                .expect("existed");
            assert!(
                t.store
                    .connections()
                    .get(&info.id)
                    .await
                    .expect("get")
                    .is_none(),
                "{name}"
            );
            if flavor == Flavor::Notion {
                assert_eq!(gone.at_provider, ProviderRevocation::NotSupported);
                assert_eq!(mock.revocation_count(), 0);
            } else {
                assert_eq!(gone.at_provider, ProviderRevocation::Revoked, "{name}");
                assert_eq!(mock.revocation_count(), 1, "{name}");
                assert!(
                    !mock.is_valid_access_token(&token),
                    "{name}: the grant is dead at the provider"
                );
            }
            assert_eq!(v.disconnect(&info.id).await.expect("again"), None);
            t.cleanup().await;
        }
    }
}

#[tokio::test]
async fn an_unreachable_provider_does_not_keep_tokens_alive_here() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Google, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let mut settings = BTreeMap::new();
        settings.insert(
            "google".to_string(),
            ProviderSettings {
                client_id: Some(CLIENT_ID.into()),
                client_secret: Some(CLIENT_SECRET.into()),
                // Nothing listens on port 9.
                revocation_url: Some("http://127.0.0.1:9/revoke".into()),
                ..Default::default()
            },
        );
        let providers = Arc::new(
            ProviderRegistry::builtin()
                .configure(&settings)
                .expect("valid"),
        );
        let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
        let v = Vault::new(t.store.clone(), keys, providers, egress);
        let (id, _) = seeded(&v, &mock, None).await;
        let gone = v
            .disconnect(&id)
            .await
            .expect("disconnect")
            .expect("existed");
        assert!(
            matches!(gone.at_provider, ProviderRevocation::Failed(_)),
            "{gone:?}"
        );
        assert!(t.store.connections().get(&id).await.expect("get").is_none());
        t.cleanup().await;
    }
}

/// `vault` with a lease of `lease` (the default timings otherwise).
fn vault_with_lease(
    store: Store,
    mock: &MockOAuthProvider,
    keys: Arc<Keyring>,
    lease: Duration,
) -> Arc<Vault> {
    let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
    Arc::new(
        Vault::new(store, keys, providers(mock), egress).with_settings(VaultSettings {
            lease,
            ..VaultSettings::default()
        }),
    )
}

#[tokio::test]
async fn changing_a_row_s_owner_or_provider_stops_its_token_opening() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let v = uncached_vault(t.store.clone(), &mock, keys);
        let (id, token) = seeded(&v, &mock, None).await;
        assert_eq!(v.access_token(&id).await.expect("opens").expose(), token);
        for (column, value, original) in [
            ("owner", "mallory", "alice"),
            ("provider", "google", "slack"),
        ] {
            let set = format!("UPDATE connections SET {column} = $1 WHERE id = $2");
            assert_eq!(t.tamper(&set, &[value, &id]).await, 1);
            let refused = v.access_token(&id).await;
            assert!(
                matches!(&refused, Err(VaultError::Keyring(_))),
                "{column} changed on {}: {refused:?}",
                t.label
            );
            assert_eq!(t.tamper(&set, &[original, &id]).await, 1);
            assert_eq!(v.access_token(&id).await.expect("opens").expose(), token);
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn id_only_seals_are_resealed_with_owner_and_provider_and_a_downgrade_does_not_open() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let v = uncached_vault(t.store.clone(), &mock, keys.clone());
        // Two rows as the previous version sealed them: associated data
        // naming the id only, `seal_binding` 1 (the migration's default).
        let mut legacy = Vec::new();
        for (id, token) in [("legacy-a", "xoxb-legacy-a"), ("legacy-b", "xoxb-legacy-b")] {
            let access = keys
                .seal(token, &format!("connection:{id}:access"))
                .expect("seal");
            let refresh = keys
                .seal("xoxe-refresh", &format!("connection:{id}:refresh"))
                .expect("seal");
            t.store
                .connections()
                .insert(&NewConnection {
                    id,
                    owner: "alice",
                    provider: "slack",
                    account: None,
                    scopes: &[],
                    access_token: &access,
                    refresh_token: Some(&refresh),
                    expires_at: None,
                    now: now_ms(),
                })
                .await
                .expect("insert");
            t.tamper(
                "UPDATE connections SET seal_binding = 1 WHERE id = $1",
                &[id],
            )
            .await;
            legacy.push((id, token));
        }
        // A row sealed with owner and provider whose column is lowered to
        // the id-only binding: it must not open with the id-only data.
        let (downgraded, _) = seeded(&v, &mock, None).await;
        t.tamper(
            "UPDATE connections SET seal_binding = 1 WHERE id = $1",
            &[&downgraded],
        )
        .await;

        // What a host does when it starts: the legacy row is re-sealed,
        // the downgraded one is left failing.
        assert_eq!(
            v.reseal_legacy_bindings().await.expect("resealed"),
            2,
            "{}",
            t.label
        );
        for (id, token) in &legacy {
            let row = t
                .store
                .connections()
                .get(id)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(row.seal_binding, 2);
            assert_eq!(v.access_token(id).await.expect("opens").expose(), *token);
        }
        assert!(matches!(
            v.access_token(&downgraded).await,
            Err(VaultError::Keyring(_))
        ));
        // Once re-sealed, the owner is bound.
        t.tamper(
            "UPDATE connections SET owner = 'mallory' WHERE id = $1",
            &[legacy[0].0],
        )
        .await;
        assert!(matches!(
            v.access_token(legacy[0].0).await,
            Err(VaultError::Keyring(_))
        ));
        assert_eq!(v.reseal_legacy_bindings().await.expect("again"), 0);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_legacy_row_is_resealed_at_first_use() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let v = uncached_vault(t.store.clone(), &mock, keys.clone());
        let access = keys
            .seal("xoxb-old", "connection:old-1:access")
            .expect("seal");
        t.store
            .connections()
            .insert(&NewConnection {
                id: "old-1",
                owner: "alice",
                provider: "slack",
                account: None,
                scopes: &[],
                access_token: &access,
                refresh_token: None,
                expires_at: None,
                now: now_ms(),
            })
            .await
            .expect("insert");
        t.tamper(
            "UPDATE connections SET seal_binding = 1 WHERE id = $1",
            &["old-1"],
        )
        .await;
        assert_eq!(
            v.access_token("old-1").await.expect("opens").expose(),
            "xoxb-old"
        );
        let row = t
            .store
            .connections()
            .get("old-1")
            .await
            .expect("get")
            .expect("row");
        assert_eq!(row.seal_binding, 2, "{}", t.label);
        t.tamper(
            "UPDATE connections SET provider = 'notion' WHERE id = $1",
            &["old-1"],
        )
        .await;
        assert!(matches!(
            v.access_token("old-1").await,
            Err(VaultError::Keyring(_))
        ));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn refresh_writes_are_fenced_per_attempt_not_per_process() {
    for t in test_stores().await {
        let c = t.store.connections();
        c.insert(&NewConnection {
            id: "c1",
            owner: "alice",
            provider: "slack",
            account: None,
            scopes: &[],
            access_token: "sealed-access",
            refresh_token: Some("sealed-refresh"),
            expires_at: Some(0),
            now: 0,
        })
        .await
        .expect("insert");
        // Two attempts of one process (same holder prefix), the first one
        // stalled past its lease.
        let a = Lease {
            token: "vault-1:attempt-a",
            token_version: 1,
        };
        let b = Lease {
            token: "vault-1:attempt-b",
            token_version: 1,
        };
        assert!(c.try_lease("c1", a, 100, 200).await.expect("lease"));
        assert!(!c.try_lease("c1", b, 150, 30_150).await.expect("held"));
        assert!(c.try_lease("c1", b, 300, 30_300).await.expect("lapsed"));
        // The stale attempt can neither give the lease back, nor kill the
        // grant, nor store tokens.
        assert!(!c.release_lease("c1", a).await.expect("release"));
        assert!(
            !c.mark_needs_reauth("c1", Fence::Lease(a), "invalid_grant", 400)
                .await
                .expect("mark"),
            "{}",
            t.label
        );
        let tokens = RefreshedTokens {
            access_token: "from-a",
            refresh_token: None,
            expires_at: None,
            now: 400,
        };
        assert!(!c.store_refreshed("c1", a, &tokens).await.expect("store"));
        let row = c.get("c1").await.expect("get").expect("row");
        assert_eq!(row.status, ConnectionStatus::Active);
        assert_eq!(row.refresh_lease_owner.as_deref(), Some(b.token));
        // The current attempt stores its tokens.
        let tokens = RefreshedTokens {
            access_token: "from-b",
            ..tokens
        };
        assert!(c.store_refreshed("c1", b, &tokens).await.expect("store"));
        // Nothing fenced by the version read before that refresh applies.
        assert!(
            !c.mark_needs_reauth("c1", Fence::Version(1), "expired", 500)
                .await
                .expect("mark")
        );
        assert!(
            !c.mark_needs_reauth("c1", Fence::Lease(b), "late", 500)
                .await
                .expect("mark")
        );
        let row = c.get("c1").await.expect("get").expect("row");
        assert_eq!(row.status, ConnectionStatus::Active, "{}", t.label);
        assert_eq!(row.access_token, "from-b");
        assert_eq!(row.token_version, 2);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_stale_refresher_cannot_mark_a_freshly_refreshed_connection_dead() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        // A's lease lapses while its refresh is in flight.
        let a = vault_with_lease(
            t.store.clone(),
            &mock,
            keys.clone(),
            Duration::from_millis(20),
        );
        let b = vault(t.reopen().await, &mock, keys);
        let (id, old) = seeded(&a, &mock, Some(now_ms() - 1_000)).await;
        // A's refresh is refused (say, a refresh token the provider already
        // rotated), and the refusal reaches A late.
        mock.fail_refresh_with(Some("invalid_grant"));
        mock.set_refresh_delay(Duration::from_secs(2));
        let stale = {
            let (a, id) = (a.clone(), id.clone());
            tokio::spawn(async move { a.access_token(&id).await })
        };
        while mock.refresh_count() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Meanwhile B takes the lapsed lease and refreshes successfully.
        mock.fail_refresh_with(None);
        mock.set_refresh_delay(Duration::ZERO);
        let fresh = b.access_token(&id).await.expect("B refreshed");
        assert_ne!(fresh.expose(), old);
        assert_eq!(mock.refresh_count(), 2);
        // A's refusal arrives after B stored its tokens: it changes nothing,
        // and A ends up with B's token.
        let a_got = stale.await.expect("joined");
        assert_eq!(
            a_got.expect("A uses the refreshed token").expose(),
            fresh.expose(),
            "{}",
            t.label
        );
        let summary = a.get(&id).await.expect("get").expect("exists");
        assert_eq!(summary.status, ConnectionStatus::Active, "{}", t.label);
        assert_eq!(b.access_token(&id).await.expect("usable"), fresh);
        assert_eq!(mock.refresh_count(), 2);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_html_403_404_or_408_from_the_token_endpoint_does_not_kill_the_grant() {
    for status in [403, 404, 408] {
        for t in test_stores().await {
            let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
            // A proxy in front of the token endpoint answering with its own page.
            let proxy = MockServer::start(move |_| {
                MockResponse::text(status, "<html><body><h1>Blocked</h1></body></html>")
                    .header("content-type", "text/html")
            })
            .await;
            let mut settings = BTreeMap::new();
            settings.insert(
                "slack".to_string(),
                ProviderSettings {
                    client_id: Some(CLIENT_ID.into()),
                    client_secret: Some(CLIENT_SECRET.into()),
                    token_url: Some(proxy.url("/token")),
                    ..Default::default()
                },
            );
            let providers = Arc::new(
                ProviderRegistry::builtin()
                    .configure(&settings)
                    .expect("valid"),
            );
            let (_, keys) = keyring(&["k1"]);
            let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
            let v = Vault::new(t.store.clone(), keys, providers, egress);
            let (id, _) = seeded(&v, &mock, Some(now_ms() - 1)).await;
            let outcome = v.access_token(&id).await;
            assert!(
                matches!(&outcome, Err(VaultError::RefreshUnavailable { reason, .. }) if reason.contains(&status.to_string())),
                "{status} on {}: {outcome:?}",
                t.label
            );
            let summary = v.get(&id).await.expect("get").expect("exists");
            assert_eq!(summary.status, ConnectionStatus::Active, "{status}");
            assert_eq!(proxy.request_count(), 1);
            t.cleanup().await;
        }
    }
}

#[tokio::test]
async fn a_connection_is_requested_with_only_its_installation_s_scopes() {
    const GMAIL: &str = "https://www.googleapis.com/auth/gmail.modify";
    const CALENDAR: &str = "https://www.googleapis.com/auth/calendar.readonly";
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Google, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let v = vault(t.store.clone(), &mock, keys);
        let flow = OAuthFlow::new(v.clone());
        let mut connected = Vec::new();
        // The user connects Google for a Gmail installation, then for a
        // calendar installation.
        for scope in [GMAIL, CALENDAR] {
            let start = flow
                .begin("alice", "google", &[scope.to_string()], REDIRECT)
                .await
                .expect("begin");
            let url = url::Url::parse(&start.authorization_url).expect("url");
            let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            assert_eq!(params["scope"], format!("openid email {scope}"));
            assert!(
                !params.contains_key("include_granted_scopes"),
                "{}",
                start.authorization_url
            );
            let consent = mock.authorize(&start.authorization_url).expect("consent");
            let query = consent
                .redirect
                .split_once('?')
                .expect("query")
                .1
                .to_string();
            connected.push(flow.callback(&query).await.expect("connected"));
        }
        // The calendar grant carries no Gmail scope (the provider was not
        // asked to add earlier grants' scopes).
        assert!(
            !connected[1].scopes.iter().any(|s| s == GMAIL),
            "{:?}",
            connected[1].scopes
        );
        for (approved, expected) in [(CALENDAR, &connected[1]), (GMAIL, &connected[0])] {
            let installation = BTreeMap::from([("google".to_string(), vec![approved.to_string()])]);
            let given = v
                .connections_for("alice", &installation)
                .await
                .expect("connections")
                .get("google")
                .expect("a connection within the approval");
            assert_eq!(given.id, expected.id, "{approved} on {}", t.label);
        }
        // An installation approved for neither gets neither.
        let drive = BTreeMap::from([(
            "google".to_string(),
            vec!["https://www.googleapis.com/auth/drive.readonly".to_string()],
        )]);
        let refused = v
            .connections_for("alice", &drive)
            .await
            .expect("connections")
            .get("google")
            .expect_err("no connection within the approval");
        assert!(refused.to_string().contains("not approved"), "{refused}");
        t.cleanup().await;
    }
}

/// The token cache's bound in the tests below.
const CACHE_BOUND: Duration = Duration::from_secs(1);

/// A clock for the token cache that moves only when a test moves it.
#[derive(Debug, Default)]
struct ManualClock(std::sync::atomic::AtomicU64);

impl ManualClock {
    fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).expect("a short step");
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl CacheClock for ManualClock {
    fn elapsed(&self) -> Duration {
        Duration::from_millis(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// `vault` with a token cache of [`CACHE_BOUND`] aged by a clock the test
/// moves: one process's vault.
fn cached_vault(
    store: Store,
    mock: &MockOAuthProvider,
    keys: Arc<Keyring>,
) -> (Arc<Vault>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
    let vault = Vault::new(store, keys, providers(mock), egress)
        .with_settings(VaultSettings {
            token_cache: CACHE_BOUND,
            ..VaultSettings::default()
        })
        .with_cache_clock(clock.clone());
    (Arc::new(vault), clock)
}

/// The slack scopes `seeded` grants, as an installation's approval.
fn slack_approval() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([("slack".to_string(), vec!["chat:write".to_string()])])
}

#[tokio::test]
async fn a_cached_token_is_served_without_the_store_until_the_bound_passes() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let (a, clock) = cached_vault(t.store.clone(), &mock, keys.clone());
        // Another process, on its own pool.
        let b = vault(t.reopen().await, &mock, keys);
        let (id, old) = seeded(&a, &mock, None).await;
        assert_eq!(a.access_token(&id).await.expect("read").expose(), old);

        // A row that no longer opens: a read of the store would fail.
        let owner = "UPDATE connections SET owner = $1 WHERE id = $2";
        assert_eq!(t.tamper(owner, &["mallory", &id]).await, 1);
        assert_eq!(
            a.access_token(&id).await.expect("cached").expose(),
            old,
            "{}: the cached token is served without reading the row",
            t.label
        );
        assert_eq!(t.tamper(owner, &["alice", &id]).await, 1);

        // The other process refreshes: within the bound, A still serves
        // what it read; once the bound has passed, the new token.
        let new = b
            .token_rejected(&id, &Secret::new(old.clone()))
            .await
            .expect("refreshed")
            .expect("a new token");
        assert_ne!(new.expose(), old);
        clock.advance(CACHE_BOUND - Duration::from_millis(1));
        assert_eq!(a.access_token(&id).await.expect("cached").expose(), old);
        clock.advance(Duration::from_millis(1));
        assert_eq!(
            a.access_token(&id).await.expect("read again"),
            new,
            "{}",
            t.label
        );
        assert_eq!(mock.refresh_count(), 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_connections_an_execution_gets_follow_other_processes_within_the_bound() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let (a, clock) = cached_vault(t.store.clone(), &mock, keys.clone());
        let (b, _) = cached_vault(t.reopen().await, &mock, keys);
        let chosen = |connections: ExecutionConnections| {
            connections
                .connected()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
        };

        let (first, _) = seeded(&a, &mock, None).await;
        let listed = a.connections_for("alice", &slack_approval()).await;
        assert_eq!(chosen(listed.expect("listed")), [first.as_str()]);

        // A newer connection made by the other process: chosen here once
        // the bound has passed, not before.
        let (second, _) = seeded(&b, &mock, None).await;
        let listed = a.connections_for("alice", &slack_approval()).await;
        assert_eq!(
            chosen(listed.expect("listed")),
            [first.as_str()],
            "{}",
            t.label
        );
        clock.advance(CACHE_BOUND);
        let listed = a.connections_for("alice", &slack_approval()).await;
        assert_eq!(
            chosen(listed.expect("listed")),
            [second.as_str()],
            "{}",
            t.label
        );

        // Disconnected by the other process: the same bound.
        assert!(b.disconnect(&second).await.expect("disconnect").is_some());
        let listed = a.connections_for("alice", &slack_approval()).await;
        assert_eq!(
            chosen(listed.expect("listed")),
            [second.as_str()],
            "{}",
            t.label
        );
        clock.advance(CACHE_BOUND);
        let listed = a.connections_for("alice", &slack_approval()).await;
        assert_eq!(
            chosen(listed.expect("listed")),
            [first.as_str()],
            "{}",
            t.label
        );

        // Made or disconnected by this process: seen at once, the clock unmoved.
        let (third, _) = seeded(&a, &mock, None).await;
        let listed = a.connections_for("alice", &slack_approval()).await;
        assert_eq!(
            chosen(listed.expect("listed")),
            [third.as_str()],
            "{}",
            t.label
        );
        assert!(a.disconnect(&third).await.expect("disconnect").is_some());
        let listed = a.connections_for("alice", &slack_approval()).await;
        assert_eq!(
            chosen(listed.expect("listed")),
            [first.as_str()],
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn another_process_s_disconnect_is_seen_within_the_bound_and_this_one_s_at_once() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let (a, clock) = cached_vault(t.store.clone(), &mock, keys.clone());
        let (b, _) = cached_vault(t.reopen().await, &mock, keys);

        // Disconnected by the other process: served until the bound, then gone.
        let (id, token) = seeded(&a, &mock, None).await;
        assert_eq!(a.access_token(&id).await.expect("read").expose(), token);
        assert!(b.disconnect(&id).await.expect("disconnect").is_some());
        assert_eq!(
            a.access_token(&id)
                .await
                .expect("within the bound")
                .expose(),
            token
        );
        clock.advance(CACHE_BOUND);
        let after = a.access_token(&id).await;
        assert!(
            matches!(after, Err(VaultError::NotFound(_))),
            "{}: {after:?}",
            t.label
        );

        // Marked as needing re-authorisation by the other process: the same.
        let (id, token) = seeded(&a, &mock, None).await;
        assert_eq!(a.access_token(&id).await.expect("read").expose(), token);
        mock.fail_refresh_with(Some("invalid_grant"));
        let refused = b.token_rejected(&id, &Secret::new(token.clone())).await;
        assert!(
            matches!(refused, Err(VaultError::NeedsReauth { .. })),
            "{refused:?}"
        );
        mock.fail_refresh_with(None);
        assert_eq!(
            a.access_token(&id)
                .await
                .expect("within the bound")
                .expose(),
            token
        );
        clock.advance(CACHE_BOUND);
        let after = a.access_token(&id).await;
        assert!(
            matches!(after, Err(VaultError::NeedsReauth { .. })),
            "{}: {after:?}",
            t.label
        );

        // Disconnected or deleted by this process: gone at once, the clock unmoved.
        let (disconnected, _) = seeded(&a, &mock, None).await;
        let (deleted, _) = seeded(&a, &mock, None).await;
        a.access_token(&disconnected).await.expect("read");
        a.access_token(&deleted).await.expect("read");
        assert!(a.disconnect(&disconnected).await.expect("ok").is_some());
        assert!(a.delete(&deleted).await.expect("ok"));
        for id in [&disconnected, &deleted] {
            let after = a.access_token(id).await;
            assert!(
                matches!(after, Err(VaultError::NotFound(_))),
                "{}: {after:?}",
                t.label
            );
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_refreshed_token_replaces_the_old_one_here_at_once_and_elsewhere_within_the_bound() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let (a, _) = cached_vault(t.store.clone(), &mock, keys.clone());
        let (b, b_clock) = cached_vault(t.reopen().await, &mock, keys);
        let (id, v1) = seeded(&a, &mock, None).await;
        assert_eq!(a.access_token(&id).await.expect("read").expose(), v1);
        assert_eq!(b.access_token(&id).await.expect("read").expose(), v1);

        // A refreshes (version 2): A never serves version 1 again; B does
        // until its bound passes.
        let v2 = a
            .token_rejected(&id, &Secret::new(v1.clone()))
            .await
            .expect("refreshed")
            .expect("a new token");
        assert_ne!(v2.expose(), v1);
        assert_eq!(a.access_token(&id).await.expect("token"), v2, "{}", t.label);
        assert_eq!(b.access_token(&id).await.expect("cached").expose(), v1);
        b_clock.advance(CACHE_BOUND);
        assert_eq!(b.access_token(&id).await.expect("token"), v2, "{}", t.label);

        // A refreshes again (version 3). Once B looks the connection up
        // for an execution and sees version 3, it never serves version 2,
        // whatever its bound says.
        let v3 = a
            .token_rejected(&id, &v2)
            .await
            .expect("refreshed")
            .expect("a new token");
        assert_ne!(v3, v2);
        assert_eq!(b.access_token(&id).await.expect("cached"), v2);
        let seen_by_b = b
            .connections_for("alice", &slack_approval())
            .await
            .expect("connections");
        assert_eq!(b.access_token(&id).await.expect("token"), v3, "{}", t.label);

        // A refreshes once more (version 4) while B's execution, which saw
        // version 3, fails with `auth-expired`: B's retry gets version 4
        // without refreshing again, the clock unmoved.
        let v4 = a
            .token_rejected(&id, &v3)
            .await
            .expect("refreshed")
            .expect("a new token");
        assert_eq!(b.access_token(&id).await.expect("cached"), v3);
        assert_eq!(
            b.after_auth_expired(&seen_by_b).await.expect("renewed"),
            vec![id.clone()]
        );
        assert_eq!(b.access_token(&id).await.expect("token"), v4, "{}", t.label);
        assert_eq!(mock.refresh_count(), 3);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_rejected_token_is_never_served_from_the_cache() {
    for t in test_stores().await {
        let mock = MockOAuthProvider::start(Flavor::Slack, CLIENT_ID, CLIENT_SECRET).await;
        let (_, keys) = keyring(&["k1"]);
        let (a, _) = cached_vault(t.store.clone(), &mock, keys);

        // With a refresh token: the replacement is served from then on.
        let (id, old) = seeded(&a, &mock, None).await;
        assert_eq!(a.access_token(&id).await.expect("read").expose(), old);
        let new = a
            .token_rejected(&id, &Secret::new(old.clone()))
            .await
            .expect("refreshed")
            .expect("a new token");
        assert_ne!(new.expose(), old);
        assert_eq!(
            a.access_token(&id).await.expect("token"),
            new,
            "{}",
            t.label
        );

        // Without one: nothing replaces the token, and it is read from the
        // store (shown by a row that does not open) rather than cached again.
        let info = a
            .save(
                "alice",
                "slack",
                &[],
                &TokenSet {
                    access_token: Secret::new("xoxb-pasted"),
                    refresh_token: None,
                    expires_at: None,
                    scopes: None,
                    account: None,
                },
            )
            .await
            .expect("saved");
        let pasted = a.access_token(&info.id).await.expect("read");
        assert_eq!(
            a.token_rejected(&info.id, &pasted).await.expect("answered"),
            None
        );
        let owner = "UPDATE connections SET owner = $1 WHERE id = $2";
        for _ in 0..2 {
            assert_eq!(t.tamper(owner, &["mallory", &info.id]).await, 1);
            let read = a.access_token(&info.id).await;
            assert!(
                matches!(read, Err(VaultError::Keyring(_))),
                "{}: {read:?}",
                t.label
            );
            assert_eq!(t.tamper(owner, &["alice", &info.id]).await, 1);
            assert_eq!(a.access_token(&info.id).await.expect("read"), pasted);
        }
        t.cleanup().await;
    }
}
