//! The host runs approved components only, through its catalog, on SQLite
//! and PostgreSQL: names resolve to the approved digest, the signed
//! approval is checked against the bytes and the manifest before loading,
//! the broker allows the hosts of the signed record (an edited manifest
//! widens nothing), and a revocation stops new executions on every host
//! within the stated window while other integrations keep running.

use std::sync::Arc;
use std::time::Duration;

use workway_capabilities::Capabilities;
use workway_egress::{Egress, EgressConfig};
use workway_engine::catalog::{ApprovedSource, Catalog, CatalogError};
use workway_engine::review::{Registry, RegistryError};
use workway_registry::approval::TrustedKeys;
use workway_registry::review::Submission;
use workway_registry::{ArtifactStore, ReviewKey};
use workway_store::testing::test_stores;

use crate::registry::{REVIEWER, approve, evolving, registry};
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
        approve(&f.registry, &v1.id, REVIEWER, None)
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
        approve(&f.registry, &wb.id, REVIEWER, None)
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
        approve(&f.registry, &v3.id, REVIEWER, None)
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
        approve(&f.registry, &row.id, REVIEWER, None)
            .await
            .expect("approved");

        let fetch = |integration: Arc<workway_engine::catalog::ApprovedIntegration>,
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

/// Approve `submission` through `f`'s registry; its submission id.
async fn approved(f: &crate::registry::Fixture, submission: Submission) -> String {
    let row = f.registry.submit(submission).await.expect("accepted");
    approve(&f.registry, &row.id, REVIEWER, None)
        .await
        .expect("approved");
    row.id
}

#[tokio::test]
async fn the_catalog_refuses_an_approval_filed_under_another_name_or_version() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        let v1 = approved(&f, evolving("1.0.0", &[])).await;
        approved(&f, well_behaved(&[])).await;

        // The row of `evolving` refiled as another integration: its approval
        // still verifies against the bytes and the manifest, but it names
        // `evolving`, not what was asked for.
        t.tamper(
            "UPDATE submissions SET integration = 'well-behaved', version = '9.0.0' WHERE id = $1",
            &[&v1],
        )
        .await;
        let host = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        let refused = host.get("well-behaved", None).await;
        assert!(
            matches!(refused, Err(CatalogError::NotAsked { .. })),
            "{}: {:?}",
            t.label,
            refused.err()
        );

        // Refiled as another version of itself: refused asked by version and
        // as the newest.
        t.tamper(
            "UPDATE submissions SET integration = 'evolving', version = '9.0.0' WHERE id = $1",
            &[&v1],
        )
        .await;
        let host = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        for version in [Some("9.0.0"), None] {
            let refused = host.get("evolving", version).await;
            assert!(
                matches!(refused, Err(CatalogError::NotAsked { .. })),
                "{} {version:?}: {:?}",
                t.label,
                refused.err()
            );
        }
        t.tamper(
            "UPDATE submissions SET version = '1.0.0' WHERE id = $1",
            &[&v1],
        )
        .await;
        let host = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        assert_eq!(ping(&host).await.expect("as approved"), "1.0.0");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_revocation_does_not_depend_on_the_revoking_machines_clock() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        approved(&f, well_behaved(&[])).await;
        let v1 = approved(&f, evolving("1.0.0", &[])).await;
        let host = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        assert_eq!(ping(&host).await.expect("v1 runs"), "1.0.0");

        // Revoked from a machine whose clock is a day behind.
        f.registry
            .revoke(&v1, REVIEWER, "exfiltrates data")
            .await
            .expect("revoked");
        let day_ago = (chrono::Utc::now().timestamp_millis() - 86_400_000).to_string();
        t.tamper(
            "UPDATE submissions SET updated_at = CAST($1 AS BIGINT) WHERE id = $2",
            &[&day_ago, &v1],
        )
        .await;
        t.tamper(
            "UPDATE revocations SET at = CAST($1 AS BIGINT)",
            &[&day_ago],
        )
        .await;
        // The same bytes approved again under a new submission stay revoked
        // on a host that was running before the revocation.
        approved(&f, evolving("1.0.0", &[])).await;
        tokio::time::sleep(POLL + Duration::from_millis(50)).await;
        let refused = host.get("evolving", None).await;
        assert!(
            matches!(refused, Err(CatalogError::Revoked { .. })),
            "{}: {:?}",
            t.label,
            refused.err()
        );
        assert!(host.get("well-behaved", None).await.is_ok());
        t.cleanup().await;
    }
}

/// The revocation log as stored: (seq, submission id, digest, record, at).
async fn log_rows(t: &workway_store::testing::TestStore) -> Vec<[String; 5]> {
    t.store
        .submissions()
        .revocations_from(1)
        .await
        .expect("log")
        .into_iter()
        .map(|r| {
            [
                r.seq.to_string(),
                r.submission_id,
                r.digest,
                r.record,
                r.at.to_string(),
            ]
        })
        .collect()
}

async fn restore(t: &workway_store::testing::TestStore, rows: &[[String; 5]]) {
    t.tamper("DELETE FROM revocations", &[]).await;
    for [seq, id, digest, record, at] in rows {
        t.tamper(
            "INSERT INTO revocations (seq, submission_id, digest, record, at) \
             VALUES (CAST($1 AS BIGINT), $2, $3, $4, CAST($5 AS BIGINT))",
            &[seq, id, digest, record, at],
        )
        .await;
    }
}

fn log_altered(result: Result<Arc<workway_engine::catalog::ApprovedIntegration>, CatalogError>) {
    assert!(
        matches!(result, Err(CatalogError::RevocationLog(_))),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn an_edited_or_deleted_revocation_stops_the_catalog() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        approved(&f, well_behaved(&[])).await;
        let v1 = approved(&f, evolving("1.0.0", &[])).await;
        let v2 = approved(&f, evolving("2.0.0", &[])).await;
        f.registry
            .revoke(&v2, REVIEWER, "first")
            .await
            .expect("revoked");
        f.registry
            .revoke(&v1, REVIEWER, "second")
            .await
            .expect("revoked");
        let rows = log_rows(&t).await;
        assert_eq!(rows.len(), 2);
        let reader = other_host(&t, f.artifacts_dir.path(), &f.key_public).await;
        assert!(
            reader.get("well-behaved", None).await.is_ok(),
            "{}",
            t.label
        );

        // An edited record (pointed at another digest) fails its signature.
        let edited = rows[0][3].replace(rows[0][2].trim_start_matches("sha256:"), &"0".repeat(64));
        assert_ne!(edited, rows[0][3]);
        t.tamper(
            "UPDATE revocations SET record = $1 WHERE seq = 1",
            &[&edited],
        )
        .await;
        log_altered(
            other_host(&t, f.artifacts_dir.path(), &f.key_public)
                .await
                .get("well-behaved", None)
                .await,
        );
        restore(&t, &rows).await;

        // A deleted record leaves a gap.
        t.tamper("DELETE FROM revocations WHERE seq = 1", &[]).await;
        log_altered(
            other_host(&t, f.artifacts_dir.path(), &f.key_public)
                .await
                .get("well-behaved", None)
                .await,
        );
        restore(&t, &rows).await;

        // A record renumbered to hide the gap fails its signature.
        t.tamper("DELETE FROM revocations WHERE seq = 1", &[]).await;
        t.tamper("UPDATE revocations SET seq = 1 WHERE seq = 2", &[])
            .await;
        log_altered(
            other_host(&t, f.artifacts_dir.path(), &f.key_public)
                .await
                .get("well-behaved", None)
                .await,
        );
        restore(&t, &rows).await;

        // The last record deleted: a host that read it notices; put back,
        // it runs again.
        t.tamper("DELETE FROM revocations WHERE seq = 2", &[]).await;
        tokio::time::sleep(POLL + Duration::from_millis(50)).await;
        log_altered(reader.get("well-behaved", None).await);
        restore(&t, &rows).await;
        assert!(
            reader.get("well-behaved", None).await.is_ok(),
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

/// A registry whose `approved` for one name waits until released, telling
/// the test when it has started.
struct Gated {
    inner: Registry,
    gated: &'static str,
    entered: tokio::sync::mpsc::UnboundedSender<()>,
    release: Arc<tokio::sync::Notify>,
}

#[workway_engine::catalog::async_trait]
impl ApprovedSource for Gated {
    async fn approved(
        &self,
        integration: &str,
        version: Option<&str>,
    ) -> Result<workway_engine::review::ApprovedComponent, RegistryError> {
        if integration == self.gated {
            let _ = self.entered.send(());
            self.release.notified().await;
        }
        self.inner.approved(integration, version).await
    }

    async fn revocations_from(
        &self,
        from: i64,
    ) -> Result<Vec<workway_engine::review::StoredRevocation>, RegistryError> {
        self.inner.revocations_from(from).await
    }
}

#[tokio::test]
async fn one_names_cold_load_does_not_hold_up_another_name() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        approved(&f, well_behaved(&[])).await;
        approved(&f, evolving("1.0.0", &[])).await;
        let (entered, mut entered_rx) = tokio::sync::mpsc::unbounded_channel();
        let release = Arc::new(tokio::sync::Notify::new());
        let gated = Gated {
            inner: Registry::new(
                t.reopen().await,
                ArtifactStore::open(f.artifacts_dir.path()).expect("artifact store"),
                shared_runtime(),
            ),
            gated: "evolving",
            entered,
            release: release.clone(),
        };
        let catalog = Arc::new(Catalog::new(
            Arc::new(gated),
            shared_runtime(),
            TrustedKeys::parse(&f.key_public).expect("public key"),
        ));
        let blocked = tokio::spawn({
            let catalog = catalog.clone();
            async move { catalog.get("evolving", None).await.map(|_| ()) }
        });
        entered_rx
            .recv()
            .await
            .expect("the load of `evolving` started");

        // While `evolving` is held mid-load, `well-behaved` loads and is
        // served. (The timeout only turns a deadlock into a failure.)
        let other =
            tokio::time::timeout(Duration::from_secs(60), catalog.get("well-behaved", None))
                .await
                .expect("another name is not held up by a load in progress");
        assert!(other.is_ok(), "{}", t.label);
        assert!(!blocked.is_finished(), "`evolving` is still held");

        release.notify_one();
        blocked
            .await
            .expect("joins")
            .expect("`evolving` loads once released");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_refusal_states_its_reason_once() {
    for t in test_stores().await {
        let f = registry(t.store.clone());
        let submission = well_behaved(&["http://api.example.test"]);
        let manifest = submission.manifest.clone();
        let id = approved(&f, submission).await;
        let widened = manifest.replace("api.example.test", "files.example.test");
        t.tamper(
            "UPDATE submissions SET manifest = $1 WHERE id = $2",
            &[&widened, &id],
        )
        .await;
        let err = other_host(&t, f.artifacts_dir.path(), &f.key_public)
            .await
            .get("well-behaved", None)
            .await
            .err()
            .expect("refused");
        // What the CLI prints: the error and its whole chain of causes.
        let printed = format!("{:#}", anyhow::Error::new(err));
        assert_eq!(
            printed.matches("the manifest was changed").count(),
            1,
            "{printed}"
        );

        // A corrupt artifact, as the registry reports it.
        let digest = workway_registry::Digest::of(
            &std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("built"),
        );
        let path = f.artifacts_dir.path().join("sha256").join(digest.to_hex());
        std::fs::write(&path, b"not the component").expect("tamper");
        let err = f
            .registry
            .approved("well-behaved", None)
            .await
            .expect_err("refused");
        let printed = format!("{:#}", anyhow::Error::new(err));
        assert_eq!(printed.matches("is corrupt").count(), 1, "{printed}");
        t.cleanup().await;
    }
}
