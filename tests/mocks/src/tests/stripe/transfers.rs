//! Transfers to connected accounts.

use serde_json::json;

use super::{Api, error, id};
use crate::services::stripe::StripeMock;

#[tokio::test]
async fn transfers_go_to_known_accounts_only() {
    let api = Api::start().await;
    let account = api.mock.add_connected_account();
    let pairs = [
        ("amount", "2730"),
        ("currency", "usd"),
        ("destination", account.as_str()),
        ("description", "Workway payout for statement st_1"),
        ("transfer_group", "st_1"),
        ("metadata[workway_reference]", "po_1"),
    ];
    let reply = api.post("/v1/transfers", &pairs, Some("payout-po_1")).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let transfer = reply.json();
    assert!(id(&transfer).starts_with("tr_"));
    assert_eq!(transfer["object"], "transfer");
    assert_eq!(transfer["amount"], 2730);
    assert_eq!(transfer["currency"], "usd");
    assert_eq!(transfer["destination"], json!(account));
    assert!(
        transfer["destination_payment"]
            .as_str()
            .unwrap()
            .starts_with("py_")
    );
    assert_eq!(transfer["reversed"], false);
    assert_eq!(transfer["amount_reversed"], 0);
    assert_eq!(
        transfer["reversals"],
        json!({"object": "list", "data": [], "has_more": false,
               "url": format!("/v1/transfers/{}/reversals", id(&transfer))})
    );
    assert_eq!(transfer["metadata"], json!({"workway_reference": "po_1"}));
    assert_eq!(transfer["transfer_group"], "st_1");
    assert_eq!(transfer["description"], "Workway payout for statement st_1");
    assert_eq!(transfer["livemode"], false);
    assert_eq!(transfer["source_transaction"], json!(null));

    // Replayed under its key, refused with other parameters.
    let again = api.post("/v1/transfers", &pairs, Some("payout-po_1")).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), transfer);
    let mut other = pairs.to_vec();
    other[0] = ("amount", "2731");
    let conflict = api.post("/v1/transfers", &other, Some("payout-po_1")).await;
    assert_eq!(error(&conflict).1, "idempotency_error");
    assert_eq!(api.mock.transfers(), vec![transfer.clone()]);

    let read = api
        .get_expanded(
            &format!("/v1/transfers/{}", id(&transfer)),
            &["balance_transaction"],
        )
        .await
        .json();
    assert_eq!(read["balance_transaction"]["type"], "transfer");
    assert_eq!(read["balance_transaction"]["amount"], -2730);

    let unknown = api
        .post(
            "/v1/transfers",
            &[
                ("amount", "100"),
                ("currency", "usd"),
                ("destination", "acct_nope"),
            ],
            None,
        )
        .await;
    assert_eq!(
        error(&unknown),
        (
            400,
            "invalid_request_error".into(),
            "resource_missing".into(),
            "destination".into(),
            "No such destination: 'acct_nope'".into()
        )
    );
    for (pairs, code, param) in [
        (
            vec![("currency", "usd"), ("destination", account.as_str())],
            "parameter_missing",
            "amount",
        ),
        (
            vec![("amount", "100"), ("destination", account.as_str())],
            "parameter_missing",
            "currency",
        ),
        (
            vec![("amount", "100"), ("currency", "usd")],
            "parameter_missing",
            "destination",
        ),
        (
            vec![
                ("amount", "-5"),
                ("currency", "usd"),
                ("destination", account.as_str()),
            ],
            "",
            "amount",
        ),
        (
            vec![
                ("amount", "5"),
                ("currency", "usd"),
                ("destination", account.as_str()),
                ("source_transaction", "ch_nope"),
            ],
            "resource_missing",
            "source_transaction",
        ),
        (
            vec![
                ("amount", "5"),
                ("currency", "usd"),
                ("destination", account.as_str()),
                ("colour", "blue"),
            ],
            "parameter_unknown",
            "colour",
        ),
    ] {
        let reply = api.post("/v1/transfers", &pairs, None).await;
        let (status, _, got_code, got_param, _) = error(&reply);
        assert_eq!(
            (status, got_code.as_str(), got_param.as_str()),
            (400, code, param),
            "{pairs:?}"
        );
    }

    // A balance that does not cover it, injected.
    api.mock
        .faults()
        .push_for("/v1/transfers", StripeMock::balance_insufficient());
    let short = api
        .post(
            "/v1/transfers",
            &[
                ("amount", "100"),
                ("currency", "usd"),
                ("destination", account.as_str()),
            ],
            None,
        )
        .await;
    let (status, kind, code, _, message) = error(&short);
    assert_eq!(
        (status, kind.as_str(), code.as_str()),
        (400, "invalid_request_error", "balance_insufficient")
    );
    assert!(
        message.starts_with("You have insufficient available funds"),
        "{message}"
    );
    assert_eq!(api.mock.transfers().len(), 1);
}
