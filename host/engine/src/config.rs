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
    /// An attempt still executing after this many milliseconds is
    /// recorded as `running` (users see it in its run) before its result;
    /// a faster one is recorded once, with its result, which saves a
    /// write per step. 0 records every attempt's start. A crash loses
    /// nothing either way: a resumed run makes the attempt again under
    /// the same number and idempotency key.
    pub record_running_after_ms: u64,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            lease_ms: 30_000,
            poll_ms: 250,
            max_in_flight: 64,
            max_runs_per_owner: 16,
            max_executions_per_installation: 8,
            record_running_after_ms: 50,
        }
    }
}

impl ExecutorConfig {
    /// The lease a claim takes (at least 100 ms).
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(100))
    }

    /// How long an attempt executes before it is recorded as running.
    pub fn record_running_after(&self) -> Duration {
        Duration::from_millis(self.record_running_after_ms)
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

/// Sessions, sign-in and API rate limits (`[accounts]` in the host
/// configuration). The rate limits are fixed windows counted in the
/// store, so they hold across every host sharing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// A browser session ends this long after its last use, in seconds.
    pub session_idle_secs: u64,
    /// A browser session ends this long after sign-in however busy it is,
    /// in seconds.
    pub session_max_secs: u64,
    /// The length of a rate-limit window, in seconds.
    pub rate_window_secs: u64,
    /// API requests per window per API token, session or client address.
    pub api_requests_per_window: i64,
    /// Failed sign-ins per window per account and per client address;
    /// past it sign-in is refused (even with the right password) until
    /// the window ends.
    pub signin_failures_per_window: i64,
}

impl Default for AccountConfig {
    fn default() -> Self {
        AccountConfig {
            session_idle_secs: 7 * 24 * 3600,
            session_max_secs: 30 * 24 * 3600,
            rate_window_secs: 15 * 60,
            api_requests_per_window: 100,
            signin_failures_per_window: 5,
        }
    }
}

impl AccountConfig {
    /// The rate-limit window in milliseconds (at least one second).
    pub fn window_ms(&self) -> i64 {
        i64::try_from(self.rate_window_secs.max(1))
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
    }

    /// The idle expiry in milliseconds.
    pub fn idle_ms(&self) -> i64 {
        i64::try_from(self.session_idle_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
    }

    /// The absolute expiry in milliseconds.
    pub fn max_ms(&self) -> i64 {
        i64::try_from(self.session_max_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
    }
}

/// How `workway serve` answers HTTP (`[server]` in the host
/// configuration): how long a client may take to send a request, how many
/// connections are served at once, and how long shutdown waits for the
/// requests in flight. The HTTP server reads it; it lives here so the
/// host configuration file can hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// How long a client has to send a request's headers, in
    /// milliseconds, from when its connection opens or its previous
    /// response was sent; past it the connection is closed. So it also
    /// bounds how long an idle keep-alive connection stays open.
    pub header_read_timeout_ms: u64,
    /// How long a request's whole body may take to arrive, in
    /// milliseconds, from when the handler starts reading it; past it the
    /// request is answered 408 and its connection closed.
    pub body_read_timeout_ms: u64,
    /// Connections served at once; further clients wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for the requests in flight to finish, in
    /// milliseconds, before it closes their connections.
    pub shutdown_grace_ms: u64,
    /// The address users reach this platform at (`https://workway.example`),
    /// from which the OAuth callback URL registered with each provider is
    /// made (`<public_url>/v1/oauth/callback`). Unset, a request from a
    /// loopback `Host` (a local install) uses that host; any other is
    /// refused until it is set.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            max_connections: 1024,
            shutdown_grace_ms: 30_000,
            public_url: None,
        }
    }
}

impl ServerConfig {
    /// The header read timeout (at least 100 ms).
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms.max(100))
    }

    /// The body read timeout (at least 100 ms).
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms.max(100))
    }

    /// How long shutdown waits for the requests in flight.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// The vault's caches (`[vault]` in the host configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    /// How long an access token (and an owner's connection list) read
    /// from the store may be served from this process, in milliseconds:
    /// the bound on how long this host goes on using a connection after
    /// another host disconnected, refreshed or flagged it. 0 turns the
    /// caches off; at most [`VaultConfig::MAX_TOKEN_CACHE_MS`].
    pub token_cache_ms: u64,
    /// Connections the token cache holds at most (at least 1).
    pub token_cache_entries: usize,
}

impl VaultConfig {
    /// The longest cache bound allowed: a revocation must take effect
    /// within a minute on every host, whatever the configuration says.
    pub const MAX_TOKEN_CACHE_MS: u64 = 60_000;

    /// The vault's settings from this configuration, or what is wrong
    /// with it and what to write instead.
    pub fn settings(&self) -> Result<workway_vault::VaultSettings, String> {
        if self.token_cache_ms > Self::MAX_TOKEN_CACHE_MS {
            return Err(format!(
                "[vault] token_cache_ms = {} is too long: a disconnect must take effect on \
                 every host within {} ms; set it between 0 (no cache) and {}",
                self.token_cache_ms,
                Self::MAX_TOKEN_CACHE_MS,
                Self::MAX_TOKEN_CACHE_MS
            ));
        }
        if self.token_cache_entries == 0 {
            return Err(
                "[vault] token_cache_entries = 0 holds nothing; set token_cache_ms = 0 to turn \
                 the cache off, or at least 1 entry"
                    .into(),
            );
        }
        Ok(workway_vault::VaultSettings {
            token_cache: Duration::from_millis(self.token_cache_ms),
            token_cache_entries: self.token_cache_entries,
            ..workway_vault::VaultSettings::default()
        })
    }
}

impl Default for VaultConfig {
    fn default() -> Self {
        let settings = workway_vault::VaultSettings::default();
        VaultConfig {
            token_cache_ms: u64::try_from(settings.token_cache.as_millis()).unwrap_or(u64::MAX),
            token_cache_entries: settings.token_cache_entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(text: &str) -> Result<workway_vault::VaultSettings, String> {
        let config: VaultConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.settings()
    }

    #[test]
    fn the_vault_cache_bound_is_configurable_within_a_minute() {
        let default = vault("").expect("the defaults are valid");
        assert_eq!(default.token_cache, Duration::from_secs(1));
        assert_eq!(default.token_cache_entries, 10_000);

        let off = vault("token_cache_ms = 0").expect("0 turns the caches off");
        assert_eq!(off.token_cache, Duration::ZERO);
        let set = vault("token_cache_ms = 60000\ntoken_cache_entries = 5").expect("in range");
        assert_eq!(set.token_cache, Duration::from_secs(60));
        assert_eq!(set.token_cache_entries, 5);
        // The refresh timings are not the cache's to change.
        assert_eq!(
            set.refresh_skew,
            workway_vault::VaultSettings::default().refresh_skew
        );

        let long = vault("token_cache_ms = 60001").expect_err("past a minute");
        assert!(long.contains("between 0 (no cache) and 60000"), "{long}");
        let empty = vault("token_cache_entries = 0").expect_err("holds nothing");
        assert!(empty.contains("token_cache_ms = 0"), "{empty}");
        let typo = vault("token_cache_s = 5").expect_err("unknown field");
        assert!(typo.contains("token_cache_s"), "{typo}");
    }
}
