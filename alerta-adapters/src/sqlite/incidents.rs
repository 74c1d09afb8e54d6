//! Incidents, their history and attachment metadata.

use std::collections::{BTreeMap, HashMap};

use alerta_core::domain::{
    AlertId, Attachment, AttachmentId, Change, DepartmentName, Description, EventId, FileName,
    Incident, IncidentCounts, IncidentEvent, IncidentFilter, IncidentId, IncidentParts, Location,
    MediaType, Page, PageRequest, Status, UNASSIGNED, Urgency, UserId,
};
use alerta_core::ports::{EventQuery, IncidentChange, IncidentStore};
use alerta_core::{ConflictKind, Error, Result};
use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::cursor::{self, List};
use super::error::{self, db, unreadable};
use super::{SqliteStore, column, millis, number, outbox, stream, text, timestamp, to_i64, to_u64};
use alerta_core::domain::Appended;

// Column lists as macros so that `concat!` can build every statement as a literal.
macro_rules! incident_columns {
    () => {
        "id, kind, description, location, urgency, status, department, reported_by, \
         created_at, updated_at, resolved_at, version, alert_id"
    };
}

macro_rules! event_columns {
    () => {
        "id, incident_id, change, actor, created_at"
    };
}

macro_rules! attachment_columns {
    () => {
        "id, incident_id, filename, content_type, size, sha256, created_at"
    };
}

/// The lower-cased text `q` searches, one field per line (see the schema).
fn search_text(incident: &Incident) -> String {
    format!(
        "{}\n{}\n{}",
        incident.description().as_str().to_lowercase(),
        incident.location().as_str().to_lowercase(),
        incident.kind().as_str().to_lowercase()
    )
}

async fn insert_incident(conn: &mut SqliteConnection, incident: &Incident) -> Result<()> {
    if let Some(alert) = incident.alert_id() {
        // Inside the write transaction, so no other writer opens one for the alert meanwhile;
        // the unique index is the backstop.
        let linked = sqlx::query("SELECT 1 FROM incidents WHERE alert_id = ?")
            .bind(alert.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        if linked.is_some() {
            return Err(already_linked());
        }
        // Retention removes alerts in write transactions too: the alert is still there when
        // this one commits.
        let stored = sqlx::query("SELECT 1 FROM alerts WHERE id = ?")
            .bind(alert.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        if stored.is_none() {
            return Err(Error::NotFound("alert"));
        }
    }
    let insert = sqlx::query(
        "INSERT INTO incidents (id, kind, description, location, urgency, status, department, \
         reported_by, created_at, updated_at, resolved_at, version, search, alert_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(incident.id().as_str());
    bind_stored_fields(insert, incident)
        .bind(incident.alert_id().map(|a| a.as_str()))
        .execute(conn)
        .await
        .map_err(|e| error::writing("incident", e))?;
    Ok(())
}

/// Binds the columns both the insert and the update of an incident write, `kind` to `search`
/// in that order.
fn bind_stored_fields<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    incident: &Incident,
) -> Query<'q, Sqlite, SqliteArguments> {
    query
        .bind(incident.kind().as_str())
        .bind(incident.description().as_str())
        .bind(incident.location().as_str())
        .bind(incident.urgency().as_str())
        .bind(incident.status().as_str())
        .bind(incident.department().map(|d| d.as_str()))
        .bind(incident.reported_by().as_str())
        .bind(millis(incident.created_at()))
        .bind(millis(incident.updated_at()))
        .bind(incident.resolved_at().map(millis))
        .bind(to_i64(incident.version()))
        .bind(search_text(incident))
}

fn already_linked() -> Error {
    Error::conflict(
        ConflictKind::AlreadyLinked,
        "an incident was already opened from this alert",
    )
}

/// Writes `incident` over the stored one if that is still at `expected`; `false` otherwise.
async fn update_incident(
    conn: &mut SqliteConnection,
    incident: &Incident,
    expected: u64,
) -> Result<bool> {
    let update = sqlx::query(
        "UPDATE incidents SET kind = ?, description = ?, location = ?, urgency = ?, status = ?, \
         department = ?, reported_by = ?, created_at = ?, updated_at = ?, resolved_at = ?, \
         version = ?, search = ? \
         WHERE id = ? AND version = ?",
    );
    let done = bind_stored_fields(update, incident)
        .bind(incident.id().as_str())
        .bind(to_i64(expected))
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

async fn insert_event(conn: &mut SqliteConnection, event: &IncidentEvent) -> Result<()> {
    let change = serde_json::to_string(&event.change).map_err(error::unencodable)?;
    sqlx::query(
        "INSERT INTO incident_events (id, incident_id, kind, change, actor, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(event.event_id.as_str())
    .bind(event.incident_id.as_str())
    .bind(event.change.kind().as_str())
    .bind(change)
    .bind(event.actor.as_str())
    .bind(millis(event.created_at))
    .execute(conn)
    .await
    .map_err(|e| error::writing("event", e))?;
    Ok(())
}

async fn insert_attachment(conn: &mut SqliteConnection, attachment: &Attachment) -> Result<()> {
    sqlx::query(
        "INSERT INTO attachments (id, incident_id, filename, content_type, size, sha256, \
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(attachment.attachment_id.as_str())
    .bind(attachment.incident_id.as_str())
    .bind(attachment.filename.as_str())
    .bind(attachment.content_type.as_str())
    .bind(to_i64(attachment.size))
    .bind(attachment.sha256.as_str())
    .bind(millis(attachment.created_at))
    .execute(conn)
    .await
    .map_err(|e| error::writing("attachment", e))?;
    Ok(())
}

pub(super) fn incident_from_row(row: &SqliteRow) -> Result<Incident> {
    let stored = |e: Error| unreadable(format!("incident: {e}"));
    let department = column::<Option<String>>(row, "department")?;
    let resolved_at = column::<Option<i64>>(row, "resolved_at")?;
    Ok(Incident::restore(IncidentParts {
        id: IncidentId::parse(&text(row, "id")?).map_err(stored)?,
        kind: text(row, "kind")?,
        description: Description::parse(&text(row, "description")?).map_err(stored)?,
        location: Location::parse(&text(row, "location")?).map_err(stored)?,
        urgency: Urgency::parse(&text(row, "urgency")?).map_err(stored)?,
        status: Status::parse(&text(row, "status")?).map_err(stored)?,
        department: department
            .as_deref()
            .map(DepartmentName::parse)
            .transpose()
            .map_err(stored)?,
        reported_by: UserId::parse(&text(row, "reported_by")?).map_err(stored)?,
        created_at: timestamp(number(row, "created_at")?),
        updated_at: timestamp(number(row, "updated_at")?),
        resolved_at: resolved_at.map(timestamp),
        version: to_u64(number(row, "version")?, "version")?,
        alert_id: column::<Option<String>>(row, "alert_id")?
            .as_deref()
            .map(AlertId::parse)
            .transpose()
            .map_err(stored)?,
    }))
}

pub(super) fn event_from_row(row: &SqliteRow) -> Result<IncidentEvent> {
    let stored = |e: Error| unreadable(format!("event: {e}"));
    let change: Change = serde_json::from_str(&text(row, "change")?)
        .map_err(|e| unreadable(format!("event change: {e}")))?;
    Ok(IncidentEvent {
        event_id: EventId::parse(&text(row, "id")?).map_err(stored)?,
        incident_id: IncidentId::parse(&text(row, "incident_id")?).map_err(stored)?,
        change,
        actor: UserId::parse(&text(row, "actor")?).map_err(stored)?,
        created_at: timestamp(number(row, "created_at")?),
    })
}

pub(super) fn attachment_from_row(row: &SqliteRow) -> Result<Attachment> {
    let stored = |e: Error| unreadable(format!("attachment: {e}"));
    let content_type = text(row, "content_type")?;
    Ok(Attachment {
        attachment_id: AttachmentId::parse(&text(row, "id")?).map_err(stored)?,
        incident_id: IncidentId::parse(&text(row, "incident_id")?).map_err(stored)?,
        filename: FileName::parse(&text(row, "filename")?).map_err(stored)?,
        content_type: MediaType::from_header(&content_type)
            .ok_or_else(|| unreadable(format!("attachment type {content_type:?}")))?,
        size: to_u64(number(row, "size")?, "size")?,
        sha256: text(row, "sha256")?,
        created_at: timestamp(number(row, "created_at")?),
    })
}

#[async_trait]
impl IncidentStore for SqliteStore {
    async fn commit(&self, change: IncidentChange) -> Result<Appended> {
        let mut tx = self.begin_write().await?;
        match change.expected_version {
            None => insert_incident(&mut tx, &change.incident).await?,
            Some(expected) => {
                if !update_incident(&mut tx, &change.incident, expected).await? {
                    tx.rollback().await.map_err(db)?;
                    return Err(Error::stale_version());
                }
            }
        }
        for event in &change.events {
            insert_event(&mut tx, event).await?;
        }
        for attachment in &change.attachments {
            insert_attachment(&mut tx, attachment).await?;
        }
        for mail in &change.mails {
            outbox::insert_mail(&mut tx, mail).await?;
        }
        let appended = stream::append(&mut tx, self.epoch, &change.stream_messages()).await?;
        // An early return above drops `tx`, which rolls the whole change back.
        tx.commit().await.map_err(db)?;
        Ok(appended)
    }

    async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>> {
        let sql = concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE id = ?"
        );
        self.one(sql, id.as_str(), incident_from_row).await
    }

    async fn incidents(
        &self,
        filter: &IncidentFilter,
        page: &PageRequest,
    ) -> Result<Page<Incident>> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE 1 = 1"
        ));
        cursor::push_filter(&mut query, "status =", filter.status.map(|s| s.as_str()));
        cursor::push_filter(
            &mut query,
            "kind =",
            filter.kind.as_ref().map(|k| k.as_str()),
        );
        cursor::push_filter(&mut query, "urgency =", filter.urgency.map(|u| u.as_str()));
        let department = filter.department.as_ref().map(|d| d.as_str());
        cursor::push_filter(&mut query, "department =", department);
        let reporter = filter.reported_by.as_ref().map(|r| r.as_str());
        cursor::push_filter(&mut query, "reported_by =", reporter);
        cursor::push_search(&mut query, filter.text.as_ref());
        cursor::fetch_page(
            &self.pool,
            query,
            List::Incidents,
            page,
            incident_from_row,
            |i| i.id().as_str(),
        )
        .await
    }

    async fn history(&self, id: &IncidentId) -> Result<Vec<IncidentEvent>> {
        let sql = concat!(
            "SELECT ",
            event_columns!(),
            " FROM incident_events WHERE incident_id = ? ORDER BY id"
        );
        self.all(sql, id.as_str(), event_from_row).await
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<IncidentEvent>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            event_columns!(),
            " FROM incident_events WHERE 1 = 1"
        ));
        if let Some(after) = &query.after {
            sql.push(" AND id > ").push_bind(after.as_str().to_owned());
        }
        if let Some(kind) = query.kind {
            sql.push(" AND kind = ").push_bind(kind.as_str());
        }
        sql.push(" ORDER BY id LIMIT ")
            .push_bind(i64::try_from(query.limit).unwrap_or(i64::MAX));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn attachments(&self, id: &IncidentId) -> Result<Vec<Attachment>> {
        let sql = concat!(
            "SELECT ",
            attachment_columns!(),
            " FROM attachments WHERE incident_id = ? ORDER BY id"
        );
        self.all(sql, id.as_str(), attachment_from_row).await
    }

    async fn attachment(
        &self,
        incident: &IncidentId,
        id: &AttachmentId,
    ) -> Result<Option<Attachment>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            attachment_columns!(),
            " FROM attachments WHERE id = ? AND incident_id = ?"
        ))
        .bind(id.as_str())
        .bind(incident.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(attachment_from_row).transpose()
    }

    async fn counts(&self) -> Result<IncidentCounts> {
        // One scan grouped by every counted dimension at once, so the numbers are consistent
        // with each other without a transaction; the groups are few (statuses × types ×
        // urgencies × departments).
        let rows = sqlx::query(
            "SELECT status, kind, urgency, COALESCE(department, ?) AS department, \
             COUNT(*) AS n, \
             SUM(CASE WHEN status = 'resuelto' AND resolved_at IS NOT NULL THEN 1 ELSE 0 END) \
               AS resolved, \
             SUM(CASE WHEN status = 'resuelto' AND resolved_at IS NOT NULL \
               THEN MAX(resolved_at - created_at, 0) ELSE 0 END) AS resolution_ms \
             FROM incidents GROUP BY 1, 2, 3, 4",
        )
        .bind(UNASSIGNED)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut counts = IncidentCounts::new();
        for row in &rows {
            let n = to_u64(number(row, "n")?, "count")?;
            counts.total += n;
            let add = |map: &mut BTreeMap<String, u64>, key: String| {
                *map.entry(key).or_default() += n;
            };
            add(&mut counts.by_status, text(row, "status")?);
            add(&mut counts.by_kind, text(row, "kind")?);
            add(&mut counts.by_urgency, text(row, "urgency")?);
            add(&mut counts.by_department, text(row, "department")?);
            counts.resolved += to_u64(number(row, "resolved")?, "count")?;
            counts.resolution_ms_total += to_u64(number(row, "resolution_ms")?, "duration")?;
        }
        Ok(counts)
    }

    async fn incident_for_alert(&self, alert: &AlertId) -> Result<Option<IncidentId>> {
        let id = sqlx::query_scalar::<_, String>("SELECT id FROM incidents WHERE alert_id = ?")
            .bind(alert.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        id.as_deref()
            .map(IncidentId::parse)
            .transpose()
            .map_err(|e| unreadable(format!("incident id: {e}")))
    }

    async fn incidents_for_alerts(
        &self,
        alerts: &[AlertId],
    ) -> Result<HashMap<AlertId, IncidentId>> {
        let mut links = HashMap::new();
        // Far below SQLite's limit of bound parameters, whatever it was compiled with.
        for chunk in alerts.chunks(500) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT alert_id, id FROM incidents WHERE alert_id IN (");
            let mut ids = query.separated(", ");
            for alert in chunk {
                ids.push_bind(alert.as_str().to_owned());
            }
            query.push(")");
            let rows = query.build().fetch_all(&self.pool).await.map_err(db)?;
            for row in &rows {
                let alert = AlertId::parse(&text(row, "alert_id")?)
                    .map_err(|e| unreadable(format!("alert id: {e}")))?;
                let incident = IncidentId::parse(&text(row, "id")?)
                    .map_err(|e| unreadable(format!("incident id: {e}")))?;
                links.insert(alert, incident);
            }
        }
        Ok(links)
    }
}
