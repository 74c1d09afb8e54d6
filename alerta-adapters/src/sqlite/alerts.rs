//! Alerts of the hub.

use alerta_core::domain::{
    Alert, AlertCounts, AlertFilter, AlertId, AlertMessage, AlertSource, Channel, Page,
    PageRequest, Severity,
};
use alerta_core::ports::{AlertStore, AlertWrite};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite};

use super::cursor::{self, List};
use super::error::{self, db, unreadable};
use super::{SqliteStore, millis, number, outbox, text, timestamp, to_u64};

macro_rules! alert_columns {
    () => {
        "id, source, severity, message, channel, created_at"
    };
}

/// The lower-cased text `q` searches, one field per line (see the schema).
fn search_text(alert: &Alert) -> String {
    format!(
        "{}\n{}",
        alert.source.as_str().to_lowercase(),
        alert.message.as_str().to_lowercase()
    )
}

fn alert_from_row(row: &SqliteRow) -> Result<Alert> {
    let stored = |e: Error| unreadable(format!("alert: {e}"));
    Ok(Alert {
        id: AlertId::parse(&text(row, "id")?).map_err(stored)?,
        source: AlertSource::parse(&text(row, "source")?).map_err(stored)?,
        severity: Severity::parse(&text(row, "severity")?).map_err(stored)?,
        message: AlertMessage::parse(&text(row, "message")?).map_err(stored)?,
        channel: Channel::parse(&text(row, "channel")?).map_err(stored)?,
        created_at: timestamp(number(row, "created_at")?),
    })
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // The whole batch is one transaction and so one fsync: the point of group commit.
        let mut tx = self.begin_write().await?;
        for write in &batch {
            let alert = &write.alert;
            sqlx::query(
                "INSERT INTO alerts (id, source, severity, message, channel, created_at, search) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(alert.id.as_str())
            .bind(alert.source.as_str())
            .bind(alert.severity.as_str())
            .bind(alert.message.as_str())
            .bind(alert.channel.as_str())
            .bind(millis(alert.created_at))
            .bind(search_text(alert))
            .execute(&mut *tx)
            .await
            .map_err(|e| error::writing("alert", e))?;
            for mail in &write.mails {
                outbox::insert_mail(&mut tx, mail).await?;
            }
        }
        tx.commit().await.map_err(db)
    }

    async fn search(&self, filter: &AlertFilter, page: &PageRequest) -> Result<Page<Alert>> {
        let after = cursor::position(List::Alerts, page)?;
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE 1 = 1"
        ));
        if let Some(severity) = filter.severity {
            query.push(" AND severity = ").push_bind(severity.as_str());
        }
        if let Some(source) = &filter.source {
            query
                .push(" AND source = ")
                .push_bind(source.as_str().to_owned());
        }
        if let Some(channel) = filter.channel {
            query.push(" AND channel = ").push_bind(channel.as_str());
        }
        if let Some(since) = &filter.since {
            query
                .push(" AND id > ")
                .push_bind(since.as_str().to_owned());
        }
        if let Some(needle) = &filter.text {
            // instr, not LIKE: an exact substring test, with no wildcards to escape.
            query
                .push(" AND instr(search, ")
                .push_bind(needle.as_str().to_lowercase())
                .push(") > 0");
        }
        if let Some(after) = after {
            query.push(" AND id < ").push_bind(after);
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(cursor::fetch_limit(page));
        let rows = query.build().fetch_all(&self.pool).await.map_err(db)?;
        let items = rows
            .iter()
            .map(alert_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(cursor::page(List::Alerts, items, page, |a| a.id.as_str()))
    }

    async fn after<'a>(&self, after: Option<&'a AlertId>, limit: usize) -> Result<Vec<Alert>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // An empty id sorts before every stored one, so `None` reads from the start.
        let rows = sqlx::query(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after.map_or("", |id| id.as_str()))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn counts(&self) -> Result<AlertCounts> {
        let rows = sqlx::query(
            "SELECT severity, channel, COUNT(*) AS n FROM alerts GROUP BY severity, channel",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut counts = AlertCounts::new();
        for row in &rows {
            let n = to_u64(number(row, "n")?, "count")?;
            counts.total += n;
            *counts
                .by_severity
                .entry(text(row, "severity")?)
                .or_default() += n;
            *counts.by_channel.entry(text(row, "channel")?).or_default() += n;
        }
        Ok(counts)
    }
}
