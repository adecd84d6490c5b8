//! The vault's in-process cache of an owner's connections to a provider,
//! so choosing the connections of an execution does not read the store
//! at every step.
//!
//! An entry is the list of rows [`crate::Vault::connections_for`] chooses
//! from, as read for one (owner, provider), served while it is younger
//! than the same bound as the token cache ([`crate::VaultSettings::token_cache`]):
//! a connection another process made, disconnected or marked dead is seen
//! here within that bound. Every change this vault makes itself (a save, a
//! disconnect, a delete, a refresh, a re-authorisation mark, a re-seal, a
//! key rotation) empties the cache at once, and a read that began before
//! such a change is not cached. The rows hold tokens sealed, as stored; a
//! token is only ever unsealed through the token cache's rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use workway_store::connections::ConnectionRow;

use crate::token_cache::CacheClock;

struct Listing {
    rows: Arc<Vec<ConnectionRow>>,
    read_at: Duration,
}

struct State {
    /// Bumped by every change: reads that began before one are not cached.
    epoch: u64,
    listings: HashMap<(String, String), Listing>,
}

/// When a read of a listing began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListingTicket {
    epoch: u64,
    read_at: Duration,
}

/// The cache (see the module documentation).
pub(crate) struct ListingCache {
    bound: Duration,
    capacity: usize,
    clock: Arc<dyn CacheClock>,
    state: Mutex<State>,
}

impl ListingCache {
    /// A cache serving listings younger than `bound`, at most `capacity`
    /// of them. A zero bound or capacity disables it.
    pub(crate) fn new(bound: Duration, capacity: usize, clock: Arc<dyn CacheClock>) -> Self {
        ListingCache {
            bound,
            capacity,
            clock,
            state: Mutex::new(State {
                epoch: 0,
                listings: HashMap::new(),
            }),
        }
    }

    fn enabled(&self) -> bool {
        !self.bound.is_zero() && self.capacity > 0
    }

    /// The lock; nothing panics while holding it.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached rows of `owner`'s `provider` connections, if younger than
    /// the bound.
    pub(crate) fn get(&self, owner: &str, provider: &str) -> Option<Arc<Vec<ConnectionRow>>> {
        if !self.enabled() {
            return None;
        }
        let now = self.clock.elapsed();
        let state = self.state();
        let listing = state
            .listings
            .get(&(owner.to_string(), provider.to_string()))?;
        (now.saturating_sub(listing.read_at) < self.bound).then(|| listing.rows.clone())
    }

    /// Take before reading a listing that may be cached with [`Self::fill`].
    pub(crate) fn ticket(&self) -> ListingTicket {
        let read_at = self.clock.elapsed();
        ListingTicket {
            epoch: self.state().epoch,
            read_at,
        }
    }

    /// Cache `rows`, read by the read `ticket` began, unless this vault
    /// changed a connection since.
    pub(crate) fn fill(
        &self,
        ticket: ListingTicket,
        owner: &str,
        provider: &str,
        rows: Arc<Vec<ConnectionRow>>,
    ) {
        if !self.enabled() {
            return;
        }
        let mut state = self.state();
        if state.epoch != ticket.epoch {
            return;
        }
        if state.listings.len() >= self.capacity {
            state.listings.clear();
        }
        state.listings.insert(
            (owner.to_string(), provider.to_string()),
            Listing {
                rows,
                read_at: ticket.read_at,
            },
        );
    }

    /// This vault changed a connection: forget every listing, and refuse
    /// the fills of reads that began before now.
    pub(crate) fn changed(&self) {
        let mut state = self.state();
        state.epoch = state.epoch.wrapping_add(1);
        state.listings.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    struct Hand(AtomicU64);

    impl CacheClock for Hand {
        fn elapsed(&self) -> Duration {
            Duration::from_millis(self.0.load(Ordering::SeqCst))
        }
    }

    fn rows() -> Arc<Vec<ConnectionRow>> {
        Arc::new(Vec::new())
    }

    #[test]
    fn listings_are_served_within_the_bound_and_dropped_on_change() {
        let clock = Arc::new(Hand(AtomicU64::new(0)));
        let cache = ListingCache::new(Duration::from_millis(1000), 10, clock.clone());
        let ticket = cache.ticket();
        cache.fill(ticket, "alice", "slack", rows());
        assert!(cache.get("alice", "slack").is_some());
        assert!(cache.get("bob", "slack").is_none());
        clock.0.store(999, Ordering::SeqCst);
        assert!(cache.get("alice", "slack").is_some());
        clock.0.store(1000, Ordering::SeqCst);
        assert!(cache.get("alice", "slack").is_none(), "past the bound");

        let ticket = cache.ticket();
        cache.fill(ticket, "alice", "slack", rows());
        cache.changed();
        assert!(cache.get("alice", "slack").is_none(), "a change empties it");

        let before = cache.ticket();
        cache.changed();
        cache.fill(before, "alice", "slack", rows());
        assert!(
            cache.get("alice", "slack").is_none(),
            "a read that began before a change is not cached"
        );
    }

    #[test]
    fn a_zero_bound_caches_nothing_and_capacity_is_kept() {
        let clock = Arc::new(Hand(AtomicU64::new(0)));
        let off = ListingCache::new(Duration::ZERO, 10, clock.clone());
        off.fill(off.ticket(), "alice", "slack", rows());
        assert!(off.get("alice", "slack").is_none());

        let small = ListingCache::new(Duration::from_secs(1), 2, clock);
        for owner in ["a", "b", "c", "d", "e"] {
            small.fill(small.ticket(), owner, "slack", rows());
            assert!(small.state().listings.len() <= 2);
        }
    }
}
