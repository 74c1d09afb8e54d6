//! Failed logins per key, in fixed windows, in the `login_failures` table.

use std::time::Duration;

use alerta_core::Result;
use alerta_core::domain::Timestamp;
use alerta_core::ports::{FailureWindow, LoginAttemptStore, LoginKey};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::error::db;
use super::{SqliteStore, millis, number, timestamp, to_u64};

/// The latest start of a window that has ended at `now`: a window is open while its start is
/// after this.
fn ended_by(now: Timestamp, window: Duration) -> i64 {
    let length = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    millis(now).saturating_sub(length)
}

fn window_from_row(row: &SqliteRow) -> Result<FailureWindow> {
    let started_at = timestamp(number(row, "started_at")?);
    // Rows counted before the column existed have no last failure; their start stands in.
    let last_failed_at = row
        .try_get::<Option<i64>, _>("last_failed_at")
        .map_err(db)?
        .map_or(started_at, timestamp);
    Ok(FailureWindow {
        failures: to_u64(number(row, "failures")?, "failure count")?,
        started_at,
        last_failed_at,
    })
}

#[async_trait]
impl LoginAttemptStore for SqliteStore {
    async fn count_failure(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<FailureWindow> {
        let ended_by = ended_by(now, window);
        let mut tx = self.begin_write().await?;
        // Keeps the table to the windows still open, whatever number of keys failed before;
        // through the index it reads only the rows it deletes.
        sqlx::query("DELETE FROM login_failures WHERE started_at <= ?")
            .bind(ended_by)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // The whole rule in one statement, so it holds without the sweep above: a new key or
        // an ended window starts at `now` with one failure, an open one gains one. SET reads
        // the row as it was before the update.
        let row = sqlx::query(
            "INSERT INTO login_failures (key, failures, started_at, last_failed_at) \
             VALUES (?1, 1, ?2, ?2) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN started_at <= ?3 THEN 1 ELSE failures + 1 END, \
             last_failed_at = CASE WHEN started_at <= ?3 THEN ?2 \
                 ELSE max(coalesce(last_failed_at, started_at), ?2) END, \
             started_at = CASE WHEN started_at <= ?3 THEN ?2 ELSE started_at END \
             RETURNING failures, started_at, last_failed_at",
        )
        .bind(key.as_str())
        .bind(millis(now))
        .bind(ended_by)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let counted = window_from_row(&row)?;
        tx.commit().await.map_err(db)?;
        Ok(counted)
    }

    async fn open_window(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<Option<FailureWindow>> {
        let row = sqlx::query(
            "SELECT failures, started_at, last_failed_at FROM login_failures \
             WHERE key = ? AND started_at > ?",
        )
        .bind(key.as_str())
        .bind(ended_by(now, window))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(window_from_row).transpose()
    }

    async fn clear_failures(&self, key: &LoginKey) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = ?")
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counting_a_failure_deletes_the_windows_that_ended() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("alerta.db"))
            .await
            .expect("open");
        let window = Duration::from_secs(60);
        let start = Timestamp::from_unix_millis(1_000_000);
        for n in 0..50 {
            let key = LoginKey::account(&format!("u{n}@campus.edu"));
            store.count_failure(&key, start, window).await.unwrap();
        }
        let open = LoginKey::account("open@campus.edu");
        store
            .count_failure(&open, start.plus(window / 2), window)
            .await
            .unwrap();
        store
            .count_failure(&open, start.plus(window), window)
            .await
            .unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(rows, 1, "only the window still open is kept");
    }
}
