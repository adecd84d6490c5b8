//! The store's typed error.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names a database this store cannot use.
    #[error(
        "unsupported database URL `{0}`: use sqlite://path/to/workway.db or postgres://user@host:port/database"
    )]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot open the database at {url}: {source}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored value is not one this version knows (the row was changed
    /// behind the store's back, or written by a newer version): the row is
    /// damaged, and is reported as such rather than read as some default.
    #[error("stored {what} `{value}` is unknown: the row is damaged")]
    Damaged {
        /// What the value is (`run status`, `trigger kind`, ...).
        what: &'static str,
        /// The value as stored.
        value: String,
    },
    /// Committed writes could not be made durable (SQLite's write-ahead
    /// log could not be synced to disk); the caller must not act as if
    /// they were.
    #[error("the database's committed writes could not be made durable: {0}")]
    Sync(#[source] std::io::Error),
    /// The operation does not fit the rows as stored (finishing a step
    /// attempt that is not running, say) or was given arguments it cannot
    /// apply: a bug in the caller, not a database failure.
    #[error("{0}")]
    Conflict(String),
}
