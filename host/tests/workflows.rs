//! Workflows through the `workway` binary, across processes, on SQLite and
//! PostgreSQL: integrations published, approved and installed with the
//! CLI; a three-step workflow (gmail -> notion -> slack, against the local
//! mocks) created from YAML; a run queued with `workway run --detach` and
//! driven by `workway worker` processes. The first worker is killed with
//! SIGKILL in the middle of the run; a second one, started on the same
//! store, resumes it after the lease expires and finishes it. Completed
//! steps are never executed again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use workway_host::capabilities::egress::{Egress, EgressConfig};
use workway_host::oauth::providers::ProviderRegistry;
use workway_host::oauth::token::TokenSet;
use workway_host::secret::Secret;
use workway_host::vault::{Keyring, Vault};
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::gmail::{self, GmailMock, SeedMessage};
use workway_mocks::services::notion::{self, NotionMock};
use workway_mocks::services::slack::{self, Channel, SlackMock};
use workway_mocks::{MockResponse, TestCa};
use workway_store::Store;
use workway_store::runs::{AttemptStatus, RunStatus};
use workway_store::testing::test_stores;
use workway_test_artifacts::first_party;

const DATABASE: &str = "5c6a2821-6bb1-4a7e-b6e1-c50111515c3d";
const CHANNEL: &str = "C0123ABCD";
const TOKENS: [(&str, &str); 3] = [
    ("google", "ya29.workflow-cli"),
    ("notion", "secret_workflow-cli"),
    ("slack", "xoxb-workflow-cli"),
];

/// Everything one test's processes share: the store, the folders and the
/// keys, as environment variables.
struct Env {
    vars: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_workway"));
        command.args(args).env(
            "WORKWAY_CACHE_DIR",
            std::env::temp_dir().join("workway-cli-test-cache"),
        );
        for (name, value) in &self.vars {
            command.env(name, value);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("the workway binary runs")
    }

    /// Run and require success; stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "workway {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Start `workway worker`, its output in a log file.
    fn worker(&self, name: &str) -> Child {
        let log =
            std::fs::File::create(self.dir.path().join(format!("{name}.log"))).expect("log file");
        self.command(&["worker"])
            .env("WORKWAY_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the worker starts")
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

struct Services {
    gmail: GmailMock,
    notion: NotionMock,
    slack: SlackMock,
}

async fn services(ca: &TestCa) -> Services {
    let gmail = GmailMock::start(ca, AcceptedTokens::exactly(TOKENS[0].1)).await;
    let notion = NotionMock::start(ca, AcceptedTokens::exactly(TOKENS[1].1)).await;
    let slack = SlackMock::start(ca, AcceptedTokens::exactly(TOKENS[2].1)).await;
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
    Services {
        gmail,
        notion,
        slack,
    }
}

/// The environment of a deployment on `database_url` whose egress reaches
/// `s`'s mocks, with a review key, a vault key and user `alice`.
fn deployment(database_url: &str, ca: &TestCa, s: &Services) -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_pem = ca.write_pem(dir.path());
    let config = dir.path().join("workway.toml");
    let overrides: Vec<String> = [
        (gmail::HOST, s.gmail.port()),
        (notion::HOST, s.notion.port()),
        (slack::HOST, s.slack.port()),
    ]
    .iter()
    .map(|(host, port)| format!("\"{host}:443=127.0.0.1:{port}\""))
    .collect();
    std::fs::write(
        &config,
        format!(
            "[egress]\noverrides = [{}]\nextra_root_certificates = [{:?}]\n\n\
             [executor]\nlease_ms = 1500\npoll_ms = 50\n",
            overrides.join(", "),
            ca_pem.display().to_string()
        ),
    )
    .expect("config written");
    let key = Command::new(env!("CARGO_BIN_EXE_workway"))
        .args(["review", "new-key", "--id", "review-1"])
        .output()
        .expect("runs");
    let review_key = String::from_utf8_lossy(&key.stdout).trim().to_string();
    let vault_keys = Keyring::generate_entry("k1").expect("random");
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    let vars = vec![
        ("WORKWAY_DATABASE_URL".into(), database_url.to_string()),
        ("WORKWAY_DATA_DIR".into(), path(dir.path())),
        (
            "WORKWAY_ARTIFACTS_DIR".into(),
            path(&dir.path().join("artifacts")),
        ),
        ("WORKWAY_REVIEW_KEY".into(), review_key),
        ("WORKWAY_REVIEWERS".into(), "rita".into()),
        ("WORKWAY_VAULT_KEYS".into(), vault_keys),
        ("WORKWAY_CONFIG".into(), path(&config)),
        ("WORKWAY_USER".into(), "alice".into()),
    ];
    Env { vars, dir }
}

impl Env {
    fn var(&self, name: &str) -> &str {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// Publish, approve and install the three integrations.
    fn install_integrations(&self) {
        for (name, wasm) in [
            ("gmail", first_party::GMAIL),
            ("notion", first_party::NOTION),
            ("slack", first_party::SLACK),
        ] {
            let manifest: PathBuf = Path::new(first_party::DIR).join(name).join("workway.toml");
            let published = self.ok(&[
                "plugin",
                "publish",
                wasm,
                "--manifest",
                manifest.to_str().expect("utf-8"),
                "--as",
                "dev",
            ]);
            let id = published
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .expect("the submission id")
                .to_string();
            self.ok(&["review", "approve", &id, "--as", "rita"]);
            let installed = self.ok(&["install", name]);
            assert!(
                installed.contains(&format!("installed {name} 0.1.0 for alice")),
                "{installed}"
            );
        }
    }

    /// Connect alice's accounts in the vault (there is no browser here to
    /// run the OAuth flow; the tokens are what the mocks accept).
    async fn connect_accounts(&self) {
        let store = Store::open(self.var("WORKWAY_DATABASE_URL"))
            .await
            .expect("store");
        let keys = Arc::new(Keyring::parse(self.var("WORKWAY_VAULT_KEYS")).expect("keys"));
        let egress = Arc::new(Egress::new(EgressConfig::default()).expect("egress"));
        let vault = Vault::new(
            store.clone(),
            keys,
            Arc::new(ProviderRegistry::builtin()),
            egress,
        );
        for (provider, token) in TOKENS {
            vault
                .save(
                    "alice",
                    provider,
                    &[],
                    &TokenSet {
                        access_token: Secret::new(token),
                        refresh_token: None,
                        expires_at: None,
                        scopes: None,
                        account: None,
                    },
                )
                .await
                .expect("connected");
        }
        store.close().await;
    }

    fn create_workflow(&self) {
        let file = self.dir.path().join("inbox-to-notion.yaml");
        std::fs::write(&file, workflow_yaml()).expect("written");
        let saved = self.ok(&["workflow", "create", file.to_str().expect("utf-8")]);
        assert!(
            saved
                .contains("saved workflow `inbox-to-notion` version 1 (manual trigger, 3 step(s))"),
            "{saved}"
        );
    }
}

fn workflow_yaml() -> String {
    format!(
        r#"name: inbox-to-notion
trigger:
  kind: manual
steps:
  - id: fetch
    action: gmail.fetch-email
    input: {{ query: "is:unread invoice", max_results: 1 }}
  - id: file
    action: notion.create-page
    input:
      database_id: "{DATABASE}"
      properties:
        Name: {{ title: {{ $ref: /steps/fetch/output/messages/0/subject }} }}
        From: {{ email: {{ $ref: /steps/fetch/output/messages/0/from/email }} }}
  - id: tell
    action: slack.send-message
    input:
      channel: "{CHANNEL}"
      text: "Filed {{{{ /steps/file/output/url }}}}"
"#
    )
}

/// Poll `check` every 50 ms until it holds, at most `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_leaves_a_run_another_worker_finishes() {
    for t in test_stores().await {
        let ca = TestCa::new();
        let s = services(&ca).await;
        let env = deployment(t.url(), &ca, &s);
        env.install_integrations();
        env.connect_accounts().await;
        env.create_workflow();

        let run_id = env
            .ok(&["run", "inbox-to-notion", "--detach"])
            .trim()
            .to_string();
        // Notion holds the page creation for a long time, so the first
        // worker is inside step two when it is killed.
        s.notion.faults().push_for(
            "/v1/pages",
            MockResponse::json(200, json!({"object": "page"})).delay(Duration::from_secs(60)),
        );
        let mut first = env.worker("first");
        eventually(
            Duration::from_secs(60),
            "step two to reach Notion",
            || async {
                s.notion
                    .requests()
                    .iter()
                    .any(|r| r.method == "POST" && r.path == "/v1/pages")
            },
        )
        .await;
        first.kill().expect("SIGKILL");
        let _ = first.wait();
        let gmail_seen = s.gmail.requests().len();

        let runs = t.store.runs();
        let run = runs.get(&run_id).await.expect("read").expect("the run");
        assert_eq!(
            run.status,
            RunStatus::Running,
            "{}: {}",
            t.label,
            env.log("first")
        );
        let before = runs.attempts(&run_id).await.expect("read");
        let interrupted: Vec<(&str, AttemptStatus)> = before
            .iter()
            .map(|a| (a.step_id.as_str(), a.status))
            .collect();
        assert_eq!(
            interrupted,
            [
                ("fetch", AttemptStatus::Succeeded),
                ("file", AttemptStatus::Running)
            ]
        );

        let mut second = env.worker("second");
        eventually(
            Duration::from_secs(60),
            "the second worker to finish the run",
            || async {
                runs.get(&run_id)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.status.is_finished())
            },
        )
        .await;
        terminate(&mut second);
        let run = runs.get(&run_id).await.expect("read").expect("the run");
        assert_eq!(
            run.status,
            RunStatus::Succeeded,
            "{}: {:?}\n{}",
            t.label,
            run.error,
            env.log("second")
        );
        let after = runs.attempts(&run_id).await.expect("read");
        let done: Vec<(&str, i64, AttemptStatus)> = after
            .iter()
            .map(|a| (a.step_id.as_str(), a.attempt, a.status))
            .collect();
        assert_eq!(
            done,
            [
                ("fetch", 1, AttemptStatus::Succeeded),
                ("file", 1, AttemptStatus::Succeeded),
                ("tell", 1, AttemptStatus::Succeeded),
            ],
            "the interrupted attempt was resumed, not repeated as a new one"
        );
        // The completed step was not executed again: Gmail saw nothing
        // after the kill. The interrupted one ran again under its key.
        assert_eq!(s.gmail.requests().len(), gmail_seen, "{}", t.label);
        assert_eq!(after[1].idempotency_key, before[1].idempotency_key);
        assert_eq!(s.notion.pages(DATABASE).len(), 1);
        assert_eq!(s.slack.messages_in(CHANNEL).len(), 1);

        // What the user sees.
        let shown = env.ok(&["runs", "show", &run_id]);
        for expected in [
            "succeeded",
            "fetch",
            "gmail.fetch-email",
            "file",
            "tell",
            "fuel",
            "light",
        ] {
            assert!(shown.contains(expected), "{expected}: {shown}");
        }
        let listed = env.ok(&["runs", "list"]);
        assert!(
            listed.contains(&run_id) && listed.contains("inbox-to-notion"),
            "{listed}"
        );

        // A foreground run: progress on stderr, the exit status says how it went.
        let foreground = env.run(&["run", "inbox-to-notion"]);
        let progress = String::from_utf8_lossy(&foreground.stderr);
        assert!(foreground.status.success(), "{progress}");
        for step in ["fetch", "file", "tell"] {
            assert!(progress.contains(step), "{progress}");
        }
        assert!(progress.contains("succeeded"), "{progress}");
        t.cleanup().await;
    }
}

#[test]
fn a_workflow_that_does_not_fit_its_actions_is_refused_with_every_reason() {
    let ca = TestCa::new();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let s = rt.block_on(services(&ca));
    let db = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", db.path().join("w.db").display());
    let env = deployment(&url, &ca, &s);
    env.install_integrations();
    let file = env.dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        workflow_yaml()
            .replace("max_results: 1", "max_results: \"one\"")
            .replace("/steps/file/output/url", "/steps/file/output/link")
            .replace("slack.send-message", "stripe.create-customer"),
    )
    .expect("written");
    let out = env.run(&["workflow", "create", file.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for expected in [
        "steps[0] (fetch).input.max_results",
        "`stripe` is not installed: run `workway install stripe`",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    let listed = env.ok(&["workflow", "list"]);
    assert!(
        !listed.contains("inbox-to-notion"),
        "nothing was saved: {listed}"
    );
}
