//! The schema's migrations, embedded in the binary: `store/migrations/`,
//! applied in order by sqlx's migrator (its `_sqlx_migrations` table, a
//! checksum per applied file, a lock while migrating).
//!
//! They are listed here rather than read by `sqlx::migrate!`, whose
//! proc-macro pulls a second, build-time copy of sqlx with both database
//! drivers (and SQLite's C sources) into every build. A test checks that
//! this list and the folder agree, so a new file cannot be forgotten.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// Every migration: version, file name, SQL.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_connections.sql",
        include_str!("../migrations/0001_connections.sql"),
    ),
    (
        2,
        "0002_submissions.sql",
        include_str!("../migrations/0002_submissions.sql"),
    ),
    (
        3,
        "0003_workflows.sql",
        include_str!("../migrations/0003_workflows.sql"),
    ),
    (
        4,
        "0004_connection_seal_binding.sql",
        include_str!("../migrations/0004_connection_seal_binding.sql"),
    ),
    (
        5,
        "0005_registry_trust.sql",
        include_str!("../migrations/0005_registry_trust.sql"),
    ),
    (
        6,
        "0006_accounts.sql",
        include_str!("../migrations/0006_accounts.sql"),
    ),
    (
        7,
        "0007_reviewer_keys.sql",
        include_str!("../migrations/0007_reviewer_keys.sql"),
    ),
    (
        8,
        "0008_workflow_deletion.sql",
        include_str!("../migrations/0008_workflow_deletion.sql"),
    ),
    (
        9,
        "0009_publishers.sql",
        include_str!("../migrations/0009_publishers.sql"),
    ),
    (
        10,
        "0010_integration_reviews.sql",
        include_str!("../migrations/0010_integration_reviews.sql"),
    ),
    (
        11,
        "0011_install_consent.sql",
        include_str!("../migrations/0011_install_consent.sql"),
    ),
    (
        12,
        "0012_listings.sql",
        include_str!("../migrations/0012_listings.sql"),
    ),
    (
        13,
        "0013_review_approvals.sql",
        include_str!("../migrations/0013_review_approvals.sql"),
    ),
];

/// The migrations compiled into this binary, as sqlx's migrator reads them.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(v, f, sql)| migration(v, f, sql))
                .collect())
        })
    }
}

/// One migration as `sqlx::migrate!` would have read it from `file`: the
/// description is the name after the version, `_` read as spaces, so
/// databases migrated by either agree.
fn migration(version: i64, file: &str, sql: &'static str) -> Migration {
    let description = file
        .split_once('_')
        .map_or(file, |(_, rest)| rest)
        .trim_end_matches(".sql")
        .replace('_', " ");
    Migration::new(
        version,
        Cow::Owned(description),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        false,
    )
}

/// The migrator over the embedded migrations.
pub(crate) async fn migrator() -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded).await
}

/// The embedded migrations numbered up to `last`, as sqlx's migrator
/// reads them: what an earlier release applied.
#[cfg(feature = "testing")]
#[derive(Debug)]
struct EmbeddedThrough(i64);

#[cfg(feature = "testing")]
impl MigrationSource<'static> for EmbeddedThrough {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .filter(|&&(v, _, _)| v <= self.0)
                .map(|&(v, f, sql)| migration(v, f, sql))
                .collect())
        })
    }
}

/// The migrator over the embedded migrations numbered up to `last`, for
/// tests that build a database as an earlier release left it.
#[cfg(feature = "testing")]
pub(crate) async fn migrator_through(last: i64) -> Result<Migrator, MigrateError> {
    Migrator::new(EmbeddedThrough(last)).await
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
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|&(_, f, _)| f).collect();
        assert_eq!(files, embedded, "store/migrations/ and MIGRATIONS differ");
        for (i, &(version, file, _)) in MIGRATIONS.iter().enumerate() {
            let from_name: i64 = file[..4].parse().expect("a numbered file");
            assert_eq!(version, from_name, "{file}");
            assert_eq!(version, i64::try_from(i).expect("few") + 1, "{file}");
        }
    }

    #[test]
    fn descriptions_are_read_as_sqlx_migrate_reads_them() {
        let m = migration(4, "0004_connection_seal_binding.sql", "select 1;");
        assert_eq!(m.description, "connection seal binding");
        assert_eq!(m.version, 4);
    }
}
