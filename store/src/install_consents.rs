//! The `install_consents` table: each acceptance of what an integration
//! version may do (hosts and OAuth scopes), by whom, with the digest of the
//! exact set accepted, and when. Kept after an uninstall, as the record.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A recorded acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// The record's id.
    pub id: String,
    /// The account that accepted.
    pub owner: String,
    /// The integration's name.
    pub integration: String,
    /// The version whose set was accepted.
    pub version: String,
    /// The accepted host patterns, a JSON array of strings.
    pub hosts: String,
    /// The accepted OAuth scopes, a JSON object of provider -> array.
    pub scopes: String,
    /// The digest of the accepted set (`sha256:...`).
    pub consent_digest: String,
    /// When it was accepted (Unix ms).
    pub accepted_at: i64,
}

/// An acceptance to record.
#[derive(Debug, Clone)]
pub struct NewConsent<'a> {
    /// The record's id.
    pub id: &'a str,
    /// The account that accepted.
    pub owner: &'a str,
    /// The integration's name.
    pub integration: &'a str,
    /// The version whose set was accepted.
    pub version: &'a str,
    /// The accepted host patterns, a JSON array of strings.
    pub hosts: &'a str,
    /// The accepted OAuth scopes, a JSON object of provider -> array.
    pub scopes: &'a str,
    /// The digest of the accepted set.
    pub consent_digest: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// The queries on the `install_consents` table.
#[derive(Debug, Clone, Copy)]
pub struct InstallConsents<'s> {
    store: &'s Store,
}

impl Store {
    /// The `install_consents` table.
    pub fn install_consents(&self) -> InstallConsents<'_> {
        InstallConsents { store: self }
    }
}

const COLUMNS: &str = "id, owner, integration, version, hosts, scopes, consent_digest, accepted_at";

fn decode(row: &AnyRow) -> Result<ConsentRow, StoreError> {
    Ok(ConsentRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        integration: row.try_get("integration")?,
        version: row.try_get("version")?,
        hosts: row.try_get("hosts")?,
        scopes: row.try_get("scopes")?,
        consent_digest: row.try_get("consent_digest")?,
        accepted_at: row.try_get("accepted_at")?,
    })
}

impl InstallConsents<'_> {
    /// Record an acceptance.
    pub async fn record(&self, new: &NewConsent<'_>) -> Result<ConsentRow, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO install_consents ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        ))
        .bind(new.id)
        .bind(new.owner)
        .bind(new.integration)
        .bind(new.version)
        .bind(new.hosts)
        .bind(new.scopes)
        .bind(new.consent_digest)
        .bind(new.now)
        .fetch_one(self.store.pool())
        .await?;
        decode(&row)
    }

    /// `owner`'s latest acceptance for `version` of `integration`, if any.
    pub async fn latest(
        &self,
        owner: &str,
        integration: &str,
        version: &str,
    ) -> Result<Option<ConsentRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM install_consents \
             WHERE owner = $1 AND integration = $2 AND version = $3 \
             ORDER BY accepted_at DESC, id DESC LIMIT 1"
        ))
        .bind(owner)
        .bind(integration)
        .bind(version)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every acceptance `owner` made for `integration`, newest first.
    pub async fn list(
        &self,
        owner: &str,
        integration: &str,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM install_consents WHERE owner = $1 AND integration = $2 \
             ORDER BY accepted_at DESC, id DESC"
        ))
        .bind(owner)
        .bind(integration)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }
}
