//! The Standard Webhooks format (standardwebhooks.com): three headers,
//! `webhook-id` (the message id, the idempotency key), `webhook-timestamp`
//! (Unix seconds) and `webhook-signature`, a space-separated list of
//! `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` entries of which
//! one must match (other versions, such as the asymmetric `v1a`, are
//! skipped). The secret is `whsec_` and the base64 of the key's bytes (24
//! to 64 bytes); the key is those bytes, not the string.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
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

/// The fewest and most key bytes the specification allows.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

const EXPECTED_ID: &str = "`webhook-id: <message id>` (at most 256 bytes)";
const EXPECTED_TIMESTAMP: &str = "`webhook-timestamp: <unix seconds>`";
const EXPECTED_SIGNATURE: &str = "`webhook-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">` (space-separated entries) under the `whsec_` secret";

/// Standard base64, padded or not (senders' libraries write both).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(false),
);

/// The key bytes of a `whsec_<base64>` secret (the prefix may be left
/// out, as the specification's libraries allow).
pub fn key(secret: &str) -> Result<Vec<u8>, FormatError> {
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

/// Check a Standard Webhooks delivery.
pub fn verify(
    secret: &str,
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<Verified, FormatError> {
    let format = WebhookFormat::StandardWebhooks;
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
    let signatures = headers.require(format, SIGNATURE, EXPECTED_SIGNATURE)?;
    check_time(TIMESTAMP, timestamp, now, tolerance)?;
    let entries: Vec<&str> = signatures.split(' ').filter(|e| !e.is_empty()).collect();
    if entries.len() > MAX_SIGNATURES {
        return Err(malformed(
            SIGNATURE,
            EXPECTED_SIGNATURE,
            "more than 16 signatures",
        ));
    }
    let tags: Vec<Vec<u8>> = entries
        .iter()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|tag| LENIENT.decode(tag).ok())
        .collect();
    if tags.is_empty() {
        return Err(malformed(
            SIGNATURE,
            EXPECTED_SIGNATURE,
            "no v1,<base64> entry",
        ));
    }
    let expected = mac(&key(secret)?, id, timestamp, body);
    let tag = tags
        .iter()
        .find(|tag| expected.clone().verify_slice(tag).is_ok())
        .ok_or(FormatError::Mismatch {
            header: SIGNATURE,
            what: "v1",
        })?;
    Ok(Verified {
        timestamp: Some(timestamp),
        tolerance,
        signature: STANDARD.encode(tag),
        delivery_id: Some(id.to_string()),
    })
}

/// A Standard Webhooks secret: `whsec_` (optional) and the base64 of 24
/// to 64 bytes.
pub(super) fn check_secret(secret: &str) -> Result<(), SecretProblem> {
    let shape = SecretProblem::Shape(
        "a Standard Webhooks secret is `whsec_` and the standard base64 of 24 to 64 bytes",
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
}
