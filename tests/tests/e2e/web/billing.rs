//! Billing pages over plain HTTP on SQLite and PostgreSQL: a paid
//! integration bought through the (local) payment provider from its page
//! and then installed, this month's usage after a run, the developer's
//! console; and one account's usage and purchases kept from another.

use std::time::Duration;

use serde_json::json;
use workway_engine::accounts::Role;
use workway_store::testing::test_stores;

use super::pages::{csrf_field, hidden_field, post_form};
use super::runs::slack_user;
use crate::api::client::{Api, account, approve, evolving, submit, with_roles};
use crate::workflows::Deployment;

#[tokio::test]
async fn a_paid_integration_is_bought_then_installed_and_usage_is_shown_to_its_account_only() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let (olga, _) = with_roles(&api, &t.store, "olga", &[Role::Developer], &["read"]).await;
        let (rita, _) = with_roles(&api, &t.store, "rita", &[Role::Reviewer], &["read"]).await;
        let id = submit(
            &api,
            olga.session(),
            &evolving("1.0.0", &["https://api.example.com"]),
        )
        .await;
        let r = approve(&api, rita.session(), &id).await;
        assert_eq!(r.status, 200, "{l}: {}", r.json);
        let r = api
            .call(
                "PUT",
                "/v1/integrations/evolving/listing",
                olga.session(),
                Some(&json!({"summary": "Pings, for a price.", "price_cents": 1900})),
            )
            .await;
        assert_eq!(r.status, 200, "{l}: {}", r.json);

        let ann = slack_user(&api, &d, "ann").await;
        let bob = account(&api, "bob").await;
        let ann_session = ann.browser();
        let bob_session = bob.browser();

        // The page offers to buy it; installing first is refused with the
        // same offer.
        let page = api.get("/marketplace/evolving", ann_session).await;
        assert!(page.body.contains("Buy for $19.00"), "{l}: {}", page.body);
        let csrf = csrf_field(&page.body);
        let consent = api.get("/marketplace/evolving/install", ann_session).await;
        let digest = hidden_field(&consent.body, "accept");
        let install = [
            ("csrf", csrf.as_str()),
            ("accept", digest.as_str()),
            ("version", "1.0.0"),
        ];
        let r = post_form(
            &api,
            "/marketplace/evolving/install",
            ann_session,
            None,
            &install,
        )
        .await;
        assert_eq!(r.status, 402, "{l}: {}", r.body);
        assert!(r.body.contains(r#"id="buy""#), "{l}");

        // Bought (the local provider records it paid at once), then installed.
        let r = post_form(
            &api,
            "/marketplace/evolving/buy",
            ann_session,
            None,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(
            r.header("location"),
            Some("/marketplace/evolving/install"),
            "{l}"
        );
        let r = post_form(
            &api,
            "/marketplace/evolving/install",
            ann_session,
            None,
            &install,
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);

        // A run this month: one of the 20 free executions used.
        let yaml = "name: greet\ntrigger:\n  kind: manual\nsteps:\n  - id: tell\n    action: slack.send-message\n    input:\n      channel: C0123ABCD\n      text: hi\n";
        let r = api
            .raw(
                "POST",
                "/v1/workflows",
                ann.token(),
                &[("content-type", "application/yaml")],
                yaml.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 201, "{l}: {}", r.json);
        let r = api
            .post("/v1/runs", ann.token(), &json!({"workflow": "greet"}))
            .await;
        let run = r.json["run_id"].as_str().expect("a run").to_string();
        d.finish(&run, Duration::from_secs(30)).await;

        let billing = api.get("/billing", ann_session).await;
        assert_eq!(billing.status, 200, "{l}");
        assert!(
            billing.body.contains(r#"id="free-left">19 of 20"#),
            "{l}: {}",
            billing.body
        );
        assert!(
            billing
                .body
                .contains(r#"<tr data-integration="slack"><td>slack</td><td>1</td>"#),
            "{l}"
        );
        assert!(
            billing.body.contains(r#"<td class="state">paid</td>"#),
            "{l}: the purchase"
        );
        assert!(billing.body.contains("$19.00"), "{l}");

        // Bob sees none of it, and buying needs the form's CSRF field.
        let his = api.get("/billing", bob_session).await;
        assert!(
            his.body.contains(r#"id="free-left">20 of 20"#),
            "{l}: {}",
            his.body
        );
        assert!(his.body.contains("no-purchases"), "{l}");
        let r = post_form(
            &api,
            "/marketplace/evolving/buy",
            bob_session,
            None,
            &[("csrf", "forged")],
        )
        .await;
        assert_eq!(r.status, 403, "{l}");
        assert_eq!(
            api.get("/v1/billing/purchases", bob.token()).await.json["items"]
                .as_array()
                .map(Vec::len),
            Some(0),
            "{l}"
        );

        // Prepaid credit, bought in dollars as typed (the local provider
        // credits it at once); amounts that are not one, or out of range,
        // are answered on the page. Bob's balance is his own.
        for (amount, status, says) in [
            ("twenty", 400, "not an amount"),
            ("2.00", 400, "500 to 100000"),
        ] {
            let r = post_form(
                &api,
                "/billing/credit",
                ann_session,
                None,
                &[("csrf", &csrf), ("amount", amount)],
            )
            .await;
            assert_eq!(r.status, status, "{l}: {amount}: {}", r.body);
            assert!(r.body.contains(says), "{l}: {amount}: {}", r.body);
            assert!(
                r.body.contains(&format!(r#"value="{amount}""#)),
                "{l}: kept"
            );
        }
        let r = post_form(
            &api,
            "/billing/credit",
            ann_session,
            None,
            &[("csrf", &csrf), ("amount", "$25.50")],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(r.header("location"), Some("/billing?done=credit"), "{l}");
        let billing = api.get("/billing?done=credit", ann_session).await;
        assert!(billing.body.contains("Credit bought"), "{l}");
        assert!(
            billing.body.contains(r#"id="credit">$25.500"#),
            "{l}: {}",
            billing.body
        );
        let his = api.get("/billing", bob_session).await;
        assert!(his.body.contains(r#"id="credit">$0.000"#), "{l}");
        let r = post_form(
            &api,
            "/billing/credit",
            bob_session,
            None,
            &[("amount", "25")],
        )
        .await;
        assert_eq!(r.status, 403, "{l}: no CSRF field");

        // The developer's console lists the submission and the earnings.
        let console = api.get("/developer", olga.browser()).await;
        assert_eq!(console.status, 200, "{l}");
        assert!(console.body.contains("evolving"), "{l}");
        assert!(console.body.contains("Earnings"), "{l}");
        assert_eq!(
            api.get("/developer", bob_session).await.status,
            403,
            "{l}: a user is no developer"
        );
        t.cleanup().await;
    }
}
