//! The integrations this host may run: approved components resolved
//! through the registry by name (and optionally version), their signed
//! approval verified against the bytes, the manifest and the name and
//! version asked for before they are loaded, and revocations honoured
//! within a bounded window.
//!
//! Every lookup ([`Catalog::get`]) first makes sure the registry's
//! revocation log was read within the last `revocation_poll` (two seconds
//! by default): a revoked component never starts an execution more than
//! that window (plus one database round trip) after a reviewer revoked it,
//! on any host sharing the store. Executions already running when the
//! revocation is seen finish. A resolved component is reused for the same
//! window, after which the name is resolved again, so a newly approved
//! version takes over within it too; when the version serving a name is
//! revoked, the name resolves to the newest approved version left, if any.
//!
//! The revocation log is read by number, not by time, so no machine's clock
//! decides what is seen. Each record is verified with the trusted review
//! keys; a record that does not verify, a gap in the numbers, or a record
//! this host has already read that is gone or changed means someone altered
//! the log: the catalog then refuses to start anything until the log is
//! whole again (a host that never read a deleted last record cannot tell).
//!
//! Names are resolved independently: a cold compile of one integration
//! holds only that name's slot, so other names keep being served.
//!
//! Approvals and revocations verify with the configured review keys and
//! with the reviewer accounts' own keys, which the source reads from the
//! store ([`ApprovedSource::reviewer_keys`]): read again with every read of
//! the revocation log, and at once when an approval names a key not yet
//! read (a reviewer's first approval). A reviewer key retired since is
//! trusted for earlier approvals only, as of the last read.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};
use std::time::{Duration, Instant};

use crate::review::{ApprovedComponent, Registry, RegistryError, StoredRevocation};
use tokio::sync::Mutex;
use workway_registry::approval::{ApprovalClaims, ApprovalError, SignedApproval, TrustedKeys};
use workway_registry::{Digest, Digested, HostPattern, Manifest, ManifestError};

use workway_runtime::{LoadError, LoadedComponent, Runtime};

/// The attribute [`ApprovedSource`] implementations use (re-exported, so
/// an implementation needs no dependency of its own).
pub use async_trait::async_trait;

/// How often the revocation state is read by default.
pub const DEFAULT_REVOCATION_POLL: Duration = Duration::from_secs(2);

/// Where a catalog reads approved components and the revocation log: the
/// registry, or a wrapper around it.
#[async_trait]
pub trait ApprovedSource: Send + Sync {
    /// The approved component serving `integration` (the newest approved
    /// version, or exactly `version`).
    async fn approved(
        &self,
        integration: &str,
        version: Option<&str>,
    ) -> Result<ApprovedComponent, RegistryError>;

    /// The revocation log from number `from` on, in order.
    async fn revocations_from(&self, from: i64) -> Result<Vec<StoredRevocation>, RegistryError>;

    /// The reviewer accounts' keys to trust besides the configured ones
    /// (none unless the source keeps reviewer keys).
    async fn reviewer_keys(&self) -> Result<TrustedKeys, RegistryError> {
        Ok(TrustedKeys::default())
    }
}

#[async_trait]
impl ApprovedSource for Registry {
    async fn approved(
        &self,
        integration: &str,
        version: Option<&str>,
    ) -> Result<ApprovedComponent, RegistryError> {
        Registry::approved(self, integration, version).await
    }

    async fn revocations_from(&self, from: i64) -> Result<Vec<StoredRevocation>, RegistryError> {
        Registry::revocations_from(self, from).await
    }

    async fn reviewer_keys(&self) -> Result<TrustedKeys, RegistryError> {
        Registry::reviewer_keys(self).await
    }
}

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
///
/// Each message states its cause itself; none is chained as an error
/// source, so a report that prints the whole chain says it once.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Nothing approved serves it, or the registry cannot be read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The approval does not verify against the stored bytes and manifest.
    #[error("the approval of `{integration}` does not hold: {reason}")]
    Approval {
        /// The integration.
        integration: String,
        /// Why.
        reason: ApprovalError,
    },
    /// The signed approval is for another integration or version than the
    /// one asked for: the registry's record was altered.
    #[error(
        "the registry served `{asked}` with the approval of `{approved}`; its record was altered, so it does not run"
    )]
    NotAsked {
        /// What was asked for (`name`, `name@version`).
        asked: String,
        /// What the approval names (`name@version`).
        approved: String,
    },
    /// The approved component was revoked.
    #[error("`{integration}` ({digest}) was revoked; it no longer runs")]
    Revoked {
        /// The integration.
        integration: String,
        /// The revoked component.
        digest: Digest,
    },
    /// The revocation log was altered: nothing starts until it is whole.
    #[error(
        "the registry's revocation log was altered ({0}); no integration starts until it is restored"
    )]
    RevocationLog(String),
    /// The approved manifest no longer parses on this host.
    #[error("the approved manifest of `{integration}` does not parse here: {reason}")]
    Manifest {
        /// The integration.
        integration: String,
        /// Why.
        reason: ManifestError,
    },
    /// The component no longer loads on this host.
    #[error("the approved component of `{integration}` cannot be loaded: {reason}")]
    Load {
        /// The integration.
        integration: String,
        /// Why.
        reason: LoadError,
    },
}

/// Why an approval was not verified.
enum Verification {
    /// The reviewer keys could not be read.
    Source(RegistryError),
    /// It does not verify.
    Approval(ApprovalError),
}

struct Cached {
    integration: Arc<ApprovedIntegration>,
    resolved_at: Instant,
}

/// One name's (and version's) resolution: locked while it is resolved, so
/// one compile per name at a time, and other names never wait for it.
type Slot = Arc<Mutex<Option<Cached>>>;

/// What this host has read of the revocation log.
#[derive(Default)]
struct LogState {
    /// The highest number read and verified (0: none yet).
    seq: i64,
    /// That record's stored text, to notice it changing or vanishing.
    last: Option<String>,
    /// When the log was last read, on this host's monotonic clock.
    polled: Option<Instant>,
}

/// Approved integrations for one host.
pub struct Catalog {
    source: Arc<dyn ApprovedSource>,
    runtime: Arc<Runtime>,
    /// The configured review keys.
    trusted: TrustedKeys,
    /// The configured keys with the reviewer keys last read.
    trust: SyncMutex<Arc<TrustedKeys>>,
    poll: Duration,
    log: Mutex<LogState>,
    revoked: SyncMutex<HashSet<Digest>>,
    slots: SyncMutex<HashMap<(String, Option<String>), Slot>>,
}

impl Catalog {
    /// A catalog resolving through `source` (the registry), trusting
    /// approvals and revocations signed by `trusted`, loading into `runtime`.
    pub fn new(
        source: Arc<dyn ApprovedSource>,
        runtime: Arc<Runtime>,
        trusted: TrustedKeys,
    ) -> Self {
        Catalog {
            source,
            runtime,
            trust: SyncMutex::new(Arc::new(trusted.clone())),
            trusted,
            poll: DEFAULT_REVOCATION_POLL,
            log: Mutex::new(LogState::default()),
            revoked: SyncMutex::new(HashSet::new()),
            slots: SyncMutex::new(HashMap::new()),
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
        self.poll_revocations().await?;
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((name.to_string(), version.map(str::to_string)))
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        let fresh = cached
            .as_ref()
            .filter(|c| {
                c.resolved_at.elapsed() < self.poll
                    && !self.is_revoked(&c.integration.claims.digest)
            })
            .map(|c| c.integration.clone());
        let integration = match fresh {
            Some(integration) => integration,
            None => {
                let resolved = Arc::new(self.resolve(name, version).await?);
                *cached = Some(Cached {
                    integration: resolved.clone(),
                    resolved_at: Instant::now(),
                });
                resolved
            }
        };
        drop(cached);
        if self.is_revoked(&integration.claims.digest) {
            return Err(CatalogError::Revoked {
                integration: name.to_string(),
                digest: integration.claims.digest,
            });
        }
        Ok(integration)
    }

    fn is_revoked(&self, digest: &Digest) -> bool {
        self.revoked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(digest)
    }

    /// Read the revocation log past what this host has read, if the last
    /// read is older than the poll interval, verifying every record. Until
    /// a read succeeds, every lookup reads again (and fails the same way).
    async fn poll_revocations(&self) -> Result<(), CatalogError> {
        let mut log = self.log.lock().await;
        if log.polled.is_some_and(|at| at.elapsed() < self.poll) {
            return Ok(());
        }
        let started = Instant::now();
        let rows = self.source.revocations_from(log.seq.max(1)).await?;
        // Read after the log: every key that signed a record read is in.
        let trusted = self.reload_trust().await?;
        let mut rows = rows.into_iter().peekable();
        if let Some(last) = &log.last {
            match rows.next_if(|r| r.seq == log.seq) {
                Some(row) if &row.raw == last => {}
                Some(_) => {
                    return Err(CatalogError::RevocationLog(format!(
                        "revocation {} changed after this host read it",
                        log.seq
                    )));
                }
                None => {
                    return Err(CatalogError::RevocationLog(format!(
                        "revocation {}, which this host read, is gone",
                        log.seq
                    )));
                }
            }
        }
        let mut seq = log.seq;
        let mut last = log.last.clone();
        let mut digests = Vec::new();
        for row in rows {
            if row.seq != seq + 1 {
                return Err(CatalogError::RevocationLog(format!(
                    "revocation {} is missing",
                    seq + 1
                )));
            }
            let record = row.record.as_ref().map_err(|e| {
                CatalogError::RevocationLog(format!("revocation {} does not parse: {e}", row.seq))
            })?;
            let claims = trusted.verify_revocation(record).map_err(|e| {
                CatalogError::RevocationLog(format!("revocation {} does not hold: {e}", row.seq))
            })?;
            if claims.seq != row.seq {
                return Err(CatalogError::RevocationLog(format!(
                    "revocation {} is stored as number {}",
                    claims.seq, row.seq
                )));
            }
            digests.push(claims.digest);
            seq = row.seq;
            last = Some(row.raw);
        }
        self.revoked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(digests);
        *log = LogState {
            seq,
            last,
            polled: Some(started),
        };
        Ok(())
    }

    /// The configured keys with the reviewer keys last read.
    fn trust(&self) -> Arc<TrustedKeys> {
        self.trust
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Read the reviewer keys again and trust them with the configured ones.
    async fn reload_trust(&self) -> Result<Arc<TrustedKeys>, RegistryError> {
        let reviewers = self.source.reviewer_keys().await?;
        let mut trusted = self.trusted.clone();
        trusted.extend(&reviewers);
        let trusted = Arc::new(trusted);
        *self.trust.lock().unwrap_or_else(PoisonError::into_inner) = trusted.clone();
        Ok(trusted)
    }

    /// The claims of `approval` for `component` and `manifest`, verified;
    /// an unknown key makes the reviewer keys be read again first.
    async fn verify(
        &self,
        approval: &SignedApproval,
        component: &Digested,
        manifest: &str,
    ) -> Result<ApprovalClaims, Verification> {
        match self.trust().verify_for(approval, component, manifest) {
            Err(ApprovalError::UnknownKey(_)) => {}
            verified => return verified.cloned().map_err(Verification::Approval),
        }
        let trusted = self.reload_trust().await.map_err(Verification::Source)?;
        trusted
            .verify_for(approval, component, manifest)
            .cloned()
            .map_err(Verification::Approval)
    }

    async fn resolve(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<ApprovedIntegration, CatalogError> {
        let approved = self.source.approved(name, version).await?;
        let claims = self
            .verify(&approved.approval, &approved.component, &approved.manifest)
            .await
            .map_err(|reason| match reason {
                Verification::Source(e) => CatalogError::Registry(e),
                Verification::Approval(reason) => CatalogError::Approval {
                    integration: name.to_string(),
                    reason,
                },
            })?;
        if claims.integration != name
            || version.is_some_and(|v| claims.version != v)
            || claims.integration != approved.integration
            || claims.version != approved.version
        {
            return Err(CatalogError::NotAsked {
                asked: match version {
                    Some(v) => format!("{name}@{v}"),
                    None => format!("{name} (served as {})", approved.version),
                },
                approved: format!("{}@{}", claims.integration, claims.version),
            });
        }
        let manifest =
            Manifest::from_toml(&approved.manifest).map_err(|reason| CatalogError::Manifest {
                integration: name.to_string(),
                reason,
            })?;
        let component = self
            .runtime
            .load_digested(&approved.component, &manifest.limits)
            .await
            .map_err(|reason| CatalogError::Load {
                integration: name.to_string(),
                reason,
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
