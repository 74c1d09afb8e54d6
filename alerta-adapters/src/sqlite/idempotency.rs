//! Idempotency keys in the `idempotency` table: a row is a reservation until its write
//! completes, then the first result.

use alerta_core::Result;
use alerta_core::domain::{IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Reservation};
use alerta_core::ports::IdempotencyStore;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::error::{self, db, unreadable};
use super::{SqliteStore, millis, number, text, timestamp};

fn record_from_row(
    owner: &str,
    key: &IdempotencyKey,
    row: &SqliteRow,
) -> Result<IdempotencyRecord> {
    let response: String = text(row, "response")?;
    let response = serde_json::from_str(&response)
        .map_err(|e| unreadable(format!("idempotency response: {e}")))?;
    Ok(IdempotencyRecord {
        owner: owner.to_owned(),
        key: key.clone(),
        operation: text(row, "operation")?,
        response,
        created_at: timestamp(number(row, "created_at")?),
    })
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn reserve(&self, claim: &IdempotencyClaim) -> Result<Reservation> {
        let now = millis(claim.now);
        let aged_out_by =
            now.saturating_sub(i64::try_from(claim.max_age.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.begin_write().await?;
        // Keeps the table to the records still replayed, through the index on `created_at`;
        // a reservation that old has long lost its lease.
        sqlx::query("DELETE FROM idempotency WHERE created_at <= ?")
            .bind(aged_out_by)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // A new key, or a reservation whose lease ended, becomes this claim's; anything else
        // is left as it is.
        let taken = sqlx::query(
            "INSERT INTO idempotency (owner, key, operation, response, holder, lease_until, created_at) \
             VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6) \
             ON CONFLICT (owner, key) DO UPDATE SET \
             operation = excluded.operation, holder = excluded.holder, \
             lease_until = excluded.lease_until, created_at = excluded.created_at \
             WHERE idempotency.response IS NULL AND idempotency.lease_until <= ?6",
        )
        .bind(claim.owner.as_str())
        .bind(claim.key.as_str())
        .bind(claim.operation.as_str())
        .bind(claim.holder.as_str())
        .bind(millis(claim.lease_until()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected()
            == 1;
        let outcome = if taken {
            Reservation::Reserved
        } else {
            let row = sqlx::query(
                "SELECT operation, response, lease_until, created_at FROM idempotency \
                 WHERE owner = ? AND key = ?",
            )
            .bind(claim.owner.as_str())
            .bind(claim.key.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            let response: Option<String> = row.try_get("response").map_err(db)?;
            if response.is_some() {
                Reservation::Completed(record_from_row(&claim.owner, &claim.key, &row)?)
            } else {
                Reservation::Pending {
                    operation: text(&row, "operation")?,
                    lease_until: timestamp(number(&row, "lease_until")?),
                }
            }
        };
        tx.commit().await.map_err(db)?;
        Ok(outcome)
    }

    async fn complete(&self, record: &IdempotencyRecord, holder: &str) -> Result<bool> {
        let response = serde_json::to_string(&record.response).map_err(error::unencodable)?;
        let done = sqlx::query(
            "UPDATE idempotency SET response = ?, operation = ?, created_at = ?, \
             holder = NULL, lease_until = NULL \
             WHERE owner = ? AND key = ? AND holder = ? AND response IS NULL",
        )
        .bind(response)
        .bind(record.operation.as_str())
        .bind(millis(record.created_at))
        .bind(record.owner.as_str())
        .bind(record.key.as_str())
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, owner: &str, key: &IdempotencyKey, holder: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM idempotency \
             WHERE owner = ? AND key = ? AND holder = ? AND response IS NULL",
        )
        .bind(owner)
        .bind(key.as_str())
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn record(&self, owner: &str, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT operation, response, created_at FROM idempotency \
             WHERE owner = ? AND key = ? AND response IS NOT NULL",
        )
        .bind(owner)
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref()
            .map(|row| record_from_row(owner, key, row))
            .transpose()
    }
}
