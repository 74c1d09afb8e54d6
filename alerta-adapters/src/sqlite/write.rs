//! Writes, taken in turn by the writers of this process.
//!
//! SQLite lets one connection write at a time. A connection that finds the file locked
//! sleeps in its busy handler (1, 2, 5, 10 ms and longer) before it looks again, so two
//! writers of one process that meet — a group commit and the mail dispatcher's claim, say —
//! cost the loser milliseconds even when the winner is done in a hundred microseconds. The
//! writers of this process queue on an async lock instead and start the moment the one
//! before them is done: transactions ([`WriteTx`]) and single statements ([`WriteConn`])
//! alike. The busy handler is left for writers in other processes, and for the moment after
//! a dropped transaction gives its turn back while its rollback is still on its way.
//!
//! A writer waits for its turn at most the turn timeout (5 s unless set), then the store
//! reports itself unavailable, as it does for a lock another process holds past the busy
//! timeout.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Whose turn it is to write, shared by the clones of one store, and how long a writer waits
/// for its turn.
#[derive(Clone, Debug)]
pub(super) struct Turns {
    lock: Arc<Mutex<()>>,
    wait: Duration,
}

impl Turns {
    pub(super) fn new(wait: Duration) -> Self {
        Self {
            lock: Arc::default(),
            wait,
        }
    }

    async fn take(&self) -> Result<OwnedMutexGuard<()>, sqlx::Error> {
        tokio::time::timeout(self.wait, self.lock.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }
}

/// A transaction that holds the write lock from its first statement, and this process's
/// turn to write until it commits, rolls back or is dropped.
pub(crate) struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _turn: OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Starts one once the writers of this process before it are done.
    pub(super) async fn begin(turns: &Turns, pool: &SqlitePool) -> Result<Self, sqlx::Error> {
        let turn = turns.take().await?;
        let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Self { tx, _turn: turn })
    }

    /// Commits, keeping the turn until the commit is done.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        let Self { tx, _turn } = self;
        tx.commit().await
    }

    /// Rolls back, keeping the turn until the rollback is done.
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        let Self { tx, _turn } = self;
        tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = Transaction<'static, Sqlite>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// A connection for one write statement, held with this process's turn to write: use it as
/// `.execute(&mut *store.write_conn().await?)`, so both last until the statement is done.
pub(crate) struct WriteConn {
    conn: PoolConnection<Sqlite>,
    _turn: OwnedMutexGuard<()>,
}

impl WriteConn {
    /// Takes one once the writers of this process before it are done.
    pub(super) async fn acquire(turns: &Turns, pool: &SqlitePool) -> Result<Self, sqlx::Error> {
        let turn = turns.take().await?;
        let conn = pool.acquire().await?;
        Ok(Self { conn, _turn: turn })
    }
}

impl Deref for WriteConn {
    type Target = SqliteConnection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}
