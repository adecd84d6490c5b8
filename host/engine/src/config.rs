//! The engine's bounds, as the host configuration file gives them: how
//! the executor claims and bounds runs (`[executor]`) and how many runs
//! triggers may start (`[triggers]`). Plain settings, below every service
//! that reads them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the executor claims and bounds runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// How long a claim lasts without renewal, in milliseconds: after a
    /// crash, the run is resumed by another process this long after the
    /// last heartbeat.
    pub lease_ms: u64,
    /// How often the queue is read when nothing wakes the executor, in
    /// milliseconds: the latest a run queued by another process, or a
    /// retry that came due, waits before it starts.
    pub poll_ms: u64,
    /// Runs one process drives at once.
    pub max_in_flight: usize,
    /// Runs of one user running at once across all processes.
    pub max_runs_per_owner: usize,
    /// Executions of one user's installation at once in one process.
    pub max_executions_per_installation: usize,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            lease_ms: 30_000,
            poll_ms: 250,
            max_in_flight: 64,
            max_runs_per_owner: 16,
            max_executions_per_installation: 8,
        }
    }
}

impl ExecutorConfig {
    /// The lease a claim takes (at least 100 ms).
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(100))
    }
}

/// How many runs triggers may start (`[triggers]` in the host
/// configuration), so that workflows watching each other, or a flood of
/// deliveries, cannot fill the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerLimits {
    /// Runs one event may start: of more matching workflows, the first
    /// this many by name start and the rest are refused.
    pub max_runs_per_event: usize,
    /// Runs one chain of run events may start in all, from the run (or
    /// platform event) that began it: each event shares what is left of
    /// this among the runs it starts, so the whole tree stays within it
    /// however wide or deep it grows.
    pub max_runs_per_chain: u64,
    /// Runs of one owner waiting to start or to retry (queued or waiting);
    /// past it every trigger of that owner is refused until runs finish.
    /// Checked before each insert, so triggers of one owner firing at the
    /// same instant may each pass it once.
    pub max_queued_runs_per_owner: i64,
}

impl Default for TriggerLimits {
    fn default() -> Self {
        TriggerLimits {
            max_runs_per_event: 8,
            max_runs_per_chain: 64,
            max_queued_runs_per_owner: 1000,
        }
    }
}
