//! The stream log: a table filled inside the writing transactions.

use alerta_core::Result;
use alerta_core::domain::{Appended, Position, StreamEntry, StreamHead, StreamMessage, Timestamp};
use alerta_core::ports::StreamLog;
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::error::{self, db};
use super::{SqliteStore, millis, number, text, to_i64, to_u64};

/// Rows per insert statement: three parameters each, far below SQLite's limit.
const ROWS_PER_STATEMENT: usize = 300;

/// Appends `messages` in the writing transaction `tx`; SQLite has one writer at a time, so
/// the positions follow commit order, and a rollback gives them back.
pub(super) async fn append(
    tx: &mut Transaction<'static, Sqlite>,
    epoch: u64,
    messages: &[StreamMessage],
) -> Result<Appended> {
    if messages.is_empty() {
        return Ok(Appended::NOTHING);
    }
    let mut last: i64 = 0;
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO stream_log (at, record) ");
        query.push_values(chunk, |mut row, message| {
            row.push_bind(millis(message.at))
                .push_bind(message.to_record());
        });
        last = query
            .build()
            .execute(&mut **tx)
            .await
            .map_err(|e| error::writing("stream message", e))?
            .last_insert_rowid();
    }
    let count = messages.len() as u64;
    Ok(Appended {
        epoch,
        first: to_u64(last, "position")? + 1 - count,
        count,
    })
}

/// The epoch the schema gave the log.
pub(super) async fn epoch(pool: &sqlx::SqlitePool) -> Result<u64> {
    let epoch: i64 = sqlx::query_scalar("SELECT epoch FROM stream_meta WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    to_u64(epoch, "epoch")
}

#[async_trait]
impl StreamLog for SqliteStore {
    async fn head(&self) -> Result<StreamHead> {
        // One statement, so the head and the oldest are of the same moment.
        let row = sqlx::query(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'stream_log'), 0) AS head, \
             (SELECT MIN(position) FROM stream_log) AS oldest",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let head = to_u64(number(&row, "head")?, "head")?;
        let oldest: Option<i64> = super::column(&row, "oldest")?;
        Ok(StreamHead {
            epoch: self.epoch,
            head,
            oldest: match oldest {
                Some(oldest) => to_u64(oldest, "position")?,
                None => head + 1,
            },
        })
    }

    async fn read(&self, after: Position, limit: usize) -> Result<Vec<StreamEntry>> {
        let rows = sqlx::query(
            "SELECT position, record FROM stream_log WHERE position > ? ORDER BY position LIMIT ?",
        )
        .bind(to_i64(after))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|row| {
                let message = StreamMessage::from_record(&text(row, "record")?)
                    .map_err(|e| error::unreadable(format!("stream record: {e}")))?;
                Ok(StreamEntry {
                    position: to_u64(number(row, "position")?, "position")?,
                    message,
                })
            })
            .collect()
    }

    async fn trim(&self, before: Timestamp) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        // Positions follow commit order, and times nearly so: cut at the first entry that is
        // recent enough, so the log stays one unbroken run.
        let removed = sqlx::query(
            "DELETE FROM stream_log WHERE position < \
             COALESCE((SELECT MIN(position) FROM stream_log WHERE at >= ?), \
                      (SELECT MAX(position) FROM stream_log) + 1)",
        )
        .bind(millis(before))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(removed)
    }
}
