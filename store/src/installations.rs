//! The `installations` table: the integrations each user installed, the
//! approved version each runs and the user's settings for it.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A stored installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationRow {
    /// The installation's id.
    pub id: String,
    /// The user who installed it.
    pub owner: String,
    /// The integration's name.
    pub integration: String,
    /// The installed version.
    pub version: String,
    /// The installed component's digest (`sha256:...`).
    pub digest: String,
    /// The approved submission the version comes from.
    pub submission_id: String,
    /// The user's settings, a JSON object of string -> string.
    pub config: String,
    /// When it was first installed (Unix ms).
    pub created_at: i64,
    /// When it was last installed again (Unix ms).
    pub updated_at: i64,
}

/// An installation to store.
#[derive(Debug, Clone)]
pub struct NewInstallation<'a> {
    /// The id, used only when `owner` has not installed `integration` yet.
    pub id: &'a str,
    /// The user installing.
    pub owner: &'a str,
    /// The integration's name.
    pub integration: &'a str,
    /// The version to install.
    pub version: &'a str,
    /// Its component's digest.
    pub digest: &'a str,
    /// The approved submission it comes from.
    pub submission_id: &'a str,
    /// The settings, a JSON object of string -> string.
    pub config: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// The queries on the `installations` table.
#[derive(Debug, Clone, Copy)]
pub struct Installations<'s> {
    store: &'s Store,
}

impl Store {
    /// The `installations` table.
    pub fn installations(&self) -> Installations<'_> {
        Installations { store: self }
    }
}

const COLUMNS: &str = "id, owner, integration, version, digest, submission_id, config, \
     created_at, updated_at";

fn decode(row: &AnyRow) -> Result<InstallationRow, StoreError> {
    Ok(InstallationRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        integration: row.try_get("integration")?,
        version: row.try_get("version")?,
        digest: row.try_get("digest")?,
        submission_id: row.try_get("submission_id")?,
        config: row.try_get("config")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Installations<'_> {
    /// Install, or re-install (new version/digest/config) keeping the id
    /// and created_at of an existing installation of the same (owner,
    /// integration). One `INSERT ... ON CONFLICT DO UPDATE`, so racing
    /// installs of one integration leave one row; in the same transaction
    /// a fresh install (the row came back with `new.id`) is counted in the
    /// integration's figures ([`crate::usage`]). Returns the stored row.
    pub async fn upsert(&self, new: &NewInstallation<'_>) -> Result<InstallationRow, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO installations ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (owner, integration) DO UPDATE SET \
             version = excluded.version, digest = excluded.digest, \
             submission_id = excluded.submission_id, config = excluded.config, \
             updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        ))
        .bind(new.id)
        .bind(new.owner)
        .bind(new.integration)
        .bind(new.version)
        .bind(new.digest)
        .bind(new.submission_id)
        .bind(new.config)
        .bind(new.now)
        .fetch_one(&mut *tx)
        .await?;
        let row = decode(&row)?;
        if row.id == new.id {
            crate::usage::count_install(&mut tx, new.integration, new.now).await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    /// The installation with this id.
    pub async fn get(&self, id: &str) -> Result<Option<InstallationRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM installations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// `owner`'s installation of `integration`.
    pub async fn find(
        &self,
        owner: &str,
        integration: &str,
    ) -> Result<Option<InstallationRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM installations WHERE owner = $1 AND integration = $2"
        ))
        .bind(owner)
        .bind(integration)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every installation of `owner`, by integration name.
    pub async fn list(&self, owner: &str) -> Result<Vec<InstallationRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM installations WHERE owner = $1 ORDER BY integration"
        ))
        .bind(owner)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Uninstall `integration` for `owner`, counting one install fewer in
    /// its figures in the same transaction. Whether it was installed.
    pub async fn delete(&self, owner: &str, integration: &str) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let done = sqlx::query("DELETE FROM installations WHERE owner = $1 AND integration = $2")
            .bind(owner)
            .bind(integration)
            .execute(&mut *tx)
            .await?;
        let deleted = done.rows_affected() == 1;
        if deleted {
            crate::usage::count_uninstall(&mut tx, integration, crate::clock::now_ms()).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}
