//! The account's resources through the API: workflows (YAML and JSON,
//! versions, webhook secrets shown once), runs (started through the API
//! and finished by the deployment's executor, listed a page at a time,
//! read back step by step, refused past the queue bound), installations
//! and connections. Every route works for its owner; another account gets
//! 404 for each of them exactly as for a missing one, and sees none of
//! them in its lists; a read-only token may read but changes nothing.

use std::time::Duration;

use serde_json::{Value, json};
use workway_engine::triggers::webhook;
use workway_fixtures::{CHANNEL, first_party_scopes};
use workway_store::testing::test_stores;
use workway_vault::oauth::token::TokenSet;

use super::client::{Api, Auth, Response, account, connect_slack};
use crate::workflows::Deployment;

/// A manual workflow that tells Slack what its input says.
fn tell(prefix: &str) -> String {
    format!(
        r#"
name: tell
description: Tell the team what the input says.
trigger:
  kind: manual
  input_schema:
    type: object
    required: [text]
    properties:
      text: {{ type: string }}
steps:
  - id: tell
    action: slack.send-message
    input:
      channel: "{CHANNEL}"
      text: "{prefix}: {{{{ /trigger/text }}}}"
"#
    )
}

/// A webhook workflow.
fn hook() -> String {
    format!(
        r#"
name: hook
trigger:
  kind: webhook
steps:
  - id: tell
    action: slack.send-message
    input:
      channel: "{CHANNEL}"
      text: "hooked"
"#
    )
}

/// POST a YAML definition.
async fn save_yaml(api: &Api, auth: Auth<'_>, yaml: &str) -> Response {
    api.raw(
        "POST",
        "/v1/workflows",
        auth,
        &[("content-type", "application/yaml")],
        yaml.as_bytes(),
    )
    .await
}

/// A 400 naming `field`.
fn assert_invalid(r: &Response, field: &str) {
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
    assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
}

/// The ids of a page of runs.
fn run_ids(page: &Value) -> Vec<String> {
    page["runs"]
        .as_array()
        .expect("a list of runs")
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_string())
        .collect()
}

#[tokio::test]
async fn an_account_saves_workflows_and_starts_lists_and_reads_runs() {
    for t in test_stores().await {
        let d = Deployment::start_with(&t, crate::support::shared_runtime(), |c| {
            c.triggers.max_queued_runs_per_owner = 3;
            c.accounts.api_requests_per_window = 1_000;
        })
        .await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        connect_slack(&d, &ann.id).await;

        // Saving: YAML, then the next version as JSON; bad text and a
        // definition that does not hold are refused, saying why.
        let r = save_yaml(&api, ann.token(), &tell("Note")).await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(
            (r.json["name"].as_str(), r.json["version"].as_i64()),
            (Some("tell"), Some(1))
        );
        assert_eq!(r.json["trigger"], "manual");
        assert_eq!(
            r.json["definition"]["steps"][0]["action"],
            "slack.send-message"
        );
        assert!(r.json.get("webhook").is_none(), "{}", r.json);
        let v1 = r.json["definition"].clone();
        let mut v2 = v1.clone();
        v2["steps"][0]["input"]["text"] = json!("Note v2: {{ /trigger/text }}");
        let r = api.post("/v1/workflows", ann.session(), &v2).await;
        assert_eq!(
            (r.status, r.json["version"].as_i64()),
            (201, Some(2)),
            "{}",
            r.json
        );

        let r = save_yaml(&api, ann.token(), "name: [unclosed").await;
        assert_invalid(&r, "definition");
        let r = api
            .raw(
                "POST",
                "/v1/workflows",
                ann.token(),
                &[("content-type", "text/plain")],
                b"name: x",
            )
            .await;
        assert_eq!((r.status, r.code()), (415, "invalid_body"), "{}", r.json);
        let charge = "name: charge\ntrigger: {kind: manual}\nsteps:\n  - id: charge\n    action: stripe.create-customer\n    input: {}\n";
        let r = save_yaml(&api, ann.token(), charge).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "invalid_workflow"),
            "{}",
            r.json
        );
        let problems = r.json["error"]["details"]["problems"]
            .as_array()
            .expect("problems");
        assert!(
            problems
                .iter()
                .any(|p| p["message"].as_str().is_some_and(|m| m.contains("stripe"))),
            "the validator names what is missing: {}",
            r.json
        );

        // A webhook workflow: its secret is shown when it is made, not when
        // it is saved again, and anew when rotated.
        let r = save_yaml(&api, ann.token(), &hook()).await;
        assert_eq!(r.status, 201, "{}", r.json);
        let path = r.json["webhook"]["path"]
            .as_str()
            .expect("a path")
            .to_string();
        let secret = r.json["webhook"]["secret"]
            .as_str()
            .expect("the secret, once")
            .to_string();
        assert!(
            secret.starts_with("whsec_") && path.starts_with("/v1/hooks/"),
            "{}",
            r.json
        );
        let stored = d
            .platform
            .store
            .workflows()
            .find(&ann.id, "hook")
            .await
            .expect("read")
            .expect("saved");
        let token = stored.webhook_token.clone().expect("a token");
        let opened = webhook::open_secret(
            &d.platform,
            &token,
            stored.webhook_secret.as_deref().expect("sealed"),
        )
        .expect("opens");
        assert_eq!(
            opened, secret,
            "the secret shown is the one deliveries are checked with"
        );
        let r = save_yaml(&api, ann.token(), &hook()).await;
        assert_eq!(
            (r.status, r.json["version"].as_i64()),
            (201, Some(2)),
            "{}",
            r.json
        );
        assert_eq!(r.json["webhook"]["path"], path.as_str());
        assert!(
            r.json["webhook"].get("secret").is_none(),
            "shown only once: {}",
            r.json
        );
        let r = api
            .post("/v1/workflows/hook/rotate-secret", ann.token(), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let rotated = r.json["webhook"]["secret"].as_str().expect("a new secret");
        assert!(
            rotated.starts_with("whsec_") && rotated != secret,
            "{}",
            r.json
        );
        let r = api
            .post("/v1/workflows/tell/rotate-secret", ann.token(), &json!({}))
            .await;
        assert_eq!((r.status, r.code()), (409, "not_webhook"), "{}", r.json);

        // Reading: the list, one workflow, its versions.
        let r = api.get("/v1/workflows", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let listed = r.json.as_array().expect("a list");
        assert_eq!(listed.len(), 2, "{}", r.json);
        assert_eq!(
            (
                listed[0]["name"].as_str(),
                listed[0]["trigger"].as_str(),
                listed[0]["webhook_path"].as_str()
            ),
            (Some("hook"), Some("webhook"), Some(path.as_str()))
        );
        assert_eq!(
            (listed[1]["name"].as_str(), listed[1]["version"].as_i64()),
            (Some("tell"), Some(2))
        );
        assert!(listed[1]["webhook_path"].is_null() && listed[1]["created_at"].is_i64());
        let r = api.get("/v1/workflows/tell", ann.token()).await;
        assert_eq!(
            (r.status, r.json["version"].as_i64()),
            (200, Some(2)),
            "{}",
            r.json
        );
        assert_eq!(r.json["definition"], v2);
        let r = api.get("/v1/workflows/tell/versions", ann.token()).await;
        let versions: Vec<_> = r
            .json
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v["version"].as_i64())
            .collect();
        assert_eq!(versions, [Some(1), Some(2)], "{}", r.json);
        let r = api.get("/v1/workflows/tell/versions/1", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(
            (
                r.json["version"].as_i64(),
                r.json["current_version"].as_i64()
            ),
            (Some(1), Some(2))
        );
        assert_eq!(r.json["definition"], v1);
        let r = api.get("/v1/workflows/tell/versions/3", ann.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        assert_invalid(
            &api.get("/v1/workflows/tell/versions/latest", ann.token())
                .await,
            "version",
        );
        let r = api.get("/v1/workflows/nope", ann.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // A run started through the API, finished by the executor.
        let r = api
            .post(
                "/v1/runs",
                ann.token(),
                &json!({"workflow": "tell", "input": {}}),
            )
            .await;
        assert_invalid(&r, "input");
        let r = api
            .post("/v1/runs", ann.token(), &json!({"workflow": "nope"}))
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .post(
                "/v1/runs",
                ann.token(),
                &json!({"workflow": "tell", "input": {"text": "hello"}}),
            )
            .await;
        assert_eq!(r.status, 202, "{} ({})", r.json, t.label);
        let first = r.json["run_id"].as_str().expect("a run id").to_string();
        let r = api.get(&format!("/v1/runs/{first}"), ann.token()).await;
        assert_eq!(
            (r.status, r.json["status"].as_str()),
            (200, Some("queued")),
            "{}",
            r.json
        );
        let (run, _) = d.finish(&first, Duration::from_secs(30)).await;
        assert!(run.status.is_finished());
        let r = api.get(&format!("/v1/runs/{first}"), ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["status"], "succeeded", "{} ({})", r.json, t.label);
        assert_eq!(
            (
                r.json["workflow"].as_str(),
                r.json["workflow_version"].as_i64()
            ),
            (Some("tell"), Some(2))
        );
        assert_eq!(
            (r.json["trigger"].as_str(), r.json["input"]["text"].as_str()),
            (Some("manual"), Some("hello"))
        );
        let attempts = r.json["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 1, "{}", r.json);
        let a = &attempts[0];
        assert_eq!(
            (
                a["step_id"].as_str(),
                a["attempt"].as_i64(),
                a["status"].as_str()
            ),
            (Some("tell"), Some(1), Some("succeeded"))
        );
        assert!(a["fuel_used"].as_u64().is_some_and(|f| f > 0), "{a}");
        assert!(
            a["billing_class"].is_string()
                && a["wall_time_us"].is_u64()
                && a["finished_at"].is_i64(),
            "{a}"
        );
        assert!(a.get("idempotency_key").is_none(), "{a}");
        assert!(
            d.slack
                .messages_in(CHANNEL)
                .iter()
                .any(|m| m.text.as_deref() == Some("Note v2: hello")),
            "the run posted with the current version"
        );

        // The queue bound: three waiting runs, the fourth is refused.
        let mut queued = Vec::new();
        for i in 0..3 {
            let r = api
                .post(
                    "/v1/runs",
                    ann.token(),
                    &json!({"workflow": "tell", "input": {"text": format!("n{i}")}}),
                )
                .await;
            assert_eq!(r.status, 202, "{}", r.json);
            queued.push(r.json["run_id"].as_str().expect("an id").to_string());
        }
        let r = api
            .post(
                "/v1/runs",
                ann.token(),
                &json!({"workflow": "tell", "input": {"text": "one more"}}),
            )
            .await;
        assert_eq!((r.status, r.code()), (429, "queue_full"), "{}", r.json);

        // Pages, newest first, joined by the cursor.
        let r = api.get("/v1/runs?limit=100", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let all = run_ids(&r.json);
        assert_eq!(all.len(), 4, "{}", r.json);
        assert_eq!(all.last(), Some(&first), "the oldest run is last");
        assert!(r.json["next_cursor"].is_null());
        let page1 = api.get("/v1/runs?limit=2", ann.token()).await;
        let cursor = page1.json["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_string();
        let page2 = api
            .get(&format!("/v1/runs?limit=2&cursor={cursor}"), ann.token())
            .await;
        assert_eq!(page2.status, 200, "{}", page2.json);
        assert!(page2.json["next_cursor"].is_null(), "{}", page2.json);
        let joined: Vec<String> = run_ids(&page1.json)
            .into_iter()
            .chain(run_ids(&page2.json))
            .collect();
        assert_eq!(joined, all, "{}", t.label);
        let default = api.get("/v1/runs", ann.token()).await;
        assert_eq!(run_ids(&default.json), all);
        let r = api
            .get("/v1/runs?status=succeeded&workflow=tell", ann.token())
            .await;
        assert_eq!(run_ids(&r.json), [first.as_str()], "{}", r.json);
        assert_eq!(r.json["runs"][0]["workflow"], "tell");
        let r = api.get("/v1/runs?status=queued", ann.token()).await;
        let mut waiting = run_ids(&r.json);
        waiting.sort();
        queued.sort();
        assert_eq!(waiting, queued);
        let r = api.get("/v1/runs?workflow=hook", ann.token()).await;
        assert_eq!(run_ids(&r.json), Vec::<String>::new());
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=many", "limit"),
            ("status=done", "status"),
            ("workflow=nope", "workflow"),
            ("cursor=not-a-cursor", "cursor"),
            ("page=2", "query"),
        ] {
            assert_invalid(
                &api.get(&format!("/v1/runs?{query}"), ann.token()).await,
                field,
            );
        }
        let r = api.get("/v1/runs/no-such-run", ann.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_account_installs_connects_and_disconnects_and_a_read_token_changes_nothing() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;

        let r = api.get("/v1/installations", ann.token()).await;
        assert_eq!(
            (r.status, r.json.clone()),
            (200, json!([])),
            "the deployment user's are not ann's"
        );
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(r.json["integration"], "slack");
        assert!(
            r.json["version"].is_string()
                && r.json["digest"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("sha256:"))
        );
        let r = api
            .install(
                ann.session(),
                &json!({"integration": "slack", "config": {"default.channel": CHANNEL}}),
            )
            .await;
        assert_eq!(
            (r.status, r.json["config"]["default.channel"].as_str()),
            (201, Some(CHANNEL)),
            "{}",
            r.json
        );
        let r = api
            .install(ann.token(), &json!({"integration": "notion"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);

        let r = api
            .install(ann.token(), &json!({"integration": "nope"}))
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        assert_eq!(r.json["error"]["details"]["field"], "integration");
        let r = api
            .install(
                ann.token(),
                &json!({"integration": "gmail", "version": "99.0.0"}),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.json);
        let r = api
            .install(
                ann.token(),
                &json!({"integration": "gmail", "config": {"bad key": "x"}}),
            )
            .await;
        assert_invalid(&r, "config");
        assert_invalid(
            &api.install(ann.token(), &json!({"integration": " "})).await,
            "integration",
        );
        let r = api.install(ann.token(), &json!({"version": "1"})).await;
        assert_eq!((r.status, r.code()), (400, "invalid_body"), "{}", r.json);

        let r = api.delete("/v1/installations/notion", ann.token()).await;
        assert_eq!(
            (r.status, r.json.clone()),
            (200, json!({"integration": "notion", "workflows": []})),
            "no workflow of ann's uses it"
        );
        let r = api.delete("/v1/installations/notion", ann.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get("/v1/installations", ann.token()).await;
        let names: Vec<_> = r
            .json
            .as_array()
            .expect("a list")
            .iter()
            .map(|i| i["integration"].clone())
            .collect();
        assert_eq!(names, [json!("slack")], "{}", r.json);

        // Connections: listed without their tokens, disconnected by id.
        let slack = connect_slack(&d, &ann.id).await;
        let fake_token = "secret_notion_token_never_shown";
        let notion = d
            .platform
            .vault
            .save(
                &ann.id,
                "notion",
                &[],
                &TokenSet {
                    access_token: workway_capabilities::secret::Secret::new(fake_token.to_string()),
                    refresh_token: None,
                    expires_at: None,
                    scopes: None,
                    account: Some("Ann's notes".into()),
                },
            )
            .await
            .expect("connected")
            .id;
        let r = api.get("/v1/connections", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let listed = r.json.as_array().expect("a list");
        assert_eq!(listed.len(), 2, "{}", r.json);
        let shown = listed
            .iter()
            .find(|c| c["id"] == notion.as_str())
            .expect("the notion connection");
        assert_eq!(
            (shown["provider"].as_str(), shown["account"].as_str()),
            (Some("notion"), Some("Ann's notes"))
        );
        assert_eq!(
            (shown["status"].as_str(), shown["scopes"].clone()),
            (Some("active"), json!([]))
        );
        assert!(shown["created_at"].is_i64());
        let slack_shown = listed
            .iter()
            .find(|c| c["id"] == slack.as_str())
            .expect("the slack connection");
        assert_eq!(slack_shown["scopes"], json!(first_party_scopes("slack")));
        let text = r.json.to_string();
        assert!(
            !text.contains(fake_token) && !text.contains("access_token"),
            "{text}"
        );

        // A read-only token reads, and every write is refused.
        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "ro", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let read_only = r.json["token"].as_str().expect("a token").to_string();
        let ro = Auth::Token(&read_only);
        for path in [
            "/v1/installations",
            "/v1/connections",
            "/v1/workflows",
            "/v1/runs",
        ] {
            assert_eq!(api.get(path, ro).await.status, 200, "{path}");
        }
        let writes = [
            api.install(ro, &json!({"integration": "gmail"})).await,
            api.delete("/v1/installations/slack", ro).await,
            api.delete(&format!("/v1/connections/{notion}"), ro).await,
            save_yaml(&api, ro, &tell("Note")).await,
            api.post(
                "/v1/runs",
                ro,
                &json!({"workflow": "tell", "input": {"text": "x"}}),
            )
            .await,
            api.post("/v1/workflows/hook/rotate-secret", ro, &json!({}))
                .await,
        ];
        for r in writes {
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        }
        let r = api.get("/v1/installations", ann.token()).await;
        assert_eq!(
            r.json.as_array().map(Vec::len),
            Some(1),
            "nothing changed: {}",
            r.json
        );
        let r = api.get("/v1/workflows", ann.token()).await;
        assert_eq!(r.json, json!([]), "nothing saved");

        let r = api
            .delete(&format!("/v1/connections/{notion}"), ann.token())
            .await;
        assert_eq!(r.status, 204, "{} ({})", r.json, t.label);
        assert!(
            d.platform.vault.get(&notion).await.expect("read").is_none(),
            "erased"
        );
        let r = api
            .delete(&format!("/v1/connections/{notion}"), ann.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get("/v1/connections", ann.token()).await;
        assert_eq!(r.json.as_array().map(Vec::len), Some(1), "{}", r.json);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn another_account_gets_404_for_every_resource_of_the_first_and_lists_none() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;

        // Ann's: an installation, a connection, two workflows, a run.
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let connection = connect_slack(&d, &ann.id).await;
        assert_eq!(
            save_yaml(&api, ann.token(), &tell("Note")).await.status,
            201
        );
        let r = save_yaml(&api, ann.token(), &hook()).await;
        assert_eq!(r.status, 201, "{}", r.json);
        let sealed = |row: Option<workway_store::workflows::WorkflowRow>| {
            row.and_then(|w| w.webhook_secret).expect("a sealed secret")
        };
        let ann_secret = sealed(
            d.platform
                .store
                .workflows()
                .find(&ann.id, "hook")
                .await
                .expect("read"),
        );
        let r = api
            .post(
                "/v1/runs",
                ann.token(),
                &json!({"workflow": "tell", "input": {"text": "mine"}}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.json);
        let run = r.json["run_id"].as_str().expect("a run id").to_string();
        let (finished, _) = d.finish(&run, Duration::from_secs(30)).await;
        assert!(finished.status.is_finished());

        // Bob asks for each of them, by token and by session: 404, the
        // same answer as for something that does not exist.
        for auth in [bob.token(), bob.session()] {
            let pairs = [
                (
                    api.get("/v1/workflows/tell", auth).await,
                    api.get("/v1/workflows/no-such", auth).await,
                ),
                (
                    api.get("/v1/workflows/tell/versions", auth).await,
                    api.get("/v1/workflows/no-such/versions", auth).await,
                ),
                (
                    api.get("/v1/workflows/tell/versions/1", auth).await,
                    api.get("/v1/workflows/no-such/versions/1", auth).await,
                ),
                (
                    api.post("/v1/workflows/hook/rotate-secret", auth, &json!({}))
                        .await,
                    api.post("/v1/workflows/no-such/rotate-secret", auth, &json!({}))
                        .await,
                ),
                (
                    api.post(
                        "/v1/runs",
                        auth,
                        &json!({"workflow": "tell", "input": {"text": "x"}}),
                    )
                    .await,
                    api.post(
                        "/v1/runs",
                        auth,
                        &json!({"workflow": "no-such", "input": {"text": "x"}}),
                    )
                    .await,
                ),
                (
                    api.get(&format!("/v1/runs/{run}"), auth).await,
                    api.get("/v1/runs/no-such", auth).await,
                ),
                (
                    api.delete("/v1/installations/slack", auth).await,
                    api.delete("/v1/installations/no-such", auth).await,
                ),
                (
                    api.delete(&format!("/v1/connections/{connection}"), auth)
                        .await,
                    api.delete("/v1/connections/no-such", auth).await,
                ),
            ];
            for (theirs, missing) in pairs {
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
            let r = api.get("/v1/workflows", auth).await;
            assert_eq!((r.status, r.json.clone()), (200, json!([])));
            let r = api.get("/v1/runs", auth).await;
            assert_eq!(
                (r.status, r.json.clone()),
                (200, json!({"runs": [], "next_cursor": null}))
            );
            let r = api.get("/v1/installations", auth).await;
            assert_eq!((r.status, r.json.clone()), (200, json!([])));
            let r = api.get("/v1/connections", auth).await;
            assert_eq!((r.status, r.json.clone()), (200, json!([])));
        }

        // Nothing of Ann's changed, and Bob started no run.
        let r = api.get("/v1/installations", ann.token()).await;
        assert_eq!(r.json.as_array().map(Vec::len), Some(1), "{}", r.json);
        let r = api.get("/v1/connections", ann.token()).await;
        assert_eq!(r.json[0]["id"], connection.as_str(), "{}", r.json);
        assert_eq!(
            sealed(
                d.platform
                    .store
                    .workflows()
                    .find(&ann.id, "hook")
                    .await
                    .expect("read")
            ),
            ann_secret,
            "the secret was not rotated"
        );
        let all = d
            .platform
            .store
            .runs()
            .list(None, None, 100)
            .await
            .expect("read");
        assert_eq!(all.len(), 1, "{}", t.label);

        // Bob's workflow of the same name is his own: it is checked
        // against his installations, not Ann's, and starts at version 1.
        let r = save_yaml(&api, bob.token(), &tell("Bob")).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "invalid_workflow"),
            "{}",
            r.json
        );
        let r = api
            .install(bob.token(), &json!({"integration": "slack"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let r = save_yaml(&api, bob.token(), &tell("Bob")).await;
        assert_eq!(
            (r.status, r.json["version"].as_i64()),
            (201, Some(1)),
            "{}",
            r.json
        );
        let r = api.get("/v1/workflows/tell", ann.token()).await;
        assert_eq!(r.json["version"], 1, "Ann's is untouched: {}", r.json);
        assert!(
            r.json["definition"]["steps"][0]["input"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Note"))
        );
        let r = api.get("/v1/runs?workflow=tell", bob.token()).await;
        assert_eq!(run_ids(&r.json), Vec::<String>::new(), "{}", r.json);
        let r = api.get("/v1/runs?workflow=tell", ann.token()).await;
        assert_eq!(run_ids(&r.json), [run.as_str()], "{}", r.json);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_run_is_cancelled_and_rerun_by_its_owner_only() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        connect_slack(&d, &ann.id).await;
        assert_eq!(
            save_yaml(&api, ann.token(), &tell("again")).await.status,
            201
        );
        let input = json!({"workflow": "tell", "input": {"text": "once more"}});
        let r = api.post("/v1/runs", ann.token(), &input).await;
        assert_eq!(r.status, 202, "{}", r.json);
        let first = r.json["run_id"].as_str().expect("run id").to_string();

        // Nobody drives runs in this test until `finish`: the run is queued.
        let path = |id: &str, what: &str| format!("/v1/runs/{id}/{what}");
        for what in ["cancel", "rerun"] {
            let r = api.post(&path(&first, what), bob.token(), &json!({})).await;
            assert_eq!(
                (r.status, r.code()),
                (404, "not_found"),
                "bob's {what}: {}",
                r.json
            );
        }
        let r = api
            .post(&path(&first, "cancel"), ann.token(), &json!({}))
            .await;
        assert_eq!(r.status, 204, "{} ({})", r.json, t.label);
        let shown = api.get(&format!("/v1/runs/{first}"), ann.token()).await;
        assert_eq!(shown.json["status"], "cancelled", "{}", shown.json);
        let r = api
            .post(&path(&first, "cancel"), ann.token(), &json!({}))
            .await;
        assert_eq!((r.status, r.code()), (409, "finished"), "{}", r.json);

        let r = api
            .post(&path(&first, "rerun"), ann.token(), &json!({}))
            .await;
        assert_eq!(r.status, 202, "{}", r.json);
        let second = r.json["run_id"].as_str().expect("run id").to_string();
        assert_ne!(second, first);
        let (run, attempts) = d.finish(&second, Duration::from_secs(60)).await;
        crate::workflows::assert_succeeded(&run, &attempts);
        assert!(
            d.slack
                .messages_in(CHANNEL)
                .iter()
                .any(|m| m.text.as_deref() == Some("again: once more")),
            "the rerun had the first run's input"
        );
        let bobs = api.get("/v1/runs", bob.token()).await;
        assert_eq!(bobs.json["runs"], json!([]), "{}", bobs.json);
        t.cleanup().await;
    }
}
