//! The report ledger: which assignments the report job has processed.

use std::time::Duration;

use alerta_core::domain::{EventId, OutboxMail, Timestamp};
use alerta_core::ports::ReportLedger;
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::error::db;
use super::outbox::insert_mail;
use super::{SqliteStore, millis};

#[async_trait]
impl ReportLedger for SqliteStore {
    async fn claim_assignment(
        &self,
        event: &EventId,
        holder: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<bool> {
        // One statement, so the check and the take cannot be split by another run's claim.
        let taken = sqlx::query(
            "INSERT INTO report_assignments (event_id, holder, lease_until) VALUES (?1, ?2, ?3) \
             ON CONFLICT (event_id) DO UPDATE SET holder = excluded.holder, \
             lease_until = excluded.lease_until \
             WHERE done_at IS NULL AND (holder = excluded.holder OR lease_until <= ?4)",
        )
        .bind(event.as_str())
        .bind(holder)
        .bind(millis(now.plus(lease)))
        .bind(millis(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(taken.rows_affected() == 1)
    }

    async fn complete_assignment(
        &self,
        event: &EventId,
        holder: &str,
        mails: Vec<OutboxMail>,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE report_assignments SET done_at = ? \
             WHERE event_id = ? AND holder = ? AND done_at IS NULL",
        )
        .bind(millis(now))
        .bind(event.as_str())
        .bind(holder)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() != 1 {
            tx.rollback().await.map_err(db)?;
            return Err(Error::lease_lost());
        }
        for mail in &mails {
            insert_mail(&mut tx, mail).await?;
        }
        tx.commit().await.map_err(db)
    }

    async fn processed_assignments(&self, events: &[EventId]) -> Result<Vec<EventId>> {
        let mut done = Vec::new();
        // SQLite limits the number of bound parameters; ask in slices well below it.
        for chunk in events.chunks(500) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT event_id FROM report_assignments WHERE done_at IS NOT NULL AND event_id IN (",
            );
            let mut list = query.separated(", ");
            for event in chunk {
                list.push_bind(event.as_str());
            }
            query.push(")");
            let rows = query.build().fetch_all(&self.pool).await.map_err(db)?;
            for row in rows {
                let id: String = row.try_get("event_id").map_err(db)?;
                done.push(EventId::parse(&id).map_err(|_| super::error::unreadable("event id"))?);
            }
        }
        Ok(done)
    }
}
