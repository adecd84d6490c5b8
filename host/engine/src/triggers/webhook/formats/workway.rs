//! Workway's own format, the default: `Workway-Signature: t=<unix
//! seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the workflow's
//! signing secret (the whole `whsec_...` string is the key). Several `v1=`
//! entries may be sent while a sender rotates secrets; one must match.
//! The idempotency key is where the trigger says (`idempotency_header` or
//! `idempotency_field`).

use workway_workflow::webhook::WebhookFormat;

use super::{FormatError, Headers, TimestampedHmac, Verified};
use crate::signing;

/// The header carrying the signature.
pub const SIGNATURE: &str = "Workway-Signature";

const SCHEME: TimestampedHmac = TimestampedHmac {
    format: WebhookFormat::Workway,
    header: SIGNATURE,
    expected: "`Workway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the workflow's signing secret",
};

/// The `Workway-Signature` value for `body` sent at `timestamp` (Unix
/// seconds) under `secret`: what a sender computes.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    signing::sign(secret, timestamp, body)
}

/// Check the `Workway-Signature` of a delivery.
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
