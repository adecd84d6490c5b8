//! The signature scheme of webhook deliveries: a header
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed by the
//! endpoint's secret, and refused when its timestamp is further than a
//! tolerance from now (so a captured delivery cannot be replayed later).
//! Several `v1=` entries may be sent while a secret is rotated; one must
//! match; other entries are ignored. Stripe signs its webhooks this way
//! (`Stripe-Signature`), and Workway's own webhook deliveries follow it
//! (`Workway-Signature`): the platform's payment notifications
//! (`billing::payments::stripe`) and the webhook trigger's `stripe` and
//! `workway` formats (`triggers::webhook::formats`) all verify here.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The longest signature header read (room for a handful of signatures).
pub const MAX_HEADER: usize = 4096;

/// The most `v1=` entries read from one header (a sender rolling its
/// secret sends two).
pub const MAX_TAGS: usize = 16;

/// A header that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signed timestamp (Unix seconds).
    pub timestamp: i64,
    /// The matching `v1` tag, hex.
    pub tag: String,
}

/// Why a header does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Longer than [`MAX_HEADER`].
    #[error("the signature header is longer than {MAX_HEADER} bytes")]
    TooLong,
    /// No `t=` with a number.
    #[error("the signature has no valid t=<unix seconds>")]
    NoTimestamp,
    /// The timestamp is too far from now.
    #[error(
        "the timestamp is {away} s away from this host's clock (tolerance {tolerance} s): a replay, or a sender clock that is off"
    )]
    Stale {
        /// How far it is (seconds).
        away: u64,
        /// The tolerance applied (seconds).
        tolerance: u64,
    },
    /// More than [`MAX_TAGS`] `v1=` entries.
    #[error("the signature header has more than {MAX_TAGS} v1 entries")]
    TooMany,
    /// No `v1=` with hex.
    #[error("the signature has no v1=<hex HMAC-SHA256>")]
    NoTag,
    /// No `v1=` matches.
    #[error("no v1 signature matches the body")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header for `body` sent at `timestamp` (Unix seconds) under
/// `secret`: what a sender computes.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Check `header` against `body` under `secret` at `now` (Unix seconds),
/// allowing `tolerance` seconds of clock difference.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<Signed, SignatureError> {
    if header.len() > MAX_HEADER {
        return Err(SignatureError::TooLong);
    }
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", tag)) => {
                if tags.len() == MAX_TAGS {
                    return Err(SignatureError::TooMany);
                }
                tags.extend(hex::decode(tag).ok());
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::NoTimestamp)?;
    let away = timestamp.abs_diff(now);
    if away > tolerance {
        return Err(SignatureError::Stale { away, tolerance });
    }
    if tags.is_empty() {
        return Err(SignatureError::NoTag);
    }
    let expected = mac(secret, timestamp, body);
    tags.iter()
        .find(|tag| expected.clone().verify_slice(tag).is_ok())
        .map(|tag| Signed {
            timestamp,
            tag: hex::encode(tag),
        })
        .ok_or(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_fresh_signature_verifies_and_anything_else_does_not() {
        let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
        let t = 1_700_000_000;
        let good = sign(SECRET, t, body);
        assert_eq!(
            verify(SECRET, &good, body, t + 10, 300).map(|s| s.timestamp),
            Ok(t)
        );
        // A rotated secret: any v1 may match; v0 and unknown parts are ignored.
        let tag = good.split("v1=").nth(1).expect("a tag");
        let rolled = format!("t={t},v1={},v0=abc,x,v1={tag}", "00".repeat(32));
        assert!(verify(SECRET, &rolled, body, t, 300).is_ok());
        // Too old, or from the future beyond the tolerance: a replay.
        assert_eq!(
            verify(SECRET, &good, body, t + 301, 300),
            Err(SignatureError::Stale {
                away: 301,
                tolerance: 300
            })
        );
        assert!(verify(SECRET, &good, body, t - 301, 300).is_err());
        // Another body, another secret, a re-timed header.
        assert_eq!(
            verify(SECRET, &good, b"{}", t, 300),
            Err(SignatureError::Mismatch)
        );
        assert!(verify("whsec_other", &good, body, t, 300).is_err());
        let retimed = format!("t={},v1={tag}", t + 1);
        assert_eq!(
            verify(SECRET, &retimed, body, t, 300),
            Err(SignatureError::Mismatch)
        );
        // Malformed or oversized headers.
        assert_eq!(
            verify(SECRET, "", body, t, 300),
            Err(SignatureError::NoTimestamp)
        );
        assert_eq!(
            verify(SECRET, "t=1", body, 1, 300),
            Err(SignatureError::NoTag)
        );
        assert_eq!(
            verify(SECRET, "t=x,v1=zz", body, t, 300),
            Err(SignatureError::NoTimestamp)
        );
        let many = format!("t={t},{}", "v1=ab,".repeat(MAX_TAGS + 1));
        assert_eq!(
            verify(SECRET, &many, body, t, 300),
            Err(SignatureError::TooMany)
        );
        let long = format!("t={t},{}", "v1=ab,".repeat(1000));
        assert_eq!(
            verify(SECRET, &long, body, t, 300),
            Err(SignatureError::TooLong)
        );
    }

    #[test]
    fn the_signed_payload_is_the_timestamp_a_dot_and_the_body() {
        // As Stripe documents for manual verification: HMAC-SHA256 of
        // "<t>.<body>", in lower-case hex.
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key");
        mac.update(b"1492774577.{}");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            sign(SECRET, 1_492_774_577, b"{}"),
            format!("t=1492774577,v1={expected}")
        );
    }
}
