//! What the operator commands (`serve`, `worker`) share: where the store
//! and the registry are, the host configuration, and the vault's keys —
//! assembled into one [`Platform`].

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use super::registry::{RegistryOptions, TrustOptions};
use crate::CompileCache;
use workway_engine::catalog::Catalog;
use workway_engine::platform::{HostConfig, Platform};
use workway_vault::Keyring;

/// Options of the commands that run the platform.
#[derive(Debug, Clone, Args)]
pub struct PlatformOptions {
    /// The host configuration file (egress policy, OAuth providers, executor bounds).
    #[arg(long = "host-config", env = "WORKWAY_CONFIG", value_name = "FILE")]
    pub host_config: Option<PathBuf>,

    /// The keys that seal users' tokens, `id:base64[,...]` (the first one
    /// seals) [default: a key kept in <data dir>/vault.key, made on first use].
    #[arg(
        long = "vault-keys",
        env = "WORKWAY_VAULT_KEYS",
        hide_env_values = true,
        value_name = "KEYS"
    )]
    pub vault_keys: Option<String>,

    #[command(flatten)]
    registry: RegistryOptions,

    #[command(flatten)]
    trust: TrustOptions,
}

impl PlatformOptions {
    /// The host configuration (defaults when no file is given).
    pub fn host_config(&self) -> anyhow::Result<HostConfig> {
        match &self.host_config {
            Some(path) => Ok(HostConfig::from_file(path)?),
            None => Ok(HostConfig::default()),
        }
    }

    fn keyring(&self) -> anyhow::Result<Keyring> {
        if let Some(keys) = &self.vault_keys {
            return Keyring::parse(keys).context("WORKWAY_VAULT_KEYS");
        }
        let path = self.registry.data_dir()?.join("vault.key");
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            write_private(&path, &Keyring::generate_entry("local")?)?;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the vault key {}", path.display()))?;
        Keyring::parse(text.trim()).with_context(|| format!("the vault key {}", path.display()))
    }

    /// Assemble the platform: store, registry, catalog, vault, egress.
    pub async fn platform(&self, cache: CompileCache) -> anyhow::Result<Arc<Platform>> {
        let config = self.host_config()?;
        // Every run in flight executes at most one step at a time; the
        // rest are for the host's own executions (review, foreground runs).
        let in_flight = u32::try_from(config.executor.max_in_flight).unwrap_or(u32::MAX);
        let runtime = super::plugin::runtime_with_slots(cache, in_flight.saturating_add(8).max(8))?;
        let store = self.registry.store().await?;
        let registry = Arc::new(
            self.registry
                .registry_over(store.clone(), runtime.clone())?,
        );
        let catalog = Arc::new(Catalog::new(
            registry.clone(),
            runtime.clone(),
            self.trust.trusted()?,
        ));
        let keyring = Arc::new(self.keyring()?);
        // The API publishes to and reviews in the registry the catalog reads.
        let platform =
            Platform::new(store, runtime, catalog, keyring, &config)?.with_registry(registry);
        // Rows sealed before owner and provider were bound are re-sealed
        // before anything uses them.
        platform.vault.reseal_legacy_bindings().await?;
        Ok(Arc::new(platform))
    }
}

/// Write `text` to a new file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
