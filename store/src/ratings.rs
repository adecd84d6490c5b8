//! The `integration_reviews` table: users' ratings (1 to 5) and written
//! reviews of integrations, one per user per integration, the publisher's
//! one reply to each, and the flag an admin sets to hide an abusive one.
//!
//! Called `ratings` in the code so it is not confused with the review of
//! submissions ([`crate::submissions`]); the table keeps the seed's name.
//! Who may write what is the engine's business; this module stores rows,
//! lists them a page at a time, sums them up, and answers whether a user
//! has run an integration.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// What [`Ratings::delete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The review is gone.
    Deleted,
    /// The author has no review of the integration.
    NotFound,
    /// An admin hid it: kept, not deleted.
    Hidden,
}

/// A stored review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    /// The review's id.
    pub id: String,
    /// The integration's name.
    pub integration: String,
    /// The account that wrote it.
    pub author: String,
    /// The author's display name (`None` when the account is gone).
    pub author_name: Option<String>,
    /// From 1 to 5.
    pub rating: i64,
    /// Its title, if it has one.
    pub title: Option<String>,
    /// What the author wrote (may be empty: a rating alone).
    pub body: String,
    /// When it was first written (Unix ms).
    pub created_at: i64,
    /// When it was last edited (Unix ms).
    pub updated_at: i64,
    /// The publisher's reply, if there is one.
    pub reply: Option<Reply>,
    /// Why and by whom it is hidden, if it is.
    pub hidden: Option<Hidden>,
}

/// The publisher's reply to a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What the publisher wrote.
    pub body: String,
    /// The account that replied.
    pub by: String,
    /// When (Unix ms).
    pub at: i64,
}

/// An admin's hiding of a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// The admin's account.
    pub by: String,
    /// When (Unix ms).
    pub at: i64,
    /// Why.
    pub reason: String,
}

/// A review to write (or the new text of the author's existing one).
#[derive(Debug, Clone)]
pub struct NewReview<'a> {
    /// The id, used only when `author` has not reviewed `integration` yet.
    pub id: &'a str,
    /// The integration's name.
    pub integration: &'a str,
    /// The author's account.
    pub author: &'a str,
    /// From 1 to 5 (the table refuses anything else).
    pub rating: i64,
    /// The title, if any.
    pub title: Option<&'a str>,
    /// The text.
    pub body: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// Which reviews a listing shows.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// Everyone's visible reviews, and this account's own even if hidden.
    Account(&'a str),
    /// Every review, hidden ones included (an admin).
    Everything,
}

/// The visible ratings of one integration, summed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// How many visible reviews there are.
    pub count: i64,
    /// `histogram[n - 1]` is how many gave `n` stars.
    pub histogram: [i64; 5],
}

impl Summary {
    /// The sum of every visible rating.
    pub fn sum(&self) -> i64 {
        self.histogram
            .iter()
            .zip(1..)
            .map(|(count, stars)| count * stars)
            .sum()
    }

    /// The average rating in hundredths (425 is 4.25), rounded half up;
    /// `None` with no ratings. Integer arithmetic, so SQLite and
    /// PostgreSQL (and every client) agree to the last digit.
    pub fn average_hundredths(&self) -> Option<i64> {
        (self.count > 0).then(|| (self.sum() * 200 + self.count) / (2 * self.count))
    }
}

/// The queries on the `integration_reviews` table.
#[derive(Debug, Clone, Copy)]
pub struct Ratings<'s> {
    store: &'s Store,
}

impl Store {
    /// The `integration_reviews` table.
    pub fn ratings(&self) -> Ratings<'_> {
        Ratings { store: self }
    }
}

/// The columns [`decode`] reads, the author's display name joined in
/// (`r` is the review, `a` the account).
const COLUMNS: &str = "r.id, r.integration, r.author, a.display_name AS author_name, r.rating, \
     r.title, r.body, r.created_at, r.updated_at, r.reply_body, r.reply_by, r.reply_at, \
     r.hidden_at, r.hidden_by, r.hidden_reason";

/// The table with its authors.
const FROM: &str = "integration_reviews r LEFT JOIN accounts a ON a.id = r.author";

fn decode(row: &AnyRow) -> Result<ReviewRow, StoreError> {
    let reply_body: Option<String> = row.try_get("reply_body")?;
    let reply_by: Option<String> = row.try_get("reply_by")?;
    let reply_at: Option<i64> = row.try_get("reply_at")?;
    let hidden_at: Option<i64> = row.try_get("hidden_at")?;
    let hidden_by: Option<String> = row.try_get("hidden_by")?;
    let hidden_reason: Option<String> = row.try_get("hidden_reason")?;
    Ok(ReviewRow {
        id: row.try_get("id")?,
        integration: row.try_get("integration")?,
        author: row.try_get("author")?,
        author_name: row.try_get("author_name")?,
        rating: row.try_get("rating")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        reply: match (reply_body, reply_by, reply_at) {
            (Some(body), Some(by), Some(at)) => Some(Reply { body, by, at }),
            _ => None,
        },
        hidden: match (hidden_at, hidden_by, hidden_reason) {
            (Some(at), Some(by), Some(reason)) => Some(Hidden { by, at, reason }),
            _ => None,
        },
    })
}

impl Ratings<'_> {
    /// Write `new.author`'s review of `new.integration`, or replace the
    /// rating, title and text of the one they wrote (its id, created_at,
    /// reply and hidden flag kept, updated_at moved). One `INSERT ... ON
    /// CONFLICT DO UPDATE`, so two racing writes leave one row; the
    /// integration's rating figures ([`crate::usage`]) are recounted in the
    /// same transaction. The stored row, and whether it is new.
    pub async fn upsert(&self, new: &NewReview<'_>) -> Result<(ReviewRow, bool), StoreError> {
        let mut tx = self.store.pool().begin().await?;
        crate::usage::lock_stats(&mut tx, new.integration, new.now).await?;
        let id: String = sqlx::query_scalar(
            "INSERT INTO integration_reviews (id, integration, author, rating, title, body, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (integration, author) DO UPDATE SET rating = excluded.rating, \
             title = excluded.title, body = excluded.body, updated_at = excluded.updated_at \
             RETURNING id",
        )
        .bind(new.id)
        .bind(new.integration)
        .bind(new.author)
        .bind(new.rating)
        .bind(new.title)
        .bind(new.body)
        .bind(new.now)
        .fetch_one(&mut *tx)
        .await?;
        crate::usage::recount_ratings(&mut tx, new.integration, new.now).await?;
        tx.commit().await?;
        let row = self.get(&id).await?.ok_or_else(|| {
            StoreError::Conflict(format!("review {id} was deleted as it was written"))
        })?;
        Ok((row, id == new.id))
    }

    /// The review with this id.
    pub async fn get(&self, id: &str) -> Result<Option<ReviewRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// `author`'s review of `integration`.
    pub async fn find(
        &self,
        integration: &str,
        author: &str,
    ) -> Result<Option<ReviewRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE r.integration = $1 AND r.author = $2"
        ))
        .bind(integration)
        .bind(author)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Delete `author`'s review of `integration` (its reply with it),
    /// unless an admin hid it
    /// (a hidden review is kept for moderation: deleting it and writing a
    /// new one would shed the flag), recounting the integration's rating
    /// figures in the same transaction.
    pub async fn delete(&self, integration: &str, author: &str) -> Result<Deleted, StoreError> {
        let now = crate::clock::now_ms();
        let mut tx = self.store.pool().begin().await?;
        crate::usage::lock_stats(&mut tx, integration, now).await?;
        let done = sqlx::query(
            "DELETE FROM integration_reviews \
             WHERE integration = $1 AND author = $2 AND hidden_at IS NULL",
        )
        .bind(integration)
        .bind(author)
        .execute(&mut *tx)
        .await?;
        let outcome = if done.rows_affected() == 1 {
            crate::usage::recount_ratings(&mut tx, integration, now).await?;
            Deleted::Deleted
        } else {
            let hidden: Option<i64> = sqlx::query_scalar(
                "SELECT hidden_at FROM integration_reviews WHERE integration = $1 AND author = $2",
            )
            .bind(integration)
            .bind(author)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            if hidden.is_some() {
                Deleted::Hidden
            } else {
                Deleted::NotFound
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Record the publisher's reply to review `id`, unless it has one: the
    /// UPDATE is conditional on there being no reply, so of two racing
    /// replies one wins. Whether this one was recorded.
    pub async fn reply(
        &self,
        id: &str,
        by: &str,
        body: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE integration_reviews SET reply_body = $2, reply_by = $3, reply_at = $4 \
             WHERE id = $1 AND reply_at IS NULL",
        )
        .bind(id)
        .bind(body)
        .bind(by)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Hide review `id` (`Some`: who, why) or show it again (`None`).
    /// Hiding a hidden review records the new admin, time and reason.
    /// The integration's rating figures are recounted in the same
    /// transaction. Whether the review exists.
    pub async fn set_hidden(
        &self,
        id: &str,
        hidden: Option<(&str, &str)>,
        now: i64,
    ) -> Result<bool, StoreError> {
        // A review's integration never changes, so it is read before the
        // transaction, which then starts with a write (on SQLite a read
        // first could not always be followed by a write).
        let integration: Option<String> =
            sqlx::query_scalar("SELECT integration FROM integration_reviews WHERE id = $1")
                .bind(id)
                .fetch_optional(self.store.pool())
                .await?;
        let Some(integration) = integration else {
            return Ok(false);
        };
        let mut tx = self.store.pool().begin().await?;
        crate::usage::lock_stats(&mut tx, &integration, now).await?;
        let query = match hidden {
            Some((by, reason)) => sqlx::query(
                "UPDATE integration_reviews SET hidden_at = $2, hidden_by = $3, \
                 hidden_reason = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .bind(by)
            .bind(reason),
            None => sqlx::query(
                "UPDATE integration_reviews SET hidden_at = NULL, hidden_by = NULL, \
                 hidden_reason = NULL WHERE id = $1",
            )
            .bind(id),
        };
        let done = query.execute(&mut *tx).await?;
        crate::usage::recount_ratings(&mut tx, &integration, now).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// One page of `integration`'s reviews as `viewer` sees them, newest
    /// first (by `created_at`, then id), at most `limit`, only those after
    /// `before` (the `created_at` and id of the previous page's last
    /// review) when given: a key, not an offset, so reviews written while
    /// a client pages through are neither skipped nor shown twice.
    pub async fn page(
        &self,
        integration: &str,
        viewer: Viewer<'_>,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<ReviewRow>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE r.integration = $1");
        let mut next = 2;
        if let Viewer::Account(_) = viewer {
            sql.push_str(&format!(" AND (r.hidden_at IS NULL OR r.author = ${next})"));
            next += 1;
        }
        if before.is_some() {
            sql.push_str(&format!(
                " AND (r.created_at < ${next} OR (r.created_at = ${next} AND r.id < ${}))",
                next + 1
            ));
            next += 2;
        }
        sql.push_str(&format!(
            " ORDER BY r.created_at DESC, r.id DESC LIMIT ${next}"
        ));
        let mut query = sqlx::query(&sql).bind(integration);
        if let Viewer::Account(account) = viewer {
            query = query.bind(account);
        }
        if let Some((created_at, id)) = before {
            query = query.bind(created_at).bind(id);
        }
        let rows = query.bind(limit).fetch_all(self.store.pool()).await?;
        rows.iter().map(decode).collect()
    }

    /// One page of the hidden reviews of every integration, most recently
    /// hidden first (by `hidden_at`, then id), at most `limit`, only those
    /// after `before` (the previous page's last `hidden_at` and id).
    pub async fn hidden_page(
        &self,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<ReviewRow>, StoreError> {
        let rows = match before {
            Some((hidden_at, id)) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM {FROM} WHERE r.hidden_at IS NOT NULL \
                     AND (r.hidden_at < $1 OR (r.hidden_at = $1 AND r.id < $2)) \
                     ORDER BY r.hidden_at DESC, r.id DESC LIMIT $3"
                ))
                .bind(hidden_at)
                .bind(id)
                .bind(limit)
                .fetch_all(self.store.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM {FROM} WHERE r.hidden_at IS NOT NULL \
                     ORDER BY r.hidden_at DESC, r.id DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(self.store.pool())
                .await?
            }
        };
        rows.iter().map(decode).collect()
    }

    /// The count and per-star histogram of `integration`'s reviews that
    /// are not hidden: one grouped count over the integration's rows.
    pub async fn summary(&self, integration: &str) -> Result<Summary, StoreError> {
        let rows = sqlx::query(
            "SELECT rating, COUNT(*) AS n FROM integration_reviews \
             WHERE integration = $1 AND hidden_at IS NULL GROUP BY rating",
        )
        .bind(integration)
        .fetch_all(self.store.pool())
        .await?;
        let mut summary = Summary::default();
        for row in rows {
            let rating: i64 = row.try_get("rating")?;
            let n: i64 = row.try_get("n")?;
            let slot = usize::try_from(rating - 1)
                .ok()
                .and_then(|i| summary.histogram.get_mut(i))
                .ok_or_else(|| StoreError::Damaged {
                    what: "review rating",
                    value: rating.to_string(),
                })?;
            *slot += n;
            summary.count += n;
        }
        Ok(summary)
    }

    /// Whether `owner` has run `integration`: some step attempt that
    /// called one of its actions (`<integration>.<action>`, any outcome
    /// but `skipped`, whose action was never called) in a run `owner`
    /// owns. Read through the runs-by-owner index and each run's attempts
    /// by primary key, stopping at the first one found.
    pub async fn has_run(&self, owner: &str, integration: &str) -> Result<bool, StoreError> {
        let prefix = format!("{integration}.");
        let found: Option<String> = sqlx::query_scalar(
            "SELECT r.id FROM runs r JOIN step_attempts s ON s.run_id = r.id \
             WHERE r.owner = $1 AND s.status <> 'skipped' \
             AND substr(s.action, 1, length($2)) = $2 LIMIT 1",
        )
        .bind(owner)
        .bind(&prefix)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(found.is_some())
    }
}
