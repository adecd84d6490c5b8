//! The `accounts` table: the people who sign in, with their password hash,
//! roles and whether the account is disabled.

use std::fmt;

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A stored account. Its `Debug` output leaves the password hash out, so
/// a logged row never carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The account's id.
    pub id: String,
    /// The sign-in address, as the caller normalised it; unique.
    pub email: String,
    /// The name shown for the account.
    pub display_name: String,
    /// The password's hash (never the password).
    pub password_hash: String,
    /// The roles the account holds.
    pub roles: Vec<String>,
    /// When the account was made (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
    /// When it was disabled (Unix ms); a disabled account cannot sign in.
    pub disabled_at: Option<i64>,
}

impl fmt::Debug for AccountRow {
    /// Every field but the password hash, which prints as `<hash>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password_hash", &format_args!("<hash>"))
            .field("roles", &self.roles)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("disabled_at", &self.disabled_at)
            .finish()
    }
}

/// An account to insert. Its `Debug` output leaves the password hash out.
#[derive(Clone, Copy)]
pub struct NewAccount<'a> {
    /// The account's id (fresh and random: a clash is reported like a
    /// taken email).
    pub id: &'a str,
    /// The sign-in address, already normalised by the caller.
    pub email: &'a str,
    /// The name shown for the account.
    pub display_name: &'a str,
    /// The password's hash.
    pub password_hash: &'a str,
    /// The roles the account holds (no whitespace within a role: they are
    /// stored space-separated).
    pub roles: &'a [String],
    /// Now (Unix ms).
    pub now: i64,
}

impl fmt::Debug for NewAccount<'_> {
    /// Every field but the password hash, which prints as `<hash>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password_hash", &format_args!("<hash>"))
            .field("roles", &self.roles)
            .field("now", &self.now)
            .finish()
    }
}

/// The queries on the `accounts` table.
#[derive(Debug, Clone, Copy)]
pub struct Accounts<'s> {
    store: &'s Store,
}

impl Store {
    /// The `accounts` table.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { store: self }
    }
}

const COLUMNS: &str =
    "id, email, display_name, password_hash, roles, created_at, updated_at, disabled_at";

fn decode(row: &AnyRow) -> Result<AccountRow, StoreError> {
    let roles: String = row.try_get("roles")?;
    Ok(AccountRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        roles: roles.split_whitespace().map(str::to_string).collect(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        disabled_at: row.try_get("disabled_at")?,
    })
}

impl Accounts<'_> {
    /// Store a new, enabled account and return it as stored. `Ok(None)`
    /// when the email is taken (the unique constraint decides, so two
    /// sign-ups racing for one address on different hosts cannot both
    /// win), never an error for that case.
    pub async fn insert(&self, new: &NewAccount<'_>) -> Result<Option<AccountRow>, StoreError> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO accounts (id, email, display_name, password_hash, roles, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
        ))
        .bind(new.id)
        .bind(new.email)
        .bind(new.display_name)
        .bind(new.password_hash)
        .bind(new.roles.join(" "))
        .bind(new.now)
        .fetch_one(self.store.pool())
        .await;
        match inserted {
            Ok(row) => decode(&row).map(Some),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The account with this id.
    pub async fn get(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The account whose email is exactly `email` (callers normalise it
    /// the same way before inserting and looking up).
    pub async fn by_email(&self, email: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM accounts WHERE email = $1"))
            .bind(email)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Replace the account's password hash. False when there is no such
    /// account.
    pub async fn set_password(
        &self,
        id: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(password_hash)
                .bind(now)
                .execute(self.store.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replace the account's roles. False when there is no such account.
    pub async fn set_roles(
        &self,
        id: &str,
        roles: &[String],
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE accounts SET roles = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(roles.join(" "))
            .bind(now)
            .execute(self.store.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disable the account as of `disabled_at`, or enable it again with
    /// `None`. False when there is no such account.
    pub async fn set_disabled(
        &self,
        id: &str,
        disabled_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE accounts SET disabled_at = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(disabled_at)
                .bind(now)
                .execute(self.store.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many accounts there are, disabled ones included (none means the
    /// first account is being set up).
    pub async fn count(&self) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(self.store.pool())
            .await?;
        Ok(count)
    }

    /// Accounts ordered by email (in the database's collation), after
    /// `after_email` (exclusive) when given, at most `limit`: one page of
    /// a listing, the last email of a page fetching the next. With
    /// `containing`, only accounts whose email or display name contains
    /// it, ignoring case (ASCII case only on SQLite; `%` and `_` match
    /// themselves).
    pub async fn list(
        &self,
        containing: Option<&str>,
        after_email: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let pattern = containing.map(|text| {
            let escaped: String = text
                .to_lowercase()
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("%{escaped}%")
        });
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts \
             WHERE ($1 IS NULL OR email > $1) \
               AND ($2 IS NULL OR lower(email || ' ' || display_name) LIKE $2 ESCAPE '\\') \
             ORDER BY email LIMIT $3"
        ))
        .bind(after_email)
        .bind(pattern)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }
}
