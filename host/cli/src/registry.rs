//! Where the registry lives for the command line: the database, the folder
//! of stored components and the keys approvals are signed and checked
//! with. Shared by `plugin publish`, `plugin run <name>` and `review ...`;
//! each falls back to one local data folder, so the whole flow works on one
//! machine with nothing configured but a review key.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use workway_engine::review::Registry;
use workway_registry::approval::{ReviewKey, TrustedKeys};
use workway_registry::artifacts::ArtifactStore;
use workway_store::Store;

use workway_engine::catalog::Catalog;
use workway_runtime::Runtime;

/// Where the registry's records and components are.
#[derive(Debug, Clone, Args)]
pub struct RegistryOptions {
    /// The database: sqlite://path or postgres://user@host/db
    /// [default: sqlite://<data dir>/workway.db].
    #[arg(long, env = "WORKWAY_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,

    /// The folder submitted components are stored in [default: <data dir>/artifacts].
    #[arg(long, env = "WORKWAY_ARTIFACTS_DIR", value_name = "DIR")]
    pub artifacts: Option<PathBuf>,

    /// The local data folder the defaults live in
    /// [default: $XDG_DATA_HOME/workway or ~/.local/share/workway].
    #[arg(long, env = "WORKWAY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The keys approvals are checked with.
#[derive(Debug, Clone, Args)]
pub struct TrustOptions {
    /// The review keys' public halves hosts trust, `id:base64[,...]`
    /// [default: the public half of WORKWAY_REVIEW_KEY].
    #[arg(
        long = "trusted-keys",
        env = "WORKWAY_TRUSTED_KEYS",
        value_name = "KEYS"
    )]
    pub trusted_keys: Option<String>,

    /// The review key (its public half is trusted when no trusted keys are given).
    #[arg(
        long = "review-key",
        env = "WORKWAY_REVIEW_KEY",
        hide_env_values = true,
        value_name = "ID:BASE64"
    )]
    pub review_key: Option<String>,
}

impl RegistryOptions {
    /// The local data folder the defaults live in.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .map(|base| base.join("workway"))
            .context("no data folder: set WORKWAY_DATA_DIR (or HOME)")
    }

    /// Open the store (creating the local SQLite file on first use).
    pub async fn store(&self) -> anyhow::Result<Store> {
        let url = match &self.database {
            Some(url) => url.clone(),
            None => {
                let dir = self.data_dir()?;
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                format!("sqlite://{}", dir.join("workway.db").display())
            }
        };
        Store::open(&url)
            .await
            .context("cannot open the database (--database / WORKWAY_DATABASE_URL)")
    }

    /// Open the artifact folder (creating it on first use).
    pub fn artifacts(&self) -> anyhow::Result<ArtifactStore> {
        let dir = match &self.artifacts {
            Some(dir) => dir.clone(),
            None => self.data_dir()?.join("artifacts"),
        };
        ArtifactStore::open(&dir).with_context(|| {
            format!(
                "cannot open the artifact folder {} (--artifacts / WORKWAY_ARTIFACTS_DIR)",
                dir.display()
            )
        })
    }

    /// The registry, validating submissions in `runtime`.
    pub async fn registry(&self, runtime: Arc<Runtime>) -> anyhow::Result<Registry> {
        self.registry_over(self.store().await?, runtime)
    }

    /// The registry over `store`, an open handle on this database (a
    /// process keeps one pool of connections, not one per service).
    pub fn registry_over(&self, store: Store, runtime: Arc<Runtime>) -> anyhow::Result<Registry> {
        Ok(Registry::new(store, self.artifacts()?, runtime))
    }
}

impl TrustOptions {
    /// The review key, when one is configured.
    pub fn review_key(&self) -> anyhow::Result<Option<ReviewKey>> {
        self.review_key
            .as_deref()
            .map(|text| ReviewKey::parse(text).context("WORKWAY_REVIEW_KEY is not usable"))
            .transpose()
    }

    /// The platform review keys approvals may be signed with, besides the
    /// keys of reviewer accounts, which the catalog reads from the store:
    /// WORKWAY_TRUSTED_KEYS, or the public half of WORKWAY_REVIEW_KEY, or
    /// none (a fresh install, where reviewers approve with their own keys).
    pub fn trusted(&self) -> anyhow::Result<TrustedKeys> {
        if let Some(list) = &self.trusted_keys {
            return TrustedKeys::parse(list).context(
                "WORKWAY_TRUSTED_KEYS (public review keys, comma-separated) is not usable",
            );
        }
        match self.review_key()? {
            Some(key) => Ok(TrustedKeys::parse(&key.public())?),
            None => Ok(TrustedKeys::default()),
        }
    }

    /// A catalog of the approved integrations in `registry`.
    pub fn catalog(&self, registry: Registry, runtime: Arc<Runtime>) -> anyhow::Result<Catalog> {
        Ok(Catalog::new(Arc::new(registry), runtime, self.trusted()?))
    }
}
