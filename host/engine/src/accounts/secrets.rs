//! The opaque secrets that identify a session or an API token: random,
//! shown to their holder once, stored only as their SHA-256 digest, so a
//! copy of the database authenticates nobody.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::AccountError;

/// A new secret: `prefix` then 32 random bytes, base64url without padding.
pub fn random_secret(prefix: &str) -> Result<String, AccountError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AccountError::Random(e.to_string()))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The digest a secret is stored and looked up by (SHA-256, hex).
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of a session: derived from the session's id, so it
/// needs no storage, and known only to a page that was given it (the id
/// itself lives in an `HttpOnly` cookie that scripts and other sites
/// cannot read).
pub fn csrf_token(session_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"workway csrf\0");
    hash.update(session_id.as_bytes());
    hex::encode(hash.finalize())
}

/// Whether two strings are equal, in time that depends only on their
/// lengths (for comparing a presented CSRF token).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new record id: `prefix` then a random UUID's 32 hex digits.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_digests_stable() {
        let a = random_secret("wwk_").expect("random");
        let b = random_secret("wwk_").expect("random");
        assert!(a.starts_with("wwk_") && a.len() == 4 + 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
        assert_ne!(csrf_token(&a), digest(&a));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
