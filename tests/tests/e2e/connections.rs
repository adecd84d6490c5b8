//! The capability brokers end to end: real components in the sandbox
//! reaching local stand-ins for Slack and Notion over TLS through the
//! production egress broker, with tokens from the vault on SQLite and
//! PostgreSQL. The stand-ins are reached only through explicit overrides
//! (`slack.com:443 -> 127.0.0.1:PORT`) and a test CA added to the roots.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use workway_capabilities::secret::Secret;
use workway_capabilities::{Capabilities, ConnectionBroker as _};
use workway_egress::{Egress, EgressConfig};
use workway_mocks::{Flavor, MockOAuthProvider, MockResponse, MockServer, TestCa};
use workway_registry::hosts::HostPattern;
use workway_report::{ExecutionReport, IntegrationError, Outcome};
use workway_runtime::{ExecutionRequest, Limits};
use workway_store::Store;
use workway_store::clock::now_ms;
use workway_store::testing::test_stores;
use workway_vault::oauth::providers::{ProviderRegistry, ProviderSettings};
use workway_vault::oauth::token::TokenSet;
use workway_vault::{Keyring, Vault};

use crate::support::{data, host_error, runtime, well_behaved};

const CLIENT_ID: &str = "workway-client";
const CLIENT_SECRET: &str = "workway-client-secret";

/// The outside world for one test: an OAuth provider, an API server
/// standing in for its API hosts and for a second, non-provider host, and
/// the CA that signed the API server's certificate.
struct World {
    oauth: MockOAuthProvider,
    api: MockServer,
    ca_pem: std::path::PathBuf,
    _dir: tempfile::TempDir,
    keys: Arc<Keyring>,
}

/// The API answers `{"ok": true, "saw": <authorization header or null>}`
/// for the non-provider host and Google's API hosts, and for the other
/// providers' hosts `{"ok": true}` when the provider would accept the
/// request and the provider's own authentication failure otherwise.
async fn world(flavor: Flavor) -> World {
    let oauth = MockOAuthProvider::start(flavor, CLIENT_ID, CLIENT_SECRET).await;
    let checker = oauth.token_checker();
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_pem = ca.write_pem(dir.path());
    let api = MockServer::start_tls(
        move |req| {
            let host = req.header("host").unwrap_or_default().to_string();
            if host.starts_with("api.example.test") || host.ends_with("googleapis.com") {
                return MockResponse::json(
                    200,
                    serde_json::json!({"ok": true, "saw": req.header("authorization")}),
                );
            }
            if req.path == "/big" {
                return MockResponse::bytes(200, vec![b'x'; 2 << 20]);
            }
            match checker.check(req) {
                Ok(()) => MockResponse::json(200, serde_json::json!({"ok": true})),
                Err(denied) => denied,
            }
        },
        ca.server_config(&[
            "slack.com",
            "api.notion.com",
            "api.example.test",
            "www.googleapis.com",
            "gmail.googleapis.com",
        ]),
    )
    .await;
    let entry = Keyring::generate_entry("k1").expect("random");
    World {
        oauth,
        api,
        ca_pem,
        _dir: dir,
        keys: Arc::new(Keyring::parse(&entry).expect("valid")),
    }
}

impl World {
    /// One host's egress broker and vault over `store`.
    fn host(&self, store: Store) -> (Arc<Egress>, Arc<Vault>) {
        let port = self.api.port();
        let config = EgressConfig {
            overrides: vec![
                format!("slack.com:443=127.0.0.1:{port}"),
                format!("api.notion.com:443=127.0.0.1:{port}"),
                format!("api.example.test:443=127.0.0.1:{port}"),
                format!("www.googleapis.com:443=127.0.0.1:{port}"),
                format!("gmail.googleapis.com:443=127.0.0.1:{port}"),
            ],
            extra_root_certificates: vec![self.ca_pem.clone()],
            ..EgressConfig::default()
        };
        let mut settings = BTreeMap::new();
        settings.insert(
            self.oauth.flavor().provider_name().to_string(),
            ProviderSettings {
                client_id: Some(CLIENT_ID.into()),
                client_secret: Some(CLIENT_SECRET.into()),
                token_url: Some(self.oauth.token_url()),
                ..Default::default()
            },
        );
        let providers = Arc::new(
            ProviderRegistry::builtin()
                .configure(&settings)
                .expect("valid settings"),
        );
        // The vault reaches the token endpoint with a plain egress (it is
        // operator configuration); plugins use the one with credentials.
        let platform = Arc::new(Egress::new(config.clone()).expect("egress"));
        let vault = Arc::new(Vault::new(store, self.keys.clone(), providers, platform));
        let egress = Arc::new(
            Egress::new(config)
                .expect("egress")
                .with_credentials(vault.clone()),
        );
        (egress, vault)
    }

    /// A grant the provider knows, stored for alice with the scopes the
    /// first-party integrations ask the provider for.
    async fn connect(&self, vault: &Vault, expires_at: Option<i64>) -> (String, String) {
        let grant = self.oauth.seed_grant();
        let provider = self.oauth.flavor().provider_name();
        let info = vault
            .save(
                "alice",
                provider,
                &workway_fixtures::first_party_scopes(provider),
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
}

fn approved(patterns: &[&str]) -> Vec<HostPattern> {
    patterns
        .iter()
        .map(|p| p.parse().expect("valid pattern"))
        .collect()
}

/// Capabilities of one execution of alice's installation, approved for
/// `provider` with the scopes the first-party integrations ask it for (the
/// ones [`World::connect`] records).
async fn capabilities(
    egress: &Arc<Egress>,
    vault: &Vault,
    provider: &str,
    hosts: &[&str],
) -> Capabilities {
    let scopes = BTreeMap::from([(
        provider.to_string(),
        workway_fixtures::first_party_scopes(provider),
    )]);
    let connections = vault
        .connections_for("alice", &scopes)
        .await
        .expect("connections");
    Capabilities {
        http: Arc::new(egress.broker(approved(hosts))),
        connections: Arc::new(connections),
        ..Capabilities::none()
    }
}

async fn fetch(
    input: serde_json::Value,
    capabilities: Capabilities,
    limits: Option<Limits>,
) -> ExecutionReport {
    let component = well_behaved().await;
    runtime()
        .execute(
            &component,
            ExecutionRequest {
                action: "fetch".into(),
                input: input.to_string(),
                capabilities,
                limits,
                ..Default::default()
            },
        )
        .await
}

fn body(report: &ExecutionReport) -> serde_json::Value {
    let d = data(report);
    assert_eq!(d["status"], 200, "{d}");
    serde_json::from_str(d["body"].as_str().expect("text body")).expect("JSON body")
}

#[tokio::test]
async fn two_hosts_racing_on_an_expired_connection_refresh_once_and_both_succeed() {
    for t in test_stores().await {
        let w = world(Flavor::Slack).await;
        w.oauth.set_refresh_delay(Duration::from_millis(300));
        // Two hosts: separate pools on the same database, separate brokers.
        let (egress_a, vault_a) = w.host(t.store.clone());
        let (egress_b, vault_b) = w.host(t.reopen().await);
        let (_, old) = w.connect(&vault_a, Some(now_ms() - 1_000)).await;
        let input =
            serde_json::json!({"url": "https://slack.com/api/auth.test", "connection": "slack"});
        let hosts = ["https://slack.com"];
        let caps_a = capabilities(&egress_a, &vault_a, "slack", &hosts).await;
        let caps_b = capabilities(&egress_b, &vault_b, "slack", &hosts).await;
        let (a, b) = tokio::join!(
            fetch(input.clone(), caps_a, None),
            fetch(input.clone(), caps_b, None)
        );
        assert_eq!(body(&a)["ok"], true, "{}", t.label);
        assert_eq!(body(&b)["ok"], true, "{}", t.label);
        assert_eq!(
            w.oauth.refresh_count(),
            1,
            "exactly one refresh ({})",
            t.label
        );
        let new = w.oauth.current_access_token().expect("refreshed");
        assert_ne!(new, old);
        let seen: Vec<String> = w
            .api
            .requests()
            .iter()
            .filter_map(|r| r.header("authorization").map(str::to_string))
            .collect();
        assert_eq!(
            seen,
            vec![format!("Bearer {new}"); 2],
            "both executions used the new token"
        );
        assert_eq!(a.http_requests, 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_token_is_attached_only_for_the_provider_s_hosts() {
    for t in test_stores().await {
        let w = world(Flavor::Slack).await;
        let (egress, vault) = w.host(t.store.clone());
        let (_, token) = w.connect(&vault, None).await;
        let hosts = ["https://slack.com", "https://api.example.test"];

        let ok = fetch(
            serde_json::json!({"url": "https://slack.com/api/auth.test", "connection": "slack"}),
            capabilities(&egress, &vault, "slack", &hosts).await,
            None,
        )
        .await;
        assert_eq!(body(&ok)["ok"], true);
        assert_eq!(
            w.api.requests()[0].header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );

        // An approved host that is not Slack's: the Slack connection may not go there.
        let denied = fetch(
            serde_json::json!({"url": "https://api.example.test/collect", "connection": "slack"}),
            capabilities(&egress, &vault, "slack", &hosts).await,
            None,
        )
        .await;
        let error = host_error(&denied).to_string();
        assert!(error.starts_with("capability-denied"), "{error}");
        assert!(
            error.contains("slack") && error.contains("api.example.test"),
            "{error}"
        );
        assert_eq!(w.api.request_count(), 1, "the denied request never left");

        // The same host without the connection: allowed, and no credentials.
        let plain = fetch(
            serde_json::json!({"url": "https://api.example.test/collect"}),
            capabilities(&egress, &vault, "slack", &hosts).await,
            None,
        )
        .await;
        assert_eq!(body(&plain)["saw"], serde_json::Value::Null);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_401_refreshes_and_retries_once_inside_the_broker() {
    for t in test_stores().await {
        let w = world(Flavor::Notion).await;
        let (egress, vault) = w.host(t.store.clone());
        let (_, old) = w.connect(&vault, None).await;
        // The provider revoked the access token behind our back (Notion's
        // tokens carry no expiry, so only the 401 tells).
        w.oauth.expire_current_access_tokens();
        let report = fetch(
            serde_json::json!({"url": "https://api.notion.com/v1/users/me", "connection": "notion"}),
            capabilities(&egress, &vault, "notion", &["https://api.notion.com"]).await,
            None,
        )
        .await;
        assert_eq!(body(&report)["ok"], true, "{}", t.label);
        assert_eq!(w.oauth.refresh_count(), 1);
        let auth: Vec<String> = w
            .api
            .requests()
            .iter()
            .filter_map(|r| r.header("authorization").map(str::to_string))
            .collect();
        assert_eq!(auth.len(), 2, "the first try, then one retry");
        assert_eq!(auth[0], format!("Bearer {old}"));
        assert_ne!(auth[1], auth[0]);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_refresh_ends_the_execution_with_auth_expired() {
    for t in test_stores().await {
        let w = world(Flavor::Slack).await;
        w.oauth.fail_refresh_with(Some("invalid_refresh_token"));
        let (egress, vault) = w.host(t.store.clone());
        w.connect(&vault, Some(now_ms() - 1)).await;
        let input =
            serde_json::json!({"url": "https://slack.com/api/auth.test", "connection": "slack"});
        for _ in 0..2 {
            let report = fetch(
                input.clone(),
                capabilities(&egress, &vault, "slack", &["https://slack.com"]).await,
                None,
            )
            .await;
            match &report.outcome {
                Outcome::IntegrationError {
                    error: IntegrationError::AuthExpired { message },
                } => {
                    assert!(message.contains("re-authorisation"), "{message}");
                    assert!(message.contains("invalid_refresh_token"), "{message}");
                }
                other => panic!("expected auth-expired, got {other:?}"),
            }
        }
        assert_eq!(
            w.oauth.refresh_count(),
            1,
            "the second execution did not retry the refresh ({})",
            t.label
        );
        assert_eq!(
            w.api.request_count(),
            0,
            "no request left with a dead token"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn oversized_responses_and_too_many_requests_are_cut_off() {
    for t in test_stores().await {
        let w = world(Flavor::Slack).await;
        let (egress, vault) = w.host(t.store.clone());
        let hosts = ["https://slack.com", "https://api.example.test"];
        let limits = Limits {
            http_requests: 2,
            http_response_bytes: 1 << 20,
            ..Limits::default()
        };
        let big = fetch(
            serde_json::json!({"url": "https://slack.com/big"}),
            capabilities(&egress, &vault, "slack", &hosts).await,
            Some(limits.clone()),
        )
        .await;
        let Outcome::IntegrationError { error } = &big.outcome else {
            panic!("expected the plugin's error, got {:?}", big.outcome)
        };
        assert!(error.to_string().contains("1048576"), "{error}");
        assert!(
            big.bytes_in < 1 << 20,
            "the body was not kept: {}",
            big.bytes_in
        );

        let many = fetch(
            serde_json::json!({"url": "https://api.example.test/x", "times": 3}),
            capabilities(&egress, &vault, "slack", &hosts).await,
            Some(limits),
        )
        .await;
        let Outcome::IntegrationError { error } = &many.outcome else {
            panic!("expected the plugin's error, got {:?}", many.outcome)
        };
        assert!(error.to_string().contains("2 requests"), "{error}");
        assert_eq!(many.http_requests, 2);
        t.cleanup().await;
    }
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_never_appear_in_logs_reports_or_errors() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    for t in test_stores().await {
        let w = world(Flavor::Slack).await;
        let (egress, vault) = w.host(t.store.clone());
        let (_, first) = w.connect(&vault, Some(now_ms() - 1)).await;
        let mut tokens = vec![first];
        tokens.extend(w.oauth.current_refresh_token());
        let hosts = ["https://slack.com", "https://api.example.test"];
        let mut evidence = Vec::new();
        // A refresh and a successful call, a denied call, then a refused refresh.
        for (input, fail) in [
            (
                serde_json::json!({"url": "https://slack.com/api/auth.test", "connection": "slack"}),
                false,
            ),
            (
                serde_json::json!({"url": "https://api.example.test/x", "connection": "slack"}),
                false,
            ),
            (
                serde_json::json!({"url": "https://slack.com/api/auth.test", "connection": "slack"}),
                true,
            ),
        ] {
            if fail {
                // A second, expired grant whose refresh the provider refuses.
                w.oauth.fail_refresh_with(Some("invalid_grant"));
                let (_, access) = w.connect(&vault, Some(now_ms() - 1)).await;
                tokens.push(access);
                tokens.extend(w.oauth.current_refresh_token());
            }
            let report = fetch(
                input,
                capabilities(&egress, &vault, "slack", &hosts).await,
                None,
            )
            .await;
            tokens.extend(w.oauth.current_access_token());
            tokens.extend(w.oauth.current_refresh_token());
            evidence.push(serde_json::to_string(&report).expect("report JSON"));
            evidence.push(format!("{report:?}"));
        }
        evidence.push(format!("{vault:?}"));
        evidence.push(format!("{:?}", vault.list("alice").await.expect("list")));
        let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(
            logs.contains("refreshing connection"),
            "the capture works: {logs}"
        );
        evidence.push(logs);
        let _ = std::io::stderr().flush();
        tokens.sort();
        tokens.dedup();
        assert!(tokens.len() >= 3, "{tokens:?}");
        for token in &tokens {
            for text in &evidence {
                assert!(
                    !text.contains(token.as_str()),
                    "a token leaked into: {text}"
                );
            }
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_installation_reaches_only_its_approved_hosts_with_its_owner_s_connections() {
    for t in test_stores().await {
        let w = world(Flavor::Slack).await;
        let (egress, vault) = w.host(t.store.clone());
        w.connect(&vault, None).await;
        let text = r#"
        name = "well-behaved"
        version = "0.1.0"
        publisher = "workway"
        description = "Test plugin."

        [actions.fetch]
        description = "Send a request."

        [oauth.slack]
        scopes = ["chat:write", "channels:read", "groups:read"]

        [http]
        hosts = ["https://slack.com"]
        "#;
        let manifest = workway_registry::Manifest::from_toml(text).expect("valid manifest");
        // What the host takes from the verified approval.
        let approved = workway_registry::ApprovalClaims::new(
            &manifest,
            text,
            workway_registry::Digest::of(b"component"),
            "0.1.0",
            "rita",
            0,
        );
        let installed = workway_engine::capabilities::capabilities_for(
            &egress,
            &vault,
            &approved,
            "alice",
            BTreeMap::new(),
        )
        .await
        .expect("capabilities");
        let ok = fetch(
            serde_json::json!({"url": "https://slack.com/api/auth.test", "connection": "slack"}),
            installed.capabilities.clone(),
            None,
        )
        .await;
        assert_eq!(body(&ok)["ok"], true);
        let elsewhere = fetch(
            serde_json::json!({"url": "https://api.example.test/x"}),
            installed.capabilities.clone(),
            None,
        )
        .await;
        let error = host_error(&elsewhere).to_string();
        assert!(
            error.contains("approved hosts (https://slack.com)"),
            "{error}"
        );

        // Another user's installation has no Slack connection.
        let bob = workway_engine::capabilities::capabilities_for(
            &egress,
            &vault,
            &approved,
            "bob",
            BTreeMap::new(),
        )
        .await
        .expect("capabilities");
        let unconnected = fetch(
            serde_json::json!({"url": "https://slack.com/api/auth.test", "connection": "slack"}),
            bob.capabilities,
            None,
        )
        .await;
        assert!(!unconnected.outcome.is_ok(), "{:?}", unconnected.outcome);
        assert_eq!(w.api.request_count(), 1);
        t.cleanup().await;
    }
}

const GMAIL_SCOPE: &str = "https://www.googleapis.com/auth/gmail.modify";
const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";

/// The claims a reviewer signs for the well-behaved plugin approved for
/// Google with `scope`, reaching Google's API hosts.
fn google_approval(scope: &str) -> workway_registry::ApprovalClaims {
    let text = format!(
        r#"
        name = "well-behaved"
        version = "0.1.0"
        publisher = "workway"
        description = "Test plugin."

        [actions.fetch]
        description = "Send a request."

        [oauth.google]
        scopes = ["{scope}"]

        [http]
        hosts = ["https://www.googleapis.com", "https://gmail.googleapis.com"]
        "#
    );
    let manifest = workway_registry::Manifest::from_toml(&text).expect("valid manifest");
    workway_registry::ApprovalClaims::new(
        &manifest,
        &text,
        workway_registry::Digest::of(b"component"),
        "0.1.0",
        "rita",
        0,
    )
}

#[tokio::test]
async fn a_calendar_only_installation_s_gmail_call_leaves_without_a_token() {
    for t in test_stores().await {
        let w = world(Flavor::Google).await;
        let (egress, vault) = w.host(t.store.clone());
        // Alice connected Google for her Gmail installation: the grant
        // covers Gmail (and her identity).
        let grant = w.oauth.seed_grant();
        vault
            .save(
                "alice",
                "google",
                &[],
                &TokenSet {
                    access_token: Secret::new(grant.access_token.clone()),
                    refresh_token: Some(Secret::new(grant.refresh_token)),
                    expires_at: None,
                    scopes: Some(vec![
                        "openid".into(),
                        "email".into(),
                        GMAIL_SCOPE.to_string(),
                    ]),
                    account: Some("alice@example.com".into()),
                },
            )
            .await
            .expect("saved");
        let gmail_api = "https://www.googleapis.com/gmail/v1/users/me/messages";

        // A plugin approved for a read-only calendar scope asks for the
        // Google connection to call Gmail: it gets none.
        let calendar = workway_engine::capabilities::capabilities_for(
            &egress,
            &vault,
            &google_approval(CALENDAR_SCOPE),
            "alice",
            BTreeMap::new(),
        )
        .await
        .expect("capabilities");
        let refused = fetch(
            serde_json::json!({"url": gmail_api, "connection": "google"}),
            calendar.capabilities.clone(),
            None,
        )
        .await;
        let outcome = format!("{:?}", refused.outcome);
        assert!(!refused.outcome.is_ok(), "{outcome}");
        assert!(
            outcome.contains("not approved") && outcome.contains(GMAIL_SCOPE),
            "{} : {outcome}",
            t.label
        );
        // The same call without a handle leaves, without a token.
        let plain = fetch(
            serde_json::json!({"url": gmail_api}),
            calendar.capabilities.clone(),
            None,
        )
        .await;
        assert_eq!(body(&plain)["saw"], serde_json::Value::Null);
        assert_eq!(w.api.request_count(), 1);
        assert!(
            w.api
                .requests()
                .iter()
                .all(|r| r.header("authorization").is_none()),
            "no request carried the Gmail grant ({})",
            t.label
        );

        // The Gmail installation is handed the grant.
        let gmail = workway_engine::capabilities::capabilities_for(
            &egress,
            &vault,
            &google_approval(GMAIL_SCOPE),
            "alice",
            BTreeMap::new(),
        )
        .await
        .expect("capabilities");
        let ok = fetch(
            serde_json::json!({"url": "https://gmail.googleapis.com/gmail/v1/users/me/profile", "connection": "google"}),
            gmail.capabilities,
            None,
        )
        .await;
        assert_eq!(
            body(&ok)["saw"],
            format!("Bearer {}", grant.access_token),
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_connection_without_recorded_scopes_is_not_handed_to_a_scoped_installation() {
    for t in test_stores().await {
        let w = world(Flavor::Google).await;
        let (egress, vault) = w.host(t.store.clone());
        // Alice pasted a broad Google token without saying which scopes it
        // was granted: the connection records none.
        let pasted = w.oauth.seed_grant();
        vault
            .save(
                "alice",
                "google",
                &[],
                &TokenSet {
                    access_token: Secret::new(pasted.access_token.clone()),
                    refresh_token: None,
                    expires_at: None,
                    scopes: None,
                    account: Some("alice@example.com".into()),
                },
            )
            .await
            .expect("saved");
        let gmail_api = "https://www.googleapis.com/gmail/v1/users/me/messages";

        // A plugin approved only for the read-only calendar scope is not
        // handed it: its Gmail call is refused before anything leaves.
        let calendar = workway_engine::capabilities::capabilities_for(
            &egress,
            &vault,
            &google_approval(CALENDAR_SCOPE),
            "alice",
            BTreeMap::new(),
        )
        .await
        .expect("capabilities");
        let refused = fetch(
            serde_json::json!({"url": gmail_api, "connection": "google"}),
            calendar.capabilities,
            None,
        )
        .await;
        let outcome = format!("{:?}", refused.outcome);
        assert!(!refused.outcome.is_ok(), "{outcome}");
        assert!(
            outcome.contains("the `google` connection records no scopes")
                && outcome.contains(CALENDAR_SCOPE)
                && outcome.contains("workway connect google --token - --scope"),
            "{} : {outcome}",
            t.label
        );
        assert_eq!(w.api.request_count(), 0, "{}", t.label);

        // Connected again with the scope it was granted, the token is
        // handed to the calendar installation.
        let scoped = vault
            .save(
                "alice",
                "google",
                &[CALENDAR_SCOPE.to_string()],
                &TokenSet {
                    access_token: Secret::new(pasted.access_token.clone()),
                    refresh_token: None,
                    expires_at: None,
                    scopes: None,
                    account: Some("alice@example.com".into()),
                },
            )
            .await
            .expect("saved");
        let calendar = BTreeMap::from([("google".to_string(), vec![CALENDAR_SCOPE.to_string()])]);
        let given = vault
            .connections_for("alice", &calendar)
            .await
            .expect("connections");
        assert_eq!(given.get("google").expect("handed").id, scoped.id);

        // A provider whose approvals list no scopes (Notion) still gets a
        // connection that records none.
        let notion = vault
            .save(
                "alice",
                "notion",
                &[],
                &TokenSet {
                    access_token: Secret::new("secret_notion"),
                    refresh_token: None,
                    expires_at: None,
                    scopes: None,
                    account: Some("Acme".into()),
                },
            )
            .await
            .expect("saved");
        let approved = BTreeMap::from([("notion".to_string(), Vec::new())]);
        let given = vault
            .connections_for("alice", &approved)
            .await
            .expect("connections");
        assert_eq!(given.get("notion").expect("handed").id, notion.id);
        t.cleanup().await;
    }
}

/// The query parameters of `url`, decoded (`+` and `%XX`).
fn query_params(url: &str) -> BTreeMap<String, String> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                    out.push(u8::from_str_radix(hex, 16).expect("percent escape"));
                    i += 2;
                }
                other => out.push(other),
            }
            i += 1;
        }
        String::from_utf8(out).expect("UTF-8")
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

#[tokio::test]
async fn connecting_for_an_installation_asks_for_exactly_its_approved_scopes() {
    use workway_engine::installations::{self, InstallError};
    for t in test_stores().await {
        let d = workway_fixtures::Deployment::start(&t, crate::support::shared_runtime()).await;
        let redirect = "https://workway.example/oauth/callback";
        let start = installations::connect(
            &d.platform,
            workway_fixtures::USER,
            "gmail",
            "google",
            redirect,
        )
        .await
        .expect("authorization started");
        let params = query_params(&start.authorization_url);
        // Gmail's approval lists gmail.modify; only Google's identity
        // scopes are added, and earlier grants are not folded in.
        assert_eq!(params["scope"], format!("openid email {GMAIL_SCOPE}"));
        assert!(
            !params.contains_key("include_granted_scopes"),
            "{} on {}",
            start.authorization_url,
            t.label
        );
        let other = installations::connect(
            &d.platform,
            workway_fixtures::USER,
            "gmail",
            "slack",
            redirect,
        )
        .await;
        assert!(
            matches!(other, Err(InstallError::ProviderNotApproved { .. })),
            "{other:?}"
        );
        let absent = installations::connect(
            &d.platform,
            workway_fixtures::USER,
            "stripe",
            "stripe",
            redirect,
        )
        .await;
        assert!(
            matches!(absent, Err(InstallError::NotInstalled(_))),
            "{absent:?}"
        );
        t.cleanup().await;
    }
}

/// `[vault] token_cache_ms` reaches the platform's vault: the bound on how
/// long a host serves a token another host revoked is what the operator
/// configured, not the built-in second.
#[tokio::test]
async fn the_host_configuration_sets_the_vault_cache_bound() {
    for t in test_stores().await {
        let d =
            workway_fixtures::Deployment::start_with(&t, crate::support::shared_runtime(), |c| {
                c.vault.token_cache_ms = 0;
                c.vault.token_cache_entries = 7;
            })
            .await;
        let settings = d.platform.vault.settings();
        assert_ne!(
            workway_vault::VaultSettings::default().token_cache,
            Duration::ZERO
        );
        assert_eq!(settings.token_cache, Duration::ZERO);
        assert_eq!(settings.token_cache_entries, 7);
        t.cleanup().await;
    }
}
