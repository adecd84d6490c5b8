//! The webhook trigger: a POST to a workflow's secret URL
//! (`/v1/hooks/<token>`) starts a run with the body as trigger data.
//!
//! Every delivery must be signed, in the sender format the trigger names
//! (`format:`, [`formats`]): Workway's own by default, `Workway-Signature:
//! t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the
//! workflow's signing secret (`whsec_...`, shown to its owner once when
//! the workflow becomes a webhook workflow, and again by `workway workflow
//! rotate-secret`), or as Standard Webhooks, Stripe, GitHub or Slack sign
//! theirs; a sender that makes its own secret (Stripe, Slack) has it set
//! by the owner ([`set_secret`]). A timestamp further than the workflow's
//! `tolerance_secs` (at most [`MAX_TOLERANCE_SECS`]) from the host's clock
//! is refused, so a captured delivery cannot be replayed later.
//!
//! Every delivery is deduplicated on its signature, which an attacker who
//! captured it cannot change without the secret: replaying it within the
//! tolerance, whatever unsigned headers (an `X-Delivery-Id`) are changed,
//! returns the run the first one started. The signature is remembered
//! until its timestamp is out of tolerance by a margin (for GitHub, which
//! signs no timestamp, for the dedupe window). The sender's own
//! idempotency key (where the format puts it, or for `workway` a header
//! or a body field, per the workflow) is also remembered for
//! `dedupe_window_secs`, so a retry the sender signs anew is a duplicate
//! too. Both hold on any host sharing the store. A GitHub `ping` and a
//! Slack `url_verification` are answered without starting a run.

pub mod body;
pub mod formats;

use serde_json::{Value, json};
use workway_store::workflows::TriggerKind;

use super::{StartedRun, TriggerError, start_run};
pub use crate::hook_secrets::open_secret;
use crate::hook_secrets::{SecretError, new_secret_for, seal_secret};
use crate::platform::Platform;
use crate::saved;
use formats::{FormatError, Headers, SecretProblem, Verified};
use workway_workflow::definition::Trigger;
use workway_workflow::webhook::WebhookFormat;

/// The header carrying a `workway` delivery's signature.
pub const SIGNATURE_HEADER: &str = "workway-signature";

/// The widest timestamp tolerance honoured, in seconds, whatever a
/// workflow's `tolerance_secs` asks: a captured delivery is replayable
/// (and its signature must be remembered) for this long at most.
pub const MAX_TOLERANCE_SECS: u64 = 900;

/// How long a signature without a timestamp (GitHub's) is remembered at
/// least, whatever the workflow's `dedupe_window_secs`, in seconds.
pub const MIN_UNTIMED_MEMORY_SECS: u64 = 2 * MAX_TOLERANCE_SECS;

/// Why a delivery started no run, or a secret was not changed. Each maps
/// to an HTTP status in the API.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No webhook workflow has this URL (or it stopped being a webhook).
    #[error("no webhook at this URL")]
    UnknownHook,
    /// The signature is missing, malformed, stale or wrong.
    #[error("signature refused: {0}")]
    Signature(#[from] FormatError),
    /// The workflow's sealed secret cannot be opened (the vault's keyring
    /// lacks its key): the operator's problem, not the sender's.
    #[error("the workflow's signing secret cannot be opened: {0}")]
    Sealed(#[source] SecretError),
    /// The body or the idempotency key is unusable.
    #[error("bad delivery: {0}")]
    Body(String),
    /// The workflow asked for has no webhook trigger, hence no secret.
    #[error(
        "workflow `{0}` has no webhook trigger, so it has no signing secret; give it `trigger: {{kind: webhook}}` and save it"
    )]
    NotWebhook(String),
    /// A secret given for a workflow's webhook cannot sign its format.
    #[error("this secret cannot verify `{format}` deliveries: {problem}")]
    InvalidSecret {
        /// The workflow's format.
        format: WebhookFormat,
        /// What is wrong with the secret.
        problem: SecretProblem,
    },
    /// The sender makes the secret (Stripe, Slack): one made here would
    /// verify nothing it sends.
    #[error(
        "`{workflow}` takes `{format}` webhooks, whose signing secret {format} makes: roll it there and set it with `workway workflow set-secret {workflow}`"
    )]
    SenderSecret {
        /// The workflow.
        workflow: String,
        /// Its format.
        format: WebhookFormat,
    },
    /// The run could not be started.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
}

/// What a verified delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// A run was started, or had been by the same delivery.
    Run(StartedRun),
    /// A GitHub `ping` (sent when the webhook is made): nothing to run.
    Ping,
    /// A Slack `url_verification`: its challenge, to be echoed back.
    Challenge(String),
}

/// The `Workway-Signature` value for `body` sent at `timestamp` (Unix
/// seconds): what a sender computes.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    formats::workway::sign(secret, timestamp, body)
}

/// Check a `Workway-Signature` `header` against `body` at `now` (Unix
/// seconds), allowing `tolerance` seconds of clock difference (at most
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
    let headers: Vec<(String, String)> = header
        .map(|h| (SIGNATURE_HEADER.to_string(), h.to_string()))
        .into_iter()
        .collect();
    Ok(formats::workway::verify(
        secret,
        Headers::new(&headers),
        body,
        now,
        tolerance,
    )?)
}

/// `owner`'s webhook workflow `name`: its row and its format.
async fn webhook_workflow(
    platform: &Platform,
    owner: &str,
    name: &str,
) -> Result<(String, WebhookFormat), WebhookError> {
    let row = platform
        .store
        .workflows()
        .find(owner, name)
        .await
        .map_err(TriggerError::from)?
        .ok_or_else(|| TriggerError::from(saved::SaveError::Unknown(name.to_string())))?;
    let token = row
        .webhook_token
        .clone()
        .ok_or_else(|| WebhookError::NotWebhook(name.to_string()))?;
    let definition = saved::definition_of(platform, &row, row.version)
        .await
        .map_err(TriggerError::from)?;
    let Trigger::Webhook { format, .. } = definition.trigger else {
        return Err(WebhookError::NotWebhook(name.to_string()));
    };
    Ok((token, format))
}

/// Seal `secret` as the signing secret of `owner`'s workflow `name`
/// (whose URL is `token`).
async fn store_secret(
    platform: &Platform,
    owner: &str,
    name: &str,
    token: &str,
    secret: &str,
) -> Result<(), WebhookError> {
    let sealed = seal_secret(platform, token, secret)
        .map_err(|e| TriggerError::from(saved::SaveError::Secret(e)))?;
    platform
        .store
        .workflows()
        .set_webhook_secret(owner, name, &sealed, workway_store::clock::now_ms())
        .await
        .map_err(TriggerError::from)?
        .ok_or_else(|| WebhookError::NotWebhook(name.to_string()))?;
    Ok(())
}

/// Give `owner`'s webhook workflow `name` a new signing secret, of the
/// shape its format's sender takes, and return it (the only time it is
/// shown). Deliveries signed with the old secret are refused from this
/// moment, on every host sharing the store. Refused for a format whose
/// sender makes the secret (Stripe, Slack): [`set_secret`] takes theirs.
pub async fn rotate_secret(
    platform: &Platform,
    owner: &str,
    name: &str,
) -> Result<String, WebhookError> {
    let (token, format) = webhook_workflow(platform, owner, name).await?;
    if matches!(format, WebhookFormat::Stripe | WebhookFormat::Slack) {
        return Err(WebhookError::SenderSecret {
            workflow: name.to_string(),
            format,
        });
    }
    let secret =
        new_secret_for(format).map_err(|e| TriggerError::from(saved::SaveError::Secret(e)))?;
    store_secret(platform, owner, name, &token, &secret).await?;
    tracing::info!(owner, workflow = name, "webhook signing secret rotated");
    Ok(secret)
}

/// Make `secret` (the one the sender gave: Stripe's endpoint secret,
/// Slack's signing secret, the one typed into GitHub) the signing secret
/// of `owner`'s webhook workflow `name`, once checked against its format
/// ([`formats::check_secret`]); returns the format. Deliveries signed with
/// the old secret are refused from this moment.
pub async fn set_secret(
    platform: &Platform,
    owner: &str,
    name: &str,
    secret: &str,
) -> Result<WebhookFormat, WebhookError> {
    let (token, format) = webhook_workflow(platform, owner, name).await?;
    formats::check_secret(format, secret)
        .map_err(|problem| WebhookError::InvalidSecret { format, problem })?;
    store_secret(platform, owner, name, &token, secret).await?;
    tracing::info!(owner, workflow = name, %format, "webhook signing secret set");
    Ok(format)
}

/// The idempotency key at `pointer` in `payload`, a string or a number.
fn key_at(payload: &Value, pointer: &str) -> Option<String> {
    match payload.pointer(pointer) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// One delivery: `headers` (names in any case) and `body` as received at
/// `now_ms`.
pub async fn deliver(
    platform: &Platform,
    token: &str,
    headers: &[(String, String)],
    body: &[u8],
    now_ms: i64,
) -> Result<Delivered, WebhookError> {
    let headers = Headers::new(headers);
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
        format,
        idempotency_header,
        idempotency_field,
        dedupe_window_secs,
        tolerance_secs,
    } = &definition.trigger
    else {
        return Err(WebhookError::UnknownHook);
    };
    let format = *format;
    let sealed = row
        .webhook_secret
        .as_deref()
        .ok_or(WebhookError::UnknownHook)?;
    let secret = open_secret(platform, token, sealed).map_err(WebhookError::Sealed)?;
    let verified = formats::verify(
        format,
        &secret,
        headers,
        body,
        now_ms.div_euclid(1000),
        (*tolerance_secs).min(MAX_TOLERANCE_SECS),
    )?;
    let github_event = match format {
        WebhookFormat::Github => formats::github::event(headers),
        _ => None,
    };
    if github_event == Some(formats::github::PING) {
        tracing::info!(workflow = %row.name, "GitHub ping answered");
        return Ok(Delivered::Ping);
    }
    let content_type = headers.get("content-type").ok().flatten();
    let payload =
        body::decode(format, content_type, body).map_err(|e| WebhookError::Body(e.to_string()))?;
    if format == WebhookFormat::Slack {
        if let Some(challenge) = formats::slack::challenge(&payload) {
            tracing::info!(workflow = %row.name, "Slack URL verification answered");
            return Ok(Delivered::Challenge(challenge.to_string()));
        }
        if let Ok(Some(retry)) = headers.get(formats::slack::RETRY_NUM) {
            tracing::info!(workflow = %row.name, retry, "Slack retry received");
        }
    }
    let key = match format {
        WebhookFormat::Workway => match (idempotency_header, idempotency_field) {
            (Some(name), _) => Some(
                headers
                    .first(name)
                    .ok_or_else(|| {
                        WebhookError::Body(format!(
                            "the `{name}` header (the idempotency key) is missing"
                        ))
                    })?
                    .to_string(),
            ),
            (None, Some(pointer)) => Some(key_at(&payload, pointer).ok_or_else(|| {
                WebhookError::Body(format!(
                    "the body has no string or number at {pointer} (the idempotency key)"
                ))
            })?),
            (None, None) => None,
        },
        WebhookFormat::StandardWebhooks | WebhookFormat::Github => verified.delivery_id.clone(),
        WebhookFormat::Stripe => {
            Some(key_at(&payload, formats::stripe::EVENT_ID).ok_or_else(|| {
                WebhookError::Body(
                    "the body has no string at /id (the Stripe event's id, the idempotency key)"
                        .to_string(),
                )
            })?)
        }
        WebhookFormat::Slack => key_at(&payload, formats::slack::EVENT_ID),
    };
    let mut data = json!({"body": payload, "idempotency_key": key});
    if let Some(event) = github_event {
        data["event"] = Value::String(event.to_string());
    }
    let window_ms = i64::try_from(dedupe_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
    let signature_key = format!("signature:{}", verified.signature);
    let signature_expires = match verified.timestamp {
        // The signature is remembered until its timestamp is out of
        // tolerance on a host whose clock is behind by as much again.
        Some(timestamp) => {
            let tolerance = i64::try_from(verified.tolerance).unwrap_or(i64::MAX / 4);
            timestamp
                .saturating_add(tolerance.saturating_mul(2))
                .saturating_mul(1000)
                .max(now_ms)
        }
        // Without a timestamp, for the dedupe window (and a floor).
        None => {
            let floor = i64::try_from(MIN_UNTIMED_MEMORY_SECS * 1000).unwrap_or(i64::MAX / 2);
            now_ms.saturating_add(window_ms.max(floor))
        }
    };
    let sender_key = key.as_ref().map(|k| format!("webhook:{k}"));
    let mut keys = vec![(signature_key.as_str(), signature_expires)];
    if let Some(k) = &sender_key {
        keys.push((k.as_str(), now_ms.saturating_add(window_ms)));
    }
    Ok(Delivered::Run(
        start_run(
            platform,
            &row,
            &definition,
            TriggerKind::Webhook,
            &data,
            &keys,
        )
        .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let secret = new_secret_for(WebhookFormat::Workway).expect("randomness");
        assert!(secret.starts_with("whsec_"));
        let header = sign(&secret, 1_700_000_000, b"{\"a\":1}");
        let verified =
            verify(&secret, Some(&header), b"{\"a\":1}", 1_700_000_010, 300).expect("verifies");
        assert_eq!(verified.timestamp, Some(1_700_000_000));
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
    fn a_made_standard_webhooks_secret_is_one_the_specification_takes() {
        let secret = new_secret_for(WebhookFormat::StandardWebhooks).expect("randomness");
        assert!(
            secret.starts_with("whsec_") && secret.ends_with('='),
            "{secret}"
        );
        assert_eq!(
            formats::check_secret(WebhookFormat::StandardWebhooks, &secret),
            Ok(())
        );
        assert_eq!(formats::standard::key(&secret).map(|k| k.len()), Ok(32));
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
