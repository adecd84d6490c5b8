//! Invoices: an item, a draft that takes it, finalized, a failed payment,
//! then paid.

use serde_json::json;

use super::{Api, error, id};

#[tokio::test]
async fn an_invoice_with_an_item_is_finalized_and_paid() {
    let api = Api::start().await;
    let customer = api
        .mock
        .add_customer(json!({"email": "ada@example.com", "name": "Ada"}));
    let item = api
        .create(
            "/v1/invoiceitems",
            &[
                ("customer", &customer),
                ("amount", "1225"),
                ("currency", "usd"),
                ("description", "Workway usage, 2024-06"),
                ("metadata[workway_reference]", "st_1"),
            ],
        )
        .await;
    assert!(id(&item).starts_with("ii_"));
    assert_eq!(item["object"], "invoiceitem");
    assert_eq!(item["invoice"], json!(null));
    assert_eq!(item["amount"], 1225);

    // Without `include`, a new invoice leaves pending items alone.
    let empty = api.create("/v1/invoices", &[("customer", &customer)]).await;
    assert_eq!(empty["lines"]["data"], json!([]));
    assert_eq!(empty["amount_due"], 0);
    assert_eq!(empty["collection_method"], "charge_automatically");
    assert_eq!(empty["auto_advance"], false);

    let reply = api
        .post(
            "/v1/invoices",
            &[
                ("customer", &customer),
                ("collection_method", "send_invoice"),
                ("days_until_due", "30"),
                ("pending_invoice_items_behavior", "include"),
                ("auto_advance", "true"),
                ("metadata[workway_reference]", "st_1"),
            ],
            Some("invoice-st_1"),
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let draft = reply.json();
    let invoice_id = id(&draft).to_string();
    assert!(invoice_id.starts_with("in_"));
    assert_eq!(draft["object"], "invoice");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["customer"], json!(customer));
    assert_eq!(draft["customer_email"], "ada@example.com");
    assert_eq!(draft["currency"], "usd");
    assert_eq!(draft["amount_due"], 1225);
    assert_eq!(draft["amount_paid"], 0);
    assert_eq!(draft["amount_remaining"], 1225);
    assert_eq!(draft["subtotal"], 1225);
    assert_eq!(draft["total"], 1225);
    assert_eq!(draft["number"], json!(null));
    assert_eq!(draft["hosted_invoice_url"], json!(null));
    assert_eq!(
        draft["due_date"].as_i64(),
        draft["created"].as_i64().map(|c| c + 30 * 86_400)
    );
    assert_eq!(draft["lines"]["object"], "list");
    let line = &draft["lines"]["data"][0];
    assert_eq!(line["object"], "line_item");
    assert_eq!(line["invoice_item"], item["id"]);
    assert_eq!(line["amount"], 1225);
    assert_eq!(line["description"], "Workway usage, 2024-06");

    let finalize = format!("/v1/invoices/{invoice_id}/finalize");
    let open = api.post(&finalize, &[], Some("finalize-st_1")).await;
    assert_eq!(open.status, 200, "{}", String::from_utf8_lossy(&open.body));
    let open = open.json();
    assert_eq!(open["status"], "open");
    let number = open["number"].as_str().unwrap();
    let prefix = api.mock.customer(&customer).unwrap()["invoice_prefix"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(number, format!("{prefix}-0001"));
    assert!(
        open["hosted_invoice_url"]
            .as_str()
            .unwrap()
            .starts_with("https://invoice.stripe.com/i/acct_")
    );
    assert!(open["status_transitions"]["finalized_at"].is_i64());
    // The same key replays; finalizing again is refused.
    let replay = api.post(&finalize, &[], Some("finalize-st_1")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let refinalize = api.post(&finalize, &[], None).await;
    assert_eq!(error(&refinalize).2, "invoice_not_editable");
    // No more items on a finalized invoice.
    let late = api
        .post(
            "/v1/invoiceitems",
            &[
                ("customer", &customer),
                ("amount", "5"),
                ("currency", "usd"),
                ("invoice", &invoice_id),
            ],
            None,
        )
        .await;
    assert_eq!(error(&late).3, "invoice");

    let failed = api.mock.fail_invoice_payment(&invoice_id).unwrap();
    assert_eq!(failed["type"], "invoice.payment_failed");
    assert_eq!(failed["data"]["object"]["status"], "open");
    assert_eq!(failed["data"]["object"]["attempt_count"], 1);

    let paid = api.mock.pay_invoice(&invoice_id).unwrap();
    assert_eq!(paid["type"], "invoice.paid");
    let object = &paid["data"]["object"];
    assert_eq!(object["status"], "paid");
    assert_eq!(object["paid"], true);
    assert_eq!(object["amount_paid"], 1225);
    assert_eq!(object["amount_remaining"], 0);
    assert_eq!(object["attempt_count"], 2);
    assert!(api.mock.pay_invoice(&invoice_id).is_err(), "paid already");

    let read = api
        .get_expanded(
            &format!("/v1/invoices/{invoice_id}"),
            &["charge.balance_transaction", "customer"],
        )
        .await
        .json();
    assert_eq!(read["status"], "paid");
    assert_eq!(read["charge"]["amount"], 1225);
    assert_eq!(read["charge"]["invoice"], json!(invoice_id));
    assert_eq!(read["charge"]["balance_transaction"]["fee"], 66);
    assert_eq!(read["customer"]["email"], "ada@example.com");
    assert_eq!(
        api.mock.customer(&customer).unwrap()["next_invoice_sequence"],
        2
    );
    let kinds: Vec<_> = api
        .mock
        .events()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        kinds,
        [json!("invoice.payment_failed"), json!("invoice.paid")]
    );
    assert_eq!(api.mock.invoices().len(), 2);

    // An invoice of nothing is paid when finalized.
    let nothing = api
        .create(&format!("/v1/invoices/{}/finalize", id(&empty)), &[])
        .await;
    assert_eq!(nothing["status"], "paid");
    assert_eq!(nothing["number"], json!(format!("{prefix}-0002")));
}

#[tokio::test]
async fn invoices_refuse_what_stripe_refuses() {
    let api = Api::start().await;
    let customer = api.mock.add_customer(json!({}));
    for (path, pairs, code, param) in [
        (
            "/v1/invoiceitems",
            vec![("amount", "5"), ("currency", "usd")],
            "parameter_missing",
            "customer",
        ),
        (
            "/v1/invoiceitems",
            vec![
                ("customer", "cus_nope"),
                ("amount", "5"),
                ("currency", "usd"),
            ],
            "resource_missing",
            "customer",
        ),
        (
            "/v1/invoiceitems",
            vec![("customer", customer.as_str()), ("currency", "usd")],
            "parameter_missing",
            "amount",
        ),
        (
            "/v1/invoiceitems",
            vec![("customer", customer.as_str()), ("amount", "5")],
            "parameter_missing",
            "currency",
        ),
        (
            "/v1/invoiceitems",
            vec![
                ("customer", customer.as_str()),
                ("amount", "5"),
                ("currency", "usd"),
                ("invoice", "in_nope"),
            ],
            "resource_missing",
            "invoice",
        ),
        ("/v1/invoices", vec![], "parameter_missing", "customer"),
        (
            "/v1/invoices",
            vec![
                ("customer", customer.as_str()),
                ("collection_method", "send_invoice"),
            ],
            "parameter_missing",
            "days_until_due",
        ),
        (
            "/v1/invoices",
            vec![("customer", customer.as_str()), ("days_until_due", "30")],
            "",
            "days_until_due",
        ),
        (
            "/v1/invoices",
            vec![
                ("customer", customer.as_str()),
                ("collection_method", "by_post"),
            ],
            "",
            "collection_method",
        ),
        (
            "/v1/invoices",
            vec![
                ("customer", customer.as_str()),
                ("pending_invoice_items_behavior", "all"),
            ],
            "",
            "pending_invoice_items_behavior",
        ),
        (
            "/v1/invoices",
            vec![("customer", customer.as_str()), ("auto_advance", "1")],
            "parameter_invalid_boolean",
            "auto_advance",
        ),
        (
            "/v1/invoices",
            vec![("customer", customer.as_str()), ("lines[0][amount]", "1")],
            "parameter_unknown",
            "lines[0][amount]",
        ),
    ] {
        let reply = api.post(path, &pairs, None).await;
        let (status, _, got_code, got_param, _) = error(&reply);
        assert_eq!(
            (status, got_code.as_str(), got_param.as_str()),
            (400, code, param),
            "{path} {pairs:?}"
        );
    }
    let missing = api.post("/v1/invoices/in_nope/finalize", &[], None).await;
    assert_eq!(missing.status, 404);
    assert!(api.mock.invoices().is_empty());
    assert!(api.mock.pay_invoice("in_nope").is_err());
}
