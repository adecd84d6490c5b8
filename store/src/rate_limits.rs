//! The `rate_limits` table: fixed-window request counters shared by every
//! host, so a limit holds however many hosts serve the requests.

use crate::{Store, StoreError};

/// The queries on the `rate_limits` table.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits<'s> {
    store: &'s Store,
}

impl Store {
    /// The `rate_limits` table.
    pub fn rate_limits(&self) -> RateLimits<'_> {
        RateLimits { store: self }
    }
}

impl RateLimits<'_> {
    /// Count one hit in `bucket`'s window starting at `window_start` and
    /// return the window's hits including this one. One upsert statement,
    /// so concurrent hits on several hosts are all counted and each sees a
    /// different count.
    ///
    /// The commit does not wait for the disk (the store's relaxed pool):
    /// this is a write per request, and a count lost in a power cut only
    /// lets a few more requests through in that window.
    pub async fn hit(&self, bucket: &str, window_start: i64) -> Result<i64, StoreError> {
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 \
             RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(self.store.relaxed_pool())
        .await?;
        Ok(hits)
    }

    /// The hits so far in that window (0 when none).
    pub async fn hits(&self, bucket: &str, window_start: i64) -> Result<i64, StoreError> {
        let hits: Option<i64> = sqlx::query_scalar(
            "SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(hits.unwrap_or(0))
    }

    /// Forget windows that started before `before`. How many rows.
    pub async fn purge(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(before)
            .execute(self.store.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
