//! What claiming runs costs as the queue grows: one owner's backlog of
//! 100, 1,000 and 10,000 queued runs beside three other owners' one run
//! each, on each store; a claim of 8 runs (at most 64 running per owner,
//! as the executor asks) timed, the claimed runs given back, 200 times
//! per depth. A claim reads each waiting owner's oldest few runs through
//! `runs_queue`, so its time should stay flat as the backlog grows. The
//! tables are analysed after each load, as autovacuum would: PostgreSQL
//! otherwise keeps the generic plan it made for the nearly empty table
//! (scans that cost nothing there) until it analyses them.
//!
//! `scripts/bench.sh claims`.

use std::time::{Duration, Instant};

use workway_bench::timing::spread;
use workway_store::Store;
use workway_store::testing::{queued_run, test_stores};

/// Claims timed per depth and store.
const CLAIMS: usize = 200;

/// The backlog's depths, in order (each adds to the one before).
const DEPTHS: [usize; 3] = [100, 1_000, 10_000];

const HOLDER: &str = "bench-claimer";

async fn queue(store: &Store, owner: &str, from: usize, to: usize) {
    for i in from..to {
        let now = 1_000 + i64::try_from(i).unwrap_or(0);
        queued_run(store, &format!("{owner}-{i:05}"), owner, now).await;
    }
}

/// `CLAIMS` claims of 8 runs, each given back before the next: their times.
async fn claims(store: &Store) -> Vec<Duration> {
    let runs = store.runs();
    let now = 100_000_000;
    let mut times = Vec::with_capacity(CLAIMS);
    for _ in 0..CLAIMS {
        let started = Instant::now();
        let claimed = runs
            .claim(HOLDER, 60_000, now, 8, Some(64))
            .await
            .expect("claimed");
        times.push(started.elapsed());
        assert_eq!(claimed.len(), 8, "the backlog and the three other owners");
        for run in &claimed {
            runs.release(&run.id, HOLDER, now)
                .await
                .expect("given back");
        }
    }
    times
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        println!("\nClaiming 8 runs with one owner's backlog queued (µs)\n");
        println!("| store      | backlog | p50     | p99     |");
        println!("|------------|--------:|--------:|--------:|");
        for t in test_stores().await {
            for other in ["ann", "bob", "cy"] {
                queue(&t.store, other, 0, 1).await;
            }
            let mut queued = 0;
            for depth in DEPTHS {
                queue(&t.store, "backlog", queued, depth).await;
                queued = depth;
                t.analyze().await;
                let s = spread(claims(&t.store).await);
                println!(
                    "| {:<10} | {:>7} | {:>7.0} | {:>7.0} |",
                    t.label, depth, s.median, s.p99
                );
            }
            t.cleanup().await;
        }
    });
}
