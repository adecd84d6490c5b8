//! Admins audit review on SQLite and PostgreSQL: every submission with
//! every decision made on it (who, when, why), the approvals recorded
//! towards a version that needs two and the claim on it, newest first a
//! page at a time, filtered by state and integration; nobody else reads
//! it.

use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_store::testing::test_stores;

use super::client::{Api, Auth, approve, evolving, submit, with_roles};
use crate::workflows::Deployment;

#[tokio::test]
async fn admins_read_every_decision_and_nobody_else_does() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (_, dev) =
            with_roles(&api, store, "dev", &[Role::Developer], &["read", "publish"]).await;
        let (rita_account, rita) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let (_, ada) = with_roles(&api, store, "ada", &[Role::Admin], &["read", "admin"]).await;
        let (dev, rita, ada) = (Auth::Token(&dev), Auth::Token(&rita), Auth::Token(&ada));

        let first = submit(&api, dev, &evolving("1.0.0", &["https://api.example.com"])).await;
        let r = api
            .post(&format!("/v1/reviews/{first}/claim"), rita, &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(approve(&api, rita, &first).await.status, 200);
        // A new host widens access: Rita's approval is one of two.
        let second = submit(
            &api,
            dev,
            &evolving(
                "2.0.0",
                &["https://api.example.com", "https://files.example.com"],
            ),
        )
        .await;
        assert_eq!(approve(&api, rita, &second).await.status, 202);

        let r = api.get("/v1/admin/submissions", ada).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        let items = r.json["items"].as_array().expect("items");
        let ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
        let (Some(at_second), Some(at_first)) = (
            ids.iter().position(|id| *id == second),
            ids.iter().position(|id| *id == first),
        ) else {
            panic!("both listed: {ids:?}");
        };
        assert!(at_second < at_first, "newest first: {ids:?}");
        let pending = &items[at_second];
        assert_eq!(pending["state"], "pending_review");
        assert_eq!(
            pending["approvals"][0]["reviewer"],
            rita_account.id.as_str()
        );
        let reasons: Vec<&str> = pending["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["reason"].as_str())
            .collect();
        assert!(
            reasons.iter().any(|r| r.starts_with("approval 1 of 2")),
            "{reasons:?}"
        );
        let approved = &items[at_first];
        assert_eq!(approved["state"], "approved");
        let last = approved["events"]
            .as_array()
            .and_then(|e| e.last())
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(
            (last["to"].as_str(), last["actor"].as_str()),
            (Some("approved"), Some(rita_account.id.as_str())),
            "who approved, when: {last}"
        );
        assert!(last["at"].as_i64().is_some_and(|at| at > 0));

        // Filters and pages.
        let r = api
            .get(
                "/v1/admin/submissions?state=approved&integration=evolving",
                ada,
            )
            .await;
        let states: Vec<&str> = r.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["state"].as_str())
            .collect();
        assert!(
            !states.is_empty() && states.iter().all(|s| *s == "approved"),
            "{states:?}"
        );
        let r = api
            .get("/v1/admin/submissions?integration=evolving&limit=1", ada)
            .await;
        assert_eq!(r.json["items"][0]["id"], second.as_str());
        let cursor = r.json["next_cursor"].as_str().expect("a second page");
        let r = api
            .get(
                &format!("/v1/admin/submissions?integration=evolving&limit=1&cursor={cursor}"),
                ada,
            )
            .await;
        assert_eq!(r.json["items"][0]["id"], first.as_str(), "{}", r.json);
        assert_eq!(r.json["next_cursor"], Value::Null);

        // Bad input is named.
        for (query, field) in [
            ("state=lost", "state"),
            ("limit=0", "limit"),
            ("cursor=zz", "cursor"),
            ("colour=red", "query"),
        ] {
            let r = api
                .get(&format!("/v1/admin/submissions?{query}"), ada)
                .await;
            assert_eq!(
                (r.status, r.json["error"]["details"]["field"].as_str()),
                (400, Some(field)),
                "{query}: {}",
                r.json
            );
        }

        // An admin reads one submission's history too; nobody else reads
        // the audit.
        let r = api.get(&format!("/v1/submissions/{second}"), ada).await;
        assert_eq!(r.status, 200, "{}", r.json);
        for (who, auth) in [("developer", dev), ("reviewer", rita)] {
            let r = api.get("/v1/admin/submissions", auth).await;
            assert_eq!(
                (r.status, r.code()),
                (403, "forbidden"),
                "{who}: {}",
                r.json
            );
        }
        t.cleanup().await;
    }
}
