//! Stripe's format: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=...]
//! [,v0=...]`, where `v1` is the HMAC-SHA256 of `"<t>.<body>"` keyed by
//! the endpoint's signing secret (`whsec_...`, the whole string as
//! bytes); any `v1` may match (Stripe sends two while a secret is rolled),
//! `v0` (test-mode legacy) is ignored. The event's `id` in the JSON body
//! is the idempotency key, so Stripe's retries of one event (each signed
//! anew) start one run.
//!
//! The check is the one the platform's own Stripe payment notifications
//! use ([`crate::signing`]), not a second copy.

use workway_workflow::webhook::WebhookFormat;

use super::{FormatError, Headers, SecretProblem, TimestampedHmac, Verified};
use crate::signing;

/// The header carrying the signature.
pub const SIGNATURE: &str = "Stripe-Signature";

/// The JSON pointer to the idempotency key in the body: the event's id.
pub const EVENT_ID: &str = "/id";

const SCHEME: TimestampedHmac = TimestampedHmac {
    format: WebhookFormat::Stripe,
    header: SIGNATURE,
    expected: "`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the endpoint's signing secret",
};

/// The `Stripe-Signature` value for `body` sent at `timestamp` under
/// `secret`, as Stripe computes it.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    signing::sign(secret, timestamp, body)
}

/// Check the `Stripe-Signature` of a delivery.
pub fn verify(
    secret: &str,
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<Verified, FormatError> {
    let header = headers.require(SCHEME.format, SIGNATURE, SCHEME.expected)?;
    SCHEME.verify(secret, header, body, now, tolerance)
}

/// A Stripe endpoint secret starts with `whsec_`.
pub(super) fn check_secret(secret: &str) -> Result<(), SecretProblem> {
    match secret.strip_prefix("whsec_") {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(SecretProblem::Shape(
            "a Stripe endpoint's signing secret starts with `whsec_` (Stripe shows it on the \
             endpoint's page)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
    const T: i64 = 1_492_774_577;
    /// HMAC-SHA256 of "1492774577.<BODY>" under "whsec_test_secret", made
    /// outside this code (`printf '%s' "1492774577.$BODY" | openssl dgst
    /// -sha256 -hmac whsec_test_secret`), as Stripe's documentation says
    /// to compute it by hand.
    const V1: &str = "88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a";

    fn headers(value: &str) -> Vec<(String, String)> {
        vec![("stripe-signature".to_string(), value.to_string())]
    }

    #[test]
    fn stripes_signature_verifies_as_stripe_computes_it() {
        assert_eq!(sign(SECRET, T, BODY), format!("t={T},v1={V1}"));
        // A rolled secret (two v1) and a legacy v0 entry, as Stripe sends.
        let header = format!("t={T},v1={},v1={V1},v0={}", "1".repeat(64), "2".repeat(64));
        let list = headers(&header);
        let verified = verify(SECRET, Headers::new(&list), BODY, T + 299, 300).expect("verifies");
        assert_eq!(verified.signature, V1);
        assert_eq!(verified.timestamp, Some(T));
    }

    #[test]
    fn bad_stale_and_missing_signatures_are_refused() {
        let good = headers(&format!("t={T},v1={V1}"));
        let refused = |list: &[(String, String)], secret: &str, body: &[u8], now: i64| {
            verify(secret, Headers::new(list), body, now, 300).unwrap_err()
        };
        assert_eq!(
            refused(&good, "whsec_other", BODY, T),
            FormatError::Mismatch {
                header: SIGNATURE,
                what: "v1"
            }
        );
        assert!(matches!(
            refused(&good, SECRET, b"{\"id\":\"evt_forged\"}", T),
            FormatError::Mismatch { .. }
        ));
        assert_eq!(
            refused(&good, SECRET, BODY, T + 301),
            FormatError::Stale {
                header: SIGNATURE,
                away: 301,
                tolerance: 300
            }
        );
        let missing = refused(&[], SECRET, BODY, T).to_string();
        assert!(
            missing.starts_with("no `Stripe-Signature` header; a `stripe` delivery carries"),
            "{missing}"
        );
        let malformed = refused(&headers("v1=abc"), SECRET, BODY, T).to_string();
        assert!(malformed.contains("no t=<unix seconds>"), "{malformed}");
        assert!(!malformed.contains(SECRET));
    }
}
