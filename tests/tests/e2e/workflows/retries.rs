//! Retries follow the step's typed error, on SQLite and PostgreSQL: a
//! `rate-limited` step waits the service's retry-after, upstream 5xx backs
//! off exponentially with jitter, `invalid-input` fails at once, and an
//! expired grant is refreshed and the step succeeds (retried once at
//! most). Every attempt is a row with its own error and idempotency key.

use std::time::Duration;

use serde_json::json;
use workway_mocks::services::notion;
use workway_mocks::{Flavor, TokenStatus, unauthorized};
use workway_store::runs::{AttemptRow, AttemptStatus, RunStatus};
use workway_store::testing::test_stores;

use super::{CHANNEL, DATABASE, Deployment, assert_succeeded, deployment, inbox_to_notion};

/// The attempts of step `id`.
fn of<'a>(attempts: &'a [AttemptRow], id: &str) -> Vec<&'a AttemptRow> {
    attempts.iter().filter(|a| a.step_id == id).collect()
}

fn error_kind(a: &AttemptRow) -> String {
    let error: serde_json::Value =
        serde_json::from_str(a.error.as_deref().expect("a failed attempt has an error"))
            .expect("JSON");
    error["kind"].as_str().expect("a kind").to_string()
}

async fn deployment_with_invoice(t: &workway_store::testing::TestStore) -> Deployment {
    let d = deployment(t).await;
    d.seed_invoice();
    d.save(&inbox_to_notion("  kind: manual")).await;
    d
}

#[tokio::test]
async fn rate_limited_waits_for_retry_after_then_succeeds() {
    for t in test_stores().await {
        let d = deployment_with_invoice(&t).await;
        d.notion
            .faults()
            .push_for("/v1/pages", notion::rate_limited(1));
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        let file = of(&attempts, "file");
        assert_eq!(file.len(), 2, "{}: {file:#?}", t.label);
        assert_eq!(error_kind(file[0]), "rate-limited");
        let failed_at = file[0].finished_at.expect("finished");
        assert_eq!(file[0].retry_at, Some(failed_at + 1000), "retry-after: 1 s");
        assert!(
            file[1].started_at >= failed_at + 1000,
            "the retry waited the second Notion asked for ({} ms)",
            file[1].started_at - failed_at
        );
        assert_ne!(file[0].idempotency_key, file[1].idempotency_key);
        assert_eq!(d.notion.pages(DATABASE).len(), 1);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn upstream_5xx_backs_off_exponentially_then_succeeds() {
    for t in test_stores().await {
        let d = deployment_with_invoice(&t).await;
        for _ in 0..3 {
            d.notion
                .faults()
                .push_for("/v1/pages", notion::internal_server_error());
        }
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        let file = of(&attempts, "file");
        let statuses: Vec<AttemptStatus> = file.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses,
            [
                AttemptStatus::Failed,
                AttemptStatus::Failed,
                AttemptStatus::Failed,
                AttemptStatus::Succeeded
            ],
            "{}",
            t.label
        );
        // The policy: 50 ms doubling, capped at 400, half of each delay
        // random ("equal jitter"): at least 25, 50, 100 ms, at most 50, 100, 200.
        for (n, a) in file[..3].iter().enumerate() {
            assert_eq!(error_kind(a), "upstream");
            let delay = a.retry_at.expect("a retry time") - a.finished_at.expect("finished");
            let base = 50 << n;
            assert!(
                (base / 2..=base).contains(&delay),
                "attempt {}: delay {delay} ms, expected {}..={base}",
                n + 1,
                base / 2
            );
            assert!(file[n + 1].started_at >= a.retry_at.expect("retry"));
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn invalid_input_fails_the_step_at_once() {
    for t in test_stores().await {
        let d = deployment_with_invoice(&t).await;
        d.notion.faults().push_for(
            "/v1/pages",
            notion::validation_error("body.properties.From.email should be a string"),
        );
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_eq!(run.status, RunStatus::Failed, "{}", t.label);
        let file = of(&attempts, "file");
        assert_eq!(file.len(), 1, "not retried: {file:#?}");
        assert_eq!(error_kind(file[0]), "invalid-input");
        assert!(of(&attempts, "tell").is_empty(), "later steps do not run");
        let error = run.error.expect("an error");
        assert!(
            error.contains("not transient") || error.contains("not retried"),
            "{error}"
        );
        assert!(d.slack.messages_in(CHANNEL).is_empty());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_step_succeeds() {
    for t in test_stores().await {
        let d = deployment_with_invoice(&t).await;
        // The stored Google token has expired: the host refreshes it and
        // the step succeeds on its first attempt.
        d.google.expire_current_access_tokens();
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        assert_eq!(of(&attempts, "fetch").len(), 1);
        assert_eq!(d.google.successful_refresh_count(), 1, "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn auth_expired_refreshes_the_connection_and_retries_once() {
    for t in test_stores().await {
        let d = deployment_with_invoice(&t).await;
        // Gmail rejects the token even after the broker's own refresh, so
        // the plugin reports auth-expired: the executor refreshes and
        // retries the step, which then succeeds.
        let rejected = || unauthorized(Flavor::Google, Some(TokenStatus::Expired));
        d.gmail.faults().push(rejected());
        d.gmail.faults().push(rejected());
        let id = d.start_run("inbox-to-notion", json!({})).await;
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        let fetch = of(&attempts, "fetch");
        assert_eq!(fetch.len(), 2, "{}: {fetch:#?}", t.label);
        assert_eq!(error_kind(fetch[0]), "auth-expired");
        assert_eq!(fetch[1].status, AttemptStatus::Succeeded);

        // Rejected every time: one retry, then the run fails and says to reconnect.
        let id = d.start_run("inbox-to-notion", json!({})).await;
        for _ in 0..6 {
            d.gmail.faults().push(rejected());
        }
        let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
        assert_eq!(run.status, RunStatus::Failed);
        let fetch = of(&attempts, "fetch");
        assert_eq!(fetch.len(), 2, "retried once only: {fetch:#?}");
        assert!(fetch.iter().all(|a| error_kind(a) == "auth-expired"));
        t.cleanup().await;
    }
}
