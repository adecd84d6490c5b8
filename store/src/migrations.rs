//! The schema's migrations, embedded in the binary: `store/migrations/`,
//! applied in order by sqlx's migrator (its `_sqlx_migrations` table, a
//! checksum per applied file, a lock while migrating).
//!
//! They are listed here rather than read by `sqlx::migrate!`, whose
//! proc-macro pulls a second, build-time copy of sqlx with both database
//! drivers (and SQLite's C sources) into every build. A test checks that
//! this list and the folder agree, so a new file cannot be forgotten.
//!
//! Most migrations are portable SQL, one file for both databases. Where
//! the databases differ in kind (full-text search is an FTS5 virtual table
//! on SQLite and a `tsvector` column on PostgreSQL), one version has a
//! file per database, `NNNN_name.sqlite.sql` and `NNNN_name.postgres.sql`,
//! and each database applies its own.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

use crate::Backend;

/// The SQL of one migration.
#[derive(Debug, Clone, Copy)]
enum Sql {
    /// One file, `NNNN_name.sql`, run on both databases.
    Portable(&'static str),
    /// A file per database: `NNNN_name.sqlite.sql`, `NNNN_name.postgres.sql`.
    PerBackend {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

impl Sql {
    /// The statements `backend` runs.
    fn for_backend(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Sql::Portable(sql), _) => sql,
            (Sql::PerBackend { sqlite, .. }, Backend::Sqlite) => sqlite,
            (Sql::PerBackend { postgres, .. }, Backend::Postgres) => postgres,
        }
    }
}

/// Every migration: version, name (the file name without `.sql`), SQL.
const MIGRATIONS: &[(i64, &str, Sql)] = &[
    (
        1,
        "0001_connections",
        Sql::Portable(include_str!("../migrations/0001_connections.sql")),
    ),
    (
        2,
        "0002_submissions",
        Sql::Portable(include_str!("../migrations/0002_submissions.sql")),
    ),
    (
        3,
        "0003_workflows",
        Sql::Portable(include_str!("../migrations/0003_workflows.sql")),
    ),
    (
        4,
        "0004_connection_seal_binding",
        Sql::Portable(include_str!(
            "../migrations/0004_connection_seal_binding.sql"
        )),
    ),
    (
        5,
        "0005_registry_trust",
        Sql::Portable(include_str!("../migrations/0005_registry_trust.sql")),
    ),
    (
        6,
        "0006_accounts",
        Sql::Portable(include_str!("../migrations/0006_accounts.sql")),
    ),
    (
        7,
        "0007_reviewer_keys",
        Sql::Portable(include_str!("../migrations/0007_reviewer_keys.sql")),
    ),
    (
        8,
        "0008_workflow_deletion",
        Sql::Portable(include_str!("../migrations/0008_workflow_deletion.sql")),
    ),
    (
        9,
        "0009_publishers",
        Sql::Portable(include_str!("../migrations/0009_publishers.sql")),
    ),
    (
        10,
        "0010_integration_reviews",
        Sql::Portable(include_str!("../migrations/0010_integration_reviews.sql")),
    ),
    (
        11,
        "0011_install_consent",
        Sql::Portable(include_str!("../migrations/0011_install_consent.sql")),
    ),
    (
        12,
        "0012_listings",
        Sql::Portable(include_str!("../migrations/0012_listings.sql")),
    ),
    (
        13,
        "0013_review_approvals",
        Sql::Portable(include_str!("../migrations/0013_review_approvals.sql")),
    ),
    (
        14,
        "0014_listing_search",
        Sql::PerBackend {
            sqlite: include_str!("../migrations/0014_listing_search.sqlite.sql"),
            postgres: include_str!("../migrations/0014_listing_search.postgres.sql"),
        },
    ),
    (
        15,
        "0015_marketplace_stats",
        Sql::Portable(include_str!("../migrations/0015_marketplace_stats.sql")),
    ),
    (
        16,
        "0016_listing_revisions",
        Sql::Portable(include_str!("../migrations/0016_listing_revisions.sql")),
    ),
    (
        17,
        "0017_billing",
        Sql::Portable(include_str!("../migrations/0017_billing.sql")),
    ),
    (
        18,
        "0018_purchases",
        Sql::Portable(include_str!("../migrations/0018_purchases.sql")),
    ),
    (
        19,
        "0019_settlement",
        Sql::Portable(include_str!("../migrations/0019_settlement.sql")),
    ),
    (
        20,
        "0020_submissions_by_time",
        Sql::Portable(include_str!("../migrations/0020_submissions_by_time.sql")),
    ),
    (
        21,
        "0021_runs_queue",
        Sql::Portable(include_str!("../migrations/0021_runs_queue.sql")),
    ),
];

/// The migrations compiled into this binary numbered up to `last`, for one
/// database, as sqlx's migrator reads them.
#[derive(Debug)]
struct Embedded {
    backend: Backend,
    last: i64,
}

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .filter(|&&(v, _, _)| v <= self.last)
                .map(|&(v, name, sql)| migration(v, name, sql.for_backend(self.backend)))
                .collect())
        })
    }
}

/// One migration as `sqlx::migrate!` would have read it from the file
/// `name.sql`: the description is the name after the version, `_` read as
/// spaces, so databases migrated by either agree.
fn migration(version: i64, name: &str, sql: &'static str) -> Migration {
    let description = name
        .split_once('_')
        .map_or(name, |(_, rest)| rest)
        .replace('_', " ");
    Migration::new(
        version,
        Cow::Owned(description),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        false,
    )
}

/// The migrator over the embedded migrations, for `backend`.
pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded {
        backend,
        last: i64::MAX,
    })
    .await
}

/// The migrator over the embedded migrations numbered up to `last`, for
/// tests that build a database as an earlier release left it.
#[cfg(feature = "testing")]
pub(crate) async fn migrator_through(
    backend: Backend,
    last: i64,
) -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded { backend, last }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_migrations_folder_is_embedded_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the migrations folder")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let mut embedded: Vec<String> = Vec::new();
        for &(_, name, sql) in MIGRATIONS {
            match sql {
                Sql::Portable(_) => embedded.push(format!("{name}.sql")),
                Sql::PerBackend { sqlite, postgres } => {
                    assert_ne!(sqlite, postgres, "{name}: the same SQL twice");
                    embedded.push(format!("{name}.postgres.sql"));
                    embedded.push(format!("{name}.sqlite.sql"));
                }
            }
        }
        assert_eq!(files, embedded, "store/migrations/ and MIGRATIONS differ");
        for (i, &(version, file, _)) in MIGRATIONS.iter().enumerate() {
            let from_name: i64 = file[..4].parse().expect("a numbered file");
            assert_eq!(version, from_name, "{file}");
            assert_eq!(version, i64::try_from(i).expect("few") + 1, "{file}");
        }
    }

    #[test]
    fn descriptions_are_read_as_sqlx_migrate_reads_them() {
        let m = migration(4, "0004_connection_seal_binding", "select 1;");
        assert_eq!(m.description, "connection seal binding");
        assert_eq!(m.version, 4);
    }
}
