//! `DELETE /v1/workflows/{name}` over real HTTP, on SQLite and PostgreSQL:
//! the workflow's runs stay readable with its name and the version they
//! ran, those still queued are cancelled, its webhook URL answers 404,
//! its schedule stops firing, its runs cannot be rerun, and its name is
//! free for a new workflow at version 1; a run a trigger inserts just
//! after the deletion is cancelled too. Another account gets 404 and
//! changes nothing.

use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use serde_json::{Value, json};
use workway_engine::triggers::schedule::fire_due;
use workway_engine::triggers::webhook::{self, SIGNATURE_HEADER};
use workway_fixtures::{CHANNEL, USER, first_party_scopes};
use workway_store::testing::test_stores;
use workway_store::workflows::TriggerKind;

use super::client::{Api, Auth, Response, account, busy_api};

/// A workflow called `name` started by `trigger` (YAML flow mapping) that
/// posts to Slack.
fn workflow(name: &str, trigger: &str, text: &str) -> String {
    format!(
        r#"
name: {name}
trigger: {trigger}
steps:
  - id: tell
    action: slack.send-message
    input:
      channel: "{CHANNEL}"
      text: "{text}"
"#
    )
}

/// POST a YAML definition.
async fn save(api: &Api, auth: Auth<'_>, yaml: &str) -> Response {
    api.raw(
        "POST",
        "/v1/workflows",
        auth,
        &[("content-type", "application/yaml")],
        yaml.as_bytes(),
    )
    .await
}

/// Start a manual run of `name`; its id.
async fn start(api: &Api, auth: Auth<'_>, name: &str) -> String {
    let r = api
        .post("/v1/runs", auth, &json!({"workflow": name, "input": {}}))
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    r.json["run_id"].as_str().expect("a run id").to_string()
}

/// A delivery to `path` signed with `secret`: the status and the answer.
async fn deliver(api: &Api, path: &str, secret: &str, id: &str) -> Response {
    let body = br#"{"invoice": 42}"#;
    let now = Utc::now().timestamp();
    let signature = webhook::sign(secret, now, body);
    api.raw(
        "POST",
        path,
        Auth::None,
        &[
            ("content-type", "application/json"),
            (SIGNATURE_HEADER, signature.as_str()),
            ("x-delivery-id", id),
        ],
        body,
    )
    .await
}

/// The ids and workflow names of a page of runs.
fn listed(page: &Value) -> Vec<(String, String)> {
    page["runs"]
        .as_array()
        .expect("a list of runs")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("an id").to_string(),
                r["workflow"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_deleted_workflow_stops_keeps_its_runs_readable_and_frees_its_name() {
    for t in test_stores().await {
        let (d, api) = busy_api(&t).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let vault = &d.platform.vault;
        let users = vault
            .find(USER, "slack")
            .await
            .expect("read")
            .expect("the deployment user's Slack connection");
        let slack_token = vault.access_token(&users.info.id).await.expect("opens");
        let r = api
            .post(
                "/v1/connections",
                ann.token(),
                &json!({"provider": "slack", "secret": slack_token.expose(), "scopes": first_party_scopes("slack")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);

        // Three workflows: manual, webhook, schedule.
        let r = save(&api, ann.token(), &workflow("tell", "{kind: manual}", "v1")).await;
        assert_eq!(r.status, 201, "{}", r.json);
        let r = save(&api, ann.token(), &workflow("tell", "{kind: manual}", "v2")).await;
        assert_eq!(r.json["version"], 2, "{}", r.json);
        let old_id = r.json["id"].as_str().expect("an id").to_string();
        let r = save(
            &api,
            ann.token(),
            &workflow("hook", "{kind: webhook}", "hooked"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let hook_path = r.json["webhook"]["path"]
            .as_str()
            .expect("a path")
            .to_string();
        let hook_secret = r.json["webhook"]["secret"]
            .as_str()
            .expect("the secret")
            .to_string();
        let r = save(
            &api,
            ann.token(),
            &workflow(
                "tick",
                "{kind: schedule, cron: \"* * * * * *\", timezone: UTC}",
                "tick",
            ),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let tick_saved = r.json["updated_at"].as_i64().expect("a time");

        // Runs: one of `tell` finished, one queued (nobody drives runs in
        // this test until `finish`); one of `hook` by a delivery; one of
        // `tick` by its schedule.
        let finished = start(&api, ann.token(), "tell").await;
        let (run, attempts) = d.finish(&finished, Duration::from_secs(60)).await;
        crate::workflows::assert_succeeded(&run, &attempts);
        let queued = start(&api, ann.token(), "tell").await;
        let r = deliver(&api, &hook_path, &hook_secret, "evt_1").await;
        assert_eq!(r.status, 202, "{} ({})", r.json, t.label);
        let hooked = r.json["run_id"].as_str().expect("a run id").to_string();
        let first_tick = Utc
            .timestamp_millis_opt((tick_saved + 999) / 1000 * 1000)
            .single()
            .expect("a time");
        let fired = fire_due(&d.platform, first_tick).await.expect("fired");
        assert_eq!(fired.len(), 1, "the schedule fires ({})", t.label);
        let ticked = fired[0].run_id.clone();

        // Bob cannot delete Ann's workflow: 404, as a missing one; a
        // read-only token of Ann's cannot either.
        for auth in [bob.token(), bob.session()] {
            let theirs = api.delete("/v1/workflows/tell", auth).await;
            let missing = api.delete("/v1/workflows/no-such", auth).await;
            assert_eq!(
                (theirs.status, theirs.code()),
                (404, "not_found"),
                "{} ({})",
                theirs.json,
                t.label
            );
            assert_eq!(
                theirs.json, missing.json,
                "another's answers as a missing one"
            );
        }
        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "ro", "scopes": ["read"]}),
            )
            .await;
        let read_only = r.json["token"].as_str().expect("a token").to_string();
        let r = api
            .delete("/v1/workflows/tell", Auth::Token(&read_only))
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api.get("/v1/workflows/tell", ann.token()).await;
        assert_eq!(r.status, 200, "still there: {}", r.json);
        let r = api.get(&format!("/v1/runs/{queued}"), ann.token()).await;
        assert_eq!(r.json["status"], "queued", "{}", r.json);

        // A trigger that read `tell` before the deletion and inserts its
        // run after it.
        let stale = workway_engine::saved::load(&d.platform, &ann.id, "tell")
            .await
            .expect("loads");

        // Ann deletes all three.
        for name in ["tell", "hook", "tick"] {
            let r = api
                .delete(&format!("/v1/workflows/{name}"), ann.session())
                .await;
            assert_eq!(r.status, 204, "{name}: {} ({})", r.json, t.label);
            let r = api
                .delete(&format!("/v1/workflows/{name}"), ann.token())
                .await;
            assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
            for path in [
                format!("/v1/workflows/{name}"),
                format!("/v1/workflows/{name}/versions"),
                format!("/v1/workflows/{name}/versions/1"),
            ] {
                let r = api.get(&path, ann.token()).await;
                assert_eq!((r.status, r.code()), (404, "not_found"), "{path}");
            }
        }
        let r = api.get("/v1/workflows", ann.token()).await;
        assert_eq!(r.json, json!([]), "{}", r.json);

        // The late run is recorded cancelled, like those the deletion saw.
        let late = workway_engine::triggers::start_run(
            &d.platform,
            &stale.row,
            &stale.definition,
            TriggerKind::Manual,
            &json!({}),
            &[],
        )
        .await
        .expect("recorded");
        let r = api
            .get(&format!("/v1/runs/{}", late.run_id), ann.token())
            .await;
        assert_eq!(r.json["status"], "cancelled", "{} ({})", r.json, t.label);

        // Its runs stay readable, named; the active ones are cancelled.
        let r = api.get(&format!("/v1/runs/{finished}"), ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(
            (
                r.json["status"].as_str(),
                r.json["workflow"].as_str(),
                r.json["workflow_version"].as_i64()
            ),
            (Some("succeeded"), Some("tell"), Some(2))
        );
        assert_eq!(r.json["attempts"][0]["status"], "succeeded", "{}", r.json);
        for (id, name) in [(&queued, "tell"), (&hooked, "hook"), (&ticked, "tick")] {
            let r = api.get(&format!("/v1/runs/{id}"), ann.token()).await;
            assert_eq!(
                (r.json["status"].as_str(), r.json["workflow"].as_str()),
                (Some("cancelled"), Some(name)),
                "{} ({})",
                r.json,
                t.label
            );
            assert!(r.json["finished_at"].is_i64(), "{}", r.json);
            assert!(
                r.json["error"].to_string().contains("deleted"),
                "{}",
                r.json
            );
        }
        let r = api.get("/v1/runs?limit=100", ann.token()).await;
        let mut all = listed(&r.json);
        all.sort();
        let mut expected = vec![
            (late.run_id.clone(), "tell".to_string()),
            (finished.clone(), "tell".to_string()),
            (queued.clone(), "tell".to_string()),
            (hooked.clone(), "hook".to_string()),
            (ticked.clone(), "tick".to_string()),
        ];
        expected.sort();
        assert_eq!(all, expected, "{}", r.json);
        let r = api
            .post(
                &format!("/v1/runs/{finished}/rerun"),
                ann.token(),
                &json!({}),
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "workflow_gone"), "{}", r.json);
        let r = api
            .post(
                "/v1/runs",
                ann.token(),
                &json!({"workflow": "tell", "input": {}}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // Nothing starts it any more: the hook URL is unknown (even to a
        // delivery signed with the right secret), the schedule is silent.
        let r = deliver(&api, &hook_path, &hook_secret, "evt_2").await;
        assert_eq!(r.status, 404, "{} ({})", r.json, t.label);
        let later = first_tick + chrono::Duration::seconds(5);
        let fired = fire_due(&d.platform, later).await.expect("fired");
        assert!(fired.is_empty(), "{fired:?} ({})", t.label);

        // The names are free: new workflows at version 1, with a new
        // webhook URL and secret; the old URL stays unknown.
        let r = save(
            &api,
            ann.token(),
            &workflow("tell", "{kind: manual}", "reborn"),
        )
        .await;
        assert_eq!(
            (r.status, r.json["version"].as_i64()),
            (201, Some(1)),
            "{}",
            r.json
        );
        assert_ne!(r.json["id"], old_id.as_str(), "a new workflow");
        let r = save(
            &api,
            ann.token(),
            &workflow("hook", "{kind: webhook}", "again"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let new_path = r.json["webhook"]["path"]
            .as_str()
            .expect("a path")
            .to_string();
        let new_secret = r.json["webhook"]["secret"]
            .as_str()
            .expect("shown for the new workflow")
            .to_string();
        assert_ne!(new_path, hook_path);
        let r = deliver(&api, &hook_path, &new_secret, "evt_3").await;
        assert_eq!(r.status, 404, "{}", r.json);
        let r = deliver(&api, &new_path, &new_secret, "evt_4").await;
        assert_eq!(r.status, 202, "{}", r.json);

        // The new `tell` runs; filtering by its name shows its runs only,
        // while the deleted one's keep their name in the full list.
        let reborn = start(&api, ann.token(), "tell").await;
        let (run, attempts) = d.finish(&reborn, Duration::from_secs(60)).await;
        crate::workflows::assert_succeeded(&run, &attempts);
        assert!(
            d.slack
                .messages_in(CHANNEL)
                .iter()
                .any(|m| m.text.as_deref() == Some("reborn")),
            "the new workflow ran"
        );
        let r = api.get("/v1/runs?workflow=tell", ann.token()).await;
        assert_eq!(
            listed(&r.json),
            [(reborn.clone(), "tell".to_string())],
            "{}",
            r.json
        );
        let r = api.get(&format!("/v1/runs/{queued}"), ann.token()).await;
        assert_eq!(r.json["workflow"], "tell", "{}", r.json);

        // Bob's lists stay empty; his workflow of the same name is his.
        let r = api.get("/v1/runs", bob.token()).await;
        assert_eq!(r.json["runs"], json!([]), "{}", r.json);
        let r = api.delete("/v1/workflows/tell", bob.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get("/v1/workflows/tell", ann.token()).await;
        assert_eq!(r.status, 200, "Ann's new one is untouched: {}", r.json);
        t.cleanup().await;
    }
}
