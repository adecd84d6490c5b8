//! Verifying Stripe's `Stripe-Signature` header: `t=<unix seconds>`, and
//! one or more `v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the endpoint's
//! signing secret>` (several while a secret is being rolled). The
//! timestamp must be within the tolerance of now, so a captured delivery
//! cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The longest `Stripe-Signature` header read (a few signatures fit).
const MAX_HEADER: usize = 2048;

/// Whether `header` signs `body` with `secret` at a time within
/// `tolerance_s` of `now_s`; the reason when not.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), &'static str> {
    let header = header.ok_or("no Stripe-Signature header")?;
    if header.len() > MAX_HEADER {
        return Err("the Stripe-Signature header is too long");
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err("the Stripe-Signature header is malformed");
        };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("the Stripe-Signature header has no timestamp")?;
    if signatures.is_empty() {
        return Err("the Stripe-Signature header has no v1 signature");
    }
    if now_s.abs_diff(timestamp) > tolerance_s.unsigned_abs() {
        return Err("the signature's timestamp is outside the tolerance");
    }
    let signed = |expected: &[u8]| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(expected).is_ok()
    };
    if signatures
        .iter()
        .filter_map(|s| hex::decode(s).ok())
        .any(|expected| signed(&expected))
    {
        Ok(())
    } else {
        Err("no v1 signature matches the payload")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    fn sign(t: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key");
        mac.update(format!("{t}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_fresh_signature_verifies_and_anything_else_does_not() {
        let body = r#"{"id":"evt_1","type":"invoice.paid"}"#;
        let t = 1_700_000_000;
        let good = format!("t={t},v1={}", sign(t, body));
        assert_eq!(
            verify(Some(&good), body.as_bytes(), SECRET, t + 10, 300),
            Ok(())
        );
        // A rolled secret: any v1 may match; v0 and unknown schemes are ignored.
        let rolled = format!("t={t},v1={},v0=abc,v1={}", "00".repeat(32), sign(t, body));
        assert_eq!(
            verify(Some(&rolled), body.as_bytes(), SECRET, t, 300),
            Ok(())
        );
        // Too old, or from the future beyond the tolerance: a replay.
        assert!(verify(Some(&good), body.as_bytes(), SECRET, t + 301, 300).is_err());
        assert!(verify(Some(&good), body.as_bytes(), SECRET, t - 301, 300).is_err());
        // Another body, another secret, a re-timed header.
        assert!(verify(Some(&good), b"{}", SECRET, t, 300).is_err());
        assert!(verify(Some(&good), body.as_bytes(), "whsec_other", t, 300).is_err());
        let retimed = format!("t={},v1={}", t + 1, sign(t, body));
        assert!(verify(Some(&retimed), body.as_bytes(), SECRET, t, 300).is_err());
        // Missing or malformed headers.
        assert!(verify(None, body.as_bytes(), SECRET, t, 300).is_err());
        assert!(verify(Some(""), body.as_bytes(), SECRET, t, 300).is_err());
        assert!(verify(Some("t=1"), body.as_bytes(), SECRET, 1, 300).is_err());
        assert!(verify(Some("v1=ab"), body.as_bytes(), SECRET, t, 300).is_err());
        assert!(verify(Some(&"v1=ab,".repeat(500)), body.as_bytes(), SECRET, t, 300).is_err());
        assert!(verify(Some("t=x,v1=zz"), body.as_bytes(), SECRET, t, 300).is_err());
    }

    #[test]
    fn stripes_published_scheme_is_followed() {
        // The signed payload is "<t>.<body>", HMAC-SHA256 in lower-case hex,
        // as Stripe documents for manual verification.
        let body = "{}";
        let t = 1_492_774_577;
        let header = format!("t={t},v1={}", sign(t, body));
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key");
        mac.update(b"1492774577.{}");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert!(header.ends_with(&expected));
        assert_eq!(
            verify(Some(&header), body.as_bytes(), SECRET, t, 300),
            Ok(())
        );
    }
}
