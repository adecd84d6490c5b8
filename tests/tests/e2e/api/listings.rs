//! Listings through the API, on SQLite and PostgreSQL: written by the
//! owner of the name or a co-maintainer only (404 for anyone else),
//! validated field by field (the price in whole cents from $19 to $249),
//! the Markdown description rendered without scripts, handlers or
//! `javascript:` links, icons checked by type, size and dimensions and
//! served back with their type, the listing showing actions with their
//! schemas and the hosts and scopes with the providers' descriptions, and
//! paid integrations installed only with an entitlement.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_store::testing::test_stores;

use super::client::{Account, Api, Auth, Response, account, with_roles};
use crate::workflows::Deployment;

/// Sign up `name` as a developer and make a read+publish token.
async fn developer(api: &Api, store: &workway_store::Store, name: &str) -> (Account, String) {
    with_roles(api, store, name, &[Role::Developer], &["read", "publish"]).await
}

/// Publish `evolving` 1.0.0 as `auth` and approve it as the reviewer
/// `reviewer`: the name becomes the publisher's.
async fn publish_evolving(api: &Api, auth: Auth<'_>, reviewer: Auth<'_>) {
    let s = crate::registry::evolving("1.0.0", &["https://api.example.com"]);
    let body = json!({"manifest": s.manifest, "component": STANDARD.encode(s.component)});
    let r = api.post("/v1/submissions", auth, &body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_str().expect("an id").to_string();
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
    assert_eq!(r.status, 200, "{}", r.json);
}

const LISTING: &str = "/v1/integrations/evolving/listing";
const ICON: &str = "/v1/integrations/evolving/icon";

/// A valid listing body.
fn listing(summary: &str, price_cents: Value) -> Value {
    json!({
        "summary": summary,
        "description": "# Evolving\n\nSays **which version** answers.",
        "categories": ["developer-tools", "other"],
        "price_cents": price_cents,
        "changelog": {"1.0.0": "The first version."},
    })
}

async fn put(api: &Api, auth: Auth<'_>, body: &Value) -> Response {
    api.call("PUT", LISTING, auth, Some(body)).await
}

async fn put_icon(api: &Api, auth: Auth<'_>, content_type: &str, bytes: &[u8]) -> Response {
    api.raw("PUT", ICON, auth, &[("content-type", content_type)], bytes)
        .await
}

/// A PNG's signature and header chunk, `width`×`height`, padded to `size`.
fn png(width: u32, height: u32, size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.resize(size.max(bytes.len()), 0);
    bytes
}

#[tokio::test]
async fn listings_are_written_by_publishers_validated_and_shown_to_everyone() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (olga, olga_token) = developer(&api, store, "olga").await;
        let olga_auth = Auth::Token(&olga_token);
        let (carl, carl_token) = developer(&api, store, "carl").await;
        let carl_auth = Auth::Token(&carl_token);
        let (_, mallory_token) = developer(&api, store, "mallory").await;
        let mallory = Auth::Token(&mallory_token);
        let (_, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let user = account(&api, "ursula").await;
        publish_evolving(&api, olga_auth, Auth::Token(&rita_token)).await;
        let r = api
            .call(
                "PUT",
                "/v1/developer/profile",
                olga_auth,
                Some(&json!({
                    "display_name": "Olga's Tools",
                    "support_contact": "help@olga.example",
                    "payout_account": "acct_secret_1",
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);

        // Before a listing is written, the manifest speaks for it.
        let r = api.get(LISTING, user.token()).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["summary"], "Two builds of one integration.");
        assert_eq!(r.json["pricing"]["model"], "free");
        assert_eq!(r.json["icon_url"], Value::Null);

        // Only its owner (and later a co-maintainer) writes it; everyone
        // else is answered as if it did not exist.
        let body = listing("Says which version answers", json!(4900));
        for (who, auth) in [("mallory", mallory), ("carl", carl_auth)] {
            let r = put(&api, auth, &body).await;
            assert_eq!(
                (r.status, r.code()),
                (404, "not_found"),
                "{who}: {}",
                r.json
            );
        }
        let r = put(&api, user.token(), &body).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .call(
                "PUT",
                "/v1/integrations/nothing-here/listing",
                olga_auth,
                Some(&body),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = put(&api, olga_auth, &body).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["pricing"]["upfront_cents"], 4900);
        assert_eq!(r.json["pricing"]["display"], "$49.00");
        assert_eq!(r.json["updated_by"], olga.id.as_str());

        // Every bad field is named.
        let mut cases: Vec<(&str, &str, Value)> = vec![
            ("summary", "summary", json!("x".repeat(161))),
            ("summary", "summary", json!("")),
            ("summary", "summary", json!("two\nlines")),
            ("description", "description", json!("x".repeat(20_001))),
            ("categories", "categories", json!(["games"])),
            (
                "categories",
                "categories",
                json!(["crm", "finance", "storage", "other"]),
            ),
            ("changelog", "changelog", json!({"9.9.9": "never approved"})),
        ];
        for price in [
            json!(1899),
            json!(24901),
            json!(49.5),
            json!(4900.0),
            json!("4900"),
            json!(-1900),
        ] {
            cases.push(("price_cents", "price_cents", price));
        }
        for (key, field, value) in cases {
            let mut body = listing("Fine", json!(null));
            body[key] = value.clone();
            let r = put(&api, olga_auth, &body).await;
            assert_eq!(
                (r.status, r.code()),
                (400, "invalid_input"),
                "{key} = {value}: {} ({})",
                r.json,
                t.label
            );
            assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
        }
        for price in [1900, 24900] {
            let r = put(&api, olga_auth, &listing("Edge price", json!(price))).await;
            assert_eq!(r.status, 200, "{price}: {}", r.json);
            assert_eq!(r.json["pricing"]["upfront_cents"], price);
        }

        // A co-maintainer edits it too.
        let r = api
            .post(
                "/v1/integrations/evolving/maintainers",
                olga_auth,
                &json!({"email": carl.email}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let mut body = listing("Edited by a co-maintainer", json!(null));
        body["description"] = json!(
            "Safe *text*.\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n\
             [bad](javascript:alert(3)) <javascript:alert(4)> [good](https://example.com/)"
        );
        let r = put(&api, carl_auth, &body).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["updated_by"], carl.id.as_str());
        let html = r.json["description"]["html"].as_str().expect("html");
        for tag in html.split('<').skip(1) {
            let inside = tag
                .split('>')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(
                !inside.starts_with("script")
                    && !inside.starts_with("img")
                    && !inside.contains(" on")
                    && !inside.contains("javascript:"),
                "unsafe tag <{inside}> in {html}"
            );
        }
        assert!(html.contains("&lt;script&gt;"), "shown as text: {html}");
        assert!(html.contains("<em>text</em>"), "{html}");
        assert!(html.contains("href=\"https://example.com/\""), "{html}");

        // Icons: checked type, size and dimensions, named field.
        for (content_type, bytes, field) in [
            (
                "image/gif",
                b"GIF89a\x10\0\x10\0\0\0\0".to_vec(),
                "content_type",
            ),
            ("image/png", b"GIF89a\x10\0\x10\0\0\0\0".to_vec(), "icon"),
            (
                "image/png",
                b"\x89PNX\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10".to_vec(),
                "icon",
            ),
            ("image/png", png(64, 64, 300 * 1024), "icon"),
            ("image/png", png(2048, 64, 0), "icon"),
            ("image/webp", png(64, 64, 0), "icon"),
        ] {
            let r = put_icon(&api, olga_auth, content_type, &bytes).await;
            assert_eq!(
                (r.status, r.code()),
                (400, "invalid_input"),
                "{content_type}: {}",
                r.json
            );
            assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
        }
        let icon = png(64, 64, 2000);
        let r = put_icon(&api, mallory, "image/png", &icon).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get(ICON, user.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "no icon yet");
        let r = put_icon(&api, olga_auth, "image/png", &icon).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["icon_url"], ICON);
        assert_eq!(r.json["summary"], "Edited by a co-maintainer", "text kept");
        let r = api.get(ICON, user.token()).await;
        assert_eq!(r.status, 200, "{:?}", r.headers);
        assert_eq!(r.header("content-type"), Some("image/png"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("content-length"), Some("2000"));

        // Anyone signed in reads the listing: public parts only.
        let r = api.get(LISTING, user.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let view = &r.json;
        assert_eq!(view["name"], "evolving");
        assert_eq!(view["summary"], "Edited by a co-maintainer");
        assert_eq!(view["icon_url"], ICON);
        assert_eq!(view["categories"], json!(["developer-tools", "other"]));
        assert_eq!(view["publisher"]["account_id"], olga.id.as_str());
        assert_eq!(view["publisher"]["verified"], false);
        assert_eq!(view["publisher"]["profile"]["display_name"], "Olga's Tools");
        assert!(
            !view.to_string().contains("acct_secret_1"),
            "the payout reference is not public: {view}"
        );
        assert_eq!(view["hosts"], json!(["https://api.example.com"]));
        assert_eq!(view["actions"][0]["name"], "ping", "{view}");
        assert!(view["actions"][0]["input_schema"].is_object(), "{view}");
        assert!(view["actions"][0]["output_schema"].is_object(), "{view}");
        assert_eq!(view["versions"][0]["version"], "1.0.0");
        assert!(view["versions"][0]["approved_at"].as_i64().is_some());
        assert_eq!(view["versions"][0]["changelog"], "The first version.");
        let r = api
            .get("/v1/integrations/nothing-here/listing", user.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_listing_says_what_the_integration_may_do_in_the_providers_words() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let user = account(&api, "ursula").await;
        let r = api
            .get("/v1/integrations/slack/listing", user.token())
            .await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        let view = &r.json;
        let actions = view["actions"].as_array().expect("actions");
        assert!(!actions.is_empty(), "{view}");
        for action in actions {
            assert!(action["input_schema"].is_object(), "{action}");
            assert!(action["output_schema"].is_object(), "{action}");
        }
        assert!(
            view["hosts"].as_array().is_some_and(|h| !h.is_empty()),
            "{view}"
        );
        let scopes = view["scopes"].as_array().expect("scopes");
        assert!(!scopes.is_empty(), "{view}");
        for scope in scopes {
            assert_eq!(scope["provider"], "slack", "{scope}");
            assert!(
                scope["description"].as_str().is_some_and(|d| !d.is_empty()),
                "every fixture scope is described: {scope}"
            );
        }
        let chat = scopes
            .iter()
            .find(|s| s["scope"] == "chat:write")
            .expect("chat:write asked for");
        assert_eq!(chat["description"], "Send messages as the app");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_paid_integration_installs_only_with_an_entitlement() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (olga, olga_token) = developer(&api, store, "olga").await;
        let olga_auth = Auth::Token(&olga_token);
        let (_, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        publish_evolving(&api, olga_auth, Auth::Token(&rita_token)).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let r = put(&api, olga_auth, &listing("Paid", json!(4900))).await;
        assert_eq!(r.status, 200, "{}", r.json);

        // Without an entitlement: 402, saying what it costs and where it
        // will be bought; nothing installed.
        let r = api
            .install(ann.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (402, "payment_required"),
            "{} ({})",
            r.json,
            t.label
        );
        let message = r.json["error"]["message"].as_str().expect("a message");
        assert!(message.contains("$49.00"), "{message}");
        assert!(
            message.contains("/v1/integrations/evolving/purchase"),
            "{message}"
        );
        assert_eq!(r.json["error"]["details"]["price_cents"], 4900);
        assert_eq!(r.json["error"]["details"]["purchase_available"], true);
        let r = api.get("/v1/installations", ann.token()).await;
        assert_eq!(r.json, json!([]), "nothing installed");

        // Its publisher installs it without buying it.
        let r = api
            .install(olga.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);

        // Ann buys it (the deployment's payment provider is the local one:
        // paid at once, the fee estimate as its fee) and installs it.
        let r = api
            .post(
                "/v1/integrations/evolving/purchase",
                ann.token(),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        let purchase = r.json["purchase"].clone();
        assert_eq!(r.json["checkout_url"], json!(null));
        // 2.9% of $49.00 is $1.421: $1.42 + $0.30.
        for (field, value) in [
            ("state", json!("paid")),
            ("price_cents", json!(4900)),
            ("fee_estimate_cents", json!(172)),
            ("fee_cents", json!(172)),
            ("developer_cents", json!(4728)),
            ("provider", json!("local")),
        ] {
            assert_eq!(purchase[field], value, "{field}: {purchase}");
        }
        let purchase_id = purchase["id"].as_str().expect("an id").to_string();
        let r = api
            .post(
                "/v1/integrations/evolving/purchase",
                ann.token(),
                &json!({}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (409, "already_entitled"),
            "{}",
            r.json
        );
        let r = api
            .post(
                "/v1/integrations/evolving/purchase",
                olga.token(),
                &json!({}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (409, "already_entitled"),
            "its publisher: {}",
            r.json
        );
        let r = api
            .install(ann.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        // Purchases are their buyer's own.
        let r = api.get("/v1/billing/purchases", ann.token()).await;
        assert_eq!(
            r.json["items"].as_array().map(Vec::len),
            Some(1),
            "{}",
            r.json
        );
        let r = api.get("/v1/billing/purchases", bob.token()).await;
        assert_eq!(r.json["items"], json!([]), "{}", r.json);

        // Refunds are for admins; a refund takes the entitlement back.
        let refund = format!("/v1/admin/purchases/{purchase_id}/refund");
        let r = api.post(&refund, ann.token(), &json!({})).await;
        assert_eq!(r.status, 403, "{}", r.json);
        let (_, admin_token) =
            with_roles(&api, store, "adam", &[Role::Admin], &["read", "admin"]).await;
        let admin = Auth::Token(&admin_token);
        let r = api
            .post("/v1/admin/purchases/pu_nothing/refund", admin, &json!({}))
            .await;
        assert_eq!(r.status, 404, "{}", r.json);
        let r = api.post(&refund, admin, &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["state"], json!("refunded"));
        let r = api.post(&refund, admin, &json!({})).await;
        assert_eq!((r.status, r.code()), (409, "not_paid"), "{}", r.json);
        let r = api
            .install(ann.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (402, "payment_required"),
            "{}",
            r.json
        );
        // The sale and its reversal balance; the fee stays booked.
        let r = api.get("/v1/admin/ledger", admin).await;
        assert_eq!(r.json["reconciliation"]["holds"], json!(true), "{}", r.json);
        let balances = r.json["balances"].as_array().expect("balances").clone();
        let olga_payable = format!("developer:{}:payable", olga.id);
        let olga_balance = balances
            .iter()
            .find(|b| b["account"] == json!(olga_payable))
            .map(|b| b["balance_mills"].clone());
        assert_eq!(olga_balance, Some(json!(1720)), "{balances:?}");
        // Bought again, it installs again.
        let r = api
            .post(
                "/v1/integrations/evolving/purchase",
                ann.token(),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);

        // Ann's entitlement is hers: Bob is still refused.
        let r = api
            .install(bob.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (402, "payment_required"),
            "{}",
            r.json
        );

        // Made free, it installs as before.
        let r = put(&api, olga_auth, &listing("Free now", json!(null))).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = api
            .install(bob.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let r = api
            .post(
                "/v1/integrations/evolving/purchase",
                bob.token(),
                &json!({}),
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "free"), "{}", r.json);
        let r = api
            .post(
                "/v1/integrations/nothing-here/purchase",
                bob.token(),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.json);
        t.cleanup().await;
    }
}
