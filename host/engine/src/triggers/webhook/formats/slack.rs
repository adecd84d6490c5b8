//! Slack's format: `X-Slack-Signature: v0=<hex HMAC-SHA256 of
//! "v0:<timestamp>:<body>">` under the app's signing secret, with the
//! timestamp in `X-Slack-Request-Timestamp` (Slack's own check allows five
//! minutes; the trigger's `tolerance_secs` defaults to that). The event's
//! `event_id` (Events API) is the idempotency key, so Slack's retries
//! (`X-Slack-Retry-Num`) of one event start one run; a slash command or an
//! interaction (form-encoded, no `event_id`) is deduplicated on its
//! signature only. A signed `{"type": "url_verification", "challenge":
//! ...}` is answered with its challenge and starts no run.

use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;
use workway_workflow::webhook::WebhookFormat;

use super::{FormatError, Headers, SecretProblem, Verified, check_time, hex_tag, parse_timestamp};

/// The header carrying the signature.
pub const SIGNATURE: &str = "X-Slack-Signature";
/// The header carrying the timestamp.
pub const TIMESTAMP: &str = "X-Slack-Request-Timestamp";
/// The header Slack adds to a retry: its number.
pub const RETRY_NUM: &str = "X-Slack-Retry-Num";
/// The JSON pointer to the idempotency key in an event's body.
pub const EVENT_ID: &str = "/event_id";

/// The longest challenge answered, in bytes.
pub const MAX_CHALLENGE: usize = 1024;

const EXPECTED_SIGNATURE: &str = "`X-Slack-Signature: v0=<hex HMAC-SHA256 of \"v0:<timestamp>:<body>\">` under the app's signing secret";
const EXPECTED_TIMESTAMP: &str = "`X-Slack-Request-Timestamp: <unix seconds>`";

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"v0:");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value for `body` sent at `timestamp` under
/// `secret`, as Slack computes it.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Check a Slack request's signature and timestamp.
pub fn verify(
    secret: &str,
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<Verified, FormatError> {
    let format = WebhookFormat::Slack;
    let malformed = |header, expected, why| FormatError::Malformed {
        format,
        header,
        expected,
        why,
    };
    let signature = headers.require(format, SIGNATURE, EXPECTED_SIGNATURE)?;
    let timestamp = headers.require(format, TIMESTAMP, EXPECTED_TIMESTAMP)?;
    let timestamp = parse_timestamp(timestamp)
        .ok_or_else(|| malformed(TIMESTAMP, EXPECTED_TIMESTAMP, "not a number of seconds"))?;
    check_time(TIMESTAMP, timestamp, now, tolerance)?;
    let tag = signature
        .strip_prefix("v0=")
        .and_then(hex_tag)
        .ok_or_else(|| malformed(SIGNATURE, EXPECTED_SIGNATURE, "not v0= and 64 hex digits"))?;
    mac(secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| FormatError::Mismatch {
            header: SIGNATURE,
            what: "v0",
        })?;
    Ok(Verified {
        timestamp: Some(timestamp),
        tolerance,
        signature: hex::encode(tag),
        delivery_id: None,
    })
}

/// The challenge of a (verified) `url_verification` request, which Slack
/// sends once when the request URL is set and expects echoed back; `None`
/// for anything else. A challenge longer than [`MAX_CHALLENGE`] is not
/// one Slack sends, and is not echoed.
pub fn challenge(payload: &Value) -> Option<&str> {
    if payload.get("type").and_then(Value::as_str) != Some("url_verification") {
        return None;
    }
    payload
        .get("challenge")
        .and_then(Value::as_str)
        .filter(|c| c.len() <= MAX_CHALLENGE)
}

/// A Slack signing secret: at least 16 characters (Slack's are 32 hex
/// digits).
pub(super) fn check_secret(secret: &str) -> Result<(), SecretProblem> {
    if secret.chars().count() < super::MIN_CHOSEN_SECRET {
        return Err(SecretProblem::Shape(
            "a Slack signing secret is 32 characters (the app's Basic Information page shows it)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example ("Verifying requests from Slack"): a slash
    // command, form-encoded.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP_S: i64 = 1_531_420_618;
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE_V0: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(signature: &str, timestamp: &str) -> Vec<(String, String)> {
        vec![
            (SIGNATURE.to_string(), signature.to_string()),
            (TIMESTAMP.to_string(), timestamp.to_string()),
        ]
    }

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(sign(SECRET, TIMESTAMP_S, BODY), SIGNATURE_V0);
        let list = headers(SIGNATURE_V0, "1531420618");
        let verified =
            verify(SECRET, Headers::new(&list), BODY, TIMESTAMP_S + 60, 300).expect("verifies");
        assert_eq!(verified.timestamp, Some(TIMESTAMP_S));
    }

    #[test]
    fn wrong_tampered_stale_and_malformed_requests_are_refused() {
        let list = headers(SIGNATURE_V0, "1531420618");
        let mismatch = Err(FormatError::Mismatch {
            header: SIGNATURE,
            what: "v0",
        });
        let check = |list: &[(String, String)], secret: &str, body: &[u8], now: i64| {
            verify(secret, Headers::new(list), body, now, 300)
        };
        assert_eq!(
            check(&list, "8f742231b10e8888abcd99yyyzzz85a6", BODY, TIMESTAMP_S),
            mismatch
        );
        let mut tampered = BODY.to_vec();
        tampered.extend_from_slice(b"&text=rm");
        assert_eq!(check(&list, SECRET, &tampered, TIMESTAMP_S), mismatch);
        // The signature binds the timestamp: another one does not verify.
        let retimed = headers(SIGNATURE_V0, "1531420619");
        assert_eq!(check(&retimed, SECRET, BODY, TIMESTAMP_S), mismatch);
        assert_eq!(
            check(&list, SECRET, BODY, TIMESTAMP_S + 301),
            Err(FormatError::Stale {
                header: TIMESTAMP,
                away: 301,
                tolerance: 300
            })
        );
        let error = check(&headers(SIGNATURE_V0, "soon"), SECRET, BODY, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`X-Slack-Request-Timestamp` header is malformed"),
            "{error}"
        );
        let error = check(&headers("v1=abc", "1531420618"), SECRET, BODY, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`X-Slack-Signature` header is malformed"),
            "{error}"
        );
        let error = check(&[], SECRET, BODY, TIMESTAMP_S)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("no `X-Slack-Signature` header; a `slack` delivery"),
            "{error}"
        );
    }

    #[test]
    fn only_a_url_verification_has_a_challenge() {
        let verification = serde_json::json!({
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"
        });
        assert_eq!(
            challenge(&verification),
            Some("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
        );
        let event = serde_json::json!({"type": "event_callback", "challenge": "x"});
        assert_eq!(challenge(&event), None);
        let huge = serde_json::json!({"type": "url_verification", "challenge": "x".repeat(2000)});
        assert_eq!(challenge(&huge), None);
    }
}
