//! Name resolution: the [`Resolve`] trait, the system resolver and the
//! operator's explicit [`HostOverride`]s.
//!
//! The system resolver (`getaddrinfo`) blocks, so each lookup runs on
//! tokio's blocking pool, which the whole process shares (files, the
//! store's SQLite connections, compilation). Plugins choose the names
//! looked up, and a slow or unresponsive DNS server would otherwise let
//! them fill that pool with stuck lookups. So lookups go through a
//! [`LookupLimiter`]: at most [`MAX_CONCURRENT_LOOKUPS`] in flight in the
//! process, each caller waiting at most [`LOOKUP_TIMEOUT`] (queueing for a
//! slot included), and a slot is held until its blocking lookup really
//! returns, even when the caller gave up on it.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use async_trait::async_trait;
use serde::Deserialize;
use workway_registry::hosts::is_host_name;

/// Turns a host name into addresses. The broker checks every address it
/// gets and then connects to one of exactly those, so there is no second
/// lookup an attacker's DNS could answer differently.
#[async_trait]
pub trait Resolve: Send + Sync {
    /// The addresses of `host` (a DNS name, never an IP literal); `port` is
    /// given for resolvers that care.
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>>;
}

/// The most system lookups in flight at once in one process.
pub const MAX_CONCURRENT_LOOKUPS: usize = 16;

/// The longest a caller waits for a system lookup, its wait for a free
/// slot included.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs blocking lookups on the blocking pool, at most `permits` at once,
/// and gives up waiting for one after `timeout`.
#[derive(Debug, Clone)]
pub struct LookupLimiter {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl LookupLimiter {
    /// A limiter allowing `permits` lookups in flight, each waited for at
    /// most `timeout`.
    pub fn new(permits: usize, timeout: Duration) -> Self {
        LookupLimiter {
            permits: Arc::new(Semaphore::new(permits)),
            timeout,
        }
    }

    /// Run `lookup` on the blocking pool once a slot is free. The slot is
    /// released when `lookup` returns, not when the caller stops waiting,
    /// so lookups that outlive their callers still count against the
    /// bound. `TimedOut` when no answer came within the timeout.
    pub async fn run<F>(&self, host: &str, lookup: F) -> io::Result<Vec<IpAddr>>
    where
        F: FnOnce() -> io::Result<Vec<IpAddr>> + Send + 'static,
    {
        let timed_out = || {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no answer for `{host}` within {} ms",
                    self.timeout.as_millis()
                ),
            )
        };
        let work = async {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| io::Error::other("the resolver is shut down"))?;
            tokio::task::spawn_blocking(move || {
                let answer = lookup();
                drop(permit);
                answer
            })
            .await
            .map_err(|e| io::Error::other(format!("the lookup task failed: {e}")))?
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| timed_out())?
    }
}

/// The process's one limiter for [`SystemResolver`].
fn system_limiter() -> &'static LookupLimiter {
    static LIMITER: std::sync::OnceLock<LookupLimiter> = std::sync::OnceLock::new();
    LIMITER.get_or_init(|| LookupLimiter::new(MAX_CONCURRENT_LOOKUPS, LOOKUP_TIMEOUT))
}

/// The operating system's resolver (`getaddrinfo` on the blocking pool),
/// bounded and timed out by the process's [`LookupLimiter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>> {
        let name = host.to_string();
        system_limiter()
            .run(host, move || {
                Ok((name.as_str(), port)
                    .to_socket_addrs()?
                    .map(|a| a.ip())
                    .collect())
            })
            .await
    }
}

/// One explicit name-to-address mapping, written
/// `api.slack.com:443=127.0.0.1:38291` (or `api.slack.com=127.0.0.1:38291`
/// for any port). A host with an override is connected to that address
/// without resolution and without the address checks: this is the only
/// way a named host reaches a loopback or private address (tests, special
/// deployments).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct HostOverride {
    /// The host name, lower-case, without a trailing dot.
    pub host: String,
    /// The port it applies to; `None` for every port.
    pub port: Option<u16>,
    /// Where to connect instead.
    pub address: SocketAddr,
}

/// Why an override is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("override `{text}`: {reason} (write it as `api.example.com:443=127.0.0.1:8443`)")]
pub struct OverrideError {
    /// The override as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl HostOverride {
    /// Whether this override applies to `host` (normalised) and `port`.
    pub fn applies_to(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

impl FromStr for HostOverride {
    type Err = OverrideError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| OverrideError {
            text: text.to_string(),
            reason,
        };
        let (name, address) = text
            .split_once('=')
            .ok_or_else(|| fail("no `=` between the host and the address".into()))?;
        let address: SocketAddr = address.trim().parse().map_err(|_| {
            fail(format!(
                "`{}` is not an address with a port",
                address.trim()
            ))
        })?;
        let name = name.trim();
        let (host, port) = match name.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| fail(format!("`{port}` is not a port")))?;
                (host, Some(port))
            }
            None => (name, None),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
            return Err(fail(
                "the left side must be a host name, not an IP address".into(),
            ));
        }
        if !is_host_name(&host) {
            return Err(fail(format!("`{host}` is not a host name")));
        }
        Ok(HostOverride {
            host,
            port,
            address,
        })
    }
}

impl TryFrom<String> for HostOverride {
    type Error = OverrideError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for HostOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "={}", self.address)
    }
}

/// The override for `host:port`: one naming the port wins over one for
/// every port.
pub(crate) fn find_override<'a>(
    overrides: &'a [HostOverride],
    host: &str,
    port: u16,
) -> Option<&'a HostOverride> {
    overrides
        .iter()
        .find(|o| o.port == Some(port) && o.applies_to(host, port))
        .or_else(|| {
            overrides
                .iter()
                .find(|o| o.port.is_none() && o.applies_to(host, port))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    /// A gate blocking lookups until opened.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        opened: Condvar,
    }

    impl Gate {
        fn wait(&self) {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            while !*open {
                open = self.opened.wait(open).unwrap_or_else(|p| p.into_inner());
            }
        }

        fn open(&self) {
            *self.open.lock().unwrap_or_else(|p| p.into_inner()) = true;
            self.opened.notify_all();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dns_lookups_cannot_tie_up_the_blocking_pool() {
        let limiter = LookupLimiter::new(2, Duration::from_millis(200));
        let gate = Arc::new(Gate::default());
        let started = Arc::new(AtomicUsize::new(0));
        let mut callers = Vec::new();
        // Eight lookups against a DNS server that never answers.
        for i in 0..8 {
            let (limiter, gate, started) = (limiter.clone(), gate.clone(), started.clone());
            callers.push(tokio::spawn(async move {
                limiter
                    .run(&format!("stuck-{i}.test"), move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        gate.wait();
                        Ok(vec![IpAddr::from([192, 0, 2, 1])])
                    })
                    .await
            }));
        }
        for caller in callers {
            let outcome = caller.await.expect("joined");
            let error = outcome.expect_err("nobody answered");
            assert_eq!(error.kind(), io::ErrorKind::TimedOut);
            assert!(error.to_string().contains("200 ms"), "{error}");
        }
        // Every caller gave up, yet only two blocking threads were ever
        // taken: the other six never reached the pool.
        assert_eq!(started.load(Ordering::SeqCst), 2);
        // Lookups still stuck keep their slots: a new caller waits too.
        let waiting = limiter.run("next.test", || Ok(vec![IpAddr::from([192, 0, 2, 2])]));
        assert_eq!(
            waiting.await.expect_err("no free slot").kind(),
            io::ErrorKind::TimedOut
        );
        // Once the stuck lookups return, their slots are free again.
        gate.open();
        while limiter.permits.available_permits() < 2 {
            tokio::task::yield_now().await;
        }
        let answer = limiter
            .run("next.test", || Ok(vec![IpAddr::from([192, 0, 2, 2])]))
            .await;
        assert_eq!(
            answer.expect("answered"),
            vec![IpAddr::from([192, 0, 2, 2])]
        );
        assert_eq!(started.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn overrides_parse_with_and_without_port() {
        let o: HostOverride = "API.Slack.com.:443=127.0.0.1:38291".parse().expect("valid");
        assert_eq!(o.host, "api.slack.com");
        assert_eq!(o.port, Some(443));
        assert_eq!(o.address, "127.0.0.1:38291".parse().expect("addr"));
        assert_eq!(o.to_string(), "api.slack.com:443=127.0.0.1:38291");
        assert!(o.applies_to("api.slack.com", 443));
        assert!(!o.applies_to("api.slack.com", 80));

        let any: HostOverride = "mock.test=[::1]:8080".parse().expect("valid");
        assert_eq!(any.port, None);
        assert!(any.applies_to("mock.test", 1));
        assert_eq!(any.to_string(), "mock.test=[::1]:8080");
    }

    #[test]
    fn malformed_overrides_say_what_is_wrong() {
        for (text, needle) in [
            ("api.slack.com", "no `=`"),
            ("api.slack.com=127.0.0.1", "not an address with a port"),
            ("api.slack.com:x=127.0.0.1:1", "not a port"),
            ("127.0.0.1:80=127.0.0.1:1", "not an IP address"),
            ("[::1]:80=127.0.0.1:1", "not an IP address"),
            ("bad host:80=127.0.0.1:1", "not a host name"),
        ] {
            let err = text.parse::<HostOverride>().expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn port_specific_overrides_win() {
        let overrides: Vec<HostOverride> = ["a.test=127.0.0.1:1", "a.test:443=127.0.0.1:2"]
            .iter()
            .map(|t| t.parse().expect("valid"))
            .collect();
        let hit = find_override(&overrides, "a.test", 443).expect("found");
        assert_eq!(hit.address.port(), 2);
        let hit = find_override(&overrides, "a.test", 80).expect("found");
        assert_eq!(hit.address.port(), 1);
        assert!(find_override(&overrides, "b.test", 80).is_none());
    }
}
