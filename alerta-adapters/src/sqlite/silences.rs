//! Silences.

use alerta_core::domain::{
    Matchers, Page, PageRequest, Silence, SilenceComment, SilenceFilter, SilenceId, SilenceParts,
    SilenceState, Timestamp, UserId,
};
use alerta_core::ports::SilenceStore;
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite};

use super::cursor::{self, List};
use super::error::{self, db, unencodable, unreadable};
use super::{SqliteStore, millis, number, text, timestamp};

macro_rules! silence_columns {
    () => {
        "id, matchers, starts_at, ends_at, comment, created_by, created_at"
    };
}

pub(super) fn silence_from_row(row: &SqliteRow) -> Result<Silence> {
    let stored = |e: Error| unreadable(format!("silence: {e}"));
    let matchers: Matchers = serde_json::from_str(&text(row, "matchers")?)
        .map_err(|e| unreadable(format!("silence matchers: {e}")))?;
    Ok(Silence::restore(SilenceParts {
        id: SilenceId::parse(&text(row, "id")?).map_err(stored)?,
        matchers,
        starts_at: timestamp(number(row, "starts_at")?),
        ends_at: timestamp(number(row, "ends_at")?),
        comment: SilenceComment::parse(&text(row, "comment")?).map_err(stored)?,
        created_by: UserId::parse(&text(row, "created_by")?).map_err(stored)?,
        created_at: timestamp(number(row, "created_at")?),
    }))
}

/// Adds "in one of the filter's states" to a `WHERE`, as [`Silence::state`] defines them.
fn push_states(query: &mut QueryBuilder<Sqlite>, filter: &SilenceFilter) {
    if filter.states().is_empty() {
        return;
    }
    let at = millis(filter.at());
    query.push(" AND (0 = 1");
    for state in filter.states() {
        match state {
            SilenceState::Expired => query.push(" OR ends_at <= ").push_bind(at),
            SilenceState::Pending => query
                .push(" OR (ends_at > ")
                .push_bind(at)
                .push(" AND starts_at > ")
                .push_bind(at)
                .push(")"),
            SilenceState::Active => query
                .push(" OR (ends_at > ")
                .push_bind(at)
                .push(" AND starts_at <= ")
                .push_bind(at)
                .push(")"),
        };
    }
    query.push(")");
}

#[async_trait]
impl SilenceStore for SqliteStore {
    async fn insert_silence(&self, silence: &Silence) -> Result<()> {
        let matchers = serde_json::to_string(silence.matchers()).map_err(unencodable)?;
        sqlx::query(concat!(
            "INSERT INTO silences (",
            silence_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(silence.id().as_str())
        .bind(matchers)
        .bind(millis(silence.starts_at()))
        .bind(millis(silence.ends_at()))
        .bind(silence.comment().as_str())
        .bind(silence.created_by().as_str())
        .bind(millis(silence.created_at()))
        .execute(&self.pool)
        .await
        .map_err(|e| error::writing("silence", e))?;
        Ok(())
    }

    async fn silence(&self, id: &SilenceId) -> Result<Option<Silence>> {
        let sql = concat!("SELECT ", silence_columns!(), " FROM silences WHERE id = ?");
        self.one(sql, id.as_str(), silence_from_row).await
    }

    async fn silences(&self, filter: &SilenceFilter, page: &PageRequest) -> Result<Page<Silence>> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            silence_columns!(),
            " FROM silences WHERE 1 = 1"
        ));
        push_states(&mut query, filter);
        cursor::fetch_page(
            &self.pool,
            query,
            List::Silences,
            page,
            silence_from_row,
            |s| s.id().as_str(),
        )
        .await
    }

    async fn expire_silence(&self, id: &SilenceId, now: Timestamp) -> Result<Silence> {
        // One statement: the end only ever moves earlier, so racing expiries need no lock.
        let row = sqlx::query(concat!(
            "UPDATE silences SET ends_at = MIN(ends_at, ?1), starts_at = MIN(starts_at, ?1) \
             WHERE id = ?2 RETURNING ",
            silence_columns!()
        ))
        .bind(millis(now))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref()
            .map(silence_from_row)
            .transpose()?
            .ok_or(Error::NotFound("silence"))
    }
}
