//! Billing's tables on SQLite and (when the server answers) PostgreSQL:
//! usage records written with each step's result, the free allowance
//! counted in commit order, statements finalized once with late usage as
//! adjustments, and the ledger that posts them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use proptest::prelude::*;
use tokio::sync::Barrier;
use workway_store::Store;
use workway_store::billing::{
    NewPurchase, PayoutClaim, PurchaseState, StatementKind, StatementRow, developer_account,
};
use workway_store::runs::{AttemptStatus, FinishAttempt, Metered, Price, RunUpdate};
use workway_store::testing::{
    TestStore, claimed_run, first_attempt, start_first_step, test_stores,
};

/// The standard tariff, as the engine gives it to the store.
fn price(class: &str) -> Price {
    match class {
        "heavy" => Price {
            free_per_month: 20,
            charge_mills: 250,
            developer_mills: 175,
        },
        _ => Price {
            free_per_month: 20,
            charge_mills: 50,
            developer_mills: 35,
        },
    }
}

/// Floor to the cent, carry the rest (the engine's rule).
fn round(mills: i64, carried: i64) -> (i64, i64) {
    let total = mills + carried;
    if total <= 0 {
        return (0, total);
    }
    (total / 10, total % 10)
}

/// Milliseconds at the start of day `day` of month `month` of 2026 (UTC).
fn at(month: u32, day: u32) -> i64 {
    // Days before each month of 2026 (not a leap year).
    const BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let days_to_2026 = 20_454; // 1970-01-01 to 2026-01-01
    let month0 = usize::try_from(month - 1).unwrap_or(0);
    (days_to_2026 + BEFORE[month0] + i64::from(day) - 1) * 86_400_000
}

/// The action the first step of every run here calls.
const ACTION: &str = "slack.post_message";

/// One execution: a run of `owner` inserted and claimed by `host`, its
/// first step's attempt started at `start` and finished at `end` as
/// `status`, metered as `class` of `integration`. Whether it committed.
#[allow(clippy::too_many_arguments)]
async fn execute(
    store: &Store,
    run_id: &str,
    owner: &str,
    integration: &str,
    class: &str,
    status: AttemptStatus,
    start: i64,
    end: i64,
) -> bool {
    let host = format!("host-{run_id}");
    // A lease long enough for a commit days later (late usage).
    claimed_run(store, run_id, owner, &host, 100 * 86_400_000, start).await;
    start_first_step(store, run_id, &host, ACTION, "{}", start).await;
    finish_step(
        store,
        run_id,
        &host,
        owner,
        integration,
        class,
        status,
        start,
        end,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn finish_step(
    store: &Store,
    run_id: &str,
    host: &str,
    owner: &str,
    integration: &str,
    class: &str,
    status: AttemptStatus,
    started: i64,
    now: i64,
) -> bool {
    let key = format!("{run_id}:0:1");
    store
        .runs()
        .finish_attempt(
            &FinishAttempt {
                start: first_attempt(run_id, &key, ACTION, "{}", started),
                status,
                output: (status == AttemptStatus::Succeeded).then_some("{}"),
                error: (status == AttemptStatus::Failed).then_some("{\"kind\":\"network\"}"),
                report: Some("{}"),
                retry_at: None,
                now,
                usage: Some(Metered {
                    owner,
                    integration,
                    class,
                    compute_units: 1_000,
                    price: price(class),
                }),
            },
            match status {
                AttemptStatus::Succeeded => RunUpdate::Succeed,
                _ => RunUpdate::Fail { error: "{}" },
            },
            host,
        )
        .await
        .expect("finish")
}

#[tokio::test]
async fn executions_are_numbered_and_charged_past_the_allowance() {
    for t in test_stores().await {
        t.own("slack", "dev-slack").await;
        let s = &t.store;
        let (start, end) = (at(3, 2), at(3, 2) + 5);
        for i in 0..24 {
            let class = if i % 8 == 7 { "heavy" } else { "light" };
            let run = format!("ok{i}");
            assert!(
                execute(
                    s,
                    &run,
                    "ann",
                    "slack",
                    class,
                    AttemptStatus::Succeeded,
                    start,
                    end
                )
                .await
            );
        }
        assert!(
            execute(
                s,
                "f1",
                "ann",
                "slack",
                "light",
                AttemptStatus::Failed,
                start,
                end
            )
            .await
        );
        assert!(
            execute(
                s,
                "g1",
                "ann",
                "gmail",
                "light",
                AttemptStatus::Succeeded,
                start,
                end
            )
            .await
        );
        assert!(
            execute(
                s,
                "b1",
                "bob",
                "slack",
                "heavy",
                AttemptStatus::Succeeded,
                start,
                end
            )
            .await
        );

        let records = s.billing().usage_records_of("ann").await.expect("read");
        assert_eq!(records.len(), 26, "{}", t.label);
        let mut billable: Vec<i64> = records.iter().filter_map(|r| r.seq).collect();
        billable.sort_unstable();
        assert_eq!(billable, (1..=25).collect::<Vec<_>>(), "{}", t.label);
        let failed = records.iter().find(|r| r.run_id == "f1").expect("failed");
        assert_eq!((failed.seq, failed.charge_mills), (None, 0), "{}", t.label);
        for r in &records {
            assert_eq!(r.charge_mills, r.developer_mills + r.platform_mills);
            assert_eq!(r.month, "2026-03");
            let free = r.seq.is_some_and(|n| n <= 20);
            assert_eq!(r.charge_mills == 0, free || r.seq.is_none(), "{r:?}");
        }
        // ok0..ok19 free; ok20..ok23 charged, ok23 heavy; g1 charged light.
        let charged: BTreeMap<&str, (i64, i64, i64)> = records
            .iter()
            .filter(|r| r.charge_mills > 0)
            .map(|r| {
                (
                    r.run_id.as_str(),
                    (r.charge_mills, r.developer_mills, r.platform_mills),
                )
            })
            .collect();
        let expected: BTreeMap<&str, (i64, i64, i64)> = [
            ("ok20", (50, 35, 15)),
            ("ok21", (50, 35, 15)),
            ("ok22", (50, 35, 15)),
            ("ok23", (250, 175, 75)),
            ("g1", (50, 35, 15)),
        ]
        .into_iter()
        .collect();
        assert_eq!(charged, expected, "{}", t.label);
        let slack = records.iter().find(|r| r.run_id == "ok0").expect("ok0");
        assert_eq!(slack.developer.as_deref(), Some("dev-slack"));
        let gmail = records.iter().find(|r| r.run_id == "g1").expect("g1");
        assert_eq!(
            gmail.developer, None,
            "no developer account: the platform's own"
        );

        let month = s
            .billing()
            .month_usage("ann", "2026-03")
            .await
            .expect("usage");
        assert_eq!(month.billable, 25);
        assert_eq!(
            (month.free(), month.light(), month.heavy(), month.failed()),
            (20, 4, 1, 1)
        );
        assert_eq!(month.charge_mills(), 450, "{}", t.label);
        let bob = s
            .billing()
            .month_usage("bob", "2026-03")
            .await
            .expect("usage");
        assert_eq!(
            (bob.free(), bob.charge_mills()),
            (1, 0),
            "bob has his own allowance"
        );
        assert_eq!(
            s.billing()
                .month_usage("ann", "2026-04")
                .await
                .expect("usage")
                .billable,
            0
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_execution_belongs_to_the_month_it_started_in() {
    for t in test_stores().await {
        let s = &t.store;
        let last_ms_of_march = at(4, 1) - 1;
        // r1's start is written before its result (a long step); r2's only
        // with it (a fast one): both belong to the month they started in.
        for (run, start_written, seq) in [("r1", true, 1), ("r2", false, 2)] {
            let host = format!("host-{run}");
            claimed_run(s, run, "ann", &host, 100 * 86_400_000, last_ms_of_march).await;
            if start_written {
                start_first_step(s, run, &host, ACTION, "{}", last_ms_of_march).await;
            }
            assert!(
                finish_step(
                    s,
                    run,
                    &host,
                    "ann",
                    "slack",
                    "light",
                    AttemptStatus::Succeeded,
                    last_ms_of_march,
                    at(4, 1) + 10
                )
                .await
            );
            let record = s
                .billing()
                .usage_record(run, 0, 1)
                .await
                .expect("read")
                .expect("record");
            assert_eq!(
                (record.month.as_str(), record.started_at, record.seq),
                ("2026-03", last_ms_of_march, Some(seq)),
                "{run}: {}",
                t.label
            );
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_resumed_attempt_is_counted_once_and_a_lost_lease_counts_nothing() {
    for t in test_stores().await {
        let s = &t.store;
        let runs = s.runs();
        // Host A starts the step and dies before committing.
        claimed_run(s, "r1", "ann", "host-a", 1_000, at(5, 1)).await;
        start_first_step(s, "r1", "host-a", ACTION, "{}", at(5, 1)).await;
        // Its lease lapses; host B takes the run over and runs the attempt again.
        let later = at(5, 1) + 5_000;
        runs.claim_run("r1", "host-b", 60_000, later)
            .await
            .expect("claim")
            .expect("taken over");
        start_first_step(s, "r1", "host-b", ACTION, "{}", later).await;
        assert!(
            finish_step(
                s,
                "r1",
                "host-b",
                "ann",
                "slack",
                "light",
                AttemptStatus::Succeeded,
                later,
                later + 10
            )
            .await
        );
        // Host A comes back and tries to commit: nothing is written.
        assert!(
            !finish_step(
                s,
                "r1",
                "host-a",
                "ann",
                "slack",
                "light",
                AttemptStatus::Succeeded,
                at(5, 1),
                later + 20
            )
            .await
        );
        let records = s.billing().usage_records_of("ann").await.expect("read");
        assert_eq!(records.len(), 1, "{}", t.label);
        assert_eq!(records[0].seq, Some(1));
        assert_eq!(
            s.billing()
                .month_usage("ann", "2026-05")
                .await
                .expect("usage")
                .billable,
            1
        );
        t.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hosts_at_the_allowance_boundary_count_exactly_twenty_free() {
    for t in test_stores().await {
        // 18 executions already; two hosts then finish 6 more at once.
        for i in 0..18 {
            let run = format!("pre{i}");
            assert!(
                execute(
                    &t.store,
                    &run,
                    "ann",
                    "slack",
                    "light",
                    AttemptStatus::Succeeded,
                    at(6, 3),
                    at(6, 3) + 1
                )
                .await
            );
        }
        let hosts = [Arc::new(t.reopen().await), Arc::new(t.reopen().await)];
        // Every run inserted, claimed and started first; the commits race.
        for i in 0..6 {
            let run = format!("race{i}");
            let host = format!("host-{run}");
            claimed_run(&t.store, &run, "ann", &host, 3_600_000, at(6, 4)).await;
            start_first_step(&t.store, &run, &host, ACTION, "{}", at(6, 4)).await;
        }
        let barrier = Arc::new(Barrier::new(6));
        let mut tasks = Vec::new();
        for i in 0..6 {
            let store = Arc::clone(&hosts[i % 2]);
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                let run = format!("race{i}");
                let host = format!("host-{run}");
                barrier.wait().await;
                finish_step(
                    &store,
                    &run,
                    &host,
                    "ann",
                    "slack",
                    "light",
                    AttemptStatus::Succeeded,
                    at(6, 4),
                    at(6, 4) + 1,
                )
                .await
            }));
        }
        for task in tasks {
            assert!(task.await.expect("joined"), "{}", t.label);
        }
        let records = t
            .store
            .billing()
            .usage_records_of("ann")
            .await
            .expect("read");
        let mut seqs: Vec<i64> = records.iter().filter_map(|r| r.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=24).collect::<Vec<_>>(), "{}", t.label);
        let free = records.iter().filter(|r| r.charge_mills == 0).count();
        assert_eq!(free, 20, "{}", t.label);
        for host in hosts {
            host.close().await;
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn statements_are_final_and_late_usage_lands_on_the_next() {
    for t in test_stores().await {
        t.own("slack", "dev-slack").await;
        let s = &t.store;
        let billing = s.billing();
        // 23 light executions in January: 3 charged (150 mills).
        for i in 0..23 {
            let run = format!("jan{i}");
            assert!(
                execute(
                    s,
                    &run,
                    "ann",
                    "slack",
                    "light",
                    AttemptStatus::Succeeded,
                    at(1, 10),
                    at(1, 10) + 1
                )
                .await
            );
        }
        assert_eq!(
            billing.users_to_finalize("2026-01").await.expect("due"),
            ["ann"]
        );
        let jan = billing
            .finalize_user("ann", "2026-01", "st-jan", at(2, 4), round)
            .await
            .expect("finalize")
            .expect("finalized");
        assert_eq!(
            (jan.total_mills, jan.adjustment_mills, jan.amount_cents),
            (150, 0, 15),
            "{}",
            t.label
        );
        assert_eq!(
            (jan.summary.free, jan.summary.light, jan.summary.late),
            (20, 3, 0)
        );
        // Finalizing again (another host) does nothing.
        assert!(
            billing
                .finalize_user("ann", "2026-01", "st-jan-2", at(2, 4), round)
                .await
                .expect("again")
                .is_none()
        );
        assert!(
            billing
                .users_to_finalize("2026-01")
                .await
                .expect("due")
                .is_empty()
        );

        // The developer's share: 105 mills, paid as 10 cents, 5 carried.
        assert_eq!(
            billing
                .developers_to_finalize("2026-01")
                .await
                .expect("due"),
            ["dev-slack"]
        );
        let dev_jan = billing
            .finalize_developer("dev-slack", "2026-01", "sd-jan", at(2, 4), round)
            .await
            .expect("finalize")
            .expect("finalized");
        assert_eq!(
            (
                dev_jan.total_mills,
                dev_jan.amount_cents,
                dev_jan.carried_out_mills
            ),
            (105, 10, 5)
        );

        // A late January execution (started in January, committed after
        // its statement) and one in February.
        assert!(
            execute(
                s,
                "late",
                "ann",
                "slack",
                "heavy",
                AttemptStatus::Succeeded,
                at(1, 31),
                at(2, 5)
            )
            .await
        );
        assert!(
            execute(
                s,
                "feb",
                "ann",
                "slack",
                "light",
                AttemptStatus::Succeeded,
                at(2, 6),
                at(2, 6) + 1
            )
            .await
        );
        let late = billing
            .usage_record("late", 0, 1)
            .await
            .expect("read")
            .expect("late");
        assert_eq!(
            (late.month.as_str(), late.seq, late.charge_mills),
            ("2026-01", Some(24), 250)
        );
        assert_eq!(
            billing.statement("ann", "st-jan").await.expect("read"),
            Some(jan.clone()),
            "January's is untouched"
        );

        let feb = billing
            .finalize_user("ann", "2026-02", "st-feb", at(3, 4), round)
            .await
            .expect("finalize")
            .expect("finalized");
        // February's own execution is free (its own allowance); the late
        // one is an adjustment.
        assert_eq!(
            (feb.total_mills, feb.adjustment_mills, feb.amount_cents),
            (0, 250, 25),
            "{}",
            t.label
        );
        assert_eq!(
            (feb.summary.free, feb.summary.heavy, feb.summary.late),
            (1, 1, 1)
        );
        let dev_feb = billing
            .finalize_developer("dev-slack", "2026-02", "sd-feb", at(3, 4), round)
            .await
            .expect("finalize")
            .expect("finalized");
        // 175 mills of share plus the 5 carried: 18 cents, nothing carried.
        assert_eq!(
            (
                dev_feb.adjustment_mills,
                dev_feb.carried_in_mills,
                dev_feb.amount_cents,
                dev_feb.carried_out_mills
            ),
            (175, 5, 18, 0)
        );

        let listed = billing
            .statements("ann", StatementKind::User, None, 10)
            .await
            .expect("list");
        assert_eq!(listed, vec![feb, jan], "newest first");
        assert!(
            billing
                .statements("bob", StatementKind::User, None, 10)
                .await
                .expect("list")
                .is_empty()
        );
        assert!(
            billing
                .statement("bob", "st-jan")
                .await
                .expect("read")
                .is_none(),
            "another account's statement is not found"
        );

        let ledger = billing.reconcile().await.expect("reconcile");
        assert!(ledger.holds(), "{}: {ledger:?}", t.label);
        assert_eq!(ledger.charges_mills, 400);
        assert_eq!(
            (ledger.developer_shares_mills, ledger.platform_shares_mills),
            (280, 120)
        );
        let balances: HashMap<String, i64> = billing
            .balances()
            .await
            .expect("balances")
            .into_iter()
            .map(|b| (b.account, b.balance_mills))
            .collect();
        assert_eq!(balances["user:ann:receivable"], 400);
        assert_eq!(balances["developer:dev-slack:payable"], -280);
        assert_eq!(balances["platform:revenue"], -120);
        t.cleanup().await;
    }
}

/// One step of a random billing history.
#[derive(Debug, Clone)]
enum Op {
    /// An execution of user `user` on integration `dev` in month `month`
    /// (1..=3), committed `late` days after its month ended (0: in it).
    Execute {
        user: u8,
        dev: u8,
        heavy: bool,
        ok: bool,
        month: u32,
        late: u8,
    },
    /// Finalize the statements of month `month`.
    Finalize { month: u32 },
    /// User `user` buys `cents` of prepaid credit.
    Credit { user: u8, cents: i64 },
    /// User `user` buys developer `dev`'s paid integration at `price`
    /// cents, the provider reporting `fee` cents and moving the price to
    /// the developer with the charge when `transfer`.
    Buy {
        user: u8,
        dev: u8,
        price: i64,
        fee: i64,
        transfer: bool,
    },
    /// The `pick`th purchase so far is refunded (its transfer reversed).
    Refund { pick: usize },
    /// Payouts are claimed for the finalized developer statements.
    Payout,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..3, 0u8..3, any::<bool>(), prop::bool::weighted(0.8), 1u32..=3, prop_oneof![4 => Just(0u8), 1 => 1u8..3])
            .prop_map(|(user, dev, heavy, ok, month, late)| Op::Execute { user, dev, heavy, ok, month, late }),
        1 => (1u32..=3).prop_map(|month| Op::Finalize { month }),
        1 => (0u8..3, 1i64..300).prop_map(|(user, cents)| Op::Credit { user, cents }),
        1 => (0u8..3, 0u8..2, 1900i64..=24900, 0i64..800, any::<bool>())
            .prop_map(|(user, dev, price, fee, transfer)| Op::Buy { user, dev, price, fee, transfer }),
        1 => any::<usize>().prop_map(|pick| Op::Refund { pick }),
        1 => Just(Op::Payout),
    ]
}

/// Run `ops` on `t` and check every money rule.
async fn check_history(t: &TestStore, ops: &[Op]) {
    let s = &t.store;
    for dev in 0..2 {
        t.own(&format!("app{dev}"), &format!("dev{dev}")).await;
    }
    let mut finalized: Vec<StatementRow> = Vec::new();
    let mut bought: HashMap<String, i64> = HashMap::new();
    // Purchases: (id, buyer, integration, price, transferred), refunded or not.
    let mut sales: Vec<(String, String, String, i64, bool)> = Vec::new();
    let mut refunded: Vec<String> = Vec::new();
    for (n, op) in ops.iter().enumerate() {
        match op {
            Op::Execute {
                user,
                dev,
                heavy,
                ok,
                month,
                late,
            } => {
                let start = at(*month, 10);
                let end = if *late > 0 {
                    at(month + 1, u32::from(*late))
                } else {
                    start + 1
                };
                let status = if *ok {
                    AttemptStatus::Succeeded
                } else {
                    AttemptStatus::Failed
                };
                let class = if *heavy { "heavy" } else { "light" };
                let run = format!("r{n}");
                assert!(
                    execute(
                        s,
                        &run,
                        &format!("u{user}"),
                        &format!("app{dev}"),
                        class,
                        status,
                        start,
                        end
                    )
                    .await
                );
            }
            Op::Credit { user, cents } => {
                let (id, owner) = (format!("cr{n}"), format!("u{user}"));
                let billing = s.billing();
                billing
                    .create_credit_purchase(&id, &owner, *cents, "local", at(1, 1))
                    .await
                    .expect("credit");
                assert!(
                    billing
                        .mark_credit_paid(&id, &id, at(1, 1))
                        .await
                        .expect("paid")
                );
                *bought.entry(owner).or_default() += cents * 10;
            }
            Op::Buy {
                user,
                dev,
                price,
                fee,
                transfer,
            } => {
                let (id, buyer, app) = (format!("pu{n}"), format!("u{user}"), format!("app{dev}"));
                if sales.iter().any(|(other, b, a, _, _)| {
                    *b == buyer && *a == app && !refunded.contains(other)
                }) {
                    // Entitled already: the engine sells nothing twice.
                    continue;
                }
                let billing = s.billing();
                billing
                    .create_purchase(&NewPurchase {
                        id: &id,
                        account_id: &buyer,
                        integration: &app,
                        price_cents: *price,
                        fee_estimate_cents: 0,
                        provider: "stripe",
                        now: at(1, 2),
                    })
                    .await
                    .expect("pending");
                assert!(billing.mark_paid(&id, *fee, at(1, 2)).await.expect("paid"));
                assert!(!billing.mark_paid(&id, *fee, at(1, 3)).await.expect("once"));
                let developer = format!("dev{dev}");
                if *transfer {
                    assert!(
                        billing
                            .record_sale_transfer(
                                &id,
                                "stripe",
                                "tr",
                                *price,
                                Some(&developer),
                                at(1, 2)
                            )
                            .await
                            .expect("transferred")
                    );
                }
                sales.push((id, buyer, app, *price, *transfer));
            }
            Op::Refund { pick } => {
                if sales.is_empty() {
                    continue;
                }
                let (id, _, app, price, transfer) = &sales[pick % sales.len()];
                let billing = s.billing();
                let first = !refunded.contains(id);
                assert_eq!(
                    billing.mark_refunded(id, at(1, 4)).await.expect("refund"),
                    first
                );
                let developer = format!("dev{}", &app[3..]);
                let reversed = billing
                    .record_transfer_reversal(id, "stripe", *price, Some(&developer), at(1, 4))
                    .await
                    .expect("reversal");
                assert_eq!(reversed, first && *transfer);
                if first {
                    refunded.push(id.clone());
                }
            }
            Op::Payout => {
                let billing = s.billing();
                for (statement, developer) in billing.statements_to_pay_out(100).await.expect("due")
                {
                    let id = format!("po-{statement}");
                    let claimed = billing
                        .claim_payout(&PayoutClaim {
                            id: &id,
                            statement_id: &statement,
                            developer: &developer,
                            destination: Some("acct_1"),
                            provider: "stripe",
                            now: at(4, 1),
                        })
                        .await
                        .expect("claimed")
                        .expect("not claimed before");
                    // What is owed is paid to the cent; less than a cent waits.
                    let left = billing
                        .balance(&developer_account(Some(&developer)))
                        .await
                        .expect("balance");
                    assert!(
                        (-9..=0).contains(&left) || claimed.amount_cents == 0,
                        "{left} {claimed:?}"
                    );
                    if claimed.amount_cents > 0 {
                        assert!(
                            billing
                                .payout_sent(&id, "tr", at(4, 1))
                                .await
                                .expect("sent")
                        );
                    }
                }
            }
            Op::Finalize { month } => {
                let m = format!("2026-{month:02}");
                let billing = s.billing();
                for owner in billing.users_to_finalize(&m).await.expect("due") {
                    let id = format!("st-{owner}-{m}");
                    if let Some(row) = billing
                        .finalize_user(&owner, &m, &id, at(month + 1, 5), round)
                        .await
                        .expect("finalize")
                    {
                        finalized.push(row);
                    }
                }
                for dev in billing.developers_to_finalize(&m).await.expect("due") {
                    let id = format!("sd-{dev}-{m}");
                    if let Some(row) = billing
                        .finalize_developer(&dev, &m, &id, at(month + 1, 5), round)
                        .await
                        .expect("finalize")
                    {
                        finalized.push(row);
                    }
                }
            }
        }
    }
    let billing = s.billing();
    // Exactly min(20, billable) free per user and month, numbered 1..n.
    for user in 0..3 {
        let records = billing
            .usage_records_of(&format!("u{user}"))
            .await
            .expect("read");
        let mut by_month: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for r in &records {
            assert_eq!(
                r.charge_mills,
                r.developer_mills + r.platform_mills,
                "{r:?}"
            );
            assert_eq!(r.seq.is_some(), r.outcome == "succeeded", "{r:?}");
            if let Some(seq) = r.seq {
                by_month.entry(r.month.clone()).or_default().push(seq);
                let expected = match (seq > 20, r.class.as_str()) {
                    (false, _) => 0,
                    (true, "heavy") => 250,
                    (true, _) => 50,
                };
                assert_eq!(r.charge_mills, expected, "{r:?}");
            } else {
                assert_eq!(r.charge_mills, 0);
            }
        }
        for (month, mut seqs) in by_month {
            seqs.sort_unstable();
            let n = i64::try_from(seqs.len()).expect("small");
            assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "u{user} {month}");
            let free = records
                .iter()
                .filter(|r| r.month == month && r.seq.is_some() && r.charge_mills == 0)
                .count();
            assert_eq!(
                i64::try_from(free).expect("small"),
                n.min(20),
                "u{user} {month}"
            );
        }
    }
    // Credit is drawn down, never below zero, never past the charges.
    for user in 0..3 {
        let owner = format!("u{user}");
        let drawn: i64 = finalized
            .iter()
            .filter(|r| r.account_id == owner && r.kind == StatementKind::User)
            .map(|r| {
                assert!(
                    r.credit_mills <= r.total_mills + r.adjustment_mills,
                    "{r:?}"
                );
                r.credit_mills
            })
            .sum();
        let left = s.billing().credit_balance(&owner).await.expect("balance");
        assert_eq!(left, bought.get(&owner).copied().unwrap_or(0) - drawn);
        assert!(left >= 0);
    }
    // Statements never change once written.
    for row in &finalized {
        assert_eq!(
            billing
                .statement(&row.account_id, &row.id)
                .await
                .expect("read")
                .as_ref(),
            Some(row)
        );
    }
    // Entitled to exactly what was bought and not refunded.
    for (id, buyer, app, _, _) in &sales {
        let held = sales
            .iter()
            .any(|(other, b, a, _, _)| b == buyer && a == app && !refunded.contains(other));
        assert_eq!(
            s.listings()
                .has_entitlement(buyer, app)
                .await
                .expect("read"),
            held,
            "{id}"
        );
    }
    // The ledger balances and equals what the statements charged.
    let ledger = billing.reconcile().await.expect("reconcile");
    assert!(ledger.holds(), "{ledger:?}");
    let charged: i64 = finalized
        .iter()
        .filter(|r| r.kind == StatementKind::User)
        .map(|r| r.total_mills + r.adjustment_mills)
        .sum();
    assert_eq!(ledger.charges_mills, charged);
    let credited: i64 = finalized
        .iter()
        .filter(|r| r.kind == StatementKind::Developer)
        .map(|r| r.total_mills + r.adjustment_mills)
        .sum();
    assert!(
        credited <= ledger.developer_shares_mills,
        "credited shares were charged first"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_history_keeps_the_money_rules(ops in prop::collection::vec(op(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            for t in test_stores().await {
                check_history(&t, &ops).await;
                t.cleanup().await;
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hosts_finalizing_one_statement_write_it_once() {
    for t in test_stores().await {
        t.own("slack", "dev-slack").await;
        for i in 0..22 {
            let run = format!("r{i}");
            assert!(
                execute(
                    &t.store,
                    &run,
                    "ann",
                    "slack",
                    "light",
                    AttemptStatus::Succeeded,
                    at(7, 1),
                    at(7, 1) + 1
                )
                .await
            );
        }
        let hosts = [Arc::new(t.reopen().await), Arc::new(t.reopen().await)];
        let barrier = Arc::new(Barrier::new(2));
        let mut tasks = Vec::new();
        for (n, host) in hosts.iter().enumerate() {
            let (host, barrier) = (Arc::clone(host), Arc::clone(&barrier));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let id = format!("st-{n}");
                host.billing()
                    .finalize_user("ann", "2026-07", &id, at(8, 5), round)
                    .await
            }));
        }
        let mut written = Vec::new();
        for task in tasks {
            // The loser either finds nothing left to claim, or (PostgreSQL)
            // loses on the statement's unique key and rolls back.
            if let Ok(Some(row)) = task.await.expect("joined") {
                written.push(row);
            }
        }
        assert_eq!(written.len(), 1, "{}", t.label);
        assert_eq!(written[0].total_mills, 100);
        let listed = t
            .store
            .billing()
            .statements("ann", StatementKind::User, None, 10)
            .await
            .expect("list");
        assert_eq!(listed, written, "{}", t.label);
        let ledger = t.store.billing().reconcile().await.expect("reconcile");
        assert!(ledger.holds(), "{}: {ledger:?}", t.label);
        assert_eq!(ledger.charges_mills, 100, "posted once");
        for host in hosts {
            host.close().await;
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_purchase_is_paid_once_and_refunded_once() {
    for t in test_stores().await {
        t.own("ledgerly", "dev-l").await;
        let billing = t.store.billing();
        let p = billing
            .create_purchase(&NewPurchase {
                id: "pu1",
                account_id: "ann",
                integration: "ledgerly",
                price_cents: 3900,
                fee_estimate_cents: 143,
                provider: "stripe",
                now: at(9, 1),
            })
            .await
            .expect("pending");
        assert_eq!(
            (p.state, p.developer.as_deref()),
            (PurchaseState::Pending, Some("dev-l"))
        );
        assert!(
            !t.store
                .listings()
                .has_entitlement("ann", "ledgerly")
                .await
                .expect("read")
        );
        billing
            .set_provider_ref("pu1", "cs_test_1")
            .await
            .expect("ref");
        let found = billing
            .purchase_by_ref("stripe", "cs_test_1")
            .await
            .expect("read");
        assert_eq!(found.map(|p| p.id).as_deref(), Some("pu1"));

        // Paid, with the fee the provider reported; a repeated
        // notification changes nothing.
        assert!(
            billing.mark_paid("pu1", 143, at(9, 2)).await.expect("paid"),
            "{}",
            t.label
        );
        assert!(
            !billing
                .mark_paid("pu1", 143, at(9, 3))
                .await
                .expect("again")
        );
        assert!(
            t.store
                .listings()
                .has_entitlement("ann", "ledgerly")
                .await
                .expect("read")
        );
        let balances: HashMap<String, i64> = billing
            .balances()
            .await
            .expect("balances")
            .into_iter()
            .map(|b| (b.account, b.balance_mills))
            .collect();
        // The developer is owed $39.00 - $1.43 = $37.57.
        assert_eq!(balances["developer:dev-l:payable"], -37_570, "{}", t.label);
        assert_eq!(balances["payments:stripe"], 37_570);

        // Refunded once: the entitlement goes, the sale is reversed.
        assert!(
            billing
                .mark_refunded("pu1", at(9, 4))
                .await
                .expect("refunded")
        );
        assert!(!billing.mark_refunded("pu1", at(9, 5)).await.expect("again"));
        assert!(
            !t.store
                .listings()
                .has_entitlement("ann", "ledgerly")
                .await
                .expect("read")
        );
        let ledger = billing.reconcile().await.expect("reconcile");
        assert!(ledger.holds(), "{ledger:?}");
        assert_eq!(ledger.entries, 6, "sale, fee and refund: two entries each");
        let p = billing
            .purchase_by_id("pu1")
            .await
            .expect("read")
            .expect("pu1");
        assert_eq!((p.state, p.fee_cents), (PurchaseState::Refunded, Some(143)));
        assert!(billing.purchases_of("bob").await.expect("read").is_empty());
        t.cleanup().await;
    }
}
