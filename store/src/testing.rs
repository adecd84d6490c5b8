//! Fresh stores for tests, on every backend this machine has.
//!
//! [`test_stores`] always gives a SQLite store in a new temporary file and,
//! when a PostgreSQL server answers at `WORKWAY_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`), a PostgreSQL store
//! in a new schema of its own, so tests running in parallel never see each
//! other's rows. With `WORKWAY_REQUIRE_POSTGRES=1` (CI sets it after
//! starting the server) an unreachable server fails the test instead of
//! skipping PostgreSQL.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::Executor as _;
use sqlx::any::{AnyPoolOptions, install_default_drivers};

use crate::{Backend, Store};

/// The PostgreSQL server tests use unless `WORKWAY_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A store made for one test, with what it takes to open it again and to
/// clean it up.
#[derive(Debug)]
pub struct TestStore {
    /// The store.
    pub store: Store,
    /// `sqlite` or `postgres`, for assertion messages.
    pub label: &'static str,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Schema { admin_url: String, schema: String },
}

impl TestStore {
    /// A second, independent handle (its own pool) on the same database:
    /// what another process sharing the store would have.
    pub async fn reopen(&self) -> Store {
        Store::open(&self.url)
            .await
            .expect("reopening a test store works")
    }

    /// Run `sql` (with `$1`... bound to `args`) behind the store's back, as
    /// someone with write access to the database would: for tests showing
    /// that tampering with stored rows is caught.
    pub async fn tamper(&self, sql: &str, args: &[&str]) -> u64 {
        let mut query = sqlx::query(sql);
        for arg in args {
            query = query.bind(*arg);
        }
        query
            .execute(&self.store.pool)
            .await
            .expect("the tampering statement runs")
            .rows_affected()
    }

    /// The URL that opens this store.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Close the store and delete its file or schema.
    pub async fn cleanup(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Schema { admin_url, schema } => {
                if let Ok(pool) = admin_pool(&admin_url).await {
                    let _ = pool
                        .execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                        .await;
                    pool.close().await;
                }
            }
        }
    }
}

async fn admin_pool(url: &str) -> Result<sqlx::AnyPool, sqlx::Error> {
    install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

/// A fresh SQLite store in a new temporary file.
pub async fn sqlite_store() -> TestStore {
    let path = std::env::temp_dir().join(format!("workway-test-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url).await.expect("a SQLite test store opens");
    assert_eq!(store.backend(), Backend::Sqlite);
    TestStore {
        store,
        label: "sqlite",
        url,
        cleanup: Cleanup::File(path),
    }
}

/// A fresh PostgreSQL store in a new schema, or `None` when no server
/// answers (and `WORKWAY_REQUIRE_POSTGRES` is not set).
pub async fn postgres_store() -> Option<TestStore> {
    let admin_url = std::env::var("WORKWAY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let required = std::env::var("WORKWAY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let pool = match admin_pool(&admin_url).await {
        Ok(pool) => pool,
        Err(e) if required => {
            panic!("WORKWAY_REQUIRE_POSTGRES=1 but PostgreSQL at {admin_url} is not reachable: {e}")
        }
        Err(e) => {
            eprintln!(
                "skipping the PostgreSQL half of this test: {admin_url} is not reachable ({e})"
            );
            return None;
        }
    };
    let schema = format!("wwtest_{}", uuid::Uuid::new_v4().simple());
    pool.execute(format!("CREATE SCHEMA \"{schema}\"").as_str())
        .await
        .expect("creating a test schema works");
    pool.close().await;
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    let store = Store::open(&url)
        .await
        .expect("a PostgreSQL test store opens");
    assert_eq!(store.backend(), Backend::Postgres);
    Some(TestStore {
        store,
        label: "postgres",
        url,
        cleanup: Cleanup::Schema { admin_url, schema },
    })
}

/// A fresh store on every backend available: SQLite always, PostgreSQL
/// when its server answers.
pub async fn test_stores() -> Vec<TestStore> {
    let mut stores = vec![sqlite_store().await];
    stores.extend(postgres_store().await);
    stores
}
