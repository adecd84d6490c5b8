//! The connection pool: keep-alive connections kept per origin and
//! address, so a plugin's next request to the same API skips the TCP and
//! TLS handshakes.
//!
//! A connection is filed under its [`Origin`] (scheme, host as the URL
//! names it, which is also the TLS server name it was verified for, and
//! port) and the address it was opened to. [`Pool::take`] is called only
//! after the request's host was resolved and every address checked, with
//! exactly those addresses: an idle connection is handed out only when its
//! origin is the request's and its address is one of them. So a name that
//! now resolves elsewhere never rides a connection opened to its old
//! address, and two origins never share a connection even when they
//! resolve to the same address (a token attached for one origin cannot
//! travel on a connection opened for another).
//!
//! Each origin has a cap on open connections (idle, in use and being
//! opened, whatever their address); a request over it waits for a slot,
//! bounded by its own timeout. Idle connections beyond the per-origin idle
//! cap, or idle longer than the idle timeout, are dropped: when they are
//! found, and by a sweep of every origin at most once per idle timeout.
//! The pool's lock is a std mutex held for a map lookup and a scan of at
//! most the idle cap; connections are closed after it is released.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use workway_capabilities::BrokerError;

use super::policy::{Target, TargetHost};

/// How long an unused connection is kept by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many unused connections are kept per origin by default.
pub const DEFAULT_MAX_IDLE_PER_ORIGIN: usize = 32;

/// How many connections may be open per origin by default.
pub const DEFAULT_MAX_OPEN_PER_ORIGIN: usize = 256;

/// The longest idle timeout a configuration may ask for; servers close
/// idle connections long before.
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// The highest open cap a configuration may ask for: more connections to
/// one origin than one address has ports.
pub const MAX_OPEN_PER_ORIGIN: usize = 65_536;

/// The shortest pause between two sweeps of every origin.
const MIN_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The pool's limits, checked when the egress is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolSettings {
    /// How long an unused connection is kept; zero keeps none.
    pub idle_timeout: Duration,
    /// How many unused connections one origin keeps; zero keeps none.
    pub max_idle: usize,
    /// How many connections to one origin may be open at once.
    pub max_open: usize,
}

impl PoolSettings {
    /// Whether connections are kept for reuse at all.
    pub fn keeps_idle(&self) -> bool {
        !self.idle_timeout.is_zero() && self.max_idle > 0
    }
}

/// What a connection may be reused for: scheme, host as the URL names it
/// and port. The address is matched separately, against the request's
/// checked addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    https: bool,
    host: TargetHost,
    port: u16,
}

impl Origin {
    /// The origin of `target`.
    pub fn of(target: &Target) -> Origin {
        Origin {
            https: target.scheme == "https",
            host: target.host.clone(),
            port: target.port,
        }
    }
}

/// What the pool needs to know about a connection.
pub(crate) trait Connection {
    /// The address it was opened to.
    fn address(&self) -> SocketAddr;
    /// Whether it can no longer carry a request.
    fn is_closed(&self) -> bool;
}

/// A connection and its place under its origin's open cap, which it gives
/// back when dropped.
pub(crate) struct Held<C> {
    /// The connection.
    pub conn: C,
    _slot: OwnedSemaphorePermit,
}

/// A place under an origin's open cap for a connection about to be opened.
pub(crate) struct Slot(OwnedSemaphorePermit);

impl Slot {
    /// `conn`, holding this place.
    pub fn hold<C>(self, conn: C) -> Held<C> {
        Held {
            conn,
            _slot: self.0,
        }
    }
}

/// A place for a new connection: free now, or to wait for.
pub(crate) enum NewSlot {
    /// Under the cap.
    Ready(Slot),
    /// The origin is at its cap; a place frees when one of its
    /// connections closes.
    Wait(Waiter),
}

impl NewSlot {
    /// The place, once there is one. Waiting is bounded only by the
    /// caller's timeout.
    pub async fn get(self) -> Result<Slot, BrokerError> {
        match self {
            NewSlot::Ready(slot) => Ok(slot),
            NewSlot::Wait(waiter) => waiter.get().await,
        }
    }
}

/// A request waiting for a place under its origin's open cap. While any
/// waits, connections of that origin are closed instead of kept idle, so
/// their places go to the waiters.
pub(crate) struct Waiter {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

impl Waiter {
    async fn get(self) -> Result<Slot, BrokerError> {
        self.slots
            .clone()
            .acquire_owned()
            .await
            .map(Slot)
            .map_err(|_| BrokerError::Network("the connection pool is shut down".into()))
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What [`Pool::take`] found.
pub(crate) enum Take<C> {
    /// An idle connection for the origin and one of the addresses; not
    /// yet known to be ready.
    Idle(Held<C>),
    /// None: open a new one.
    New(NewSlot),
}

struct Idle<C> {
    held: Held<C>,
    since: Instant,
}

struct OriginState<C> {
    /// Oldest first.
    idle: VecDeque<Idle<C>>,
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

struct State<C> {
    origins: HashMap<Origin, OriginState<C>>,
    next_sweep: Instant,
}

/// The process's keep-alive connections (see the module documentation).
pub(crate) struct Pool<C> {
    settings: PoolSettings,
    state: Mutex<State<C>>,
    /// How far this pool's clock runs ahead of the real one (tests).
    #[cfg(test)]
    skew: Mutex<Duration>,
}

/// Moves the expired idle connections at the front of `idle` to `dropped`.
fn expire<C>(
    idle: &mut VecDeque<Idle<C>>,
    now: Instant,
    timeout: Duration,
    dropped: &mut Vec<Held<C>>,
) {
    while let Some(oldest) = idle.front() {
        if now.saturating_duration_since(oldest.since) < timeout {
            break;
        }
        if let Some(oldest) = idle.pop_front() {
            dropped.push(oldest.held);
        }
    }
}

impl<C: Connection> Pool<C> {
    /// An empty pool with `settings`.
    pub fn new(settings: PoolSettings) -> Self {
        Pool {
            settings,
            state: Mutex::new(State {
                origins: HashMap::new(),
                next_sweep: Instant::now(),
            }),
            #[cfg(test)]
            skew: Mutex::new(Duration::ZERO),
        }
    }

    /// The limits in force.
    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    fn now(&self) -> Instant {
        let now = Instant::now();
        #[cfg(test)]
        let now = now + *self.skew.lock().unwrap_or_else(PoisonError::into_inner);
        now
    }

    /// Move this pool's clock `by` ahead (tests).
    #[cfg(test)]
    pub fn advance(&self, by: Duration) {
        *self.skew.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // The state stays consistent whatever panicked while it was held.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drop expired idle connections of every origin and forget origins
    /// with no connection left, at most once per idle timeout.
    fn sweep(&self, state: &mut State<C>, now: Instant, dropped: &mut Vec<Held<C>>) {
        if now < state.next_sweep {
            return;
        }
        state.next_sweep = now + self.settings.idle_timeout.max(MIN_SWEEP_INTERVAL);
        let timeout = self.settings.idle_timeout;
        state.origins.retain(|_, origin| {
            expire(&mut origin.idle, now, timeout, dropped);
            // Every open connection and every waiter holds the semaphore.
            !(origin.idle.is_empty() && Arc::strong_count(&origin.slots) == 1)
        });
    }

    /// Run `f` on `origin`'s state, made when it has none yet.
    fn with_origin<R>(
        &self,
        state: &mut State<C>,
        origin: &Origin,
        f: impl FnOnce(&mut OriginState<C>) -> R,
    ) -> R {
        if let Some(entry) = state.origins.get_mut(origin) {
            return f(entry);
        }
        let max_open = self.settings.max_open;
        f(state
            .origins
            .entry(origin.clone())
            .or_insert_with(|| OriginState {
                idle: VecDeque::new(),
                slots: Arc::new(Semaphore::new(max_open)),
                waiting: Arc::new(AtomicUsize::new(0)),
            }))
    }

    /// An idle connection for `origin` opened to one of `addresses` (the
    /// request's checked addresses), the most recently used first; or a
    /// place for a new connection.
    pub fn take(&self, origin: &Origin, addresses: &[SocketAddr]) -> Take<C> {
        let now = self.now();
        let timeout = self.settings.idle_timeout;
        let mut dropped = Vec::new();
        let taken = {
            let mut state = self.lock();
            self.sweep(&mut state, now, &mut dropped);
            self.with_origin(&mut state, origin, |entry| {
                expire(&mut entry.idle, now, timeout, &mut dropped);
                let mut index = entry.idle.len();
                while index > 0 {
                    index -= 1;
                    let conn = &entry.idle[index].held.conn;
                    let closed = conn.is_closed();
                    if !closed && !addresses.contains(&conn.address()) {
                        continue;
                    }
                    if let Some(idle) = entry.idle.remove(index) {
                        if !closed {
                            return Take::Idle(idle.held);
                        }
                        dropped.push(idle.held);
                    }
                }
                Take::New(Self::new_slot(entry))
            })
        };
        drop(dropped);
        taken
    }

    /// A place for a new connection to `origin`, never an idle one (the
    /// retry after a reused connection failed).
    pub fn new_slot_for(&self, origin: &Origin) -> NewSlot {
        let mut state = self.lock();
        self.with_origin(&mut state, origin, Self::new_slot)
    }

    /// A place under `entry`'s cap: a free one; else the one of its oldest
    /// idle connection (opened to an address the request may not use),
    /// which is closed; else a wait.
    fn new_slot(entry: &mut OriginState<C>) -> NewSlot {
        if let Ok(permit) = entry.slots.clone().try_acquire_owned() {
            return NewSlot::Ready(Slot(permit));
        }
        if let Some(oldest) = entry.idle.pop_front() {
            drop(oldest);
            if let Ok(permit) = entry.slots.clone().try_acquire_owned() {
                return NewSlot::Ready(Slot(permit));
            }
        }
        entry.waiting.fetch_add(1, Ordering::AcqRel);
        NewSlot::Wait(Waiter {
            slots: entry.slots.clone(),
            waiting: entry.waiting.clone(),
        })
    }

    /// Keep `held` for `origin`'s next request, unless pooling is off, it
    /// is closed, or requests wait for a place under the origin's cap (it
    /// is closed then, and its place goes to one of them). The oldest idle
    /// connection makes room when the origin's idle cap is reached. The
    /// caller has checked that its last exchange ended cleanly.
    pub fn put(&self, origin: &Origin, held: Held<C>) {
        if !self.settings.keeps_idle() || held.conn.is_closed() {
            return;
        }
        let now = self.now();
        let mut dropped = Vec::new();
        {
            let mut state = self.lock();
            self.sweep(&mut state, now, &mut dropped);
            match state.origins.get_mut(origin) {
                Some(entry) if entry.waiting.load(Ordering::Acquire) == 0 => {
                    if entry.idle.len() >= self.settings.max_idle
                        && let Some(oldest) = entry.idle.pop_front()
                    {
                        dropped.push(oldest.held);
                    }
                    entry.idle.push_back(Idle { held, since: now });
                }
                _ => dropped.push(held),
            }
        }
        drop(dropped);
    }

    /// How many idle connections `origin` has (tests).
    #[cfg(test)]
    pub fn idle_count(&self, origin: &Origin) -> usize {
        self.lock()
            .origins
            .get(origin)
            .map_or(0, |entry| entry.idle.len())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::atomic::AtomicBool;
    use std::task::Poll;

    use super::*;

    /// A connection that is only an address, an id and a closed flag.
    struct Fake {
        id: usize,
        address: SocketAddr,
        closed: Arc<AtomicBool>,
    }

    impl Connection for Fake {
        fn address(&self) -> SocketAddr {
            self.address
        }

        fn is_closed(&self) -> bool {
            self.closed.load(Ordering::SeqCst)
        }
    }

    fn settings(max_idle: usize, max_open: usize) -> PoolSettings {
        PoolSettings {
            idle_timeout: Duration::from_secs(30),
            max_idle,
            max_open,
        }
    }

    fn origin(host: &str) -> Origin {
        Origin {
            https: true,
            host: TargetHost::Name(host.into()),
            port: 443,
        }
    }

    fn address(last: u8) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), 443)
    }

    fn ready(taken: Take<Fake>) -> Slot {
        match taken {
            Take::New(NewSlot::Ready(slot)) => slot,
            Take::New(NewSlot::Wait(_)) => panic!("expected a free place, got a wait"),
            Take::Idle(held) => panic!("expected a free place, got idle #{}", held.conn.id),
        }
    }

    fn idle(taken: Take<Fake>) -> usize {
        match taken {
            Take::Idle(held) => held.conn.id,
            Take::New(_) => panic!("expected an idle connection"),
        }
    }

    /// Open connection `id` to `to` for `origin` and give it back idle.
    fn park(pool: &Pool<Fake>, origin: &Origin, id: usize, to: SocketAddr) -> Arc<AtomicBool> {
        let closed = Arc::new(AtomicBool::new(false));
        let slot = ready(pool.take(origin, &[to]));
        pool.put(
            origin,
            slot.hold(Fake {
                id,
                address: to,
                closed: closed.clone(),
            }),
        );
        closed
    }

    #[test]
    fn only_its_origin_and_one_of_the_checked_addresses_get_an_idle_connection() {
        let pool = Pool::new(settings(4, 8));
        let a = origin("a.test");
        park(&pool, &a, 1, address(1));

        // Another address for the same origin: a new connection.
        drop(ready(pool.take(&a, &[address(2)])));
        // Another origin on the same address: a new connection.
        drop(ready(pool.take(&origin("b.test"), &[address(1)])));
        let http = Origin {
            https: false,
            ..a.clone()
        };
        drop(ready(pool.take(&http, &[address(1)])));
        assert_eq!(pool.idle_count(&a), 1);

        assert_eq!(idle(pool.take(&a, &[address(2), address(1)])), 1);
        assert_eq!(pool.idle_count(&a), 0);
    }

    #[test]
    fn closed_and_expired_connections_are_dropped_when_found() {
        let pool = Pool::new(settings(4, 8));
        let a = origin("a.test");
        let closed = park(&pool, &a, 1, address(1));
        closed.store(true, Ordering::SeqCst);
        drop(ready(pool.take(&a, &[address(1)])));
        assert_eq!(pool.idle_count(&a), 0);

        park(&pool, &a, 2, address(1));
        pool.advance(Duration::from_secs(29));
        assert_eq!(idle(pool.take(&a, &[address(1)])), 2);

        park(&pool, &a, 3, address(1));
        pool.advance(Duration::from_secs(30));
        drop(ready(pool.take(&a, &[address(1)])));
        assert_eq!(pool.idle_count(&a), 0);
    }

    #[test]
    fn the_sweep_drops_expired_connections_of_every_origin() {
        let pool = Pool::new(settings(4, 8));
        let (a, b) = (origin("a.test"), origin("b.test"));
        park(&pool, &a, 1, address(1));
        pool.advance(Duration::from_secs(31));
        // Touching b sweeps a.
        park(&pool, &b, 2, address(1));
        assert_eq!(pool.idle_count(&a), 0);
        assert_eq!(pool.idle_count(&b), 1);
    }

    #[test]
    fn the_idle_cap_keeps_the_most_recently_used() {
        let pool = Pool::new(settings(2, 8));
        let a = origin("a.test");
        let slots: Vec<Slot> = (0..3)
            .map(|_| ready(pool.take(&a, &[address(1)])))
            .collect();
        for (id, slot) in slots.into_iter().enumerate() {
            pool.put(
                &a,
                slot.hold(Fake {
                    id,
                    address: address(1),
                    closed: Arc::new(AtomicBool::new(false)),
                }),
            );
        }
        assert_eq!(pool.idle_count(&a), 2);
        assert_eq!(idle(pool.take(&a, &[address(1)])), 2);
        assert_eq!(idle(pool.take(&a, &[address(1)])), 1);
        drop(ready(pool.take(&a, &[address(1)])));
    }

    #[test]
    fn with_pooling_off_nothing_is_kept() {
        for settings in [
            PoolSettings {
                idle_timeout: Duration::ZERO,
                ..settings(4, 8)
            },
            settings(0, 8),
        ] {
            let pool = Pool::new(settings);
            let a = origin("a.test");
            park(&pool, &a, 1, address(1));
            assert_eq!(pool.idle_count(&a), 0);
        }
    }

    #[test]
    fn at_the_open_cap_an_idle_connection_to_another_address_makes_room() {
        let pool = Pool::new(settings(1, 1));
        let a = origin("a.test");
        park(&pool, &a, 1, address(1));
        drop(ready(pool.take(&a, &[address(2)])));
        assert_eq!(pool.idle_count(&a), 0);
    }

    #[tokio::test]
    async fn over_the_open_cap_a_request_waits_and_gets_the_place_of_a_closing_connection() {
        let pool = Pool::new(settings(1, 1));
        let a = origin("a.test");
        let busy = ready(pool.take(&a, &[address(1)])).hold(Fake {
            id: 1,
            address: address(1),
            closed: Arc::new(AtomicBool::new(false)),
        });
        let waiter = match pool.take(&a, &[address(1)]) {
            Take::New(NewSlot::Wait(waiter)) => waiter,
            _ => panic!("expected to wait at the cap"),
        };
        let mut wait = std::pin::pin!(waiter.get());
        let pending =
            std::future::poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx).is_pending())).await;
        assert!(pending, "the place is still taken");

        // Given back while a request waits: closed, and its place passed on.
        pool.put(&a, busy);
        assert_eq!(pool.idle_count(&a), 0);
        let slot = wait.await.expect("a place");

        // Once nobody waits, connections are kept again.
        pool.put(
            &a,
            slot.hold(Fake {
                id: 2,
                address: address(1),
                closed: Arc::new(AtomicBool::new(false)),
            }),
        );
        assert_eq!(idle(pool.take(&a, &[address(1)])), 2);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_stops_counting() {
        let pool = Pool::new(settings(1, 1));
        let a = origin("a.test");
        let busy = ready(pool.take(&a, &[address(1)])).hold(Fake {
            id: 1,
            address: address(1),
            closed: Arc::new(AtomicBool::new(false)),
        });
        match pool.take(&a, &[address(1)]) {
            Take::New(NewSlot::Wait(waiter)) => drop(waiter),
            _ => panic!("expected to wait at the cap"),
        }
        pool.put(&a, busy);
        assert_eq!(pool.idle_count(&a), 1);
    }
}
