//! Refunds of a destination charge: in part and in full, reversing the
//! transfer and refunding the application fee in proportion.

use serde_json::json;

use super::{Api, error, id};

#[tokio::test]
async fn refunds_reverse_the_transfer_in_proportion() {
    let api = Api::start().await;
    let account = api.mock.add_connected_account();
    let session = api.checkout(&account).await;
    api.mock.complete_checkout(id(&session), None).unwrap();
    let intent = api
        .get(&format!("/v1/checkout/sessions/{}", id(&session)))
        .await
        .json()["payment_intent"]
        .as_str()
        .unwrap()
        .to_string();
    let charge = api.mock.charges()[0].clone();
    let charge_id = id(&charge).to_string();
    let transfer_id = charge["transfer"].as_str().unwrap().to_string();

    // Half, by the payment intent, with the transfer and the fee.
    let reply = api
        .post(
            "/v1/refunds",
            &[
                ("payment_intent", &intent),
                ("amount", "1950"),
                ("reason", "requested_by_customer"),
                ("reverse_transfer", "true"),
                ("refund_application_fee", "true"),
                ("metadata[workway_reference]", "pu_1"),
            ],
            Some("refund-pu_1-a"),
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let refund = reply.json();
    assert!(id(&refund).starts_with("re_"));
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["amount"], 1950);
    assert_eq!(refund["charge"], json!(charge_id));
    assert_eq!(refund["payment_intent"], json!(intent));
    assert_eq!(refund["currency"], "usd");
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["reason"], "requested_by_customer");
    assert_eq!(refund["metadata"], json!({"workway_reference": "pu_1"}));
    let reversal_id = refund["transfer_reversal"].as_str().unwrap().to_string();
    assert!(reversal_id.starts_with("trr_"), "{reversal_id}");

    let transfer = api
        .get(&format!("/v1/transfers/{transfer_id}"))
        .await
        .json();
    assert_eq!(transfer["amount"], 3400);
    assert_eq!(transfer["amount_reversed"], 1700, "half of the transfer");
    assert_eq!(transfer["reversed"], false);
    let reversal = &transfer["reversals"]["data"][0];
    assert_eq!(reversal["id"], json!(reversal_id));
    assert_eq!(reversal["object"], "transfer_reversal");
    assert_eq!(reversal["amount"], 1700);
    assert_eq!(reversal["source_refund"], refund["id"]);
    let charge_now = api
        .get_expanded(&format!("/v1/charges/{charge_id}"), &["application_fee"])
        .await
        .json();
    assert_eq!(charge_now["amount_refunded"], 1950);
    assert_eq!(charge_now["refunded"], false);
    assert_eq!(charge_now["application_fee"]["amount"], 500);
    assert_eq!(charge_now["application_fee"]["amount_refunded"], 250);
    assert_eq!(
        charge_now["application_fee"]["refunds"]["data"][0]["amount"],
        250
    );

    // The events name the request that caused them.
    let events = api.mock.events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "checkout.session.completed",
            "charge.refunded",
            "refund.created"
        ]
    );
    let request = json!({"id": reply.header("request-id"), "idempotency_key": "refund-pu_1-a"});
    assert_eq!(events[1]["request"], request);
    assert_eq!(events[1]["data"]["object"]["amount_refunded"], 1950);
    assert_eq!(events[2]["data"]["object"], refund);

    // More than is left; then the rest, by the charge.
    let too_much = api
        .post(
            "/v1/refunds",
            &[("charge", &charge_id), ("amount", "1951")],
            None,
        )
        .await;
    assert_eq!(
        error(&too_much),
        (
            400,
            "invalid_request_error".into(),
            "amount_too_large".into(),
            "amount".into(),
            "Refund amount ($19.51) is greater than unrefunded amount on charge ($19.50)".into()
        )
    );
    let rest = api
        .create(
            "/v1/refunds",
            &[("charge", &charge_id), ("reverse_transfer", "true")],
        )
        .await;
    assert_eq!(rest["amount"], 1950);
    let transfer = api
        .get(&format!("/v1/transfers/{transfer_id}"))
        .await
        .json();
    assert_eq!(transfer["amount_reversed"], 3400);
    assert_eq!(transfer["reversed"], true);
    assert_eq!(transfer["reversals"]["data"].as_array().unwrap().len(), 2);
    let charge_now = api
        .get_expanded(
            &format!("/v1/charges/{charge_id}"),
            &["refunds", "application_fee"],
        )
        .await
        .json();
    assert_eq!(charge_now["amount_refunded"], 3900);
    assert_eq!(charge_now["refunded"], true);
    assert_eq!(charge_now["refunds"]["data"][0]["id"], rest["id"]);
    assert_eq!(charge_now["refunds"]["data"][1]["id"], refund["id"]);
    assert_eq!(
        charge_now["application_fee"]["amount_refunded"], 250,
        "the second refund left the fee"
    );

    let read = api
        .get_expanded(
            &format!("/v1/refunds/{}", id(&rest)),
            &["transfer_reversal", "balance_transaction", "charge"],
        )
        .await
        .json();
    assert_eq!(read["transfer_reversal"]["amount"], 1700);
    assert_eq!(read["balance_transaction"]["type"], "refund");
    assert_eq!(read["balance_transaction"]["amount"], -1950);
    assert_eq!(read["charge"]["refunded"], true);

    let again = api
        .post("/v1/refunds", &[("payment_intent", &intent)], None)
        .await;
    assert_eq!(
        error(&again),
        (
            400,
            "invalid_request_error".into(),
            "charge_already_refunded".into(),
            "charge".into(),
            format!("Charge {charge_id} has already been refunded.")
        )
    );
}

#[tokio::test]
async fn refunds_refuse_what_stripe_refuses() {
    let api = Api::start().await;
    let plain = api.mock.add_charge(json!({"amount": 2000}));
    for (pairs, code, param) in [
        (vec![("amount", "100")], "parameter_missing", ""),
        (
            vec![("charge", plain.as_str()), ("payment_intent", "pi_x")],
            "",
            "",
        ),
        (vec![("charge", "ch_nope")], "resource_missing", "charge"),
        (
            vec![("payment_intent", "pi_nope")],
            "resource_missing",
            "payment_intent",
        ),
        (
            vec![("charge", plain.as_str()), ("reason", "changed_mind")],
            "",
            "reason",
        ),
        (
            vec![("charge", plain.as_str()), ("reverse_transfer", "yes")],
            "parameter_invalid_boolean",
            "reverse_transfer",
        ),
        (
            vec![("charge", plain.as_str()), ("amount", "0")],
            "",
            "amount",
        ),
        (
            vec![("charge", plain.as_str()), ("refund_fee", "true")],
            "parameter_unknown",
            "refund_fee",
        ),
    ] {
        let reply = api.post("/v1/refunds", &pairs, None).await;
        let (status, _, got_code, got_param, _) = error(&reply);
        assert_eq!(
            (status, got_code.as_str(), got_param.as_str()),
            (400, code, param),
            "{pairs:?}"
        );
    }
    // A charge without a transfer has nothing to reverse.
    let refund = api
        .create(
            "/v1/refunds",
            &[("charge", &plain), ("reverse_transfer", "true")],
        )
        .await;
    assert_eq!(refund["amount"], 2000);
    assert_eq!(refund["transfer_reversal"], json!(null));
    assert_eq!(api.mock.charges()[0]["refunded"], true);
}
