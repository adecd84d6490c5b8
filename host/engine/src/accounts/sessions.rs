//! Browser sessions: signing in with email and password opens a session
//! whose opaque id goes to the browser in an `HttpOnly` cookie and is
//! stored only as its digest. A session ends when it is idle for
//! [`AccountConfig::session_idle_secs`], at the latest
//! [`AccountConfig::session_max_secs`] after sign-in, at sign-out, or when
//! the account's password changes. Failed sign-ins are limited per
//! account and per client address.

use workway_store::sessions::SessionRow;
use workway_store::{Store, StoreError};

use super::rate_limit::{self, Bucket, Limited};
use super::{AccountError, Credential, Principal, Scope, normalise_email, password, secrets};
use crate::config::AccountConfig;

/// The cookie that carries the session id.
pub const COOKIE: &str = "workway_session";

/// The header a state-changing request in a session carries its CSRF
/// token in (forms may send it as the `csrf_token` field instead).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A session's id is refreshed in the store at most this often, so a busy
/// session writes once a minute, not once a request.
const TOUCH_GAP_MS: i64 = 60_000;

/// A new session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session id, for the cookie; never stored.
    pub session_id: String,
    /// The CSRF token pages of this session send back.
    pub csrf_token: String,
    /// When the session ends unless used (Unix ms).
    pub expires_at: i64,
    /// Who signed in.
    pub principal: Principal,
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Too many failed sign-ins for this account or from this address.
    #[error("too many failed sign-ins: try again in {} seconds", .0.retry_after_secs)]
    Limited(Limited),
    /// Wrong email or password, disabled account, bad input, or a failure.
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        SignInError::Account(AccountError::Store(e))
    }
}

/// Sign in with `email` and `password` from client address `client`.
pub async fn sign_in(
    store: &Store,
    config: &AccountConfig,
    email: &str,
    password_given: &str,
    client: &str,
    now: i64,
) -> Result<SignedIn, SignInError> {
    let email = normalise_email(email)?;
    let limit = config.signin_failures_per_window;
    let buckets = [
        Bucket::SignInAccount(email.clone()),
        Bucket::SignInAddress(client.to_string()),
    ];
    for bucket in &buckets {
        if let Some(limited) = rate_limit::full(store, config, bucket, limit, now).await? {
            return Err(SignInError::Limited(limited));
        }
    }
    let account = store.accounts().by_email(&email).await?;
    let verified = match &account {
        Some(account) => password::verify(password_given, &account.password_hash).await?,
        None => {
            password::verify_nothing(password_given).await;
            false
        }
    };
    let account = match account {
        Some(account) if verified => account,
        _ => {
            for bucket in &buckets {
                // The failure is counted; refusing this attempt as
                // limited would tell nothing more than refusing it as bad.
                let _ = rate_limit::hit(store, config, bucket, limit, now).await?;
            }
            return Err(AccountError::BadCredentials.into());
        }
    };
    if account.disabled_at.is_some() {
        return Err(AccountError::Disabled.into());
    }
    let session_id = secrets::random_secret("wws_")?;
    let id_hash = secrets::digest(&session_id);
    let expires_at =
        (now.saturating_add(config.idle_ms())).min(now.saturating_add(config.max_ms()));
    store
        .sessions()
        .insert(&SessionRow {
            id_hash: id_hash.clone(),
            account_id: account.id.clone(),
            created_at: now,
            expires_at,
            last_seen_at: now,
            revoked_at: None,
        })
        .await?;
    Ok(SignedIn {
        csrf_token: secrets::csrf_token(&session_id),
        session_id,
        expires_at,
        principal: Principal::of(&account, Scope::ALL, Credential::Session { id_hash }),
    })
}

/// The principal of a live session with this id, sliding its expiry.
pub async fn authenticate(
    store: &Store,
    config: &AccountConfig,
    session_id: &str,
    now: i64,
) -> Result<Option<Principal>, AccountError> {
    if !session_id.starts_with("wws_") || session_id.len() > 128 {
        return Ok(None);
    }
    let id_hash = secrets::digest(session_id);
    let Some(session) = store.sessions().live(&id_hash, now).await? else {
        return Ok(None);
    };
    let hard_end = session.created_at.saturating_add(config.max_ms());
    if now >= hard_end {
        return Ok(None);
    }
    let Some(account) = store.accounts().get(&session.account_id).await? else {
        return Ok(None);
    };
    if account.disabled_at.is_some() {
        return Ok(None);
    }
    // The row read says whether the expiry is due to slide: most requests
    // write nothing and ask nothing more of the store.
    if session.last_seen_at < now - TOUCH_GAP_MS {
        let expires_at = now.saturating_add(config.idle_ms()).min(hard_end);
        store
            .sessions()
            .touch(&id_hash, now, expires_at, TOUCH_GAP_MS)
            .await?;
    }
    Ok(Some(Principal::of(
        &account,
        Scope::ALL,
        Credential::Session { id_hash },
    )))
}

/// End the session `principal` authenticated with (if it is a session).
pub async fn sign_out(
    store: &Store,
    principal: &Principal,
    now: i64,
) -> Result<bool, AccountError> {
    match &principal.credential {
        Credential::Session { id_hash } => Ok(store.sessions().revoke(id_hash, now).await?),
        Credential::Token { .. } => Ok(false),
    }
}
