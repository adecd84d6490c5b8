//! Workflows through the `workway` binary, across processes, on SQLite and
//! PostgreSQL: an API-only `workway serve` front end; integrations
//! published, approved and installed with the CLI as a developer, a
//! reviewer and a user account; accounts connected with pasted tokens; a
//! three-step workflow (gmail -> notion -> slack, against the local mocks)
//! created from YAML; a run queued with `workway run --detach` and driven
//! by `workway worker` processes. The first worker is killed with
//! SIGKILL in the middle of the run; a second one, started on the same
//! store, resumes it after the lease expires and finishes it. Completed
//! steps are never executed again, and the interrupted one is delivered
//! again under the same idempotency key. Two worker processes on one store
//! fire each tick of a cron schedule exactly once. Integrations written in
//! Python and JavaScript, built from `workway plugin new`'s templates, are
//! published, installed and run as two steps of one workflow.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use workway_fixtures::first_party_scopes;
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::gmail::{self, GmailMock, SeedMessage};
use workway_mocks::services::notion::{self, NotionMock};
use workway_mocks::services::slack::{self, Channel, SlackMock};
use workway_mocks::services::stripe::{self, StripeMock};
use workway_mocks::{MockResponse, TestCa};
use workway_store::Store;
use workway_store::runs::{AttemptStatus, RunStatus, TriggerKind};
use workway_store::testing::test_stores;
use workway_test_artifacts::first_party;
use workway_vault::Keyring;

use super::languages::{self, Lang};
use super::served::{Served, User};

const DATABASE: &str = "5c6a2821-6bb1-4a7e-b6e1-c50111515c3d";
const CHANNEL: &str = "C0123ABCD";
const TOKENS: [(&str, &str); 4] = [
    ("google", "ya29.workflow-cli"),
    ("notion", "secret_workflow-cli"),
    ("slack", "xoxb-workflow-cli"),
    ("stripe", "sk_test_workflow-cli"),
];
/// The integrations of the three-step workflow.
const THREE: [&str; 3] = ["gmail", "notion", "slack"];

/// Everything one test's processes share: the store, the folders and the
/// keys, as environment variables; the API front end; the accounts.
struct Env {
    vars: Vec<(String, String)>,
    /// The API-only front end (runs are the workers' to drive), kept
    /// running as long as the deployment.
    _served: Served,
    /// A developer, a reviewer and the user whose workflows run.
    dev: User,
    rita: User,
    alice: User,
    dir: tempfile::TempDir,
}

impl Env {
    /// `workway args` as alice.
    fn run(&self, args: &[&str]) -> Output {
        self.alice.run(args)
    }

    /// `workway args` as alice; require success; stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.alice.ok(args)
    }

    /// An operator's `workway args` on this deployment.
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
    stripe: StripeMock,
}

async fn services(ca: &TestCa) -> Services {
    let gmail = GmailMock::start(ca, AcceptedTokens::exactly(TOKENS[0].1)).await;
    let notion = NotionMock::start(ca, AcceptedTokens::exactly(TOKENS[1].1)).await;
    let slack = SlackMock::start(ca, AcceptedTokens::exactly(TOKENS[2].1)).await;
    let stripe = StripeMock::start(ca, AcceptedTokens::exactly(TOKENS[3].1)).await;
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
        stripe,
    }
}

/// A deployment on `database_url` whose egress reaches `s`'s mocks, with
/// a vault key, an API-only front end and accounts for a developer, a
/// reviewer and `alice`.
fn deployment(database_url: &str, ca: &TestCa, s: &Services) -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_pem = ca.write_pem(dir.path());
    let config = dir.path().join("workway.toml");
    let overrides: Vec<String> = [
        (gmail::HOST, s.gmail.port()),
        (notion::HOST, s.notion.port()),
        (slack::HOST, s.slack.port()),
        (stripe::HOST, s.stripe.port()),
    ]
    .iter()
    .map(|(host, port)| format!("\"{host}:443=127.0.0.1:{port}\""))
    .collect();
    std::fs::write(
        &config,
        format!(
            "[egress]\noverrides = [{}]\nextra_root_certificates = [{:?}]\n\n\
             [executor]\nlease_ms = 1500\npoll_ms = 50\n\n\
             [vault]\ntoken_cache_ms = 500\n",
            overrides.join(", "),
            ca_pem.display().to_string()
        ),
    )
    .expect("config written");
    let vault_keys = Keyring::generate_entry("k1").expect("random");
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    let vars: Vec<(String, String)> = vec![
        ("WORKWAY_DATABASE_URL".into(), database_url.to_string()),
        ("WORKWAY_DATA_DIR".into(), path(dir.path())),
        (
            "WORKWAY_ARTIFACTS_DIR".into(),
            path(&dir.path().join("artifacts")),
        ),
        ("WORKWAY_VAULT_KEYS".into(), vault_keys),
        ("WORKWAY_CONFIG".into(), path(&config)),
    ];
    let envs: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let served = Served::start(&envs, &["--api-only"]);
    let dev = served.user("dev@example.com", &["developer"]);
    let rita = served.user("rita@example.com", &["reviewer"]);
    let alice = served.user("alice@example.com", &[]);
    Env {
        vars,
        _served: served,
        dev,
        rita,
        alice,
        dir,
    }
}

impl Env {
    /// Publish, approve and install the first-party integrations `names`.
    fn install_integrations(&self, names: &[&str]) {
        for (name, wasm) in [
            ("gmail", first_party::GMAIL),
            ("notion", first_party::NOTION),
            ("slack", first_party::SLACK),
            ("stripe", first_party::STRIPE),
        ] {
            if !names.contains(&name) {
                continue;
            }
            let manifest: PathBuf = Path::new(first_party::DIR).join(name).join("workway.toml");
            self.publish_approve_install(name, wasm, manifest.to_str().expect("utf-8"));
        }
    }

    /// Publish the component `wasm` with `manifest` as the developer,
    /// approve it as the reviewer, install it as alice.
    fn publish_approve_install(&self, name: &str, wasm: &str, manifest: &str) {
        let published = self
            .dev
            .ok(&["plugin", "publish", wasm, "--manifest", manifest]);
        let id = crate::submission_id(&published);
        // The reviewer approves what `publish` showed: its fingerprint.
        let fingerprint = crate::fingerprint(&published);
        self.rita
            .ok(&["review", "approve", &id, "--reviewed", &fingerprint]);
        let installed = self.ok(&["install", name, "--yes"]);
        assert!(
            installed.contains(&format!("installed {name} 0.1.0")),
            "{installed}"
        );
    }

    /// Connect alice's accounts by pasting the tokens the mocks accept
    /// (there is no browser here to run the OAuth flow).
    fn connect_accounts(&self) {
        for (provider, token) in TOKENS {
            let mut args = vec!["connect", provider, "--token", "-"];
            let scopes = first_party_scopes(provider);
            for scope in &scopes {
                args.extend(["--scope", scope.as_str()]);
            }
            let out = self.alice.run_stdin(&args, &format!("{token}\n"));
            assert!(
                out.status.success(),
                "connect {provider}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Save `yaml` as workflow `name` of `steps` steps, triggered by `trigger`.
    fn create_workflow(&self, name: &str, yaml: &str, trigger: &str, steps: usize) {
        let file = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).expect("written");
        let saved = self.ok(&["workflow", "create", file.to_str().expect("utf-8")]);
        assert!(
            saved.contains(&format!(
                "saved workflow `{name}` version 1 ({trigger} trigger, {steps} step(s))"
            )),
            "{saved}"
        );
    }
}

/// The three-step workflow, and with `customer`, a fourth step between
/// filing and telling: a Stripe customer for the sender, created with the
/// attempt's idempotency key.
fn workflow_yaml(customer: bool) -> String {
    let customer = if customer {
        r#"  - id: customer
    action: stripe.create-customer
    input:
      email: { $ref: /steps/fetch/output/messages/0/from/email }
      name: "Ada Lovelace"
"#
    } else {
        ""
    };
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
{customer}  - id: tell
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

/// The POST requests `mock` received on `path`.
fn posts(
    requests: Vec<workway_mocks::RecordedRequest>,
    path: &str,
) -> Vec<workway_mocks::RecordedRequest> {
    requests
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_leaves_a_run_another_worker_finishes() {
    for t in test_stores().await {
        let ca = TestCa::new();
        let s = services(&ca).await;
        let env = deployment(t.url(), &ca, &s);
        env.install_integrations(&["gmail", "notion", "slack", "stripe"]);
        env.connect_accounts();
        env.create_workflow("inbox-to-notion", &workflow_yaml(true), "manual", 4);

        let run_id = env
            .ok(&["run", "inbox-to-notion", "--detach"])
            .trim()
            .to_string();
        // Stripe holds the customer creation for a long time, so the first
        // worker is inside step three, its request delivered, when it is
        // killed.
        s.stripe.faults().push_for(
            "/v1/customers",
            MockResponse::json(200, json!({"object": "customer"})).delay(Duration::from_secs(60)),
        );
        let mut first = env.worker("first");
        let runs = t.store.runs();
        // Past `record_running_after_ms`, the held step shows as running.
        eventually(
            Duration::from_secs(60),
            "step three to reach Stripe and show as running",
            || async {
                !posts(s.stripe.requests(), "/v1/customers").is_empty()
                    && runs.attempts(&run_id).await.is_ok_and(|attempts| {
                        attempts
                            .iter()
                            .any(|a| a.step_id == "customer" && a.status == AttemptStatus::Running)
                    })
            },
        )
        .await;
        first.kill().expect("SIGKILL");
        let _ = first.wait();
        let gmail_seen = s.gmail.requests().len();

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
                ("file", AttemptStatus::Succeeded),
                ("customer", AttemptStatus::Running)
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
                ("customer", 1, AttemptStatus::Succeeded),
                ("tell", 1, AttemptStatus::Succeeded),
            ],
            "the interrupted attempt was resumed, not repeated as a new one"
        );
        // The completed steps were not executed again: Gmail saw nothing
        // after the kill, Notion one page creation in all.
        assert_eq!(s.gmail.requests().len(), gmail_seen, "{}", t.label);
        assert_eq!(
            posts(s.notion.requests(), "/v1/pages").len(),
            1,
            "{}",
            t.label
        );
        assert_eq!(s.notion.pages(DATABASE).len(), 1, "{}", t.label);
        // The interrupted step was delivered exactly twice (the killed
        // worker's request and the resumed one), both times under the one
        // key its attempt row holds: a new key for the second delivery, or
        // a third delivery, would show here.
        let deliveries: Vec<Option<String>> = posts(s.stripe.requests(), "/v1/customers")
            .iter()
            .map(|r| r.header("idempotency-key").map(str::to_string))
            .collect();
        let key = Some(after[2].idempotency_key.clone());
        assert_eq!(deliveries, [key.clone(), key], "{}", t.label);
        assert_eq!(s.stripe.customers().len(), 1, "{}", t.label);
        // Billing counted each step's execution once: one usage record
        // per step, the interrupted one included, numbered 1 to 4 in the
        // user's month, all within the free allowance.
        let usage = t
            .store
            .billing()
            .usage_records_of(&run.owner)
            .await
            .expect("usage");
        let counted: Vec<(i64, i64, Option<i64>, i64)> = usage
            .iter()
            .map(|u| (u.step_index, u.attempt, u.seq, u.charge_mills))
            .collect();
        assert_eq!(
            counted,
            [
                (0, 1, Some(1), 0),
                (1, 1, Some(2), 0),
                (2, 1, Some(3), 0),
                (3, 1, Some(4), 0)
            ],
            "{}",
            t.label
        );
        assert_eq!(s.slack.messages_in(CHANNEL).len(), 1, "{}", t.label);

        // What the user sees.
        let shown = env.ok(&["runs", "show", &run_id]);
        for expected in [
            "succeeded",
            "fetch",
            "gmail.fetch-email",
            "file",
            "customer",
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
        // What it cost: four of the month's twenty free executions.
        let usage = env.ok(&["billing", "usage"]);
        assert!(
            usage.contains("4 of 20 free executions used, 16 left")
                && usage.contains("charges so far: $0.000"),
            "{usage}"
        );
        for integration in ["gmail", "notion", "stripe", "slack"] {
            assert!(usage.contains(integration), "{integration}: {usage}");
        }
        let credit = env.ok(&["billing", "credit", "--buy", "500"]);
        assert!(credit.contains("prepaid credit left: $5.000"), "{credit}");
        let statements = env.ok(&["billing", "statements"]);
        assert!(
            statements.contains("(draft)") && statements.contains("no finalized statements yet"),
            "{statements}"
        );

        // A foreground run (a worker drives it; the CLI follows it through
        // the API): progress on stderr, the exit status says how it went.
        let mut third = env.worker("third");
        let foreground = env.run(&["run", "inbox-to-notion"]);
        terminate(&mut third);
        let progress = String::from_utf8_lossy(&foreground.stderr);
        assert!(foreground.status.success(), "{progress}");
        for step in ["fetch", "file", "customer", "tell"] {
            assert!(progress.contains(step), "{progress}");
        }
        assert!(progress.contains("succeeded"), "{progress}");
        drop(env);
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
    env.install_integrations(&THREE);
    let file = env.dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        workflow_yaml(false)
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

/// Send `signal` (`-STOP`, `-CONT`) to every child in one `kill` call.
fn signal(signal: &str, children: &[&Child]) {
    let pids: Vec<String> = children.iter().map(|c| c.id().to_string()).collect();
    let status = Command::new("kill")
        .arg(signal)
        .args(&pids)
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pids:?}");
}

/// The number of scheduled runs of each tick (Unix ms) in `store`.
async fn runs_per_tick(store: &Store) -> std::collections::BTreeMap<i64, usize> {
    let mut per_tick = std::collections::BTreeMap::new();
    for run in store
        .runs()
        .list(None, None, 100_000)
        .await
        .expect("listed")
        .iter()
        .filter(|r| r.trigger_kind == TriggerKind::Schedule)
    {
        let data: serde_json::Value = serde_json::from_str(&run.trigger_data).expect("JSON");
        let tick = data["tick_ms"].as_i64().expect("a tick");
        *per_tick.entry(tick).or_insert(0) += 1;
    }
    per_tick
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_fire_each_cron_tick_exactly_once() {
    for t in test_stores().await {
        let ca = TestCa::new();
        let s = services(&ca).await;
        let env = deployment(t.url(), &ca, &s);
        env.install_integrations(&["slack"]);
        env.connect_accounts();
        let yaml = format!(
            "name: every-second\ntrigger:\n  kind: schedule\n  cron: \"* * * * * *\"\nsteps:\n  - id: tell\n    action: slack.send-message\n    input: {{ channel: \"{CHANNEL}\", text: \"tick {{{{ /trigger/tick }}}}\" }}\n"
        );
        env.create_workflow("every-second", &yaml, "schedule", 1);
        let mut a = env.worker("cron-a");
        let mut b = env.worker("cron-b");
        eventually(Duration::from_secs(60), "both workers to start", || async {
            env.log("cron-a").contains("worker ready") && env.log("cron-b").contains("worker ready")
        })
        .await;
        // Both processes are stopped together while ticks pass, then
        // continued together: each one's scheduler pass is overdue and runs
        // at once, so both race for the same missed ticks (within the grace
        // period, so they are due).
        let mut raced = Vec::new();
        for _ in 0..3 {
            signal("-STOP", &[&a, &b]);
            let stopped = workway_store::clock::now_ms();
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let resumed = workway_store::clock::now_ms();
            signal("-CONT", &[&a, &b]);
            let due: Vec<i64> = (stopped / 1000 + 1..=resumed / 1000)
                .map(|s| s * 1000)
                .collect();
            eventually(
                Duration::from_secs(60),
                "the ticks missed while stopped to fire",
                || async {
                    let fired = runs_per_tick(&t.store).await;
                    due.iter().all(|tick| fired.contains_key(tick))
                },
            )
            .await;
            raced.extend(due);
        }
        terminate(&mut a);
        terminate(&mut b);
        let fired = runs_per_tick(&t.store).await;
        let twice: Vec<(&i64, &usize)> = fired.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "{}: ticks fired more than once: {twice:?}\n{}\n{}",
            t.label,
            env.log("cron-a"),
            env.log("cron-b")
        );
        assert!(raced.len() >= 6, "{}: {raced:?}", t.label);
        for tick in &raced {
            assert_eq!(fired.get(tick), Some(&1), "{}: tick {tick}", t.label);
        }
        let ticks: Vec<i64> = fired.keys().copied().collect();
        for pair in ticks.windows(2) {
            assert_eq!(
                pair[1] - pair[0],
                1000,
                "{}: no tick skipped: {ticks:?}",
                t.label
            );
        }
        drop(env);
        t.cleanup().await;
    }
}

#[test]
fn a_workflow_runs_a_python_step_and_a_javascript_step_reading_it() {
    // Built once per run of the test binary (shared with `languages`);
    // `None` when this machine cannot build them (the tests skip).
    let (Some(python), Some(js)) = (
        languages::template(Lang::Python),
        languages::template(Lang::Js),
    ) else {
        return;
    };
    let ca = TestCa::new();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let s = rt.block_on(services(&ca));
    let db = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", db.path().join("w.db").display());
    let env = deployment(&url, &ca, &s);
    for (lang, built) in [(Lang::Python, python), (Lang::Js, js)] {
        env.publish_approve_install(lang.name(), &built.wasm, &built.manifest());
    }
    let yaml = format!(
        r#"name: two-languages
trigger:
  kind: manual
steps:
  - id: shout
    action: {python}.echo
    input: {{ message: "hello", shout: true }}
  - id: repeat
    action: {js}.echo
    input:
      message: "python said {{{{ /steps/shout/output/message }}}}"
"#,
        python = Lang::Python.name(),
        js = Lang::Js.name(),
    );
    env.create_workflow("two-languages", &yaml, "manual", 2);

    let mut worker = env.worker("languages");
    let ran = env.run(&["run", "two-languages"]);
    terminate(&mut worker);
    let progress = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{progress}\n{}", env.log("languages"));
    let run_id = progress
        .lines()
        .find_map(|l| l.strip_prefix("run ")?.split_whitespace().next())
        .expect("the run's id")
        .to_string();
    let shown = env.ok(&["runs", "show", &run_id, "--verbose"]);
    let outputs: Vec<serde_json::Value> = shown
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("output: "))
        .map(|o| {
            let envelope: serde_json::Value = serde_json::from_str(o).expect("JSON output");
            envelope["data"].clone()
        })
        .collect();
    assert_eq!(
        outputs,
        [
            json!({"message": "HELLO", "length": 5}),
            json!({"message": "python said HELLO", "length": 17}),
        ],
        "{shown}"
    );
    for expected in ["hello-python.echo", "hello-js.echo", "succeeded"] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
}
