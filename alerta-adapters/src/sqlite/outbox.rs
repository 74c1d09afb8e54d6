//! The mail outbox: rows written by incident and alert changes, leased by dispatchers.

use std::time::Duration;

use alerta_core::domain::{
    MailAbout, MailCause, MailId, MailKind, MailMessage, MailState, OutboxBacklog, OutboxMail,
    Page, PageRequest, Timestamp,
};
use alerta_core::ports::MailOutbox;
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::cursor::{self, List};
use super::error::{self, db, unreadable};
use super::{SqliteStore, column, millis, number, text, timestamp};

macro_rules! mail_columns {
    () => {
        "id, message_id, message, state, attempts, next_attempt_at, lease_until, last_error, \
         created_at, due_at, sent_at, kind, about"
    };
}

/// The columns [`mail_from_row`] reads.
pub(super) const MAIL_COLUMNS: &str = mail_columns!();

/// Writes one row inside the caller's transaction.
pub(super) async fn insert_mail(conn: &mut SqliteConnection, mail: &OutboxMail) -> Result<()> {
    let message = serde_json::to_string(&mail.message).map_err(error::unencodable)?;
    sqlx::query(
        "INSERT INTO outbox (id, message_id, message, state, attempts, next_attempt_at, \
         lease_until, last_error, created_at, due_at, sent_at, kind, about) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(mail.id.as_str())
    .bind(mail.message_id.as_str())
    .bind(message)
    .bind(mail.state.as_str())
    .bind(i64::from(mail.attempts))
    .bind(millis(mail.next_attempt_at))
    .bind(mail.lease_until.map(millis))
    .bind(mail.last_error.as_deref())
    .bind(millis(mail.created_at))
    .bind(millis(mail.due_at))
    .bind(mail.sent_at.map(millis))
    .bind(mail.kind().map(MailKind::as_str))
    .bind(mail.about().map(MailAbout::key))
    .execute(conn)
    .await
    .map_err(|e| error::writing("mail", e))?;
    Ok(())
}

pub(super) fn mail_from_row(row: &SqliteRow) -> Result<OutboxMail> {
    let stored = |e: Error| unreadable(format!("mail: {e}"));
    let message: MailMessage = serde_json::from_str(&text(row, "message")?)
        .map_err(|e| unreadable(format!("mail message: {e}")))?;
    let kind = column::<Option<String>>(row, "kind")?;
    let about = column::<Option<String>>(row, "about")?;
    let cause = match (kind, about) {
        (Some(kind), Some(about)) => Some(MailCause {
            kind: MailKind::parse(&kind).map_err(stored)?,
            about: MailAbout::parse_key(&about).map_err(stored)?,
        }),
        _ => None,
    };
    let created_at = timestamp(number(row, "created_at")?);
    Ok(OutboxMail {
        id: MailId::parse(&text(row, "id")?).map_err(stored)?,
        message_id: text(row, "message_id")?,
        cause,
        message,
        state: MailState::parse(&text(row, "state")?).map_err(stored)?,
        attempts: u32::try_from(number(row, "attempts")?)
            .map_err(|_| unreadable("mail attempts out of range"))?,
        next_attempt_at: timestamp(number(row, "next_attempt_at")?),
        lease_until: column::<Option<i64>>(row, "lease_until")?.map(timestamp),
        last_error: column(row, "last_error")?,
        created_at,
        // Every row has one since the column was added; none is read without it.
        due_at: column::<Option<i64>>(row, "due_at")?.map_or(created_at, timestamp),
        sent_at: column::<Option<i64>>(row, "sent_at")?.map(timestamp),
    })
}

/// `Ok` when a statement that targets one row by id found it.
fn found(rows: u64) -> Result<()> {
    if rows == 0 {
        Err(Error::NotFound("mail"))
    } else {
        Ok(())
    }
}

#[async_trait]
impl MailOutbox for SqliteStore {
    async fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxMail>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The dispatcher asks after every commit and mostly finds nothing: a look without
        // the write lock keeps those asks from making the writers wait.
        let due: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' \
             AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1))",
        )
        .bind(millis(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        if !due {
            return Ok(Vec::new());
        }
        // Selecting and leasing under the write lock is what keeps two dispatchers from
        // claiming the same row.
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            mail_columns!(),
            " FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1 \
             AND (lease_until IS NULL OR lease_until <= ?1) \
             ORDER BY next_attempt_at, id LIMIT ?2"
        ))
        .bind(millis(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let until = now.plus(lease);
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut mail = mail_from_row(row)?;
            sqlx::query("UPDATE outbox SET lease_until = ? WHERE id = ?")
                .bind(millis(until))
                .bind(mail.id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            mail.lease_until = Some(until);
            claimed.push(mail);
        }
        tx.commit().await.map_err(db)?;
        Ok(claimed)
    }

    async fn mark_sent(&self, id: &MailId, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, lease_until = NULL, \
             waiting_for_server = 0, sent_at = ? WHERE id = ?",
        )
        .bind(millis(now))
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        found(done.rows_affected())
    }

    async fn mark_all_sent(&self, ids: &[MailId], now: Timestamp) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // One transaction, so many deliveries cost one durable write rather than one each.
        let mut tx = self.begin_write().await?;
        let mut marked = 0;
        for id in ids {
            marked += sqlx::query(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, lease_until = NULL, \
                 waiting_for_server = 0, sent_at = ? WHERE id = ?",
            )
            .bind(millis(now))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        if marked < ids.len() as u64 {
            return Err(Error::NotFound("mail"));
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: &MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        // With no retry time the row keeps its `next_attempt_at` and is dead.
        let done = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, lease_until = NULL, last_error = ?1, \
             waiting_for_server = 0, \
             next_attempt_at = COALESCE(?2, next_attempt_at), \
             state = CASE WHEN ?2 IS NULL THEN 'dead' ELSE state END \
             WHERE id = ?3",
        )
        .bind(error)
        .bind(retry_at.map(millis))
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        found(done.rows_affected())
    }

    async fn mark_unreachable(&self, id: &MailId, error: &str, retry_at: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET lease_until = NULL, last_error = ?, next_attempt_at = ?, \
             waiting_for_server = 1 WHERE id = ?",
        )
        .bind(error)
        .bind(millis(retry_at))
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        found(done.rows_affected())
    }

    async fn release_unreachable(&self, now: Timestamp) -> Result<usize> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = ?1, waiting_for_server = 0 \
             WHERE waiting_for_server = 1 AND state = 'pending' AND next_attempt_at > ?1",
        )
        .bind(millis(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    async fn backlog(&self) -> Result<OutboxBacklog> {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE state = 'pending') AS pending, \
             COUNT(*) FILTER (WHERE state = 'dead') AS dead, \
             MIN(CASE WHEN state = 'pending' THEN due_at END) AS oldest \
             FROM outbox WHERE state IN ('pending', 'dead')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let count = |name| -> Result<u64> { Ok(u64::try_from(number(&row, name)?).unwrap_or(0)) };
        let oldest: Option<i64> = row.try_get("oldest").map_err(db)?;
        Ok(OutboxBacklog {
            pending: count("pending")?,
            dead: count("dead")?,
            oldest_pending: oldest.map(timestamp),
        })
    }

    async fn requeue(&self, id: &MailId, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?, lease_until = NULL, \
             waiting_for_server = 0 WHERE id = ?",
        )
        .bind(millis(now))
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        found(done.rows_affected())
    }

    async fn mark_cancelled(&self, id: &MailId, reason: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'cancelled', lease_until = NULL, last_error = ?, \
             waiting_for_server = 0 WHERE id = ?",
        )
        .bind(reason)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        found(done.rows_affected())
    }

    async fn mails_about(&self, about: &MailAbout) -> Result<Vec<OutboxMail>> {
        let sql = concat!(
            "SELECT ",
            mail_columns!(),
            " FROM outbox WHERE about = ? ORDER BY id"
        );
        self.all(sql, &about.key(), mail_from_row).await
    }

    async fn mail(&self, id: &MailId) -> Result<Option<OutboxMail>> {
        let sql = concat!("SELECT ", mail_columns!(), " FROM outbox WHERE id = ?");
        self.one(sql, id.as_str(), mail_from_row).await
    }

    async fn mails(
        &self,
        state: Option<MailState>,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            mail_columns!(),
            " FROM outbox WHERE 1 = 1"
        ));
        cursor::push_filter(&mut query, "state =", state.map(|s| s.as_str()));
        cursor::fetch_page(&self.pool, query, List::Mails, page, mail_from_row, |m| {
            m.id.as_str()
        })
        .await
    }

    async fn remove_settled(&self, before: Timestamp, limit: usize) -> Result<usize> {
        // One statement: a row an operator requeues meanwhile is pending again and stays.
        let done = sqlx::query(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE state IN ('sent', 'dead', 'cancelled') AND created_at < ? \
             ORDER BY created_at, id LIMIT ?)",
        )
        .bind(millis(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }
}
