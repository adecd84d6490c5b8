//! The vault's encryption keys: AES-256-GCM, each key with an id so keys
//! can be rotated without losing what the old key sealed.
//!
//! A sealed value is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
//! Every value is sealed with associated data naming what it is (for a
//! connection's token: its id, owner, provider and field; see the vault),
//! so a sealed token copied into another row or field, or left in a row
//! whose owner or provider was changed, does not open there.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use workway_capabilities::secret::Secret;

const NONCE_LEN: usize = 12;

/// Why a key set cannot be used, or a value cannot be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The key configuration is malformed.
    #[error(
        "vault key configuration is invalid: {0}; expected `id:base64key[,id:base64key...]` with 32-byte keys (the first one seals), for example from `workway vault new-key`"
    )]
    BadConfig(String),
    /// A sealed value names a key this host does not have.
    #[error(
        "a stored secret was sealed with vault key `{0}`, which is not configured; add it (after the active key) to the vault keys"
    )]
    UnknownKey(String),
    /// A sealed value is damaged or was moved from where it was sealed.
    #[error("a stored secret cannot be opened: {0}")]
    Corrupt(String),
    /// The operating system's random source failed.
    #[error("no randomness available for a nonce: {0}")]
    Random(String),
}

/// The vault's keys: one active key that seals, any number of older keys
/// that still open what they sealed.
pub struct Keyring {
    active: String,
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("keys", &ids)
            .finish()
    }
}

impl Keyring {
    /// Parse `id:base64key[,id:base64key...]`; the first key is active.
    pub fn parse(spec: &str) -> Result<Keyring, KeyringError> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| KeyringError::BadConfig("an entry has no `id:`".into()))?;
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(KeyringError::BadConfig(format!(
                    "key id `{id}` must be letters, digits, `-` or `_`"
                )));
            }
            let bytes = STANDARD
                .decode(key.trim())
                .map_err(|e| KeyringError::BadConfig(format!("key `{id}` is not base64: {e}")))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| {
                KeyringError::BadConfig(format!("key `{id}` is {} bytes, not 32", bytes.len()))
            })?;
            if keys.iter().any(|(k, _)| k == id) {
                return Err(KeyringError::BadConfig(format!(
                    "key id `{id}` appears twice"
                )));
            }
            keys.push((id.to_string(), cipher));
        }
        let active = keys
            .first()
            .map(|(id, _)| id.clone())
            .ok_or_else(|| KeyringError::BadConfig("no keys given".into()))?;
        Ok(Keyring { active, keys })
    }

    /// A new random key entry, `id:base64key`, for configuration.
    pub fn generate_entry(id: &str) -> Result<String, KeyringError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| KeyringError::Random(e.to_string()))?;
        Ok(format!("{id}:{}", STANDARD.encode(key)))
    }

    /// The id of the key that seals.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    fn cipher(&self, id: &str) -> Option<&Aes256Gcm> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, c)| c)
    }

    /// Encrypt `plaintext` under the active key, bound to `context`.
    pub fn seal(&self, plaintext: &str, context: &str) -> Result<String, KeyringError> {
        let cipher = self
            .cipher(&self.active)
            .ok_or_else(|| KeyringError::UnknownKey(self.active.clone()))?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| KeyringError::Random(e.to_string()))?;
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyringError::Corrupt("encryption failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Ok(format!(
            "v1.{}.{}",
            self.active,
            URL_SAFE_NO_PAD.encode(blob)
        ))
    }

    /// The key id a sealed value was sealed with.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("v1"), Some(id), Some(_)) => Some(id),
            _ => None,
        }
    }

    /// Decrypt a value sealed for `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Secret, KeyringError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyringError::Corrupt("not a v1 sealed value".into()));
        };
        let cipher = self
            .cipher(id)
            .ok_or_else(|| KeyringError::UnknownKey(id.to_string()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| KeyringError::Corrupt("not base64".into()))?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(KeyringError::Corrupt("too short".into()));
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let plaintext = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                KeyringError::Corrupt(format!(
                    "authentication failed (wrong key, damaged, or not sealed for {context})"
                ))
            })?;
        String::from_utf8(plaintext)
            .map(Secret::new)
            .map_err(|_| KeyringError::Corrupt("not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &[&str]) -> Keyring {
        let entries: Vec<String> = spec
            .iter()
            .map(|id| Keyring::generate_entry(id).expect("random"))
            .collect();
        Keyring::parse(&entries.join(",")).expect("valid")
    }

    #[test]
    fn seals_and_opens_bound_to_context() {
        let k = ring(&["k1"]);
        let sealed = k.seal("xoxb-secret", "connection:c1:access").expect("seal");
        assert!(sealed.starts_with("v1.k1."));
        assert!(!sealed.contains("xoxb"));
        assert_eq!(
            k.open(&sealed, "connection:c1:access")
                .expect("open")
                .expose(),
            "xoxb-secret"
        );
        // Moved to another row or field: refused.
        assert!(matches!(
            k.open(&sealed, "connection:c2:access"),
            Err(KeyringError::Corrupt(_))
        ));
        // Two seals of the same value differ (fresh nonce).
        assert_ne!(
            sealed,
            k.seal("xoxb-secret", "connection:c1:access").expect("seal")
        );
    }

    #[test]
    fn rotation_keeps_old_keys_readable() {
        let old_entry = Keyring::generate_entry("old").expect("random");
        let new_entry = Keyring::generate_entry("new").expect("random");
        let old = Keyring::parse(&old_entry).expect("valid");
        let sealed = old.seal("t", "ctx").expect("seal");
        let rotated = Keyring::parse(&format!("{new_entry},{old_entry}")).expect("valid");
        assert_eq!(rotated.active_id(), "new");
        assert_eq!(rotated.open(&sealed, "ctx").expect("open").expose(), "t");
        assert_eq!(
            Keyring::key_id_of(&rotated.seal("t", "ctx").expect("seal")),
            Some("new")
        );
        let without_old = Keyring::parse(&new_entry).expect("valid");
        assert!(matches!(
            without_old.open(&sealed, "ctx"),
            Err(KeyringError::UnknownKey(id)) if id == "old"
        ));
    }

    #[test]
    fn bad_configuration_says_what_is_wrong() {
        for (spec, needle) in [
            ("", "no keys"),
            ("k1", "no `id:`"),
            ("k1:!!!", "not base64"),
            ("k1:AAAA", "not 32"),
            ("k 1:AAAA", "letters"),
        ] {
            let err = Keyring::parse(spec).unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }
}
