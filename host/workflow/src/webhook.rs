//! A webhook trigger's sender format: how the sender signs a delivery and
//! names it, so a workflow can take a service's webhooks as that service
//! sends them (`trigger: {kind: webhook, format: stripe}`).
//!
//! The checks themselves (headers, signatures, tolerances) are the
//! engine's (`workway_engine::triggers::webhook::formats`); this module is
//! the name written in the definition and what it implies for the other
//! settings of the trigger.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a webhook's sender signs its deliveries. Written `format:` in a
/// webhook trigger; `workway` when left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum WebhookFormat {
    /// Workway's own: `Workway-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">`; the idempotency key is where the trigger says.
    #[default]
    Workway,
    /// The Standard Webhooks specification (standardwebhooks.com):
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`
    /// over `"<id>.<timestamp>.<body>"`, with a `whsec_<base64>` secret, or
    /// `v1a,<base64>` (ed25519) with the sender's `whpk_<base64>` public
    /// key; `webhook-id` is the idempotency key.
    StandardWebhooks,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `"<t>.<body>"`
    /// under the endpoint's `whsec_...` secret; the event's `id` is the
    /// idempotency key.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
    /// (no timestamp); `X-GitHub-Delivery` is the idempotency key, and a
    /// `ping` event starts no run.
    Github,
    /// Slack: `X-Slack-Signature: v0=<hex>` over
    /// `"v0:<X-Slack-Request-Timestamp>:<body>"`; the event's `event_id` is
    /// the idempotency key, and a `url_verification` is answered with its
    /// challenge without starting a run.
    Slack,
}

impl WebhookFormat {
    /// Every format, in the order they are listed to people.
    pub const ALL: [WebhookFormat; 5] = [
        WebhookFormat::Workway,
        WebhookFormat::StandardWebhooks,
        WebhookFormat::Stripe,
        WebhookFormat::Github,
        WebhookFormat::Slack,
    ];

    /// The format's name as written in a definition.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Workway => "workway",
            WebhookFormat::StandardWebhooks => "standard-webhooks",
            WebhookFormat::Stripe => "stripe",
            WebhookFormat::Github => "github",
            WebhookFormat::Slack => "slack",
        }
    }

    /// Whether this is the default format (left out of the stored form).
    pub fn is_workway(&self) -> bool {
        *self == WebhookFormat::Workway
    }

    /// Whether the sender signs a timestamp, so `tolerance_secs` applies.
    pub fn has_timestamp(self) -> bool {
        !matches!(self, WebhookFormat::Github)
    }

    /// Where the sender puts its idempotency key when the format fixes it
    /// (a header or a JSON pointer into the body, described for people);
    /// `None` for `workway`, whose key is where the trigger says.
    pub fn idempotency_key(self) -> Option<&'static str> {
        match self {
            WebhookFormat::Workway => None,
            WebhookFormat::StandardWebhooks => Some("the `webhook-id` header"),
            WebhookFormat::Stripe => Some("the event's `id`"),
            WebhookFormat::Github => Some("the `X-GitHub-Delivery` header"),
            WebhookFormat::Slack => Some("the event's `event_id`"),
        }
    }

    /// The names of every format, in backticks, for messages.
    pub fn listed() -> String {
        WebhookFormat::ALL
            .iter()
            .map(|f| format!("`{}`", f.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for WebhookFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`WebhookFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{given}` is not a webhook format; use one of {}",
    WebhookFormat::listed()
)]
pub struct UnknownFormat {
    /// The name given (at most 64 characters of it).
    pub given: String,
}

impl FromStr for WebhookFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WebhookFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat {
                given: s.chars().take(64).collect(),
            })
    }
}

impl Serialize for WebhookFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WebhookFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_reads_back_by_its_name() {
        for format in WebhookFormat::ALL {
            assert_eq!(format.as_str().parse::<WebhookFormat>(), Ok(format));
            let json = serde_json::to_string(&format).expect("serializes");
            assert_eq!(
                serde_json::from_str::<WebhookFormat>(&json).expect("reads"),
                format
            );
        }
        assert_eq!(WebhookFormat::default(), WebhookFormat::Workway);
    }

    #[test]
    fn an_unknown_format_names_the_allowed_ones() {
        let error = "paypal".parse::<WebhookFormat>().unwrap_err().to_string();
        assert_eq!(
            error,
            "`paypal` is not a webhook format; use one of `workway`, `standard-webhooks`, \
             `stripe`, `github`, `slack`"
        );
        let long = "x".repeat(1000).parse::<WebhookFormat>().unwrap_err();
        assert_eq!(long.given.len(), 64);
    }
}
