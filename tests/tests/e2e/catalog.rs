//! The host runs approved components only, through its catalog, on SQLite
//! and PostgreSQL: names resolve to the approved digest, the signed
//! approval is checked against the bytes and the manifest before loading,
//! the broker allows the hosts of the signed record (an edited manifest
//! widens nothing), and a revocation stops new executions on every host
//! within the stated window while other integrations keep running.

use std::sync::Arc;
use std::time::Duration;

use workway_host::capabilities::Capabilities;
use workway_host::capabilities::egress::{Egress, EgressConfig};
use workway_host::catalog::{Catalog, CatalogError};
use workway_registry::approval::TrustedKeys;
use workway_registry::review::{Registry, RegistryError, Submission};
use workway_registry::{ArtifactStore, ReviewKey};
use workway_store::testing::test_stores;

use crate::registry::{REVIEWER, evolving, registry};
use crate::support::{data, host_error, run, shared_runtime};

/// How often the catalogs in these tests read revocations.
const POLL: Duration = Duration::from_millis(400);

fn catalog(registry: Registry, key_public: &str) -> Catalog {
    Catalog::new(
        Arc::new(registry),
        shared_runtime(),
        TrustedKeys::parse(key_public).expect("public key"),
    )
    .with_revocation_poll(POLL)
}

/// A second host on the same store and artifacts: its own pool, registry
/// handle and catalog, as another process would have.
async fn other_host(
    t: &workway_store::testing::TestStore,
    artifacts: &std::path::Path,
    key_public: &str,
) -> Catalog {
    let registry = Registry::new(
        t.reopen().await,
        ArtifactStore::open(artifacts).expect("artifact store"),
        shared_runtime(),
    );
    catalog(registry, key_public)
}

/// The well-behaved test plugin submitted as an integration that may call
/// `hosts`.
fn well_behaved(hosts: &[&str]) -> Submission {
    let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    let actions = [
        "greet",
        "work",
        "profile",
        "broken-promise",
        "rate-limited",
        "echo",
        "transform",
        "wait-upstream",
        "fetch",
    ]
    .map(|a| format!("[actions.{a}]\ndescription = \"Test action.\"\n"))
    .join("\n");
    Submission {
        component: std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("built"),
        manifest: format!(
            "name = \"well-behaved\"\nversion = \"0.1.0\"\npublisher = \"tests\"\n\
             description = \"The runtime's test plugin.\"\n\n{actions}\n[http]\nhosts = [{}]\n",
            hosts.join(", ")
        ),
        replay: None,
        submitted_by: "dev@workway".into(),
    }
}

async fn ping(catalog: &Catalog) -> Result<String, CatalogError> {
    let evolving = catalog.get("evolving", None).await?;
    let report = run(
        &evolving.component,
        "ping",
        "{}",
        None,
        Capabilities::none(),
    )
    .await;
    Ok(data(&report)["version"]
        .as_str()
        .expect("a version")
        .to_string())
}

#[tokio::test]
async fn only_approved_components_run_and_a_revocation_stops_new_executions_within_the_window() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        let host_a = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        let v1 = f
            .registry
            .submit(evolving("1.0.0", &[]))
            .await
            .expect("accepted");

        // Pending or rejected: nothing to run.
        let host_b = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        assert!(
            matches!(
                host_b.get("evolving", None).await,
                Err(CatalogError::Registry(RegistryError::NotApproved(_)))
            ),
            "{}",
            t.label
        );
        f.registry
            .approve(&v1.id, REVIEWER, None)
            .await
            .expect("approved");
        let v2 = f
            .registry
            .submit(evolving("2.0.0", &[]))
            .await
            .expect("accepted");
        f.registry
            .reject(&v2.id, REVIEWER, "not yet")
            .await
            .expect("rejected");
        assert_eq!(ping(&host_b).await.expect("v1 runs"), "1.0.0");
        assert!(matches!(
            host_b.get("evolving", Some("2.0.0")).await,
            Err(CatalogError::Registry(RegistryError::NotApproved(_)))
        ));

        // A catalog that trusts another key refuses the approval.
        let stranger = ReviewKey::parse(&ReviewKey::generate("stranger").expect("random"))
            .expect("valid")
            .public();
        let untrusting = other_host(&t, f.artifacts_dir.path(), &stranger).await;
        assert!(matches!(
            untrusting.get("evolving", None).await,
            Err(CatalogError::Approval { .. })
        ));

        // Another integration, approved and running on both hosts.
        let wb = f
            .registry
            .submit(well_behaved(&[]))
            .await
            .expect("accepted");
        f.registry
            .approve(&wb.id, REVIEWER, None)
            .await
            .expect("approved");
        for host in [&host_a, &host_b] {
            let echo = host.get("well-behaved", None).await.expect("approved");
            let report = run(
                &echo.component,
                "echo",
                r#"{"message":"hi","count":1,"tags":[]}"#,
                None,
                Capabilities::none(),
            )
            .await;
            assert_eq!(data(&report)["message"], "hi");
        }

        // A newer version, approved, takes over within the window.
        let v3 = f
            .registry
            .submit(evolving("2.0.0", &[]))
            .await
            .expect("a rejected version can be submitted again");
        f.registry
            .approve(&v3.id, REVIEWER, None)
            .await
            .expect("approved");
        tokio::time::sleep(POLL + Duration::from_millis(50)).await;
        assert_eq!(ping(&host_a).await.expect("v2 runs"), "2.0.0");
        assert_eq!(ping(&host_b).await.expect("v2 runs"), "2.0.0");

        // Host A revokes v2: once the window has passed, neither host starts
        // it again; the name falls back to v1, and the other integration
        // keeps running throughout.
        f.registry
            .revoke(&v3.id, REVIEWER, "exfiltrates data")
            .await
            .expect("revoked");
        tokio::time::sleep(POLL + Duration::from_millis(50)).await;
        for host in [&host_a, &host_b] {
            assert_eq!(
                ping(host).await.expect("v1 serves again"),
                "1.0.0",
                "{}",
                t.label
            );
            assert!(
                matches!(
                    host.get("evolving", Some("2.0.0")).await,
                    Err(CatalogError::Registry(RegistryError::NotApproved(_)))
                ),
                "{}",
                t.label
            );
            assert!(host.get("well-behaved", None).await.is_ok());
        }

        // Revoking the last approved version leaves nothing to run.
        f.registry
            .revoke(&v1.id, REVIEWER, "withdrawn by the publisher")
            .await
            .expect("revoked");
        tokio::time::sleep(POLL + Duration::from_millis(50)).await;
        for host in [&host_a, &host_b] {
            assert!(
                matches!(
                    host.get("evolving", None).await,
                    Err(CatalogError::Registry(RegistryError::NotApproved(_)))
                        | Err(CatalogError::Revoked { .. })
                ),
                "{}",
                t.label
            );
            assert!(host.get("well-behaved", None).await.is_ok());
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_broker_allows_the_signed_hosts_and_an_edited_manifest_widens_nothing() {
    for t in test_stores().await {
        let upstream = workway_mocks::MockServer::start(|_| {
            workway_mocks::MockResponse::json(200, serde_json::json!({"ok": true}))
        })
        .await;
        let port = upstream.port();
        let egress = Arc::new(
            Egress::new(EgressConfig {
                overrides: vec![
                    format!("api.example.test:80=127.0.0.1:{port}"),
                    format!("files.example.test:80=127.0.0.1:{port}"),
                ],
                ..EgressConfig::default()
            })
            .expect("egress"),
        );
        let f = registry(t.store.clone());
        let submission = well_behaved(&["http://api.example.test"]);
        let approved_manifest = submission.manifest.clone();
        let row = f.registry.submit(submission).await.expect("accepted");
        f.registry
            .approve(&row.id, REVIEWER, None)
            .await
            .expect("approved");

        let fetch = |integration: Arc<workway_host::catalog::ApprovedIntegration>,
                     url: &'static str| {
            let egress = egress.clone();
            async move {
                let capabilities = Capabilities {
                    http: Arc::new(egress.broker(integration.hosts.clone())),
                    ..Capabilities::none()
                };
                run(
                    &integration.component,
                    "fetch",
                    &serde_json::json!({ "url": url }).to_string(),
                    None,
                    capabilities,
                )
                .await
            }
        };
        let host = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        let integration = host.get("well-behaved", None).await.expect("approved");
        assert_eq!(integration.claims.hosts, ["http://api.example.test"]);
        let ok = fetch(integration.clone(), "http://api.example.test/ok").await;
        assert_eq!(data(&ok)["status"], 200, "{}", t.label);
        let denied = fetch(integration, "http://files.example.test/secrets").await;
        assert!(
            host_error(&denied)
                .to_string()
                .contains("files.example.test"),
            "{:?}",
            denied.outcome
        );
        assert_eq!(upstream.request_count(), 1);

        // Someone with write access to the database widens the stored
        // manifest, then also rewrites its hash: a host starting afterwards
        // refuses the component rather than allow the new host.
        let widened = approved_manifest.replace(
            "hosts = [\"http://api.example.test\"]",
            "hosts = [\"http://api.example.test\", \"http://files.example.test\"]",
        );
        assert_ne!(widened, approved_manifest);
        assert_eq!(
            t.tamper(
                "UPDATE submissions SET manifest = $1 WHERE id = $2",
                &[&widened, &row.id]
            )
            .await,
            1
        );
        let fresh_host = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        let refused = fresh_host.get("well-behaved", None).await;
        assert!(
            matches!(refused, Err(CatalogError::Approval { .. })),
            "{}: {:?}",
            t.label,
            refused.err()
        );
        let hash = workway_registry::approval::manifest_sha256(&widened);
        t.tamper(
            "UPDATE submissions SET manifest_sha256 = $1 WHERE id = $2",
            &[&hash, &row.id],
        )
        .await;
        let refused = other_host(&t, f.artifacts_dir.path(), &f.key_public)
            .await
            .get("well-behaved", None)
            .await;
        assert!(
            matches!(refused, Err(CatalogError::Approval { .. })),
            "{}: {:?}",
            t.label,
            refused.err()
        );
        assert_eq!(upstream.request_count(), 1, "nothing reached the new host");
        t.cleanup().await;
    }
}
