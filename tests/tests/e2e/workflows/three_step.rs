//! The three-step workflow (gmail.fetch-email -> notion.create-page ->
//! slack.send-message) runs from the manual trigger: each step's output
//! feeds the next through the input templates, every step is committed
//! with its report, and each service saw exactly one request per step.

use std::time::Duration;

use serde_json::json;
use workway_store::runs::{AttemptStatus, TriggerKind};
use workway_store::testing::test_stores;

use super::{CHANNEL, DATABASE, assert_succeeded, deployment, inbox_to_notion};

#[tokio::test]
async fn a_three_step_workflow_runs_from_the_manual_trigger() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.seed_invoice();
        let saved = d.save(&inbox_to_notion("  kind: manual")).await;
        assert_eq!(saved.row.version, 1);

        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        assert_eq!(run.trigger_kind, TriggerKind::Manual);

        // One attempt per step, in order, each with its report.
        let steps: Vec<(&str, AttemptStatus, i64)> = attempts
            .iter()
            .map(|a| (a.step_id.as_str(), a.status, a.attempt))
            .collect();
        assert_eq!(
            steps,
            [
                ("fetch", AttemptStatus::Succeeded, 1),
                ("file", AttemptStatus::Succeeded, 1),
                ("tell", AttemptStatus::Succeeded, 1),
            ],
            "{}",
            t.label
        );
        for a in &attempts {
            let report: serde_json::Value =
                serde_json::from_str(a.report.as_deref().expect("a report")).expect("JSON");
            assert!(report["fuel_used"].as_u64().expect("fuel") > 0, "{report}");
            assert_eq!(report["billing_class"], "light");
            assert_eq!(a.idempotency_key, format!("{id}:{}:1", a.step_index));
        }

        // What the services received: the email filed, the team told.
        let pages = d.notion.pages(DATABASE);
        assert_eq!(pages.len(), 1, "{}", t.label);
        assert_eq!(
            pages[0]["properties"]["From"]["email"], "ada@example.com",
            "{}",
            pages[0]
        );
        let told = d.slack.messages_in(CHANNEL);
        assert_eq!(told.len(), 1);
        let text = told[0].text.clone().expect("text");
        let url = pages[0]["url"].as_str().expect("a page url");
        assert_eq!(
            text,
            format!("Filed \"Invoice 42 is due\" in Notion: {url}"),
            "{}",
            t.label
        );
        let page_posts = d
            .notion
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/pages")
            .count();
        assert_eq!(page_posts, 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_false_condition_skips_the_step_and_later_steps_still_run() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        // No email: `file` is skipped; `tell` refers to the email, so it
        // fails with a template error that names the field and the pointer.
        d.save(&inbox_to_notion("  kind: manual")).await;
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        let statuses: Vec<AttemptStatus> = attempts.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses,
            [
                AttemptStatus::Succeeded,
                AttemptStatus::Skipped,
                AttemptStatus::Failed
            ],
            "{}",
            t.label
        );
        let error = run.error.expect("the run's error");
        assert!(error.contains("template"), "{error}");
        assert!(error.contains("input.text"), "{error}");
        assert!(
            error.contains("/steps/fetch/output/messages/0/subject"),
            "{error}"
        );
        assert!(d.notion.pages(DATABASE).is_empty());
        assert!(d.slack.messages_in(super::CHANNEL).is_empty());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_run_keeps_the_workflow_version_it_started_with() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.seed_invoice();
        d.save(&inbox_to_notion("  kind: manual")).await;
        let id = d.start_run("inbox-to-notion", json!({})).await;
        // Version 2 tells another channel; the queued run still runs v1.
        let v2 = d
            .save(&inbox_to_notion("  kind: manual").replace(CHANNEL, "C0999ZZZZ"))
            .await;
        assert_eq!(v2.row.version, 2);
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        assert_eq!(run.workflow_version, 1);
        assert_eq!(d.slack.messages_in(CHANNEL).len(), 1, "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_step_still_executing_past_the_threshold_shows_as_running_then_finishes_in_place() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.seed_invoice();
        d.save(&inbox_to_notion("  kind: manual")).await;
        // Slack holds the third step's message well past
        // `record_running_after_ms` (50 ms by default).
        d.slack.faults().push(
            workway_mocks::MockResponse::json(
                200,
                json!({"ok": true, "channel": CHANNEL, "ts": "1712345678.000100", "message": {"text": "slow"}}),
            )
            .delay(Duration::from_millis(1500)),
        );
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let runs = d.platform.store.runs();
        let watched = async {
            loop {
                let attempts = runs.attempts(&id).await.expect("readable");
                if let Some(tell) = attempts.iter().find(|a| a.step_id == "tell") {
                    return tell.clone();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let (running, (run, attempts)) =
            tokio::join!(watched, d.finish(&id, Duration::from_secs(30)));
        // Seen while Slack held it: running, with its input and key.
        assert_eq!(running.status, AttemptStatus::Running, "{}", t.label);
        assert_eq!(running.idempotency_key, format!("{id}:2:1"));
        assert!(
            running
                .input
                .as_deref()
                .is_some_and(|i| i.contains(CHANNEL)),
            "{:?}",
            running.input
        );
        assert_eq!(running.finished_at, None);
        // Then finished in the same row: one attempt per step.
        assert_succeeded(&run, &attempts);
        assert_eq!(attempts.len(), 3, "{}", t.label);
        let tell = &attempts[2];
        assert_eq!((tell.step_id.as_str(), tell.attempt), ("tell", 1));
        assert_eq!(tell.started_at, running.started_at, "{}", t.label);
        assert!(
            tell.finished_at
                .is_some_and(|f| f >= tell.started_at + 1_400),
            "{tell:?}"
        );
        t.cleanup().await;
    }
}

/// The sample lines of `metric` in the Prometheus text `body` whose
/// labels include every one of `labels`, with their values.
fn samples(body: &str, metric: &str, labels: &[&str]) -> Vec<f64> {
    body.lines()
        .filter(|line| {
            line.starts_with(&format!("{metric}{{")) || line.starts_with(&format!("{metric} "))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next().and_then(|v| v.parse().ok()))
        .collect()
}

#[tokio::test]
async fn a_run_through_the_executor_is_counted_in_the_metrics() {
    workway_engine::metrics::install().expect("the recorder installs");
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.seed_invoice();
        d.save(&inbox_to_notion("  kind: manual")).await;
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        let queued = workway_engine::metrics::sample_queue_depth(&d.platform.store)
            .await
            .expect("the queue is counted");
        assert_eq!(queued, 0, "{}", t.label);

        // Other tests in this process run too once the recorder is in:
        // counts are at least this run's, never exact.
        let body = workway_engine::metrics::render().expect("installed");
        let executions = samples(
            &body,
            "workway_executions_total",
            &[r#"outcome="ok""#, r#"billing_class="light""#],
        );
        assert_eq!(executions.len(), 1, "{body}");
        assert!(executions[0] >= 3.0, "{body}");
        let steps = samples(
            &body,
            "workway_step_duration_seconds_bucket",
            &[r#"outcome="ok""#, r#"le="+Inf""#],
        );
        assert_eq!(steps.len(), 1, "{body}");
        assert!(steps[0] >= 3.0, "{body}");
        assert!(
            !samples(
                &body,
                "workway_step_duration_seconds_bucket",
                &[r#"le="0.5""#]
            )
            .is_empty(),
            "{body}"
        );
        let fuel = samples(&body, "workway_execution_fuel_sum", &[]);
        assert!(fuel.first().is_some_and(|sum| *sum > 0.0), "{body}");
        assert_eq!(
            samples(&body, "workway_runs_queued", &[]).len(),
            1,
            "{body}"
        );
        t.cleanup().await;
    }
}
