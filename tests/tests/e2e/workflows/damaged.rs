//! Runs whose stored row was damaged behind the store's back, on SQLite
//! and PostgreSQL: a run whose `pins` or `trigger_data` column no longer
//! decodes fails before any step, with an error naming the run and the
//! column, instead of running unpinned or with null trigger data.

use std::time::Duration;

use serde_json::{Value, json};
use workway_store::runs::RunStatus;
use workway_store::testing::{TestStore, test_stores};

use super::{CHANNEL, Deployment, deployment};

/// A one-step manual workflow that says hello in Slack, quoting its input.
fn hello() -> String {
    format!(
        "name: hello\ntrigger:\n  kind: manual\nsteps:\n  - id: say\n    action: slack.send-message\n    input: {{ channel: \"{CHANNEL}\", text: \"hello {{{{ /trigger/who }}}}\" }}\n"
    )
}

/// Queue a run of `hello`, set its `column` to `stored` behind the
/// store's back, drive it, and check it failed for the damage, before any
/// step and without a message sent.
async fn damaged_run_fails(t: &TestStore, d: &Deployment, column: &str, stored: &str) {
    let id = d.start_run("hello", json!({"who": "ada"})).await;
    let changed = t
        .tamper(
            &format!("UPDATE runs SET {column} = $1 WHERE id = $2"),
            &[stored, &id],
        )
        .await;
    assert_eq!(changed, 1, "{}", t.label);
    let (run, attempts) = d.finish(&id, Duration::from_secs(30)).await;
    assert_eq!(run.status, RunStatus::Failed, "{}: {run:?}", t.label);
    assert!(
        attempts.is_empty(),
        "{}: no step runs: {attempts:?}",
        t.label
    );
    assert!(d.slack.messages_in(CHANNEL).is_empty(), "{}", t.label);
    let error: Value =
        serde_json::from_str(run.error.as_deref().expect("the run's error")).expect("JSON");
    let message = error["error"]["message"].as_str().expect("a message");
    assert!(
        message.starts_with(&format!("stored run `{id}` is damaged: {column}: ")),
        "{}: {column} = {stored:?}: {message}",
        t.label
    );
    assert_eq!(error["error"]["kind"], "damaged", "{error}");
    assert!(
        error["reason"]
            .as_str()
            .is_some_and(|r| r.contains("damaged")),
        "{error}"
    );
}

#[tokio::test]
async fn a_run_with_damaged_pins_fails_naming_the_column_instead_of_running_unpinned() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(&hello()).await;
        for stored in ["not json", "[]", "{\"slack\": 1}"] {
            damaged_run_fails(&t, &d, "pins", stored).await;
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_run_with_damaged_trigger_data_fails_instead_of_running_with_null_trigger_data() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(&hello()).await;
        for stored in ["not json", "{\"who\": "] {
            damaged_run_fails(&t, &d, "trigger_data", stored).await;
        }
        t.cleanup().await;
    }
}
