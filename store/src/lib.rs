//! Workway's store: one database behind every part of the platform that
//! keeps state: accounts with their browser sessions and API tokens, the
//! request counters that rate-limit them, connections and the token vault,
//! the registry's submissions and reviews and the reviewers' signing keys,
//! publishers' profiles and co-maintainers,
//! integrations' marketplace listings, their search documents and the
//! entitlements to paid ones,
//! installed integrations and users' ratings and reviews of them,
//! workflows and their versions, and workflow runs
//! with every step attempt (billing next).
//!
//! SQLite is the embedded default (one file, nothing to set up) and
//! PostgreSQL the scale-out store that several hosts share. Both run the
//! same migrations (`store/migrations/`, portable SQL, applied at
//! [`Store::open`]) and the same queries (written with `$1` placeholders,
//! which both backends accept), through sqlx's `Any` driver. Each table has
//! its own module with typed rows and the queries on them.
//!
//! Runs are shared work: any number of host processes claim due runs
//! under a lease ([`runs::Runs::claim`]) and every write they make about a
//! run is fenced by that lease, so a run is driven by one process at a
//! time and a process that died is taken over once its lease expires.

#[macro_use]
mod stored_enum;

pub mod accounts;
pub mod api_tokens;
pub mod billing;
pub mod clock;
pub mod connections;
mod durable;
mod error;
pub mod install_consents;
pub mod installations;
pub mod listings;
mod migrations;
pub mod oauth_states;
pub mod publishers;
pub mod rate_limits;
pub mod ratings;
pub mod reviewer_keys;
pub mod runs;
pub mod search;
pub mod sessions;
mod submission_state;
pub mod submissions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod usage;
pub mod workflows;

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use durable::WalSync;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor as _};

pub use error::StoreError;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A handle on the database: a connection pool with the schema migrated.
/// Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Connections whose commits do not wait for the disk, for writes
    /// that may be lost in a power cut without losing work (see
    /// [`Store::relaxed_pool`]).
    relaxed: AnyPool,
    /// SQLite only: makes relaxed commits durable, many per fsync.
    wal: Option<Arc<WalSync>>,
    backend: Backend,
}

impl Store {
    /// Connect to `url` and apply any migrations not yet applied.
    ///
    /// `url` is `sqlite://path/to/workway.db` (the file is created when
    /// missing) or `postgres://user@host:port/database`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let pool = pool_options(backend, Durability::Full, 8, 16)
            .connect(&url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(&url),
                source,
            })?;
        migrations::migrator(backend).await?.run(&pool).await?;
        search::backfill(&pool).await?;
        let relaxed = pool_options(backend, Durability::Relaxed, 2, 4)
            .connect_lazy(&url)
            .map_err(|source| StoreError::Connect {
                url: redact(&url),
                source,
            })?;
        let wal = match backend {
            Backend::Sqlite => {
                let options =
                    sqlx::sqlite::SqliteConnectOptions::from_str(&url).map_err(|source| {
                        StoreError::Connect {
                            url: redact(&url),
                            source,
                        }
                    })?;
                Some(Arc::new(WalSync::new(options.get_filename().to_path_buf())))
            }
            Backend::Postgres => None,
        };
        Ok(Store {
            pool,
            relaxed,
            wal,
            backend,
        })
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for a write that must be durable once it returns, in
    /// the shared group commit: commit on it, then call
    /// [`Store::group_commit`] before acting on the write. On SQLite the
    /// relaxed pool (many commits share one fsync, see [`durable`]); on
    /// PostgreSQL the main pool, whose commits the server already groups.
    pub(crate) fn grouped_pool(&self) -> &AnyPool {
        match self.backend {
            Backend::Sqlite => &self.relaxed,
            Backend::Postgres => &self.pool,
        }
    }

    /// Return once every commit made on [`Store::grouped_pool`] before
    /// this call is on disk.
    pub(crate) async fn group_commit(&self) -> Result<(), StoreError> {
        match &self.wal {
            Some(wal) => wal.sync().await,
            None => Ok(()),
        }
    }

    /// The connection pool, for modules of this crate. A commit on it
    /// returns once the database has it on disk.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Connections whose commits return before the disk has them: for a
    /// write that may be lost in a power cut (never in a crash of this
    /// process alone) because losing it loses no work, such as an attempt
    /// recorded as started, which a resumed run records again under the
    /// same idempotency key. A later commit on [`Store::pool`] makes every
    /// earlier relaxed commit durable too: SQLite's WAL and PostgreSQL's
    /// WAL are flushed in order.
    pub(crate) fn relaxed_pool(&self) -> &AnyPool {
        &self.relaxed
    }

    /// Whether the database answers a trivial query, for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close every connection of the pool.
    pub async fn close(&self) {
        self.relaxed.close().await;
        self.pool.close().await;
    }
}

/// Whether a commit waits for the disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// A commit returns once it is on disk (SQLite `synchronous = FULL`,
    /// PostgreSQL's default `synchronous_commit`): a committed workflow
    /// step survives a power cut and is never run twice.
    Full,
    /// A commit returns before it is on disk (SQLite `synchronous =
    /// NORMAL` in WAL, PostgreSQL `synchronous_commit = off`); it is still
    /// atomic, and survives a crash of this process.
    Relaxed,
}

/// The pool settings for `backend`: at most `sqlite_max` or `postgres_max`
/// connections, each set up for `durability`.
fn pool_options(
    backend: Backend,
    durability: Durability,
    sqlite_max: u32,
    postgres_max: u32,
) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(match backend {
            Backend::Sqlite => sqlite_max,
            Backend::Postgres => postgres_max,
        })
        .acquire_timeout(Duration::from_secs(10))
        // No ping before each use: it doubled the round trips of every
        // query. A connection that died is found by the query that uses
        // it, which fails like any store error (a run's drive stops and is
        // resumed once its lease lapses), and sqlx drops that connection.
        .test_before_acquire(false);
    let setup: &'static str = match (backend, durability) {
        // WAL lets readers run beside the one writer; the busy timeout
        // makes writers from other processes queue instead of failing;
        // secure_delete overwrites deleted rows (revoked tokens) instead
        // of leaving them in free pages; synchronous = FULL makes a commit
        // wait for the disk.
        (Backend::Sqlite, Durability::Full) => {
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
             PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
             PRAGMA synchronous = FULL;"
        }
        (Backend::Sqlite, Durability::Relaxed) => {
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
             PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
             PRAGMA synchronous = NORMAL;"
        }
        (Backend::Postgres, Durability::Full) => return options,
        (Backend::Postgres, Durability::Relaxed) => "SET synchronous_commit = off",
    };
    options.after_connect(move |conn, _meta| {
        Box::pin(async move {
            conn.execute(setup).await?;
            Ok(())
        })
    })
}

/// `url` with any password replaced, fit for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://me:hunter2@db:5432/w"),
            "postgres://me:***@db:5432/w"
        );
        assert_eq!(redact("postgres://me@db/w"), "postgres://me@db/w");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[tokio::test]
    async fn unknown_urls_are_refused() {
        let err = Store::open("mysql://x").await.unwrap_err();
        assert!(err.to_string().contains("sqlite://"), "{err}");
    }
}
