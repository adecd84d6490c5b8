//! Workflows and the run monitor: in a real headless Chromium (scripts
//! off) a user writes a workflow (its problems shown where they are),
//! starts it and watches its step complete while the page updates
//! itself, and sees a failing step's typed error; over plain HTTP on
//! both stores, one account's workflows and runs kept from another, and
//! bad input answered on the page.

use std::time::Duration;

use serde_json::json;
use workway_fixtures::fast;
use workway_store::testing::{sqlite_store, test_stores};

use super::browser::{Browser, Script};
use super::pages::{csrf_field, post_form};
use crate::api::client::{Account, Api, account, connect_slack};
use crate::workflows::Deployment;

/// A new account `name` with Slack installed and its workspace connected.
pub(super) async fn slack_user(api: &Api, d: &Deployment, name: &str) -> Account {
    let who = account(api, name).await;
    let r = api
        .install(who.token(), &json!({"integration": "slack"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    connect_slack(d, &who.id).await;
    who
}

/// A workflow that tells the team in Slack (channel `channel`), tried once.
fn tell(name: &str, channel: &str) -> String {
    format!(
        "name: {name}\ntrigger:\n  kind: manual\nsteps:\n  - id: tell\n    action: slack.send-message\n    input:\n      channel: {channel}\n      text: Hello from the web UI\n    retry: {{ max_attempts: 1 }}\n"
    )
}

#[tokio::test]
async fn a_user_writes_a_workflow_runs_it_and_watches_it_finish() {
    let t = sqlite_store().await;
    let d = Deployment::start(&t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let origin = format!("http://{}", api.address);
    let wes = slack_user(&api, &d, "wes").await;
    // The executor `workway serve` runs beside the API.
    let executor = d.executor(fast());
    let worker = tokio::spawn(async move { executor.work(std::future::pending::<()>()).await });
    let Some(b) = Browser::start(&origin, 1440, Script::Off).await else {
        worker.abort();
        return;
    };
    b.sign_in(&wes.email, &wes.password).await;

    // A definition with problems is answered with where each one is.
    b.open("/workflows").await;
    assert!(b.text("#no-workflows").await.contains("No workflow yet"));
    b.click("#new-workflow").await;
    b.arrive("/workflows/new").await;
    b.fill(
        "#definition",
        &tell("greet", "C0123ABCD").replace("send-message", "send-telegram"),
    )
    .await;
    b.click("#save-workflow").await;
    let problems = b.text("#problems").await;
    assert!(problems.contains("steps[0]"), "{problems}");
    assert!(problems.contains("send-telegram"), "{problems}");
    b.fill("#definition", "name: greet\nsteps: [").await;
    b.click("#save-workflow").await;
    // The page before had a form error too: wait for the new one, which
    // says where the YAML is broken.
    b.text_with("#form-error", "line").await;

    // Saved, started, watched until it succeeds; what the plugin logged
    // (Slack's warning) is on its step.
    d.slack.warn("superfluous_charset");
    b.fill("#definition", &tell("greet", "C0123ABCD")).await;
    b.click("#save-workflow").await;
    assert_eq!(b.text("#workflow-name").await, "greet");
    assert_eq!(b.text("#notice").await, "Saved as version 1.");
    b.click("#start-run").await;
    let status = b.text_with("#run-status", "succeeded").await;
    assert_eq!(status, "succeeded");
    assert!(b.path().await.starts_with("/runs/"), "{}", b.path().await);
    let step = b.text("#timeline li[data-step='tell']").await;
    assert!(step.contains("slack.send-message"), "{step}");
    assert!(step.contains("succeeded"), "{step}");
    assert!(step.contains("light"), "billed light: {step}");
    assert!(!step.contains("fuel –"), "metered: {step}");
    b.click("#timeline li[data-step='tell'] details.log summary")
        .await;
    let log = b.text("#timeline li[data-step='tell'] .log-lines").await;
    assert!(
        log.contains("log.warn") && log.contains("Slack warned: superfluous_charset"),
        "{log}"
    );
    assert_eq!(
        d.slack.messages_in(workway_fixtures::CHANNEL).len(),
        1,
        "posted once"
    );

    // A step that fails shows its typed error, and the run failed.
    b.open("/workflows/new").await;
    b.fill("#definition", &tell("shout", "C999NOPE")).await;
    b.click("#save-workflow").await;
    assert_eq!(b.text("#workflow-name").await, "shout");
    b.fill("#run-input", "{not json").await;
    b.click("#start-run").await;
    b.text_with("#form-error", "not JSON").await;
    b.fill("#run-input", "{}").await;
    b.click("#start-run").await;
    b.text_with("#run-status", "failed").await;
    let run_error = b.text("#run-error").await;
    assert!(
        run_error.starts_with("Step tell failed on attempt 1: integration not-found"),
        "{run_error}"
    );
    let error = b.text("#timeline li[data-step='tell'] .step-error").await;
    assert!(
        error.starts_with("integration not-found: no channel named"),
        "{error}"
    );

    // The runs list filters by status.
    b.open("/runs?status=failed").await;
    assert_eq!(b.all("#runs tr[data-run]").await.len(), 1);
    b.open("/runs").await;
    assert_eq!(b.all("#runs tr[data-run]").await.len(), 2);
    b.close().await;
    worker.abort();
    t.cleanup().await;
}

#[tokio::test]
async fn workflows_and_runs_are_kept_to_their_account() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let ann = slack_user(&api, &d, "ann").await;
        let bob = slack_user(&api, &d, "bob").await;
        let ann_session = ann.browser();
        let bob_session = bob.browser();
        let csrf = csrf_field(&api.get("/workflows/new", ann_session).await.body);
        let r = post_form(
            &api,
            "/workflows",
            ann_session,
            None,
            &[
                ("csrf", &csrf),
                ("definition", &tell("anns-flow", "C0123ABCD")),
            ],
        )
        .await;
        assert_eq!(r.status, 201, "{l}: {}", r.body);
        let r = post_form(
            &api,
            "/workflows/anns-flow/runs",
            ann_session,
            None,
            &[("csrf", &csrf), ("input", "{}")],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let run = r.header("location").expect("the run's page").to_string();
        let id = run.trim_start_matches("/runs/").to_string();
        let (finished, _) = d.finish(&id, Duration::from_secs(30)).await;
        assert!(finished.status.is_finished(), "{l}");
        let page = api.get(&run, ann_session).await;
        assert_eq!(page.status, 200, "{l}");
        assert!(
            page.body.contains(r#"id="run-status">succeeded"#),
            "{l}: {}",
            page.body
        );
        assert!(
            !page.body.contains("http-equiv=\"refresh\""),
            "{l}: a finished run stops reloading"
        );

        // Its live stream: the part, then `finished` (the run is over).
        let stream = api.get(&format!("{run}/events"), ann_session).await;
        assert_eq!(stream.status, 200, "{l}");
        assert_eq!(
            stream.header("content-type"),
            Some("text/event-stream"),
            "{l}"
        );
        assert!(
            stream.body.contains("event: run\ndata: "),
            "{l}: {}",
            stream.body
        );
        assert!(stream.body.contains(r#"id="run-status">succeeded"#), "{l}");
        let finished = stream
            .body
            .find("event: finished\ndata: over")
            .expect("finished");
        assert!(
            finished > stream.body.find("event: run").expect("the part"),
            "{l}: {}",
            stream.body
        );

        // Bob sees none of it and starts, cancels or reruns none of it.
        let bob_csrf = csrf_field(&api.get("/workflows/new", bob_session).await.body);
        assert_eq!(
            api.get("/workflows/anns-flow", bob_session).await.status,
            404,
            "{l}"
        );
        assert_eq!(api.get(&run, bob_session).await.status, 404, "{l}");
        assert_eq!(
            api.get(&format!("{run}/events"), bob_session).await.status,
            404,
            "{l}"
        );
        assert!(
            !api.get("/runs", bob_session).await.body.contains(&id),
            "{l}"
        );
        assert!(
            !api.get("/workflows", bob_session)
                .await
                .body
                .contains("anns-flow"),
            "{l}"
        );
        for path in [
            "/workflows/anns-flow/runs",
            "/workflows/anns-flow/rotate-secret",
            &format!("{run}/rerun"),
            &format!("{run}/cancel"),
        ] {
            let r = post_form(
                &api,
                path,
                bob_session,
                None,
                &[("csrf", &bob_csrf), ("input", "{}")],
            )
            .await;
            assert_eq!(r.status, 404, "{l}: {path}: {}", r.body);
        }
        let ann_runs = api.get("/v1/runs", ann.token()).await.json;
        assert_eq!(
            ann_runs["runs"].as_array().map(Vec::len),
            Some(1),
            "{l}: nothing started for her"
        );
        assert_eq!(
            api.get("/v1/runs", bob.token()).await.json["runs"]
                .as_array()
                .map(Vec::len),
            Some(0),
            "{l}"
        );

        // Saving a workflow of Ann's name makes Bob's own, not her next version.
        let r = post_form(
            &api,
            "/workflows",
            bob_session,
            None,
            &[
                ("csrf", &bob_csrf),
                ("definition", &tell("anns-flow", "C0123ABCD")),
            ],
        )
        .await;
        assert_eq!(r.status, 201, "{l}");
        let anns = api.get("/v1/workflows/anns-flow", ann.token()).await;
        assert_eq!(anns.json["version"], 1, "{l}");

        // Versions: the list, an older one's definition, for Ann only.
        let second = tell("anns-flow", "C0123ABCD").replace("Hello from the web UI", "Hello again");
        let r = post_form(
            &api,
            "/workflows",
            ann_session,
            None,
            &[("csrf", &csrf), ("definition", &second)],
        )
        .await;
        assert_eq!(r.status, 201, "{l}: {}", r.body);
        assert!(r.body.contains("Saved as version 2."), "{l}");
        assert!(
            r.body.contains(r#"href="/workflows/anns-flow/versions/1""#),
            "{l}"
        );
        let v1 = api
            .get("/workflows/anns-flow/versions/1", ann_session)
            .await;
        assert_eq!(v1.status, 200, "{l}");
        assert!(
            v1.body.contains("Hello from the web UI")
                && v1.body.contains("the current version is 2"),
            "{l}: {}",
            v1.body
        );
        assert_eq!(
            api.get("/workflows/anns-flow/versions/1", bob_session)
                .await
                .status,
            200,
            "{l}: Bob's own anns-flow has a version 1"
        );
        assert!(
            !api.get("/workflows/anns-flow/versions/1", bob_session)
                .await
                .body
                .contains("Hello again"),
            "{l}"
        );
        assert_eq!(
            api.get("/workflows/anns-flow/versions/2", bob_session)
                .await
                .status,
            404,
            "{l}: and no version 2"
        );
        assert_eq!(
            api.get("/workflows/anns-flow/versions/x", ann_session)
                .await
                .status,
            400,
            "{l}"
        );

        // Ann reruns her run: a new run of hers.
        let r = post_form(
            &api,
            &format!("{run}/rerun"),
            ann_session,
            None,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_ne!(r.header("location"), Some(run.as_str()), "{l}");
        assert_eq!(
            api.get("/v1/runs", ann.token()).await.json["runs"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{l}"
        );
        // Without the CSRF field nothing starts.
        let r = post_form(
            &api,
            "/workflows/anns-flow/runs",
            ann_session,
            None,
            &[("input", "{}")],
        )
        .await;
        assert_eq!(r.status, 403, "{l}");
        assert_eq!(
            api.get("/v1/runs", ann.token()).await.json["runs"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{l}"
        );

        // Deleting: Bob's own workflow of that name, then Ann's; her runs stay.
        let r = post_form(
            &api,
            "/workflows/anns-flow/delete",
            bob_session,
            None,
            &[("csrf", &bob_csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(
            api.get("/v1/workflows/anns-flow", ann.token()).await.status,
            200,
            "{l}: hers is still there"
        );
        let r = post_form(
            &api,
            "/workflows/anns-flow/delete",
            bob_session,
            None,
            &[("csrf", &bob_csrf)],
        )
        .await;
        assert_eq!(r.status, 404, "{l}: nothing of his left to delete");
        let r = post_form(
            &api,
            "/workflows/anns-flow/delete",
            ann_session,
            None,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert!(
            !api.get("/workflows", ann_session)
                .await
                .body
                .contains("anns-flow"),
            "{l}"
        );
        assert_eq!(
            api.get("/v1/runs", ann.token()).await.json["runs"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{l}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_run_page_updates_in_place_over_server_sent_events() {
    let t = sqlite_store().await;
    let d = Deployment::start(&t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let origin = format!("http://{}", api.address);
    let val = slack_user(&api, &d, "val").await;
    let r = api
        .raw(
            "POST",
            "/v1/workflows",
            val.token(),
            &[("content-type", "application/yaml")],
            tell("greet", "C0123ABCD").as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    // Queued with no executor yet: the page opens on a waiting run.
    let r = api
        .post("/v1/runs", val.token(), &json!({"workflow": "greet"}))
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.json["run_id"].as_str().expect("an id").to_string();
    let Some(b) = Browser::start(&origin, 1440, Script::On).await else {
        return;
    };
    b.sign_in(&val.email, &val.password).await;
    b.open(&format!("/runs/{id}")).await;
    assert_eq!(b.text("#run-status").await, "queued");
    assert!(b.text("#no-steps").await.contains("No step has started"));
    // A mark a reload would wipe.
    b.client
        .execute("window.stayed = 'yes'; return true;", Vec::new())
        .await
        .expect("marked");
    let executor = d.executor(fast());
    let worker = tokio::spawn(async move { executor.work(std::future::pending::<()>()).await });
    b.text_with("#run-status", "succeeded").await;
    assert!(
        b.text("#timeline li[data-step='tell']")
            .await
            .contains("succeeded")
    );
    let stayed = b
        .client
        .execute("return window.stayed || 'reloaded';", Vec::new())
        .await
        .expect("read");
    assert_eq!(stayed, json!("yes"), "updated in place, not reloaded");
    b.close().await;
    worker.abort();
    t.cleanup().await;
}

#[tokio::test]
async fn a_senders_secret_is_set_from_the_workflow_page_of_its_account_only() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let ann = slack_user(&api, &d, "ann").await;
        let bob = slack_user(&api, &d, "bob").await;
        let csrf = csrf_field(&api.get("/workflows/new", ann.browser()).await.body);
        let stripe_hook = "name: paid\ntrigger:\n  kind: webhook\n  format: stripe\nsteps:\n  - id: tell\n    action: slack.send-message\n    input:\n      channel: C0123ABCD\n      text: paid\n";
        let r = post_form(
            &api,
            "/workflows",
            ann.browser(),
            None,
            &[("csrf", &csrf), ("definition", stripe_hook)],
        )
        .await;
        assert_eq!(r.status, 201, "{l}: {}", r.body);
        assert!(r.body.contains(r#"id="webhook-format">stripe<"#), "{l}");
        assert!(r.body.contains("Stripe-Signature"), "{l}: says how");
        assert!(
            !r.body.contains(r#"id="rotate-secret""#),
            "{l}: Stripe makes the secret, not Workway"
        );

        // A secret that is not Stripe's shape is answered at the field and
        // never shown back; Stripe's is set.
        let path = "/workflows/paid/secret";
        let bad = "not-a-stripe-secret-at-all";
        let r = post_form(
            &api,
            path,
            ann.browser(),
            None,
            &[("csrf", &csrf), ("secret", bad)],
        )
        .await;
        assert_eq!(r.status, 400, "{l}: {}", r.body);
        assert!(r.body.contains(r#"id="secret-error""#), "{l}");
        assert!(r.body.contains("whsec_"), "{l}: says what it takes");
        assert!(!r.body.contains(bad), "{l}: not echoed");
        let good = "whsec_the-endpoint-secret-stripe-shows";
        let r = post_form(
            &api,
            path,
            ann.browser(),
            None,
            &[("csrf", &csrf), ("secret", good)],
        )
        .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert!(r.body.contains("secret is set; the old one"), "{l}");
        assert!(!r.body.contains(good), "{l}: not shown back");

        // Another account cannot set it (its own workflow of the name is
        // not there), nor can a form without the CSRF field.
        let bob_csrf = csrf_field(&api.get("/workflows/new", bob.browser()).await.body);
        let r = post_form(
            &api,
            path,
            bob.browser(),
            None,
            &[("csrf", &bob_csrf), ("secret", "whsec_bobs-own-guess")],
        )
        .await;
        assert_eq!(r.status, 404, "{l}: {}", r.body);
        let r = post_form(
            &api,
            path,
            ann.browser(),
            None,
            &[("secret", "whsec_without-a-csrf-field")],
        )
        .await;
        assert_eq!(r.status, 403, "{l}");
        t.cleanup().await;
    }
}
