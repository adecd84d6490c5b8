//! What the worker processes work on: the service mocks (shared by every
//! scenario, in this process) and, per database, a deployment whose
//! settings the workers are started with.
//!
//! A [`Scene`] is set up as `workway_fixtures::Deployment` sets up its
//! host, through the same services (registry submission and approval,
//! installation, the vault, saved workflows), but with keys, folders and
//! tokens it can hand to other processes: the review key's public half,
//! the vault key, the artifact folder and a host configuration file whose
//! egress overrides send the providers' hosts to the mocks and trust the
//! mocks' test CA.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use workway_capabilities::secret::Secret;
use workway_engine::catalog::Catalog;
use workway_engine::platform::{HostConfig, Platform};
use workway_engine::review::Registry;
use workway_engine::{installations, saved, triggers};
use workway_fixtures::{
    CHANNEL, DATABASE, REVIEWER, first_party_scopes, first_party_submission, inbox_to_notion,
};
use workway_mocks::TestCa;
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::gmail::{self, GmailMock, SeedMessage};
use workway_mocks::services::notion::{self, NotionMock};
use workway_mocks::services::slack::{self, Channel, SlackMock};
use workway_registry::ReviewKey;
use workway_registry::approval::TrustedKeys;
use workway_registry::artifacts::ArtifactStore;
use workway_runtime::Runtime;
use workway_store::Store;
use workway_store::runs::NewRun;
use workway_vault::Keyring;
use workway_vault::oauth::token::TokenSet;
use workway_workflow::definition::WorkflowDefinition;

/// The workflow every run runs.
pub const WORKFLOW: &str = "inbox-to-notion";
/// The integrations of the workflow.
const INTEGRATIONS: [&str; 3] = ["gmail", "notion", "slack"];
/// The access token of each provider's connection (what its mock accepts).
const TOKENS: [(&str, &str); 3] = [
    ("google", "ya29.bench-scaleout"),
    ("notion", "secret_bench-scaleout"),
    ("slack", "xoxb-bench-scaleout"),
];

/// Gmail, Notion and Slack over TLS on 127.0.0.1, with the mailbox, the
/// database and the channel the workflow uses.
pub struct Mocks {
    /// Gmail's mock.
    pub gmail: GmailMock,
    /// Notion's mock.
    pub notion: NotionMock,
    /// Slack's mock.
    pub slack: SlackMock,
    /// The test CA's root, for the workers' egress.
    ca_pem: PathBuf,
    _dir: tempfile::TempDir,
}

/// Requests each mock received, at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// Gmail's.
    pub gmail: u64,
    /// Notion's.
    pub notion: u64,
    /// Slack's.
    pub slack: u64,
}

impl Requests {
    /// What arrived between `earlier` and this snapshot.
    pub fn since(&self, earlier: &Requests) -> Requests {
        Requests {
            gmail: self.gmail.saturating_sub(earlier.gmail),
            notion: self.notion.saturating_sub(earlier.notion),
            slack: self.slack.saturating_sub(earlier.slack),
        }
    }

    /// Each count times `n`.
    pub fn times(&self, n: u64) -> Requests {
        Requests {
            gmail: self.gmail * n,
            notion: self.notion * n,
            slack: self.slack * n,
        }
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.gmail + self.notion + self.slack
    }
}

impl Mocks {
    /// Start the three mocks, each accepting only its provider's token.
    pub async fn start() -> Mocks {
        let ca = TestCa::new();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let ca_pem = ca.write_pem(dir.path());
        let gmail = GmailMock::start(&ca, AcceptedTokens::exactly(TOKENS[0].1)).await;
        let notion = NotionMock::start(&ca, AcceptedTokens::exactly(TOKENS[1].1)).await;
        let slack = SlackMock::start(&ca, AcceptedTokens::exactly(TOKENS[2].1)).await;
        gmail.add_message(SeedMessage::new(
            "\"Ada Lovelace\" <ada@example.com>",
            &["me@example.com"],
            "Invoice 42 is due",
            "Hello,\n\nInvoice 42 for 1,200 EUR is due on Friday.\n\nAda",
        ));
        notion.add_database(
            DATABASE,
            "Inbox triage",
            &[("Name", "title"), ("From", "email")],
        );
        slack.add_channel(Channel::public(CHANNEL, "general"));
        Mocks {
            gmail,
            notion,
            slack,
            ca_pem,
            _dir: dir,
        }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Requests {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Requests {
            gmail: count(self.gmail.requests().len()),
            notion: count(self.notion.requests().len()),
            slack: count(self.slack.requests().len()),
        }
    }

    /// The `[egress]` table sending the providers' hosts to the mocks.
    fn egress_toml(&self) -> String {
        let overrides: Vec<String> = [
            (gmail::HOST, self.gmail.port()),
            (notion::HOST, self.notion.port()),
            (slack::HOST, self.slack.port()),
        ]
        .iter()
        .map(|(host, port)| format!("\"{host}:443=127.0.0.1:{port}\""))
        .collect();
        format!(
            "[egress]\noverrides = [{}]\nextra_root_certificates = [{:?}]\n",
            overrides.join(", "),
            self.ca_pem.display().to_string()
        )
    }
}

/// One database's deployment: the integrations approved in its registry,
/// installed and connected for each owner, the workflow saved, and what a
/// worker process needs to share it.
pub struct Scene {
    /// This process's services on the database.
    pub platform: Arc<Platform>,
    /// The worker processes' environment (without the database URL).
    pub env: Vec<(String, String)>,
    /// Where the workers' logs and data live.
    pub dir: tempfile::TempDir,
}

impl Scene {
    /// Publish and approve the integrations on `store`, write the host
    /// configuration (`executor` is the `[executor]` table, if any) and
    /// give each of `owners` the installations, connections and workflow.
    pub async fn new(
        store: Store,
        runtime: Arc<Runtime>,
        mocks: &Mocks,
        executor: &str,
        owners: &[&str],
    ) -> Scene {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let artifacts = dir.path().join("artifacts");
        let review_key = ReviewKey::generate("review-1").expect("random");
        let key = ReviewKey::parse(&review_key).expect("a valid review key");
        let trusted = key.public();
        let registry = Registry::new(
            store.clone(),
            ArtifactStore::open(&artifacts).expect("an artifact store"),
            runtime.clone(),
        )
        .with_reviewers([REVIEWER.to_string()])
        .with_review_key(key);
        for name in INTEGRATIONS {
            let submitted = registry
                .submit(first_party_submission(name))
                .await
                .expect("the first-party integration is accepted");
            let shown = registry
                .show(&submitted.id)
                .await
                .expect("shown")
                .report
                .reviewed();
            registry
                .approve(&submitted.id, REVIEWER, &shown, None)
                .await
                .expect("approved");
        }
        let catalog = Arc::new(Catalog::new(
            Arc::new(registry),
            runtime.clone(),
            TrustedKeys::parse(&trusted).expect("the public key"),
        ));
        let vault_keys = Keyring::generate_entry("k1").expect("random");
        let keyring = Arc::new(Keyring::parse(&vault_keys).expect("a valid vault key"));
        let platform = Arc::new(
            Platform::new(store, runtime, catalog, keyring, &HostConfig::default())
                .expect("the platform assembles"),
        );
        for owner in owners {
            prepare_owner(&platform, owner).await;
        }
        let config = dir.path().join("workway.toml");
        std::fs::write(&config, format!("{}\n{executor}", mocks.egress_toml()))
            .expect("the host configuration is written");
        let env = vec![
            ("WORKWAY_DATA_DIR".into(), path(dir.path())),
            ("WORKWAY_ARTIFACTS_DIR".into(), path(&artifacts)),
            ("WORKWAY_TRUSTED_KEYS".into(), trusted),
            ("WORKWAY_VAULT_KEYS".into(), vault_keys),
            ("WORKWAY_CONFIG".into(), path(&config)),
        ];
        Scene { platform, env, dir }
    }

    /// Queue `n` runs of `owner`'s workflow: the first through the manual
    /// trigger, the rest as copies of it straight into the store (the
    /// trigger's bound on queued runs per owner would refuse a backlog
    /// this large), `parallel` inserts at a time.
    pub async fn queue(&self, owner: &str, n: usize, parallel: usize) {
        if n == 0 {
            return;
        }
        let first = self.start_run(owner).await;
        let runs = self.platform.store.runs();
        let template = runs.get(&first).await.expect("read").expect("the run");
        let template = Arc::new(template);
        let mut inserts = tokio::task::JoinSet::new();
        let parallel = parallel.max(1);
        for lane in 0..parallel {
            let count = (n - 1) / parallel + usize::from(lane < (n - 1) % parallel);
            let (store, run) = (self.platform.store.clone(), template.clone());
            inserts.spawn(async move {
                for _ in 0..count {
                    let id = uuid::Uuid::new_v4().to_string();
                    store
                        .runs()
                        .insert(&NewRun {
                            id: &id,
                            workflow_id: &run.workflow_id,
                            workflow_version: run.workflow_version,
                            owner: &run.owner,
                            trigger_kind: run.trigger_kind,
                            trigger_data: &run.trigger_data,
                            pins: &run.pins,
                            now: workway_store::clock::now_ms(),
                        })
                        .await
                        .expect("the run is queued");
                }
            });
        }
        while let Some(done) = inserts.join_next().await {
            done.expect("the inserts ran");
        }
    }

    /// Start one run of `owner`'s workflow through the manual trigger; its id.
    pub async fn start_run(&self, owner: &str) -> String {
        triggers::manual(&self.platform, owner, WORKFLOW, &json!({}))
            .await
            .expect("the run starts")
            .run_id
    }
}

/// Install the integrations for `owner`, connect its accounts and save
/// the workflow.
async fn prepare_owner(platform: &Platform, owner: &str) {
    for name in INTEGRATIONS {
        installations::install(platform, owner, name, None, BTreeMap::new())
            .await
            .expect("installed");
    }
    for (provider, token) in TOKENS {
        platform
            .vault
            .save(
                owner,
                provider,
                &first_party_scopes(provider),
                &TokenSet {
                    access_token: Secret::new(token),
                    refresh_token: None,
                    expires_at: None,
                    scopes: None,
                    account: Some(format!("{provider} account")),
                },
            )
            .await
            .expect("connected");
    }
    let definition =
        WorkflowDefinition::from_yaml(&inbox_to_notion("  kind: manual")).expect("it parses");
    saved::save(platform, owner, definition)
        .await
        .expect("the workflow is valid");
}

/// `p` as a string for an environment variable.
fn path(p: &Path) -> String {
    p.display().to_string()
}
