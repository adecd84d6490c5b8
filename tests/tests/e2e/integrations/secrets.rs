//! No first-party integration ever sees a token: their sources never touch
//! a credential, and at run time the service receives the user's token in
//! the `Authorization` header attached by the host while everything the
//! plugin can see or produce (its view of the connection, its output, its
//! log, the report) holds no secret.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use workway_capabilities::Capabilities;
use workway_capabilities::secret::Secret;
use workway_egress::{Egress, EgressConfig};
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::slack::{Channel, HOST, SlackMock};
use workway_mocks::{Flavor, MockOAuthProvider};
use workway_store::testing::test_stores;
use workway_test_artifacts::first_party;
use workway_vault::oauth::providers::{ProviderRegistry, ProviderSettings};
use workway_vault::oauth::token::TokenSet;
use workway_vault::{Keyring, Vault};

use super::{Integration, World};
use crate::support::data;

/// Words that only code handling a credential would write.
const CREDENTIAL_WORDS: &[&str] = &[
    "authorization",
    "bearer",
    "access_token",
    "refresh_token",
    "client_secret",
    "x-api-key",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("readable source folder")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_plugin_source_handles_a_credential() {
    let mut files = Vec::new();
    for name in ["gmail", "notion", "slack", "stripe"] {
        rust_files(
            &Path::new(first_party::DIR).join(name).join("src"),
            &mut files,
        );
    }
    assert!(files.len() >= 4, "found the sources: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file)
            .expect("readable source")
            .to_lowercase();
        for word in CREDENTIAL_WORDS {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`: credentials are the host's to attach",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn the_service_gets_the_vault_s_token_and_the_plugin_sees_none() {
    for t in test_stores().await {
        let oauth = MockOAuthProvider::start(Flavor::Slack, "client", "secret").await;
        let grant = oauth.seed_grant();
        let world = World::new();
        let mock = SlackMock::start(
            &world.ca,
            AcceptedTokens::from_checker(oauth.token_checker()),
        )
        .await;
        mock.add_channel(Channel::public("C0123ABCD", "general"));

        let keys = Arc::new(
            Keyring::parse(&Keyring::generate_entry("k1").expect("random")).expect("valid"),
        );
        let settings = [(
            "slack".to_string(),
            ProviderSettings {
                client_id: Some("client".into()),
                client_secret: Some("secret".into()),
                token_url: Some(oauth.token_url()),
                ..Default::default()
            },
        )]
        .into();
        let providers = Arc::new(
            ProviderRegistry::builtin()
                .configure(&settings)
                .expect("valid settings"),
        );
        let config = EgressConfig {
            overrides: vec![format!("{HOST}:443=127.0.0.1:{}", mock.port())],
            extra_root_certificates: vec![world.ca_pem().to_path_buf()],
            ..EgressConfig::default()
        };
        let platform = Arc::new(Egress::new(config.clone()).expect("egress"));
        let vault = Arc::new(Vault::new(t.store.clone(), keys, providers, platform));
        vault
            .save(
                "alice",
                "slack",
                &["chat:write".to_string()],
                &TokenSet {
                    access_token: Secret::new(grant.access_token.clone()),
                    refresh_token: Some(Secret::new(grant.refresh_token.clone())),
                    expires_at: None,
                    scopes: None,
                    account: Some("Acme".into()),
                },
            )
            .await
            .expect("saved");
        let egress = Arc::new(
            Egress::new(config)
                .expect("egress")
                .with_credentials(vault.clone()),
        );
        let slack = Integration::load("slack").await;
        let connections = vault
            .connections_for(
                "alice",
                &std::collections::BTreeMap::from([(
                    "slack".to_string(),
                    vec!["chat:write".to_string()],
                )]),
            )
            .await
            .expect("connections");
        // The plugin's whole view of the connection: what `connections.get`
        // hands the guest (provider, account, scopes, an opaque id).
        let view = format!(
            "{:?}",
            workway_capabilities::ConnectionBroker::get(&connections, "slack")
        );
        let caps = Capabilities {
            http: Arc::new(egress.broker(slack.manifest.host_patterns())),
            connections: Arc::new(connections),
            ..Capabilities::none()
        };

        let report = slack
            .run(
                &caps,
                "send-message",
                serde_json::json!({"channel": "C0123ABCD", "text": "hello"}),
            )
            .await;
        assert_eq!(data(&report)["channel"], "C0123ABCD", "{}", t.label);
        let seen = mock.requests();
        assert_eq!(
            seen[0].header("authorization"),
            Some(format!("Bearer {}", grant.access_token).as_str()),
            "the service received the user's token ({})",
            t.label
        );
        let everything_the_plugin_touched = format!(
            "{view}\n{}",
            serde_json::to_string(&report).expect("report serializes")
        );
        assert!(view.contains("Acme"), "{view}");
        for secret in [&grant.access_token, &grant.refresh_token] {
            assert!(
                !everything_the_plugin_touched.contains(secret.as_str()),
                "a token leaked into the plugin's view, output, log or report ({})",
                t.label
            );
        }
        t.cleanup().await;
    }
}
