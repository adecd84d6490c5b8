//! Payments through Stripe, on SQLite and PostgreSQL, against the local
//! Stripe mock (real HTTPS on 127.0.0.1, Stripe's wire format): a paid
//! integration bought through a Checkout Session (a destination charge to
//! the developer's connected account with `application_fee_amount = 0`
//! once they have one), paid when the signed `checkout.session.completed`
//! webhook arrives (the fee as the balance transaction reports it, not
//! the estimate), the webhook applied once and refused when forged or
//! stale; an admin's refund reversing the transfer; prepaid credit paid
//! through Checkout; the month's usage invoiced to the user and paid by
//! `invoice.paid`; the developer paid out what the ledger says is owed
//! (sales the platform collected, usage shares, minus Stripe's fees of
//! sales transferred at the charge) through a Connect transfer; the
//! ledger reconciling throughout.

use std::path::PathBuf;

use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_engine::billing::months::month_of;
use workway_engine::billing::payments::{PaymentsConfig, ProviderKind, StripeSettings};
use workway_engine::billing::settlement::settle;
use workway_engine::billing::statements::finalize_month;
use workway_mocks::TestCa;
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::stripe::{HOST, StripeMock};
use workway_store::clock::now_ms;
use workway_store::testing::{TestStore, test_stores};

use super::billing::run_posts;
use super::client::{Api, Auth, account, approve, evolving, submit, with_roles};
use crate::workflows::Deployment;

const KEY: &str = "sk_test_workway_platform";
const WEBHOOK_SECRET: &str = "whsec_workway_test";

/// The Stripe settings of a host whose Stripe is `mock`'s.
fn stripe_payments() -> PaymentsConfig {
    PaymentsConfig {
        provider: ProviderKind::Stripe,
        stripe: Some(StripeSettings {
            secret_key: KEY.into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            api_base: format!("https://{HOST}"),
            success_url: Some("https://workway.example/billing?checkout=done".into()),
            cancel_url: Some("https://workway.example/billing?checkout=cancelled".into()),
            webhook_tolerance_s: 300,
            invoice_days_until_due: 14,
        }),
    }
}

/// The webhook URL of `api`.
fn webhook_url(api: &Api) -> String {
    format!("http://{}/v1/payments/stripe/webhook", api.address)
}

/// The ledger balance of `account` (mills), 0 when it has no entries.
async fn balance(store: &workway_store::Store, account: &str) -> i64 {
    store.billing().balance(account).await.expect("balance")
}

/// The request the mock received for `method path`, the last one.
fn last_request(mock: &StripeMock, method: &str, path: &str) -> workway_mocks::RecordedRequest {
    mock.requests()
        .into_iter()
        .rev()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no {method} {path} reached the mock"))
}

/// Deliver `event` signed by Stripe's secret; the status and the answer.
async fn deliver(mock: &StripeMock, api: &Api, event: &Value) -> (u16, Value) {
    let (status, body) = mock.deliver(event, &webhook_url(api), WEBHOOK_SECRET).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Buy `evolving` as `auth` through Stripe's Checkout, complete the
/// session at the mock with `fee` (Stripe's own fee when None) and deliver
/// the webhook: the purchase's id.
async fn buy_through_checkout(
    mock: &StripeMock,
    api: &Api,
    auth: Auth<'_>,
    fee: Option<i64>,
) -> String {
    let r = api
        .post("/v1/integrations/evolving/purchase", auth, &json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["purchase"]["state"], json!("pending"), "{}", r.json);
    let url = r.json["checkout_url"].as_str().expect("a checkout URL");
    assert!(url.starts_with("https://checkout.stripe.com/"), "{url}");
    let purchase = r.json["purchase"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    // Stripe's Checkout URL ends with the session's id.
    let session = url.rsplit('/').next().expect("a session").to_string();
    let event = mock.complete_checkout(&session, fee).expect("completed");
    let (status, answer) = deliver(mock, api, &event).await;
    assert_eq!(
        (status, &answer["outcome"]),
        (200, &json!("applied")),
        "{answer}"
    );
    purchase
}

/// A deployment on `t` taking payments through a Stripe mock, its API,
/// and the folder of the mock's CA certificate (kept while it runs).
async fn on_stripe(t: &TestStore) -> (StripeMock, Deployment, Api, tempfile::TempDir) {
    let ca = TestCa::new();
    let certificates = tempfile::tempdir().expect("temp dir");
    let ca_pem: PathBuf = ca.write_pem(certificates.path());
    let mock = StripeMock::start(&ca, AcceptedTokens::exactly(KEY)).await;
    let d = Deployment::start_with(t, crate::support::shared_runtime(), |c| {
        c.accounts.api_requests_per_window = 1_000;
        c.egress
            .overrides
            .push(format!("{HOST}:443=127.0.0.1:{}", mock.port()));
        c.egress.extra_root_certificates.push(ca_pem);
        c.payments = stripe_payments();
    })
    .await;
    let api = Api::start(d.platform.clone()).await;
    (mock, d, api, certificates)
}

#[tokio::test]
async fn purchases_credit_invoices_and_payouts_through_stripe() {
    for t in test_stores().await {
        let (mock, d, api, _certificates) = on_stripe(&t).await;
        let connected = mock.add_connected_account();
        let store = &d.platform.store;
        let (dev, dev_token) = with_roles(
            &api,
            store,
            "dev",
            &[Role::User, Role::Developer],
            &["read", "publish"],
        )
        .await;
        let dev_auth = Auth::Token(&dev_token);
        let (_, rita) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let (_, admin) = with_roles(&api, store, "admin", &[Role::Admin], &["read", "admin"]).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let id = submit(
            &api,
            dev_auth,
            &evolving("1.0.0", &["https://api.example.com"]),
        )
        .await;
        let r = approve(&api, Auth::Token(&rita), &id).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = api
            .call(
                "PUT",
                "/v1/integrations/evolving/listing",
                dev_auth,
                Some(&json!({"summary": "Paid", "description": "Paid.", "categories": ["productivity"], "price_cents": 3900})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        // Slack's name is dev's too, so dev earns a share of Ann's usage.
        t.own("slack", &dev.id).await;

        // Ann buys before dev has a connected account: the platform
        // collects the price. The checkout is Stripe's: form-encoded, an
        // idempotency key, the price in cents, no destination yet.
        let ann_purchase = buy_through_checkout(&mock, &api, ann.token(), None).await;
        let created = last_request(&mock, "POST", "/v1/checkout/sessions");
        assert_eq!(
            created.header("idempotency-key"),
            Some(format!("checkout-{ann_purchase}").as_str())
        );
        assert_eq!(created.form_param("mode").as_deref(), Some("payment"));
        assert_eq!(
            created
                .form_param("line_items[0][price_data][unit_amount]")
                .as_deref(),
            Some("3900")
        );
        assert_eq!(
            created.form_param("payment_intent_data[transfer_data][destination]"),
            None
        );
        let r = api.get("/v1/billing/purchases", ann.token()).await;
        let bought = &r.json["items"][0];
        // The worked figure: $39.00, fee $1.43 (Stripe's, from the balance
        // transaction), the developer's $37.57.
        for (field, value) in [
            ("state", json!("paid")),
            ("provider", json!("stripe")),
            ("fee_cents", json!(143)),
            ("developer_cents", json!(3757)),
        ] {
            assert_eq!(bought[field], value, "{field}: {bought} ({})", t.label);
        }
        let r = api
            .install(ann.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(r.status, 201, "paid, so installable: {}", r.json);

        // The same event again is applied once; a forged, a stale and an
        // unsigned delivery are refused and change nothing.
        let completed = mock
            .events()
            .into_iter()
            .rev()
            .find(|e| e["type"] == "checkout.session.completed")
            .expect("an event");
        let (status, answer) = deliver(&mock, &api, &completed).await;
        assert_eq!(
            (status, &answer["outcome"]),
            (200, &json!("duplicate")),
            "{answer}"
        );
        let payload = serde_json::to_string(&completed).expect("json");
        let now = now_ms() / 1000;
        for header in [
            StripeMock::signature_header("whsec_someone_else", now, &payload),
            StripeMock::signature_header(WEBHOOK_SECRET, now - 3_600, &payload),
            format!("t={now},v1={}", "0".repeat(64)),
            String::new(),
        ] {
            let (status, body) = mock
                .deliver_with_header(&payload, &header, &webhook_url(&api))
                .await;
            assert_eq!(status, 400, "{header}: {body}");
        }
        let ledger_entries = store
            .billing()
            .ledger(None, 10_000)
            .await
            .expect("ledger")
            .len();

        // Dev adds a connected account: Bob's purchase is a destination
        // charge to it, application fee 0; Stripe's fee this time is not
        // the estimate, and the booked fee is Stripe's.
        let r = api
            .call(
                "PUT",
                "/v1/developer/profile",
                dev_auth,
                Some(&json!({"display_name": "Dev", "support_contact": "dev@example.com", "payout_account": connected})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let bob_purchase = buy_through_checkout(&mock, &api, bob.token(), Some(200)).await;
        let created = last_request(&mock, "POST", "/v1/checkout/sessions");
        assert_eq!(
            created
                .form_param("payment_intent_data[transfer_data][destination]")
                .as_deref(),
            Some(connected.as_str())
        );
        assert_eq!(
            created
                .form_param("payment_intent_data[application_fee_amount]")
                .as_deref(),
            Some("0")
        );
        let r = api.get("/v1/billing/purchases", bob.token()).await;
        assert_eq!(r.json["items"][0]["fee_cents"], json!(200), "{}", r.json);
        assert_eq!(r.json["items"][0]["fee_estimate_cents"], json!(143));
        assert!(
            store
                .billing()
                .ledger(None, 10_000)
                .await
                .expect("ledger")
                .len()
                > ledger_entries
        );
        // Ann's purchases are not Bob's.
        let r = api.get("/v1/billing/purchases", ann.token()).await;
        assert_eq!(
            r.json["items"].as_array().map(Vec::len),
            Some(1),
            "{}",
            r.json
        );

        // An admin refunds Bob's purchase: Stripe refunds it and reverses
        // the transfer; the later `charge.refunded` changes nothing more.
        let r = api
            .post(
                &format!("/v1/admin/purchases/{bob_purchase}/refund"),
                Auth::Token(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["state"], json!("refunded"), "{}", r.json);
        let refund = last_request(&mock, "POST", "/v1/refunds");
        assert_eq!(
            refund.form_param("reverse_transfer").as_deref(),
            Some("true")
        );
        assert_eq!(
            refund.header("idempotency-key"),
            Some(format!("refund-{bob_purchase}").as_str())
        );
        let transfer = mock
            .transfers()
            .into_iter()
            .find(|t| t["destination"] == json!(connected))
            .expect("the sale's transfer");
        assert_eq!(transfer["amount"], json!(3900));
        assert_eq!(transfer["amount_reversed"], json!(3900), "{transfer}");
        let refunded = mock
            .events()
            .into_iter()
            .rev()
            .find(|e| e["type"] == "charge.refunded")
            .expect("charge.refunded");
        let before = balance(store, &format!("developer:{}:payable", dev.id)).await;
        let (status, answer) = deliver(&mock, &api, &refunded).await;
        assert_eq!(
            (status, &answer["outcome"]),
            (200, &json!("applied")),
            "{answer}"
        );
        assert_eq!(
            balance(store, &format!("developer:{}:payable", dev.id)).await,
            before,
            "the refund was booked once"
        );

        // Bob buys $10.00 of credit through Checkout.
        let r = api
            .post(
                "/v1/billing/credit",
                bob.token(),
                &json!({"amount_cents": 1000}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let session = last_request(&mock, "POST", "/v1/checkout/sessions");
        assert_eq!(
            session
                .form_param("line_items[0][price_data][unit_amount]")
                .as_deref(),
            Some("1000")
        );
        assert_eq!(r.json["balance_mills"], json!(0), "pending until paid");
        let sessions: Vec<Value> = mock
            .events()
            .into_iter()
            .filter(|e| e["type"] == "checkout.session.completed")
            .collect();
        assert_eq!(sessions.len(), 2);
        let credit_session = r.json["checkout_url"]
            .as_str()
            .and_then(|url| url.rsplit('/').next())
            .expect("the checkout")
            .to_string();
        let event = mock.complete_checkout(&credit_session, None).expect("paid");
        let (status, answer) = deliver(&mock, &api, &event).await;
        assert_eq!(
            (status, &answer["outcome"]),
            (200, &json!("applied")),
            "{answer}"
        );
        let r = api.get("/v1/billing/credit", bob.token()).await;
        assert_eq!(r.json["balance_mills"], json!(10_000), "{}", r.json);
        let r = api.get("/v1/billing/credit", ann.token()).await;
        assert_eq!(r.json["balance_mills"], json!(0), "{}", r.json);

        // Ann's usage: 8 runs of 3 Slack steps, the last 4 charged (200
        // mills, dev's share 140).
        run_posts(&api, &d, &ann, 8).await;

        // The month closes and settles: Ann is invoiced 20 cents through
        // Stripe (a customer made for her, an invoice item, a finalized
        // send_invoice invoice); dev is paid out what the ledger owes.
        let month = month_of(now_ms());
        finalize_month(store, &month, now_ms())
            .await
            .expect("finalized");
        let settled = settle(&d.platform, now_ms()).await.expect("settled");
        assert_eq!(
            (settled.invoices, settled.payouts, settled.errors),
            (1, 1, 0),
            "{settled:?}"
        );
        let invoices = mock.invoices();
        assert_eq!(invoices.len(), 1, "{invoices:?}");
        let invoice = &invoices[0];
        assert_eq!(invoice["amount_due"], json!(20), "{invoice}");
        assert_eq!(invoice["status"], json!("open"));
        assert_eq!(invoice["collection_method"], json!("send_invoice"));
        let customer = mock
            .customer(invoice["customer"].as_str().expect("a customer"))
            .expect("made");
        assert_eq!(customer["email"], json!(ann.email), "{customer}");
        let mine = store
            .billing()
            .invoices_of(&ann.id)
            .await
            .expect("invoices");
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].state, "open");
        assert!(
            store
                .billing()
                .invoices_of(&bob.id)
                .await
                .expect("none")
                .is_empty()
        );
        // Ann pays; the webhook settles her receivable.
        let paid = mock
            .pay_invoice(invoice["id"].as_str().expect("an id"))
            .expect("paid");
        let (status, answer) = deliver(&mock, &api, &paid).await;
        assert_eq!(
            (status, &answer["outcome"]),
            (200, &json!("applied")),
            "{answer}"
        );
        assert_eq!(
            store.billing().invoices_of(&ann.id).await.expect("paid")[0].state,
            "paid"
        );
        assert_eq!(
            balance(store, &format!("user:{}:receivable", ann.id)).await,
            0
        );
        let r = api.get("/v1/billing/statements", ann.token()).await;
        let invoice = &r.json["items"][0]["invoice"];
        assert_eq!(
            (&invoice["state"], &invoice["amount_cents"]),
            (&json!("paid"), &json!(20)),
            "{}",
            r.json
        );
        let r = api.get("/v1/billing/statements", bob.token()).await;
        assert_eq!(r.json["items"], json!([]), "{}", r.json);

        // Dev is owed $37.57 (Ann's sale, collected by the platform) +
        // 14 cents of usage share - $2.00 (Stripe's fee of Bob's sale,
        // transferred with the charge and refunded): $35.71, sent as a
        // Connect transfer to the connected account, once.
        let payout = mock
            .transfers()
            .into_iter()
            .find(|t| t["destination"] == json!(connected) && t["amount"] != json!(3900))
            .expect("the payout");
        assert_eq!(payout["amount"], json!(3571), "{payout} ({})", t.label);
        assert_eq!(
            balance(store, &format!("developer:{}:payable", dev.id)).await,
            0
        );
        let payouts = store.billing().payouts_of(&dev.id).await.expect("payouts");
        assert_eq!(payouts.len(), 1);
        assert_eq!(
            (payouts[0].state.as_str(), payouts[0].amount_cents),
            ("paid", 3571)
        );
        let r = api.get("/v1/developer/earnings", dev_auth).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let shown = &r.json["payouts"][0];
        assert_eq!(
            (&shown["state"], &shown["amount_cents"]),
            (&json!("paid"), &json!(3571)),
            "{}",
            r.json
        );
        let again = settle(&d.platform, now_ms()).await.expect("settled");
        assert_eq!((again.invoices, again.payouts), (0, 0), "nothing twice");

        // Bob tries again and walks away: the expired checkout buys nothing.
        let r = api
            .post(
                "/v1/integrations/evolving/purchase",
                bob.token(),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let session = r.json["checkout_url"]
            .as_str()
            .and_then(|url| url.rsplit('/').next())
            .expect("a checkout")
            .to_string();
        let expired = mock.expire_checkout(&session).expect("expired");
        let (status, answer) = deliver(&mock, &api, &expired).await;
        assert_eq!(
            (status, &answer["outcome"]),
            (200, &json!("applied")),
            "{answer}"
        );
        let r = api.get("/v1/billing/purchases", bob.token()).await;
        assert_eq!(r.json["items"][0]["state"], json!("expired"), "{}", r.json);
        let r = api
            .install(bob.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(r.status, 402, "{}", r.json);

        let reconciled = store.billing().reconcile().await.expect("reconciled");
        assert!(reconciled.holds(), "{reconciled:?} ({})", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_invoice_stripe_refuses_fails_and_an_admin_makes_it_again() {
    for t in test_stores().await {
        let (mock, d, api, _certificates) = on_stripe(&t).await;
        let store = &d.platform.store;
        let (_, admin) = with_roles(&api, store, "admin", &[Role::Admin], &["read", "admin"]).await;
        let admin = Auth::Token(&admin);
        let ann = account(&api, "ann").await;
        run_posts(&api, &d, &ann, 8).await;
        finalize_month(store, &month_of(now_ms()), now_ms())
            .await
            .expect("finalized");

        // Stripe refuses the invoice item: the invoice fails with Stripe's
        // reason and is not tried again.
        mock.faults().push_for(
            "/v1/invoiceitems",
            StripeMock::error_with_param(
                400,
                "invalid_request_error",
                Some("resource_missing"),
                "No such customer: 'cus_gone'",
                "customer",
            ),
        );
        let settled = settle(&d.platform, now_ms()).await.expect("settled");
        assert_eq!((settled.invoices, settled.errors), (0, 1), "{settled:?}");
        let again = settle(&d.platform, now_ms()).await.expect("settled");
        assert_eq!(
            (again.invoices, again.errors),
            (0, 0),
            "not retried: {again:?}"
        );
        let r = api.get("/v1/billing/statements", ann.token()).await;
        let statement = r.json["items"][0].clone();
        let invoice = &statement["invoice"];
        assert_eq!(
            invoice["state"],
            json!("failed"),
            "{statement} ({})",
            t.label
        );
        assert!(
            invoice["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("No such customer")),
            "{invoice}"
        );
        let id = statement["id"].as_str().expect("an id");
        let retry = format!("/v1/admin/invoices/{id}/retry");

        // Another account does not see Ann's statement or its invoice.
        let bob = account(&api, "bob").await;
        let r = api
            .get(&format!("/v1/billing/statements/{id}"), bob.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .get(&format!("/v1/billing/statements/{id}"), ann.token())
            .await;
        assert_eq!(r.json["invoice"]["state"], json!("failed"), "{}", r.json);

        // Only an admin makes it again, once; then the next pass makes it.
        for who in [&ann, &bob] {
            let r = api.post(&retry, who.token(), &json!({})).await;
            assert_eq!(r.status, 403, "{}", r.json);
        }
        let r = api
            .post("/v1/admin/invoices/st_nothing/retry", admin, &json!({}))
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.post(&retry, admin, &json!({})).await;
        assert_eq!(
            (r.status, &r.json["state"]),
            (200, &json!("pending")),
            "{}",
            r.json
        );
        let r = api.post(&retry, admin, &json!({})).await;
        assert_eq!((r.status, r.code()), (409, "not_failed"), "{}", r.json);
        let settled = settle(&d.platform, now_ms()).await.expect("settled");
        assert_eq!((settled.invoices, settled.errors), (1, 0), "{settled:?}");
        let invoices = mock.invoices();
        assert_eq!(invoices.len(), 1, "{invoices:?}");
        assert_eq!(invoices[0]["amount_due"], json!(20));
        let r = api.get("/v1/billing/statements", ann.token()).await;
        assert_eq!(
            r.json["items"][0]["invoice"]["state"],
            json!("open"),
            "{}",
            r.json
        );
        t.cleanup().await;
    }
}
