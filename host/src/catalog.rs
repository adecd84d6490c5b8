//! The integrations this host may run: approved components resolved
//! through the registry by name (and optionally version), their signed
//! approval verified against the bytes and the manifest before they are
//! loaded, and revocations honoured within a bounded window.
//!
//! Every lookup ([`Catalog::get`]) first makes sure the registry's
//! revocation state was read within the last `revocation_poll` (two seconds
//! by default): a revoked component never starts an execution more than
//! that window (plus one database round trip) after a reviewer revoked it,
//! on any host sharing the store. Executions already running when the
//! revocation is seen finish. A resolved component is reused for the same
//! window, after which the name is resolved again, so a newly approved
//! version takes over within it too; when the version serving a name is
//! revoked, the name resolves to the newest approved version left, if any.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use workway_registry::approval::{ApprovalClaims, ApprovalError, TrustedKeys};
use workway_registry::review::{Registry, RegistryError};
use workway_registry::{Digest, HostPattern, Manifest, ManifestError};

use crate::runtime::{LoadError, LoadedComponent, Runtime};

/// How often the revocation state is read by default.
pub const DEFAULT_REVOCATION_POLL: Duration = Duration::from_secs(2);

/// Revocations are read back this far before the last read, so a clock
/// difference between the revoking process and this one cannot hide one.
const CLOCK_MARGIN_MS: i64 = 60_000;

/// An approved integration, verified and loaded.
pub struct ApprovedIntegration {
    /// The registry submission it was approved as.
    pub submission_id: String,
    /// The verified claims: what the reviewer approved.
    pub claims: ApprovalClaims,
    /// The approved hosts, for the egress broker.
    pub hosts: Vec<HostPattern>,
    /// The approved manifest (its text verified against the approval).
    pub manifest: Manifest,
    /// The component, ready to run.
    pub component: Arc<LoadedComponent>,
}

/// Why an integration cannot run.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Nothing approved serves it, or the registry cannot be read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The approval does not verify against the stored bytes and manifest.
    #[error("the approval of `{integration}` does not hold: {source}")]
    Approval {
        /// The integration.
        integration: String,
        /// Why.
        source: ApprovalError,
    },
    /// The approved component was revoked.
    #[error("`{integration}` ({digest}) was revoked; it no longer runs")]
    Revoked {
        /// The integration.
        integration: String,
        /// The revoked component.
        digest: Digest,
    },
    /// The approved manifest no longer parses on this host.
    #[error("the approved manifest of `{integration}` does not parse here: {source}")]
    Manifest {
        /// The integration.
        integration: String,
        /// Why.
        source: ManifestError,
    },
    /// The component no longer loads on this host.
    #[error("the approved component of `{integration}` cannot be loaded: {source}")]
    Load {
        /// The integration.
        integration: String,
        /// Why.
        source: LoadError,
    },
}

struct Cached {
    integration: Arc<ApprovedIntegration>,
    resolved_at: Instant,
}

#[derive(Default)]
struct State {
    cached: HashMap<(String, Option<String>), Cached>,
    revoked: HashSet<Digest>,
    /// When revocations were last read: this host's clock, and the registry
    /// time (Unix ms) the read covered from.
    polled: Option<(Instant, i64)>,
}

/// Approved integrations for one host.
pub struct Catalog {
    registry: Arc<Registry>,
    runtime: Arc<Runtime>,
    trusted: TrustedKeys,
    poll: Duration,
    state: Mutex<State>,
}

impl Catalog {
    /// A catalog resolving through `registry`, trusting approvals signed by
    /// `trusted`, loading into `runtime`.
    pub fn new(registry: Arc<Registry>, runtime: Arc<Runtime>, trusted: TrustedKeys) -> Self {
        Catalog {
            registry,
            runtime,
            trusted,
            poll: DEFAULT_REVOCATION_POLL,
            state: Mutex::new(State::default()),
        }
    }

    /// Read revocations (and re-resolve names) at least this often.
    pub fn with_revocation_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The window within which a revocation stops new executions.
    pub fn revocation_poll(&self) -> Duration {
        self.poll
    }

    /// The approved integration `name` (its newest approved version, or
    /// exactly `version`), verified and loaded; refused once revoked.
    pub async fn get(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Arc<ApprovedIntegration>, CatalogError> {
        let mut state = self.state.lock().await;
        self.poll_revocations(&mut state).await?;
        let key = (name.to_string(), version.map(str::to_string));
        let fresh = state
            .cached
            .get(&key)
            .filter(|c| {
                c.resolved_at.elapsed() < self.poll
                    && !state.revoked.contains(&c.integration.claims.digest)
            })
            .map(|c| c.integration.clone());
        let integration = match fresh {
            Some(integration) => integration,
            None => {
                let resolved = Arc::new(self.resolve(name, version).await?);
                state.cached.insert(
                    key,
                    Cached {
                        integration: resolved.clone(),
                        resolved_at: Instant::now(),
                    },
                );
                resolved
            }
        };
        if state.revoked.contains(&integration.claims.digest) {
            return Err(CatalogError::Revoked {
                integration: name.to_string(),
                digest: integration.claims.digest,
            });
        }
        Ok(integration)
    }

    /// Read the revocations made since the last read, if the last read is
    /// older than the poll interval.
    async fn poll_revocations(&self, state: &mut State) -> Result<(), CatalogError> {
        if state.polled.is_some_and(|(at, _)| at.elapsed() < self.poll) {
            return Ok(());
        }
        let started = Instant::now();
        let now_ms = now_ms();
        let since = state
            .polled
            .map_or(0, |(_, from)| from.saturating_sub(CLOCK_MARGIN_MS));
        let revoked = self.registry.revoked_since(since).await?;
        for digest in revoked {
            state.revoked.insert(digest);
        }
        state.polled = Some((started, now_ms));
        Ok(())
    }

    async fn resolve(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<ApprovedIntegration, CatalogError> {
        let approved = self.registry.approved(name, version).await?;
        let claims = self
            .trusted
            .verify_for(&approved.approval, &approved.component, &approved.manifest)
            .map_err(|source| CatalogError::Approval {
                integration: name.to_string(),
                source,
            })?
            .clone();
        let manifest =
            Manifest::from_toml(&approved.manifest).map_err(|source| CatalogError::Manifest {
                integration: name.to_string(),
                source,
            })?;
        let component = self
            .runtime
            .load(&approved.component)
            .await
            .map_err(|source| CatalogError::Load {
                integration: name.to_string(),
                source,
            })?;
        Ok(ApprovedIntegration {
            submission_id: approved.submission_id,
            hosts: claims.host_patterns(),
            manifest,
            claims,
            component,
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
