//! The marketplace's computed figures per integration name (migration
//! 0015): `integration_stats`, the installs and ratings kept exact in the
//! transactions of [`crate::installations`] and [`crate::ratings`], and
//! `integration_usage_daily`, the executions the roll-up counts per UTC day
//! from the finished step attempts after `usage_rollup_cursor`.
//!
//! The store keeps the rows and moves the cursor; what a latency bucket
//! means, how a batch is summed up and when the roll-up runs is the
//! engine's business (`workway_engine::marketplace::figures`).

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::{Store, StoreError};

/// The installs and ratings of one integration name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegrationStats {
    /// The integration's name.
    pub integration: String,
    /// How many accounts have it installed now.
    pub installs_current: i64,
    /// How many installs were ever made (re-installs in place excluded).
    pub installs_total: i64,
    /// How many reviews that are not hidden rate it.
    pub rating_count: i64,
    /// The sum of their ratings.
    pub rating_sum: i64,
    /// `stars[n - 1]` is how many of them gave `n` stars.
    pub stars: [i64; 5],
    /// When the row last changed (Unix ms; 0 when the upgrade made it).
    pub updated_at: i64,
}

/// The executions of one integration on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageDay {
    /// The integration's name.
    pub integration: String,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// How many attempts finished (succeeded or failed).
    pub executions: i64,
    /// How many of them succeeded.
    pub successes: i64,
    /// Their latencies: bucket number (the engine's) -> how many; only
    /// non-empty buckets.
    pub latency: BTreeMap<u32, i64>,
}

impl UsageDay {
    /// Add `other`'s counts and histogram to this day's.
    pub fn merge(&mut self, other: &UsageDay) {
        self.executions += other.executions;
        self.successes += other.successes;
        for (&bucket, &count) in &other.latency {
            *self.latency.entry(bucket).or_insert(0) += count;
        }
    }
}

/// A position in the order the roll-up reads attempts: (`finished_at`,
/// `run_id`, `step_index`, `attempt`). Every attempt at or before it is
/// counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupCursor {
    /// When the attempt finished (Unix ms).
    pub finished_at: i64,
    /// Its run.
    pub run_id: String,
    /// Its step.
    pub step_index: i64,
    /// Its attempt number.
    pub attempt: i64,
}

/// A finished step attempt, as the roll-up reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    /// Its run.
    pub run_id: String,
    /// Its step.
    pub step_index: i64,
    /// Its attempt number.
    pub attempt: i64,
    /// The action it called, `<integration>.<action>`.
    pub action: String,
    /// Whether it succeeded (else it failed).
    pub succeeded: bool,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// When it finished (Unix ms).
    pub finished_at: i64,
}

impl FinishedAttempt {
    /// The cursor that stands on this attempt.
    pub fn cursor(&self) -> RollupCursor {
        RollupCursor {
            finished_at: self.finished_at,
            run_id: self.run_id.clone(),
            step_index: self.step_index,
            attempt: self.attempt,
        }
    }
}

/// The queries on the figures' tables.
#[derive(Debug, Clone, Copy)]
pub struct Usage<'s> {
    store: &'s Store,
}

impl Store {
    /// The marketplace figures' tables.
    pub fn usage(&self) -> Usage<'_> {
        Usage { store: self }
    }
}

const STATS_COLUMNS: &str = "integration, installs_current, installs_total, rating_count, \
     rating_sum, stars_1, stars_2, stars_3, stars_4, stars_5, updated_at";

/// The most rows one bulk `INSERT` carries (well under both databases'
/// limit on bound values).
const BULK_ROWS: usize = 500;

fn decode_stats(row: &AnyRow) -> Result<IntegrationStats, StoreError> {
    Ok(IntegrationStats {
        integration: row.try_get("integration")?,
        installs_current: row.try_get("installs_current")?,
        installs_total: row.try_get("installs_total")?,
        rating_count: row.try_get("rating_count")?,
        rating_sum: row.try_get("rating_sum")?,
        stars: [
            row.try_get("stars_1")?,
            row.try_get("stars_2")?,
            row.try_get("stars_3")?,
            row.try_get("stars_4")?,
            row.try_get("stars_5")?,
        ],
        updated_at: row.try_get("updated_at")?,
    })
}

fn decode_histogram(text: &str) -> Result<BTreeMap<u32, i64>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Damaged {
        what: "latency histogram",
        value: text.chars().take(80).collect(),
    })
}

fn encode_histogram(histogram: &BTreeMap<u32, i64>) -> Result<String, StoreError> {
    serde_json::to_string(histogram)
        .map_err(|e| StoreError::Conflict(format!("cannot encode a latency histogram: {e}")))
}

fn decode_day(row: &AnyRow) -> Result<UsageDay, StoreError> {
    let buckets: String = row.try_get("latency_buckets")?;
    Ok(UsageDay {
        integration: row.try_get("integration")?,
        day: row.try_get("day")?,
        executions: row.try_get("executions")?,
        successes: row.try_get("successes")?,
        latency: decode_histogram(&buckets)?,
    })
}

/// In a transaction that installs: count a fresh install of `integration`.
pub(crate) async fn count_install(
    conn: &mut AnyConnection,
    integration: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO integration_stats (integration, installs_current, installs_total, \
         updated_at) VALUES ($1, 1, 1, $2) ON CONFLICT (integration) DO UPDATE SET \
         installs_current = integration_stats.installs_current + 1, \
         installs_total = integration_stats.installs_total + 1, updated_at = excluded.updated_at",
    )
    .bind(integration)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// In a transaction that uninstalls: count one install of `integration`
/// fewer.
pub(crate) async fn count_uninstall(
    conn: &mut AnyConnection,
    integration: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE integration_stats SET installs_current = installs_current - 1, \
         updated_at = $2 WHERE integration = $1",
    )
    .bind(integration)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// First in a transaction that writes `integration`'s reviews: make sure
/// its stats row exists and lock it, so concurrent review writes of one
/// integration recount one after the other (on PostgreSQL the second
/// waits here and its recount then sees the first one's review).
pub(crate) async fn lock_stats(
    conn: &mut AnyConnection,
    integration: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO integration_stats (integration, updated_at) VALUES ($1, $2) \
         ON CONFLICT (integration) DO UPDATE SET updated_at = excluded.updated_at",
    )
    .bind(integration)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The count and per-star histogram of `integration`'s reviews that are
/// not hidden, read on `conn`.
pub(crate) async fn rating_histogram(
    conn: &mut AnyConnection,
    integration: &str,
) -> Result<[i64; 5], StoreError> {
    let rows = sqlx::query(
        "SELECT rating, COUNT(*) AS n FROM integration_reviews \
         WHERE integration = $1 AND hidden_at IS NULL GROUP BY rating",
    )
    .bind(integration)
    .fetch_all(conn)
    .await?;
    let mut histogram = [0; 5];
    for row in rows {
        let rating: i64 = row.try_get("rating")?;
        let n: i64 = row.try_get("n")?;
        let slot = usize::try_from(rating - 1)
            .ok()
            .and_then(|i| histogram.get_mut(i))
            .ok_or_else(|| StoreError::Damaged {
                what: "review rating",
                value: rating.to_string(),
            })?;
        *slot += n;
    }
    Ok(histogram)
}

/// In a transaction that wrote `integration`'s reviews (after
/// [`lock_stats`]): recount its rating figures from the reviews.
pub(crate) async fn recount_ratings(
    conn: &mut AnyConnection,
    integration: &str,
    now: i64,
) -> Result<(), StoreError> {
    let stars = rating_histogram(&mut *conn, integration).await?;
    let count: i64 = stars.iter().sum();
    let sum: i64 = stars.iter().zip(1..).map(|(n, s)| n * s).sum();
    sqlx::query(
        "UPDATE integration_stats SET rating_count = $2, rating_sum = $3, stars_1 = $4, \
         stars_2 = $5, stars_3 = $6, stars_4 = $7, stars_5 = $8, updated_at = $9 \
         WHERE integration = $1",
    )
    .bind(integration)
    .bind(count)
    .bind(sum)
    .bind(stars[0])
    .bind(stars[1])
    .bind(stars[2])
    .bind(stars[3])
    .bind(stars[4])
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl Usage<'_> {
    /// `integration`'s installs and ratings (one row by primary key);
    /// `None` when nobody ever installed or rated it.
    pub async fn stats(&self, integration: &str) -> Result<Option<IntegrationStats>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {STATS_COLUMNS} FROM integration_stats WHERE integration = $1"
        ))
        .bind(integration)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode_stats).transpose()
    }

    /// `integration`'s installs and ratings counted from the tables
    /// themselves (its installations and its reviews that are not
    /// hidden), for checking the kept figures; `installs_total` is not
    /// known from the tables and is left at `installs_current`.
    pub async fn recount(&self, integration: &str) -> Result<IntegrationStats, StoreError> {
        let installs: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM installations WHERE integration = $1")
                .bind(integration)
                .fetch_one(self.store.pool())
                .await?;
        let mut conn = self.store.pool().acquire().await?;
        let stars = rating_histogram(&mut conn, integration).await?;
        Ok(IntegrationStats {
            integration: integration.to_string(),
            installs_current: installs,
            installs_total: installs,
            rating_count: stars.iter().sum(),
            rating_sum: stars.iter().zip(1..).map(|(n, s)| n * s).sum(),
            stars,
            updated_at: 0,
        })
    }

    /// `integration`'s days from `first_day` to `last_day` (both
    /// included), oldest first: one range of the primary key.
    pub async fn days(
        &self,
        integration: &str,
        first_day: i64,
        last_day: i64,
    ) -> Result<Vec<UsageDay>, StoreError> {
        let rows = sqlx::query(
            "SELECT integration, day, executions, successes, latency_buckets \
             FROM integration_usage_daily WHERE integration = $1 AND day >= $2 AND day <= $3 \
             ORDER BY day",
        )
        .bind(integration)
        .bind(first_day)
        .bind(last_day)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_day).collect()
    }

    /// How far the roll-up has read.
    pub async fn cursor(&self) -> Result<RollupCursor, StoreError> {
        let row = sqlx::query(
            "SELECT finished_at, run_id, step_index, attempt FROM usage_rollup_cursor \
             WHERE id = 1",
        )
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| StoreError::Damaged {
            what: "usage roll-up cursor",
            value: "missing".into(),
        })?;
        Ok(RollupCursor {
            finished_at: row.try_get("finished_at")?,
            run_id: row.try_get("run_id")?,
            step_index: row.try_get("step_index")?,
            attempt: row.try_get("attempt")?,
        })
    }

    /// At most `limit` attempts that succeeded or failed after `after`
    /// and finished before `finished_before` (Unix ms), in the roll-up's
    /// order: one range of the `step_attempts_by_finish` index.
    pub async fn finished_attempts(
        &self,
        after: &RollupCursor,
        finished_before: i64,
        limit: i64,
    ) -> Result<Vec<FinishedAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT run_id, step_index, attempt, action, status, started_at, finished_at \
             FROM step_attempts \
             WHERE finished_at >= $1 AND finished_at < $5 \
             AND (finished_at > $1 OR run_id > $2 OR (run_id = $2 AND (step_index > $3 \
             OR (step_index = $3 AND attempt > $4)))) \
             AND status IN ('succeeded', 'failed') \
             ORDER BY finished_at, run_id, step_index, attempt LIMIT $6",
        )
        .bind(after.finished_at)
        .bind(&after.run_id)
        .bind(after.step_index)
        .bind(after.attempt)
        .bind(finished_before)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(FinishedAttempt {
                    run_id: row.try_get("run_id")?,
                    step_index: row.try_get("step_index")?,
                    attempt: row.try_get("attempt")?,
                    action: row.try_get("action")?,
                    succeeded: status == "succeeded",
                    started_at: row.try_get("started_at")?,
                    finished_at: row.try_get("finished_at")?,
                })
            })
            .collect()
    }

    /// Add `days` (the sums of the attempts after `from` up to `to`) to
    /// the stored days, merging counts and histograms, and move the cursor
    /// from `from` to `to`, in one transaction. The cursor moves only if
    /// it still stands at `from`: when another process rolled these
    /// attempts up meanwhile nothing is written and the answer is `false`,
    /// so no attempt is ever counted twice (or, a crash rolling back the
    /// whole transaction, never).
    pub async fn add_days(
        &self,
        from: &RollupCursor,
        to: &RollupCursor,
        days: &[UsageDay],
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let moved = sqlx::query(
            "UPDATE usage_rollup_cursor SET finished_at = $5, run_id = $6, step_index = $7, \
             attempt = $8 WHERE id = 1 AND finished_at = $1 AND run_id = $2 \
             AND step_index = $3 AND attempt = $4",
        )
        .bind(from.finished_at)
        .bind(&from.run_id)
        .bind(from.step_index)
        .bind(from.attempt)
        .bind(to.finished_at)
        .bind(&to.run_id)
        .bind(to.step_index)
        .bind(to.attempt)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for day in days {
            let stored = sqlx::query(
                "SELECT integration, day, executions, successes, latency_buckets \
                 FROM integration_usage_daily WHERE integration = $1 AND day = $2",
            )
            .bind(&day.integration)
            .bind(day.day)
            .fetch_optional(&mut *tx)
            .await?;
            let merged = match stored {
                Some(row) => {
                    let mut merged = decode_day(&row)?;
                    merged.merge(day);
                    merged
                }
                None => day.clone(),
            };
            upsert_day(&mut tx, &merged).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Write `days` as given (replacing any stored row of the same
    /// integration and day), many rows per statement in one transaction:
    /// for loading a benchmark's or an import's figures quickly. The
    /// roll-up's cursor is left alone.
    pub async fn put_days(&self, days: &[UsageDay]) -> Result<(), StoreError> {
        let mut tx = self.store.pool().begin().await?;
        for chunk in days.chunks(BULK_ROWS) {
            let values = placeholders(chunk.len(), 5);
            let sql = format!(
                "INSERT INTO integration_usage_daily (integration, day, executions, successes, \
                 latency_buckets) VALUES {values} ON CONFLICT (integration, day) DO UPDATE SET \
                 executions = excluded.executions, successes = excluded.successes, \
                 latency_buckets = excluded.latency_buckets"
            );
            let mut query = sqlx::query(&sql);
            for day in chunk {
                query = query
                    .bind(&day.integration)
                    .bind(day.day)
                    .bind(day.executions)
                    .bind(day.successes)
                    .bind(encode_histogram(&day.latency)?);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Write `stats` as given (replacing any stored row of the same
    /// integration), many rows per statement in one transaction: for
    /// loading a benchmark's figures quickly. Installs and reviews written
    /// later move these figures from there.
    pub async fn put_stats(&self, stats: &[IntegrationStats]) -> Result<(), StoreError> {
        let mut tx = self.store.pool().begin().await?;
        for chunk in stats.chunks(BULK_ROWS) {
            let values = placeholders(chunk.len(), 11);
            let sql = format!(
                "INSERT INTO integration_stats ({STATS_COLUMNS}) VALUES {values} \
                 ON CONFLICT (integration) DO UPDATE SET \
                 installs_current = excluded.installs_current, \
                 installs_total = excluded.installs_total, rating_count = excluded.rating_count, \
                 rating_sum = excluded.rating_sum, stars_1 = excluded.stars_1, \
                 stars_2 = excluded.stars_2, stars_3 = excluded.stars_3, \
                 stars_4 = excluded.stars_4, stars_5 = excluded.stars_5, \
                 updated_at = excluded.updated_at"
            );
            let mut query = sqlx::query(&sql);
            for s in chunk {
                query = query
                    .bind(&s.integration)
                    .bind(s.installs_current)
                    .bind(s.installs_total)
                    .bind(s.rating_count)
                    .bind(s.rating_sum);
                for n in s.stars {
                    query = query.bind(n);
                }
                query = query.bind(s.updated_at);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Store one day's row as given.
async fn upsert_day(conn: &mut AnyConnection, day: &UsageDay) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO integration_usage_daily (integration, day, executions, successes, \
         latency_buckets) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (integration, day) DO UPDATE \
         SET executions = excluded.executions, successes = excluded.successes, \
         latency_buckets = excluded.latency_buckets",
    )
    .bind(&day.integration)
    .bind(day.day)
    .bind(day.executions)
    .bind(day.successes)
    .bind(encode_histogram(&day.latency)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// `($1, $2, ...), (...)`: `rows` groups of `columns` numbered placeholders.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let group: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", group.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_by_row() {
        assert_eq!(placeholders(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn merging_days_adds_counts_and_buckets() {
        let mut a = UsageDay {
            executions: 2,
            successes: 1,
            latency: BTreeMap::from([(3, 1), (5, 1)]),
            ..UsageDay::default()
        };
        let b = UsageDay {
            executions: 3,
            successes: 3,
            latency: BTreeMap::from([(5, 2), (9, 1)]),
            ..UsageDay::default()
        };
        a.merge(&b);
        assert_eq!((a.executions, a.successes), (5, 4));
        assert_eq!(a.latency, BTreeMap::from([(3, 1), (5, 3), (9, 1)]));
    }

    #[test]
    fn histograms_round_trip_and_damage_is_reported() {
        let h = BTreeMap::from([(0, 4), (57, 2)]);
        let text = encode_histogram(&h).expect("encoded");
        assert_eq!(text, r#"{"0":4,"57":2}"#);
        assert_eq!(decode_histogram(&text).expect("decoded"), h);
        assert!(matches!(
            decode_histogram("[1]"),
            Err(StoreError::Damaged { .. })
        ));
    }
}
