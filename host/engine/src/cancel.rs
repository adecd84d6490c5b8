//! A user stops a run: it is finished as `cancelled` at once, whoever is
//! driving it. A step executing at that moment finishes in its sandbox,
//! but its result is not recorded (the driving process's next write about
//! the run is fenced off), and no further step starts.

use serde_json::json;
use workway_store::StoreError;
use workway_store::runs::RunStatus;

use crate::platform::Platform;

/// Why a run was not cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// No run of this owner has that id.
    #[error("no such run")]
    NotFound,
    /// The run had already finished.
    #[error("the run already finished as `{0}`; nothing to cancel")]
    Finished(RunStatus),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Cancel `owner`'s run `run_id`.
pub async fn cancel(
    platform: &Platform,
    owner: &str,
    run_id: &str,
    now: i64,
) -> Result<(), CancelError> {
    let runs = platform.store.runs();
    let run = runs
        .get_owned(owner, run_id)
        .await?
        .ok_or(CancelError::NotFound)?;
    if run.status.is_finished() {
        return Err(CancelError::Finished(run.status));
    }
    let error = json!({"reason": "cancelled by its owner"}).to_string();
    if runs
        .finish_unleased(run_id, RunStatus::Cancelled, Some(&error), now)
        .await?
    {
        return Ok(());
    }
    // It finished between the read and the write.
    let status = runs
        .get_owned(owner, run_id)
        .await?
        .map_or(RunStatus::Cancelled, |r| r.status);
    Err(CancelError::Finished(status))
}
