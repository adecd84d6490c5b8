//! Bounds on SQLite and PostgreSQL: runs over a user's limit, or
//! executions over an installation's, wait in the queue and then finish;
//! none fails for it, and the bound is never exceeded. A run whose step
//! outlasts its lease keeps it by renewal while a second worker on the same
//! store polls the queue.

use std::time::Duration;

use serde_json::json;
use workway_engine::executor::ExecutorConfig;
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

/// One step telling Slack the run's id, so each run's deliveries can be
/// told apart.
fn tell_run_id() -> String {
    format!(
        "name: tell-id\ntrigger:\n  kind: manual\nsteps:\n  - id: say\n    action: slack.send-message\n    input: {{ channel: \"{CHANNEL}\", text: \"run {{{{ /run/id }}}}\" }}\n"
    )
}

/// Poll `check` every 10 ms until it holds, at most a minute.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_lease_is_never_taken_by_a_competing_worker() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(&tell_run_id()).await;
        // The first run's Slack call outlasts its 300 ms lease many times.
        d.slack.faults().push(
            workway_mocks::MockResponse::json(
                200,
                json!({"ok": true, "channel": CHANNEL, "ts": "1712345678.000100", "message": {"text": "slow"}}),
            )
            .delay(Duration::from_secs(8)),
        );
        let lease = ExecutorConfig {
            lease_ms: 300,
            poll_ms: 10,
            max_in_flight: 1,
            ..ExecutorConfig::default()
        };
        let runs = d.platform.store.runs();
        let (stop_a, stopped_a) = tokio::sync::oneshot::channel::<()>();
        let (stop_b, stopped_b) = tokio::sync::oneshot::channel::<()>();
        let slow = d.start_run("tell-id", json!({})).await;
        let first = d.executor(lease.clone());
        let first_holder = first.holder().to_string();
        let first_work = tokio::spawn(async move {
            first
                .work(async {
                    let _ = stopped_a.await;
                })
                .await;
        });
        until("the slow step to reach Slack", async || {
            d.slack
                .requests()
                .iter()
                .any(|r| r.body_text().contains(&slow))
        })
        .await;
        let claimed = runs.get(&slow).await.expect("read").expect("run");
        assert_eq!(claimed.lease_owner.as_deref(), Some(first_holder.as_str()));
        let first_until = claimed.lease_until.expect("a lease");
        // Past the lease the claim gave, it is still held: renewed.
        let mut renewals = 0;
        let mut seen_until = first_until;
        until(
            "the first lease to have lapsed had it not been renewed",
            async || {
                let run = runs.get(&slow).await.expect("read").expect("run");
                if let Some(until) = run.lease_until
                    && until > seen_until
                {
                    renewals += 1;
                    seen_until = until;
                }
                workway_store::clock::now_ms() > first_until + 300
            },
        )
        .await;
        let held = runs.get(&slow).await.expect("read").expect("run");
        assert_eq!(held.status, RunStatus::Running, "{}", t.label);
        assert_eq!(held.lease_owner.as_deref(), Some(first_holder.as_str()));
        assert!(renewals >= 1, "{}: the lease was renewed", t.label);

        // A second worker on the same store, its own pool, competes: the
        // queue's oldest due run is the slow one, had its lease lapsed.
        let other = d.second_host(&t).await;
        let second = std::sync::Arc::new(workway_engine::executor::Executor::new(other, lease));
        let second_work = tokio::spawn({
            let second = second.clone();
            async move {
                second
                    .work(async {
                        let _ = stopped_b.await;
                    })
                    .await;
            }
        });
        // The second worker is polling: it takes and finishes a run queued
        // now (the first worker has no free slot), while the slow run stays
        // with the first.
        let quick = d.start_run("tell-id", json!({})).await;
        until("the second worker to finish the quick run", async || {
            runs.get(&quick)
                .await
                .expect("read")
                .is_some_and(|r| r.status.is_finished())
        })
        .await;
        let slow_now = runs.get(&slow).await.expect("read").expect("run");
        assert_eq!(
            (slow_now.status, slow_now.lease_owner.as_deref()),
            (RunStatus::Running, Some(first_holder.as_str())),
            "{}: the slow run is still the first worker's while the second one works",
            t.label
        );
        until("the slow run to finish", async || {
            runs.get(&slow)
                .await
                .expect("read")
                .is_some_and(|r| r.status.is_finished())
        })
        .await;
        let _ = stop_a.send(());
        let _ = stop_b.send(());
        let _ = first_work.await;
        let _ = second_work.await;

        for id in [&slow, &quick] {
            let run = runs.get(id).await.expect("read").expect("run");
            assert_eq!(
                run.status,
                RunStatus::Succeeded,
                "{}: {:?}",
                t.label,
                run.error
            );
            let attempts: Vec<(String, i64)> = runs
                .attempts(id)
                .await
                .expect("read")
                .iter()
                .map(|a| (a.step_id.clone(), a.attempt))
                .collect();
            assert_eq!(attempts, [("say".to_string(), 1)], "{}", t.label);
        }
        // Slack saw the slow step once: a takeover would have delivered it
        // again.
        let delivered = |id: &str| {
            d.slack
                .requests()
                .iter()
                .filter(|r| r.body_text().contains(id))
                .count()
        };
        assert_eq!(delivered(&slow), 1, "{}", t.label);
        assert_eq!(delivered(&quick), 1, "{}", t.label);
        t.cleanup().await;
    }
}
