//! The executor: claims due runs from the shared store under a lease and
//! drives each one step by step, every step's result committed before the
//! next starts.
//!
//! - [`Executor::work`] is the loop a host process runs: claim as many due
//!   runs as there are free slots, drive each on its own task, sleep until
//!   a run is queued here or the poll interval passes.
//! - A claimed run carries a lease that a heartbeat renews; every write of
//!   the run is fenced by it, so a process that lost its lease (it stalled
//!   past the lease, another took the run over) writes nothing more.
//!   A run whose process died is claimed again once its lease expires and
//!   resumes at the first step without a committed result.
//! - Bounds: at most `max_in_flight` runs driven by one process, at most
//!   `max_runs_per_owner` running per user across every process sharing the
//!   store (each claim counts the live leases itself, so P processes
//!   claiming at the same instant may briefly hold up to P times the
//!   bound), and at most `max_executions_per_installation` executions of
//!   one user's installation at once in this process. Runs over a bound
//!   wait in the queue.
//! - Fairness: a claim lets the owners take turns (every owner's oldest
//!   due run, then every owner's second, ...), so one user's backlog
//!   never holds another user's run back by more than one claim.

mod drive;
mod lease;
mod step;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument as _;
use workway_store::runs::RunRow;

use crate::events::Event;
use crate::platform::Platform;
use workway_workflow::definition::WorkflowDefinition;

pub use crate::config::ExecutorConfig;
pub use crate::installations::{Pin, Pins};
pub use drive::idempotency_key;
pub use step::StepError;

/// Why the workflow version a run pinned cannot be read: the run cannot
/// be driven, and fails with this as its reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoredDefinitionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] workway_store::StoreError),
    /// The version is not stored.
    #[error("workflow {workflow} has no version {version}")]
    Missing {
        /// The workflow's id.
        workflow: String,
        /// The version the run pinned.
        version: i64,
    },
    /// The stored definition no longer parses.
    #[error("stored definition of {workflow} v{version}: {source}")]
    Damaged {
        /// The workflow's id.
        workflow: String,
        /// The version the run pinned.
        version: i64,
        /// Why it does not parse.
        #[source]
        source: workway_workflow::definition::DefinitionError,
    },
}

/// Past this many installations' semaphores, idle ones are dropped.
const PRUNE_INSTALLATION_SLOTS_AT: usize = 1024;

/// Drives runs for one process.
pub struct Executor {
    platform: Arc<Platform>,
    config: ExecutorConfig,
    /// This process's name as a lease holder.
    holder: String,
    slots: Arc<Semaphore>,
    /// Told when a run gives its slot back, so the loop claims again
    /// without waiting for the run's events to be published.
    slot_freed: Notify,
    /// Claim only this run, when set.
    only: Option<String>,
    installations: Mutex<HashMap<(String, String), Arc<Semaphore>>>,
    definitions: Mutex<HashMap<(String, i64), Arc<WorkflowDefinition>>>,
}

impl Executor {
    /// An executor over `platform`'s store and services.
    pub fn new(platform: Arc<Platform>, config: ExecutorConfig) -> Executor {
        Executor {
            slots: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            slot_freed: Notify::new(),
            holder: format!("executor-{}", uuid::Uuid::new_v4().simple()),
            platform,
            config,
            only: None,
            installations: Mutex::new(HashMap::new()),
            definitions: Mutex::new(HashMap::new()),
        }
    }

    /// An executor that claims only the run `run_id` (a foreground
    /// `workway run`), leaving the rest of the queue to workers.
    pub fn only(mut self, run_id: &str) -> Executor {
        self.only = Some(run_id.to_string());
        self
    }

    /// This executor's name as a lease holder (unique per process).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Claim and drive due runs until `stop` completes, then wait for the
    /// runs in flight to reach a committed point (each ends its current
    /// step; a run waiting for a retry is already back in the queue).
    pub async fn work(self: &Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut tasks = JoinSet::new();
        // A run handed back frees one slot (before its events are
        // published); claiming again only once a batch of slots is free
        // keeps a busy executor from reading the queue once per finished
        // run. A queued run or the poll claims at once.
        let batch = (self.config.max_in_flight / 8).max(1);
        let mut claim_now = true;
        loop {
            while tasks.try_join_next().is_some() {}
            if (claim_now || self.slots.available_permits() >= batch)
                && let Err(e) = self.claim_and_spawn(&mut tasks).await
            {
                tracing::warn!("cannot claim runs: {e}");
            }
            claim_now = tokio::select! {
                () = &mut stop => break,
                () = self.platform.queued.notified() => true,
                () = self.slot_freed.notified() => false,
                () = tokio::time::sleep(Duration::from_millis(self.config.poll_ms.max(1))) => true,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => false,
            };
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn claim_and_spawn(
        self: &Arc<Self>,
        tasks: &mut JoinSet<()>,
    ) -> Result<(), workway_store::StoreError> {
        let free = self.slots.available_permits();
        if free == 0 {
            return Ok(());
        }
        let now = workway_store::clock::now_ms();
        let runs = self.platform.store.runs();
        let lease_ms = i64::try_from(self.config.lease().as_millis()).unwrap_or(i64::MAX);
        let claimed = match &self.only {
            Some(id) => runs
                .claim_run(id, &self.holder, lease_ms, now)
                .await?
                .into_iter()
                .collect(),
            None => self.claim_within_bounds(free, lease_ms, now).await?,
        };
        for run in claimed {
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                // More claimed than slots (cannot happen with one loop);
                // give it back rather than overrun the bound.
                let _ = runs.release(&run.id, &self.holder, now).await;
                continue;
            };
            let this = self.clone();
            // A claim sets `started_at` only when it is the run's first:
            // such a run has no attempts to read back.
            let first_claim = run.started_at == Some(now);
            let span = tracing::info_span!("run", run_id = %run.id, workflow = %run.workflow_id);
            tasks.spawn(
                async move { this.drive_claimed(run, first_claim, permit).await }.instrument(span),
            );
        }
        Ok(())
    }

    /// Drive `run` in the slot `permit` holds; the slot is free again once
    /// the run is handed back, before its events are published.
    async fn drive_claimed(
        self: Arc<Self>,
        run: RunRow,
        first_claim: bool,
        permit: OwnedSemaphorePermit,
    ) {
        let lease = lease::Lease::hold(
            self.platform.store.clone(),
            run.id.clone(),
            self.holder.clone(),
            self.config.lease(),
        );
        let id = run.id.clone();
        let outcome = drive::drive(&self, run, first_claim, &lease).await;
        lease.stop();
        drop(permit);
        self.slot_freed.notify_one();
        match outcome {
            Ok(drive::Handed::Waiting) => tracing::debug!(run = %id, "waiting to retry"),
            Ok(drive::Handed::Finished(ended)) => {
                self.publish_finished(&ended.run, &ended.workflow).await;
            }
            Ok(drive::Handed::Closed) => self.read_back_finished(&id).await,
            Err(e) => tracing::warn!(run = %id, "run stopped: {e}"),
        }
    }

    /// Claim up to `free` due runs in one statement, the owners taking
    /// turns, so that no owner gets more than `max_runs_per_owner`
    /// running (counted across every process from the live leases). The
    /// count is read in the claim itself, so P processes claiming at the
    /// same instant can each claim up to the bound for one owner: the
    /// worst case is P times `max_runs_per_owner` running at once, and
    /// the excess drains before that owner gets more.
    async fn claim_within_bounds(
        &self,
        free: usize,
        lease_ms: i64,
        now: i64,
    ) -> Result<Vec<RunRow>, workway_store::StoreError> {
        let per_owner = i64::try_from(self.config.max_runs_per_owner.max(1)).unwrap_or(i64::MAX);
        let free = i64::try_from(free).unwrap_or(i64::MAX);
        self.platform
            .store
            .runs()
            .claim(&self.holder, lease_ms, now, free, Some(per_owner))
            .await
    }

    /// Emit the events of the finished run `id`, read back first (a sweep
    /// re-emits them if this fails or the process dies first).
    async fn read_back_finished(&self, id: &str) {
        let run = match self.platform.store.runs().get(id).await {
            Ok(Some(run)) => run,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(run = %id, "cannot read the finished run: {e}");
                return;
            }
        };
        let workflow = match self.platform.store.workflows().get(&run.workflow_id).await {
            Ok(Some(workflow)) => workflow,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(run = %id, "cannot read the finished run's workflow: {e}");
                return;
            }
        };
        self.publish_finished(&run, &workflow.name).await;
    }

    /// Emit the events of `run`, finished, of the workflow called
    /// `workflow` (a sweep re-emits them if this fails or the process
    /// dies first).
    async fn publish_finished(&self, run: &RunRow, workflow: &str) {
        tracing::info!(run = %run.id, status = %run.status, "run finished");
        if let Err(e) = self.platform.publish(&Event::of_run(run, workflow)).await {
            tracing::warn!(run = %run.id, "cannot publish the run's events: {e}");
        }
    }

    /// The semaphore bounding executions of `owner`'s installation of `integration`.
    fn installation_slots(&self, owner: &str, integration: &str) -> Arc<Semaphore> {
        let mut map = self
            .installations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= PRUNE_INSTALLATION_SLOTS_AT {
            // Forget installations nothing is executing (only the map holds
            // their semaphore), so a long-lived worker's map stays small.
            map.retain(|_, slots| Arc::strong_count(slots) > 1);
        }
        map.entry((owner.to_string(), integration.to_string()))
            .or_insert_with(|| {
                Arc::new(Semaphore::new(
                    self.config.max_executions_per_installation.max(1),
                ))
            })
            .clone()
    }

    /// Version `version` of workflow `id`, parsed once per process.
    async fn definition(
        &self,
        id: &str,
        version: i64,
    ) -> Result<Arc<WorkflowDefinition>, StoredDefinitionError> {
        let key = (id.to_string(), version);
        if let Some(found) = self
            .definitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(found.clone());
        }
        let row = self
            .platform
            .store
            .workflows()
            .version(id, version)
            .await?
            .ok_or_else(|| StoredDefinitionError::Missing {
                workflow: id.to_string(),
                version,
            })?;
        let definition = Arc::new(WorkflowDefinition::from_json(&row.definition).map_err(
            |source| StoredDefinitionError::Damaged {
                workflow: id.to_string(),
                version,
                source,
            },
        )?);
        self.definitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, definition.clone());
        Ok(definition)
    }
}
