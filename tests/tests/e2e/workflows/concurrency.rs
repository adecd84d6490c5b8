//! Bounds on SQLite and PostgreSQL: runs over a user's limit, or
//! executions over an installation's, wait in the queue and then finish;
//! none fails for it, and the bound is never exceeded.

use std::time::Duration;

use serde_json::json;
use workway_host::workflow::executor::ExecutorConfig;
use workway_store::runs::{RunRow, RunStatus, Runs};
use workway_store::testing::test_stores;

use super::{CHANNEL, Deployment, deployment, fast};

fn hello() -> String {
    format!(
        "name: hello\ntrigger:\n  kind: manual\nsteps:\n  - id: say\n    action: slack.send-message\n    input: {{ channel: \"{CHANNEL}\", text: hello }}\n  - id: again\n    action: slack.send-message\n    input: {{ channel: \"{CHANNEL}\", text: again }}\n"
    )
}

/// Whether any two of `spans` (start, end) overlap.
fn overlapping(spans: &mut [(i64, i64)]) -> bool {
    spans.sort_unstable();
    spans.windows(2).any(|w| w[1].0 < w[0].1)
}

/// Save `hello` and queue four runs of it, with Slack answering every
/// message slowly so that runs and executions would overlap if allowed to.
async fn four_slow_runs(d: &Deployment) -> Vec<String> {
    d.save(&hello()).await;
    for _ in 0..8 {
        d.slack.faults().push(
            workway_mocks::MockResponse::json(
                200,
                json!({"ok": true, "channel": CHANNEL, "ts": "1712345678.000100", "message": {"text": "hello"}}),
            )
            .delay(Duration::from_millis(100)),
        );
    }
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(d.start_run("hello", json!({})).await);
    }
    ids
}

/// Poll the runs until every one has finished, handing each listing to
/// `check` (the bound a test watches).
async fn until_all_finished(runs: &Runs<'_>, mut check: impl FnMut(&[RunRow])) {
    loop {
        let all = runs.list(None, None, 10).await.expect("listed");
        check(&all);
        if all.iter().all(|r| r.status.is_finished()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn runs_over_the_per_user_limit_wait_their_turn() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let ids = four_slow_runs(&d).await;
        let executor = d.executor(ExecutorConfig {
            max_runs_per_owner: 1,
            ..fast()
        });
        let runs = d.platform.store.runs();
        let watched = until_all_finished(&runs, |all| {
            let running = all
                .iter()
                .filter(|r| r.status == RunStatus::Running)
                .count();
            assert!(running <= 1, "{}: {running} running at once", t.label);
        });
        tokio::time::timeout(Duration::from_secs(60), executor.work(watched))
            .await
            .expect("all runs finish");
        let mut spans = Vec::new();
        for id in &ids {
            let run = runs.get(id).await.expect("read").expect("run");
            assert_eq!(run.status, RunStatus::Succeeded, "{}", t.label);
            spans.push((
                run.started_at.expect("started"),
                run.finished_at.expect("finished"),
            ));
        }
        assert!(
            !overlapping(&mut spans),
            "{}: runs overlapped: {spans:?}",
            t.label
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn executions_over_the_per_installation_limit_wait_their_turn() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let ids = four_slow_runs(&d).await;
        let executor = d.executor(ExecutorConfig {
            max_executions_per_installation: 1,
            ..fast()
        });
        let runs = d.platform.store.runs();
        let watched = until_all_finished(&runs, |_| {});
        tokio::time::timeout(Duration::from_secs(60), executor.work(watched))
            .await
            .expect("all runs finish");
        let mut spans = Vec::new();
        let mut concurrent_runs = Vec::new();
        for id in &ids {
            let run = runs.get(id).await.expect("read").expect("run");
            assert_eq!(run.status, RunStatus::Succeeded, "{}", t.label);
            concurrent_runs.push((run.started_at.expect("s"), run.finished_at.expect("f")));
            for a in runs.attempts(id).await.expect("read") {
                spans.push((a.started_at, a.finished_at.expect("finished")));
            }
        }
        assert!(
            overlapping(&mut concurrent_runs),
            "{}: the runs themselves ran side by side",
            t.label
        );
        assert!(
            !overlapping(&mut spans),
            "{}: executions overlapped: {spans:?}",
            t.label
        );
        t.cleanup().await;
    }
}
