//! Billing through the API, on SQLite and PostgreSQL, from real runs: a
//! user's usage this month (20 free, then charged), the draft and the
//! finalized statement paid by prepaid credit, a developer's earnings,
//! the ledger for admins;
//! every figure the caller's own, another account's statement a 404,
//! the ledger for admins only, a bad month named.

use std::time::Duration;

use serde_json::json;
use workway_engine::accounts::Role;
use workway_engine::billing::months::month_of;
use workway_engine::billing::statements::finalize_month;
use workway_fixtures::CHANNEL;
use workway_store::clock::now_ms;
use workway_store::testing::test_stores;

use super::client::{Account, Api, Auth, account, busy_api, connect_slack, with_roles};
use crate::workflows::Deployment;

/// A manual workflow with three Slack steps: three billable executions
/// per run.
fn three_posts() -> String {
    let step = |id: &str| {
        format!(
            "  - id: {id}\n    action: slack.send-message\n    input:\n      channel: \
             \"{CHANNEL}\"\n      text: \"billed\"\n"
        )
    };
    format!(
        "name: posts\ntrigger: {{kind: manual}}\nsteps:\n{}{}{}",
        step("one"),
        step("two"),
        step("three")
    )
}

/// `user` installs Slack, connects it, saves the workflow `posts` (three
/// Slack steps) and runs it `runs` times, each to success.
pub(super) async fn run_posts(api: &Api, d: &Deployment, user: &Account, runs: usize) {
    let r = api
        .install(user.token(), &json!({"integration": "slack"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    connect_slack(d, &user.id).await;
    let r = api
        .raw(
            "POST",
            "/v1/workflows",
            user.token(),
            &[("content-type", "application/yaml")],
            three_posts().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    for _ in 0..runs {
        let r = api
            .post("/v1/runs", user.token(), &json!({"workflow": "posts"}))
            .await;
        assert_eq!(r.status, 202, "{}", r.json);
        let id = r.json["run_id"].as_str().expect("a run id");
        let (run, attempts) = d.finish(id, Duration::from_secs(60)).await;
        crate::workflows::assert_succeeded(&run, &attempts);
    }
}

#[tokio::test]
async fn usage_statements_earnings_and_the_ledger() {
    for t in test_stores().await {
        let (d, api) = busy_api(&t).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let (dev, dev_token) = with_roles(
            &api,
            &d.platform.store,
            "dev",
            &[Role::User, Role::Developer],
            &["read", "publish"],
        )
        .await;
        let (_, admin_token) = with_roles(
            &api,
            &d.platform.store,
            "admin",
            &[Role::Admin],
            &["read", "admin"],
        )
        .await;
        // Slack's name belongs to `dev` (as if dev had published it).
        t.own("slack", &dev.id).await;

        // 8 runs of 3 steps: 24 executions, the last 4 charged.
        run_posts(&api, &d, &ann, 8).await;

        let month = month_of(now_ms());
        let r = api.get("/v1/billing/usage", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["month"], json!(month));
        for (field, value) in [
            ("billable", 24),
            ("free_used", 20),
            ("free_left", 0),
            ("light", 4),
            ("heavy", 0),
            ("failed", 0),
            ("charges_mills", 200),
        ] {
            assert_eq!(
                r.json[field],
                json!(value),
                "{field}: {} ({})",
                r.json,
                t.label
            );
        }
        assert_eq!(
            r.json["integrations"],
            json!([{"integration": "slack", "free": 20, "light": 4, "heavy": 0,
                "failed": 0, "charges_mills": 200}])
        );
        assert_eq!(r.json["prices"]["light_mills"], json!(50));
        // Bob's month is his own: nothing used.
        let r = api.get("/v1/billing/usage", bob.token()).await;
        assert_eq!(
            (r.json["billable"].clone(), r.json["free_left"].clone()),
            (json!(0), json!(20))
        );
        let r = api
            .get("/v1/billing/usage?month=2026-13", ann.token())
            .await;
        assert_eq!(r.status, 400, "{}", r.json);
        assert_eq!(
            r.json["error"]["details"]["field"],
            json!("month"),
            "{}",
            r.json
        );

        // The draft of the next statement; nothing finalized yet.
        let r = api.get("/v1/billing/statements", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["draft"]["total_mills"], json!(200), "{}", r.json);
        assert_eq!(r.json["items"], json!([]));

        // Ann buys $5.00 of prepaid credit (the local provider: paid at
        // once); Bob's credit is his own; an amount out of range is named.
        let r = api
            .post(
                "/v1/billing/credit",
                ann.token(),
                &json!({"amount_cents": 500}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert_eq!(r.json["balance_mills"], json!(5_000), "{}", r.json);
        assert_eq!(r.json["purchases"][0]["state"], json!("paid"));
        let r = api.get("/v1/billing/credit", bob.token()).await;
        assert_eq!(
            (r.json["balance_mills"].clone(), r.json["purchases"].clone()),
            (json!(0), json!([]))
        );
        let r = api
            .post(
                "/v1/billing/credit",
                bob.token(),
                &json!({"amount_cents": 499}),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.json);
        assert_eq!(r.json["error"]["details"]["field"], json!("amount_cents"));

        // The month closes: statements are finalized.
        let done = finalize_month(&d.platform.store, &month, now_ms())
            .await
            .expect("finalized");
        assert_eq!((done.users, done.developers), (1, 1), "{}", t.label);
        let r = api.get("/v1/billing/statements", ann.token()).await;
        let items = r.json["items"].as_array().expect("items").clone();
        assert_eq!(items.len(), 1, "{}", r.json);
        // The credit paid the 200 mills: nothing invoiced, $4.80 left.
        assert_eq!(items[0]["total_mills"], json!(200));
        assert_eq!(items[0]["credit_mills"], json!(200));
        assert_eq!(items[0]["amount_cents"], json!(0));
        let credit = api.get("/v1/billing/credit", ann.token()).await;
        assert_eq!(
            credit.json["balance_mills"],
            json!(4_800),
            "{}",
            credit.json
        );
        assert_eq!(items[0]["state"], json!("finalized"));
        assert_eq!(items[0]["summary"]["free"], json!(20));
        assert_eq!(r.json["draft"]["total_mills"], json!(0));
        let id = items[0]["id"].as_str().expect("an id");
        let r = api
            .get(&format!("/v1/billing/statements/{id}"), ann.token())
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        // Another account's statement does not exist for Bob.
        let r = api
            .get(&format!("/v1/billing/statements/{id}"), bob.token())
            .await;
        assert_eq!(r.status, 404, "{}", r.json);
        let r = api.get("/v1/billing/statements", bob.token()).await;
        assert_eq!(r.json["items"], json!([]));

        // The developer's share: 70% of 200 mills.
        let r = api
            .get("/v1/developer/earnings", Auth::Token(&dev_token))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(
            r.json["credited"],
            json!([{"integration": "slack", "month": month, "charged": 4, "share_mills": 140}]),
            "{}",
            t.label
        );
        assert_eq!(r.json["statements"][0]["amount_cents"], json!(14));
        // Ann has no publish scope.
        let r = api.get("/v1/developer/earnings", ann.token()).await;
        assert_eq!(r.status, 403, "{}", r.json);

        // The ledger, for admins only.
        let r = api.get("/v1/admin/ledger", ann.token()).await;
        assert_eq!(r.status, 403, "{}", r.json);
        let r = api.get("/v1/admin/ledger", Auth::Token(&admin_token)).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["reconciliation"]["holds"], json!(true), "{}", r.json);
        assert_eq!(r.json["reconciliation"]["charges_mills"], json!(200));
        assert_eq!(
            r.json["reconciliation"]["developer_shares_mills"],
            json!(140)
        );
        assert_eq!(r.json["reconciliation"]["platform_shares_mills"], json!(60));
        let kinds: Vec<&str> = r.json["items"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "credit_purchase",
                "credit_purchase",
                "user_charge",
                "developer_share",
                "platform_share",
                "credit_applied",
                "credit_applied"
            ]
        );
        t.cleanup().await;
    }
}
