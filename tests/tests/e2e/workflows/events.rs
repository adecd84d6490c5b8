//! The event trigger on SQLite and PostgreSQL: the three-step workflow
//! starts when another workflow's run succeeds (once, however often the
//! event is seen), and a workflow watching `installation_created` starts
//! when the user installs an integration.

use std::time::Duration;

use serde_json::{Value, json};
use workway_host::installations;
use workway_host::triggers::events;
use workway_store::runs::RunStatus;
use workway_store::testing::test_stores;

use super::{CHANNEL, DATABASE, USER, assert_succeeded, deployment, inbox_to_notion};

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
            .find(|r| r.trigger_kind == "event")
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
            .filter(|r| r.trigger_kind == "event")
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
