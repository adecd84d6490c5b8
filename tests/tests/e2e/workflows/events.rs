//! The event trigger on SQLite and PostgreSQL: the three-step workflow
//! starts when another workflow's run succeeds (once, however often the
//! event is seen), and a workflow watching `installation_created` starts
//! when the user installs an integration. Fan-out is bounded per event,
//! per chain and per owner's queue, each refusal recorded where the owner
//! sees it; chains stop at `MAX_CHAIN` links; a user reads only their own
//! runs.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use serde_json::{Value, json};
use workway_engine::executor::{Executor, ExecutorConfig};
use workway_engine::installations;
use workway_engine::platform::{EventSubscriber, HostConfig, Platform, PublishError};
use workway_engine::triggers::events::{Event, EventTrigger};
use workway_engine::triggers::{self, TriggerError, TriggerLimits, events};
use workway_store::runs::{RunRow, RunStatus, TriggerKind};
use workway_store::testing::test_stores;
use workway_vault::Keyring;

use super::{
    CHANNEL, DATABASE, Deployment, USER, assert_succeeded, deployment, fast, inbox_to_notion,
};

/// A one-step manual workflow that says hello in Slack.
fn hello() -> String {
    format!(
        "name: hello\ntrigger:\n  kind: manual\nsteps:\n  - id: say\n    action: slack.send-message\n    input: {{ channel: \"{CHANNEL}\", text: hello }}\n"
    )
}

#[tokio::test]
async fn a_succeeded_run_starts_the_workflow_watching_it_once() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.seed_invoice();
        d.save(&hello()).await;
        d.save(&inbox_to_notion(
            "  kind: event\n  on: run_succeeded\n  workflow: hello",
        ))
        .await;
        let first = d.start_run("hello", json!({})).await;
        let (run, attempts) = d.finish(&first, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);

        // The executor emitted `run_succeeded`: the watcher's run is queued.
        let runs = d.platform.store.runs();
        let all = runs.list(None, None, 10).await.expect("listed");
        let watcher = all
            .iter()
            .find(|r| r.trigger_kind == TriggerKind::Event)
            .unwrap_or_else(|| panic!("{}: no event run in {all:?}", t.label));
        let data: Value = serde_json::from_str(&watcher.trigger_data).expect("JSON");
        assert_eq!(data["event"], "run_succeeded");
        assert_eq!(data["run"]["id"], first.as_str());
        assert_eq!(data["run"]["workflow"], "hello");
        let (run, attempts) = d.finish(&watcher.id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        assert_eq!(d.notion.pages(DATABASE).len(), 1);

        // Seen again (a sweep after a crash): no second run.
        let again = events::sweep(&d.platform, 0).await.expect("swept");
        assert_eq!(again, 0, "{}", t.label);
        assert_eq!(runs.list(None, None, 10).await.expect("listed").len(), 2);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_failed_run_starts_only_the_workflows_watching_failures() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(&hello()).await;
        d.save(&hello().replace("name: hello", "name: on-failure").replace(
            "kind: manual",
            "kind: event\n  on: run_failed\n  workflow: hello",
        ))
        .await;
        d.save(&hello().replace("name: hello", "name: on-success").replace(
            "kind: manual",
            "kind: event\n  on: run_succeeded\n  workflow: hello",
        ))
        .await;
        d.slack.faults().push(workway_mocks::MockResponse::json(
            200,
            json!({"ok": false, "error": "channel_not_found"}),
        ));
        let id = d.start_run("hello", json!({})).await;
        let (run, _) = d.finish(&id, Duration::from_secs(30)).await;
        assert_eq!(run.status, RunStatus::Failed);
        let started: Vec<String> = d
            .platform
            .store
            .runs()
            .list(None, None, 10)
            .await
            .expect("listed")
            .into_iter()
            .filter(|r| r.trigger_kind == TriggerKind::Event)
            .map(|r| r.workflow_id)
            .collect();
        let on_failure = d
            .platform
            .store
            .workflows()
            .find(USER, "on-failure")
            .await
            .expect("read")
            .expect("saved");
        assert_eq!(started, [on_failure.id], "{}", t.label);
        t.cleanup().await;
    }
}

/// A subscriber that records what it is given and holds each delivery
/// until `gate` lets it through, then hands it to the event trigger.
struct Held {
    gate: Semaphore,
    seen: Mutex<Vec<Event>>,
}

#[async_trait]
impl EventSubscriber for Held {
    async fn deliver(&self, platform: &Platform, events: &[Event]) -> Result<(), PublishError> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(events.iter().cloned());
        let _through = self.gate.acquire().await;
        EventTrigger.deliver(platform, events).await
    }
}

#[tokio::test]
async fn a_finished_run_gives_its_slot_back_before_its_events_and_they_carry_what_was_committed() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(&hello()).await;
        let held = Arc::new(Held {
            gate: Semaphore::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let host = d.host_with_subscriber(held.clone());
        // Whichever run is claimed first fails (Slack refuses its
        // message), the other succeeds; runs queued in the same
        // millisecond are claimed in id order.
        d.slack.faults().push(workway_mocks::MockResponse::json(
            200,
            json!({"ok": false, "error": "channel_not_found"}),
        ));
        let ids = [
            d.start_run("hello", json!({})).await,
            d.start_run("hello", json!({})).await,
        ];
        // One slot: the run claimed second can only run once the first gave
        // its slot back, and the first's events are held until both finished.
        let executor = Arc::new(Executor::new(
            host.clone(),
            ExecutorConfig {
                max_in_flight: 1,
                ..fast()
            },
        ));
        let runs = host.store.runs();
        let both_finished = async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let mut finished = 0;
                for id in &ids {
                    let run = runs.get(id).await.expect("read").expect("exists");
                    finished += usize::from(run.status.is_finished());
                }
                if finished == 2 {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{}: the second run never ran while the first's events were held",
                    t.label
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            held.gate.add_permits(2);
        };
        executor.work(both_finished).await;

        let seen = held
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut statuses = Vec::new();
        for id in &ids {
            let run = runs.get(id).await.expect("read").expect("exists");
            let kind = match run.status {
                RunStatus::Failed => "run_failed",
                RunStatus::Succeeded => "run_succeeded",
                other => panic!("{}: run {id} is {other}", t.label),
            };
            statuses.push(run.status);
            let error: Value = run
                .error
                .as_deref()
                .map(|e| serde_json::from_str(e).expect("JSON"))
                .unwrap_or(Value::Null);
            let events: Vec<&Event> = seen
                .iter()
                .filter(|e| e.data["run"]["id"] == id.as_str())
                .collect();
            let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
            assert_eq!(kinds, [kind, "run_finished"], "{}", t.label);
            for event in events {
                assert_eq!(event.owner, USER);
                assert_eq!(event.workflow.as_deref(), Some("hello"));
                let about = &event.data["run"];
                assert_eq!(about["status"], run.status.as_str(), "{}", t.label);
                assert_eq!(about["error"], error, "{}", t.label);
                assert_eq!(about["workflow"], "hello");
                assert_eq!(about["version"], 1);
            }
        }
        statuses.sort_by_key(|s| s.as_str());
        assert_eq!(
            statuses,
            [RunStatus::Failed, RunStatus::Succeeded],
            "{}",
            t.label
        );
        // Each run's events came in one delivery, the first's before the
        // second's.
        assert_eq!(seen.len(), 4, "{}: {seen:?}", t.label);
        assert_eq!(seen[0].data["run"]["id"], seen[1].data["run"]["id"]);
        assert_eq!(seen[2].data["run"]["id"], seen[3].data["run"]["id"]);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn installing_an_integration_starts_the_workflow_watching_installations() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(
            &hello()
                .replace("name: hello", "name: welcome")
                .replace(
                    "kind: manual",
                    "kind: event\n  on: installation_created\n  integration: stripe",
                )
                .replace(
                    "text: hello",
                    "text: \"{{ /trigger/integration }} installed\"",
                ),
        )
        .await;
        installations::install(&d.platform, USER, "stripe", None, Default::default())
            .await
            .expect("installed");
        let runs = d
            .platform
            .store
            .runs()
            .list(None, None, 10)
            .await
            .expect("listed");
        assert_eq!(runs.len(), 1, "{}", t.label);
        let (run, attempts) = d.finish(&runs[0].id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        let said = d.slack.messages_in(CHANNEL);
        assert_eq!(said[0].text.as_deref(), Some("stripe installed"));
        // Installing again at the same version is not a new installation event.
        installations::install(&d.platform, USER, "stripe", None, Default::default())
            .await
            .expect("installed");
        assert_eq!(
            d.platform
                .store
                .runs()
                .list(None, None, 10)
                .await
                .expect("listed")
                .len(),
            1
        );
        t.cleanup().await;
    }
}

/// Another host on the deployment's store with trigger bounds `limits`.
fn host_with(d: &Deployment, limits: TriggerLimits) -> Arc<Platform> {
    let keyring =
        Arc::new(Keyring::parse(&Keyring::generate_entry("k2").expect("random")).expect("valid"));
    Arc::new(
        Platform::new(
            d.platform.store.clone(),
            d.platform.runtime.clone(),
            d.platform.catalog.clone(),
            keyring,
            &HostConfig {
                triggers: limits,
                ..HostConfig::default()
            },
        )
        .expect("assembles"),
    )
}

/// A `hello` variant called `name` whose trigger is `trigger` (YAML lines).
fn watcher(name: &str, trigger: &str) -> String {
    hello()
        .replace("name: hello", &format!("name: {name}"))
        .replace("  kind: manual", trigger)
}

/// Every run of [`USER`], oldest first.
async fn all_runs(platform: &Platform) -> Vec<RunRow> {
    let mut runs = platform
        .store
        .runs()
        .list(Some(USER), None, 10_000)
        .await
        .expect("listed");
    runs.reverse();
    runs
}

/// Without running any step, finish every queued run as succeeded and
/// emit its events on `platform`, until no run is queued (or more than
/// `runaway` runs exist, which fails the test): a cascade of run events.
async fn cascade(platform: &Platform, runaway: usize) -> Vec<RunRow> {
    let runs = platform.store.runs();
    loop {
        let all = all_runs(platform).await;
        assert!(all.len() <= runaway, "runaway: {} runs", all.len());
        let queued: Vec<RunRow> = all
            .into_iter()
            .filter(|r| r.status == RunStatus::Queued)
            .collect();
        if queued.is_empty() {
            return all_runs(platform).await;
        }
        for run in queued {
            let now = workway_store::clock::now_ms();
            assert!(
                runs.finish_unleased(&run.id, RunStatus::Succeeded, None, now)
                    .await
                    .expect("finished")
            );
            let run = runs.get(&run.id).await.expect("read").expect("exists");
            events::run_finished(platform, &run).await.expect("emitted");
        }
    }
}

/// The reason recorded on a refused run.
fn refusal(run: &RunRow) -> String {
    assert_eq!(run.status, RunStatus::Refused, "{run:?}");
    let error: Value = serde_json::from_str(run.error.as_deref().expect("a reason")).expect("JSON");
    error["refused"].as_str().expect("a refusal").to_string()
}

#[tokio::test]
async fn one_event_starts_at_most_max_runs_per_event_and_records_the_rest() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let host = host_with(
            &d,
            TriggerLimits {
                max_runs_per_event: 2,
                ..TriggerLimits::default()
            },
        );
        d.save(&hello()).await;
        for name in ["watch-a", "watch-b", "watch-c"] {
            d.save(&watcher(
                name,
                "  kind: event\n  on: run_finished\n  workflow: hello",
            ))
            .await;
        }
        triggers::manual(&host, USER, "hello", &json!({}))
            .await
            .expect("started");
        let all = cascade(&host, 50).await;
        let name_of = |r: &RunRow| {
            let data: Value = serde_json::from_str(&r.trigger_data).expect("JSON");
            (r.trigger_kind, r.status, data["run"]["workflow"].clone())
        };
        let started: Vec<&RunRow> = all
            .iter()
            .filter(|r| r.trigger_kind == TriggerKind::Event && r.status != RunStatus::Refused)
            .collect();
        assert_eq!(
            started.len(),
            2,
            "{}: {:?}",
            t.label,
            all.iter().map(name_of).collect::<Vec<_>>()
        );
        let refused: Vec<&RunRow> = all
            .iter()
            .filter(|r| r.status == RunStatus::Refused)
            .collect();
        assert_eq!(refused.len(), 1, "{}", t.label);
        let watch_c = d
            .platform
            .store
            .workflows()
            .find(USER, "watch-c")
            .await
            .expect("read")
            .expect("saved");
        assert_eq!(
            refused[0].workflow_id, watch_c.id,
            "the last by name is refused"
        );
        let why = refusal(refused[0]);
        assert!(
            why.contains("matched 3 workflows") && why.contains("triggers.max_runs_per_event"),
            "{why}"
        );

        // Seen again (a sweep after a crash): nothing new, not even a refusal.
        assert_eq!(events::sweep(&host, 0).await.expect("swept"), 0);
        assert_eq!(all_runs(&host).await.len(), all.len(), "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_fan_out_loop_stays_within_the_chain_budget() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let host = host_with(
            &d,
            TriggerLimits {
                max_runs_per_event: 3,
                max_runs_per_chain: 10,
                ..TriggerLimits::default()
            },
        );
        // `hub` starts three watchers per run, and the first of them starts
        // `hub` again: without a budget, 3 + 1 + 3 + 1 ... runs to the
        // chain's depth cap (16). With 10: `hub`'s event starts w1..w3 and
        // leaves each (10 - 3) / 3 = 2; w1 starts `hub` (1 left), whose
        // event starts w1 only (0 left), whose event starts nothing: five
        // runs, and w2, w3 and `hub` refused on the way.
        d.save(&watcher(
            "hub",
            "  kind: event\n  on: run_finished\n  workflow: w1",
        ))
        .await;
        for name in ["w1", "w2", "w3"] {
            d.save(&watcher(
                name,
                "  kind: event\n  on: run_finished\n  workflow: hub",
            ))
            .await;
        }
        triggers::manual(&host, USER, "hub", &json!({}))
            .await
            .expect("started");
        let all = cascade(&host, 200).await;
        let by_events = all
            .iter()
            .filter(|r| r.trigger_kind == TriggerKind::Event && r.status != RunStatus::Refused)
            .count();
        assert_eq!(by_events, 5, "{}: runs started by events", t.label);
        let refused: Vec<String> = all
            .iter()
            .filter(|r| r.status == RunStatus::Refused)
            .map(refusal)
            .collect();
        assert_eq!(refused.len(), 3, "{}: {refused:?}", t.label);
        assert!(
            refused
                .iter()
                .all(|why| why.contains("triggers.max_runs_per_chain is 10")),
            "{refused:?}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_event_chain_stops_at_max_chain_links() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        // Two workflows that start each other whenever one finishes.
        d.save(&watcher(
            "ping",
            "  kind: event\n  on: run_finished\n  workflow: pong",
        ))
        .await;
        d.save(&watcher(
            "pong",
            "  kind: event\n  on: run_finished\n  workflow: ping",
        ))
        .await;
        triggers::manual(&d.platform, USER, "ping", &json!({}))
            .await
            .expect("started");
        let all = cascade(&d.platform, 50).await;
        let mut chained: Vec<u64> = all
            .iter()
            .filter(|r| r.trigger_kind == TriggerKind::Event && r.status == RunStatus::Succeeded)
            .map(|r| {
                let data: Value = serde_json::from_str(&r.trigger_data).expect("JSON");
                data["chain"].as_u64().expect("a chain depth")
            })
            .collect();
        // Runs made in the same millisecond list in no fixed order; what
        // matters is that each depth ran exactly once.
        chained.sort_unstable();
        assert_eq!(
            chained,
            (1..=events::MAX_CHAIN).collect::<Vec<_>>(),
            "{}",
            t.label
        );
        let refused: Vec<String> = all
            .iter()
            .filter(|r| r.status == RunStatus::Refused)
            .map(refusal)
            .collect();
        assert_eq!(refused.len(), 1, "{}: {refused:?}", t.label);
        assert!(refused[0].contains("stops after 8"), "{}", refused[0]);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_damaged_trigger_data_of_an_event_run_does_not_reset_the_event_chain() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let runs = d.platform.store.runs();
        // Per damage, two workflows that start each other whenever one
        // finishes: the first link's trigger data is damaged before it
        // finishes, so its events must not start the next link afresh.
        for (n, damage) in ["not json", "{\"chain\": 1}", "{\"budget\": \"lots\"}"]
            .into_iter()
            .enumerate()
        {
            let (ping, pong) = (format!("ping-{n}"), format!("pong-{n}"));
            d.save(&watcher(
                &ping,
                &format!("  kind: event\n  on: run_finished\n  workflow: {pong}"),
            ))
            .await;
            d.save(&watcher(
                &pong,
                &format!("  kind: event\n  on: run_finished\n  workflow: {ping}"),
            ))
            .await;
            let first = triggers::manual(&d.platform, USER, &ping, &json!({}))
                .await
                .expect("started")
                .run_id;
            let now = workway_store::clock::now_ms();
            assert!(
                runs.finish_unleased(&first, RunStatus::Succeeded, None, now)
                    .await
                    .expect("finished")
            );
            let first = runs.get(&first).await.expect("read").expect("exists");
            events::run_finished(&d.platform, &first)
                .await
                .expect("emitted");
            let link = all_runs(&d.platform)
                .await
                .into_iter()
                .find(|r| r.trigger_kind == TriggerKind::Event && r.status == RunStatus::Queued)
                .unwrap_or_else(|| panic!("{}: the first link is queued", t.label));

            t.tamper(
                "UPDATE runs SET trigger_data = $1 WHERE id = $2",
                &[damage, &link.id],
            )
            .await;
            let now = workway_store::clock::now_ms();
            assert!(
                runs.finish_unleased(&link.id, RunStatus::Succeeded, None, now)
                    .await
                    .expect("finished")
            );
            let link = runs.get(&link.id).await.expect("read").expect("exists");
            events::run_finished(&d.platform, &link)
                .await
                .expect("emitted");

            let all = all_runs(&d.platform).await;
            assert!(
                all.iter().all(|r| r.status != RunStatus::Queued),
                "{}: {damage:?} started a fresh chain: {all:?}",
                t.label
            );
            let ping_id = d
                .platform
                .store
                .workflows()
                .find(USER, &ping)
                .await
                .expect("read")
                .expect("saved")
                .id;
            let refused: Vec<String> = all
                .iter()
                .filter(|r| r.workflow_id == ping_id && r.status == RunStatus::Refused)
                .map(refusal)
                .collect();
            assert_eq!(refused.len(), 1, "{}: {damage:?}: {refused:?}", t.label);
            assert!(refused[0].contains("had 0 left to start"), "{}", refused[0]);
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn queued_runs_per_owner_are_bounded_with_a_visible_refusal() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let host = host_with(
            &d,
            TriggerLimits {
                max_queued_runs_per_owner: 2,
                ..TriggerLimits::default()
            },
        );
        d.save(&hello()).await;
        d.save(&watcher(
            "on-install",
            "  kind: event\n  on: installation_created",
        ))
        .await;
        for _ in 0..2 {
            triggers::manual(&host, USER, "hello", &json!({}))
                .await
                .expect("within the bound");
        }
        let refused = triggers::manual(&host, USER, "hello", &json!({}))
            .await
            .expect_err("a third queued run is one too many");
        assert!(matches!(refused, TriggerError::Refused { .. }), "{refused}");
        let message = refused.to_string();
        assert!(
            message.contains("2 runs waiting") && message.contains("max_queued_runs_per_owner"),
            "{message}"
        );
        // The user was told; no run, refused or not, is stored for it.
        assert_eq!(all_runs(&host).await.len(), 2, "{}", t.label);

        // An event nobody waits on is recorded as a refused run.
        let event = events::Event::installation_created(USER, "stripe", "0.1.0", "i-1");
        assert!(
            events::emit(&host, &event)
                .await
                .expect("emitted")
                .is_empty()
        );
        let all = all_runs(&host).await;
        assert_eq!(all.len(), 3, "{}", t.label);
        let recorded: Vec<String> = all
            .iter()
            .filter(|r| r.status == RunStatus::Refused)
            .map(refusal)
            .collect();
        assert_eq!(recorded.len(), 1, "{}", t.label);
        assert!(
            recorded[0].contains("max_queued_runs_per_owner"),
            "{recorded:?}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn another_owners_run_reads_as_not_found() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(&hello()).await;
        let id = d.start_run("hello", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        let runs = d.platform.store.runs();
        let own = runs.get_owned(USER, &id).await.expect("read");
        assert_eq!(own.as_ref().map(|r| r.id.as_str()), Some(id.as_str()));
        assert!(
            !runs
                .attempts_owned(USER, &id)
                .await
                .expect("read")
                .is_empty()
        );
        // Mallory gets exactly what a missing id gets.
        assert_eq!(runs.get_owned("mallory", &id).await.expect("read"), None);
        assert_eq!(
            runs.get_owned("mallory", "no-such-run")
                .await
                .expect("read"),
            None
        );
        assert!(
            runs.attempts_owned("mallory", &id)
                .await
                .expect("read")
                .is_empty()
        );
        assert!(
            runs.list(Some("mallory"), None, 10)
                .await
                .expect("read")
                .is_empty()
        );
        assert!(
            d.platform
                .store
                .workflows()
                .set_webhook_secret("mallory", "hello", "sealed", 0)
                .await
                .expect("ran")
                .is_none()
        );
        t.cleanup().await;
    }
}
