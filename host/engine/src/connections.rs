//! API-key connections: an account at a provider connected with a key the
//! user already holds (a Stripe restricted key, a Notion internal
//! integration secret, a Slack bot token) instead of the OAuth flow. The
//! key is checked here, the one place for every way in (the API and the
//! command line), then sealed in the vault exactly like an OAuth token and
//! never shown again.
//!
//! A pasted key's scopes are what the user says they are: for a provider
//! whose tokens carry scopes (Google, Slack, Stripe) at least one is
//! required, spelled the way the provider spells it, because a connection
//! is handed only to installations approved for every scope it records,
//! and one that records none could reach anything. Notion's tokens carry
//! none (the user picks the pages when making the integration), so scopes
//! are refused for it.

use workway_capabilities::ConnectionInfo;
use workway_capabilities::secret::Secret;
use workway_registry::manifest::{KNOWN_PROVIDERS, SCOPELESS_PROVIDERS};
use workway_registry::scopes::scope_problem;
use workway_vault::VaultError;
use workway_vault::oauth::token::TokenSet;

use crate::platform::Platform;

/// The longest key taken, in bytes. Provider keys are far shorter (a
/// Google access token, the longest, is at most 2048 bytes); the bound
/// keeps an accidental paste of a file out of the vault.
pub const MAX_SECRET_BYTES: usize = 4096;

/// The longest account name taken, in characters.
pub const MAX_ACCOUNT_CHARS: usize = 200;

/// The most scopes one key may record.
pub const MAX_SCOPES: usize = 100;

/// The longest scope taken, in bytes.
pub const MAX_SCOPE_BYTES: usize = 256;

/// Why a key was not connected. [`KeyConnectionError::field`] names the
/// input that was wrong.
#[derive(Debug, thiserror::Error)]
pub enum KeyConnectionError {
    /// The provider is not one the platform knows.
    #[error("unknown provider `{0}`; use one of: {known}", known = KNOWN_PROVIDERS.join(", "))]
    UnknownProvider(String),
    /// The provider's tokens carry scopes and none were named.
    #[error(
        "name the scopes the `{provider}` token was granted (like `{example}`): the connection is handed only to integrations approved for all of them"
    )]
    ScopesMissing {
        /// The provider.
        provider: String,
        /// A scope the provider really grants, for the message.
        example: &'static str,
    },
    /// The provider's tokens carry no scopes and some were named.
    #[error(
        "`{0}` tokens carry no scopes (the user picks what they reach when creating them); connect without scopes"
    )]
    ScopesRefused(String),
    /// One scope is empty, several words, too long, or not the provider's.
    #[error("{0}")]
    InvalidScope(String),
    /// More than [`MAX_SCOPES`] scopes.
    #[error("at most {MAX_SCOPES} scopes may be named, not {0}")]
    TooManyScopes(usize),
    /// The key is empty (or only whitespace).
    #[error("the key is empty: paste the key the provider issued")]
    EmptySecret,
    /// The key is longer than [`MAX_SECRET_BYTES`].
    #[error("the key is {0} bytes long; keys are at most {MAX_SECRET_BYTES}: paste the key alone")]
    SecretTooLong(usize),
    /// The key holds whitespace, a control character or non-ASCII text.
    #[error(
        "the key holds whitespace, a control character or a non-ASCII character: paste the key alone, exactly as the provider shows it"
    )]
    SecretMalformed,
    /// The account name is longer than [`MAX_ACCOUNT_CHARS`].
    #[error("the account name is {0} characters long; at most {MAX_ACCOUNT_CHARS} are taken")]
    AccountTooLong(usize),
    /// The account name holds a control character.
    #[error("the account name holds a control character (a line break, a tab...)")]
    AccountMalformed,
    /// The vault could not seal or store the key.
    #[error(transparent)]
    Vault(VaultError),
}

impl KeyConnectionError {
    /// The input that was wrong (`provider`, `scopes`, `secret` or
    /// `account`); `None` when the platform failed.
    pub fn field(&self) -> Option<&'static str> {
        use KeyConnectionError as E;
        match self {
            E::UnknownProvider(_) => Some("provider"),
            E::ScopesMissing { .. }
            | E::ScopesRefused(_)
            | E::InvalidScope(_)
            | E::TooManyScopes(_) => Some("scopes"),
            E::EmptySecret | E::SecretTooLong(_) | E::SecretMalformed => Some("secret"),
            E::AccountTooLong(_) | E::AccountMalformed => Some("account"),
            E::Vault(_) => None,
        }
    }
}

/// A key checked by [`check`], ready to be sealed.
#[derive(Debug)]
pub struct CheckedKey {
    /// The provider.
    pub provider: String,
    /// The key, without surrounding whitespace.
    pub secret: Secret,
    /// The account's name, trimmed; `None` when none or blank.
    pub account: Option<String>,
    /// The scopes the key was granted, sorted, without repeats.
    pub scopes: Vec<String>,
}

/// A scope `provider` really grants, to show in a message.
pub fn example_scope(provider: &str) -> &'static str {
    match provider {
        "google" => "https://www.googleapis.com/auth/gmail.modify",
        "slack" => "chat:write",
        _ => "read_write",
    }
}

/// Check a key for `provider` as a user gave it: the provider known; its
/// scopes present when the provider's tokens carry scopes, absent when
/// they carry none, each spelled the provider's way; the key one word of
/// visible ASCII (surrounding whitespace, such as a pasted line break, is
/// dropped) of at most [`MAX_SECRET_BYTES`]; the account name at most
/// [`MAX_ACCOUNT_CHARS`] without control characters.
pub fn check(
    provider: &str,
    secret: &str,
    account: Option<&str>,
    scopes: &[String],
) -> Result<CheckedKey, KeyConnectionError> {
    if !KNOWN_PROVIDERS.contains(&provider) {
        let shown: String = provider.chars().take(40).collect();
        return Err(KeyConnectionError::UnknownProvider(shown));
    }
    let scopes = checked_scopes(provider, scopes)?;
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(KeyConnectionError::EmptySecret);
    }
    if secret.len() > MAX_SECRET_BYTES {
        return Err(KeyConnectionError::SecretTooLong(secret.len()));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeyConnectionError::SecretMalformed);
    }
    let account = account.map(str::trim).filter(|a| !a.is_empty());
    if let Some(account) = account {
        let chars = account.chars().count();
        if chars > MAX_ACCOUNT_CHARS {
            return Err(KeyConnectionError::AccountTooLong(chars));
        }
        if account.chars().any(char::is_control) {
            return Err(KeyConnectionError::AccountMalformed);
        }
    }
    Ok(CheckedKey {
        provider: provider.to_string(),
        secret: Secret::new(secret),
        account: account.map(str::to_string),
        scopes,
    })
}

/// The scopes a user says `provider`'s token was granted, checked, sorted
/// and without repeats.
fn checked_scopes(provider: &str, scopes: &[String]) -> Result<Vec<String>, KeyConnectionError> {
    if SCOPELESS_PROVIDERS.contains(&provider) {
        if !scopes.is_empty() {
            return Err(KeyConnectionError::ScopesRefused(provider.to_string()));
        }
        return Ok(Vec::new());
    }
    if scopes.is_empty() {
        return Err(KeyConnectionError::ScopesMissing {
            provider: provider.to_string(),
            example: example_scope(provider),
        });
    }
    if scopes.len() > MAX_SCOPES {
        return Err(KeyConnectionError::TooManyScopes(scopes.len()));
    }
    let mut checked = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let scope = scope.trim();
        if scope.is_empty() {
            return Err(KeyConnectionError::InvalidScope(
                "a scope is empty: name a scope the token was granted".into(),
            ));
        }
        if scope.len() > MAX_SCOPE_BYTES {
            return Err(KeyConnectionError::InvalidScope(format!(
                "a scope is {} bytes long; scopes are at most {MAX_SCOPE_BYTES}",
                scope.len()
            )));
        }
        if scope.contains(char::is_whitespace) {
            return Err(KeyConnectionError::InvalidScope(format!(
                "scope {scope:?} holds more than one word: name each scope separately"
            )));
        }
        if let Some(problem) = scope_problem(provider, scope) {
            return Err(KeyConnectionError::InvalidScope(problem));
        }
        checked.push(scope.to_string());
    }
    checked.sort_unstable();
    checked.dedup();
    Ok(checked)
}

/// Seal `key` in the vault as a connection of `owner`; the connection's
/// handle (never the key).
pub async fn connect(
    platform: &Platform,
    owner: &str,
    key: &CheckedKey,
) -> Result<ConnectionInfo, KeyConnectionError> {
    platform
        .vault
        .save(
            owner,
            &key.provider,
            &key.scopes,
            &TokenSet {
                access_token: key.secret.clone(),
                refresh_token: None,
                expires_at: None,
                scopes: None,
                account: key.account.clone(),
            },
        )
        .await
        .map_err(|e| match e {
            VaultError::UnknownProvider(p) => KeyConnectionError::UnknownProvider(p),
            e => KeyConnectionError::Vault(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn field_of(
        provider: &str,
        secret: &str,
        account: Option<&str>,
        list: &[&str],
    ) -> Option<&'static str> {
        check(provider, secret, account, &scopes(list))
            .err()
            .and_then(|e| e.field())
    }

    #[test]
    fn a_good_key_is_trimmed_and_its_scopes_sorted_without_repeats() {
        let key = check(
            "slack",
            "  xoxb-123-abc\n",
            Some("  Acme workspace "),
            &scopes(&["users:read", " chat:write", "users:read"]),
        )
        .expect("valid");
        assert_eq!(key.provider, "slack");
        assert_eq!(key.secret.expose(), "xoxb-123-abc");
        assert_eq!(key.account.as_deref(), Some("Acme workspace"));
        assert_eq!(key.scopes, ["chat:write", "users:read"]);
        let notion = check("notion", "secret_abc", Some("   "), &[]).expect("valid");
        assert!(!format!("{notion:?}").contains("secret_abc"), "{notion:?}");
        assert_eq!((notion.account, notion.scopes.len()), (None, 0));
    }

    #[test]
    fn each_wrong_input_is_named() {
        let google = "https://www.googleapis.com/auth/calendar.readonly";
        assert_eq!(field_of("github", "k", None, &[]), Some("provider"));
        assert_eq!(field_of("google", "k", None, &[]), Some("scopes"));
        assert_eq!(field_of("stripe", "k", None, &[]), Some("scopes"));
        assert_eq!(field_of("notion", "k", None, &["read"]), Some("scopes"));
        assert_eq!(
            field_of("google", "k", None, &["chat:write"]),
            Some("scopes")
        );
        assert_eq!(
            field_of("slack", "k", None, &["chat:write users:read"]),
            Some("scopes")
        );
        assert_eq!(field_of("slack", "k", None, &[" "]), Some("scopes"));
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("r{i}:read")).collect();
        assert!(matches!(
            check("slack", "k", None, &many),
            Err(KeyConnectionError::TooManyScopes(n)) if n == MAX_SCOPES + 1
        ));
        assert_eq!(field_of("google", " \n", None, &[google]), Some("secret"));
        assert_eq!(
            field_of("google", "ya29 x", None, &[google]),
            Some("secret")
        );
        assert_eq!(
            field_of("google", "ya29\u{7}", None, &[google]),
            Some("secret")
        );
        assert_eq!(field_of("google", "ya29é", None, &[google]), Some("secret"));
        let long = "k".repeat(MAX_SECRET_BYTES + 1);
        assert_eq!(field_of("google", &long, None, &[google]), Some("secret"));
        let longest = "k".repeat(MAX_SECRET_BYTES);
        assert_eq!(field_of("google", &longest, None, &[google]), None);
        let name = "a".repeat(MAX_ACCOUNT_CHARS + 1);
        assert_eq!(field_of("notion", "k", Some(&name), &[]), Some("account"));
        assert_eq!(field_of("notion", "k", Some("a\nb"), &[]), Some("account"));
    }

    #[test]
    fn refusals_say_what_to_do() {
        let missing = check("google", "k", None, &[]).expect_err("refused");
        assert!(
            missing
                .to_string()
                .contains("name the scopes the `google` token was granted"),
            "{missing}"
        );
        let notion = check("notion", "k", None, &scopes(&["read"])).expect_err("refused");
        assert!(
            notion
                .to_string()
                .contains("`notion` tokens carry no scopes"),
            "{notion}"
        );
        let misspelled = check("google", "k", None, &scopes(&["chat:write"])).expect_err("refused");
        assert!(
            misspelled.to_string().contains("has no scope `chat:write`"),
            "{misspelled}"
        );
    }
}
