//! Fresh stores for tests, on every backend this machine has.
//!
//! [`test_stores`] always gives a SQLite store in a new temporary file and,
//! when a PostgreSQL server answers at `WORKWAY_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`), a PostgreSQL store
//! in a new schema of its own, so tests running in parallel never see each
//! other's rows. With `WORKWAY_REQUIRE_POSTGRES=1` (CI sets it after
//! starting the server) an unreachable server fails the test instead of
//! skipping PostgreSQL.
//!
//! A test store is deleted by [`TestStore::cleanup`], or, when a test
//! panics before getting there, when the [`TestStore`] is dropped, so a
//! failing test leaves no schema behind in the shared database.
//!
//! [`claimed_run`] and [`start_first_step`] put a run where a test or
//! benchmark of step commits needs it: inserted, claimed under a lease and
//! its first step's attempt started.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::Executor as _;
use sqlx::any::{AnyPoolOptions, install_default_drivers};

use crate::runs::{NewAttempt, NewRun};
use crate::workflows::TriggerKind;
use crate::{Backend, Store};

/// The PostgreSQL server tests use unless `WORKWAY_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How long dropping a [`TestStore`] that was not cleaned up waits for its
/// schema to be dropped: bounded, so a server that stopped answering (or a
/// lock a panicked test still holds) never hangs the test.
const DROP_CLEANUP_WAIT: Duration = Duration::from_secs(10);

/// A store made for one test, with what it takes to open it again and to
/// clean it up. Dropping it without [`TestStore::cleanup`] (a test that
/// panicked) still deletes its file or schema, best effort.
#[derive(Debug)]
pub struct TestStore {
    /// The store.
    pub store: Store,
    /// `sqlite` or `postgres`, for assertion messages.
    pub label: &'static str,
    url: String,
    /// What is left to delete; `None` once [`TestStore::cleanup`] ran.
    cleanup: Option<Cleanup>,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Schema { admin_url: String, schema: String },
}

impl Cleanup {
    /// Delete the file or the schema.
    async fn run(self) {
        match self {
            Cleanup::File(path) => remove_sqlite_files(&path),
            Cleanup::Schema { admin_url, schema } => drop_schema(&admin_url, &schema).await,
        }
    }
}

/// Remove a SQLite database and its journal files.
fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// Drop `schema` and everything in it, best effort. The statement gives up
/// on locks after a few seconds rather than waiting on a connection of a
/// test that panicked mid-transaction.
async fn drop_schema(admin_url: &str, schema: &str) {
    if let Ok(pool) = admin_pool(admin_url).await {
        if let Ok(mut connection) = pool.acquire().await {
            let _ = connection.execute("SET lock_timeout = '5s'").await;
            let _ = connection
                .execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                .await;
        }
        pool.close().await;
    }
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

    /// Refresh the planner's statistics, as autovacuum (PostgreSQL) or an
    /// operator's `ANALYZE` (SQLite) would after a bulk load, so a benchmark
    /// that loads thousands of rows at once measures the plans a database
    /// in use has, not those planned for the empty tables it started with.
    pub async fn analyze(&self) {
        self.tamper("ANALYZE", &[]).await;
    }

    /// Make `owner` the account owning integration `integration`'s name,
    /// as if they had published it (replacing any owner it had).
    pub async fn own(&self, integration: &str, owner: &str) {
        self.tamper(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ($1, $2, 's', 0) ON CONFLICT (integration) DO UPDATE SET owner = $2",
            &[integration, owner],
        )
        .await;
    }

    /// The URL that opens this store.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Close the store and delete its file or schema.
    pub async fn cleanup(mut self) {
        self.store.close().await;
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run().await;
        }
    }
}

impl Drop for TestStore {
    /// A test that did not reach [`TestStore::cleanup`] (it panicked, or
    /// forgot): delete the file here, and drop the schema on a thread of
    /// its own with its own runtime (`drop` cannot await, and may run on
    /// the test's runtime thread, which must not be blocked on itself),
    /// waiting at most [`DROP_CLEANUP_WAIT`] for it.
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run_blocking();
        }
    }
}

impl Cleanup {
    /// [`Cleanup::run`] from code that cannot await (a `drop`): the file
    /// is deleted here, the schema on a thread of its own with its own
    /// runtime, waiting at most [`DROP_CLEANUP_WAIT`] for it.
    fn run_blocking(self) {
        match self {
            Cleanup::File(path) => remove_sqlite_files(&path),
            Cleanup::Schema { admin_url, schema } => {
                let (done, finished) = std::sync::mpsc::channel();
                let spawned = std::thread::Builder::new()
                    .name("wwtest-cleanup".into())
                    .spawn(move || {
                        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            runtime.block_on(drop_schema(&admin_url, &schema));
                        }
                        let _ = done.send(());
                    });
                if spawned.is_ok() {
                    let _ = finished.recv_timeout(DROP_CLEANUP_WAIT);
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
        cleanup: Some(Cleanup::File(path)),
    }
}

/// A new, empty schema on the test PostgreSQL server: the URL that opens
/// it and what deletes it, or `None` when no server answers (and
/// `WORKWAY_REQUIRE_POSTGRES` is not set).
async fn postgres_schema() -> Option<(String, Cleanup)> {
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
    Some((url, Cleanup::Schema { admin_url, schema }))
}

/// A fresh PostgreSQL store in a new schema, or `None` when no server
/// answers (and `WORKWAY_REQUIRE_POSTGRES` is not set).
pub async fn postgres_store() -> Option<TestStore> {
    let (url, cleanup) = postgres_schema().await?;
    let store = Store::open(&url)
        .await
        .expect("a PostgreSQL test store opens");
    assert_eq!(store.backend(), Backend::Postgres);
    Some(TestStore {
        store,
        label: "postgres",
        url,
        cleanup: Some(cleanup),
    })
}

/// A database as an earlier release left it: migrated only up to that
/// release's last migration, for tests showing that this build's
/// migrations upgrade it without losing rows. Write the earlier release's
/// rows with [`EarlierDatabase::execute`], then [`EarlierDatabase::upgrade`]
/// opens it as this build does. Dropped without upgrading, it is deleted
/// like a [`TestStore`].
#[derive(Debug)]
pub struct EarlierDatabase {
    /// `sqlite` or `postgres`, for assertion messages.
    pub label: &'static str,
    url: String,
    pool: sqlx::AnyPool,
    cleanup: Option<Cleanup>,
}

impl EarlierDatabase {
    /// Run `sql` with `$1`... bound to `args`, as the earlier release
    /// would have written its rows; the number of rows changed.
    pub async fn execute(&self, sql: &str, args: &[&str]) -> u64 {
        let mut query = sqlx::query(sql);
        for arg in args {
            query = query.bind(*arg);
        }
        query
            .execute(&self.pool)
            .await
            .expect("the earlier release's statement runs")
            .rows_affected()
    }

    /// Open the database with this build's [`Store::open`], which applies
    /// every migration after the earlier release's.
    pub async fn upgrade(mut self) -> TestStore {
        self.pool.close().await;
        let store = Store::open(&self.url)
            .await
            .expect("this build's migrations apply to the earlier database");
        TestStore {
            store,
            label: self.label,
            url: self.url.clone(),
            cleanup: self.cleanup.take(),
        }
    }
}

impl Drop for EarlierDatabase {
    /// Delete the file or schema of a database never upgraded.
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run_blocking();
        }
    }
}

/// A fresh database on every backend available (SQLite always, PostgreSQL
/// when its server answers) with the migrations numbered up to `last`
/// applied and no later ones: the schema the release whose last migration
/// was `last` made.
pub async fn earlier_databases(last: i64) -> Vec<EarlierDatabase> {
    let path = std::env::temp_dir().join(format!("workway-test-{}.db", uuid::Uuid::new_v4()));
    let sqlite_url = format!("sqlite://{}", path.display());
    let mut made = vec![("sqlite", sqlite_url, Cleanup::File(path))];
    if let Some((url, cleanup)) = postgres_schema().await {
        made.push(("postgres", url, cleanup));
    }
    let mut databases = Vec::new();
    for (label, url, cleanup) in made {
        let (connect_url, backend) = if label == "sqlite" {
            (format!("{url}?mode=rwc"), crate::Backend::Sqlite)
        } else {
            (url.clone(), crate::Backend::Postgres)
        };
        let migrator = crate::migrations::migrator_through(backend, last)
            .await
            .expect("the embedded migrations read");
        let pool = admin_pool(&connect_url)
            .await
            .expect("the earlier database opens");
        let database = EarlierDatabase {
            label,
            url,
            pool,
            cleanup: Some(cleanup),
        };
        migrator
            .run(&database.pool)
            .await
            .expect("the earlier release's migrations apply");
        databases.push(database);
    }
    databases
}

/// A fresh store on every backend available: SQLite always, PostgreSQL
/// when its server answers.
pub async fn test_stores() -> Vec<TestStore> {
    let mut stores = vec![sqlite_store().await];
    stores.extend(postgres_store().await);
    stores
}

/// Insert run `run_id` of `owner` (workflow `w1` at version 1, started
/// by hand) at `now`, and claim it for `host` for `lease_ms`: a run whose
/// steps a test writes under that lease. Panics when either fails.
pub async fn claimed_run(
    store: &Store,
    run_id: &str,
    owner: &str,
    host: &str,
    lease_ms: i64,
    now: i64,
) {
    queued_run(store, run_id, owner, now).await;
    store
        .runs()
        .claim_run(run_id, host, lease_ms, now)
        .await
        .expect("claim")
        .expect("claimed");
}

/// Queue run `run_id` of `owner` (workflow `w1` v1, started by hand, no
/// pins) at `now`. Panics when the insert fails.
pub async fn queued_run(store: &Store, run_id: &str, owner: &str, now: i64) {
    store
        .runs()
        .insert(&NewRun {
            id: run_id,
            workflow_id: "w1",
            workflow_version: 1,
            owner,
            trigger_kind: TriggerKind::Manual,
            trigger_data: "{}",
            pins: "{}",
            now,
        })
        .await
        .expect("insert the run");
}

/// Attempt 1 of step 0 (`post`, calling `action` with `input`, under
/// idempotency key `key`) of run `run_id`, starting at `now`.
pub fn first_attempt<'a>(
    run_id: &'a str,
    key: &'a str,
    action: &'a str,
    input: &'a str,
    now: i64,
) -> NewAttempt<'a> {
    NewAttempt {
        run_id,
        step_index: 0,
        attempt: 1,
        step_id: "post",
        action,
        input: Some(input),
        idempotency_key: key,
        now,
    }
}

/// Record [`first_attempt`] of run `run_id` (key `<run_id>:0:1`) as
/// started under `host`'s lease at `now`, as the executor does for an
/// attempt that runs long. Panics unless it started.
pub async fn start_first_step(
    store: &Store,
    run_id: &str,
    host: &str,
    action: &str,
    input: &str,
    now: i64,
) {
    let key = format!("{run_id}:0:1");
    let started = store
        .runs()
        .start_attempt(&first_attempt(run_id, &key, action, input, now), host)
        .await
        .expect("start");
    assert!(started, "the attempt starts under the lease");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the schema called `schema` exists on the server at `admin_url`.
    async fn schema_exists(admin_url: &str, schema: &str) -> bool {
        let pool = admin_pool(admin_url).await.expect("the server answers");
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
            .bind(schema)
            .fetch_one(&pool)
            .await
            .expect("pg_namespace is readable");
        pool.close().await;
        count == 1
    }

    #[tokio::test]
    async fn a_test_that_panics_before_cleanup_leaves_no_schema_or_file_behind() {
        for t in test_stores().await {
            let label = t.label;
            let left = match &t.cleanup {
                Some(Cleanup::File(path)) => {
                    assert!(path.exists(), "{label}");
                    Cleanup::File(path.clone())
                }
                Some(Cleanup::Schema { admin_url, schema }) => {
                    assert!(schema_exists(admin_url, schema).await, "{label}");
                    Cleanup::Schema {
                        admin_url: admin_url.clone(),
                        schema: schema.clone(),
                    }
                }
                None => panic!("a fresh test store has something to clean up"),
            };
            // The test holding the store panics on the test's own runtime
            // thread, long before it would call `cleanup()`.
            let failed = tokio::spawn(async move {
                let _held = t;
                panic!("the {label} test failed before its cleanup");
            })
            .await;
            assert!(failed.is_err_and(|e| e.is_panic()), "{label}");
            match left {
                Cleanup::File(path) => assert!(!path.exists(), "{}", path.display()),
                Cleanup::Schema { admin_url, schema } => {
                    assert!(!schema_exists(&admin_url, &schema).await, "{schema}");
                }
            }
        }
    }
}
