//! The endpoints the mock had before the payment ones, through the shared
//! form and idempotency helpers: customers, the charge list, Stripe's
//! refusals.

use serde_json::json;

use super::{Api, error, id};

#[tokio::test]
async fn customers_and_charges_behave_as_before() {
    let api = Api::start().await;
    let pairs = [
        ("email", "ada@example.com"),
        ("metadata[order_id]", "42"),
        ("address[city]", "London"),
        ("preferred_locales[]", "en"),
    ];
    let first = api
        .post("/v1/customers", &pairs, Some("run-7-step-2"))
        .await;
    assert_eq!(first.status, 200);
    let customer = first.json();
    assert!(id(&customer).starts_with("cus_"));
    assert_eq!(customer["metadata"], json!({"order_id": "42"}));
    assert_eq!(customer["address"]["city"], "London");
    assert_eq!(customer["address"]["country"], json!(null));
    let again = api
        .post("/v1/customers", &pairs, Some("run-7-step-2"))
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), customer);
    assert_eq!(api.mock.customers().len(), 1);
    for (pairs, code, param) in [
        (vec![("email", "not an address")], "email_invalid", "email"),
        (vec![("colour", "blue")], "parameter_unknown", "colour"),
        (vec![("metadata", "x")], "parameter_unknown", "metadata"),
        (
            vec![("balance", "lots")],
            "parameter_invalid_integer",
            "balance",
        ),
    ] {
        let (status, _, got_code, got_param, _) =
            error(&api.post("/v1/customers", &pairs, None).await);
        assert_eq!(
            (status, got_code.as_str(), got_param.as_str()),
            (400, code, param),
            "{pairs:?}"
        );
    }
    let json_body = api
        .send(
            "POST",
            "/v1/customers",
            &[("content-type", "application/json")],
            br#"{"email":"ada@example.com"}"#.to_vec(),
        )
        .await;
    assert!(
        error(&json_body)
            .4
            .contains("application/x-www-form-urlencoded")
    );

    let read = api.get(&format!("/v1/customers/{}", id(&customer))).await;
    assert_eq!(read.json(), customer);
    let deleted = api
        .send(
            "DELETE",
            &format!("/v1/customers/{}", id(&customer)),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(
        deleted.json(),
        json!({"id": customer["id"], "object": "customer", "deleted": true})
    );
    let tombstone = api.get(&format!("/v1/customers/{}", id(&customer))).await;
    assert_eq!(tombstone.json()["deleted"], true);

    let charge = api.mock.add_charge(json!({"amount": 700}));
    let list = api.get("/v1/charges?limit=1").await.json();
    assert_eq!(list["data"][0]["id"], json!(charge));
    assert_eq!(list["url"], "/v1/charges");
    let expand = api.get("/v1/charges?expand[]=data.customer").await;
    assert_eq!(error(&expand).2, "parameter_unknown");
    let refunds = api.get("/v1/refunds").await;
    assert_eq!(refunds.status, 404);
    assert!(
        error(&refunds)
            .4
            .starts_with("Unrecognized request URL (GET: /v1/refunds)")
    );
    let pinned = api
        .send(
            "GET",
            "/v1/charges",
            &[("stripe-version", "latest")],
            Vec::new(),
        )
        .await;
    assert_eq!(error(&pinned).4, "Invalid Stripe API version: latest");
    assert!(
        first
            .header("request-id")
            .is_some_and(|r| r.starts_with("req_"))
    );
    assert_eq!(first.header("stripe-version"), Some("2024-06-20"));
}
