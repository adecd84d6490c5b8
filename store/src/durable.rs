//! Group commit for SQLite: commits that do not wait for the disk, made
//! durable together by one `fsync` of the write-ahead log.
//!
//! With `synchronous = FULL` every SQLite commit syncs the WAL while it
//! holds the database's one write lock, so commits queue behind each
//! other's fsyncs (about 220 µs each on this project's machines: at most
//! some 4,500 durable commits a second, whoever makes them). The hot
//! writes of the executor instead commit on the relaxed connections
//! (`synchronous = NORMAL`: atomic, written to the WAL, not yet synced),
//! then call [`WalSync::sync`] before they return: one fsync of the WAL
//! file covers every commit written before it started, so concurrent
//! runs share one fsync and none is acknowledged before its commit is on
//! disk. `fsync(2)` flushes the file's data however it was opened (the
//! WAL is one file per database, appended in commit order), which is
//! exactly what `synchronous = FULL` does at each commit.
//!
//! PostgreSQL groups concurrent commits itself (every backend waiting for
//! the WAL flush is released by one flush), so it needs none of this.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

use crate::StoreError;

/// Makes committed SQLite transactions durable, many per fsync.
#[derive(Debug)]
pub(crate) struct WalSync {
    /// The database's write-ahead log (`<database>-wal`).
    wal: PathBuf,
    /// Tickets handed out: each caller takes one after its commit returned.
    requested: AtomicU64,
    /// The highest ticket whose commit is known to be on disk; held by
    /// the one caller syncing at a time.
    synced: Mutex<u64>,
}

impl WalSync {
    /// Group commit for the SQLite database file `database`.
    pub(crate) fn new(database: PathBuf) -> WalSync {
        let mut wal = database.into_os_string();
        wal.push("-wal");
        WalSync {
            wal: PathBuf::from(wal),
            requested: AtomicU64::new(0),
            synced: Mutex::new(0),
        }
    }

    /// Return once every commit that returned before this call is on
    /// disk. Callers that arrive while a sync runs wait for it, and the
    /// first of them runs one more for all of them.
    pub(crate) async fn sync(&self) -> Result<(), StoreError> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self.synced.lock().await;
        if *synced >= ticket {
            return Ok(());
        }
        // Every ticket up to here was taken after its commit returned, so
        // the fsync below covers its frames.
        let upto = self.requested.load(Ordering::SeqCst);
        let wal = self.wal.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(&wal)?.sync_data())
            .await
            .map_err(|e| StoreError::Sync(std::io::Error::other(e)))?
            .map_err(StoreError::Sync)?;
        *synced = upto;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_log_is_an_error_not_a_silent_success() {
        let dir = tempfile::tempdir().expect("dir");
        let sync = WalSync::new(dir.path().join("none.db"));
        let error = sync.sync().await.expect_err("no WAL file");
        assert!(error.to_string().contains("durable"), "{error}");
    }

    #[tokio::test]
    async fn concurrent_callers_share_syncs() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("db.db-wal"), b"frames").expect("wal");
        let sync = std::sync::Arc::new(WalSync::new(dir.path().join("db.db")));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let sync = sync.clone();
            tasks.spawn(async move { sync.sync().await });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("joined").expect("synced");
        }
        assert_eq!(*sync.synced.lock().await, 64, "every ticket is covered");
    }
}
