//! The lease on a claimed run, renewed by a heartbeat while the run is
//! driven. When a renewal finds the lease taken over, the run is marked
//! lost; the next fenced write would refuse anyway, this only stops work
//! sooner.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use workway_store::Store;

/// A held lease and its heartbeat.
pub(super) struct Lease {
    holder: String,
    lost: Arc<AtomicBool>,
    heartbeat: JoinHandle<()>,
}

impl Lease {
    /// Start renewing `holder`'s lease on `run` every third of `lease`.
    pub(super) fn hold(store: Store, run: String, holder: String, lease: Duration) -> Lease {
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn({
            let lost = lost.clone();
            let holder = holder.clone();
            async move {
                let every = lease / 3;
                loop {
                    tokio::time::sleep(every).await;
                    let until = workway_store::clock::now_ms()
                        + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
                    match store.runs().renew(&run, &holder, until).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(%run, "lease lost: another executor took the run over");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        // A failed renewal is retried at the next beat; the
                        // lease only lapses if the store stays unreachable.
                        Err(e) => tracing::warn!(%run, "cannot renew the lease: {e}"),
                    }
                }
            }
        });
        Lease {
            holder,
            lost,
            heartbeat,
        }
    }

    /// The holder name fenced writes must carry.
    pub(super) fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether a renewal found the lease taken over.
    pub(super) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stop renewing (the run was finished or handed back).
    pub(super) fn stop(self) {
        self.heartbeat.abort();
    }
}
