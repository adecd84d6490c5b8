//! Reading how the runs went, on the benchmark's own connection (straight
//! to the server, not through the counting proxy): how many are finished,
//! how they ended, how many attempts the steps took, and the times of the
//! fairness scenario's runs.

use sqlx::PgPool;

/// Statuses of a finished run.
const FINISHED: &str = "('succeeded', 'failed', 'cancelled', 'refused')";

/// A read-only view of one scene's database.
pub struct Watch {
    pool: PgPool,
}

/// How the runs of a database ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    /// Runs that succeeded.
    pub succeeded: i64,
    /// Step attempts recorded.
    pub attempts: i64,
    /// Step attempts that succeeded.
    pub attempts_succeeded: i64,
    /// When the first run was first claimed (Unix ms).
    pub first_started: i64,
    /// When the last run finished (Unix ms).
    pub last_finished: i64,
}

/// One run's times (Unix ms).
#[derive(Debug, Clone)]
pub struct RunTimes {
    /// Queued.
    pub created: i64,
    /// First claimed, if it was.
    pub started: Option<i64>,
    /// Finished, if it did.
    pub finished: Option<i64>,
    /// Its status.
    pub status: String,
}

impl Watch {
    /// Connect to the database at `url` (the test store's URL, which
    /// names the scene's schema).
    pub async fn connect(url: &str) -> Watch {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(url)
            .await
            .expect("the benchmark reaches its database");
        Watch { pool }
    }

    /// How many runs are finished.
    pub async fn finished(&self) -> i64 {
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM runs WHERE status IN {FINISHED}"
        ))
        .fetch_one(&self.pool)
        .await
        .expect("runs are readable")
    }

    /// How many of `owner`'s runs are finished.
    pub async fn finished_of(&self, owner: &str) -> i64 {
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM runs WHERE owner = $1 AND status IN {FINISHED}"
        ))
        .bind(owner)
        .fetch_one(&self.pool)
        .await
        .expect("runs are readable")
    }

    /// How every run and attempt ended.
    pub async fn outcome(&self) -> Outcome {
        let (succeeded, first_started, last_finished): (i64, Option<i64>, Option<i64>) =
            sqlx::query_as(
                "SELECT COUNT(*) FILTER (WHERE status = 'succeeded'), \
                 MIN(started_at), MAX(finished_at) FROM runs",
            )
            .fetch_one(&self.pool)
            .await
            .expect("runs are readable");
        let (attempts, attempts_succeeded): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'succeeded') FROM step_attempts",
        )
        .fetch_one(&self.pool)
        .await
        .expect("attempts are readable");
        Outcome {
            succeeded,
            attempts,
            attempts_succeeded,
            first_started: first_started.unwrap_or(0),
            last_finished: last_finished.unwrap_or(0),
        }
    }

    /// Why runs and attempts failed: each distinct error with how many
    /// times it was recorded, most frequent first (at most `limit` of
    /// each).
    pub async fn errors(&self, limit: i64) -> Vec<String> {
        let mut found = Vec::new();
        for (what, table, failed) in [
            ("run", "runs", "('failed', 'cancelled', 'refused')"),
            ("attempt", "step_attempts", "('failed')"),
        ] {
            let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(&format!(
                "SELECT status, error, COUNT(*) FROM {table} WHERE status IN {failed} \
                 GROUP BY status, error ORDER BY COUNT(*) DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .expect("errors are readable");
            found.extend(rows.into_iter().map(|(status, error, n)| {
                format!("{n} {what}(s) {status}: {}", error.unwrap_or_default())
            }));
        }
        found
    }

    /// Run `id`'s times.
    pub async fn times(&self, id: &str) -> RunTimes {
        let (created, started, finished, status): (i64, Option<i64>, Option<i64>, String) =
            sqlx::query_as(
                "SELECT created_at, started_at, finished_at, status FROM runs WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("the run is readable");
        RunTimes {
            created,
            started,
            finished,
            status,
        }
    }

    /// Of `owner`'s runs: how many were first claimed in `(from, to]`, how
    /// many finished in it, and how many were still unclaimed at `to`
    /// (Unix ms).
    pub async fn between(&self, owner: &str, from: i64, to: i64) -> (i64, i64, i64) {
        sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE started_at > $2 AND started_at <= $3), \
             COUNT(*) FILTER (WHERE finished_at > $2 AND finished_at <= $3), \
             COUNT(*) FILTER (WHERE started_at IS NULL OR started_at > $3) \
             FROM runs WHERE owner = $1",
        )
        .bind(owner)
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await
        .expect("runs are readable")
    }

    /// Close the connections (before the scene's schema is dropped).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
