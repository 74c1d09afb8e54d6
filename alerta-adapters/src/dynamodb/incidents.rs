//! Incidents, their history and attachment metadata.

use std::collections::{BTreeSet, HashMap, HashSet};

use alerta_core::domain::{
    AlertId, Appended, Attachment, AttachmentId, Change, DepartmentName, Description, EventId,
    EventKind, FileName, Incident, IncidentCounts, IncidentEvent, IncidentFilter, IncidentId,
    IncidentParts, IncidentType, Location, MediaType, Page, PageRequest, Status, Urgency, UserId,
};
use alerta_core::ports::{EventQuery, IncidentChange, IncidentStore};
use alerta_core::{ConflictKind, Error, Result};
use async_trait::async_trait;
use serde_json::{Value, json};

use super::counts::{Counted, Tally};
use super::cursor::{self, List};
use super::error::unreadable;
use super::item::{Item, ItemBuilder, Reader, from_json, n, s, time};
use super::keyed::key;
use super::query::{self, Expression, Order, PartitionQuery};
use super::stream::PendingLog;
use super::transaction::{self, MAX_ITEMS};
use super::{DynamoStore, outbox};

pub(super) const BY_REPORTER: &str = "by_reporter";
pub(super) const BY_DEPARTMENT: &str = "by_department";
pub(super) const BY_STATUS: &str = "by_status";
pub(super) const BY_KIND: &str = "by_kind";

const EVENT_KINDS: [EventKind; 5] = [
    EventKind::Created,
    EventKind::StatusChanged,
    EventKind::CommentAdded,
    EventKind::DepartmentAssigned,
    EventKind::AttachmentAdded,
];

/// The lower-cased text `q` searches, one field per line: `q` holds no line break, so a
/// match never spans two fields.
fn search_text(incident: &Incident) -> String {
    format!(
        "{}\n{}\n{}",
        incident.description().as_str().to_lowercase(),
        incident.location().as_str().to_lowercase(),
        incident.kind().as_str().to_lowercase()
    )
}

pub(super) fn incident_item(incident: &Incident) -> Item {
    ItemBuilder::new()
        .set("incident_id", s(incident.id().as_str()))
        .set("tipo", s(incident.kind().as_str()))
        .set("descripcion", s(incident.description().as_str()))
        .set("ubicacion", s(incident.location().as_str()))
        .set("urgencia", s(incident.urgency().as_str()))
        .set("estado", s(incident.status().as_str()))
        .set_opt("departamento", incident.department().map(|d| s(d.as_str())))
        .set("reportado_por", s(incident.reported_by().as_str()))
        .set("created_at", time(incident.created_at()))
        .set("updated_at", time(incident.updated_at()))
        .set_opt("resolved_at", incident.resolved_at().map(time))
        .set("version", n(incident.version()))
        .set("search", s(search_text(incident)))
        .set_opt("alert_id", incident.alert_id().map(|a| s(a.as_str())))
        .build()
}

pub(super) fn incident_from_item(item: &Item) -> Result<Incident> {
    let r = Reader::new(item, "incident");
    Ok(Incident::restore(IncidentParts {
        id: r.parsed("incident_id", IncidentId::parse)?,
        kind: r.string("tipo")?.to_owned(),
        description: r.parsed("descripcion", Description::parse)?,
        location: r.parsed("ubicacion", Location::parse)?,
        urgency: r.parsed("urgencia", Urgency::parse)?,
        status: r.parsed("estado", Status::parse)?,
        department: r.opt_parsed("departamento", DepartmentName::parse)?,
        reported_by: r.parsed("reportado_por", UserId::parse)?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        resolved_at: r.opt_time("resolved_at")?,
        version: r.number("version")?,
        alert_id: r.opt_parsed("alert_id", AlertId::parse)?,
    }))
}

pub(super) fn event_item(event: &IncidentEvent) -> Result<Item> {
    // The change serialises as `{tipo_evento, detalle}`, the wire shape of the original table.
    let change = serde_json::to_value(&event.change)
        .map_err(|e| unreadable("event", format!("change cannot be encoded: {e}")))?;
    let detail = change.get("detalle").cloned().unwrap_or_else(|| json!({}));
    Ok(ItemBuilder::new()
        .set("incident_id", s(event.incident_id.as_str()))
        .set("event_id", s(event.event_id.as_str()))
        .set("tipo_evento", s(event.change.kind().as_str()))
        .set("detalle", from_json(&detail))
        .set("actor", s(event.actor.as_str()))
        .set("created_at", time(event.created_at))
        .build())
}

fn event_from_item(item: &Item) -> Result<IncidentEvent> {
    let r = Reader::new(item, "event");
    let kind = r.string("tipo_evento")?;
    let detail = r.json("detalle")?;
    let change: Change = serde_json::from_value(json!({"tipo_evento": kind, "detalle": detail}))
        .map_err(|e| unreadable("event", format!("tipo_evento/detalle: {e}")))?;
    Ok(IncidentEvent {
        event_id: r.parsed("event_id", EventId::parse)?,
        incident_id: r.parsed("incident_id", IncidentId::parse)?,
        change,
        actor: r.parsed("actor", UserId::parse)?,
        created_at: r.time("created_at")?,
    })
}

pub(super) fn attachment_item(attachment: &Attachment) -> Item {
    ItemBuilder::new()
        .set("incident_id", s(attachment.incident_id.as_str()))
        .set("attachment_id", s(attachment.attachment_id.as_str()))
        .set("filename", s(attachment.filename.as_str()))
        .set("content_type", s(attachment.content_type.as_str()))
        .set("size", n(attachment.size))
        .set("sha256", s(attachment.sha256.as_str()))
        .set("created_at", time(attachment.created_at))
        .build()
}

fn attachment_from_item(item: &Item) -> Result<Attachment> {
    let r = Reader::new(item, "attachment");
    let media = r.string("content_type")?;
    let content_type: MediaType = serde_json::from_value(Value::String(media.to_owned()))
        .map_err(|_| unreadable("attachment", format!("unknown content type {media:?}")))?;
    Ok(Attachment {
        attachment_id: r.parsed("attachment_id", AttachmentId::parse)?,
        incident_id: r.parsed("incident_id", IncidentId::parse)?,
        filename: r.parsed("filename", FileName::parse)?,
        content_type,
        size: r.number("size")?,
        sha256: r.string("sha256")?.to_owned(),
        created_at: r.time("created_at")?,
    })
}

/// The refusal of a change of `size` items where a transaction has room for `room`.
fn too_large(size: usize, room: usize) -> Error {
    Error::invalid(
        "change",
        format!(
            "a change of {size} items is more than one DynamoDB transaction holds beside the \
             stream log and the counts ({room})"
        ),
    )
}

/// Refuses a change that names one id twice: DynamoDB would refuse the whole transaction
/// as malformed, which is a duplicate in the port's terms.
fn distinct<'a>(what: &str, ids: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(Error::duplicate(what));
        }
    }
    Ok(())
}

impl DynamoStore {
    /// The query a list of incidents under `filter` makes, with the filter expression for
    /// what the chosen index does not key on, and the partitions it reads.
    fn incident_query(
        &self,
        filter: &IncidentFilter,
        start_after: Option<String>,
        page_size: usize,
    ) -> (PartitionQuery<'_>, Vec<String>) {
        let (index, key_attribute, partitions): (&str, &str, Vec<String>) =
            if let Some(reporter) = &filter.reported_by {
                (BY_REPORTER, "reportado_por", vec![reporter.to_string()])
            } else if let Some(department) = &filter.department {
                (BY_DEPARTMENT, "departamento", vec![department.to_string()])
            } else if let Some(status) = filter.status {
                (BY_STATUS, "estado", vec![status.as_str().to_owned()])
            } else {
                let all = Status::ALL.iter().map(|s| s.as_str().to_owned()).collect();
                (BY_STATUS, "estado", all)
            };
        let mut expression = Expression::new();
        let mut equals = |attribute: &str, value: Option<&str>| {
            if let Some(value) = value.filter(|_| attribute != key_attribute) {
                expression.filter_equals(attribute, value);
            }
        };
        equals("estado", filter.status.map(Status::as_str));
        equals("tipo", filter.kind.as_ref().map(IncidentType::as_str));
        equals("urgencia", filter.urgency.map(Urgency::as_str));
        equals(
            "departamento",
            filter.department.as_ref().map(DepartmentName::as_str),
        );
        equals(
            "reportado_por",
            filter.reported_by.as_ref().map(UserId::as_str),
        );
        if let Some(q) = &filter.text {
            expression.filter_contains("search", &q.as_str().to_lowercase());
        }
        let query = PartitionQuery {
            table: &self.names.incidents,
            index: Some(index),
            partition_attribute: key_attribute,
            sort_attribute: "incident_id",
            start_after,
            order: Order::Descending,
            filter: expression,
            page_size,
        };
        (query, partitions)
    }
}

#[async_trait]
impl IncidentStore for DynamoStore {
    async fn commit(&self, change: IncidentChange) -> Result<Appended> {
        let messages = change.stream_messages();
        let IncidentChange {
            incident,
            expected_version,
            events,
            attachments,
            mails,
        } = change;
        distinct("event", events.iter().map(|e| e.event_id.as_str()))?;
        distinct(
            "attachment",
            attachments.iter().map(|a| a.attachment_id.as_str()),
        )?;
        distinct("mail", mails.iter().map(|m| m.id.as_str()))?;
        // A new incident opened from an alert claims the alert in the same transaction.
        let link = match (expected_version, incident.alert_id()) {
            (None, Some(alert)) => Some(alert.clone()),
            _ => None,
        };
        // A link is its item and a check that the alert is stored (retention may remove it).
        let size =
            1 + events.len() + attachments.len() + mails.len() + 2 * usize::from(link.is_some());
        if size > Self::MAX_CHANGE_ITEMS {
            return Err(too_large(size, Self::MAX_CHANGE_ITEMS));
        }
        // The change's part in the counts: the stored incident's out, the new one's in. The
        // put below is conditioned on the version read here, so the difference is exact.
        let before = match expected_version {
            None => Tally::default(),
            Some(expected) => match self.incident(incident.id()).await? {
                Some(stored) if stored.version() == expected => Tally::incident(&stored)?,
                _ => return Err(Error::stale_version()),
            },
        };
        let count = self.count_item(
            Counted::Incidents,
            &Tally::incident(&incident)?.minus(before),
        )?;
        let version = expected_version.map(|v| v.to_string()).unwrap_or_default();
        let ids = [incident.id().as_str(), version.as_str()]
            .into_iter()
            .chain(events.iter().map(|e| e.event_id.as_str()))
            .chain(attachments.iter().map(|a| a.attachment_id.as_str()))
            .chain(mails.iter().map(|m| m.id.as_str()));
        let log = PendingLog::new("change", &messages, ids)?;
        // Messages over one segment take room from the change's own items.
        let room = MAX_ITEMS - log.actions() - usize::from(count.is_some());
        if size > room {
            return Err(too_large(size, room));
        }

        let mut items = Vec::with_capacity(size);
        let names = &self.names;
        items.push(match expected_version {
            None => {
                transaction::put_new(&names.incidents, incident_item(&incident), "incident_id")?
            }
            Some(version) => transaction::put(
                &names.incidents,
                incident_item(&incident),
                "#version = :expected",
                &[("#version", "version")],
                &[(":expected", n(version))],
            )?,
        });
        for event in &events {
            items.push(transaction::put_new(
                &names.events,
                event_item(event)?,
                "event_id",
            )?);
        }
        for attachment in &attachments {
            items.push(transaction::put_new(
                &names.attachments,
                attachment_item(attachment),
                "attachment_id",
            )?);
        }
        for mail in &mails {
            items.push(transaction::put_new(
                &names.outbox,
                outbox::mail_item(mail),
                "id",
            )?);
        }
        if let Some(alert) = &link {
            items.push(transaction::put_new(
                &names.alert_incidents,
                ItemBuilder::new()
                    .set("alert_id", s(alert.as_str()))
                    .set("incident_id", s(incident.id().as_str()))
                    .build(),
                "alert_id",
            )?);
            items.push(transaction::condition_check(
                &names.alerts,
                key(&[("id", alert.as_str())]),
                "attribute_exists(#id)",
                &[("#id", "id")],
            )?);
        }
        items.extend(count);

        let cancelled = match self.write_with_log(items, &log).await? {
            Ok(appended) => return Ok(appended),
            Err(cancelled) => cancelled,
        };
        if cancelled.failed(0) {
            return Err(match expected_version {
                None => Error::duplicate("incident"),
                Some(_) => Error::stale_version(),
            });
        }
        if link.is_some() && cancelled.failed(size - 1) {
            return Err(Error::NotFound("alert"));
        }
        if link.is_some() && cancelled.failed(size - 2) {
            return Err(Error::conflict(
                ConflictKind::AlreadyLinked,
                "an incident was already opened from this alert",
            ));
        }
        let events_end = 1 + events.len();
        let attachments_end = events_end + attachments.len();
        let first = (1..size).find(|n| cancelled.failed(*n)).unwrap_or(size);
        let what = if first < events_end {
            "event"
        } else if first < attachments_end {
            "attachment"
        } else {
            "mail"
        };
        Err(Error::duplicate(what))
    }

    async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>> {
        let key = key(&[("incident_id", id.as_str())]);
        let item = self.get(&self.names.incidents, key).await?;
        item.as_ref().map(incident_from_item).transpose()
    }

    async fn incidents(
        &self,
        filter: &IncidentFilter,
        page: &PageRequest,
    ) -> Result<Page<Incident>> {
        let start = cursor::position(List::Incidents, page)?;
        let take = page.limit.get() + 1;
        let (query, partitions) = self.incident_query(filter, start, take);
        let items = query::merge_partitions(&self.client, &query, partitions, take).await?;
        let incidents = items
            .iter()
            .map(incident_from_item)
            .collect::<Result<Vec<_>>>()?;
        Ok(cursor::page(List::Incidents, incidents, page, |i| {
            i.id().as_str()
        }))
    }

    async fn history(&self, id: &IncidentId) -> Result<Vec<IncidentEvent>> {
        let items =
            query::whole_partition(&self.client, &self.names.events, "incident_id", id.as_str())
                .await?;
        items.iter().map(event_from_item).collect()
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<IncidentEvent>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let kinds = query.kind.map_or(EVENT_KINDS.to_vec(), |kind| vec![kind]);
        let by_kind = PartitionQuery {
            table: &self.names.events,
            index: Some(BY_KIND),
            partition_attribute: "tipo_evento",
            sort_attribute: "event_id",
            start_after: query.after.as_ref().map(|id| id.to_string()),
            order: Order::Ascending,
            filter: Expression::new(),
            page_size: query.limit,
        };
        let partitions = kinds.iter().map(|kind| kind.as_str().to_owned());
        let items =
            query::merge_partitions(&self.client, &by_kind, partitions, query.limit).await?;
        items.iter().map(event_from_item).collect()
    }

    async fn attachments(&self, id: &IncidentId) -> Result<Vec<Attachment>> {
        let items = query::whole_partition(
            &self.client,
            &self.names.attachments,
            "incident_id",
            id.as_str(),
        )
        .await?;
        items.iter().map(attachment_from_item).collect()
    }

    async fn attachment(
        &self,
        incident: &IncidentId,
        id: &AttachmentId,
    ) -> Result<Option<Attachment>> {
        let key = key(&[
            ("incident_id", incident.as_str()),
            ("attachment_id", id.as_str()),
        ]);
        let item = self.get(&self.names.attachments, key).await?;
        item.as_ref().map(attachment_from_item).transpose()
    }

    async fn counts(&self) -> Result<IncidentCounts> {
        self.read_counts(Counted::Incidents, IncidentCounts::new())
            .await
    }

    async fn incident_for_alert(&self, alert: &AlertId) -> Result<Option<IncidentId>> {
        let key = key(&[("alert_id", alert.as_str())]);
        let item = self.get(&self.names.alert_incidents, key).await?;
        item.as_ref()
            .map(|item| Reader::new(item, "alert link").parsed("incident_id", IncidentId::parse))
            .transpose()
    }

    async fn incidents_for_alerts(
        &self,
        alerts: &[AlertId],
    ) -> Result<HashMap<AlertId, IncidentId>> {
        let wanted: BTreeSet<&str> = alerts.iter().map(AlertId::as_str).collect();
        let keys = wanted
            .into_iter()
            .map(|alert| key(&[("alert_id", alert)]))
            .collect();
        let items = query::get_all(
            &self.client,
            &self.names.alert_incidents,
            keys,
            &["alert_id", "incident_id"],
        )
        .await?;
        items
            .iter()
            .map(|item| {
                let link = Reader::new(item, "alert link");
                Ok((
                    link.parsed("alert_id", AlertId::parse)?,
                    link.parsed("incident_id", IncidentId::parse)?,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alerta_core::domain::{CommentText, Note, Timestamp};

    #[test]
    fn every_kind_of_event_round_trips_through_its_item() {
        let changes = [
            Change::Created {},
            Change::StatusChanged {
                from: Status::Pending,
                to: Status::Resolved,
                note: Some(Note::parse("hecho").unwrap()),
            },
            Change::StatusChanged {
                from: Status::Resolved,
                to: Status::InProgress,
                note: None,
            },
            Change::CommentAdded {
                text: CommentText::parse("línea 1\nlínea 2").unwrap(),
            },
            Change::DepartmentAssigned {
                department: DepartmentName::parse("TI").unwrap(),
            },
            Change::AttachmentAdded {
                attachment_id: AttachmentId::parse("A1").unwrap(),
                filename: "foto.png".into(),
            },
        ];
        for change in changes {
            let event = IncidentEvent {
                event_id: EventId::parse("E1").unwrap(),
                incident_id: IncidentId::parse("I1").unwrap(),
                change,
                actor: UserId::parse("U1").unwrap(),
                created_at: Timestamp::from_unix_millis(1_795_342_530_123),
            };
            let item = event_item(&event).unwrap();
            assert_eq!(event_from_item(&item).unwrap(), event);
        }
    }
}
