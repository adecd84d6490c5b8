//! Accounts: who acts on the platform. Each account has an email (its
//! login), a display name, an argon2id password hash and roles (`user`
//! for everyone; `developer`, `reviewer`, `admin` given by an admin). A
//! request is made by a [`Principal`]: an account authenticated by a
//! browser session ([`sessions`]) or an API token ([`tokens`]), carrying
//! the scopes that credential allows. Every resource a principal reads or
//! writes is scoped by its account id, which is the `owner` of
//! installations, connections, workflows and runs.
//!
//! - [`roles`]: roles and scopes;
//! - [`password`]: hashing and the password policy;
//! - [`secrets`]: session ids and tokens, stored only as digests;
//! - [`sessions`]: sign-in, sign-out, browser sessions and their CSRF token;
//! - [`tokens`]: API tokens;
//! - [`rate_limit`]: request and failed sign-in limits held in the store.

pub mod password;
pub mod rate_limit;
pub mod roles;
pub mod secrets;
pub mod sessions;
pub mod tokens;

use std::collections::BTreeSet;

use workway_store::accounts::{AccountRow, NewAccount};
use workway_store::{Store, StoreError};

use roles::shorten;
pub use roles::{Role, Scope};

/// Why an account operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The email is not one.
    #[error("`{0}` is not an email address: it needs text, one `@` and a domain, and no spaces")]
    InvalidEmail(String),
    /// The display name is empty, too long or has control characters.
    #[error("the display name must have 1 to 100 characters and no control characters")]
    InvalidDisplayName,
    /// The password does not meet the policy.
    #[error("{0}")]
    WeakPassword(String),
    /// Another account has this email.
    #[error(
        "an account with this email already exists: sign in, or ask an admin to reset its password"
    )]
    EmailTaken,
    /// Sign-in failed: unknown email or wrong password (never says which).
    #[error("the email or the password is wrong")]
    BadCredentials,
    /// The account was disabled by an admin.
    #[error("this account is disabled: ask an admin of this platform")]
    Disabled,
    /// A role name that is not one.
    #[error("unknown role `{0}`: use user, developer, reviewer or admin")]
    UnknownRole(String),
    /// A scope name that is not one.
    #[error("unknown scope `{0}`: use read, run, publish, review or admin")]
    UnknownScope(String),
    /// A token asked for a scope its account's roles do not grant.
    #[error("the scope `{scope}` needs the {role} role, which this account does not have")]
    ScopeBeyondRoles {
        /// The scope asked for.
        scope: Scope,
        /// The role it needs.
        role: Role,
    },
    /// A token tried to make a token with a scope it does not carry.
    #[error(
        "a token can only make tokens within its own scopes; `{0}` is not one of them (sign in to make it)"
    )]
    ScopeBeyondCredential(Scope),
    /// A token was asked for with no scopes.
    #[error("a token needs at least one scope (read, run, publish, review, admin)")]
    NoScopes,
    /// A token name that is empty or too long.
    #[error("a token's name must have 1 to 100 characters and no control characters")]
    InvalidTokenName,
    /// An expiry that has already passed.
    #[error("the token's expiry must be in the future")]
    ExpiryInPast,
    /// No account with that id or email.
    #[error("no such account")]
    NoSuchAccount,
    /// An admin tried to lock themselves out: disable their own account
    /// or take their own admin role.
    #[error("an admin cannot {0} their own account: ask another admin to do it")]
    OwnAccount(&'static str),
    /// No token of this account with that id, or it was revoked.
    #[error("no such token")]
    NoSuchToken,
    /// The operating system gave no randomness.
    #[error("no randomness available: {0}")]
    Random(String),
    /// Hashing or reading a stored hash failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An authenticated account and what its credential allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account's id: the `owner` of everything it makes.
    pub account_id: String,
    /// Its email.
    pub email: String,
    /// Its display name.
    pub display_name: String,
    /// Its roles now.
    pub roles: BTreeSet<Role>,
    /// What this credential may do: within what the roles grant.
    pub scopes: BTreeSet<Scope>,
    /// How it authenticated.
    pub credential: Credential,
}

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; state-changing requests need its CSRF token.
    Session {
        /// The session's digest (its id in the store).
        id_hash: String,
    },
    /// An API token.
    Token {
        /// The token's id.
        id: String,
    },
}

impl Principal {
    /// The owner key of the account's resources.
    pub fn owner(&self) -> &str {
        &self.account_id
    }

    /// Whether this credential carries `scope`.
    pub fn can(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether the account has `role`.
    pub fn is(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// A principal for `account` with the scopes `wanted` allows within
    /// its roles.
    pub(crate) fn of(
        account: &AccountRow,
        wanted: impl IntoIterator<Item = Scope>,
        credential: Credential,
    ) -> Principal {
        let roles = roles_of(account);
        let scopes = wanted
            .into_iter()
            .filter(|s| roles.contains(&s.needs()))
            .collect();
        Principal {
            account_id: account.id.clone(),
            email: account.email.clone(),
            display_name: account.display_name.clone(),
            roles,
            scopes,
            credential,
        }
    }
}

/// The roles stored for `account` (unknown names skipped), `user` always.
pub fn roles_of(account: &AccountRow) -> BTreeSet<Role> {
    let mut roles: BTreeSet<Role> = account
        .roles
        .iter()
        .filter_map(|r| Role::parse(r).ok())
        .collect();
    roles.insert(Role::User);
    roles
}

/// `email` trimmed and lower-cased, if it is an email address.
pub fn normalise_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if ok {
        Ok(email)
    } else {
        Err(AccountError::InvalidEmail(shorten(&email)))
    }
}

/// `name` trimmed, if it is a usable display or token name.
fn clean_name(name: &str) -> Option<String> {
    let name = name.trim();
    let count = name.chars().count();
    ((1..=100).contains(&count) && !name.chars().any(char::is_control)).then(|| name.to_string())
}

/// What a new account is made of.
#[derive(Debug, Clone)]
pub struct NewAccountRequest<'a> {
    /// The login.
    pub email: &'a str,
    /// The name shown to others.
    pub display_name: &'a str,
    /// The password, checked against the policy and hashed.
    pub password: &'a str,
    /// Roles beyond `user` (sign-up gives none; an admin may give any).
    pub roles: &'a [Role],
}

/// Make an account.
pub async fn create(
    store: &Store,
    request: &NewAccountRequest<'_>,
    now: i64,
) -> Result<AccountRow, AccountError> {
    let email = normalise_email(request.email)?;
    let display_name = clean_name(request.display_name).ok_or(AccountError::InvalidDisplayName)?;
    password::check_policy(request.password)?;
    let hash = password::hash(request.password).await?;
    let mut roles: BTreeSet<Role> = request.roles.iter().copied().collect();
    roles.insert(Role::User);
    let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_string()).collect();
    let id = secrets::new_id("acc_");
    store
        .accounts()
        .insert(&NewAccount {
            id: &id,
            email: &email,
            display_name: &display_name,
            password_hash: &hash,
            roles: &roles,
            now,
        })
        .await?
        .ok_or(AccountError::EmailTaken)
}

/// The account with this email.
pub async fn by_email(store: &Store, email: &str) -> Result<AccountRow, AccountError> {
    let email = normalise_email(email)?;
    store
        .accounts()
        .by_email(&email)
        .await?
        .ok_or(AccountError::NoSuchAccount)
}

/// Give `account_id` exactly `roles` (plus `user`), for an admin. An
/// account left without the reviewer role has its reviewer signing key
/// retired: it signs nothing more, and hosts stop trusting it for new
/// approvals.
pub async fn set_roles(
    store: &Store,
    account_id: &str,
    roles: &[Role],
    now: i64,
) -> Result<(), AccountError> {
    let mut set: BTreeSet<Role> = roles.iter().copied().collect();
    set.insert(Role::User);
    let names: Vec<String> = set.iter().map(|r| r.as_str().to_string()).collect();
    if !store.accounts().set_roles(account_id, &names, now).await? {
        return Err(AccountError::NoSuchAccount);
    }
    if !set.contains(&Role::Reviewer) {
        store.reviewer_keys().retire(account_id, now).await?;
    }
    Ok(())
}

/// Stop `account_id` from signing in or using its tokens, for an admin:
/// every session of the account ends. Answers how many sessions ended.
pub async fn disable(store: &Store, account_id: &str, now: i64) -> Result<u64, AccountError> {
    if !store
        .accounts()
        .set_disabled(account_id, Some(now), now)
        .await?
    {
        return Err(AccountError::NoSuchAccount);
    }
    Ok(store.sessions().revoke_all(account_id, None, now).await?)
}

/// Let a disabled `account_id` sign in and use its tokens again.
pub async fn enable(store: &Store, account_id: &str, now: i64) -> Result<(), AccountError> {
    if !store.accounts().set_disabled(account_id, None, now).await? {
        return Err(AccountError::NoSuchAccount);
    }
    Ok(())
}

/// Set a new password for `account_id` without the old one (an admin's
/// reset) and end every session of the account.
pub async fn reset_password(
    store: &Store,
    account_id: &str,
    new_password: &str,
    now: i64,
) -> Result<(), AccountError> {
    password::check_policy(new_password)?;
    let hash = password::hash(new_password).await?;
    if !store
        .accounts()
        .set_password(account_id, &hash, now)
        .await?
    {
        return Err(AccountError::NoSuchAccount);
    }
    store.sessions().revoke_all(account_id, None, now).await?;
    Ok(())
}

/// Change the password of `principal`'s account, given the current one;
/// every other session of the account ends (the one making the change, if
/// it is a session, stays).
pub async fn change_password(
    store: &Store,
    principal: &Principal,
    current: &str,
    new_password: &str,
    now: i64,
) -> Result<(), AccountError> {
    let account = store
        .accounts()
        .get(&principal.account_id)
        .await?
        .ok_or(AccountError::NoSuchAccount)?;
    if !password::verify(current, &account.password_hash).await? {
        return Err(AccountError::BadCredentials);
    }
    password::check_policy(new_password)?;
    let hash = password::hash(new_password).await?;
    store
        .accounts()
        .set_password(&account.id, &hash, now)
        .await?;
    let keep = match &principal.credential {
        Credential::Session { id_hash } => Some(id_hash.as_str()),
        Credential::Token { .. } => None,
    };
    store.sessions().revoke_all(&account.id, keep, now).await?;
    Ok(())
}

/// Forget what no request can use any more: rate-limit windows that
/// ended, and sessions that expired or were revoked more than a day ago
/// (kept that long so a sign-out can still be seen in the store). What
/// was purged: (windows, sessions).
pub async fn purge(
    store: &Store,
    config: &crate::config::AccountConfig,
    now: i64,
) -> Result<(u64, u64), AccountError> {
    let windows = rate_limit::purge(store, config, now).await?;
    let sessions = store.sessions().purge(now - 24 * 3600 * 1000).await?;
    Ok((windows, sessions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Alice@Example.COM ").expect("valid"),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a b@c.d",
            "a@b@c",
            "a@.b",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad:?} refused");
        }
    }
}
