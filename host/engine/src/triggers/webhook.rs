//! The webhook trigger: a POST to a workflow's secret URL
//! (`/v1/hooks/<token>`) starts a run with the JSON body as trigger data.
//!
//! Every delivery must be signed: the `Workway-Signature` header is
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the
//! workflow's signing secret (`whsec_...`, shown to its owner once when the
//! workflow becomes a webhook workflow, and again by
//! `workway workflow rotate-secret`). A timestamp further than the
//! workflow's `tolerance_secs` (at most [`MAX_TOLERANCE_SECS`]) from the
//! host's clock is refused, so a captured delivery cannot be replayed
//! later.
//!
//! Every delivery is deduplicated on its signature, which an attacker who
//! captured it cannot change without the secret: replaying it within the
//! tolerance, whatever unsigned headers (an `X-Delivery-Id`) are changed,
//! returns the run the first one started. The signature is remembered
//! until its timestamp is out of tolerance by a margin. The sender's own
//! idempotency key (a header or a body field, per the workflow) is also
//! remembered for `dedupe_window_secs`, so a retry the sender signs anew
//! is a duplicate too. Both hold on any host sharing the store.

use serde_json::{Value, json};
use workway_store::workflows::TriggerKind;

use super::{StartedRun, TriggerError, start_run};
pub use crate::hook_secrets::open_secret;
use crate::hook_secrets::{new_secret, seal_secret};
use crate::platform::Platform;
use crate::saved;
use crate::signing::{self, SignatureError};
use workway_workflow::definition::Trigger;

/// The header carrying a delivery's signature.
pub const SIGNATURE_HEADER: &str = "workway-signature";

/// The widest timestamp tolerance honoured, in seconds, whatever a
/// workflow's `tolerance_secs` asks: a captured delivery is replayable
/// (and its signature must be remembered) for this long at most.
pub const MAX_TOLERANCE_SECS: u64 = 900;

/// A delivery whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp (Unix seconds).
    pub timestamp: i64,
    /// The tolerance applied (the workflow's, capped), in seconds.
    pub tolerance: u64,
    /// The matching `v1` tag, hex: the delivery's dedupe key.
    pub signature: String,
}

/// Why a delivery started no run. Each maps to an HTTP status in the API.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No webhook workflow has this URL (or it stopped being a webhook).
    #[error("no webhook at this URL")]
    UnknownHook,
    /// The signature is missing, malformed, stale or wrong.
    #[error("signature refused: {0}")]
    Signature(String),
    /// The body or the idempotency key is unusable.
    #[error("bad delivery: {0}")]
    Body(String),
    /// The workflow asked for has no webhook trigger, hence no secret.
    #[error(
        "workflow `{0}` has no webhook trigger, so it has no signing secret; give it `trigger: {{kind: webhook}}` and save it"
    )]
    NotWebhook(String),
    /// The run could not be started.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
}

/// The `Workway-Signature` value for `body` sent at `timestamp` (Unix
/// seconds): what a sender computes.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    signing::sign(secret, timestamp, body)
}

/// Check `header` against `body` at `now` (Unix seconds), allowing
/// `tolerance` seconds of clock difference (at most
/// [`MAX_TOLERANCE_SECS`]). Several `v1=` entries are allowed (a sender
/// rotating secrets); one must match.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<Verified, WebhookError> {
    let tolerance = tolerance.min(MAX_TOLERANCE_SECS);
    let Some(header) = header else {
        return Err(WebhookError::Signature(
            "no Workway-Signature header; sign each delivery with the workflow's secret".into(),
        ));
    };
    match signing::verify(secret, header, body, now, tolerance) {
        Ok(signed) => Ok(Verified {
            timestamp: signed.timestamp,
            tolerance,
            signature: signed.tag,
        }),
        Err(SignatureError::Mismatch) => Err(WebhookError::Signature(
            "no v1 signature matches the body under this workflow's secret".into(),
        )),
        Err(e) => Err(WebhookError::Signature(e.to_string())),
    }
}

/// Give `owner`'s webhook workflow `name` a new signing secret and return
/// it (the only time it is shown). Deliveries signed with the old secret
/// are refused from this moment, on every host sharing the store.
pub async fn rotate_secret(
    platform: &Platform,
    owner: &str,
    name: &str,
) -> Result<String, WebhookError> {
    let row = platform
        .store
        .workflows()
        .find(owner, name)
        .await
        .map_err(TriggerError::from)?
        .ok_or_else(|| TriggerError::from(saved::SaveError::Unknown(name.to_string())))?;
    let token = row
        .webhook_token
        .ok_or_else(|| WebhookError::NotWebhook(name.to_string()))?;
    let secret = new_secret().map_err(|e| TriggerError::from(saved::SaveError::Secret(e)))?;
    let sealed = seal_secret(platform, &token, &secret)
        .map_err(|e| TriggerError::from(saved::SaveError::Secret(e)))?;
    platform
        .store
        .workflows()
        .set_webhook_secret(owner, name, &sealed, workway_store::clock::now_ms())
        .await
        .map_err(TriggerError::from)?
        .ok_or_else(|| WebhookError::NotWebhook(name.to_string()))?;
    tracing::info!(owner, workflow = name, "webhook signing secret rotated");
    Ok(secret)
}

/// One delivery: `headers` (names lower-case) and `body` as received at
/// `now_ms`.
pub async fn deliver(
    platform: &Platform,
    token: &str,
    headers: &[(String, String)],
    body: &[u8],
    now_ms: i64,
) -> Result<StartedRun, WebhookError> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let row = platform
        .store
        .workflows()
        .by_webhook_token(token)
        .await
        .map_err(TriggerError::from)?
        .ok_or(WebhookError::UnknownHook)?;
    let definition = saved::definition_of(platform, &row, row.version)
        .await
        .map_err(TriggerError::from)?;
    let Trigger::Webhook {
        idempotency_header,
        idempotency_field,
        dedupe_window_secs,
        tolerance_secs,
    } = &definition.trigger
    else {
        return Err(WebhookError::UnknownHook);
    };
    let sealed = row
        .webhook_secret
        .as_deref()
        .ok_or(WebhookError::UnknownHook)?;
    let secret = open_secret(platform, token, sealed).map_err(|e| {
        WebhookError::Signature(format!("the workflow's secret cannot be opened: {e}"))
    })?;
    let verified = verify(
        &secret,
        header(SIGNATURE_HEADER),
        body,
        now_ms.div_euclid(1000),
        *tolerance_secs,
    )?;
    let payload: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| WebhookError::Body(format!("the body is not JSON: {e}")))?
    };
    let key = match (idempotency_header, idempotency_field) {
        (Some(name), _) => Some(header(name).map(str::to_string).ok_or_else(|| {
            WebhookError::Body(format!(
                "the `{name}` header (the idempotency key) is missing"
            ))
        })?),
        (None, Some(pointer)) => Some(match payload.pointer(pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(WebhookError::Body(format!(
                    "the body has no string or number at {pointer} (the idempotency key)"
                )));
            }
        }),
        (None, None) => None,
    };
    let data = json!({"body": payload, "idempotency_key": key});
    // The signature is remembered until its timestamp is out of tolerance
    // on a host whose clock is behind by as much again.
    let signature_key = format!("signature:{}", verified.signature);
    let tolerance = i64::try_from(verified.tolerance).unwrap_or(i64::MAX / 4);
    let signature_expires = verified
        .timestamp
        .saturating_add(tolerance.saturating_mul(2))
        .saturating_mul(1000)
        .max(now_ms);
    let window_ms = i64::try_from(dedupe_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
    let sender_key = key.as_ref().map(|k| format!("webhook:{k}"));
    let mut keys = vec![(signature_key.as_str(), signature_expires)];
    if let Some(k) = &sender_key {
        keys.push((k.as_str(), now_ms.saturating_add(window_ms)));
    }
    Ok(start_run(
        platform,
        &row,
        &definition,
        TriggerKind::Webhook,
        &data,
        &keys,
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let secret = new_secret().expect("randomness");
        assert!(secret.starts_with("whsec_"));
        let header = sign(&secret, 1_700_000_000, b"{\"a\":1}");
        let verified =
            verify(&secret, Some(&header), b"{\"a\":1}", 1_700_000_010, 300).expect("verifies");
        assert_eq!(verified.timestamp, 1_700_000_000);
        assert_eq!(
            Some(verified.signature.as_str()),
            header.split("v1=").nth(1)
        );
        for (secret, body, now) in [
            (secret.as_str(), &b"{\"a\":2}"[..], 1_700_000_010),
            ("whsec_other", &b"{\"a\":1}"[..], 1_700_000_010),
            (secret.as_str(), &b"{\"a\":1}"[..], 1_700_000_400),
        ] {
            assert!(matches!(
                verify(secret, Some(&header), body, now, 300),
                Err(WebhookError::Signature(_))
            ));
        }
        let missing = verify(&secret, None, b"", 0, 300).unwrap_err().to_string();
        assert!(missing.contains("Workway-Signature"), "{missing}");
    }

    #[test]
    fn a_rotated_secret_may_sign_beside_the_old_one() {
        let old = sign("whsec_old", 100, b"x");
        let new = sign("whsec_new", 100, b"x");
        let both = format!("{old},{}", new.split_once(',').map_or("", |(_, v)| v));
        assert!(verify("whsec_new", Some(&both), b"x", 100, 5).is_ok());
        assert!(verify("whsec_old", Some(&both), b"x", 100, 5).is_ok());
    }

    #[test]
    fn a_huge_tolerance_is_capped() {
        let day_old = 1_700_000_000;
        let header = sign("whsec_k", day_old, b"x");
        let refused = verify("whsec_k", Some(&header), b"x", day_old + 86_400, u64::MAX)
            .expect_err("a day-old delivery is refused whatever the workflow asks");
        assert!(
            refused
                .to_string()
                .contains(&format!("tolerance {MAX_TOLERANCE_SECS} s")),
            "{refused}"
        );
        let within = day_old + i64::try_from(MAX_TOLERANCE_SECS).expect("small");
        assert!(verify("whsec_k", Some(&header), b"x", within, u64::MAX).is_ok());
    }
}
