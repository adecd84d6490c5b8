//! One host process's services, wired together once: the store, the
//! runtime, the catalog of approved integrations, outbound HTTP with the
//! vault's credentials, the signal that wakes the executor when a run is
//! queued, and the outbox services publish events to. The CLI builds it
//! from its options, tests from their mocks; everything that runs
//! workflows takes an `Arc<Platform>`.
//!
//! The outbox is how a service raises an event without knowing who
//! listens: the executor publishes a finished run, installing publishes
//! `installation_created`, and the event trigger, a layer above, is the
//! subscriber ([`crate::assemble`] subscribes it). So the services that
//! start runs never call back into the triggers that use them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::sync::Notify;
use workway_store::Store;

use crate::config::{AccountConfig, ExecutorConfig, ServerConfig, TriggerLimits, VaultConfig};
use crate::events::Event;

use crate::billing::payments::stripe::StripeSettingsError;
use crate::billing::payments::{
    LocalPayments, PaymentProvider, PaymentsConfig, ProviderKind, StripePayments,
};
use crate::catalog::Catalog;
use crate::review::Registry;
use workway_egress::{Egress, EgressConfig, EgressError};
use workway_runtime::Runtime;
use workway_vault::oauth::providers::{ProviderError, ProviderRegistry, ProviderSettings};
use workway_vault::{Keyring, Vault};

/// The host configuration file (TOML, `--config` / `WORKWAY_CONFIG`):
/// outbound HTTP policy, OAuth provider settings and the executor's
/// bounds. Every table is optional.
///
/// ```toml
/// [egress]
/// overrides = ["api.slack.com:443=127.0.0.1:38291"]
///
/// [oauth.slack]
/// client_id = "..."
/// client_secret = "..."
///
/// [executor]
/// max_in_flight = 64
///
/// [accounts]
/// api_requests_per_window = 100
///
/// [server]
/// max_connections = 1024
///
/// [payments]
/// provider = "local"
///
/// [vault]
/// token_cache_ms = 1000
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// The outbound HTTP policy.
    pub egress: EgressConfig,
    /// Settings per OAuth provider.
    pub oauth: BTreeMap<String, ProviderSettings>,
    /// How runs are executed.
    pub executor: ExecutorConfig,
    /// How many runs triggers may start.
    pub triggers: TriggerLimits,
    /// Sessions, sign-in and API rate limits.
    pub accounts: AccountConfig,
    /// How `workway serve` answers HTTP (timeouts, connections,
    /// shutdown); read by the HTTP server, not the platform.
    pub server: ServerConfig,
    /// The payment provider (local by default: nothing is charged).
    pub payments: PaymentsConfig,
    /// The vault's token and connection-list caches.
    pub vault: VaultConfig,
}

impl HostConfig {
    /// Read and parse a configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<HostConfig, PlatformError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PlatformError::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| PlatformError::Config(format!("{}: {e}", path.display())))
    }
}

/// Why the platform could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The configuration file is unreadable or wrong.
    #[error("host configuration: {0}")]
    Config(String),
    /// The egress settings are wrong.
    #[error(transparent)]
    Egress(#[from] EgressError),
    /// The OAuth provider settings are wrong.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The payment provider's settings are wrong.
    #[error(transparent)]
    Payments(#[from] StripeSettingsError),
}

/// The services of one host process.
pub struct Platform {
    /// The shared store.
    pub store: Store,
    /// The sandboxed runtime.
    pub runtime: Arc<Runtime>,
    /// Approved integrations, verified and loaded.
    pub catalog: Arc<Catalog>,
    /// Outbound HTTP for executions, with the vault's credentials.
    pub egress: Arc<Egress>,
    /// Users' connections.
    pub vault: Arc<Vault>,
    /// Notified when a run is queued by this process, so a local executor
    /// starts it at once instead of at its next poll.
    pub queued: Arc<Notify>,
    /// How many runs triggers may start (from the configuration).
    pub triggers: TriggerLimits,
    /// Sessions, sign-in and API rate limits (from the configuration).
    pub accounts: AccountConfig,
    /// Where users reach the platform, if configured (`[server] public_url`).
    pub public_url: Option<String>,
    /// The registry submissions are published to and reviewed in through
    /// the API, when this process serves it ([`Platform::with_registry`]).
    pub registry: Option<Arc<Registry>>,
    /// Takes payments for purchases of paid integrations: the local
    /// provider (records them as paid; not for production) unless
    /// [`Platform::with_payments`] sets another.
    pub payments: Arc<dyn PaymentProvider>,
    /// Who takes the events services publish.
    subscriber: Arc<dyn EventSubscriber>,
}

/// Takes the events published to the platform's outbox (the event
/// trigger, in the default wiring).
#[async_trait]
pub trait EventSubscriber: Send + Sync {
    /// Act on `events`, which happened together (the events of one
    /// finished run share one fan-out bound and one budget).
    async fn deliver(&self, platform: &Platform, events: &[Event]) -> Result<(), PublishError>;
}

/// Why published events were not all acted on. The publisher logs it and
/// goes on: events of finished runs are delivered again by the sweep.
#[derive(Debug, thiserror::Error)]
#[error("cannot deliver `{key}`: {source}")]
pub struct PublishError {
    /// The key of the first event not acted on.
    pub key: String,
    /// Why.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The payment provider `config` names; the host's own requests to it go
/// through `egress`.
fn payments(
    config: &PaymentsConfig,
    egress: &Arc<Egress>,
    public_url: &Option<String>,
) -> Result<Arc<dyn PaymentProvider>, PlatformError> {
    Ok(match (config.provider, &config.stripe) {
        (ProviderKind::Local, _) => Arc::new(LocalPayments),
        (ProviderKind::Stripe, Some(settings)) => Arc::new(StripePayments::new(
            egress.clone(),
            settings.clone(),
            public_url.as_deref(),
        )?),
        (ProviderKind::Stripe, None) => {
            return Err(PlatformError::Config(
                "[payments] provider = \"stripe\" needs a [payments.stripe] table with \
                 secret_key and webhook_secret"
                    .into(),
            ));
        }
    })
}

impl Platform {
    /// Wire the services: a vault over `store` sealing with `keyring`
    /// (refreshing through the configured providers), the executions'
    /// egress, which takes credentials from that vault, and an outbox
    /// delivering to `subscriber`. [`Platform::new`] is the default wiring.
    pub fn with_subscriber(
        store: Store,
        runtime: Arc<Runtime>,
        catalog: Arc<Catalog>,
        keyring: Arc<Keyring>,
        config: &HostConfig,
        subscriber: Arc<dyn EventSubscriber>,
    ) -> Result<Platform, PlatformError> {
        let providers = Arc::new(ProviderRegistry::builtin().configure(&config.oauth)?);
        let token_egress = Arc::new(Egress::new(config.egress.clone())?);
        let payments = payments(&config.payments, &token_egress, &config.server.public_url)?;
        let vault_settings = config.vault.settings().map_err(PlatformError::Config)?;
        let vault = Arc::new(
            Vault::new(store.clone(), keyring, providers, token_egress)
                .with_settings(vault_settings),
        );
        let egress = Arc::new(Egress::new(config.egress.clone())?.with_credentials(vault.clone()));
        Ok(Platform {
            store,
            runtime,
            catalog,
            egress,
            vault,
            queued: Arc::new(Notify::new()),
            triggers: config.triggers.clone(),
            accounts: config.accounts.clone(),
            public_url: config.server.public_url.clone(),
            registry: None,
            payments,
            subscriber,
        })
    }

    /// The same platform taking payments through `payments`.
    pub fn with_payments(mut self, payments: Arc<dyn PaymentProvider>) -> Platform {
        self.payments = payments;
        self
    }

    /// The same platform publishing to and reviewing in `registry` (the
    /// one its catalog reads, as a rule).
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Platform {
        self.registry = Some(registry);
        self
    }

    /// Publish `events`, which happened together, to the outbox: the
    /// subscriber acts on them before this returns.
    pub async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        self.subscriber.deliver(self, events).await
    }
}
