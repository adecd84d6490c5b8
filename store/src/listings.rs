//! The `marketplace_integrations`, `listing_revisions` and `entitlements`
//! tables: the listing the marketplace shows of each integration name
//! (summary, Markdown description, categories, price, icon, per-version
//! changelog), every revision of its text, and the accounts entitled to
//! install a paid integration. The rules (who may
//! write a listing, what a valid one is, when an install needs an
//! entitlement) live in the engine; this module stores what it decided.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A stored listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingRow {
    /// The integration's name.
    pub name: String,
    /// One line shown in search results.
    pub summary: String,
    /// The long description, Markdown source.
    pub description: String,
    /// The category slugs, a JSON array.
    pub categories: String,
    /// The notes of each approved version, a JSON object by version.
    pub changelog: String,
    /// The upfront price in cents; `None` when free.
    pub price_cents: Option<i64>,
    /// The icon's digest in the artifact store (`sha256:...`), if any.
    pub icon_digest: Option<String>,
    /// The icon's media type (`image/png`, ...), with `icon_digest`.
    pub icon_type: Option<String>,
    /// The account that last changed it.
    pub updated_by: String,
    /// When it was first written (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// The text fields of a listing, already checked by the engine.
#[derive(Debug, Clone, Copy)]
pub struct ListingFields<'a> {
    /// The integration's name.
    pub name: &'a str,
    /// The summary.
    pub summary: &'a str,
    /// The Markdown description.
    pub description: &'a str,
    /// The categories, a JSON array.
    pub categories: &'a str,
    /// The changelog, a JSON object by version.
    pub changelog: &'a str,
    /// The upfront price in cents, `None` when free.
    pub price_cents: Option<i64>,
    /// Who writes it.
    pub updated_by: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// One revision of a listing's text, as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingRevision {
    /// The integration's name.
    pub integration: String,
    /// Its number: 1, 2, 3, ... per integration.
    pub revision: i64,
    /// The summary.
    pub summary: String,
    /// The Markdown description.
    pub description: String,
    /// The category slugs, a JSON array.
    pub categories: String,
    /// The upfront price in cents; `None` when free.
    pub price_cents: Option<i64>,
    /// The account that wrote it.
    pub written_by: String,
    /// When (Unix ms).
    pub written_at: i64,
}

/// One account's right to install a paid integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementRow {
    /// The account.
    pub account_id: String,
    /// The integration's name.
    pub integration: String,
    /// When it was granted (Unix ms).
    pub granted_at: i64,
    /// What granted it (`purchase:<id>`, `grant:<admin>`, ...).
    pub source: String,
}

/// The queries on the listings' tables.
#[derive(Debug, Clone, Copy)]
pub struct Listings<'s> {
    store: &'s Store,
}

impl Store {
    /// The `marketplace_integrations` and `entitlements` tables.
    pub fn listings(&self) -> Listings<'_> {
        Listings { store: self }
    }
}

const COLUMNS: &str = "name, summary, description, categories, changelog, price_cents, \
     icon_digest, icon_type, updated_by, created_at, updated_at";

const REVISION_COLUMNS: &str = "integration, revision, summary, description, categories, \
     price_cents, written_by, written_at";

fn decode_revision(row: &AnyRow) -> Result<ListingRevision, StoreError> {
    Ok(ListingRevision {
        integration: row.try_get("integration")?,
        revision: row.try_get("revision")?,
        summary: row.try_get("summary")?,
        description: row.try_get("description")?,
        categories: row.try_get("categories")?,
        price_cents: row.try_get("price_cents")?,
        written_by: row.try_get("written_by")?,
        written_at: row.try_get("written_at")?,
    })
}

fn decode(row: &AnyRow) -> Result<ListingRow, StoreError> {
    Ok(ListingRow {
        name: row.try_get("name")?,
        summary: row.try_get("summary")?,
        description: row.try_get("description")?,
        categories: row.try_get("categories")?,
        changelog: row.try_get("changelog")?,
        price_cents: row.try_get("price_cents")?,
        icon_digest: row.try_get("icon_digest")?,
        icon_type: row.try_get("icon_type")?,
        updated_by: row.try_get("updated_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Listings<'_> {
    /// The listing of `name`, if one was written.
    pub async fn get(&self, name: &str) -> Result<Option<ListingRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM marketplace_integrations WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Make or replace the text fields and price of a listing, record
    /// them as its next revision and write its search document, in one
    /// transaction; its icon is kept.
    pub async fn put(&self, f: &ListingFields<'_>) -> Result<ListingRow, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        // The upsert comes first: it locks the listing's row, so concurrent
        // writers of one listing number their revisions one after another.
        let row = sqlx::query(&format!(
            "INSERT INTO marketplace_integrations (name, summary, description, categories, \
             changelog, price_cents, updated_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (name) DO UPDATE SET summary = excluded.summary, \
             description = excluded.description, categories = excluded.categories, \
             changelog = excluded.changelog, price_cents = excluded.price_cents, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        ))
        .bind(f.name)
        .bind(f.summary)
        .bind(f.description)
        .bind(f.categories)
        .bind(f.changelog)
        .bind(f.price_cents)
        .bind(f.updated_by)
        .bind(f.now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO listing_revisions (integration, revision, summary, description, \
             categories, price_cents, written_by, written_at) \
             SELECT $1, COALESCE(MAX(revision), 0) + 1, $2, $3, $4, $5, $6, $7 \
             FROM listing_revisions WHERE integration = $1",
        )
        .bind(f.name)
        .bind(f.summary)
        .bind(f.description)
        .bind(f.categories)
        .bind(f.price_cents)
        .bind(f.updated_by)
        .bind(f.now)
        .execute(&mut *tx)
        .await?;
        crate::search::refresh_in(&mut tx, f.name).await?;
        tx.commit().await?;
        decode(&row)
    }

    /// The revision of `name`'s listing text that was current at `at`
    /// (Unix ms): the last one written at or before it, if any.
    pub async fn revision_at(
        &self,
        name: &str,
        at: i64,
    ) -> Result<Option<ListingRevision>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REVISION_COLUMNS} FROM listing_revisions \
             WHERE integration = $1 AND written_at <= $2 \
             ORDER BY written_at DESC, revision DESC LIMIT 1"
        ))
        .bind(name)
        .bind(at)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode_revision).transpose()
    }

    /// Every revision of `name`'s listing text, oldest first, at most
    /// `limit`.
    pub async fn revisions(
        &self,
        name: &str,
        limit: i64,
    ) -> Result<Vec<ListingRevision>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REVISION_COLUMNS} FROM listing_revisions WHERE integration = $1 \
             ORDER BY revision LIMIT $2"
        ))
        .bind(name)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_revision).collect()
    }

    /// Set the icon of `name`'s listing (making an empty, free listing
    /// when there is none yet), and its search document, in one
    /// transaction.
    pub async fn set_icon(
        &self,
        name: &str,
        digest: &str,
        media_type: &str,
        updated_by: &str,
        now: i64,
    ) -> Result<ListingRow, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO marketplace_integrations (name, summary, description, categories, \
             changelog, icon_digest, icon_type, updated_by, created_at, updated_at) \
             VALUES ($1, '', '', '[]', '{{}}', $2, $3, $4, $5, $5) \
             ON CONFLICT (name) DO UPDATE SET icon_digest = excluded.icon_digest, \
             icon_type = excluded.icon_type, updated_by = excluded.updated_by, \
             updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(digest)
        .bind(media_type)
        .bind(updated_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        crate::search::refresh_in(&mut tx, name).await?;
        tx.commit().await?;
        decode(&row)
    }

    /// Record that `account_id` may install `integration`, granted by
    /// `source`. False when it already could (the first grant is kept).
    pub async fn grant_entitlement(
        &self,
        account_id: &str,
        integration: &str,
        source: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO entitlements (account_id, integration, granted_at, source) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, integration) DO NOTHING",
        )
        .bind(account_id)
        .bind(integration)
        .bind(now)
        .bind(source)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `account_id` may install the paid `integration`.
    pub async fn has_entitlement(
        &self,
        account_id: &str,
        integration: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.entitlement(account_id, integration).await?.is_some())
    }

    /// The entitlement of `account_id` to `integration`, if any.
    pub async fn entitlement(
        &self,
        account_id: &str,
        integration: &str,
    ) -> Result<Option<EntitlementRow>, StoreError> {
        let row = sqlx::query(
            "SELECT account_id, integration, granted_at, source FROM entitlements \
             WHERE account_id = $1 AND integration = $2",
        )
        .bind(account_id)
        .bind(integration)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|row| {
            Ok(EntitlementRow {
                account_id: row.try_get("account_id")?,
                integration: row.try_get("integration")?,
                granted_at: row.try_get("granted_at")?,
                source: row.try_get("source")?,
            })
        })
        .transpose()
    }
}
