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

use super::client::{Api, Auth, account, approve, evolving, submit, with_roles};
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
        let r = api.get("/v1/integrations?limit=100", user.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let listed = r.json["items"]
            .as_array()
            .expect("a list")
            .iter()
            .find(|i| i["name"] == "well-behaved")
            .cloned()
            .expect("listed");
        assert_eq!(listed["version"], "0.1.0");
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
        let r = api.get("/v1/integrations?limit=100", user.token()).await;
        assert!(
            !r.json["items"]
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

#[tokio::test]
async fn a_version_that_widens_access_needs_two_different_reviewers() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (_, dev_token) =
            with_roles(&api, store, "dev", &[Role::Developer], &["read", "publish"]).await;
        let dev = Auth::Token(&dev_token);
        let (rita_account, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let rita = Auth::Token(&rita_token);
        let (rob_account, rob_token) =
            with_roles(&api, store, "rob", &[Role::Reviewer], &["read", "review"]).await;
        let rob = Auth::Token(&rob_token);
        let (_, other_token) =
            with_roles(&api, store, "odd", &[Role::Developer], &["read", "publish"]).await;

        // A first version widens nothing: one approval approves it.
        let first = submit(&api, dev, &evolving("1.0.0", &["https://api.example.com"])).await;
        let r = approve(&api, rita, &first).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["submission"]["state"], "approved");

        // A version adding a host needs two: the first approval is recorded.
        let wider = submit(
            &api,
            dev,
            &evolving(
                "2.0.0",
                &["https://api.example.com", "https://extra.example.com"],
            ),
        )
        .await;
        let r = approve(&api, rita, &wider).await;
        assert_eq!(r.status, 202, "{} ({})", r.json, t.label);
        assert_eq!(
            (r.json["approvals"].as_u64(), r.json["needed"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(r.json["submission"]["state"], "pending_review");
        assert_eq!(r.json["submission"]["approval"], Value::Null);

        // The same reviewer cannot give the second approval.
        let r = approve(&api, rita, &wider).await;
        assert_eq!(
            (r.status, r.code()),
            (409, "already_approved"),
            "{}",
            r.json
        );
        // Nor can the submitter, who does not review.
        let fingerprint =
            api.get(&format!("/v1/submissions/{wider}"), dev).await.json["fingerprint"]
                .as_str()
                .expect("a fingerprint")
                .to_string();
        let r = api
            .post(
                &format!("/v1/reviews/{wider}/approve"),
                dev,
                &json!({"fingerprint": fingerprint}),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.json);

        // The publisher sees the partial approval in the history; another
        // developer sees nothing.
        let shown = api.get(&format!("/v1/submissions/{wider}"), dev).await;
        assert_eq!(shown.status, 200, "{}", shown.json);
        assert_eq!(shown.json["state"], "pending_review");
        let events = shown.json["events"].as_array().expect("events").clone();
        assert_eq!(events.len(), 2, "{}", shown.json);
        assert_eq!(events[1]["actor"], rita_account.id.as_str());
        assert_eq!(
            (events[1]["from"].as_str(), events[1]["to"].as_str()),
            (Some("pending_review"), Some("pending_review"))
        );
        assert!(
            events[1]["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("approval 1 of 2")),
            "{}",
            events[1]
        );
        let r = api
            .get(
                &format!("/v1/submissions/{wider}"),
                Auth::Token(&other_token),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.json);

        // A different reviewer's approval completes it, signed with their key.
        let r = approve(&api, rob, &wider).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        let approval: SignedApproval =
            serde_json::from_value(r.json["approval"].clone()).expect("a signed approval");
        assert_eq!(approval.claims.approved_by, rob_account.id);
        let shown = api.get(&format!("/v1/submissions/{wider}"), dev).await;
        assert_eq!(shown.json["state"], "approved");
        let events = shown.json["events"].as_array().expect("events").clone();
        assert_eq!(events.len(), 3, "{}", shown.json);
        assert_eq!(
            (events[1]["actor"].as_str(), events[2]["actor"].as_str()),
            (
                Some(rita_account.id.as_str()),
                Some(rob_account.id.as_str())
            )
        );
        assert_eq!(events[2]["to"], "approved");
        assert_eq!(events[2]["reason"], "approval 2 of 2");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_version_that_narrows_access_needs_one_reviewer() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (_, dev_token) =
            with_roles(&api, store, "dev", &[Role::Developer], &["read", "publish"]).await;
        let dev = Auth::Token(&dev_token);
        let (_, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let rita = Auth::Token(&rita_token);
        let hosts = ["https://api.example.com", "https://extra.example.com"];
        let first = submit(&api, dev, &evolving("1.0.0", &hosts)).await;
        let r = approve(&api, rita, &first).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        let narrower = submit(&api, dev, &evolving("2.0.0", &hosts[..1])).await;
        let r = approve(&api, rita, &narrower).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["submission"]["state"], "approved");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_claim_keeps_other_reviewers_off_until_it_is_released_or_expires() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (_, dev_token) =
            with_roles(&api, store, "dev", &[Role::Developer], &["read", "publish"]).await;
        let dev = Auth::Token(&dev_token);
        let (rita_account, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let rita = Auth::Token(&rita_token);
        let (rob_account, rob_token) =
            with_roles(&api, store, "rob", &[Role::Reviewer], &["read", "review"]).await;
        let rob = Auth::Token(&rob_token);
        let id = submit(&api, dev, &evolving("1.0.0", &["https://api.example.com"])).await;
        let claim = format!("/v1/reviews/{id}/claim");

        // The queue shows its age, approvals so far and needed, no claim.
        let r = api.get("/v1/reviews/queue", rita).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let item = &r.json[0];
        assert_eq!(item["id"], id.as_str(), "{}", r.json);
        assert!(item["age_secs"].as_i64().is_some_and(|a| a >= 0), "{item}");
        assert_eq!(
            (item["approvals"].as_u64(), item["needed"].as_u64()),
            (Some(0), Some(1))
        );
        assert_eq!(item["claimed_by"], Value::Null);

        // A developer cannot claim; nobody claims what does not exist.
        let r = api.post(&claim, dev, &json!({})).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post("/v1/reviews/sub_nothing/claim", rita, &json!({}))
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // Rita claims it for 30 minutes; the queue shows her claim.
        let before = now_ms();
        let r = api.post(&claim, rita, &json!({})).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["claimed_by"], rita_account.id.as_str());
        let until = r.json["claim_expires_at"].as_i64().expect("an expiry");
        assert!(until >= before + 30 * 60 * 1000, "{}", r.json);
        let r = api.get("/v1/reviews/queue", rob).await;
        assert_eq!(
            r.json[0]["claimed_by"],
            rita_account.id.as_str(),
            "{}",
            r.json
        );
        assert_eq!(r.json[0]["claim_expires_at"], until);

        // Rob can neither claim, approve, reject nor release it.
        let r = api.post(&claim, rob, &json!({})).await;
        assert_eq!((r.status, r.code()), (409, "claimed"), "{}", r.json);
        assert_eq!(
            r.json["error"]["details"]["claimed_by"],
            rita_account.id.as_str()
        );
        assert_eq!(r.json["error"]["details"]["claim_expires_at"], until);
        let r = approve(&api, rob, &id).await;
        assert_eq!((r.status, r.code()), (409, "claimed"), "{}", r.json);
        let r = api
            .post(
                &format!("/v1/reviews/{id}/reject"),
                rob,
                &json!({"reason": "no"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "claimed"), "{}", r.json);
        let r = api.delete(&claim, rob).await;
        assert_eq!((r.status, r.code()), (409, "claimed"), "{}", r.json);

        // Released, Rob may claim it.
        let r = api.delete(&claim, rita).await;
        assert_eq!(r.status, 204, "{}", r.json);
        let r = api.post(&claim, rob, &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["claimed_by"], rob_account.id.as_str());
        let r = api.delete(&claim, rob).await;
        assert_eq!(r.status, 204, "{}", r.json);

        // A claim that expired is ignored: Rita's claim, made two hours
        // ago for an hour, keeps nobody off.
        let now = now_ms();
        store
            .submissions()
            .claim(&id, &rita_account.id, now - 7_200_000, now - 3_600_000)
            .await
            .expect("claimed in the past");
        let r = api.get("/v1/reviews/queue", rob).await;
        assert_eq!(r.json[0]["claimed_by"], Value::Null, "{}", r.json);
        let r = approve(&api, rob, &id).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["submission"]["state"], "approved");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_reviewer_cannot_claim_their_own_submission() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (_, rae_token) = with_roles(
            &api,
            store,
            "rae",
            &[Role::Developer, Role::Reviewer],
            &["read", "publish", "review"],
        )
        .await;
        let rae = Auth::Token(&rae_token);
        let (_, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let id = submit(&api, rae, &evolving("1.0.0", &["https://api.example.com"])).await;
        let claim = format!("/v1/reviews/{id}/claim");
        let r = api.post(&claim, rae, &json!({})).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "forbidden"),
            "{} ({})",
            r.json,
            t.label
        );
        assert_eq!(
            r.json["error"]["details"]["reason"], "own_submission",
            "{}",
            r.json
        );
        let r = api.get("/v1/reviews/queue", rae).await;
        assert_eq!(r.json[0]["claimed_by"], Value::Null, "nothing was held");
        let r = api.post(&claim, Auth::Token(&rita_token), &json!({})).await;
        assert_eq!(r.status, 200, "another reviewer claims it: {}", r.json);
        t.cleanup().await;
    }
}
