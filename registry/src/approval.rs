//! Signed approvals: a reviewer's decision bound to exactly the bytes and
//! the capabilities they reviewed.
//!
//! An approval is an ed25519 signature by the platform's review key over
//! [`ApprovalClaims`]: the component's digest, the manifest's hash, the
//! hosts and scopes approved, and the contract version. A host verifies it
//! with the review key's public half before it loads a component, and the
//! egress broker takes the approved hosts from the verified claims, never
//! from a manifest on disk.
//!
//! Revocations are signed the same way ([`RevocationClaims`], under their
//! own context line) and carry their number in the registry's revocation
//! log, so a host reading the log detects an edited, renumbered or deleted
//! revocation instead of running what was revoked.
//!
//! A key is either a platform key (configured on the host; it signs for
//! the configured reviewers) or a reviewer's own key
//! ([`TrustedKeys::with_reviewer_key`]): then it speaks only for that
//! reviewer account, so an approval or revocation it signs must name that
//! account, and once the key is retired it is trusted only for approvals
//! made before.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::digest::{Digest, Digested};
use crate::manifest::Manifest;

/// Domain separation: these bytes start every signed message, so a review
/// signature can never be replayed as anything else.
const CONTEXT: &[u8] = b"workway-approval-v1\n";

/// Domain separation for revocations: an approval's signature never
/// verifies as a revocation's, nor the reverse.
const REVOCATION_CONTEXT: &[u8] = b"workway-revocation-v1\n";

/// What an approval binds together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalClaims {
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The sha256 of the component's bytes.
    pub digest: Digest,
    /// The sha256 (hex) of the manifest's text as submitted.
    pub manifest_sha256: String,
    /// The outbound host patterns approved.
    pub hosts: Vec<String>,
    /// The OAuth scopes approved, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
    /// The `workway:plugin` contract version the component targets.
    pub contract_version: String,
    /// The reviewer who approved.
    pub approved_by: String,
    /// When (Unix ms).
    pub approved_at: i64,
}

impl ApprovalClaims {
    /// The claims for `manifest` (whose text is `manifest_text`) and the
    /// component with `digest`, approved by `reviewer` at `now`.
    pub fn new(
        manifest: &Manifest,
        manifest_text: &str,
        digest: Digest,
        contract_version: &str,
        reviewer: &str,
        now: i64,
    ) -> Self {
        ApprovalClaims {
            integration: manifest.name.clone(),
            version: manifest.version.clone(),
            digest,
            manifest_sha256: manifest_sha256(manifest_text),
            hosts: manifest.http.hosts.clone(),
            scopes: manifest
                .oauth
                .iter()
                .map(|(provider, r)| (provider.clone(), r.scopes.clone()))
                .collect(),
            contract_version: contract_version.to_string(),
            approved_by: reviewer.to_string(),
            approved_at: now,
        }
    }

    /// The approved host patterns, parsed (an entry that does not parse was
    /// never approvable; it is left out, so it allows nothing).
    pub fn host_patterns(&self) -> Vec<crate::hosts::HostPattern> {
        self.hosts.iter().filter_map(|h| h.parse().ok()).collect()
    }

    /// The exact bytes signed: the context line, then the claims as JSON
    /// (struct fields in declaration order, maps sorted: deterministic).
    fn message(&self) -> Vec<u8> {
        signed_message(CONTEXT, self)
    }
}

/// The context line, then `claims` as JSON.
fn signed_message(context: &[u8], claims: &impl Serialize) -> Vec<u8> {
    let mut message = context.to_vec();
    // Serializing plain strings, integers and maps cannot fail.
    message.extend(serde_json::to_vec(claims).unwrap_or_default());
    message
}

/// What a revocation binds together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationClaims {
    /// Its number in the registry's revocation log (1, 2, 3, ...).
    pub seq: i64,
    /// The revoked submission.
    pub submission_id: String,
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The revoked component's digest: hosts stop starting it.
    pub digest: Digest,
    /// The reviewer who revoked.
    pub revoked_by: String,
    /// Why.
    pub reason: String,
    /// When (Unix ms, the revoking process's clock: for the record only).
    pub revoked_at: i64,
}

/// Revocation claims with the review key's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRevocation {
    /// What was revoked.
    pub claims: RevocationClaims,
    /// The id of the review key that signed.
    pub key_id: String,
    /// The ed25519 signature over the claims, base64.
    pub signature: String,
}

/// The hex sha256 of a manifest's text.
pub fn manifest_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Claims with the review key's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedApproval {
    /// What was approved.
    pub claims: ApprovalClaims,
    /// The id of the review key that signed.
    pub key_id: String,
    /// The ed25519 signature over the claims, base64.
    pub signature: String,
}

/// Why an approval or a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// A key's text is malformed.
    #[error(
        "review key `{0}` must be KEY_ID:BASE64 of 32 bytes (make one with `workway review new-key`)"
    )]
    MalformedKey(String),
    /// The approval names a key this host does not trust.
    #[error("it is signed by review key `{0}`, which this host does not trust")]
    UnknownKey(String),
    /// A reviewer's key signed a record that names another reviewer.
    #[error("it is signed by review key `{key_id}` of reviewer `{reviewer}` but names `{named}`")]
    NotTheReviewer {
        /// The key.
        key_id: String,
        /// The reviewer account the key belongs to.
        reviewer: String,
        /// Who the record says acted.
        named: String,
    },
    /// The approval was made after its reviewer's key was retired.
    #[error("it is signed by review key `{0}` after that key was retired")]
    RetiredKey(String),
    /// The signature does not verify: the claims were changed after signing
    /// or were never signed by that key.
    #[error("the signature does not verify: the record was altered or not signed by key `{0}`")]
    BadSignature(String),
    /// The approval is for other bytes.
    #[error("the approval is for component {approved}, not {actual}")]
    WrongComponent {
        /// The digest approved.
        approved: Digest,
        /// The digest of the bytes at hand.
        actual: Digest,
    },
    /// The manifest at hand is not the one approved.
    #[error("the manifest was changed after approval (approved sha256 {approved}, now {actual})")]
    WrongManifest {
        /// The hash approved.
        approved: String,
        /// The hash of the manifest at hand.
        actual: String,
    },
}

/// The platform's review key: signs approvals.
pub struct ReviewKey {
    id: String,
    key: SigningKey,
}

impl ReviewKey {
    /// Parse `KEY_ID:BASE64` (the 32-byte ed25519 seed).
    pub fn parse(text: &str) -> Result<Self, ApprovalError> {
        let malformed = || {
            ApprovalError::MalformedKey(
                text.split_once(':')
                    .map_or("<hidden>".to_string(), |(id, _)| id.to_string()),
            )
        };
        let (id, b64) = text.trim().split_once(':').ok_or_else(malformed)?;
        let seed: [u8; 32] = STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(malformed)?;
        if id.is_empty() {
            return Err(malformed());
        }
        Ok(ReviewKey {
            id: id.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A new random key as `KEY_ID:BASE64`.
    pub fn generate(id: &str) -> Result<String, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(format!("{id}:{}", STANDARD.encode(seed)))
    }

    /// A key with id `id` from its 32-byte ed25519 seed.
    pub fn from_seed(id: &str, seed: [u8; 32]) -> Self {
        ReviewKey {
            id: id.to_string(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The 32-byte seed, base64: the secret to store (sealed).
    pub fn seed_base64(&self) -> String {
        STANDARD.encode(self.key.to_bytes())
    }

    /// The public half alone, base64 of its 32 bytes.
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    /// The public half, as `KEY_ID:BASE64`, for hosts to trust.
    pub fn public(&self) -> String {
        format!(
            "{}:{}",
            self.id,
            STANDARD.encode(self.key.verifying_key().to_bytes())
        )
    }

    /// Sign `claims`.
    pub fn sign(&self, claims: ApprovalClaims) -> SignedApproval {
        let signature = self.key.sign(&claims.message());
        SignedApproval {
            claims,
            key_id: self.id.clone(),
            signature: STANDARD.encode(signature.to_bytes()),
        }
    }

    /// Sign a revocation.
    pub fn sign_revocation(&self, claims: RevocationClaims) -> SignedRevocation {
        let signature = self.key.sign(&signed_message(REVOCATION_CONTEXT, &claims));
        SignedRevocation {
            claims,
            key_id: self.id.clone(),
            signature: STANDARD.encode(signature.to_bytes()),
        }
    }
}

impl std::fmt::Debug for ReviewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The review keys a host trusts (public halves), each a platform key or
/// a reviewer account's own.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, TrustedKey>,
}

#[derive(Debug, Clone)]
struct TrustedKey {
    key: VerifyingKey,
    /// The reviewer account the key speaks for; none for a platform key.
    reviewer: Option<String>,
    /// When the reviewer's key was retired (Unix ms), if it was.
    retired_at: Option<i64>,
}

impl TrustedKey {
    fn platform(key: VerifyingKey) -> Self {
        TrustedKey {
            key,
            reviewer: None,
            retired_at: None,
        }
    }

    /// Whether `named` may act under this key.
    fn speaks_for(&self, key_id: &str, named: &str) -> Result<(), ApprovalError> {
        match &self.reviewer {
            Some(reviewer) if reviewer != named => Err(ApprovalError::NotTheReviewer {
                key_id: key_id.to_string(),
                reviewer: reviewer.clone(),
                named: named.to_string(),
            }),
            _ => Ok(()),
        }
    }
}

impl TrustedKeys {
    /// Parse comma-separated `KEY_ID:BASE64` public keys.
    pub fn parse(list: &str) -> Result<Self, ApprovalError> {
        let mut keys = BTreeMap::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let malformed = || ApprovalError::MalformedKey(entry.to_string());
            let (id, b64) = entry.split_once(':').ok_or_else(malformed)?;
            let bytes: [u8; 32] = STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(malformed)?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|_| malformed())?;
            keys.insert(id.to_string(), TrustedKey::platform(key));
        }
        Ok(TrustedKeys { keys })
    }

    /// Trust `key`'s public half too.
    pub fn with(mut self, key: &ReviewKey) -> Self {
        self.keys.insert(
            key.id.clone(),
            TrustedKey::platform(key.key.verifying_key()),
        );
        self
    }

    /// Trust reviewer `account`'s own key `key_id` (`public`: base64 of
    /// its 32 bytes), retired at `retired_at` if it was: it verifies only
    /// records naming `account`, and approvals made before its retirement.
    pub fn with_reviewer_key(
        mut self,
        key_id: &str,
        public: &str,
        account: &str,
        retired_at: Option<i64>,
    ) -> Result<Self, ApprovalError> {
        let malformed = || ApprovalError::MalformedKey(key_id.to_string());
        let bytes: [u8; 32] = STANDARD
            .decode(public)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(malformed)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| malformed())?;
        if key_id.is_empty() {
            return Err(malformed());
        }
        self.keys.insert(
            key_id.to_string(),
            TrustedKey {
                key,
                reviewer: Some(account.to_string()),
                retired_at,
            },
        );
        Ok(self)
    }

    /// Trust `other`'s keys too; a key id this set already trusts keeps
    /// its meaning here.
    pub fn extend(&mut self, other: &TrustedKeys) {
        for (id, key) in &other.keys {
            self.keys.entry(id.clone()).or_insert_with(|| key.clone());
        }
    }

    /// The reviewer account key `key_id` speaks for, if it is a
    /// reviewer's own key.
    pub fn reviewer_of(&self, key_id: &str) -> Option<&str> {
        self.keys.get(key_id)?.reviewer.as_deref()
    }

    /// Whether a key with this id is trusted.
    pub fn contains(&self, key_id: &str) -> bool {
        self.keys.contains_key(key_id)
    }

    /// The claims of `approval` if its signature verifies with a trusted key.
    pub fn verify<'a>(
        &self,
        approval: &'a SignedApproval,
    ) -> Result<&'a ApprovalClaims, ApprovalError> {
        let key = self.check(
            &approval.key_id,
            &approval.signature,
            &approval.claims.message(),
        )?;
        key.speaks_for(&approval.key_id, &approval.claims.approved_by)?;
        if key
            .retired_at
            .is_some_and(|retired| approval.claims.approved_at >= retired)
        {
            return Err(ApprovalError::RetiredKey(approval.key_id.clone()));
        }
        Ok(&approval.claims)
    }

    /// The claims of `revocation` if its signature verifies with a trusted
    /// key. A retired reviewer key still verifies revocations: the log
    /// must stay whole, and a revocation only ever stops a component.
    pub fn verify_revocation<'a>(
        &self,
        revocation: &'a SignedRevocation,
    ) -> Result<&'a RevocationClaims, ApprovalError> {
        let key = self.check(
            &revocation.key_id,
            &revocation.signature,
            &signed_message(REVOCATION_CONTEXT, &revocation.claims),
        )?;
        key.speaks_for(&revocation.key_id, &revocation.claims.revoked_by)?;
        Ok(&revocation.claims)
    }

    fn check(
        &self,
        key_id: &str,
        signature: &str,
        message: &[u8],
    ) -> Result<&TrustedKey, ApprovalError> {
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| ApprovalError::UnknownKey(key_id.to_string()))?;
        let bad = || ApprovalError::BadSignature(key_id.to_string());
        let bytes: [u8; 64] = STANDARD
            .decode(signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        key.key
            .verify(message, &Signature::from_bytes(&bytes))
            .map_err(|_| bad())?;
        Ok(key)
    }

    /// Verify `approval` and that it covers exactly `component` and
    /// `manifest_text`: what a host checks before loading. The component
    /// comes with its digest, computed once when it was read.
    pub fn verify_for<'a>(
        &self,
        approval: &'a SignedApproval,
        component: &Digested,
        manifest_text: &str,
    ) -> Result<&'a ApprovalClaims, ApprovalError> {
        let claims = self.verify(approval)?;
        let actual = component.digest();
        if claims.digest != actual {
            return Err(ApprovalError::WrongComponent {
                approved: claims.digest,
                actual,
            });
        }
        let actual = manifest_sha256(manifest_text);
        if claims.manifest_sha256 != actual {
            return Err(ApprovalError::WrongManifest {
                approved: claims.manifest_sha256.clone(),
                actual,
            });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
name = "slack"
version = "0.1.0"
publisher = "workway"
description = "Slack."

[actions.send-message]
description = "Post."

[oauth.slack]
scopes = ["chat:write"]

[http]
hosts = ["https://slack.com"]
"#;

    fn signed() -> (ReviewKey, SignedApproval) {
        let key =
            ReviewKey::parse(&ReviewKey::generate("review-1").expect("random")).expect("valid");
        let manifest = Manifest::from_toml(MANIFEST).expect("valid");
        let claims = ApprovalClaims::new(
            &manifest,
            MANIFEST,
            Digest::of(b"component"),
            "0.1.0",
            "rita",
            1,
        );
        let approval = key.sign(claims);
        (key, approval)
    }

    #[test]
    fn an_approval_verifies_for_its_bytes_and_manifest_only() {
        let (key, approval) = signed();
        let trusted = TrustedKeys::parse(&key.public()).expect("valid");
        let claims = trusted
            .verify_for(&approval, &Digested::new(b"component".to_vec()), MANIFEST)
            .expect("verifies");
        assert_eq!(claims.hosts, ["https://slack.com"]);
        assert!(matches!(
            trusted.verify_for(&approval, &Digested::new(b"componenT".to_vec()), MANIFEST),
            Err(ApprovalError::WrongComponent { .. })
        ));
        let widened = MANIFEST.replace("https://slack.com", "https://*");
        assert!(matches!(
            trusted.verify_for(&approval, &Digested::new(b"component".to_vec()), &widened),
            Err(ApprovalError::WrongManifest { .. })
        ));
    }

    #[test]
    fn a_revocation_signature_covers_its_number_and_is_not_an_approval() {
        let (key, approval) = signed();
        let trusted = TrustedKeys::default().with(&key);
        let revocation = key.sign_revocation(RevocationClaims {
            seq: 3,
            submission_id: "sub_1".into(),
            integration: "slack".into(),
            version: "0.1.0".into(),
            digest: approval.claims.digest,
            revoked_by: "rita".into(),
            reason: "leaks".into(),
            revoked_at: 7,
        });
        assert_eq!(
            trusted
                .verify_revocation(&revocation)
                .expect("verifies")
                .seq,
            3
        );
        let mut renumbered = revocation.clone();
        renumbered.claims.seq = 2;
        assert!(matches!(
            trusted.verify_revocation(&renumbered),
            Err(ApprovalError::BadSignature(_))
        ));
        let mut retargeted = revocation.clone();
        retargeted.claims.digest = Digest::of(b"other");
        assert!(trusted.verify_revocation(&retargeted).is_err());
        let as_approval = SignedApproval {
            signature: revocation.signature.clone(),
            ..approval
        };
        assert!(trusted.verify(&as_approval).is_err());
    }

    #[test]
    fn a_reviewer_key_speaks_only_for_its_reviewer_and_not_after_retirement() {
        let key = ReviewKey::from_seed("rk-1", [7; 32]);
        let manifest = Manifest::from_toml(MANIFEST).expect("valid");
        let claims = |reviewer: &str, at: i64| {
            ApprovalClaims::new(
                &manifest,
                MANIFEST,
                Digest::of(b"component"),
                "0.1.0",
                reviewer,
                at,
            )
        };
        let trusted = TrustedKeys::default()
            .with_reviewer_key("rk-1", &key.public_base64(), "acc_rita", None)
            .expect("valid");
        assert_eq!(trusted.reviewer_of("rk-1"), Some("acc_rita"));
        assert!(trusted.contains("rk-1"));
        let own = key.sign(claims("acc_rita", 10));
        assert!(trusted.verify(&own).is_ok());
        let other = key.sign(claims("acc_rob", 10));
        assert!(matches!(
            trusted.verify(&other),
            Err(ApprovalError::NotTheReviewer { .. })
        ));
        let revocation = key.sign_revocation(RevocationClaims {
            seq: 1,
            submission_id: "sub_1".into(),
            integration: "slack".into(),
            version: "0.1.0".into(),
            digest: Digest::of(b"component"),
            revoked_by: "acc_rob".into(),
            reason: "leaks".into(),
            revoked_at: 20,
        });
        assert!(matches!(
            trusted.verify_revocation(&revocation),
            Err(ApprovalError::NotTheReviewer { .. })
        ));

        let retired = TrustedKeys::default()
            .with_reviewer_key("rk-1", &key.public_base64(), "acc_rita", Some(15))
            .expect("valid");
        assert!(retired.verify(&own).is_ok(), "made before retirement");
        let late = key.sign(claims("acc_rita", 15));
        assert!(matches!(
            retired.verify(&late),
            Err(ApprovalError::RetiredKey(_))
        ));
        let mut revocation = revocation;
        revocation.claims.revoked_by = "acc_rita".into();
        let revocation = key.sign_revocation(revocation.claims);
        assert!(retired.verify_revocation(&revocation).is_ok());

        // A configured platform key keeps its meaning when reviewer keys
        // are added under the same id.
        let platform = ReviewKey::from_seed("rk-1", [9; 32]);
        let mut both = TrustedKeys::default().with(&platform);
        both.extend(&trusted);
        assert_eq!(both.reviewer_of("rk-1"), None);
        assert!(
            TrustedKeys::default()
                .with_reviewer_key("rk-2", "c2hvcnQ=", "acc_rita", None)
                .is_err()
        );
        assert_eq!(
            ReviewKey::parse(&format!("rk-1:{}", key.seed_base64()))
                .expect("round trip")
                .public(),
            key.public()
        );
    }

    #[test]
    fn altered_claims_or_unknown_keys_fail() {
        let (key, approval) = signed();
        let trusted = TrustedKeys::default().with(&key);
        let mut altered = approval.clone();
        altered.claims.hosts.push("https://evil.example".into());
        assert!(matches!(
            trusted.verify(&altered),
            Err(ApprovalError::BadSignature(_))
        ));
        let other =
            ReviewKey::parse(&ReviewKey::generate("review-1").expect("random")).expect("valid");
        let impostor = TrustedKeys::default().with(&other);
        assert!(matches!(
            impostor.verify(&approval),
            Err(ApprovalError::BadSignature(_))
        ));
        assert!(matches!(
            TrustedKeys::default().verify(&approval),
            Err(ApprovalError::UnknownKey(_))
        ));
        let err = ReviewKey::parse("review-1:c2VjcmV0").unwrap_err();
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
    }
}
