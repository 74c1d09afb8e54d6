//! Every storage port on SQLite.
//!
//! [`SqliteStore`] serves the incident, alert, user, department, outbox, idempotency, report
//! ledger, stream log and failed-login ports from one database file, so that an incident
//! change, its history and the mail it causes commit in one transaction, and every process
//! that opens the file shares them:
//!
//! ```no_run
//! # async fn run() -> alerta_core::Result<()> {
//! use std::sync::Arc;
//! use alerta_adapters::sqlite::SqliteStore;
//! use alerta_core::ports::Storage;
//!
//! let store = SqliteStore::open("data/alerta.db").await?;
//! let storage = Storage::from_backend(Arc::new(store));
//! # Ok(()) }
//! ```
//!
//! Every connection runs in WAL mode with `synchronous=FULL` (a commit is on disk when it
//! returns), foreign keys on and a busy timeout. Every write transaction starts with
//! `BEGIN IMMEDIATE`, so it queues for the write lock up front instead of failing with
//! `SQLITE_BUSY` when a concurrent writer commits between its read and its write; only a lock
//! held longer than the busy timeout makes the store report itself unavailable.
//!
//! Retention of alerts ([`AlertStore::remove_resolved`](alerta_core::ports::AlertStore::remove_resolved))
//! is one write transaction per call: it reads the oldest resolved groups by their last
//! change through a partial index that holds only resolved groups, skips those an incident
//! names, and deletes their occurrences, history and rows (the row holds the fingerprint).
//!
//! The schema lives in `migrations/` and is embedded in the library; [`SqliteStore::open`]
//! applies whatever part of it the file lacks. An applied migration is checksummed, so a
//! schema change is a new file (listed in `MIGRATIONS`), never an edit of an old one.

mod alerts;
mod cursor;
mod error;
mod idempotency;
mod incidents;
mod keyed;
mod logins;
mod outbox;
mod records;
mod reports;
mod settings;
mod silences;
mod stream;
#[cfg(test)]
mod tests;
mod users;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alerta_core::Result;
use alerta_core::domain::Timestamp;
use alerta_core::ports::{StorageBackend, StorageLimits};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row, SqlSafeStr, Sqlite, Transaction};

/// The schema, oldest step first. Embedded with `include_str!` rather than `sqlx::migrate!`,
/// which needs sqlx's proc-macros and with them a second build of SQLite.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "schema",
        include_str!("../../migrations/0001_schema.sql"),
    ),
    (
        2,
        "report assignments",
        include_str!("../../migrations/0002_report_assignments.sql"),
    ),
    (
        3,
        "stream log",
        include_str!("../../migrations/0003_stream_log.sql"),
    ),
    (
        4,
        "login failures",
        include_str!("../../migrations/0004_login_failures.sql"),
    ),
    (
        5,
        "login lockouts and idempotency reservations",
        include_str!("../../migrations/0005_lockouts_and_reservations.sql"),
    ),
    (
        6,
        "outbox rows waiting for the server",
        include_str!("../../migrations/0006_outbox_waiting_for_server.sql"),
    ),
    (
        7,
        "alert lifecycle",
        include_str!("../../migrations/0007_alert_lifecycle.sql"),
    ),
    (
        8,
        "alert groups",
        include_str!("../../migrations/0008_alert_groups.sql"),
    ),
    (
        9,
        "silences",
        include_str!("../../migrations/0009_silences.sql"),
    ),
    (
        10,
        "disabled accounts, admins and sessions by user",
        include_str!("../../migrations/0010_user_access.sql"),
    ),
    (
        11,
        "outbox causes",
        include_str!("../../migrations/0011_outbox_causes.sql"),
    ),
    (
        12,
        "incidents opened from alerts",
        include_str!("../../migrations/0012_incident_from_alert.sql"),
    ),
    (
        14,
        "settings",
        include_str!("../../migrations/0014_settings.sql"),
    ),
    (
        17,
        "when each mail row was first due",
        include_str!("../../migrations/0017_outbox_due.sql"),
    ),
    (
        18,
        "resolved alerts by when they changed",
        include_str!("../../migrations/0018_alert_retention.sql"),
    ),
];

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// How to open a [`SqliteStore`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    path: PathBuf,
    max_connections: u32,
    busy_timeout: Duration,
}

impl SqliteOptions {
    /// The database at `path`, created (with its parent directory) when missing; 8
    /// connections, a 5 s busy timeout.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
        }
    }

    /// The most connections the pool opens. Readers run in parallel in WAL mode; writers take
    /// turns whatever the number.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a statement waits for a lock held by another connection before the store
    /// reports itself unavailable.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Every storage port on one SQLite database. Cloning is cheap and shares the pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The stream log's epoch, fixed when the schema was made.
    epoch: u64,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` with the default [`SqliteOptions`] and
    /// brings its schema up to date.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](alerta_core::Error::Unavailable) when the file cannot be opened
    /// or migrated.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(SqliteOptions::new(path)).await
    }

    /// Opens (or creates) the database described by `options` and brings its schema up to
    /// date.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](alerta_core::Error::Unavailable) when the file cannot be opened
    /// or migrated.
    pub async fn open_with(options: SqliteOptions) -> Result<Self> {
        if let Some(dir) = options.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| alerta_core::Error::unavailable("sqlite", e))?;
        }
        let connect = SqliteConnectOptions::new()
            .filename(&options.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        // The switch to WAL takes an exclusive lock; made on one connection first, it is
        // done before the pool opens the others, which then find the file in WAL already.
        connect
            .connect()
            .await
            .map_err(error::db)?
            .close()
            .await
            .map_err(error::db)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            // Every connection is opened at start and kept: each holds a page cache and a
            // thread, so a pool that grew under its first bursts would take that memory
            // then, and open files in the middle of a burst.
            .min_connections(options.max_connections)
            // A connection to a local file does not go stale the way a network one does, so
            // the ping before every checkout would only cost a round trip to its thread.
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .map_err(error::db)?;
        migrator().run(&pool).await.map_err(error::migrate)?;
        let epoch = stream::epoch(&pool).await?;
        Ok(Self { pool, epoch })
    }

    /// Closes every connection, waiting for those in use to be returned. Clones of this
    /// store stop working too.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that holds the write lock from its first statement.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(error::db)
    }
}

/// One database transaction takes any batch or change, and a reader sees every commit made
/// before its statement began.
impl StorageBackend for SqliteStore {
    fn limits(&self) -> StorageLimits {
        StorageLimits::UNBOUNDED
    }
}

fn millis(at: Timestamp) -> i64 {
    at.unix_millis()
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

fn to_i64(n: u64) -> i64 {
    // Counts and sizes this store writes stay far below 2^63.
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64, what: &str) -> Result<u64> {
    u64::try_from(n).map_err(|_| error::unreadable(format!("negative {what}")))
}

/// One column of `row`.
fn column<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(error::db)
}

/// A text column.
fn text(row: &SqliteRow, name: &str) -> Result<String> {
    column(row, name)
}

/// An integer column.
fn number(row: &SqliteRow, name: &str) -> Result<i64> {
    column(row, name)
}
