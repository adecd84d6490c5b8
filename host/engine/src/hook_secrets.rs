//! A webhook workflow's signing secret (`whsec_...`): made when the
//! workflow becomes a webhook workflow or its secret is rotated (or, for
//! a sender that makes its own, such as Stripe or Slack, set by the
//! owner), sealed with the vault's keyring under the hook's token, and
//! opened to verify deliveries and to show its owner.

use base64::Engine as _;
use workway_vault::KeyringError;
use workway_workflow::webhook::WebhookFormat;

use crate::platform::Platform;

/// Why a signing secret could not be made, sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The system has no randomness to draw a secret from.
    #[error("no randomness for a webhook secret: {0}")]
    Randomness(getrandom::Error),
    /// The keyring could not seal or open it (a missing or rotated key, a
    /// damaged sealed value).
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

/// A new signing secret: `whsec_` and 32 random bytes, base64url.
pub fn new_secret() -> Result<String, SecretError> {
    new_secret_for(WebhookFormat::Workway)
}

/// A new signing secret a `format` sender can use: for Standard Webhooks
/// `whsec_` and the standard base64 (padded) of 32 random bytes, the
/// specification's shape, whose bytes are the key; for the others
/// `whsec_` and 32 random bytes in base64url, the whole string the key
/// (GitHub takes any secret typed in; Stripe and Slack make their own,
/// which the owner sets in place of this one).
pub fn new_secret_for(format: WebhookFormat) -> Result<String, SecretError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(SecretError::Randomness)?;
    let encoded = match format {
        WebhookFormat::StandardWebhooks => base64::engine::general_purpose::STANDARD.encode(bytes),
        _ => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    };
    Ok(format!("whsec_{encoded}"))
}

fn context(token: &str) -> String {
    format!("webhook-secret:{token}")
}

/// `secret` sealed with the vault's keyring, for the store.
pub fn seal_secret(platform: &Platform, token: &str, secret: &str) -> Result<String, SecretError> {
    Ok(platform.vault.keyring().seal(secret, &context(token))?)
}

/// The signing secret of the webhook workflow with `token`, for its owner.
pub fn open_secret(platform: &Platform, token: &str, sealed: &str) -> Result<String, SecretError> {
    Ok(platform
        .vault
        .keyring()
        .open(sealed, &context(token))?
        .expose()
        .to_string())
}
