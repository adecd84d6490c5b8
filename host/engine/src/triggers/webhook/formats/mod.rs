//! The sender formats of webhook deliveries: how each sender signs a
//! delivery, checked exactly as the sender documents it, one module per
//! format:
//!
//! - [`workway`]: `Workway-Signature: t=<unix>,v1=<hex>` (the default);
//! - [`standard`]: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64>` under a `whsec_` secret, or
//!   `v1a,<base64>` ed25519 signatures under the sender's `whpk_` public
//!   key);
//! - [`stripe`]: `Stripe-Signature: t=<unix>,v1=<hex>`;
//! - [`github`]: `X-Hub-Signature-256: sha256=<hex>`;
//! - [`slack`]: `X-Slack-Signature: v0=<hex>` with
//!   `X-Slack-Request-Timestamp`.
//!
//! Every header is hostile: each is read once (a header sent twice is
//! refused), its length and its number of signatures are capped, a value
//! that does not parse is refused naming the header and the format it
//! should have, and signatures are compared in constant time
//! (`hmac`'s `verify_slice`) or, for ed25519, verified strictly
//! (`ed25519-dalek`'s `verify_strict`). No error shows the secret.

pub mod github;
pub mod slack;
pub mod standard;
pub mod stripe;
pub mod workway;

use workway_workflow::webhook::WebhookFormat;

use crate::signing::SignatureError;

/// The longest signature, timestamp or id header read, in bytes.
pub const MAX_HEADER: usize = crate::signing::MAX_HEADER;

/// The most signatures read from one header (a sender rotating secrets
/// sends two or three).
pub const MAX_SIGNATURES: usize = crate::signing::MAX_TAGS;

/// The longest delivery id (`webhook-id`, `X-GitHub-Delivery`) kept as an
/// idempotency key, in bytes.
pub const MAX_ID: usize = 256;

/// The headers of a delivery (names in any case), read one at a time.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a>(&'a [(String, String)]);

impl<'a> Headers<'a> {
    /// The headers as received.
    pub fn new(headers: &'a [(String, String)]) -> Self {
        Headers(headers)
    }

    /// The value of `name` if it was sent, once; sent more than once is an
    /// error (which one would count is ambiguous).
    pub fn get(&self, name: &'static str) -> Result<Option<&'a str>, FormatError> {
        let mut found = self
            .0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = found.next();
        let more = found.count();
        if more > 0 {
            return Err(FormatError::Repeated {
                header: name,
                count: more + 1,
            });
        }
        Ok(first)
    }

    /// The first value of `name`, a header named at run time (a
    /// `workway` trigger's `idempotency_header`).
    pub fn first(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, which a `format` delivery must carry: as
    /// `expected` says, at most [`MAX_HEADER`] bytes.
    pub fn require(
        &self,
        format: WebhookFormat,
        name: &'static str,
        expected: &'static str,
    ) -> Result<&'a str, FormatError> {
        let value = self.get(name)?.ok_or(FormatError::Missing {
            format,
            header: name,
            expected,
        })?;
        if value.len() > MAX_HEADER {
            return Err(FormatError::Malformed {
                format,
                header: name,
                expected,
                why: "longer than 4096 bytes",
            });
        }
        Ok(value)
    }
}

/// A delivery whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp (Unix seconds), when the format signs one.
    pub timestamp: Option<i64>,
    /// The tolerance applied (the workflow's, capped), in seconds; 0 when
    /// the format signs no timestamp.
    pub tolerance: u64,
    /// The matching signature as sent (hex or base64): the delivery's
    /// dedupe key.
    pub signature: String,
    /// The sender's delivery id, when the format carries it in a header
    /// (`webhook-id`, `X-GitHub-Delivery`): the idempotency key.
    pub delivery_id: Option<String>,
}

/// Why a delivery's signature is refused. The message names the header
/// and the format it should have; it never shows the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A header the format needs is missing.
    #[error("no `{header}` header; a `{format}` delivery carries {expected}")]
    Missing {
        /// The workflow's format.
        format: WebhookFormat,
        /// The header.
        header: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// A header was sent more than once.
    #[error("the `{header}` header is sent {count} times; send it once")]
    Repeated {
        /// The header.
        header: &'static str,
        /// How many times.
        count: usize,
    },
    /// A header does not parse.
    #[error("the `{header}` header is malformed ({why}); a `{format}` delivery carries {expected}")]
    Malformed {
        /// The workflow's format.
        format: WebhookFormat,
        /// The header.
        header: &'static str,
        /// What it should hold.
        expected: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The signed timestamp is too far from now.
    #[error(
        "the `{header}` timestamp is {away} s away from this host's clock (tolerance {tolerance} s): a replay, or a sender clock that is off"
    )]
    Stale {
        /// The header holding the timestamp.
        header: &'static str,
        /// How far it is (seconds).
        away: u64,
        /// The tolerance applied (seconds).
        tolerance: u64,
    },
    /// No signature matches.
    #[error("no {what} signature matches the body under this workflow's secret (in `{header}`)")]
    Mismatch {
        /// The header.
        header: &'static str,
        /// Which signatures were compared (`v1`, `sha256`, `v0`).
        what: &'static str,
    },
    /// No signature verifies under the workflow's public key (Standard
    /// Webhooks' `v1a` under a `whpk_` key).
    #[error("no {what} signature matches the body under this workflow's {key} (in `{header}`)")]
    KeyMismatch {
        /// The header.
        header: &'static str,
        /// Which signatures were verified (`v1a (ed25519)`).
        what: &'static str,
        /// The key they were verified with (`` `whpk_` public key ``).
        key: &'static str,
    },
    /// The workflow's secret cannot sign this format (a secret made for
    /// another format, or damaged).
    #[error(
        "the workflow's signing secret is not a `{format}` secret ({why}); its owner must set or rotate it"
    )]
    Secret {
        /// The workflow's format.
        format: WebhookFormat,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// Check a delivery of `format` (`headers` and `body`) under `secret` at
/// `now` (Unix seconds), allowing `tolerance` seconds of clock difference
/// where the format signs a timestamp.
pub fn verify(
    format: WebhookFormat,
    secret: &str,
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<Verified, FormatError> {
    match format {
        WebhookFormat::Workway => workway::verify(secret, headers, body, now, tolerance),
        WebhookFormat::StandardWebhooks => standard::verify(secret, headers, body, now, tolerance),
        WebhookFormat::Stripe => stripe::verify(secret, headers, body, now, tolerance),
        WebhookFormat::Github => github::verify(secret, headers, body),
        WebhookFormat::Slack => slack::verify(secret, headers, body, now, tolerance),
    }
}

/// Why a secret cannot be the signing secret of a format's webhook. Never
/// shows the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    /// Fewer characters than the format's minimum.
    #[error("the secret is shorter than {min} characters")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More than [`MAX_SECRET`] bytes.
    #[error("the secret is longer than {MAX_SECRET} bytes")]
    TooLong,
    /// Leading or trailing white space, or a control character: a pasting
    /// accident.
    #[error("the secret has white space at an end or a control character; paste it exactly")]
    Spaces,
    /// Not of the shape the sender gives.
    #[error("{0}")]
    Shape(&'static str),
    /// A key that decodes to the wrong number of bytes.
    #[error("{what} is the standard base64 of {expected} bytes; this one decodes to {got} bytes")]
    KeyLength {
        /// Which key (`` a Standard Webhooks public key (`whpk_`) ``).
        what: &'static str,
        /// How many bytes it has.
        expected: usize,
        /// How many bytes it decodes to.
        got: usize,
    },
}

/// The longest secret taken, in bytes.
pub const MAX_SECRET: usize = 1024;

/// The shortest secret taken where the owner chooses it (`workway`,
/// `github`), in characters.
pub const MIN_CHOSEN_SECRET: usize = 16;

/// Whether `secret` can be the signing secret of a `format` webhook, as
/// its sender gives or takes it: Standard Webhooks' `whsec_<base64 of 24
/// to 64 bytes>` or the sender's ed25519 public key `whpk_<base64 of 32
/// bytes>`, Stripe's `whsec_...`, Slack's signing secret, or a secret of
/// at least [`MIN_CHOSEN_SECRET`] characters for `workway` and `github`
/// (where the owner chooses it). A Standard Webhooks private key
/// (`whsk_...`) is refused for every format.
pub fn check_secret(format: WebhookFormat, secret: &str) -> Result<(), SecretProblem> {
    if secret.len() > MAX_SECRET {
        return Err(SecretProblem::TooLong);
    }
    if secret.trim() != secret || secret.chars().any(char::is_control) {
        return Err(SecretProblem::Spaces);
    }
    standard::refuse_private_key(secret)?;
    match format {
        WebhookFormat::StandardWebhooks => standard::check_secret(secret),
        WebhookFormat::Stripe => stripe::check_secret(secret),
        WebhookFormat::Slack => slack::check_secret(secret),
        WebhookFormat::Workway | WebhookFormat::Github => {
            if secret.chars().count() < MIN_CHOSEN_SECRET {
                return Err(SecretProblem::TooShort {
                    min: MIN_CHOSEN_SECRET,
                });
            }
            Ok(())
        }
    }
}

/// Refuse `timestamp` (from `header`) when it is further than `tolerance`
/// seconds from `now`.
fn check_time(
    header: &'static str,
    timestamp: i64,
    now: i64,
    tolerance: u64,
) -> Result<(), FormatError> {
    let away = timestamp.abs_diff(now);
    if away > tolerance {
        return Err(FormatError::Stale {
            header,
            away,
            tolerance,
        });
    }
    Ok(())
}

/// A Unix timestamp in seconds as a sender writes it: ASCII digits only.
fn parse_timestamp(value: &str) -> Option<i64> {
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A sender that signs `"<t>.<body>"` in a `t=...,v1=...` header, the
/// scheme [`crate::signing`] implements: Workway's own format and
/// Stripe's differ only in the header's name and what a refusal says.
pub(super) struct TimestampedHmac {
    /// The format, for refusals.
    pub(super) format: WebhookFormat,
    /// The header carrying the signature.
    pub(super) header: &'static str,
    /// What a well-formed header looks like, for refusals.
    pub(super) expected: &'static str,
}

impl TimestampedHmac {
    /// Check one header `value` for `body` at `now`, within `tolerance`
    /// seconds.
    pub(super) fn verify(
        &self,
        secret: &str,
        value: &str,
        body: &[u8],
        now: i64,
        tolerance: u64,
    ) -> Result<Verified, FormatError> {
        let signed = crate::signing::verify(secret, value, body, now, tolerance)
            .map_err(|e| self.refusal(e))?;
        Ok(Verified {
            timestamp: Some(signed.timestamp),
            tolerance,
            signature: signed.tag,
            delivery_id: None,
        })
    }

    /// The refusal of a header [`crate::signing::verify`] did not verify.
    fn refusal(&self, error: SignatureError) -> FormatError {
        let (format, header, expected) = (self.format, self.header, self.expected);
        let malformed = |why| FormatError::Malformed {
            format,
            header,
            expected,
            why,
        };
        match error {
            SignatureError::TooLong => malformed("longer than 4096 bytes"),
            SignatureError::TooMany => malformed("more than 16 signatures"),
            SignatureError::NoTimestamp => malformed("no t=<unix seconds>"),
            SignatureError::NoTag => malformed("no v1=<hex HMAC-SHA256>"),
            SignatureError::Stale { away, tolerance } => FormatError::Stale {
                header,
                away,
                tolerance,
            },
            SignatureError::Mismatch => FormatError::Mismatch { header, what: "v1" },
        }
    }
}

/// A 32-byte HMAC-SHA256 tag in lower-case or upper-case hex, or `None`.
fn hex_tag(value: &str) -> Option<Vec<u8>> {
    if value.len() != 64 {
        return None;
    }
    hex::decode(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn a_header_is_read_once_in_any_case() {
        let list = owned(&[("X-Hub-Signature-256", "a"), ("content-type", "b")]);
        let headers = Headers::new(&list);
        assert_eq!(headers.get("x-hub-signature-256"), Ok(Some("a")));
        assert_eq!(headers.get("webhook-id"), Ok(None));
        let twice = owned(&[("webhook-id", "a"), ("Webhook-Id", "b")]);
        assert_eq!(
            Headers::new(&twice).get("webhook-id"),
            Err(FormatError::Repeated {
                header: "webhook-id",
                count: 2
            })
        );
        let long = owned(&[("webhook-id", &"x".repeat(MAX_HEADER + 1))]);
        let refused = Headers::new(&long)
            .require(WebhookFormat::StandardWebhooks, "webhook-id", "an id")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("longer than 4096"), "{refused}");
    }

    #[test]
    fn secrets_are_checked_for_their_sender() {
        use WebhookFormat as F;
        assert_eq!(
            check_secret(F::Github, "short"),
            Err(SecretProblem::TooShort { min: 16 })
        );
        assert!(check_secret(F::Github, "It's a Secret to Everybody").is_ok());
        // A Standard Webhooks private key is no one's chosen secret.
        let private = "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=";
        for format in [
            F::Github,
            F::Workway,
            F::StandardWebhooks,
            F::Slack,
            F::Stripe,
        ] {
            assert!(
                matches!(check_secret(format, private), Err(SecretProblem::Shape(why)) if why.contains("private key")),
                "{format:?}"
            );
        }
        assert_eq!(
            check_secret(F::Github, " It's a Secret to Everybody"),
            Err(SecretProblem::Spaces)
        );
        assert_eq!(
            check_secret(F::Workway, &"x".repeat(2000)),
            Err(SecretProblem::TooLong)
        );
        assert!(check_secret(F::Stripe, "whsec_test_secret").is_ok());
        assert!(check_secret(F::Stripe, "sk_live_oops").is_err());
        assert!(check_secret(F::Slack, "8f742231b10e8888abcd99yyyzzz85a5").is_ok());
        assert!(
            check_secret(
                F::StandardWebhooks,
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            )
            .is_ok()
        );
        assert!(check_secret(F::StandardWebhooks, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        for bad in [
            "whsec_",
            "whsec_!!!",
            "whsec_c2hvcnQ=",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-",
        ] {
            assert!(check_secret(F::StandardWebhooks, bad).is_err(), "{bad}");
        }
        // No message shows the secret.
        let message = check_secret(F::Stripe, "sk_live_oops")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("oops"), "{message}");
    }

    proptest::proptest! {
        /// Whatever headers a sender sends (any names of the formats', any
        /// values, repeated or not), every format answers without
        /// panicking, and a refusal never shows the secret.
        #[test]
        fn hostile_headers_are_refused_never_panicked_on(
            values in proptest::collection::vec(
                (0usize..10, "[ -~]{0,80}|v1,[A-Za-z0-9+/=]{0,60}|v1a,[A-Za-z0-9+/=]{0,100}|t=[0-9]{1,12},v1=[0-9a-f]{0,64}"),
                0..8,
            ),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            now in proptest::prelude::any::<i64>(),
            tolerance in proptest::prelude::any::<u64>(),
        ) {
            const NAMES: [&str; 10] = [
                workway::SIGNATURE,
                standard::ID,
                standard::TIMESTAMP,
                standard::SIGNATURE,
                stripe::SIGNATURE,
                github::SIGNATURE,
                github::DELIVERY,
                github::EVENT,
                slack::SIGNATURE,
                slack::TIMESTAMP,
            ];
            let list: Vec<(String, String)> = values
                .into_iter()
                .map(|(name, value)| (NAMES[name].to_string(), value))
                .collect();
            // A symmetric secret and a Standard Webhooks public key (RFC
            // 8032's TEST 1), each handed to every format.
            for secret in [
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            ] {
                for format in WebhookFormat::ALL {
                    if let Err(e) = verify(format, secret, Headers::new(&list), &body, now, tolerance) {
                        let message = e.to_string();
                        proptest::prop_assert!(!message.is_empty());
                        proptest::prop_assert!(!message.contains(&secret[6..14]), "{}", message);
                    }
                }
            }
        }
    }

    #[test]
    fn timestamps_are_plain_digits() {
        assert_eq!(parse_timestamp("1614265330"), Some(1_614_265_330));
        for bad in ["", "+1", "-1", "1.5", " 1", "1e9", &"9".repeat(40)] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
