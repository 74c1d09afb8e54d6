//! Every stored record as it is, read-only, for moving a deployment to another backend.

use std::path::Path;

use alerta_core::domain::{
    AlertCounts, AlertEvent, AlertId, EventId, IncidentCounts, IncidentId, StreamEntry, StreamHead,
    StreamMessage,
};
use alerta_core::ports::{
    AlertStore, AssignmentRecord, IncidentStore, Record, RecordKind, RecordSource, StreamLog,
};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow};

use super::error::{self, db, unreadable};
use super::{
    MIGRATIONS, SqliteStore, alerts, column, incidents, number, outbox, silences, stream, text,
    timestamp, to_i64, to_u64, users,
};

/// Each kind's table, the column its listing is ordered by, and the columns it reads.
fn listing(kind: RecordKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        RecordKind::Users => (
            "users",
            "id",
            "id, email, name, role, password_hash, created_at, disabled",
        ),
        RecordKind::Departments => ("departments", "name", "name, email"),
        RecordKind::Incidents => (
            "incidents",
            "id",
            "id, kind, description, location, urgency, status, department, reported_by, \
             created_at, updated_at, resolved_at, version, alert_id",
        ),
        RecordKind::IncidentEvents => (
            "incident_events",
            "id",
            "id, incident_id, change, actor, created_at",
        ),
        RecordKind::Attachments => (
            "attachments",
            "id",
            "id, incident_id, filename, content_type, size, sha256, created_at",
        ),
        RecordKind::Alerts => (
            "alerts",
            "id",
            "id, source, severity, message, channel, created_at, status, version, \
             COALESCE(updated_at, created_at) AS updated_at, fingerprint, count, \
             COALESCE(first_seen, created_at) AS first_seen, \
             COALESCE(last_seen, created_at) AS last_seen, silenced",
        ),
        RecordKind::AlertOccurrences => ("alert_occurrences", "id", "id, alert_id, at, count"),
        RecordKind::AlertIncidents => ("incidents", "id", "id, alert_id"),
        RecordKind::Silences => (
            "silences",
            "id",
            "id, matchers, starts_at, ends_at, comment, created_by, created_at",
        ),
        RecordKind::Settings => ("settings", "name", "name, value"),
        RecordKind::Mails => ("outbox", "id", outbox::MAIL_COLUMNS),
        RecordKind::Assignments => (
            "report_assignments",
            "event_id",
            "event_id, holder, lease_until, done_at",
        ),
        RecordKind::Stream => ("stream_log", "position", "position, record"),
    }
}

/// Rows of the listing that are records of the kind: only incidents opened from an alert
/// are links.
fn only(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::AlertIncidents => "alert_id IS NOT NULL",
        _ => "1 = 1",
    }
}

fn assignment_from_row(row: &SqliteRow) -> Result<AssignmentRecord> {
    Ok(AssignmentRecord {
        event_id: EventId::parse(&text(row, "event_id")?)
            .map_err(|e| unreadable(format!("report assignment: {e}")))?,
        holder: text(row, "holder")?,
        lease_until: timestamp(number(row, "lease_until")?),
        done_at: column::<Option<i64>>(row, "done_at")?.map(timestamp),
    })
}

fn stream_from_row(row: &SqliteRow) -> Result<StreamEntry> {
    Ok(StreamEntry {
        position: to_u64(number(row, "position")?, "position")?,
        message: StreamMessage::from_record(&text(row, "record")?)
            .map_err(|e| unreadable(format!("stream record: {e}")))?,
    })
}

fn record_from_row(kind: RecordKind, row: &SqliteRow) -> Result<Record> {
    Ok(match kind {
        RecordKind::Users => Record::User(users::user_from_row(row)?),
        RecordKind::Departments => Record::Department(users::department_from_row(row)?),
        RecordKind::Incidents => Record::Incident(incidents::incident_from_row(row)?),
        RecordKind::IncidentEvents => Record::IncidentEvent(incidents::event_from_row(row)?),
        RecordKind::Attachments => Record::Attachment(incidents::attachment_from_row(row)?),
        RecordKind::Alerts => Record::Alert {
            alert: alerts::alert_from_row(row)?,
            history: Vec::new(),
        },
        RecordKind::AlertOccurrences => Record::AlertOccurrence {
            group: AlertId::parse(&text(row, "alert_id")?)
                .map_err(|e| unreadable(format!("alert occurrences: {e}")))?,
            occurrences: alerts::occurrences_from_row(row)?,
        },
        RecordKind::AlertIncidents => {
            let stored = |e: Error| unreadable(format!("incident link: {e}"));
            Record::AlertIncident {
                alert: AlertId::parse(&text(row, "alert_id")?).map_err(stored)?,
                incident: IncidentId::parse(&text(row, "id")?).map_err(stored)?,
            }
        }
        RecordKind::Silences => Record::Silence(silences::silence_from_row(row)?),
        RecordKind::Settings => Record::Setting {
            name: text(row, "name")?,
            value: text(row, "value")?,
        },
        RecordKind::Mails => Record::Mail(outbox::mail_from_row(row)?),
        RecordKind::Assignments => Record::Assignment(assignment_from_row(row)?),
        RecordKind::Stream => Record::Stream(stream_from_row(row)?),
    })
}

impl SqliteStore {
    /// Opens the database at `path` read-only, for reading what it holds: nothing is
    /// written to the file, and the schema is not brought up to date.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the file is missing or cannot be read, and
    /// [`Error::Invalid`] on `database` when its schema is older or newer than this
    /// version's (open it once with this version, read-write, to bring it up to date).
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::unavailable(
                "sqlite",
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no database at {}", path.display()),
                ),
            ));
        }
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(connect)
            .await
            .map_err(db)?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY 1")
                .fetch_all(&pool)
                .await
                .map_err(db)?;
        let known: Vec<i64> = MIGRATIONS.iter().map(|(version, _, _)| *version).collect();
        if applied != known {
            return Err(Error::invalid(
                "database",
                format!(
                    "its schema has the steps {applied:?}, this version's are {known:?}: open it \
                     once with this version (for example `alerta serve`) to bring it up to date"
                ),
            ));
        }
        let epoch = stream::epoch(&pool).await?;
        Ok(Self { pool, epoch })
    }

    /// The status history of each of `alerts`, oldest first.
    async fn histories(&self, alerts: &[&AlertId]) -> Result<Vec<Vec<AlertEvent>>> {
        let ids: Vec<&str> = alerts.iter().map(|a| a.as_str()).collect();
        let list = serde_json::to_string(&ids).map_err(error::unencodable)?;
        let rows = sqlx::query(
            "SELECT id, alert_id, from_status, to_status, actor, note, created_at \
             FROM alert_events WHERE alert_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )
        .bind(list)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut histories = vec![Vec::new(); alerts.len()];
        for row in &rows {
            let event = alerts::event_from_row(row)?;
            if let Some(i) = alerts.iter().position(|a| **a == event.alert_id) {
                histories[i].push(event);
            }
        }
        Ok(histories)
    }
}

#[async_trait]
impl RecordSource for SqliteStore {
    async fn export_records(
        &self,
        kind: RecordKind,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<Record>> {
        let (table, order, columns) = listing(kind);
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE {} AND ({order} > ? OR ? IS NULL) \
             ORDER BY {order} LIMIT ?",
            only(kind)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        query = match kind {
            // Positions are numbers: compared as text, 10 would come before 9.
            RecordKind::Stream => {
                let after = after
                    .map(|a| a.parse::<i64>())
                    .transpose()
                    .map_err(|_| Error::invalid("after", "a stream position is a number"))?;
                query.bind(after).bind(after)
            }
            _ => query.bind(after.clone()).bind(after),
        };
        let rows = query
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let mut records = rows
            .iter()
            .map(|row| record_from_row(kind, row))
            .collect::<Result<Vec<_>>>()?;
        if kind == RecordKind::Alerts {
            let ids: Vec<&AlertId> = records
                .iter()
                .filter_map(|r| match r {
                    Record::Alert { alert, .. } => Some(&alert.id),
                    _ => None,
                })
                .collect();
            let histories = self.histories(&ids).await?;
            for (record, events) in records.iter_mut().zip(histories) {
                if let Record::Alert { history, .. } = record {
                    *history = events;
                }
            }
        }
        Ok(records)
    }

    async fn count_records(&self, kind: RecordKind) -> Result<u64> {
        let (table, _, _) = listing(kind);
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {}", only(kind));
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        to_u64(number(&row, "n")?, "count")
    }

    async fn stream_origin(&self) -> Result<StreamHead> {
        self.head().await
    }

    async fn record_counts(&self) -> Result<(IncidentCounts, AlertCounts)> {
        Ok((
            IncidentStore::counts(self).await?,
            AlertStore::counts(self).await?,
        ))
    }
}
