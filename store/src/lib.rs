//! Workway's store: one database behind every part of the platform that
//! keeps state: connections and the token vault, the registry's
//! submissions and reviews, installed integrations, workflows and their
//! versions, and workflow runs with every step attempt (billing next).
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

pub mod clock;
pub mod connections;
mod error;
pub mod installations;
mod migrations;
pub mod oauth_states;
pub mod runs;
pub mod submissions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod workflows;

use std::time::Duration;

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
        let mut options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the one writer; the busy
                    // timeout makes writers from other processes queue
                    // instead of failing; secure_delete overwrites deleted
                    // rows (revoked tokens) instead of leaving them in
                    // free pages; synchronous = FULL makes a commit wait for
                    // the disk, so a committed workflow step survives a power
                    // cut and is never run twice.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                         PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
                         PRAGMA synchronous = FULL;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(&url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(&url),
                source,
            })?;
        migrations::migrator().await?.run(&pool).await?;
        Ok(Store { pool, backend })
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for modules of this crate.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers a trivial query, for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close every connection of the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
