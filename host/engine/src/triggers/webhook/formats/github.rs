//! GitHub's format: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the
//! body>` under the webhook's secret (the string as bytes; the owner
//! chooses it and types it into GitHub). GitHub signs no timestamp, so a
//! captured delivery is caught by its id and its signature instead:
//! `X-GitHub-Delivery` is the idempotency key, and the signature is
//! remembered for the trigger's `dedupe_window_secs` (a replay with a
//! changed, unsigned `X-GitHub-Delivery` is still a duplicate within that
//! window; after it, GitHub's scheme has nothing left to tell a replay
//! from a new delivery). `X-GitHub-Event: ping`, sent when the webhook is
//! made, is answered without starting a run.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use workway_workflow::webhook::WebhookFormat;

use super::{FormatError, Headers, MAX_ID, Verified, hex_tag};

/// The header carrying the signature.
pub const SIGNATURE: &str = "X-Hub-Signature-256";
/// The header carrying the delivery's id (the idempotency key).
pub const DELIVERY: &str = "X-GitHub-Delivery";
/// The header naming the event (`push`, `ping`, ...).
pub const EVENT: &str = "X-GitHub-Event";
/// The event GitHub sends when a webhook is made: answered, not run.
pub const PING: &str = "ping";

const EXPECTED_SIGNATURE: &str =
    "`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` under the webhook's secret";
const EXPECTED_DELIVERY: &str = "`X-GitHub-Delivery: <delivery GUID>` (at most 256 bytes)";

fn mac(secret: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    mac
}

/// The `X-Hub-Signature-256` value for `body` under `secret`, as GitHub
/// computes it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

/// Check a GitHub delivery's signature and read its delivery id.
pub fn verify(secret: &str, headers: Headers<'_>, body: &[u8]) -> Result<Verified, FormatError> {
    let format = WebhookFormat::Github;
    let malformed = |header, expected, why| FormatError::Malformed {
        format,
        header,
        expected,
        why,
    };
    let signature = headers.require(format, SIGNATURE, EXPECTED_SIGNATURE)?;
    let delivery = headers.require(format, DELIVERY, EXPECTED_DELIVERY)?;
    if delivery.is_empty() || delivery.len() > MAX_ID || delivery.chars().any(char::is_control) {
        return Err(malformed(
            DELIVERY,
            EXPECTED_DELIVERY,
            "empty, too long or with control characters",
        ));
    }
    let tag = signature
        .strip_prefix("sha256=")
        .and_then(hex_tag)
        .ok_or_else(|| {
            malformed(
                SIGNATURE,
                EXPECTED_SIGNATURE,
                "not sha256= and 64 hex digits",
            )
        })?;
    mac(secret, body)
        .verify_slice(&tag)
        .map_err(|_| FormatError::Mismatch {
            header: SIGNATURE,
            what: "sha256",
        })?;
    Ok(Verified {
        timestamp: None,
        tolerance: 0,
        signature: hex::encode(tag),
        delivery_id: Some(delivery.to_string()),
    })
}

/// The event GitHub names in `X-GitHub-Event`, if sent once.
pub fn event<'a>(headers: Headers<'a>) -> Option<&'a str> {
    headers.get(EVENT).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's documented example ("Validating webhook deliveries").
    const SECRET: &str = "It's a Secret to Everybody";
    const PAYLOAD: &[u8] = b"Hello, World!";
    const SIGNATURE_256: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn headers(signature: &str) -> Vec<(String, String)> {
        vec![
            (SIGNATURE.to_string(), signature.to_string()),
            (
                DELIVERY.to_string(),
                "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_string(),
            ),
            (EVENT.to_string(), "issues".to_string()),
        ]
    }

    #[test]
    fn githubs_documented_example_verifies() {
        assert_eq!(sign(SECRET, PAYLOAD), SIGNATURE_256);
        let list = headers(SIGNATURE_256);
        let verified = verify(SECRET, Headers::new(&list), PAYLOAD).expect("verifies");
        assert_eq!(
            verified.delivery_id.as_deref(),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        assert_eq!(verified.timestamp, None);
        assert_eq!(event(Headers::new(&list)), Some("issues"));
        // Upper-case hex is the same signature.
        let upper = headers(&SIGNATURE_256.to_uppercase().replace("SHA256=", "sha256="));
        assert!(verify(SECRET, Headers::new(&upper), PAYLOAD).is_ok());
    }

    #[test]
    fn wrong_tampered_and_malformed_deliveries_are_refused() {
        let list = headers(SIGNATURE_256);
        let mismatch = Err(FormatError::Mismatch {
            header: SIGNATURE,
            what: "sha256",
        });
        assert_eq!(
            verify("It's a Secret to Nobody", Headers::new(&list), PAYLOAD),
            mismatch
        );
        assert_eq!(
            verify(SECRET, Headers::new(&list), b"Hello, World?"),
            mismatch
        );
        for bad in [
            "757107ea",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
            "sha256=zz",
        ] {
            let error = verify(SECRET, Headers::new(&headers(bad)), PAYLOAD)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("`X-Hub-Signature-256` header is malformed"),
                "{error}"
            );
        }
        let mut no_delivery = list.clone();
        no_delivery.remove(1);
        let error = verify(SECRET, Headers::new(&no_delivery), PAYLOAD)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("no `X-GitHub-Delivery` header"),
            "{error}"
        );
        let error = verify(SECRET, Headers::new(&[]), PAYLOAD)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("no `X-Hub-Signature-256` header"),
            "{error}"
        );
    }
}
