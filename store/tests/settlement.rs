//! Settlement's tables on SQLite and (when the server answers)
//! PostgreSQL: provider notifications recorded once, one customer per
//! account, one invoice per user statement paid once, sale transfers and
//! their reversals booked once, and payouts that send what the ledger
//! owes floored to the cent, once, however many hosts claim them.

use proptest::prelude::*;
use workway_store::Store;
use workway_store::billing::{NewPurchase, PayoutClaim};
use workway_store::testing::{TestStore, test_stores};

/// A finalized statement `id` of `kind` for `account` and `month` asking
/// `amount_cents`.
async fn statement(
    t: &TestStore,
    id: &str,
    (kind, account, month): (&str, &str, &str),
    amount_cents: i64,
) {
    let amount = amount_cents.to_string();
    let total = (amount_cents * 10).to_string();
    t.tamper(
        "INSERT INTO statements (id, account_id, kind, month, total_mills, adjustment_mills, \
         carried_in_mills, credit_mills, amount_cents, carried_out_mills, summary, lines, \
         finalized_at) VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), 0, 0, 0, \
         CAST($6 AS BIGINT), 0, '{}', '[]', 1)",
        &[id, account, kind, month, &total, &amount],
    )
    .await;
}

/// A balanced pair of ledger entries: `mills` credited to `account`
/// (as a developer's share is), debited to the platform's revenue.
async fn credit(t: &TestStore, txn: &str, account: &str, mills: i64) {
    let (credit, debit) = ((-mills).to_string(), mills.to_string());
    for (seq, acct, amount) in [("0", account, credit), ("1", "platform:revenue", debit)] {
        t.tamper(
            "INSERT INTO ledger_entries (id, txn, seq, account, kind, amount_mills, reference, \
             posted_at) VALUES ($1, $2, CAST($3 AS BIGINT), $4, 'developer_share', \
             CAST($5 AS BIGINT), $2, 1)",
            &[&format!("{txn}.{seq}"), txn, seq, acct, &amount],
        )
        .await;
    }
}

async fn balance(store: &Store, account: &str) -> i64 {
    store.billing().balance(account).await.expect("balance")
}

fn claim<'a>(id: &'a str, statement: &'a str, destination: Option<&'a str>) -> PayoutClaim<'a> {
    PayoutClaim {
        id,
        statement_id: statement,
        developer: "dev",
        destination,
        provider: "stripe",
        now: 10,
    }
}

#[tokio::test]
async fn notifications_and_customers_are_kept_once() {
    for t in test_stores().await {
        let billing = t.store.billing();
        assert!(
            !billing
                .event_applied("stripe", "evt_1")
                .await
                .expect("read")
        );
        assert!(
            billing
                .record_event("stripe", "evt_1", "invoice.paid", 1)
                .await
                .expect("kept")
        );
        assert!(
            !billing
                .record_event("stripe", "evt_1", "invoice.paid", 2)
                .await
                .expect("again")
        );
        assert!(
            billing
                .event_applied("stripe", "evt_1")
                .await
                .expect("read")
        );
        assert!(
            !billing
                .event_applied("local", "evt_1")
                .await
                .expect("per provider")
        );

        assert_eq!(
            billing.customer_ref("ann", "stripe").await.expect("read"),
            None
        );
        let kept = billing
            .keep_customer_ref("ann", "stripe", "cus_1", 1)
            .await
            .expect("kept");
        assert_eq!(kept, "cus_1");
        // A second host made another customer meanwhile: the first is kept.
        let kept = billing
            .keep_customer_ref("ann", "stripe", "cus_2", 2)
            .await
            .expect("kept");
        assert_eq!(kept, "cus_1", "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_invoice_is_made_once_per_statement_and_paid_once() {
    for t in test_stores().await {
        let billing = t.store.billing();
        statement(&t, "st_ann", ("user", "ann", "2026-09"), 20).await;
        statement(&t, "st_bob", ("user", "bob", "2026-09"), 0).await;
        statement(&t, "sd_dev", ("developer", "dev", "2026-09"), 14).await;
        // Ann's charges, as finalization posts them.
        t.tamper(
            "INSERT INTO ledger_entries (id, txn, seq, account, kind, amount_mills, reference, \
             posted_at) VALUES ('c.0', 'c', 0, 'user:ann:receivable', 'user_charge', 200, \
             'st_ann', 1), ('c.1', 'c', 1, 'platform:revenue', 'user_charge', -200, 'st_ann', 1)",
            &[],
        )
        .await;
        let pending = billing
            .invoices_to_make("stripe", 5, 50)
            .await
            .expect("claimed");
        assert_eq!(pending.len(), 1, "only what asks for money: {pending:?}");
        assert_eq!(
            (pending[0].statement_id.as_str(), pending[0].amount_cents),
            ("st_ann", 20)
        );
        // Not made at the provider yet: offered again, never twice.
        let again = billing
            .invoices_to_make("stripe", 6, 50)
            .await
            .expect("again");
        assert_eq!(again, pending, "{}", t.label);
        billing
            .invoice_made("st_ann", "in_1", Some("https://invoice.example/in_1"), 7)
            .await
            .expect("made");
        assert!(
            billing
                .invoices_to_make("stripe", 8, 50)
                .await
                .expect("none")
                .is_empty()
        );
        assert!(
            billing
                .invoice_payment_failed("stripe", "in_1", 9)
                .await
                .expect("failed")
        );
        let shown = billing.invoices_of("ann").await.expect("read");
        assert_eq!(
            (shown[0].state.as_str(), shown[0].attempts),
            ("payment_failed", 1)
        );
        assert!(billing.invoices_of("bob").await.expect("read").is_empty());
        assert!(
            !billing
                .invoice_refused("st_ann", "made already", 9)
                .await
                .expect("open"),
            "only a pending invoice can be refused"
        );

        assert!(
            billing
                .invoice_paid("stripe", "in_1", 10)
                .await
                .expect("paid")
        );
        assert!(
            !billing
                .invoice_paid("stripe", "in_1", 11)
                .await
                .expect("once")
        );
        assert!(
            !billing
                .invoice_payment_failed("stripe", "in_1", 12)
                .await
                .expect("paid")
        );
        assert!(
            !billing
                .invoice_paid("stripe", "in_unknown", 12)
                .await
                .expect("unknown")
        );
        assert_eq!(
            balance(&t.store, "user:ann:receivable").await,
            0,
            "{}",
            t.label
        );
        assert_eq!(balance(&t.store, "payments:stripe").await, 200);
        assert!(billing.reconcile().await.expect("reconciled").sum_mills == 0);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_invoice_fails_once_and_is_not_offered_again() {
    for t in test_stores().await {
        let billing = t.store.billing();
        statement(&t, "st_cat", ("user", "cat", "2026-09"), 35).await;
        let pending = billing
            .invoices_to_make("stripe", 1, 50)
            .await
            .expect("claimed");
        assert_eq!(pending.len(), 1);
        assert!(
            billing
                .invoice_refused("st_cat", "No such customer: 'cus_x'", 2)
                .await
                .expect("failed")
        );
        assert!(
            !billing
                .invoice_refused("st_cat", "again", 3)
                .await
                .expect("once")
        );
        assert!(
            billing
                .invoices_to_make("stripe", 4, 50)
                .await
                .expect("none")
                .is_empty(),
            "{}",
            t.label
        );
        let shown = billing.invoices_of("cat").await.expect("read");
        assert_eq!(
            (shown[0].state.as_str(), shown[0].failure.as_deref()),
            ("failed", Some("No such customer: 'cus_x'"))
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_checkout_buys_nothing() {
    for t in test_stores().await {
        t.own("ledgerly", "dev").await;
        let billing = t.store.billing();
        billing
            .create_purchase(&NewPurchase {
                id: "pu_x",
                account_id: "ann",
                integration: "ledgerly",
                price_cents: 1900,
                fee_estimate_cents: 85,
                provider: "stripe",
                now: 1,
            })
            .await
            .expect("pending");
        billing
            .create_credit_purchase("cr_x", "ann", 500, "stripe", 1)
            .await
            .expect("pending");
        assert!(billing.mark_expired("pu_x", 2).await.expect("expired"));
        assert!(!billing.mark_expired("pu_x", 3).await.expect("once"));
        assert!(
            !billing.mark_paid("pu_x", 85, 4).await.expect("not pending"),
            "{}",
            t.label
        );
        assert!(
            billing
                .mark_credit_expired("cr_x", 2)
                .await
                .expect("expired")
        );
        assert!(
            !billing
                .mark_credit_paid("cr_x", "cs_x", 4)
                .await
                .expect("not pending")
        );
        let p = billing
            .purchase_by_id("pu_x")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(p.state.as_str(), "expired");
        assert!(
            !t.store
                .listings()
                .has_entitlement("ann", "ledgerly")
                .await
                .expect("read")
        );
        assert_eq!(billing.credit_balance("ann").await.expect("balance"), 0);
        assert_eq!(billing.reconcile().await.expect("reconciled").entries, 0);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_sale_transfer_and_its_reversal_are_booked_once() {
    for t in test_stores().await {
        t.own("ledgerly", "dev").await;
        let billing = t.store.billing();
        billing
            .create_purchase(&NewPurchase {
                id: "pu1",
                account_id: "ann",
                integration: "ledgerly",
                price_cents: 3900,
                fee_estimate_cents: 143,
                provider: "stripe",
                now: 1,
            })
            .await
            .expect("pending");
        assert!(billing.mark_paid("pu1", 143, 2).await.expect("paid"));
        let dev = Some("dev");
        assert!(
            billing
                .record_sale_transfer("pu1", "stripe", "tr_1", 3900, dev, 3)
                .await
                .expect("booked")
        );
        assert!(
            !billing
                .record_sale_transfer("pu1", "stripe", "tr_1", 3900, dev, 4)
                .await
                .expect("once")
        );
        // Paid the whole price with the charge, the developer owes the fee.
        assert_eq!(balance(&t.store, "developer:dev:payable").await, 1_430);
        assert!(billing.mark_refunded("pu1", 5).await.expect("refunded"));
        assert!(
            billing
                .record_transfer_reversal("pu1", "stripe", 3900, dev, 6)
                .await
                .expect("reversed")
        );
        for again in [3900, 100, 0, 5000] {
            assert!(
                !billing
                    .record_transfer_reversal("pu1", "stripe", again, dev, 7)
                    .await
                    .expect("nothing new"),
                "{again}"
            );
        }
        assert!(
            !billing
                .record_transfer_reversal("pu_other", "stripe", 100, dev, 7)
                .await
                .expect("no transfer")
        );

        // Refunded and reversed: Stripe keeps its fee, which the developer owes.
        assert_eq!(
            balance(&t.store, "developer:dev:payable").await,
            1_430,
            "{}",
            t.label
        );
        assert_eq!(balance(&t.store, "payments:stripe").await, -1_430);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn payouts_are_claimed_once_skipped_without_an_account_and_restored_when_refused() {
    for t in test_stores().await {
        let billing = t.store.billing();
        statement(&t, "sd_1", ("developer", "dev", "2026-02"), 0).await;
        statement(&t, "sd_2", ("developer", "dev", "2026-03"), 0).await;
        statement(&t, "sd_3", ("developer", "dev", "2026-04"), 0).await;
        credit(&t, "share1", "developer:dev:payable", 12_345).await;

        // No payout account: skipped, the balance waits.
        let skipped = billing
            .claim_payout(&claim("po_1", "sd_1", None))
            .await
            .expect("claimed")
            .expect("first");
        assert_eq!(
            (skipped.state.as_str(), skipped.amount_cents),
            ("skipped", 0)
        );
        assert_eq!(balance(&t.store, "developer:dev:payable").await, -12_345);

        // Two hosts claim the next one: one payout of $12.34, 5 mills stay.
        let (first, second) = (
            claim("po_2a", "sd_2", Some("acct_1")),
            claim("po_2b", "sd_2", Some("acct_1")),
        );
        let (a, b) = tokio::join!(billing.claim_payout(&first), billing.claim_payout(&second));
        let claimed: Vec<_> = [a.expect("a"), b.expect("b")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(claimed.len(), 1, "{}", t.label);
        let payout = &claimed[0];
        assert_eq!(
            (payout.state.as_str(), payout.amount_cents),
            ("pending", 1234)
        );
        assert_eq!(balance(&t.store, "developer:dev:payable").await, -5);
        assert_eq!(
            billing.statements_to_pay_out(10).await.expect("read"),
            vec![("sd_3".to_string(), "dev".to_string())]
        );
        let pending = billing.pending_payouts("stripe", 10).await.expect("read");
        assert_eq!(pending.len(), 1);

        // Refused by the provider: the amount is owed again.
        assert!(
            billing
                .payout_failed(&payout.id, "account closed", 11)
                .await
                .expect("failed")
        );
        assert!(
            !billing
                .payout_failed(&payout.id, "again", 12)
                .await
                .expect("once")
        );
        assert!(
            !billing
                .payout_sent(&payout.id, "tr_x", 12)
                .await
                .expect("not pending")
        );
        assert_eq!(balance(&t.store, "developer:dev:payable").await, -12_345);
        let next = billing
            .claim_payout(&claim("po_3", "sd_3", Some("acct_1")))
            .await
            .expect("claimed")
            .expect("first");
        assert_eq!(next.amount_cents, 1234);
        assert!(billing.payout_sent("po_3", "tr_1", 13).await.expect("sent"));
        assert!(
            billing
                .pending_payouts("stripe", 10)
                .await
                .expect("read")
                .is_empty()
        );
        let shown = billing.payouts_of("dev").await.expect("read");
        assert_eq!(shown.len(), 3);
        assert!(
            billing
                .payouts_of("someone")
                .await
                .expect("read")
                .is_empty()
        );
        assert_eq!(billing.reconcile().await.expect("reconciled").sum_mills, 0);
        t.cleanup().await;
    }
}

async fn check_payout(t: &TestStore, shares: &[i64], refused: bool) {
    let billing = t.store.billing();
    statement(t, "sd_p", ("developer", "dev", "2026-09"), 0).await;
    for (i, mills) in shares.iter().enumerate() {
        credit(t, &format!("s{i}"), "developer:dev:payable", *mills).await;
    }
    let owed: i64 = shares.iter().sum();
    let payout = billing
        .claim_payout(&claim("po_p", "sd_p", Some("acct_1")))
        .await
        .expect("claimed")
        .expect("first");
    // Floored to the cent; the sub-cent rest stays on the account.
    assert_eq!(payout.amount_cents, owed / 10);
    let pending = if owed >= 10 { "pending" } else { "skipped" };
    assert_eq!(payout.state, pending);
    let after = balance(&t.store, "developer:dev:payable").await;
    assert_eq!(after, -(owed % 10));
    if refused && owed >= 10 {
        assert!(
            billing
                .payout_failed("po_p", "refused", 20)
                .await
                .expect("failed")
        );
        assert_eq!(balance(&t.store, "developer:dev:payable").await, -owed);
    }
    assert_eq!(billing.reconcile().await.expect("reconciled").sum_mills, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn a_payout_is_what_is_owed_floored_to_the_cent(
        shares in prop::collection::vec(prop_oneof![Just(35_i64), Just(175), 1..40_000_i64], 1..12),
        refused in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            for t in test_stores().await {
                check_payout(&t, &shares, refused).await;
                t.cleanup().await;
            }
        });
    }
}
