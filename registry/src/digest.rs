//! Content digests: components are identified by the sha256 of their bytes.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// The sha256 digest of a component's bytes, its identity everywhere:
/// caches, approvals, usage records.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// Lower-case hex, as shown to people and used in file names.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A component's bytes with their digest, computed once: whoever holds one
/// (the artifact store's verified read, the approval check, the runtime's
/// load) uses the digest instead of hashing tens of MiB again. The fields
/// are private, so the digest is always the one of these bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Digested {
    bytes: Vec<u8>,
    digest: Digest,
}

impl Digested {
    /// `bytes` and their digest.
    pub fn new(bytes: Vec<u8>) -> Self {
        let digest = Digest::of(&bytes);
        Digested { bytes, digest }
    }

    /// `bytes` if their digest is `expected`; otherwise the digest they have.
    pub fn expecting(bytes: Vec<u8>, expected: &Digest) -> Result<Self, Digest> {
        let digested = Digested::new(bytes);
        if digested.digest == *expected {
            Ok(digested)
        } else {
            Err(digested.digest)
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Their digest.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl fmt::Debug for Digested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", self.digest, self.bytes.len())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a text is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a component digest: expected sha256:<64 hex digits>")]
pub struct DigestParseError(String);

impl FromStr for Digest {
    type Err = DigestParseError;

    /// `sha256:<hex>`, or the bare 64 hex digits.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex_part = text.strip_prefix("sha256:").unwrap_or(text);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes)
            .map_err(|_| DigestParseError(text.to_string()))?;
        Ok(Digest(bytes))
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_print_and_parse_back() {
        let d = Digest::of(b"component");
        let text = d.to_string();
        assert!(text.starts_with("sha256:") && text.len() == 71, "{text}");
        assert_eq!(text.parse::<Digest>(), Ok(d));
        assert_eq!(d.to_hex().parse::<Digest>(), Ok(d));
        assert!("sha256:xyz".parse::<Digest>().is_err());
        assert!("sha256:".parse::<Digest>().is_err());
    }

    #[test]
    fn digested_bytes_carry_their_own_digest_and_nothing_else() {
        let component = Digested::new(b"component".to_vec());
        assert_eq!(component.digest(), Digest::of(b"component"));
        assert_eq!(component.bytes(), b"component");
        assert_eq!(
            Digested::expecting(b"component".to_vec(), &Digest::of(b"component")),
            Ok(component.clone())
        );
        assert_eq!(
            Digested::expecting(b"componenT".to_vec(), &Digest::of(b"component")),
            Err(Digest::of(b"componenT")),
            "other bytes are refused with the digest they have"
        );
        assert_eq!(component.into_bytes(), b"component".to_vec());
    }
}
