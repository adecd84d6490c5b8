//! The figures on an integration's listing through the API, on SQLite and
//! PostgreSQL: installs now and ever through installs, upgrades,
//! uninstalls and re-installs by several accounts; the rating average and
//! histogram without the hidden review; executions, success rate and
//! median latency from real runs once rolled up (counted once however
//! often the roll-up runs); the same public figures for every account,
//! naming none.

use std::time::Duration;

use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_engine::marketplace::figures::{RollupSettings, roll_up};
use workway_fixtures::CHANNEL;
use workway_store::clock::now_ms;
use workway_store::testing::test_stores;

use super::client::{Account, Api, Auth, account, busy_api, connect_slack, with_roles};
use crate::workflows::Deployment;

const LISTING: &str = "/v1/integrations/slack/listing";

/// A manual workflow that posts to Slack.
fn tell() -> String {
    format!(
        "name: tell\ntrigger: {{kind: manual}}\nsteps:\n  - id: tell\n    action: \
         slack.send-message\n    input:\n      channel: \"{CHANNEL}\"\n      text: \"counted\"\n"
    )
}

/// Save `tell` for `who` and drive one run of it to success.
async fn run_slack(api: &Api, d: &Deployment, who: &Account) {
    connect_slack(d, &who.id).await;
    let r = api
        .raw(
            "POST",
            "/v1/workflows",
            who.token(),
            &[("content-type", "application/yaml")],
            tell().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let r = api
        .post("/v1/runs", who.token(), &json!({"workflow": "tell"}))
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.json["run_id"].as_str().expect("a run id");
    let (run, attempts) = d.finish(id, Duration::from_secs(60)).await;
    crate::workflows::assert_succeeded(&run, &attempts);
}

/// The `figures` of Slack's listing as `auth` reads them.
async fn figures(api: &Api, auth: Auth<'_>) -> Value {
    let r = api.get(LISTING, auth).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["figures"].clone()
}

/// Install Slack for `who`; the status.
async fn install(api: &Api, who: &Account) -> u16 {
    api.install(who.token(), &json!({"integration": "slack"}))
        .await
        .status
}

#[tokio::test]
async fn a_listing_shows_installs_executions_and_ratings() {
    for t in test_stores().await {
        let (d, api) = busy_api(&t).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let carl = account(&api, "carl").await;
        let dee = account(&api, "dee").await;
        let (_, admin_token) = with_roles(
            &api,
            &d.platform.store,
            "admin",
            &[Role::Admin],
            &["read", "admin"],
        )
        .await;

        // The fixture's user installed Slack; nothing else yet: zeros, and
        // nulls where there is nothing to divide.
        let f = figures(&api, dee.token()).await;
        assert_eq!(
            f,
            json!({
                "installs": {"current": 1, "total": 1},
                "executions_30d": 0,
                "successes_30d": 0,
                "success_rate": null,
                "p50_latency_ms": null,
                "rating": {"average": null, "count": 0, "sum": 0,
                    "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}},
            }),
            "{}",
            t.label
        );

        // Install, upgrade in place, uninstall, re-install, a second account.
        assert_eq!(install(&api, &ann).await, 201, "{}", t.label);
        let installs = |f: &Value| f["installs"].clone();
        assert_eq!(
            installs(&figures(&api, dee.token()).await),
            json!({"current": 2, "total": 2})
        );
        let again = install(&api, &ann).await;
        assert!(again == 200 || again == 201, "{again}");
        let r = api
            .post("/v1/installations/slack/upgrade", ann.token(), &json!({}))
            .await;
        assert!(r.status < 500, "{}", r.json);
        assert_eq!(
            installs(&figures(&api, dee.token()).await),
            json!({"current": 2, "total": 2}),
            "{}",
            t.label
        );
        let r = api.delete("/v1/installations/slack", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = api.delete("/v1/installations/slack", ann.token()).await;
        assert_eq!(r.status, 404, "{}", r.json);
        assert_eq!(
            installs(&figures(&api, dee.token()).await),
            json!({"current": 1, "total": 2})
        );
        assert_eq!(install(&api, &ann).await, 201);
        assert_eq!(install(&api, &bob).await, 201);
        assert_eq!(install(&api, &carl).await, 201);
        assert_eq!(
            installs(&figures(&api, dee.token()).await),
            json!({"current": 4, "total": 5}),
            "{}",
            t.label
        );

        // Three real runs, one step each; one more attempt that failed.
        for who in [&ann, &bob, &carl] {
            run_slack(&api, &d, who).await;
        }
        let finished = now_ms();
        t.tamper(
            &format!(
                "INSERT INTO step_attempts (run_id, step_index, attempt, step_id, action, \
                 status, idempotency_key, started_at, finished_at) VALUES ('failed-run', 0, 1, \
                 'tell', 'slack.send-message', 'failed', 'k', {}, {finished})",
                finished - 5_000
            ),
            &[],
        )
        .await;
        // Not rolled up yet: the listing shows none.
        assert_eq!(figures(&api, dee.token()).await["executions_30d"], 0);
        // Within the settle lag: still none.
        let settings = RollupSettings::default();
        roll_up(&d.platform.store, finished, &settings)
            .await
            .expect("rolled up");
        assert_eq!(figures(&api, dee.token()).await["executions_30d"], 0);
        let later = finished + settings.settle_lag_ms + 1;
        for _ in 0..2 {
            roll_up(&d.platform.store, later, &settings)
                .await
                .expect("rolled up");
        }
        let f = figures(&api, dee.token()).await;
        assert_eq!(
            (
                f["executions_30d"].as_i64(),
                f["successes_30d"].as_i64(),
                f["success_rate"].as_f64()
            ),
            (Some(4), Some(3), Some(0.75)),
            "{f} ({})",
            t.label
        );
        assert!(f["p50_latency_ms"].as_u64().is_some(), "{f}");

        // Ratings: two counted, carl's hidden one left out.
        for (who, rating) in [(&ann, 5), (&bob, 4), (&carl, 1)] {
            let r = api
                .call(
                    "PUT",
                    "/v1/integrations/slack/reviews/mine",
                    who.token(),
                    Some(&json!({"rating": rating})),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.json);
        }
        assert_eq!(figures(&api, dee.token()).await["rating"]["count"], 3);
        let carls = d
            .platform
            .store
            .ratings()
            .find("slack", &carl.id)
            .await
            .expect("read")
            .expect("carl's review");
        let r = api
            .post(
                &format!("/v1/admin/reviews/{}/hide", carls.id),
                Auth::Token(&admin_token),
                &json!({"reason": "abusive"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let f = figures(&api, dee.token()).await;
        assert_eq!(
            f["rating"],
            json!({"average": 4.5, "count": 2, "sum": 9,
                "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}),
            "{}",
            t.label
        );

        // The same public figures for everyone, naming nobody.
        assert_eq!(figures(&api, ann.session()).await, f);
        let text = f.to_string();
        for who in [&ann, &bob, &carl] {
            assert!(!text.contains(&who.id), "{text}");
        }
        let mut keys: Vec<&str> = f
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "executions_30d",
                "installs",
                "p50_latency_ms",
                "rating",
                "success_rate",
                "successes_30d"
            ]
        );
        t.cleanup().await;
    }
}
