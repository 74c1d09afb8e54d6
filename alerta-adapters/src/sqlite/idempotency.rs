//! First results of writes made with an idempotency key.

use alerta_core::Result;
use alerta_core::domain::{IdempotencyKey, IdempotencyRecord};
use alerta_core::ports::IdempotencyStore;
use async_trait::async_trait;

use super::error::{self, db, unreadable};
use super::{SqliteStore, millis, number, text, timestamp};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn record(&self, owner: &str, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT operation, response, created_at FROM idempotency WHERE owner = ? AND key = ?",
        )
        .bind(owner)
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let response = serde_json::from_str(&text(&row, "response")?)
            .map_err(|e| unreadable(format!("idempotency response: {e}")))?;
        Ok(Some(IdempotencyRecord {
            owner: owner.to_owned(),
            key: key.clone(),
            operation: text(&row, "operation")?,
            response,
            created_at: timestamp(number(&row, "created_at")?),
        }))
    }

    async fn put_record(&self, record: &IdempotencyRecord) -> Result<bool> {
        let response = serde_json::to_string(&record.response).map_err(error::unencodable)?;
        // The first record for a pair wins; a later one is ignored, not an error.
        let done = sqlx::query(
            "INSERT INTO idempotency (owner, key, operation, response, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, key) DO NOTHING",
        )
        .bind(record.owner.as_str())
        .bind(record.key.as_str())
        .bind(record.operation.as_str())
        .bind(response)
        .bind(millis(record.created_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}
