//! Records written with their ids, versions and times as they are: the receiving side of a
//! move from another backend.
//!
//! Each record becomes the items the store's own writes would have left for it (a user and
//! its email guard, an alert with its history and its fingerprint item, one stream segment
//! per entry), so the store reads them back like any other. An import reads the items at the
//! records' keys first (`BatchGetItem`, strongly consistent): an item there with the same
//! content is left alone, one with other content stops the import before anything of the
//! batch is written, and the missing ones are put one by one with `attribute_not_exists`. A
//! record of two items (a user and its guard, an alert and its fingerprint item) cut in half
//! by an interruption is completed by the next import, which finds the half there.

use std::collections::HashMap;

use alerta_core::domain::{AlertCounts, IncidentCounts, StreamHead};
use alerta_core::ports::{Imported, Record, RecordKind, RecordSink};
use alerta_core::{ConflictKind, Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::try_join_all;

use super::counts::{Counted, Tally};
use super::error::{self, conditional, unreadable};
use super::item::{Item, ItemBuilder, Reader, from_json, n, s, time};
use super::query::{self, BATCH_GET_MAX, Expression, ScanOptions};
use super::{DynamoStore, alerts, incidents, outbox, silences, stream, users};

/// How many puts an import has in flight at once.
const PUTS_AT_ONCE: usize = 16;

/// One item a record becomes: its table, its key attributes and the item.
struct Planned {
    table: String,
    keys: &'static [&'static str],
    item: Item,
}

impl Planned {
    fn key(&self) -> Item {
        self.keys
            .iter()
            .filter_map(|k| self.item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect()
    }

    /// The key as one text, to find the item among those read.
    fn key_text(&self) -> String {
        key_text(&self.item, self.keys)
    }
}

fn key_text(item: &Item, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| match item.get(*k) {
            Some(AttributeValue::S(text)) => text.as_str(),
            _ => "",
        })
        .collect::<Vec<_>>()
        .join("\u{0}")
}

/// What the record is, for a message: its kind and key.
fn describe(record: &Record) -> String {
    format!("{} {}", record.kind().as_str(), record.export_key())
}

impl DynamoStore {
    /// The items `record` becomes.
    fn plan_record(&self, record: &Record) -> Result<Vec<Planned>> {
        let names = &self.names;
        let one = |table: &String, keys: &'static [&'static str], item: Item| Planned {
            table: table.clone(),
            keys,
            item,
        };
        Ok(match record {
            Record::User(user) => {
                let guard = ItemBuilder::new()
                    .set("user_id", s(format!("email#{}", user.user.email)))
                    .set("owner", s(user.user.id.as_str()))
                    .set("email", s(user.user.email.as_str()))
                    .build();
                vec![
                    one(&names.users, &["user_id"], users::user_item(user)),
                    one(&names.users, &["user_id"], guard),
                ]
            }
            Record::Department(department) => vec![one(
                &names.departments,
                &["nombre"],
                ItemBuilder::new()
                    .set("nombre", s(department.name.as_str()))
                    .set("email", s(department.email.as_str()))
                    .build(),
            )],
            Record::Incident(incident) => vec![one(
                &names.incidents,
                &["incident_id"],
                incidents::incident_item(incident),
            )],
            Record::IncidentEvent(event) => vec![one(
                &names.events,
                &["incident_id", "event_id"],
                incidents::event_item(event)?,
            )],
            Record::Attachment(attachment) => vec![one(
                &names.attachments,
                &["incident_id", "attachment_id"],
                incidents::attachment_item(attachment),
            )],
            Record::Alert { alert, history } => {
                let mut item = alerts::alert_item(alert);
                if !history.is_empty() {
                    let events = history
                        .iter()
                        .map(|event| {
                            serde_json::to_value(event)
                                .map(|v| from_json(&v))
                                .map_err(|e| {
                                    unreadable("alert", format!("event cannot be encoded: {e}"))
                                })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    item.insert("history".into(), AttributeValue::L(events));
                }
                let mut pointer = alerts::fingerprint_key(&alert.fingerprint());
                pointer.insert("group".into(), s(alert.id.as_str()));
                vec![
                    one(&names.alerts, &["id"], item),
                    one(&names.alert_occurrences, &["alert_id", "id"], pointer),
                ]
            }
            Record::AlertOccurrence { group, occurrences } => vec![one(
                &names.alert_occurrences,
                &["alert_id", "id"],
                ItemBuilder::new()
                    .set("alert_id", s(group.as_str()))
                    .set("id", s(occurrences.id.as_str()))
                    .set("at", time(occurrences.at))
                    .set("count", n(occurrences.count))
                    .build(),
            )],
            Record::AlertIncident { alert, incident } => vec![one(
                &names.alert_incidents,
                &["alert_id"],
                ItemBuilder::new()
                    .set("alert_id", s(alert.as_str()))
                    .set("incident_id", s(incident.as_str()))
                    .build(),
            )],
            Record::Silence(silence) => {
                vec![one(
                    &names.silences,
                    &["id"],
                    silences::silence_item(silence)?,
                )]
            }
            Record::Setting { name, value } => vec![one(
                &names.counters,
                &["nombre"],
                ItemBuilder::new()
                    .set("nombre", s(format!("ajuste#{name}")))
                    .set("valor", s(value))
                    .build(),
            )],
            Record::Mail(mail) => vec![one(&names.outbox, &["id"], outbox::mail_item(mail))],
            Record::Assignment(entry) => vec![one(
                &names.report_ledger,
                &["event_id"],
                ItemBuilder::new()
                    .set("event_id", s(entry.event_id.as_str()))
                    .set("holder", s(&entry.holder))
                    .set("lease_until", n(entry.lease_until.unix_millis()))
                    .set("done", AttributeValue::Bool(entry.done_at.is_some()))
                    .set_opt("completed_at", entry.done_at.map(time))
                    .build(),
            )],
            // One segment per entry, a write of its own: where the source's writes began
            // and ended is not kept, and retention then trims entry by entry.
            Record::Stream(entry) => vec![one(
                &names.stream_log,
                &["pk", "sk"],
                ItemBuilder::new()
                    .set("pk", s(stream::SEGMENTS))
                    .set("sk", s(stream::segment_sort_key(entry.position)))
                    .set("first", n(entry.position))
                    .set("write_first", n(entry.position))
                    .set("latest", n(entry.message.at.unix_millis()))
                    .set(
                        "records",
                        AttributeValue::L(vec![s(entry.message.to_record())]),
                    )
                    .build(),
            )],
        })
    }

    /// The items at `keys` of `table`, by key text, strongly consistent.
    async fn items_at(
        &self,
        table: &str,
        keys: Vec<Item>,
        key_names: &[&str],
    ) -> Result<HashMap<String, Item>> {
        let items = query::get_all(&self.client, table, keys, &[]).await?;
        Ok(items
            .into_iter()
            .map(|item| (key_text(&item, key_names), item))
            .collect())
    }

    /// How many items of `table` pass `filter`.
    async fn count_items(
        &self,
        table: &str,
        key: &str,
        filter: Option<(String, Expression)>,
    ) -> Result<u64> {
        let items = query::scan_all(
            &self.client,
            table,
            ScanOptions {
                attributes: &[key],
                filter,
            },
        )
        .await?;
        Ok(items.len() as u64)
    }

    /// `filter` on `attribute` with its placeholders filled in.
    fn text_filter(condition: &str, attribute: &str, value: &str) -> (String, Expression) {
        let mut expression = Expression::new();
        let name = expression.name(attribute);
        let placeholder = expression.value(attribute, s(value));
        let filter = condition
            .replace("{name}", &name)
            .replace("{value}", &placeholder);
        (filter, expression)
    }
}

#[async_trait]
impl RecordSink for DynamoStore {
    fn import_batch(&self) -> usize {
        // Two items at most per record: each table's keys fit one `BatchGetItem`.
        BATCH_GET_MAX
    }

    async fn adopt_stream(&self, origin: StreamHead) -> Result<()> {
        let table = &self.names.stream_log;
        let counter = ItemBuilder::new()
            .set("pk", s(stream::COUNTER))
            .set("sk", s(stream::COUNTER))
            .set("epoch", n(origin.epoch))
            .set("position", n(origin.head))
            .build();
        // Made, or taken over from an empty log (`alerta aws bootstrap` makes one), or kept
        // when it already continues this source; never lowered.
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(counter))
            .condition_expression(
                "attribute_not_exists(#pk) OR #position = :zero OR \
                 (#epoch = :epoch AND #position <= :head)",
            )
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#position", "position")
            .expression_attribute_names("#epoch", "epoch")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":epoch", n(origin.epoch))
            .expression_attribute_values(":head", n(origin.head))
            .send()
            .await;
        if conditional("put_item", result)?.is_some() {
            return Ok(());
        }
        let stored = self
            .get(table, stream::counter_key())
            .await?
            .ok_or_else(|| error::other("the stream counter vanished"))?;
        let r = Reader::new(&stored, "stream counter");
        let (epoch, head): (u64, u64) = (r.number("epoch")?, r.number("position")?);
        if epoch == origin.epoch {
            // Written to since it was moved: it goes on from the source's head.
            return Ok(());
        }
        Err(Error::conflict(
            ConflictKind::Duplicate,
            format!(
                "the target's stream log has epoch {epoch} and {head} positions: it holds \
                 messages that did not come from this source (epoch {})",
                origin.epoch
            ),
        ))
    }

    async fn import_records(&self, records: Vec<Record>) -> Result<Imported> {
        let mut planned = Vec::with_capacity(records.len());
        for record in &records {
            planned.push(self.plan_record(record)?);
        }
        // What is stored at every key, table by table.
        let mut by_table: HashMap<&str, (Vec<Item>, &'static [&'static str])> = HashMap::new();
        for item in planned.iter().flatten() {
            by_table
                .entry(item.table.as_str())
                .or_insert_with(|| (Vec::new(), item.keys))
                .0
                .push(item.key());
        }
        let mut stored: HashMap<&str, HashMap<String, Item>> = HashMap::new();
        for (table, (keys, key_names)) in by_table {
            stored.insert(table, self.items_at(table, keys, key_names).await?);
        }

        let mut imported = Imported::default();
        let mut missing: Vec<Vec<&Planned>> = Vec::new();
        for (record, items) in records.iter().zip(&planned) {
            let mut absent = Vec::new();
            for item in items {
                match stored
                    .get(item.table.as_str())
                    .and_then(|t| t.get(&item.key_text()))
                {
                    None => absent.push(item),
                    Some(there) if *there == item.item => {}
                    Some(_) => {
                        return Err(Error::conflict(
                            ConflictKind::Duplicate,
                            format!(
                                "{} is already in table {} with other content: the target \
                                 holds data that did not come from this source",
                                describe(record),
                                item.table
                            ),
                        ));
                    }
                }
            }
            if absent.is_empty() {
                imported.present += 1;
            } else {
                imported.written += 1;
                missing.push(absent);
            }
        }

        // Single conditional puts, a few at a time: a transaction would bind items of
        // unrelated records together for nothing, and costs twice the write units.
        let items: Vec<&Planned> = missing.into_iter().flatten().collect();
        for chunk in items.chunks(PUTS_AT_ONCE) {
            try_join_all(chunk.iter().map(|item| self.put_missing(item))).await?;
        }
        Ok(imported)
    }

    async fn import_counts(&self, incidents: &IncidentCounts, alerts: &AlertCounts) -> Result<()> {
        self.set_counts(Counted::Incidents, &Tally::of(incidents)?)
            .await?;
        self.set_counts(Counted::Alerts, &Tally::of(alerts)?).await
    }

    async fn count_records(&self, kind: RecordKind) -> Result<u64> {
        let names = &self.names;
        match kind {
            RecordKind::Users => {
                let filter =
                    Self::text_filter("NOT begins_with({name}, {value})", "user_id", "email#");
                self.count_items(&names.users, "user_id", Some(filter))
                    .await
            }
            RecordKind::Departments => self.count_items(&names.departments, "nombre", None).await,
            RecordKind::Incidents => {
                self.count_items(&names.incidents, "incident_id", None)
                    .await
            }
            RecordKind::IncidentEvents => self.count_items(&names.events, "event_id", None).await,
            RecordKind::Attachments => {
                self.count_items(&names.attachments, "attachment_id", None)
                    .await
            }
            RecordKind::Alerts => self.count_items(&names.alerts, "id", None).await,
            RecordKind::AlertOccurrences => {
                let filter = Self::text_filter(
                    "NOT begins_with({name}, {value})",
                    "alert_id",
                    "fingerprint#",
                );
                self.count_items(&names.alert_occurrences, "id", Some(filter))
                    .await
            }
            RecordKind::AlertIncidents => {
                self.count_items(&names.alert_incidents, "alert_id", None)
                    .await
            }
            RecordKind::Silences => self.count_items(&names.silences, "id", None).await,
            RecordKind::Settings => {
                let filter = Self::text_filter("begins_with({name}, {value})", "nombre", "ajuste#");
                self.count_items(&names.counters, "nombre", Some(filter))
                    .await
            }
            RecordKind::Mails => self.count_items(&names.outbox, "id", None).await,
            RecordKind::Assignments => {
                self.count_items(&names.report_ledger, "event_id", None)
                    .await
            }
            RecordKind::Stream => {
                let filter = Self::text_filter("{name} = {value}", "pk", stream::SEGMENTS);
                let segments = query::scan_all(
                    &self.client,
                    &names.stream_log,
                    ScanOptions {
                        attributes: &["records"],
                        filter: Some(filter),
                    },
                )
                .await?;
                Ok(segments
                    .iter()
                    .map(|item| match item.get("records") {
                        Some(AttributeValue::L(records)) => records.len() as u64,
                        _ => 0,
                    })
                    .sum())
            }
        }
    }
}

impl DynamoStore {
    /// Puts an item that was missing a moment ago, on condition that it still is.
    async fn put_missing(&self, item: &Planned) -> Result<()> {
        let result = self
            .client
            .put_item()
            .table_name(&item.table)
            .set_item(Some(item.item.clone()))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", item.keys[0])
            .send()
            .await;
        match conditional("put_item", result)? {
            Some(_) => Ok(()),
            None => Err(Error::conflict(
                ConflictKind::Duplicate,
                format!(
                    "another writer stored an item of table {} during the import: stop every \
                     server on the target and run the import again",
                    item.table
                ),
            )),
        }
    }
}
