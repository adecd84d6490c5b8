//! Installing with consent through the API, on SQLite and PostgreSQL: the
//! summary of what a version may do and its digest, installs refused
//! without that exact digest and recorded with it, updates that widen
//! access held back until accepted while others apply, uninstalling that
//! names the workflows using it, and nothing of one account's read,
//! accepted or changed by another.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use workway_engine::accounts::{Role, set_roles};
use workway_fixtures::CHANNEL;
use workway_store::clock::now_ms;
use workway_store::testing::test_stores;

use super::client::{Api, Auth, Response, account};
use crate::workflows::Deployment;

/// A manual workflow with one Slack step.
fn tell() -> String {
    format!(
        r#"
name: tell
trigger:
  kind: manual
steps:
  - id: tell
    action: slack.send-message
    input:
      channel: "{CHANNEL}"
      text: "hello"
"#
    )
}

/// POST a YAML workflow definition.
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

/// A token with `scopes` for a new account `name` with `roles`.
async fn token_with(
    api: &Api,
    store: &workway_store::Store,
    name: &str,
    roles: &[Role],
    scopes: &[&str],
) -> String {
    let who = account(api, name).await;
    set_roles(store, &who.id, roles, now_ms())
        .await
        .expect("roles set");
    let r = api
        .post(
            "/v1/tokens",
            who.session(),
            &json!({"name": "consent tests", "scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, 201, "token made: {}", r.json);
    r.json["token"].as_str().expect("a token").to_string()
}

/// Publish `evolving` at `version` with `hosts` as `developer` and approve
/// it as `reviewers`, in turn, until it is approved (a version that widens
/// access needs two different reviewers).
async fn publish(
    api: &Api,
    developer: Auth<'_>,
    reviewers: &[Auth<'_>],
    version: &str,
    hosts: &[&str],
) {
    let s = crate::registry::evolving(version, hosts);
    let body = json!({"manifest": s.manifest, "component": STANDARD.encode(s.component)});
    let r = api.post("/v1/submissions", developer, &body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_str().expect("an id").to_string();
    for (i, &reviewer) in reviewers.iter().enumerate() {
        let shown = api.get(&format!("/v1/submissions/{id}"), reviewer).await;
        assert_eq!(shown.status, 200, "{}", shown.json);
        let fingerprint = shown.json["fingerprint"].as_str().expect("a fingerprint");
        let r = api
            .post(
                &format!("/v1/reviews/{id}/approve"),
                reviewer,
                &json!({"fingerprint": fingerprint}),
            )
            .await;
        if r.status == 200 {
            return;
        }
        assert_eq!(r.status, 202, "{}", r.json);
        assert!(i + 1 < reviewers.len(), "not approved: {}", r.json);
    }
    panic!("no reviewer approved {id}");
}

/// The consent summary of `evolving`'s newest version once it is `version`
/// (the catalog resolves a name again within its poll window).
async fn newest_consent(api: &Api, auth: Auth<'_>, version: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = api.consent(auth, "evolving", None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        if r.json["version"] == version {
            return r.json;
        }
        assert!(
            Instant::now() < deadline,
            "{version} never served: {}",
            r.json
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The caller's installation of `integration` as `GET /v1/installations` lists it.
async fn listed(api: &Api, auth: Auth<'_>, integration: &str) -> Value {
    let r = api.get("/v1/installations", auth).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
        .as_array()
        .expect("a list")
        .iter()
        .find(|i| i["integration"] == integration)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn installing_needs_consent_to_exactly_what_the_version_may_do() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;

        // The summary: hosts and scopes from the signed approval, a digest.
        let r = api.consent(ann.token(), "slack", None).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        let summary = r.json.clone();
        assert_eq!(summary["integration"], "slack");
        let version = summary["version"].as_str().expect("a version").to_string();
        assert!(
            summary["hosts"].as_array().is_some_and(|h| !h.is_empty()),
            "{summary}"
        );
        assert!(
            summary["scopes"]["slack"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
            "{summary}"
        );
        let digest = summary["consent_digest"]
            .as_str()
            .expect("a digest")
            .to_string();
        assert!(digest.starts_with("sha256:"), "{digest}");
        assert_eq!(summary["price_cents"], Value::Null, "slack is free");
        let r = api.consent(ann.token(), "slack", Some(&version)).await;
        assert_eq!(r.json, summary, "the same version, the same summary");
        let r = api.consent(ann.token(), "slack", Some("99.0.0")).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.consent(ann.token(), "nope", None).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.consent(ann.token(), "slack", Some(" ")).await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);

        // Without the digest, or with another, nothing is installed and the
        // answer carries the summary to show.
        for accept in [None, Some("sha256:00"), Some("")] {
            let mut body = json!({"integration": "slack"});
            if let Some(accept) = accept {
                body["accept"] = json!(accept);
            }
            let r = api.post("/v1/installations", ann.token(), &body).await;
            assert_eq!(
                (r.status, r.code()),
                (409, "consent_required"),
                "{accept:?}: {}",
                r.json
            );
            assert_eq!(r.json["error"]["details"]["consent"], summary);
            assert_eq!(r.json["error"]["details"]["field"], "accept");
            assert_eq!(r.json["error"]["details"]["added"], Value::Null);
        }
        assert_eq!(listed(&api, ann.token(), "slack").await, Value::Null);
        let store = &d.platform.store;
        let consents = store.install_consents();
        assert!(
            consents
                .list(&ann.id, "slack")
                .await
                .expect("read")
                .is_empty(),
            "nothing recorded"
        );

        // With it: installed, and the acceptance recorded as shown.
        let r = api
            .post(
                "/v1/installations",
                ann.token(),
                &json!({"integration": "slack", "accept": digest}),
            )
            .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(r.json["version"], version.as_str());
        let recorded = consents
            .latest(&ann.id, "slack", &version)
            .await
            .expect("read")
            .expect("recorded");
        assert_eq!(recorded.consent_digest, digest);
        let hosts: Value = serde_json::from_str(&recorded.hosts).expect("JSON");
        let scopes: Value = serde_json::from_str(&recorded.scopes).expect("JSON");
        assert_eq!(
            (hosts, scopes),
            (summary["hosts"].clone(), summary["scopes"].clone())
        );
        let item = listed(&api, ann.token(), "slack").await;
        assert_eq!(item["update"], Value::Null, "nothing newer: {item}");

        // Installing again needs consent again; the refusal says it adds
        // nothing to what was accepted.
        let r = api
            .post(
                "/v1/installations",
                ann.token(),
                &json!({"integration": "slack"}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (409, "consent_required"),
            "{}",
            r.json
        );
        assert_eq!(
            r.json["error"]["details"]["added"],
            json!({"hosts": [], "scopes": {}})
        );

        // Bob reads nothing of Ann's and cannot act on her installation;
        // what he accepts is his own.
        assert_eq!(listed(&api, bob.token(), "slack").await, Value::Null);
        let r = api
            .post("/v1/installations/slack/upgrade", bob.token(), &json!({}))
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.delete("/v1/installations/slack", bob.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .post(
                "/v1/installations",
                bob.token(),
                &json!({"integration": "slack", "accept": digest}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert_eq!(
            consents.list(&ann.id, "slack").await.expect("read").len(),
            1
        );
        assert_eq!(
            consents.list(&bob.id, "slack").await.expect("read").len(),
            1
        );

        // Uninstalling names the workflows using it; a run is then refused
        // saying how to install it again.
        let r = save_yaml(&api, ann.token(), &tell()).await;
        assert_eq!(r.status, 201, "{}", r.json);
        let r = api.delete("/v1/installations/slack", ann.token()).await;
        assert_eq!(
            (r.status, r.json.clone()),
            (200, json!({"integration": "slack", "workflows": ["tell"]})),
            "{}",
            t.label
        );
        let r = api
            .post("/v1/runs", ann.token(), &json!({"workflow": "tell"}))
            .await;
        assert_eq!((r.status, r.code()), (409, "not_installed"), "{}", r.json);
        let message = r.json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("/v1/integrations/slack/consent")
                && message.contains("workway install slack"),
            "{message}"
        );
        let r = save_yaml(&api, ann.token(), &tell()).await;
        assert_eq!(r.status, 422, "{}", r.json);
        assert!(
            r.json.to_string().contains("workway install slack"),
            "{}",
            r.json
        );
        assert!(
            listed(&api, bob.token(), "slack").await.is_object(),
            "bob's installation stays"
        );
        t.cleanup().await;
    }
}

/// A platform where `ann` installed `evolving` 1.0.0 (with `v1` hosts)
/// with consent and 2.0.0 (with `v2` hosts) was approved since; the API,
/// Ann's and Bob's tokens, and the deployment.
async fn updated(
    t: &workway_store::testing::TestStore,
    v1: &[&str],
    v2: &[&str],
) -> (
    Deployment,
    Api,
    super::client::Account,
    super::client::Account,
) {
    let d = Deployment::start(t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let store = &d.platform.store;
    let dev = token_with(&api, store, "dev", &[Role::Developer], &["read", "publish"]).await;
    let rita = token_with(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
    let rob = token_with(&api, store, "rob", &[Role::Reviewer], &["read", "review"]).await;
    let reviewers = [Auth::Token(&rita), Auth::Token(&rob)];
    let ann = account(&api, "ann").await;
    let bob = account(&api, "bob").await;
    publish(&api, Auth::Token(&dev), &reviewers, "1.0.0", v1).await;
    let r = api
        .install(ann.token(), &json!({"integration": "evolving"}))
        .await;
    assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
    assert_eq!(r.json["version"], "1.0.0");
    publish(&api, Auth::Token(&dev), &reviewers, "2.0.0", v2).await;
    newest_consent(&api, ann.token(), "2.0.0").await;
    (d, api, ann, bob)
}

/// The version Ann's runs would pin.
async fn installed_version(d: &Deployment, owner: &str) -> String {
    workway_engine::installations::find(&d.platform.store, owner, "evolving")
        .await
        .expect("read")
        .expect("installed")
        .row
        .version
}

#[tokio::test]
async fn an_update_that_widens_access_waits_for_consent() {
    for t in test_stores().await {
        let (d, api, ann, bob) = updated(
            &t,
            &["https://api.example.com"],
            &["https://api.example.com", "https://more.example.com"],
        )
        .await;
        let item = listed(&api, ann.token(), "evolving").await;
        assert_eq!(item["version"], "1.0.0", "{item}");
        let update = &item["update"];
        assert_eq!(update["consent_required"], true, "{item}");
        assert_eq!(
            update["added"],
            json!({"hosts": ["https://more.example.com"], "scopes": {}})
        );
        assert_eq!(update["consent"]["version"], "2.0.0");
        let digest = update["consent"]["consent_digest"]
            .as_str()
            .expect("a digest")
            .to_string();

        // Not moved without the acceptance, nor with another digest.
        for body in [json!({}), json!({"accept": "sha256:00"})] {
            let r = api
                .post("/v1/installations/evolving/upgrade", ann.token(), &body)
                .await;
            assert_eq!(
                (r.status, r.code()),
                (409, "consent_required"),
                "{}",
                r.json
            );
            assert_eq!(
                r.json["error"]["details"]["added"]["hosts"],
                json!(["https://more.example.com"])
            );
        }
        assert_eq!(installed_version(&d, &ann.id).await, "1.0.0", "{}", t.label);

        // Bob cannot accept it on Ann's behalf, nor see it.
        let r = api
            .post(
                "/v1/installations/evolving/upgrade",
                bob.token(),
                &json!({"accept": digest}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        assert_eq!(listed(&api, bob.token(), "evolving").await, Value::Null);
        assert_eq!(installed_version(&d, &ann.id).await, "1.0.0");

        // Accepted: moved, recorded, nothing waits.
        let r = api
            .post(
                "/v1/installations/evolving/upgrade",
                ann.token(),
                &json!({"accept": digest}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["upgraded"], true);
        assert_eq!(r.json["installation"]["version"], "2.0.0");
        assert_eq!(installed_version(&d, &ann.id).await, "2.0.0");
        let recorded = d
            .platform
            .store
            .install_consents()
            .latest(&ann.id, "evolving", "2.0.0")
            .await
            .expect("read")
            .expect("recorded");
        assert_eq!(recorded.consent_digest, digest);
        assert_eq!(
            listed(&api, ann.token(), "evolving").await["update"],
            Value::Null
        );
        let r = api
            .post(
                "/v1/installations/evolving/upgrade",
                ann.token(),
                &json!({}),
            )
            .await;
        assert_eq!((r.status, r.json["upgraded"].clone()), (200, json!(false)));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_update_that_does_not_widen_access_is_applied_without_asking() {
    for t in test_stores().await {
        let (d, api, ann, _bob) = updated(
            &t,
            &["https://api.example.com", "https://more.example.com"],
            &["https://api.example.com"],
        )
        .await;
        let item = listed(&api, ann.token(), "evolving").await;
        assert_eq!(item["update"]["consent_required"], false, "{item}");
        assert_eq!(item["update"]["added"], json!({"hosts": [], "scopes": {}}));
        let r = api
            .post(
                "/v1/installations/evolving/upgrade",
                ann.token(),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(
            (
                r.json["upgraded"].clone(),
                r.json["installation"]["version"].clone()
            ),
            (json!(true), json!("2.0.0"))
        );
        assert_eq!(installed_version(&d, &ann.id).await, "2.0.0");
        t.cleanup().await;
    }
}
