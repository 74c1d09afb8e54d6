//! Named values: a row per name, made once by `INSERT OR IGNORE`.

use alerta_core::Result;
use alerta_core::ports::SettingStore;
use async_trait::async_trait;

use super::SqliteStore;
use super::error::db;

#[async_trait]
impl SettingStore for SqliteStore {
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        // One statement: the row is made, or the one already there is kept and returned.
        sqlx::query_scalar(
            "INSERT INTO settings (name, value) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = value RETURNING value",
        )
        .bind(name)
        .bind(value)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }
}
