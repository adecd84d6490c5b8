//! The `developer_profiles` and `integration_maintainers` tables: the
//! profile a publishing account shows the marketplace, and the accounts an
//! integration's owner lets publish versions of its name. Who may publish
//! a name (its owner or a co-maintainer) is decided in one place,
//! [`crate::submissions::Submissions::refusing_owner`], which reads both
//! the owners and this module's co-maintainers.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A stored developer profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeveloperProfileRow {
    /// The developer account it belongs to.
    pub account_id: String,
    /// The name the marketplace shows for the publisher.
    pub display_name: String,
    /// The publisher's website (an https URL), if given.
    pub website: Option<String>,
    /// Where users get support: an email address or an https URL.
    pub support_contact: String,
    /// The opaque reference billing pays out to, if given; shown only to
    /// the account itself and to admins.
    pub payout_account: Option<String>,
    /// The admin who verified the publisher, while verified.
    pub verified_by: Option<String>,
    /// When it was verified (Unix ms), while verified.
    pub verified_at: Option<i64>,
    /// When the profile was made (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

impl DeveloperProfileRow {
    /// Whether an admin verified the publisher (and nothing shown since
    /// changed).
    pub fn verified(&self) -> bool {
        self.verified_at.is_some()
    }
}

/// The fields a developer writes on their own profile.
#[derive(Debug, Clone, Copy)]
pub struct ProfileFields<'a> {
    /// The developer account.
    pub account_id: &'a str,
    /// The name shown.
    pub display_name: &'a str,
    /// The website, already checked.
    pub website: Option<&'a str>,
    /// The support contact, already checked.
    pub support_contact: &'a str,
    /// The payout reference, already checked.
    pub payout_account: Option<&'a str>,
    /// Now (Unix ms).
    pub now: i64,
}

/// One co-maintainer of an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintainerRow {
    /// The integration's name.
    pub integration: String,
    /// The co-maintainer's account.
    pub account_id: String,
    /// The owner who added them.
    pub added_by: String,
    /// When (Unix ms).
    pub added_at: i64,
}

/// The queries on the publishers' tables.
#[derive(Debug, Clone, Copy)]
pub struct Publishers<'s> {
    store: &'s Store,
}

impl Store {
    /// The `developer_profiles` and `integration_maintainers` tables.
    pub fn publishers(&self) -> Publishers<'_> {
        Publishers { store: self }
    }
}

const PROFILE_COLUMNS: &str = "account_id, display_name, website, support_contact, \
     payout_account, verified_by, verified_at, created_at, updated_at";

fn decode_profile(row: &AnyRow) -> Result<DeveloperProfileRow, StoreError> {
    Ok(DeveloperProfileRow {
        account_id: row.try_get("account_id")?,
        display_name: row.try_get("display_name")?,
        website: row.try_get("website")?,
        support_contact: row.try_get("support_contact")?,
        payout_account: row.try_get("payout_account")?,
        verified_by: row.try_get("verified_by")?,
        verified_at: row.try_get("verified_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn decode_maintainer(row: &AnyRow) -> Result<MaintainerRow, StoreError> {
    Ok(MaintainerRow {
        integration: row.try_get("integration")?,
        account_id: row.try_get("account_id")?,
        added_by: row.try_get("added_by")?,
        added_at: row.try_get("added_at")?,
    })
}

impl Publishers<'_> {
    /// The profile of `account_id`, if it made one.
    pub async fn profile(
        &self,
        account_id: &str,
    ) -> Result<Option<DeveloperProfileRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PROFILE_COLUMNS} FROM developer_profiles WHERE account_id = $1"
        ))
        .bind(account_id)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode_profile).transpose()
    }

    /// Make or replace the developer-written fields of a profile, in one
    /// statement (so two hosts writing at once leave one of the two). A
    /// change of the display name or the website clears the verification:
    /// an admin verified what was shown then, not what is shown now.
    pub async fn put_profile(
        &self,
        p: &ProfileFields<'_>,
    ) -> Result<DeveloperProfileRow, StoreError> {
        let unchanged = "developer_profiles.display_name = excluded.display_name \
             AND COALESCE(developer_profiles.website, '') = COALESCE(excluded.website, '')";
        let row = sqlx::query(&format!(
            "INSERT INTO developer_profiles (account_id, display_name, website, support_contact, \
             payout_account, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (account_id) DO UPDATE SET \
             verified_by = CASE WHEN {unchanged} THEN developer_profiles.verified_by ELSE NULL END, \
             verified_at = CASE WHEN {unchanged} THEN developer_profiles.verified_at ELSE NULL END, \
             display_name = excluded.display_name, website = excluded.website, \
             support_contact = excluded.support_contact, \
             payout_account = excluded.payout_account, updated_at = excluded.updated_at \
             RETURNING {PROFILE_COLUMNS}"
        ))
        .bind(p.account_id)
        .bind(p.display_name)
        .bind(p.website)
        .bind(p.support_contact)
        .bind(p.payout_account)
        .bind(p.now)
        .fetch_one(self.store.pool())
        .await?;
        decode_profile(&row)
    }

    /// Mark the profile of `account_id` verified by `admin` at `now`, or
    /// (with `admin` `None`) not verified. The profile as stored after,
    /// `None` when there is no profile.
    pub async fn set_verified(
        &self,
        account_id: &str,
        admin: Option<&str>,
        now: i64,
    ) -> Result<Option<DeveloperProfileRow>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE developer_profiles SET verified_by = $2, verified_at = $3, updated_at = $4 \
             WHERE account_id = $1 RETURNING {PROFILE_COLUMNS}"
        ))
        .bind(account_id)
        .bind(admin)
        .bind(admin.map(|_| now))
        .bind(now)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode_profile).transpose()
    }

    /// Add `account_id` as a co-maintainer of `integration`. False when
    /// they already were one (the row is left as it was).
    pub async fn add_maintainer(
        &self,
        integration: &str,
        account_id: &str,
        added_by: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO integration_maintainers (integration, account_id, added_by, added_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (integration, account_id) DO NOTHING",
        )
        .bind(integration)
        .bind(account_id)
        .bind(added_by)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Remove `account_id` from the co-maintainers of `integration`. False
    /// when they were not one.
    pub async fn remove_maintainer(
        &self,
        integration: &str,
        account_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM integration_maintainers WHERE integration = $1 AND account_id = $2",
        )
        .bind(integration)
        .bind(account_id)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The co-maintainers of `integration`, earliest added first.
    pub async fn maintainers(&self, integration: &str) -> Result<Vec<MaintainerRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT integration, account_id, added_by, added_at FROM integration_maintainers \
             WHERE integration = $1 ORDER BY added_at, account_id",
        )
        .bind(integration)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_maintainer).collect()
    }
}
