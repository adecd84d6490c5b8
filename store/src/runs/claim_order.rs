//! The claim against a plain reading of its rule: number every claimable
//! run of each owner oldest first, keep those within the owner's bound,
//! take them in turns. The statement reads only the oldest few of each
//! owner's queue; on queues of every shape it must pick the same runs.

use std::collections::{BTreeMap, BTreeSet};

use crate::testing::{TestStore, test_stores};

/// One run of a generated queue.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    owner: String,
    status: &'static str,
    not_before: i64,
    created_at: i64,
    lease_until: Option<i64>,
}

/// A small deterministic generator (xorshift), so a failing queue can be
/// rebuilt from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

const NOW: i64 = 10_000;

/// A queue from `seed`: up to 5 owners, each with up to 40 runs in every
/// state, due and not yet due, leases live and expired, with ties in time.
fn queue(seed: u64) -> Vec<Row> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut rows = Vec::new();
    for owner in 0..1 + rng.below(5) {
        for n in 0..rng.below(41) {
            let status = ["queued", "queued", "waiting", "running", "succeeded"]
                [usize::try_from(rng.below(5)).unwrap_or(0)];
            let lease_until =
                (status == "running").then(|| NOW - 50 + 100 * i64::from(rng.below(2) == 0));
            rows.push(Row {
                id: format!("r{owner}-{n:02}"),
                owner: format!("owner-{owner}"),
                status,
                // Some ahead of now (not due), many equal (ties).
                not_before: NOW - 40 + 10 * i64::try_from(rng.below(6)).unwrap_or(0),
                created_at: i64::try_from(rng.below(8)).unwrap_or(0),
                lease_until,
            });
        }
    }
    rows
}

/// What the claim's rule picks from `rows`: at most `limit` ids.
fn expected(rows: &[Row], limit: i64, per_owner: Option<i64>) -> BTreeSet<String> {
    let mut live: BTreeMap<&str, i64> = BTreeMap::new();
    let mut claimable: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        match (r.status, r.lease_until) {
            ("running", Some(until)) if until >= NOW => *live.entry(&r.owner).or_default() += 1,
            ("running", Some(_)) => claimable.entry(&r.owner).or_default().push(r),
            ("queued" | "waiting", _) if r.not_before <= NOW => {
                claimable.entry(&r.owner).or_default().push(r);
            }
            _ => {}
        }
    }
    let bound = per_owner.unwrap_or(i64::MAX);
    let mut numbered = Vec::new();
    for (owner, mut runs) in claimable {
        runs.sort_by(|a, b| {
            (a.not_before, a.created_at, &a.id).cmp(&(b.not_before, b.created_at, &b.id))
        });
        let running = live.get(owner).copied().unwrap_or(0);
        for (i, r) in runs.into_iter().enumerate() {
            let nth = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if nth + running <= bound {
                numbered.push((nth, r.not_before, r.created_at, r.id.clone()));
            }
        }
    }
    numbered.sort();
    numbered
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|(_, _, _, id)| id)
        .collect()
}

async fn store_queue(t: &TestStore, rows: &[Row]) {
    let pool = t.store.pool();
    sqlx::query("DELETE FROM runs")
        .execute(pool)
        .await
        .expect("emptied");
    for r in rows {
        sqlx::query(
            "INSERT INTO runs (id, workflow_id, workflow_version, owner, trigger_kind, \
             trigger_data, pins, status, next_step, not_before, lease_owner, lease_until, \
             created_at, updated_at) \
             VALUES ($1, 'w1', 1, $2, 'manual', '{}', '{}', $3, 0, $4, $5, $6, $7, $7)",
        )
        .bind(&r.id)
        .bind(&r.owner)
        .bind(r.status)
        .bind(r.not_before)
        .bind(r.lease_until.map(|_| "another-host"))
        .bind(r.lease_until)
        .bind(r.created_at)
        .execute(pool)
        .await
        .expect("a run");
    }
}

#[tokio::test]
async fn a_claim_picks_what_numbering_every_claimable_run_would() {
    for t in test_stores().await {
        for seed in 1..=40u64 {
            let rows = queue(seed);
            let mut rng = Rng(seed | 1);
            let limit = 1 + i64::try_from(rng.below(12)).unwrap_or(0);
            let per_owner =
                (rng.below(3) > 0).then(|| 1 + i64::try_from(rng.below(6)).unwrap_or(0));
            store_queue(&t, &rows).await;
            let claimed: BTreeSet<String> = t
                .store
                .runs()
                .claim("claimer", 60_000, NOW, limit, per_owner)
                .await
                .expect("claimed")
                .into_iter()
                .map(|run| run.id)
                .collect();
            assert_eq!(
                claimed,
                expected(&rows, limit, per_owner),
                "{} seed {seed}: limit {limit}, per owner {per_owner:?}, queue {rows:?}",
                t.label
            );
        }
        t.cleanup().await;
    }
}
