//! API tokens: `wwk_` and 43 random characters, made by a signed-in
//! account, shown once, stored as a digest with a visible prefix (the
//! first 12 characters, to tell tokens apart in a list), named, scoped,
//! optionally expiring, revocable, with when each was last used (kept to
//! the minute). A token never carries more than its account's roles grant,
//! when it is made and every time it is used, and a token can make only
//! tokens within its own scopes.

use workway_store::Store;
use workway_store::api_tokens::ApiTokenRow;

use super::{AccountError, Credential, Principal, Scope, clean_name, secrets};

/// What every token starts with.
pub const PREFIX: &str = "wwk_";

/// How many leading characters of a token are stored and shown.
const VISIBLE: usize = 12;

/// `last_used_at` is written at most this often per token.
const TOUCH_GAP_MS: i64 = 60_000;

/// A token just made: the secret, shown once, and its stored row.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The whole token, for the caller to keep; never stored.
    pub secret: String,
    /// What is stored about it.
    pub row: ApiTokenRow,
}

/// Make a token for `principal`'s account.
pub async fn create(
    store: &Store,
    principal: &Principal,
    name: &str,
    scopes: &[Scope],
    expires_at: Option<i64>,
    now: i64,
) -> Result<NewToken, AccountError> {
    let name = clean_name(name).ok_or(AccountError::InvalidTokenName)?;
    if scopes.is_empty() {
        return Err(AccountError::NoScopes);
    }
    for &scope in scopes {
        if !principal.is(scope.needs()) {
            return Err(AccountError::ScopeBeyondRoles {
                scope,
                role: scope.needs(),
            });
        }
        if !principal.can(scope) {
            return Err(AccountError::ScopeBeyondCredential(scope));
        }
    }
    if expires_at.is_some_and(|at| at <= now) {
        return Err(AccountError::ExpiryInPast);
    }
    let mut names: Vec<String> = scopes.iter().map(|s| s.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    let secret = secrets::random_secret(PREFIX)?;
    let row = ApiTokenRow {
        id: secrets::new_id("tok_"),
        account_id: principal.account_id.clone(),
        name,
        prefix: secret.chars().take(VISIBLE).collect(),
        token_hash: secrets::digest(&secret),
        scopes: names,
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    store.api_tokens().insert(&row).await?;
    Ok(NewToken { secret, row })
}

/// The principal of a live token, noting its use.
pub async fn authenticate(
    store: &Store,
    token: &str,
    now: i64,
) -> Result<Option<Principal>, AccountError> {
    if !token.starts_with(PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let Some(row) = store
        .api_tokens()
        .live(&secrets::digest(token), now)
        .await?
    else {
        return Ok(None);
    };
    let Some(account) = store.accounts().get(&row.account_id).await? else {
        return Ok(None);
    };
    if account.disabled_at.is_some() {
        return Ok(None);
    }
    // The row read says whether the note is due: most requests write nothing
    // and ask nothing more of the store.
    if row.last_used_at.is_none_or(|at| at < now - TOUCH_GAP_MS) {
        store.api_tokens().touch(&row.id, now, TOUCH_GAP_MS).await?;
    }
    let scopes = row.scopes.iter().filter_map(|s| Scope::parse(s).ok());
    Ok(Some(Principal::of(
        &account,
        scopes,
        Credential::Token { id: row.id },
    )))
}

/// The account's tokens, revoked ones included, newest first.
pub async fn list(store: &Store, principal: &Principal) -> Result<Vec<ApiTokenRow>, AccountError> {
    Ok(store.api_tokens().list(&principal.account_id).await?)
}

/// Revoke the account's token `id`.
pub async fn revoke(
    store: &Store,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<(), AccountError> {
    if store
        .api_tokens()
        .revoke(&principal.account_id, id, now)
        .await?
    {
        Ok(())
    } else {
        Err(AccountError::NoSuchToken)
    }
}
