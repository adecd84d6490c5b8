//! The vault's in-process cache of unsealed access tokens, so an
//! authorised request does not read and unseal the connection's row every
//! time.
//!
//! An entry holds one connection's access token with the token version it
//! was read at, the moment its refresh margin begins (from the row's
//! expiry) and when it was read. It is served only while it is younger than
//! the configured bound and its token is still fresh; the bound is the
//! longest this process can go on attaching a token after another process
//! disconnected, refreshed or marked the connection dead. What this
//! process does itself (a refresh, a delete, a re-authorisation mark, a
//! re-seal, a rejected token) changes the cache at once.
//!
//! Each connection also has a version floor: the newest token version this
//! process knows of. A token older than the floor is never cached or
//! served, and a read that raced with a refresh, a delete or an eviction
//! cannot put back what they removed: deletes and re-authorisation marks
//! raise the floor past every version, and an eviction forgets floors but
//! refuses every fill whose read began before it (the [`Ticket`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use workway_capabilities::secret::Secret;

/// The clock the token cache measures its entries' age with. The default
/// is the process's monotonic clock; tests pass one they move by hand.
pub trait CacheClock: Send + Sync {
    /// The time elapsed since a fixed origin of this clock's choosing. It
    /// never decreases.
    fn elapsed(&self) -> Duration;
}

/// The process's monotonic clock ([`Instant`]), immune to changes of the
/// system's wall clock.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock counting from now.
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl CacheClock for MonotonicClock {
    fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A token as it was read from the store.
struct Cached {
    /// The token version of the row it came from.
    version: i64,
    token: Secret,
    /// When its refresh margin begins (Unix ms); `None` for a token
    /// without an expiry.
    fresh_until: Option<i64>,
    /// When the read that produced it began, on the cache's clock.
    read_at: Duration,
}

/// What the cache knows of one connection.
struct Slot {
    /// No token older than this version is cached or served.
    floor: i64,
    token: Option<Cached>,
}

struct State {
    /// Bumped by every eviction: fills whose read began before one are refused.
    epoch: u64,
    slots: HashMap<String, Slot>,
}

/// What a caller takes before reading a row it may cache: when the read
/// began, and the eviction epoch it began in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    epoch: u64,
    read_at: Duration,
}

/// The cache (see the module documentation).
pub(crate) struct TokenCache {
    bound: Duration,
    capacity: usize,
    clock: Arc<dyn CacheClock>,
    state: Mutex<State>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("bound", &self.bound)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache serving entries younger than `bound`, holding at most
    /// `capacity` connections. A zero bound or capacity disables it.
    pub(crate) fn new(bound: Duration, capacity: usize, clock: Arc<dyn CacheClock>) -> Self {
        TokenCache {
            bound,
            capacity,
            clock,
            state: Mutex::new(State {
                epoch: 0,
                slots: HashMap::new(),
            }),
        }
    }

    /// The clock entries are aged with.
    pub(crate) fn clock(&self) -> Arc<dyn CacheClock> {
        self.clock.clone()
    }

    fn enabled(&self) -> bool {
        !self.bound.is_zero() && self.capacity > 0
    }

    /// The lock; nothing panics while holding it, and the state stays
    /// consistent between statements, so a poisoned lock is still usable.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached token of connection `id`, if it is younger than the bound
    /// and still fresh at `now_ms` (Unix ms).
    pub(crate) fn get(&self, id: &str, now_ms: i64) -> Option<Secret> {
        if !self.enabled() {
            return None;
        }
        let now = self.clock.elapsed();
        let mut state = self.state();
        let slot = state.slots.get_mut(id)?;
        let cached = slot.token.as_ref()?;
        let young = now.saturating_sub(cached.read_at) < self.bound;
        let fresh = cached.fresh_until.is_none_or(|until| until > now_ms);
        if young && fresh {
            return Some(cached.token.clone());
        }
        // Of no further use: free (and zero) it now.
        slot.token = None;
        None
    }

    /// Take before reading a row whose token may be cached with [`Self::fill`].
    pub(crate) fn ticket(&self) -> Ticket {
        let read_at = self.clock.elapsed();
        Ticket {
            epoch: self.state().epoch,
            read_at,
        }
    }

    /// Cache `token`, read at token version `version` by the read `ticket`
    /// began, fresh until `fresh_until` (Unix ms). Refused when the token
    /// is older than what this process knows of the connection, or when an
    /// eviction happened since the read began; otherwise `version` is now
    /// the oldest this process will cache of it.
    pub(crate) fn fill(
        &self,
        ticket: Ticket,
        id: &str,
        version: i64,
        token: &Secret,
        fresh_until: Option<i64>,
    ) {
        if !self.enabled() {
            return;
        }
        let mut state = self.state();
        if state.epoch != ticket.epoch {
            return;
        }
        let slot = self.slot(&mut state, id);
        if version < slot.floor {
            return;
        }
        slot.floor = version;
        slot.token = Some(Cached {
            version,
            token: token.clone(),
            fresh_until,
            read_at: ticket.read_at,
        });
    }

    /// Drop connection `id`'s token (a rejected or re-sealed one); the next
    /// use reads the store.
    pub(crate) fn forget(&self, id: &str) {
        if !self.enabled() {
            return;
        }
        if let Some(slot) = self.state().slots.get_mut(id) {
            slot.token = None;
        }
    }

    /// This process knows connection `id` at token version `version` or
    /// newer: drop an older token and never cache one again.
    pub(crate) fn at_least(&self, id: &str, version: i64) {
        if !self.enabled() {
            return;
        }
        let mut state = self.state();
        let slot = self.slot(&mut state, id);
        slot.floor = slot.floor.max(version);
        if slot.token.as_ref().is_some_and(|c| c.version < slot.floor) {
            slot.token = None;
        }
    }

    /// Connection `id` is gone or dead for good (deleted, or needing
    /// re-authorisation, which a new connection answers): cache nothing
    /// of it again.
    pub(crate) fn gone(&self, id: &str) {
        self.at_least(id, i64::MAX);
    }

    /// Drop every token.
    pub(crate) fn clear(&self) {
        if !self.enabled() {
            return;
        }
        for slot in self.state().slots.values_mut() {
            slot.token = None;
        }
    }

    /// Connection `id`'s slot, made room for when it is new.
    fn slot<'s>(&self, state: &'s mut State, id: &str) -> &'s mut Slot {
        if !state.slots.contains_key(id) && state.slots.len() >= self.capacity {
            self.make_room(state);
        }
        state.slots.entry(id.to_string()).or_insert(Slot {
            floor: i64::MIN,
            token: None,
        })
    }

    /// Keep only the tokens still young enough to be served, and if that is
    /// more than half the capacity, nothing: each pass leaves at least half
    /// the capacity free, so under any load evictions cost O(1) per insert.
    /// Floors go too, so every read that began before now may not fill.
    fn make_room(&self, state: &mut State) {
        let now = self.clock.elapsed();
        state.slots.retain(|_, slot| {
            slot.token
                .as_ref()
                .is_some_and(|c| now.saturating_sub(c.read_at) < self.bound)
        });
        if state.slots.len() > self.capacity / 2 {
            state.slots.clear();
        }
        state.epoch = state.epoch.wrapping_add(1);
    }

    /// How many connections the cache holds something for.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().slots.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A clock that moves only when told.
    #[derive(Default)]
    struct Manual(AtomicU64);

    impl Manual {
        fn advance(&self, by: Duration) {
            let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
            self.0.fetch_add(ms, Ordering::SeqCst);
        }
    }

    impl CacheClock for Manual {
        fn elapsed(&self) -> Duration {
            Duration::from_millis(self.0.load(Ordering::SeqCst))
        }
    }

    const BOUND: Duration = Duration::from_millis(1_000);

    fn cache(capacity: usize) -> (TokenCache, Arc<Manual>) {
        let clock = Arc::new(Manual::default());
        (TokenCache::new(BOUND, capacity, clock.clone()), clock)
    }

    fn fill(cache: &TokenCache, id: &str, version: i64, token: &str, fresh_until: Option<i64>) {
        let ticket = cache.ticket();
        cache.fill(ticket, id, version, &Secret::new(token), fresh_until);
    }

    fn served(cache: &TokenCache, id: &str, now_ms: i64) -> Option<String> {
        cache.get(id, now_ms).map(|s| s.expose().to_string())
    }

    #[test]
    fn an_entry_is_served_only_within_the_bound() {
        let (cache, clock) = cache(10);
        fill(&cache, "c", 1, "t1", None);
        assert_eq!(served(&cache, "c", 0).as_deref(), Some("t1"));
        clock.advance(BOUND - Duration::from_millis(1));
        assert_eq!(served(&cache, "c", 0).as_deref(), Some("t1"));
        clock.advance(Duration::from_millis(1));
        assert_eq!(served(&cache, "c", 0), None);
    }

    #[test]
    fn the_age_counts_from_when_the_read_began() {
        let (cache, clock) = cache(10);
        let ticket = cache.ticket();
        clock.advance(BOUND);
        cache.fill(ticket, "c", 1, &Secret::new("t1"), None);
        assert_eq!(served(&cache, "c", 0), None);
    }

    #[test]
    fn a_token_in_its_refresh_margin_is_not_served() {
        let (cache, _) = cache(10);
        fill(&cache, "c", 1, "t1", Some(5_000));
        assert_eq!(served(&cache, "c", 4_999).as_deref(), Some("t1"));
        assert_eq!(served(&cache, "c", 5_000), None);
    }

    #[test]
    fn a_zero_bound_or_capacity_caches_nothing() {
        for (bound, capacity) in [(Duration::ZERO, 10), (BOUND, 0)] {
            let cache = TokenCache::new(bound, capacity, Arc::new(Manual::default()));
            fill(&cache, "c", 1, "t1", None);
            cache.at_least("d", 3);
            assert_eq!(served(&cache, "c", 0), None);
            assert_eq!(cache.len(), 0);
        }
    }

    #[test]
    fn an_older_version_than_one_known_is_never_cached_or_served() {
        let (cache, _) = cache(10);
        fill(&cache, "c", 2, "t2", None);
        fill(&cache, "c", 1, "t1", None);
        assert_eq!(served(&cache, "c", 0).as_deref(), Some("t2"));
        cache.at_least("c", 3);
        assert_eq!(served(&cache, "c", 0), None);
        fill(&cache, "c", 2, "t2", None);
        assert_eq!(served(&cache, "c", 0), None);
        fill(&cache, "c", 3, "t3", None);
        assert_eq!(served(&cache, "c", 0).as_deref(), Some("t3"));
    }

    #[test]
    fn a_read_racing_with_a_delete_cannot_put_the_token_back() {
        let (cache, _) = cache(10);
        let ticket = cache.ticket();
        cache.gone("c");
        cache.fill(ticket, "c", 1, &Secret::new("t1"), None);
        assert_eq!(served(&cache, "c", 0), None);
    }

    #[test]
    fn forgetting_drops_the_token_and_keeps_the_floor() {
        let (cache, _) = cache(10);
        fill(&cache, "c", 2, "t2", None);
        cache.forget("c");
        assert_eq!(served(&cache, "c", 0), None);
        fill(&cache, "c", 1, "t1", None);
        assert_eq!(served(&cache, "c", 0), None);
        fill(&cache, "c", 2, "t2", None);
        assert_eq!(served(&cache, "c", 0).as_deref(), Some("t2"));
        cache.clear();
        assert_eq!(served(&cache, "c", 0), None);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let (cache, clock) = cache(8);
        for i in 0..1_000 {
            fill(&cache, &format!("c{i}"), 1, "t", None);
            assert!(cache.len() <= 8, "{} entries", cache.len());
            if i % 3 == 0 {
                clock.advance(Duration::from_millis(100));
            }
        }
        // The newest fill always lands.
        assert_eq!(served(&cache, "c999", 0).as_deref(), Some("t"));
    }

    #[test]
    fn an_eviction_refuses_fills_whose_read_began_before_it() {
        let (cache, _) = cache(2);
        cache.at_least("a", 5);
        let ticket = cache.ticket();
        // Two more connections: the second evicts, forgetting a's floor.
        fill(&cache, "b", 1, "tb", None);
        fill(&cache, "c", 1, "tc", None);
        cache.fill(ticket, "a", 4, &Secret::new("old"), None);
        assert_eq!(served(&cache, "a", 0), None);
    }
}
