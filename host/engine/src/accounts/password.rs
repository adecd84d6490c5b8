//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes,
//! one lane), a random salt per hash, stored as a PHC string. Hashing takes
//! tens of milliseconds by design, so it runs on the blocking pool, never
//! on the threads that serve requests and drive runs.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::AccountError;

/// The shortest password accepted, in characters.
pub const MIN_CHARS: usize = 10;
/// The longest password accepted, in bytes: bounds the work one request
/// can ask of the hasher.
pub const MAX_BYTES: usize = 1024;

/// The hasher: argon2id, m = 19456 KiB, t = 2, p = 1 (OWASP's first
/// recommended configuration).
fn argon2() -> Result<Argon2<'static>, AccountError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| AccountError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Whether `password` may be set: long enough, not absurdly long.
pub fn check_policy(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_CHARS {
        return Err(AccountError::WeakPassword(format!(
            "a password needs at least {MIN_CHARS} characters"
        )));
    }
    if password.len() > MAX_BYTES {
        return Err(AccountError::WeakPassword(format!(
            "a password may have at most {MAX_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Hash `password` with a new random salt.
pub async fn hash(password: &str) -> Result<String, AccountError> {
    let password = password.to_string();
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Random(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

/// Whether `password` matches the stored `phc` hash. A password longer
/// than [`MAX_BYTES`] never matches (and is not hashed).
pub async fn verify(password: &str, phc: &str) -> Result<bool, AccountError> {
    if password.len() > MAX_BYTES {
        return Ok(false);
    }
    let password = password.to_string();
    let phc = phc.to_string();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| AccountError::Hash(e.to_string()))?;
        Ok(argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

/// Spend the time a real verification takes, for a sign-in with an
/// unknown email, so response times do not tell which emails have
/// accounts.
pub async fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = match DUMMY.get() {
        Some(d) => d.clone(),
        None => match hash("not the password of anyone").await {
            Ok(h) => DUMMY.get_or_init(|| h).clone(),
            Err(_) => return,
        },
    };
    let _ = verify(password, &dummy).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id_with_owasp_parameters() {
        let h = hash("correct horse battery").await.expect("hashed");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h).await.expect("verified"));
        assert!(!verify("wrong horse battery", &h).await.expect("verified"));
        let again = hash("correct horse battery").await.expect("hashed");
        assert_ne!(h, again, "a new salt each time");
        assert!(
            !verify(&"x".repeat(MAX_BYTES + 1), &h)
                .await
                .expect("refused")
        );
    }

    #[test]
    fn the_policy_names_what_is_wrong() {
        let err = check_policy("short").expect_err("too short");
        assert!(err.to_string().contains("at least 10"), "{err}");
        assert!(check_policy(&"x".repeat(MAX_BYTES + 1)).is_err());
        assert!(check_policy("long enough pass").is_ok());
    }
}
