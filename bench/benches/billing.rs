//! What billing adds to a step commit: the same fenced transaction that
//! records an attempt's result and moves its run, timed without a usage
//! record and with one (the user's month counter upserted, the usage
//! record numbered and priced), interleaved in one process on each store,
//! a fresh run per commit. Prints p50 and p99 of both and the difference.
//!
//! `scripts/bench.sh billing`. Target: the usage record adds under 50 µs
//! at p50 on SQLite.

use std::time::{Duration, Instant};

use workway_bench::timing::spread;
use workway_store::Store;
use workway_store::runs::{AttemptStatus, FinishAttempt, Metered, Price, RunUpdate};
use workway_store::testing::{claimed_run, first_attempt, start_first_step, test_stores};

/// Commits timed per variant and store.
const COMMITS: usize = 2_000;

/// Insert, claim and start run `id`'s first step; then time its commit,
/// with a usage record when `metered`.
async fn one_commit(store: &Store, id: &str, metered: bool, now: i64) -> Duration {
    claimed_run(store, id, "ann", "bench", 600_000, now).await;
    start_first_step(
        store,
        id,
        "bench",
        "slack.send-message",
        "{\"text\":\"hi\"}",
        now,
    )
    .await;
    let key = format!("{id}:0:1");
    let finish = FinishAttempt {
        start: first_attempt(id, &key, "slack.send-message", "{\"text\":\"hi\"}", now),
        status: AttemptStatus::Succeeded,
        output: Some("{\"data\":{\"ts\":\"1.2\"},\"metadata\":{}}"),
        error: None,
        report: Some("{\"fuel_used\":120000,\"billing_class\":\"light\"}"),
        retry_at: None,
        now: now + 1,
        usage: metered.then_some(Metered {
            owner: "ann",
            integration: "slack",
            class: "light",
            compute_units: 120_000,
            price: Price {
                free_per_month: 20,
                charge_mills: 50,
                developer_mills: 35,
            },
        }),
    };
    let runs = store.runs();
    let started = Instant::now();
    let done = runs
        .finish_attempt(&finish, RunUpdate::Continue { next_step: 1 }, "bench")
        .await
        .expect("commit");
    let took = started.elapsed();
    assert!(done, "the commit holds the lease");
    took
}

#[tokio::main]
async fn main() {
    println!("step commit with and without the usage record ({COMMITS} commits each, interleaved)");
    println!(
        "{:<12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "store", "plain p50", "plain p99", "billed p50", "billed p99", "added p50"
    );
    for t in test_stores().await {
        let now = workway_store::clock::now_ms();
        let (mut plain, mut billed) = (Vec::new(), Vec::new());
        for i in 0..COMMITS + COMMITS / 10 {
            let p = one_commit(&t.store, &format!("p{i}"), false, now).await;
            let b = one_commit(&t.store, &format!("b{i}"), true, now).await;
            if i >= COMMITS / 10 {
                plain.push(p);
                billed.push(b);
            }
        }
        let (p, b) = (spread(plain), spread(billed));
        println!(
            "{:<12} {:>10.1}µs {:>10.1}µs {:>10.1}µs {:>10.1}µs {:>10.1}µs",
            t.label,
            p.median,
            p.p99,
            b.median,
            b.p99,
            b.median - p.median
        );
        t.cleanup().await;
    }
}
