//! The Standard Webhooks format (standardwebhooks.com): three headers,
//! `webhook-id` (the message id, the idempotency key), `webhook-timestamp`
//! (Unix seconds) and `webhook-signature`, a space-separated list of
//! signatures of `"<id>.<timestamp>.<body>"` of which one must match.
//! Which ones are read is set by the workflow's secret, as the
//! specification's serialization of keys tells them apart:
//!
//! - symmetric: the secret is `whsec_` and the base64 of the key's bytes
//!   (24 to 64 bytes; the key is those bytes, not the string), and only
//!   `v1,<base64 HMAC-SHA256>` entries are read, compared in constant time;
//! - asymmetric: the secret is the sender's ed25519 public key, `whpk_`
//!   and the base64 of its 32 bytes, and only `v1a,<base64 ed25519
//!   signature>` entries are read, verified strictly
//!   (`VerifyingKey::verify_strict`: no weak key, no small-order or
//!   non-canonical signature, so a captured signature cannot be altered
//!   into another valid one, which would be another dedupe key).
//!
//! Entries of the other scheme or of other versions are skipped. The
//! sender's private key (`whsk_`) is never taken: it stays with the
//! sender, and setting it as the secret is refused.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use ed25519_dalek::{PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, Signature, VerifyingKey};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use workway_workflow::webhook::WebhookFormat;

use super::{
    FormatError, Headers, MAX_ID, MAX_SIGNATURES, SecretProblem, Verified, check_time,
    parse_timestamp,
};

/// The header carrying the message id.
pub const ID: &str = "webhook-id";
/// The header carrying the timestamp.
pub const TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the signatures.
pub const SIGNATURE: &str = "webhook-signature";

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The prefix of a Standard Webhooks public key (asymmetric, `v1a`): the
/// sender's, which a workflow verifies with.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// The prefix of a Standard Webhooks private key: the sender's own,
/// never taken.
pub const PRIVATE_KEY_PREFIX: &str = "whsk_";

/// The fewest and most key bytes the specification allows.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

const EXPECTED_ID: &str = "`webhook-id: <message id>` (at most 256 bytes)";
const EXPECTED_TIMESTAMP: &str = "`webhook-timestamp: <unix seconds>`";
const EXPECTED_SIGNATURE: &str = "`webhook-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">` (space-separated entries) under the `whsec_` secret";
const EXPECTED_SIGNATURE_V1A: &str = "`webhook-signature: v1a,<base64 ed25519 signature of \"<id>.<timestamp>.<body>\">` (space-separated entries) under the sender's `whpk_` public key";

/// What a public key's refusals call it.
const PUBLIC_KEY: &str = "a Standard Webhooks public key (`whpk_`)";

/// Standard base64, padded or not (senders' libraries write both).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(false),
);

/// How a workflow's deliveries are signed, told by its secret's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `v1`: HMAC-SHA256 under a `whsec_` secret.
    Symmetric,
    /// `v1a`: ed25519 under the sender's `whpk_` public key.
    Asymmetric,
}

impl Scheme {
    fn of(secret: &str) -> Self {
        if secret.starts_with(PUBLIC_KEY_PREFIX) {
            Scheme::Asymmetric
        } else {
            Scheme::Symmetric
        }
    }

    /// What a well-formed `webhook-signature` is under this scheme.
    fn expected(self) -> &'static str {
        match self {
            Scheme::Symmetric => EXPECTED_SIGNATURE,
            Scheme::Asymmetric => EXPECTED_SIGNATURE_V1A,
        }
    }
}

/// The key bytes of a `whsec_<base64>` secret (the prefix may be left
/// out, as the specification's libraries allow).
pub fn key(secret: &str) -> Result<Vec<u8>, FormatError> {
    if secret.starts_with(PRIVATE_KEY_PREFIX) || secret.starts_with(PUBLIC_KEY_PREFIX) {
        return Err(FormatError::Secret {
            format: WebhookFormat::StandardWebhooks,
            why: "an ed25519 key, not a `whsec_` secret",
        });
    }
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let bytes = LENIENT.decode(encoded).map_err(|_| FormatError::Secret {
        format: WebhookFormat::StandardWebhooks,
        why: "not `whsec_` and standard base64",
    })?;
    if bytes.is_empty() {
        return Err(FormatError::Secret {
            format: WebhookFormat::StandardWebhooks,
            why: "no key bytes",
        });
    }
    Ok(bytes)
}

/// A new secret: `whsec_` and the standard base64 of 32 random bytes.
pub fn encode_secret(bytes: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `whpk_` public key of an ed25519 public key's 32 bytes: what a
/// sender gives its receivers.
pub fn encode_public_key(bytes: &[u8; PUBLIC_KEY_LENGTH]) -> String {
    format!("{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(bytes))
}

/// What is wrong with a `whpk_` public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyProblem {
    /// Not standard base64.
    Base64,
    /// Not 32 bytes: this many.
    Length(usize),
    /// 32 bytes that are no point of the curve.
    NotAPoint,
    /// A point of small order, which would verify forged signatures.
    Weak,
}

impl KeyProblem {
    /// Why the key cannot be a workflow's secret.
    fn secret_problem(self) -> SecretProblem {
        match self {
            KeyProblem::Base64 => SecretProblem::Shape(
                "a Standard Webhooks public key is `whpk_` and the standard base64 of the 32 bytes of an ed25519 public key; this one is not standard base64",
            ),
            KeyProblem::Length(got) => SecretProblem::KeyLength {
                what: PUBLIC_KEY,
                expected: PUBLIC_KEY_LENGTH,
                got,
            },
            KeyProblem::NotAPoint => SecretProblem::Shape(
                "this `whpk_` key is not an ed25519 public key: its 32 bytes are no point of the curve",
            ),
            KeyProblem::Weak => SecretProblem::Shape(
                "this `whpk_` key is a weak ed25519 public key (of small order), which would verify forged signatures",
            ),
        }
    }
}

/// The ed25519 public key of a `whpk_<base64>` secret.
fn decode_public_key(secret: &str) -> Result<VerifyingKey, KeyProblem> {
    let encoded = secret.strip_prefix(PUBLIC_KEY_PREFIX).unwrap_or(secret);
    let bytes = LENIENT.decode(encoded).map_err(|_| KeyProblem::Base64)?;
    let bytes = <[u8; PUBLIC_KEY_LENGTH]>::try_from(bytes.as_slice())
        .map_err(|_| KeyProblem::Length(bytes.len()))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyProblem::NotAPoint)?;
    if key.is_weak() {
        return Err(KeyProblem::Weak);
    }
    Ok(key)
}

/// The ed25519 public key of a `whpk_<base64>` secret (the sender's).
pub fn public_key(secret: &str) -> Result<VerifyingKey, FormatError> {
    decode_public_key(secret).map_err(|_| FormatError::Secret {
        format: WebhookFormat::StandardWebhooks,
        why: "not `whpk_` and the standard base64 of a 32-byte ed25519 public key",
    })
}

/// What is signed: `"<id>.<timestamp>.<body>"`.
fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256>>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value (`v1,<base64>`) for message `id` sent at
/// `timestamp` with `body` under `secret`: what a sender computes.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, FormatError> {
    let tag = mac(&key(secret)?, id, timestamp, body)
        .finalize()
        .into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// Check a Standard Webhooks delivery: `v1` entries under a `whsec_`
/// secret, `v1a` entries under a `whpk_` public key.
pub fn verify(
    secret: &str,
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<Verified, FormatError> {
    let format = WebhookFormat::StandardWebhooks;
    let scheme = Scheme::of(secret);
    let expected_signature = scheme.expected();
    let id = headers.require(format, ID, EXPECTED_ID)?;
    let malformed = |header, expected, why| FormatError::Malformed {
        format,
        header,
        expected,
        why,
    };
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(char::is_control) {
        return Err(malformed(
            ID,
            EXPECTED_ID,
            "empty, too long or with control characters",
        ));
    }
    let timestamp = headers.require(format, TIMESTAMP, EXPECTED_TIMESTAMP)?;
    let timestamp = parse_timestamp(timestamp)
        .ok_or_else(|| malformed(TIMESTAMP, EXPECTED_TIMESTAMP, "not a number of seconds"))?;
    let signatures = headers.require(format, SIGNATURE, expected_signature)?;
    check_time(TIMESTAMP, timestamp, now, tolerance)?;
    let entries: Vec<&str> = signatures.split(' ').filter(|e| !e.is_empty()).collect();
    if entries.len() > MAX_SIGNATURES {
        return Err(malformed(
            SIGNATURE,
            expected_signature,
            "more than 16 signatures",
        ));
    }
    let signature = match scheme {
        Scheme::Symmetric => {
            let tags: Vec<Vec<u8>> = entries
                .iter()
                .filter_map(|entry| entry.strip_prefix("v1,"))
                .filter_map(|tag| LENIENT.decode(tag).ok())
                .collect();
            if tags.is_empty() {
                return Err(malformed(
                    SIGNATURE,
                    expected_signature,
                    "no v1,<base64> entry; `v1a` (ed25519) entries are read only under the sender's `whpk_` public key",
                ));
            }
            let expected = mac(&key(secret)?, id, timestamp, body);
            tags.into_iter()
                .find(|tag| expected.clone().verify_slice(tag).is_ok())
                .ok_or(FormatError::Mismatch {
                    header: SIGNATURE,
                    what: "v1",
                })?
        }
        Scheme::Asymmetric => {
            let candidates: Vec<Signature> = entries
                .iter()
                .filter_map(|entry| entry.strip_prefix("v1a,"))
                .filter_map(|signature| LENIENT.decode(signature).ok())
                .filter_map(|bytes| <[u8; SIGNATURE_LENGTH]>::try_from(bytes.as_slice()).ok())
                .map(|bytes| Signature::from_bytes(&bytes))
                .collect();
            if candidates.is_empty() {
                return Err(malformed(
                    SIGNATURE,
                    expected_signature,
                    "no v1a,<base64 of a 64-byte ed25519 signature> entry; `v1` (HMAC) entries are not read under a `whpk_` public key",
                ));
            }
            let key = public_key(secret)?;
            let content = signed_content(id, timestamp, body);
            candidates
                .into_iter()
                .find(|candidate| key.verify_strict(&content, candidate).is_ok())
                .ok_or(FormatError::KeyMismatch {
                    header: SIGNATURE,
                    what: "v1a (ed25519)",
                    key: "`whpk_` public key",
                })?
                .to_bytes()
                .to_vec()
        }
    };
    Ok(Verified {
        timestamp: Some(timestamp),
        tolerance,
        signature: STANDARD.encode(signature),
        delivery_id: Some(id.to_string()),
    })
}

/// Refuse a Standard Webhooks private key (`whsk_...`) as any trigger's
/// secret: it belongs with the sender alone, whatever format it is given
/// for.
pub(super) fn refuse_private_key(secret: &str) -> Result<(), SecretProblem> {
    if secret.starts_with(PRIVATE_KEY_PREFIX) {
        return Err(SecretProblem::Shape(
            "this is the sender's private key (`whsk_...`), which must stay with the sender and is never stored here: give the public key it pairs with (`whpk_...`)",
        ));
    }
    Ok(())
}

/// A Standard Webhooks secret: `whsec_` (optional) and the base64 of 24
/// to 64 bytes, or the sender's public key, `whpk_` and the base64 of an
/// ed25519 public key's 32 bytes (the sender's private key, `whsk_`, is
/// refused before any format's check: [`refuse_private_key`]).
pub(super) fn check_secret(secret: &str) -> Result<(), SecretProblem> {
    if secret.starts_with(PUBLIC_KEY_PREFIX) {
        return decode_public_key(secret)
            .map(|_| ())
            .map_err(KeyProblem::secret_problem);
    }
    let shape = SecretProblem::Shape(
        "a Standard Webhooks secret is `whsec_` and the standard base64 of 24 to 64 bytes, or the sender's public key, `whpk_` and the standard base64 of 32 bytes",
    );
    match key(secret) {
        Ok(bytes) if KEY_BYTES.contains(&bytes.len()) => Ok(()),
        _ => Err(shape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The specification's own test vector (its libraries' tests, e.g.
    // libraries/python/tests/test_webhooks.py: test_sign_function).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP_S: i64 = 1_614_265_330;
    const PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE_V1: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    /// The libraries' "invalid signature" (its last character changed).
    const WRONG_V1: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";

    fn headers(id: &str, timestamp: &str, signature: &str) -> Vec<(String, String)> {
        vec![
            (ID.to_string(), id.to_string()),
            (TIMESTAMP.to_string(), timestamp.to_string()),
            (SIGNATURE.to_string(), signature.to_string()),
        ]
    }

    fn check(list: &[(String, String)], body: &[u8], now: i64) -> Result<Verified, FormatError> {
        verify(SECRET, Headers::new(list), body, now, 300)
    }

    #[test]
    fn the_specifications_vector_signs_and_verifies() {
        assert_eq!(
            sign(SECRET, MSG_ID, TIMESTAMP_S, PAYLOAD).expect("a valid secret"),
            SIGNATURE_V1
        );
        // Without the prefix, the key is the same.
        assert_eq!(
            sign(
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                MSG_ID,
                TIMESTAMP_S,
                PAYLOAD
            )
            .expect("a valid secret"),
            SIGNATURE_V1
        );
        let list = headers(MSG_ID, "1614265330", SIGNATURE_V1);
        let verified = check(&list, PAYLOAD, TIMESTAMP_S).expect("verifies");
        assert_eq!(verified.delivery_id.as_deref(), Some(MSG_ID));
        assert_eq!(verified.timestamp, Some(TIMESTAMP_S));
        assert_eq!(verified.signature, SIGNATURE_V1.trim_start_matches("v1,"));
    }

    #[test]
    fn any_v1_entry_may_match() {
        // As the libraries' multi-signature test sends them.
        let multi = [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            SIGNATURE_V1,
            "v1a,bm90IGEgc2lnbmF0dXJl",
        ]
        .join(" ");
        let list = headers(MSG_ID, "1614265330", &multi);
        assert!(check(&list, PAYLOAD, TIMESTAMP_S).is_ok());
    }

    #[test]
    fn wrong_tampered_stale_and_malformed_deliveries_are_refused() {
        let mismatch = FormatError::Mismatch {
            header: SIGNATURE,
            what: "v1",
        };
        let wrong = headers(MSG_ID, "1614265330", WRONG_V1);
        assert_eq!(check(&wrong, PAYLOAD, TIMESTAMP_S), Err(mismatch.clone()));
        let good = headers(MSG_ID, "1614265330", SIGNATURE_V1);
        assert_eq!(
            check(&good, br#"{"test": 2432232315}"#, TIMESTAMP_S),
            Err(mismatch.clone())
        );
        // Another id or timestamp is another signed content.
        let other_id = headers("msg_other", "1614265330", SIGNATURE_V1);
        assert_eq!(
            check(&other_id, PAYLOAD, TIMESTAMP_S),
            Err(mismatch.clone())
        );
        let other_secret = verify(
            "whsec_c2Vjb25kIGtleSBvZiB0d2VudHktZm91ciBieXRlcw==",
            Headers::new(&good),
            PAYLOAD,
            TIMESTAMP_S,
            300,
        );
        assert_eq!(other_secret, Err(mismatch));
        // Five minutes and a second, either way.
        for now in [TIMESTAMP_S + 301, TIMESTAMP_S - 301] {
            assert_eq!(
                check(&good, PAYLOAD, now),
                Err(FormatError::Stale {
                    header: TIMESTAMP,
                    away: 301,
                    tolerance: 300
                })
            );
        }
        // Each missing header is named.
        for (missing, name) in [(0, ID), (1, TIMESTAMP), (2, SIGNATURE)] {
            let mut list = good.clone();
            list.remove(missing);
            let error = check(&list, PAYLOAD, TIMESTAMP_S).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!(
                    "no `{name}` header; a `standard-webhooks` delivery"
                )),
                "{error}"
            );
        }
        let bad_time = headers(MSG_ID, "hello", SIGNATURE_V1);
        let error = check(&bad_time, PAYLOAD, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`webhook-timestamp` header is malformed"),
            "{error}"
        );
        let no_v1 = headers(MSG_ID, "1614265330", "v2,abc v1,!!!");
        let error = check(&no_v1, PAYLOAD, TIMESTAMP_S).unwrap_err().to_string();
        assert!(error.contains("no v1,<base64> entry"), "{error}");
        let many = headers(MSG_ID, "1614265330", &[SIGNATURE_V1; 17].join(" "));
        let error = check(&many, PAYLOAD, TIMESTAMP_S).unwrap_err().to_string();
        assert!(error.contains("more than 16 signatures"), "{error}");
        let long_id = headers(&"m".repeat(MAX_ID + 1), "1614265330", SIGNATURE_V1);
        assert!(check(&long_id, PAYLOAD, TIMESTAMP_S).is_err());
    }

    #[test]
    fn a_secret_of_another_shape_is_named_not_shown() {
        let list = headers(MSG_ID, "1614265330", SIGNATURE_V1);
        let error = verify(
            "whsec_not-base64_url-safe",
            Headers::new(&list),
            PAYLOAD,
            TIMESTAMP_S,
            300,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("not a `standard-webhooks` secret"),
            "{error}"
        );
        assert!(!error.contains("not-base64"), "{error}");
        assert_eq!(
            encode_secret(&[0u8; 3]),
            "whsec_AAAA",
            "standard base64 with its padding"
        );
    }

    // Asymmetric (`v1a`) deliveries. The specification's repository
    // publishes no `v1a` vectors (standard-webhooks/standard-webhooks at
    // b2fa7b8: neither spec/standard-webhooks.md, whose one `v1a` example
    // header comes without its public key, nor any library's tests under
    // libraries/ has one). So the sender's key pair is made here from a
    // fixed seed, the secret key of RFC 8032 section 7.1 TEST 1 (whose
    // public key and empty-message signature are checked below), and the
    // specification's test message above is signed with it as a sender
    // would: SIGNATURE_V1A, as ed25519-dalek makes it here and as Python's
    // `cryptography` (48.0.0) made it independently when this was written.
    const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_PUBLIC_HEX: &str =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC8032_EMPTY_SIGNATURE_HEX: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    const PUBLIC_KEY_V1A: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const SIGNATURE_V1A: &str = "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw==";

    /// The sender's signing key, from the fixed seed.
    fn sender() -> ed25519_dalek::SigningKey {
        let seed: [u8; 32] = hex::decode(SEED_HEX)
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        ed25519_dalek::SigningKey::from_bytes(&seed)
    }

    /// Another sender's signing key.
    fn stranger() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[2u8; 32])
    }

    /// The `v1a` entry a sender with `key` sends for message `id` sent at
    /// `timestamp` with `body`.
    fn sign_v1a(key: &ed25519_dalek::SigningKey, id: &str, timestamp: i64, body: &[u8]) -> String {
        use ed25519_dalek::Signer as _;
        let signature = key.sign(&signed_content(id, timestamp, body));
        format!("v1a,{}", STANDARD.encode(signature.to_bytes()))
    }

    fn check_v1a(
        list: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Result<Verified, FormatError> {
        verify(PUBLIC_KEY_V1A, Headers::new(list), body, now, 300)
    }

    fn key_mismatch() -> FormatError {
        FormatError::KeyMismatch {
            header: SIGNATURE,
            what: "v1a (ed25519)",
            key: "`whpk_` public key",
        }
    }

    #[test]
    fn a_v1a_signature_verifies_under_the_senders_public_key() {
        use ed25519_dalek::Signer as _;
        let key = sender();
        let public = key.verifying_key().to_bytes();
        assert_eq!(hex::encode(public), RFC8032_PUBLIC_HEX, "RFC 8032 TEST 1");
        let rfc: [u8; 64] = hex::decode(RFC8032_EMPTY_SIGNATURE_HEX)
            .expect("hex")
            .try_into()
            .expect("64 bytes");
        assert_eq!(key.sign(b"").to_bytes(), rfc, "RFC 8032 TEST 1");
        assert!(
            key.verifying_key()
                .verify_strict(b"", &Signature::from_bytes(&rfc))
                .is_ok()
        );
        assert_eq!(encode_public_key(&public), PUBLIC_KEY_V1A);
        assert_eq!(public_key(PUBLIC_KEY_V1A).map(|k| k.to_bytes()), Ok(public));
        assert_eq!(sign_v1a(&key, MSG_ID, TIMESTAMP_S, PAYLOAD), SIGNATURE_V1A);

        let list = headers(MSG_ID, "1614265330", SIGNATURE_V1A);
        let verified = check_v1a(&list, PAYLOAD, TIMESTAMP_S + 10).expect("verifies");
        assert_eq!(verified.delivery_id.as_deref(), Some(MSG_ID));
        assert_eq!(verified.timestamp, Some(TIMESTAMP_S));
        assert_eq!(verified.tolerance, 300);
        assert_eq!(verified.signature, SIGNATURE_V1A.trim_start_matches("v1a,"));
        // Unpadded base64, as some senders write it, is the same signature
        // (and the same dedupe key).
        let unpadded = headers(MSG_ID, "1614265330", SIGNATURE_V1A.trim_end_matches('='));
        assert_eq!(check_v1a(&unpadded, PAYLOAD, TIMESTAMP_S), Ok(verified));
    }

    #[test]
    fn any_v1a_entry_may_match_and_only_its_schemes_entries_are_read() {
        let other = sign_v1a(&stranger(), MSG_ID, TIMESTAMP_S, PAYLOAD);
        let multi = [
            SIGNATURE_V1,
            other.as_str(),
            "v1a,bm90IGEgc2lnbmF0dXJl",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            SIGNATURE_V1A,
        ]
        .join(" ");
        let list = headers(MSG_ID, "1614265330", &multi);
        let verified = check_v1a(&list, PAYLOAD, TIMESTAMP_S).expect("one v1a matches");
        assert_eq!(verified.signature, SIGNATURE_V1A.trim_start_matches("v1a,"));
        // The same header under the `whsec_` secret: its v1 entry matches,
        // as before.
        let verified = check(&list, PAYLOAD, TIMESTAMP_S).expect("the v1 entry matches");
        assert_eq!(verified.signature, SIGNATURE_V1.trim_start_matches("v1,"));

        // A valid v1 HMAC alone is not read under a public key.
        let v1_only = headers(MSG_ID, "1614265330", SIGNATURE_V1);
        let error = check_v1a(&v1_only, PAYLOAD, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no v1a,<base64 of a 64-byte ed25519 signature> entry")
                && error.contains("`v1` (HMAC) entries are not read under a `whpk_` public key")
                && error.contains("under the sender's `whpk_` public key"),
            "{error}"
        );
        // Nor is a valid v1a signature under a `whsec_` secret.
        let v1a_only = headers(MSG_ID, "1614265330", SIGNATURE_V1A);
        let error = check(&v1a_only, PAYLOAD, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no v1,<base64> entry")
                && error.contains("read only under the sender's `whpk_` public key"),
            "{error}"
        );
        // Entries that are not a 64-byte signature are skipped.
        let short = headers(MSG_ID, "1614265330", "v1a,AAAA v1a,!!! v1a,");
        let error = check_v1a(&short, PAYLOAD, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no v1a,"), "{error}");
    }

    #[test]
    fn wrong_tampered_stale_and_malformed_v1a_deliveries_are_refused() {
        let good = headers(MSG_ID, "1614265330", SIGNATURE_V1A);
        // Another sender's signature of the same message.
        let other = headers(
            MSG_ID,
            "1614265330",
            &sign_v1a(&stranger(), MSG_ID, TIMESTAMP_S, PAYLOAD),
        );
        assert_eq!(check_v1a(&other, PAYLOAD, TIMESTAMP_S), Err(key_mismatch()));
        // The signature with one bit changed.
        let mut bytes = LENIENT
            .decode(SIGNATURE_V1A.trim_start_matches("v1a,"))
            .expect("base64");
        bytes[10] ^= 1;
        let flipped = headers(
            MSG_ID,
            "1614265330",
            &format!("v1a,{}", STANDARD.encode(&bytes)),
        );
        assert_eq!(
            check_v1a(&flipped, PAYLOAD, TIMESTAMP_S),
            Err(key_mismatch())
        );
        // A tampered body, another id, another timestamp: other content.
        assert_eq!(
            check_v1a(&good, br#"{"test": 2432232315}"#, TIMESTAMP_S),
            Err(key_mismatch())
        );
        let other_id = headers("msg_other", "1614265330", SIGNATURE_V1A);
        assert_eq!(
            check_v1a(&other_id, PAYLOAD, TIMESTAMP_S),
            Err(key_mismatch())
        );
        let other_time = headers(MSG_ID, "1614265331", SIGNATURE_V1A);
        assert_eq!(
            check_v1a(&other_time, PAYLOAD, TIMESTAMP_S),
            Err(key_mismatch())
        );
        // The signature's malleable twin, S + L (L the group's order): the
        // same signature to a lax verifier, refused by the strict one, so
        // a captured delivery cannot be sent again under another dedupe key.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut twin = LENIENT
            .decode(SIGNATURE_V1A.trim_start_matches("v1a,"))
            .expect("base64");
        let mut carry = 0u16;
        for (byte, l) in twin[32..].iter_mut().zip(L) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = sum.to_le_bytes()[0];
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "S + L fits in 32 bytes");
        let twin = headers(
            MSG_ID,
            "1614265330",
            &format!("v1a,{}", STANDARD.encode(&twin)),
        );
        assert_eq!(check_v1a(&twin, PAYLOAD, TIMESTAMP_S), Err(key_mismatch()));
        // Under another public key.
        let stranger_key = encode_public_key(&stranger().verifying_key().to_bytes());
        assert_eq!(
            verify(
                &stranger_key,
                Headers::new(&good),
                PAYLOAD,
                TIMESTAMP_S,
                300
            ),
            Err(key_mismatch())
        );
        let message = key_mismatch().to_string();
        assert_eq!(
            message,
            "no v1a (ed25519) signature matches the body under this workflow's `whpk_` public key (in `webhook-signature`)"
        );
        // Five minutes and a second, either way.
        for now in [TIMESTAMP_S + 301, TIMESTAMP_S - 301] {
            assert_eq!(
                check_v1a(&good, PAYLOAD, now),
                Err(FormatError::Stale {
                    header: TIMESTAMP,
                    away: 301,
                    tolerance: 300
                })
            );
        }
        // Missing headers are named, saying what a v1a delivery carries.
        let mut list = good.clone();
        list.remove(2);
        let error = check_v1a(&list, PAYLOAD, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("no `webhook-signature` header")
                && error.contains("v1a,<base64 ed25519 signature of")
                && error.contains("`whpk_` public key"),
            "{error}"
        );
        let many = headers(MSG_ID, "1614265330", &[SIGNATURE_V1A; 17].join(" "));
        let error = check_v1a(&many, PAYLOAD, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(error.contains("more than 16 signatures"), "{error}");
        let sixteen = headers(MSG_ID, "1614265330", &[SIGNATURE_V1A; 16].join(" "));
        assert!(check_v1a(&sixteen, PAYLOAD, TIMESTAMP_S).is_ok());
        // A damaged stored key is the owner's problem, named not shown.
        let error = verify("whpk_AAAA", Headers::new(&good), PAYLOAD, TIMESTAMP_S, 300)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not a `standard-webhooks` secret (not `whpk_` and the standard base64"),
            "{error}"
        );
        assert!(!error.contains("AAAA"), "{error}");
    }

    #[test]
    fn a_private_key_or_a_malformed_public_key_is_refused_as_the_secret() {
        use super::super::check_secret as check_for;
        let check = |secret: &str| check_for(WebhookFormat::StandardWebhooks, secret);
        assert_eq!(check(PUBLIC_KEY_V1A), Ok(()));
        assert_eq!(check(PUBLIC_KEY_V1A.trim_end_matches('=')), Ok(()));

        // The sender's private key: refused, saying to give the public one.
        let mut pair = sender().to_bytes().to_vec();
        pair.extend_from_slice(&sender().verifying_key().to_bytes());
        for private in [
            format!("whsk_{}", STANDARD.encode(&pair)),
            format!("whsk_{}", STANDARD.encode(sender().to_bytes())),
            "whsk_".to_string(),
        ] {
            let problem = check(&private).unwrap_err();
            let message = problem.to_string();
            assert!(
                message.contains("the sender's private key (`whsk_...`)")
                    && message.contains("never stored here")
                    && message.contains("give the public key it pairs with (`whpk_...`)"),
                "{message}"
            );
            if let Some(key) = private
                .strip_prefix(PRIVATE_KEY_PREFIX)
                .filter(|k| !k.is_empty())
            {
                assert!(!message.contains(key), "never shown: {message}");
            }
        }

        // Each malformed public key says what is wrong.
        let short = format!("whpk_{}", STANDARD.encode([7u8; 31]));
        assert_eq!(
            check(&short),
            Err(SecretProblem::KeyLength {
                what: PUBLIC_KEY,
                expected: 32,
                got: 31
            })
        );
        assert_eq!(
            check(&short).unwrap_err().to_string(),
            "a Standard Webhooks public key (`whpk_`) is the standard base64 of 32 bytes; this one decodes to 31 bytes"
        );
        let long = format!("whpk_{}", STANDARD.encode(&pair));
        assert!(
            check(&long)
                .unwrap_err()
                .to_string()
                .ends_with("this one decodes to 64 bytes"),
        );
        assert!(
            check("whpk_")
                .unwrap_err()
                .to_string()
                .ends_with("decodes to 0 bytes")
        );
        for not_base64 in [
            "whpk_!!!",
            // base64url, not the standard alphabet.
            "whpk_11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        ] {
            let message = check(not_base64).unwrap_err().to_string();
            assert!(message.contains("not standard base64"), "{message}");
        }
        // y = 2 is no point of the curve.
        let message = check("whpk_AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            .unwrap_err()
            .to_string();
        assert!(message.contains("no point of the curve"), "{message}");
        // The identity, of small order: it would verify forged signatures.
        let message = check("whpk_AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            .unwrap_err()
            .to_string();
        assert!(message.contains("weak ed25519 public key"), "{message}");
        // White space from a paste is refused as for every secret.
        assert_eq!(
            check(&format!("{PUBLIC_KEY_V1A}\n")),
            Err(SecretProblem::Spaces)
        );
    }
}
