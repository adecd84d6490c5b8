//! Publishing and review through the API, on SQLite and PostgreSQL: a
//! developer account uploads a component, reviewer accounts work through
//! the queue and sign with keys of their own, the submitter never approves
//! their own submission, and the approved integration is listed and loads
//! through the catalog under the reviewer's key.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use workway_engine::accounts::{Role, set_roles};
use workway_engine::catalog::CatalogError;
use workway_registry::approval::{SignedApproval, SignedRevocation};
use workway_store::clock::now_ms;
use workway_store::testing::test_stores;

use super::client::{Account, Api, Auth, account};
use crate::workflows::Deployment;

/// The well-behaved test plugin as a `POST /v1/submissions` body.
fn well_behaved() -> Value {
    let actions = [
        "greet",
        "work",
        "profile",
        "broken-promise",
        "rate-limited",
        "echo",
        "transform",
        "wait-upstream",
        "fetch",
    ]
    .map(|a| format!("[actions.{a}]\ndescription = \"Test action.\"\n"))
    .join("\n");
    let component = std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("built");
    json!({
        "manifest": format!(
            "name = \"well-behaved\"\nversion = \"0.1.0\"\npublisher = \"tests\"\n\
             description = \"The runtime's test plugin.\"\n\n{actions}\n[http]\n\
             hosts = [\"https://api.example.com\"]\n"
        ),
        "component": STANDARD.encode(component),
    })
}

/// Sign up `name` with `roles` and make a token with `scopes` in its session.
async fn with_roles(
    api: &Api,
    store: &workway_store::Store,
    name: &str,
    roles: &[Role],
    scopes: &[&str],
) -> (Account, String) {
    let who = account(api, name).await;
    set_roles(store, &who.id, roles, now_ms())
        .await
        .expect("roles set");
    let r = api
        .post(
            "/v1/tokens",
            who.session(),
            &json!({"name": "review tests", "scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, 201, "token made: {}", r.json);
    let token = r.json["token"].as_str().expect("a token").to_string();
    (who, token)
}

#[tokio::test]
async fn developers_publish_and_reviewers_sign_with_their_own_keys() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (dev, dev_token) =
            with_roles(&api, store, "dev", &[Role::Developer], &["read", "publish"]).await;
        let dev_auth = Auth::Token(&dev_token);
        let (_, other_dev_token) =
            with_roles(&api, store, "odd", &[Role::Developer], &["read", "publish"]).await;
        let other_dev = Auth::Token(&other_dev_token);
        let (rita, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let rita_auth = Auth::Token(&rita_token);
        let (sam_account, sam_token) = with_roles(
            &api,
            store,
            "sam",
            &[Role::Developer, Role::Reviewer],
            &["read", "publish", "review"],
        )
        .await;
        let sam = Auth::Token(&sam_token);
        let user = account(&api, "ursula").await;

        // Publishing needs the developer role (and a token carrying it).
        let r = api
            .post("/v1/submissions", user.token(), &well_behaved())
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post("/v1/submissions", dev.token(), &well_behaved())
            .await;
        assert_eq!(r.status, 403, "a read+run token cannot publish: {}", r.json);
        let r = api
            .post(
                "/v1/submissions",
                dev_auth,
                &json!({"manifest": "name = 1", "component": "not base64!"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
        assert_eq!(r.json["error"]["details"]["field"], "component");
        // A body past the default 1 MiB limit reaches validation (which
        // refuses what is not a component) instead of being cut off.
        let big = json!({"manifest": "name = 1", "component": STANDARD.encode(vec![7u8; 3 << 20])});
        let r = api.post("/v1/submissions", dev_auth, &big).await;
        assert_eq!((r.status, r.code()), (422, "refused"), "{}", r.json);
        assert!(
            r.json["error"]["details"]["reasons"]
                .as_array()
                .is_some_and(|reasons| !reasons.is_empty()),
            "{}",
            r.json
        );

        // A developer who also reviews never approves their own submission.
        let r = api.post("/v1/submissions", sam, &well_behaved()).await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        let own = r.json["id"].as_str().expect("an id").to_string();
        let fingerprint = r.json["fingerprint"].as_str().expect("a fingerprint");
        let r = api
            .post(
                &format!("/v1/reviews/{own}/approve"),
                sam,
                &json!({"fingerprint": fingerprint}),
            )
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        assert!(
            r.json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("another reviewer")),
            "{}",
            r.json
        );
        assert!(
            store
                .reviewer_keys()
                .active(&sam_account.id)
                .await
                .expect("read")
                .is_none(),
            "a refused approval makes no key"
        );

        // Rejecting needs the reviewer role and a reason.
        let reject = format!("/v1/reviews/{own}/reject");
        let r = api.post(&reject, dev_auth, &json!({"reason": "no"})).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api.post(&reject, rita_auth, &json!({})).await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
        assert_eq!(r.json["error"]["details"]["field"], "reason");
        let r = api.post(&reject, rita_auth, &json!({"reason": "  "})).await;
        assert_eq!(r.json["error"]["details"]["field"], "reason", "{}", r.json);
        let r = api
            .post(&reject, rita_auth, &json!({"reason": "submitted to test"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["state"], "rejected");

        // The developer publishes and sees their own submission; nobody
        // else but reviewers does.
        let r = api.post("/v1/submissions", dev_auth, &well_behaved()).await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(r.json["state"], "pending_review");
        assert_eq!(r.json["submitted_by"], dev.id.as_str());
        assert_eq!(r.json["report"]["integration"], "well-behaved");
        assert_eq!(
            r.json["report"]["hosts"],
            json!(["https://api.example.com"])
        );
        let id = r.json["id"].as_str().expect("an id").to_string();
        let path = format!("/v1/submissions/{id}");
        let r = api.get("/v1/submissions", dev_auth).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let mine: Vec<&str> = r
            .json
            .as_array()
            .expect("a list")
            .iter()
            .map(|s| s["id"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(mine, [id.as_str()], "{}", r.json);
        assert_eq!(api.get(&path, dev_auth).await.status, 200);
        let r = api.get(&path, other_dev).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get("/v1/submissions", other_dev).await;
        assert_eq!(r.json, json!([]), "{}", r.json);
        assert_eq!(api.get(&path, user.token()).await.status, 404);

        // The reviewer finds it in the queue, reads its report and
        // approves what they were shown.
        let r = api.get("/v1/reviews/queue", user.token()).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api.get("/v1/reviews/queue", rita_auth).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let queued: Vec<&str> = r
            .json
            .as_array()
            .expect("a list")
            .iter()
            .map(|s| s["id"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(queued, [id.as_str()], "{}", r.json);
        let shown = api.get(&path, rita_auth).await;
        assert_eq!(shown.status, 200, "{}", shown.json);
        let fingerprint = shown.json["fingerprint"].as_str().expect("a fingerprint");
        let approve = format!("/v1/reviews/{id}/approve");
        let r = api
            .post(&approve, user.token(), &json!({"fingerprint": fingerprint}))
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post(&approve, rita_auth, &json!({"fingerprint": "sha256:0000"}))
            .await;
        assert_eq!((r.status, r.code()), (409, "not_as_reviewed"), "{}", r.json);
        let r = api.post(&approve, rita_auth, &json!({})).await;
        assert_eq!(
            r.json["error"]["details"]["field"], "fingerprint",
            "{}",
            r.json
        );
        let r = api
            .post(&approve, rita_auth, &json!({"fingerprint": fingerprint}))
            .await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["submission"]["state"], "approved");
        let approval: SignedApproval =
            serde_json::from_value(r.json["approval"].clone()).expect("a signed approval");
        assert_eq!(approval.claims.approved_by, rita.id);
        let key = store
            .reviewer_keys()
            .get(&approval.key_id)
            .await
            .expect("read")
            .expect("the approval's key is stored");
        assert_eq!(key.account_id, rita.id, "the key is the reviewer's own");
        assert!(key.retired_at.is_none());
        assert!(!key.sealed_private_key.contains(&key.public_key));
        let r = api
            .post(&approve, rita_auth, &json!({"fingerprint": fingerprint}))
            .await;
        assert_eq!((r.status, r.code()), (409, "wrong_state"), "{}", r.json);

        // The catalog loads it, verified under the reviewer's key.
        let loaded = d
            .platform
            .catalog
            .get("well-behaved", None)
            .await
            .expect("the catalog trusts the reviewer's key");
        assert_eq!(loaded.claims.approved_by, rita.id);
        assert_eq!(loaded.submission_id, id);

        // Any user sees it listed.
        let r = api.get("/v1/integrations", user.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let listed = r
            .json
            .as_array()
            .expect("a list")
            .iter()
            .find(|i| i["name"] == "well-behaved")
            .cloned()
            .expect("listed");
        assert_eq!(listed["version"], "0.1.0");
        assert_eq!(listed["publisher"], "tests");
        let r = api.get("/v1/integrations/well-behaved", user.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["hosts"], json!(["https://api.example.com"]));
        let r = api
            .get("/v1/integrations/well-behaved/versions", user.token())
            .await;
        assert_eq!(r.json.as_array().map(Vec::len), Some(1), "{}", r.json);
        let r = api.get("/v1/integrations/nothing-here", user.token()).await;
        assert_eq!(r.status, 404, "{}", r.json);

        // A demoted reviewer's key is retired: their approval still
        // verifies, and they act no more until given the role again.
        set_roles(store, &rita.id, &[], now_ms())
            .await
            .expect("demoted");
        let retired = store
            .reviewer_keys()
            .get(&approval.key_id)
            .await
            .expect("read")
            .expect("kept");
        assert!(retired.retired_at.is_some());
        let revoke = format!("/v1/reviews/{id}/revoke");
        let r = api
            .post(&revoke, rita_auth, &json!({"reason": "leaks"}))
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        set_roles(store, &rita.id, &[Role::Reviewer], now_ms())
            .await
            .expect("reviewer again");

        // Revoking needs a reason; the revocation is signed with the
        // reviewer's new key, and hosts stop starting it.
        let r = api.post(&revoke, rita_auth, &json!({})).await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
        assert_eq!(r.json["error"]["details"]["field"], "reason");
        let r = api
            .post(&revoke, dev_auth, &json!({"reason": "mine"}))
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post(&revoke, rita_auth, &json!({"reason": "it leaks tokens"}))
            .await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["state"], "revoked");
        let log = store
            .submissions()
            .revocations_from(1)
            .await
            .expect("the log");
        let record: SignedRevocation =
            serde_json::from_str(&log.last().expect("a revocation").record).expect("signed");
        assert_eq!(record.claims.revoked_by, rita.id);
        assert_ne!(record.key_id, approval.key_id, "signed with the new key");
        let new_key = store
            .reviewer_keys()
            .active(&rita.id)
            .await
            .expect("read")
            .expect("a new key");
        assert_eq!(new_key.key_id, record.key_id);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match d.platform.catalog.get("well-behaved", None).await {
                Err(CatalogError::Revoked { .. } | CatalogError::Registry(_)) => break,
                Ok(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => panic!("expected the revocation to hold, got {:?}", other.err()),
            }
        }
        let r = api.get("/v1/integrations", user.token()).await;
        assert!(
            !r.json
                .as_array()
                .expect("a list")
                .iter()
                .any(|i| i["name"] == "well-behaved"),
            "{}",
            r.json
        );
        t.cleanup().await;
    }
}
