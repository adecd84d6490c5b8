//! Checkout Sessions: create, pay, retrieve expanded down to the fee;
//! what Stripe refuses; expiry.

use serde_json::json;

use super::{Api, error, id};

#[tokio::test]
async fn a_paid_checkout_expands_to_its_fee_and_transfer() {
    let api = Api::start().await;
    let account = api.mock.add_connected_account();
    assert!(account.starts_with("acct_"), "{account}");
    let session = api.checkout(&account).await;
    let session_id = id(&session).to_string();
    assert!(session_id.starts_with("cs_test_"), "{session_id}");
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(session["mode"], "payment");
    assert_eq!(session["status"], "open");
    assert_eq!(session["payment_status"], "unpaid");
    assert_eq!(session["amount_subtotal"], 3900);
    assert_eq!(session["amount_total"], 3900);
    assert_eq!(session["currency"], "usd");
    assert_eq!(session["payment_intent"], json!(null));
    assert_eq!(session["client_reference_id"], "pu_1");
    assert_eq!(session["metadata"], json!({"workway_reference": "pu_1"}));
    assert_eq!(session["customer"], json!(null));
    assert_eq!(session["customer_email"], json!(null));
    assert_eq!(
        session["success_url"],
        "https://workway.example/paid?p=pu_1"
    );
    assert_eq!(session["livemode"], false);
    assert_eq!(
        session["url"],
        json!(format!("https://checkout.stripe.com/c/pay/{session_id}"))
    );
    assert!(session["expires_at"].as_i64() > session["created"].as_i64());
    assert!(session.get("line_items").is_none(), "only when expanded");

    let path = format!("/v1/checkout/sessions/{session_id}");
    let read = api.get(&path).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), session);
    let items = api.get_expanded(&path, &["line_items"]).await.json();
    assert_eq!(items["line_items"]["object"], "list");
    assert_eq!(items["line_items"]["data"][0]["object"], "item");
    assert_eq!(
        items["line_items"]["data"][0]["description"],
        "Gmail triage"
    );
    assert_eq!(items["line_items"]["data"][0]["price"]["unit_amount"], 3900);

    let event = api.mock.complete_checkout(&session_id, None).unwrap();
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "checkout.session.completed");
    assert_eq!(event["api_version"], "2024-06-20");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 1);
    assert_eq!(
        event["request"],
        json!({"id": null, "idempotency_key": null})
    );
    assert!(id(&event).starts_with("evt_"));
    let completed = &event["data"]["object"];
    assert_eq!(completed["status"], "complete");
    assert_eq!(completed["payment_status"], "paid");
    assert_eq!(completed["url"], json!(null));
    let intent_id = completed["payment_intent"].as_str().unwrap().to_string();
    assert!(intent_id.starts_with("pi_"), "{intent_id}");
    assert_eq!(api.mock.events(), vec![event.clone()]);
    let read = api.get(&format!("/v1/events/{}", id(&event))).await;
    assert_eq!(read.json(), event);

    let expanded = api
        .get_expanded(
            &path,
            &[
                "payment_intent.latest_charge.balance_transaction",
                "payment_intent.latest_charge.transfer",
            ],
        )
        .await;
    assert_eq!(expanded.status, 200);
    let expanded = expanded.json();
    let intent = &expanded["payment_intent"];
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["id"], json!(intent_id));
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount"], 3900);
    assert_eq!(intent["application_fee_amount"], 500);
    assert_eq!(intent["transfer_data"], json!({"destination": account}));
    assert_eq!(intent["metadata"], json!({"workway_reference": "pu_1"}));
    let charge = &intent["latest_charge"];
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["paid"], true);
    assert_eq!(charge["captured"], true);
    assert_eq!(charge["refunded"], false);
    assert_eq!(charge["amount_refunded"], 0);
    assert_eq!(charge["payment_intent"], json!(intent_id));
    assert_eq!(charge["metadata"], json!({"workway_reference": "pu_1"}));
    let txn = &charge["balance_transaction"];
    assert_eq!(txn["object"], "balance_transaction");
    assert_eq!(txn["type"], "charge");
    assert_eq!(txn["status"], "available");
    assert_eq!(txn["amount"], 3900);
    assert_eq!(
        txn["fee"], 143,
        "2.9% of 39.00 is 1.131, rounded, plus 0.30"
    );
    assert_eq!(txn["net"], 3757);
    assert_eq!(txn["source"], charge["id"]);
    assert_eq!(
        txn["fee_details"],
        json!([{"amount": 143, "application": null, "currency": "usd",
                "description": "Stripe processing fees", "type": "stripe_fee"}])
    );
    let transfer = &charge["transfer"];
    assert_eq!(transfer["object"], "transfer");
    assert_eq!(
        transfer["amount"], 3400,
        "the total less the application fee"
    );
    assert_eq!(transfer["destination"], json!(account));
    assert_eq!(transfer["source_transaction"], charge["id"]);
    assert_eq!(transfer["reversed"], false);
    assert_eq!(transfer["amount_reversed"], 0);
    assert_eq!(transfer["reversals"]["object"], "list");

    // Each object on its own endpoint.
    let charge_id = charge["id"].as_str().unwrap();
    for (path, object) in [
        (format!("/v1/payment_intents/{intent_id}"), "payment_intent"),
        (format!("/v1/charges/{charge_id}"), "charge"),
        (
            format!("/v1/balance_transactions/{}", txn["id"].as_str().unwrap()),
            "balance_transaction",
        ),
        (
            format!("/v1/transfers/{}", transfer["id"].as_str().unwrap()),
            "transfer",
        ),
    ] {
        let reply = api.get(&path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.json()["object"], object, "{path}");
    }
    let charge_read = api
        .get_expanded(
            &format!("/v1/charges/{charge_id}"),
            &["balance_transaction"],
        )
        .await
        .json();
    assert_eq!(charge_read["balance_transaction"]["fee"], 143);
    // In the charge list too.
    let list = api.get("/v1/charges?limit=5").await.json();
    assert_eq!(list["data"][0]["id"], json!(charge_id));
    assert_eq!(api.mock.charges().len(), 1);
    assert_eq!(api.mock.transfers().len(), 1);

    // Only an open session can be paid.
    let again = api.mock.complete_checkout(&session_id, None).unwrap_err();
    assert!(again.contains("complete, not open"), "{again}");
    assert!(api.mock.complete_checkout("cs_test_nope", None).is_err());
    assert!(api.mock.expire_checkout(&session_id).is_err());
}

#[tokio::test]
async fn expand_refuses_what_cannot_be_expanded() {
    let api = Api::start().await;
    let account = api.mock.add_connected_account();
    let session = api.checkout(&account).await;
    let path = format!("/v1/checkout/sessions/{}", id(&session));
    for (expand, named) in [
        ("colour", "colour"),
        ("payment_intent.colour", "payment_intent.colour"),
        ("metadata", "metadata"),
    ] {
        let reply = api.get_expanded(&path, &[expand]).await;
        assert_eq!(
            error(&reply),
            (
                400,
                "invalid_request_error".into(),
                String::new(),
                "expand".into(),
                format!("This property cannot be expanded ({named}).")
            )
        );
    }
    let deep = api.get_expanded(&path, &["a.b.c.d.e"]).await;
    assert!(
        error(&deep)
            .4
            .starts_with("You cannot expand more than 4 levels")
    );
    let unknown = api.get(&format!("{path}?colour=blue")).await;
    assert_eq!(error(&unknown).2, "parameter_unknown");
    assert_eq!(error(&unknown).3, "colour");
    let missing = api.get("/v1/checkout/sessions/cs_test_nope").await;
    assert_eq!(
        error(&missing),
        (
            404,
            "invalid_request_error".into(),
            "resource_missing".into(),
            "id".into(),
            "No such checkout.session: 'cs_test_nope'".into()
        )
    );
    // Unpaid, the payment intent is null and stays so.
    let open = api
        .get_expanded(&path, &["payment_intent.latest_charge"])
        .await;
    assert_eq!(open.status, 200);
    assert_eq!(open.json()["payment_intent"], json!(null));
}

/// A request's parameters, and the `code`, `param` and part of the
/// `message` of Stripe's 400 to it.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str, &'a str);

#[tokio::test]
async fn checkout_refuses_what_stripe_refuses() {
    let api = Api::start().await;
    let account = api.mock.add_connected_account();
    let base: Vec<(&str, &str)> = vec![
        ("mode", "payment"),
        ("success_url", "https://workway.example/paid"),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "3900"),
        (
            "line_items[0][price_data][product_data][name]",
            "Gmail triage",
        ),
    ];
    let with = |changes: &[(&'static str, &'static str)], without: &[&str]| {
        let mut pairs: Vec<(&str, &str)> = base
            .iter()
            .copied()
            .filter(|(k, _)| !without.contains(k) && !changes.iter().any(|(c, _)| c == k))
            .collect();
        pairs.extend_from_slice(changes);
        pairs
    };
    let destination = "payment_intent_data[transfer_data][destination]";
    let cases: Vec<Case> = vec![
        (
            with(&[], &["success_url"]),
            "parameter_missing",
            "success_url",
            "Missing required param: success_url.",
        ),
        (
            with(&[], &["mode"]),
            "parameter_missing",
            "mode",
            "Missing required param: mode.",
        ),
        (
            with(&[("mode", "subscription")], &[]),
            "",
            "mode",
            "supports only `mode=payment`",
        ),
        (
            with(&[("mode", "rent")], &[]),
            "",
            "mode",
            "Invalid mode: must be one of payment, setup, or subscription",
        ),
        (
            with(
                &[],
                &[
                    "line_items[0][quantity]",
                    "line_items[0][price_data][currency]",
                    "line_items[0][price_data][unit_amount]",
                    "line_items[0][price_data][product_data][name]",
                ],
            ),
            "parameter_missing",
            "line_items",
            "Missing required param: line_items.",
        ),
        (
            with(&[("line_items[0][price_data][unit_amount]", "-1")], &[]),
            "",
            "line_items[0][price_data][unit_amount]",
            "greater than or equal to 0",
        ),
        (
            with(&[("line_items[0][price_data][unit_amount]", "39.00")], &[]),
            "parameter_invalid_integer",
            "line_items[0][price_data][unit_amount]",
            "Invalid integer: 39.00",
        ),
        (
            with(&[("line_items[0][price_data][currency]", "USD")], &[]),
            "",
            "line_items[0][price_data][currency]",
            "Invalid currency: USD",
        ),
        (
            with(&[("line_items[0][price_data][colour]", "blue")], &[]),
            "parameter_unknown",
            "line_items[0][price_data][colour]",
            "Received unknown parameter: line_items[0][price_data][colour]",
        ),
        (
            with(&[("success_url", "not a url")], &[]),
            "",
            "success_url",
            "Not a valid URL",
        ),
        (
            with(
                &[(
                    "payment_intent_data[transfer_data][destination]",
                    "acct_nope",
                )],
                &[],
            ),
            "resource_missing",
            destination,
            "No such destination: 'acct_nope'",
        ),
        (
            with(
                &[("payment_intent_data[application_fee_amount]", "100")],
                &[],
            ),
            "",
            "payment_intent_data[application_fee_amount]",
            "Can only apply an application_fee_amount",
        ),
        (
            with(&[("customer", "cus_nope")], &[]),
            "resource_missing",
            "customer",
            "No such customer: 'cus_nope'",
        ),
        (
            with(&[("line_items[0][price_data][unit_amount]", "10")], &[]),
            "",
            "line_items",
            "at least $0.50 usd",
        ),
        (
            with(&[("expires_at", "1000")], &[]),
            "",
            "expires_at",
            "at least 30 minutes",
        ),
    ];
    for (pairs, code, param, message) in cases {
        let reply = api.post("/v1/checkout/sessions", &pairs, None).await;
        let (status, kind, got_code, got_param, got_message) = error(&reply);
        assert_eq!(
            (status, kind.as_str()),
            (400, "invalid_request_error"),
            "{pairs:?}"
        );
        assert_eq!(
            (got_code.as_str(), got_param.as_str()),
            (code, param),
            "{pairs:?}"
        );
        assert!(got_message.contains(message), "{pairs:?}: {got_message}");
    }
    // The fee may not exceed the total.
    let over = with(
        &[
            ("payment_intent_data[transfer_data][destination]", "ACCOUNT"),
            ("payment_intent_data[application_fee_amount]", "3901"),
        ],
        &[],
    );
    let over: Vec<(&str, &str)> = over
        .into_iter()
        .map(|(k, v)| (k, if v == "ACCOUNT" { account.as_str() } else { v }))
        .collect();
    let reply = api.post("/v1/checkout/sessions", &over, None).await;
    let (status, _, _, param, message) = error(&reply);
    assert_eq!(
        (status, param.as_str()),
        (400, "payment_intent_data[application_fee_amount]")
    );
    assert!(message.contains("($39.01) cannot be greater"), "{message}");
    assert!(api.mock.events().is_empty());

    // A session that was not paid expires.
    let session = api.create("/v1/checkout/sessions", &base).await;
    let event = api.mock.expire_checkout(id(&session)).unwrap();
    assert_eq!(event["type"], "checkout.session.expired");
    assert_eq!(event["data"]["object"]["status"], "expired");
    assert!(api.mock.complete_checkout(id(&session), None).is_err());
    let read = api
        .get(&format!("/v1/checkout/sessions/{}", id(&session)))
        .await;
    assert_eq!(read.json()["status"], "expired");
}

#[tokio::test]
async fn a_create_replays_under_its_idempotency_key() {
    let api = Api::start().await;
    let pairs = [
        ("mode", "payment"),
        ("success_url", "https://workway.example/paid"),
        ("line_items[0][quantity]", "2"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "1900"),
        (
            "line_items[0][price_data][product_data][name]",
            "Notion sync",
        ),
    ];
    let first = api
        .post("/v1/checkout/sessions", &pairs, Some("checkout-pu_7"))
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["amount_total"], 3800);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = api
        .post("/v1/checkout/sessions", &pairs, Some("checkout-pu_7"))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("original-request"), first.header("request-id"));
    assert_eq!(again.json(), first.json());
    let mut other = pairs.to_vec();
    other[2] = ("line_items[0][quantity]", "3");
    let conflict = api
        .post("/v1/checkout/sessions", &other, Some("checkout-pu_7"))
        .await;
    let (status, kind, _, _, message) = error(&conflict);
    assert_eq!((status, kind.as_str()), (400, "idempotency_error"));
    assert!(message.contains("'checkout-pu_7'"), "{message}");
    // Another key makes another session.
    let second = api
        .post("/v1/checkout/sessions", &pairs, Some("checkout-pu_8"))
        .await;
    assert_ne!(second.json()["id"], first.json()["id"]);
    // A refused request saves nothing under its key.
    let refused = api
        .post(
            "/v1/checkout/sessions",
            &[("mode", "payment")],
            Some("checkout-pu_9"),
        )
        .await;
    assert_eq!(refused.status, 400);
    let retried = api
        .post("/v1/checkout/sessions", &pairs, Some("checkout-pu_9"))
        .await;
    assert_eq!(retried.status, 200);
    // So does an expansion that fails, without making anything.
    let mut expanding = pairs.to_vec();
    expanding.push(("expand[]", "colour"));
    let refused = api.post("/v1/checkout/sessions", &expanding, None).await;
    assert_eq!(
        error(&refused).4,
        "This property cannot be expanded (colour)."
    );
    let made: Vec<_> = api
        .mock
        .checkout_sessions()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(
        made,
        [
            first.json()["id"].clone(),
            second.json()["id"].clone(),
            retried.json()["id"].clone()
        ]
    );
}
