//! Reads of the rows that one key selects, the shape most lookups of the stores share: a
//! query with one `?`, each row turned into a domain value by the table's `*_from_row`.

use alerta_core::Result;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::error::db;

/// How a table's rows become domain values.
type FromRow<T> = fn(&SqliteRow) -> Result<T>;

impl SqliteStore {
    /// The row `sql` selects with `key` bound to its `?`, if there is one.
    pub(super) async fn one<T>(
        &self,
        sql: &'static str,
        key: &str,
        from_row: FromRow<T>,
    ) -> Result<Option<T>> {
        let query = sqlx::query(sql).bind(key);
        let row = query.fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every row `sql` selects with `key` bound to its `?`, in the order it gives.
    pub(super) async fn all<T>(
        &self,
        sql: &'static str,
        key: &str,
        from_row: FromRow<T>,
    ) -> Result<Vec<T>> {
        let query = sqlx::query(sql).bind(key);
        let rows = query.fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(from_row).collect()
    }
}
