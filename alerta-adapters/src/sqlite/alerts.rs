//! Alerts of the hub.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use alerta_core::domain::{
    Alert, AlertCounts, AlertDraft, AlertEvent, AlertFilter, AlertId, AlertMessage, AlertSource,
    AlertState, AlertStatus, Channel, EventId, Fingerprint, GroupState, Grouping, Note,
    Occurrences, Page, PageRequest, Severity, Timestamp, UserId,
};
use alerta_core::ports::{AlertStore, AlertTransition, AlertWrite, GroupedAlert, Inserted};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::cursor::{self, List};
use super::error::{self, db, unreadable};
use super::{SqliteStore, column, millis, number, outbox, stream, text, timestamp, to_i64, to_u64};
use alerta_core::domain::Appended;

macro_rules! alert_columns {
    () => {
        "id, source, severity, message, channel, created_at, status, version, \
         COALESCE(updated_at, created_at) AS updated_at, fingerprint, count, \
         COALESCE(first_seen, created_at) AS first_seen, \
         COALESCE(last_seen, created_at) AS last_seen, silenced"
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

/// The most rows one `INSERT` statement carries: 15 parameters each stay far below SQLite's
/// limit of 32,766.
const MAX_ROWS_PER_INSERT: usize = 512;

/// A multi-row `INSERT` of `head` (`INSERT INTO t (a, b) VALUES `) with `columns` values a
/// row, for a prefix of `remaining` rows, and how many rows it takes.
///
/// Every statement is a round trip to the connection's worker thread, and one per row made
/// those round trips (two thread switches each) the bulk of a large batch's cost. Row counts
/// are powers of two, so that a handful of statements serve every batch size and each is
/// prepared once per connection and then reused from its statement cache.
fn insert_statement(
    statements: &'static OnceLock<Vec<String>>,
    head: &str,
    columns: usize,
    remaining: usize,
) -> (usize, &'static str) {
    let statements = statements.get_or_init(|| {
        let row = format!("({})", vec!["?"; columns].join(", "));
        std::iter::successors(Some(1), |&rows| Some(rows * 2))
            .take_while(|&rows| rows <= MAX_ROWS_PER_INSERT)
            .map(|rows| format!("{head}{}", vec![row.as_str(); rows].join(", ")))
            .collect()
    });
    // The largest power of two that fits: index = floor(log2(rows)).
    let rows = remaining.min(MAX_ROWS_PER_INSERT);
    let index = (usize::BITS - 1 - rows.leading_zeros()) as usize;
    (1 << index, &statements[index])
}

/// The stored groups of the batch's fingerprints, by fingerprint: one statement whatever the
/// batch's size, through the unique index on `fingerprint`.
async fn read_groups(
    tx: &mut Transaction<'static, Sqlite>,
    batch: &[AlertWrite],
) -> Result<HashMap<Fingerprint, Alert>> {
    let fingerprints: Vec<Fingerprint> = batch.iter().map(|w| w.alert.fingerprint()).collect();
    let list = serde_json::to_string(&fingerprints).map_err(error::unencodable)?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        alert_columns!(),
        " FROM alerts WHERE fingerprint IN (SELECT value FROM json_each(?))"
    ))
    .bind(list)
    .fetch_all(&mut **tx)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|row| alert_from_row(row).map(|alert| (alert.fingerprint(), alert)))
        .collect()
}

/// Stores groups opened by the batch, as the batch left them.
async fn insert_alerts(tx: &mut Transaction<'static, Sqlite>, alerts: &[&Alert]) -> Result<()> {
    static STATEMENTS: OnceLock<Vec<String>> = OnceLock::new();
    let mut rest = alerts;
    while !rest.is_empty() {
        let (rows, sql) = insert_statement(
            &STATEMENTS,
            "INSERT INTO alerts (id, source, severity, message, channel, created_at, search, \
             status, version, updated_at, fingerprint, count, first_seen, last_seen, silenced) \
             VALUES ",
            15,
            rest.len(),
        );
        let (chunk, after) = rest.split_at(rows);
        let mut query = sqlx::query(sql);
        for alert in chunk {
            query = query
                .bind(alert.id.as_str())
                .bind(alert.source.as_str())
                .bind(alert.severity.as_str())
                .bind(alert.message.as_str())
                .bind(alert.channel.as_str())
                .bind(millis(alert.created_at))
                .bind(search_text(alert))
                .bind(alert.status().as_str())
                .bind(to_i64(alert.version()))
                .bind(millis(alert.updated_at()))
                .bind(alert.fingerprint().as_str().to_owned())
                .bind(to_i64(alert.count()))
                .bind(millis(alert.first_seen()))
                .bind(millis(alert.last_seen()))
                .bind(i64::from(alert.silenced()));
        }
        query
            .execute(&mut **tx)
            .await
            .map_err(|e| error::writing("alert", e))?;
        rest = after;
    }
    Ok(())
}

/// Writes where a stored group stands after the batch folded into or reopened it.
async fn update_group(tx: &mut Transaction<'static, Sqlite>, alert: &Alert) -> Result<()> {
    sqlx::query(
        "UPDATE alerts SET status = ?, version = ?, updated_at = ?, count = ?, last_seen = ?, \
         silenced = ? WHERE id = ?",
    )
    .bind(alert.status().as_str())
    .bind(to_i64(alert.version()))
    .bind(millis(alert.updated_at()))
    .bind(to_i64(alert.count()))
    .bind(millis(alert.last_seen()))
    .bind(i64::from(alert.silenced()))
    .bind(alert.id.as_str())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Keeps each write's occurrences with the group it went to.
async fn insert_occurrences(
    tx: &mut Transaction<'static, Sqlite>,
    batch: &[AlertWrite],
    results: &[GroupedAlert],
) -> Result<()> {
    static STATEMENTS: OnceLock<Vec<String>> = OnceLock::new();
    let rows: Vec<(&AlertWrite, &GroupedAlert)> = batch.iter().zip(results).collect();
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let (count, sql) = insert_statement(
            &STATEMENTS,
            "INSERT INTO alert_occurrences (id, alert_id, at, count) VALUES ",
            4,
            rest.len(),
        );
        let (chunk, after) = rest.split_at(count);
        let mut query = sqlx::query(sql);
        for (write, result) in chunk {
            query = query
                .bind(write.alert.id.as_str())
                .bind(result.alert.id.as_str())
                .bind(millis(write.alert.created_at))
                .bind(to_i64(write.alert.count()));
        }
        query
            .execute(&mut **tx)
            .await
            .map_err(|e| error::writing("alert", e))?;
        rest = after;
    }
    Ok(())
}

/// Stores one entry of an alert's history.
async fn insert_event(tx: &mut Transaction<'static, Sqlite>, event: &AlertEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_events (id, alert_id, from_status, to_status, actor, note, \
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.event_id.as_str())
    .bind(event.alert_id.as_str())
    .bind(event.from.as_str())
    .bind(event.to.as_str())
    .bind(event.actor.as_str())
    .bind(event.note.as_ref().map(|n| n.as_str()))
    .bind(millis(event.created_at))
    .execute(&mut **tx)
    .await
    .map_err(|e| error::writing("event", e))?;
    Ok(())
}

pub(super) fn occurrences_from_row(row: &SqliteRow) -> Result<Occurrences> {
    let stored = |e: Error| unreadable(format!("alert occurrences: {e}"));
    Ok(Occurrences {
        id: AlertId::parse(&text(row, "id")?).map_err(stored)?,
        at: timestamp(number(row, "at")?),
        count: to_u64(number(row, "count")?, "count")?,
    })
}

pub(super) fn alert_from_row(row: &SqliteRow) -> Result<Alert> {
    let stored = |e: Error| unreadable(format!("alert: {e}"));
    let id = AlertId::parse(&text(row, "id")?).map_err(stored)?;
    let draft = AlertDraft {
        source: AlertSource::parse(&text(row, "source")?).map_err(stored)?,
        severity: Severity::parse(&text(row, "severity")?).map_err(stored)?,
        message: AlertMessage::parse(&text(row, "message")?).map_err(stored)?,
        channel: Channel::parse(&text(row, "channel")?).map_err(stored)?,
        fingerprint: Some(match column::<Option<String>>(row, "fingerprint")? {
            Some(fingerprint) => Fingerprint::parse(&fingerprint).map_err(stored)?,
            None => Fingerprint::legacy(&id),
        }),
    };
    let state = AlertState {
        status: AlertStatus::parse(&text(row, "status")?).map_err(stored)?,
        version: to_u64(number(row, "version")?, "version")?,
        updated_at: timestamp(number(row, "updated_at")?),
    };
    let group = GroupState {
        count: to_u64(number(row, "count")?, "count")?,
        first_seen: timestamp(number(row, "first_seen")?),
        last_seen: timestamp(number(row, "last_seen")?),
    };
    Ok(
        Alert::restore(id, draft, timestamp(number(row, "created_at")?), state)
            .with_group(group)
            .with_silenced(number(row, "silenced")? != 0),
    )
}

pub(super) fn event_from_row(row: &SqliteRow) -> Result<AlertEvent> {
    let stored = |e: Error| unreadable(format!("alert event: {e}"));
    let note: Option<String> = column(row, "note")?;
    Ok(AlertEvent {
        event_id: EventId::parse(&text(row, "id")?).map_err(stored)?,
        alert_id: AlertId::parse(&text(row, "alert_id")?).map_err(stored)?,
        from: AlertStatus::parse(&text(row, "from_status")?).map_err(stored)?,
        to: AlertStatus::parse(&text(row, "to_status")?).map_err(stored)?,
        actor: UserId::parse(&text(row, "actor")?).map_err(stored)?,
        note: note
            .as_deref()
            .map(Note::parse)
            .transpose()
            .map_err(stored)?,
        created_at: timestamp(number(row, "created_at")?),
    })
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<Inserted> {
        if batch.is_empty() {
            return Ok(Inserted::nothing());
        }
        // The whole batch is one transaction and so one fsync: the point of group commit.
        // `BEGIN IMMEDIATE` makes it the only writer of the file, so the groups read here stay
        // as read until it commits, across processes too; the unique index on `fingerprint`
        // would refuse a second group all the same.
        let mut tx = self.begin_write().await?;
        let mut groups = read_groups(&mut tx, &batch).await?;
        let mut opened = HashSet::new();
        // Fingerprints in the order the batch first touches them.
        let mut touched = Vec::new();
        let mut seen = HashSet::new();
        let mut results = Vec::with_capacity(batch.len());
        for write in &batch {
            let fingerprint = write.alert.fingerprint();
            let (alert, grouping) = match groups.get(&fingerprint) {
                Some(group) => group.recur(&write.alert),
                None => {
                    opened.insert(write.alert.id.clone());
                    (write.alert.clone(), Grouping::Opened)
                }
            };
            if seen.insert(fingerprint.clone()) {
                touched.push(fingerprint.clone());
            }
            groups.insert(fingerprint, alert.clone());
            results.push(GroupedAlert { alert, grouping });
        }
        // Each touched group is written once, as the batch left it.
        let (new, folded): (Vec<&Alert>, Vec<&Alert>) = touched
            .iter()
            .filter_map(|fingerprint| groups.get(fingerprint))
            .partition(|alert| opened.contains(&alert.id));
        insert_alerts(&mut tx, &new).await?;
        for alert in folded {
            update_group(&mut tx, alert).await?;
        }
        for result in &results {
            if let Grouping::Reopened(event) = &result.grouping {
                insert_event(&mut tx, event).await?;
            }
        }
        insert_occurrences(&mut tx, &batch, &results).await?;
        for (write, result) in batch.iter().zip(&results) {
            if result.grouping.is_mailed() {
                for mail in &write.mails_for(&result.alert.id) {
                    outbox::insert_mail(&mut tx, mail).await?;
                }
            }
        }
        let messages: Vec<_> = results.iter().map(GroupedAlert::stream_message).collect();
        let appended = stream::append(&mut tx, self.epoch, &messages).await?;
        tx.commit().await.map_err(db)?;
        Ok(Inserted {
            appended,
            groups: results,
            messages,
        })
    }

    async fn transition(&self, change: AlertTransition) -> Result<Appended> {
        let alert = &change.alert;
        let event = &change.event;
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE alerts SET status = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
        )
        .bind(alert.status().as_str())
        .bind(to_i64(alert.version()))
        .bind(millis(alert.updated_at()))
        .bind(alert.id.as_str())
        .bind(to_i64(change.expected_version))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if updated.rows_affected() != 1 {
            return Err(Error::stale_version());
        }
        insert_event(&mut tx, event).await?;
        for mail in &change.mails {
            outbox::insert_mail(&mut tx, mail).await?;
        }
        let appended = stream::append(&mut tx, self.epoch, &[change.stream_message()]).await?;
        tx.commit().await.map_err(db)?;
        Ok(appended)
    }

    async fn alert(&self, id: &AlertId) -> Result<Option<Alert>> {
        let sql = concat!("SELECT ", alert_columns!(), " FROM alerts WHERE id = ?");
        self.one(sql, id.as_str(), alert_from_row).await
    }

    async fn group_of(&self, fingerprint: &Fingerprint) -> Result<Option<Alert>> {
        let sql = concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE fingerprint = ?"
        );
        if let Some(alert) = self.one(sql, fingerprint.as_str(), alert_from_row).await? {
            return Ok(Some(alert));
        }
        // An alert stored before grouping has no fingerprint column: its id is in the
        // fingerprint.
        match fingerprint.legacy_alert() {
            Some(id) => Ok(self
                .alert(&id)
                .await?
                .filter(|alert| alert.fingerprint() == *fingerprint)),
            None => Ok(None),
        }
    }

    async fn history(&self, id: &AlertId) -> Result<Vec<AlertEvent>> {
        let sql = "SELECT id, alert_id, from_status, to_status, actor, note, created_at \
                   FROM alert_events WHERE alert_id = ? ORDER BY id";
        self.all(sql, id.as_str(), event_from_row).await
    }

    async fn search(&self, filter: &AlertFilter, page: &PageRequest) -> Result<Page<Alert>> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE 1 = 1"
        ));
        cursor::push_filter(
            &mut query,
            "severity =",
            filter.severity.map(|s| s.as_str()),
        );
        let source = filter.source.as_ref().map(|s| s.as_str());
        cursor::push_filter(&mut query, "source =", source);
        cursor::push_filter(&mut query, "channel =", filter.channel.map(|c| c.as_str()));
        let since = filter.since.as_ref().map(|id| id.as_str());
        cursor::push_filter(&mut query, "id >", since);
        cursor::push_filter(&mut query, "silenced =", filter.silenced.map(i64::from));
        cursor::push_filter(&mut query, "status =", filter.status.map(|s| s.as_str()));
        cursor::push_search(&mut query, filter.text.as_ref());
        cursor::fetch_page(&self.pool, query, List::Alerts, page, alert_from_row, |a| {
            a.id.as_str()
        })
        .await
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

    async fn occurrences(&self, id: &AlertId, page: &PageRequest) -> Result<Page<Occurrences>> {
        let mut query: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT id, at, count FROM alert_occurrences WHERE alert_id = ");
        query.push_bind(id.as_str().to_owned());
        cursor::fetch_page(
            &self.pool,
            query,
            List::Occurrences,
            page,
            occurrences_from_row,
            |o| o.id.as_str(),
        )
        .await
    }
    async fn remove_resolved(&self, before: Timestamp, limit: usize) -> Result<usize> {
        if limit == 0 {
            return Ok(0);
        }
        // `BEGIN IMMEDIATE` makes this the only writer until it commits, across processes
        // too: the groups chosen here are still resolved, unchanged and unlinked when they go.
        let mut tx = self.begin_write().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM alerts WHERE status = 'resolved' AND updated_at < ?1 \
             AND COALESCE(last_seen, created_at) < ?1 \
             AND NOT EXISTS (SELECT 1 FROM incidents WHERE incidents.alert_id = alerts.id) \
             ORDER BY updated_at, id LIMIT ?2",
        )
        .bind(millis(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let list = serde_json::to_string(&ids).map_err(error::unencodable)?;
        for statement in [
            "DELETE FROM alert_occurrences WHERE alert_id IN (SELECT value FROM json_each(?))",
            "DELETE FROM alert_events WHERE alert_id IN (SELECT value FROM json_each(?))",
            // The fingerprint lives in the group's row: it goes with it.
            "DELETE FROM alerts WHERE id IN (SELECT value FROM json_each(?))",
        ] {
            sqlx::query(statement)
                .bind(&list)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(ids.len())
    }
}
