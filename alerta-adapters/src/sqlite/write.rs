//! Write transactions, taken in turn by the writers of this process.
//!
//! SQLite lets one connection write at a time. A connection that finds the file locked
//! sleeps in its busy handler (1, 2, 5, 10 ms and longer) before it looks again, so two
//! writers of one process that meet — a group commit and the mail dispatcher's claim, say —
//! cost the loser milliseconds even when the winner is done in a hundred microseconds. The
//! writers of this process queue on an async lock instead and start the moment the one
//! before them commits; the busy handler is left for writers in other processes.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::{Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Whose turn it is to write, shared by the clones of one store.
pub(super) type Turns = Arc<Mutex<()>>;

/// A transaction that holds the write lock from its first statement, and this process's
/// turn to write until it commits or is dropped.
pub(crate) struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _turn: OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Starts one once the writers of this process before it are done.
    pub(super) async fn begin(turns: &Turns, pool: &sqlx::SqlitePool) -> Result<Self, sqlx::Error> {
        let turn = turns.clone().lock_owned().await;
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
