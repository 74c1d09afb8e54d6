//! Alerts, spread over a few partitions of a time-ordered index.

use std::collections::HashSet;

use alerta_core::domain::{
    Alert, AlertCounts, AlertDraft, AlertEvent, AlertFilter, AlertId, AlertMessage, AlertSource,
    AlertState, AlertStatus, Appended, Channel, Page, PageRequest, Severity, StreamMessage,
};
use alerta_core::ports::{AlertStore, AlertTransition, AlertWrite};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::counts::{Counted, Tally};
use super::cursor::{self, List};
use super::error::unreadable;
use super::item::{Item, ItemBuilder, Reader, from_json, n, s, time};
use super::keyed::key;
use super::query::{self, Expression, Order, Partition, PartitionQuery};
use super::stream::PendingLog;
use super::transaction::{self, MAX_ITEMS};
use super::{DynamoStore, outbox};

pub(super) const BY_TIME: &str = "by_time";

/// How many partitions of `by_time` alerts are spread over. Readers merge all of them, so
/// the number is part of the stored format: changing it needs the old items rewritten.
const SHARDS: u32 = 4;

/// The partition of `by_time` an alert lives in: a hash of its id, so consecutive alerts
/// land in different partitions.
fn shard_of(id: &str) -> String {
    // FNV-1a: stable across versions and platforms, unlike the standard library's hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % SHARDS).to_string()
}

/// The lower-cased text `q` searches: the source, then the message. `q` holds no line break
/// and a source none either, so a match lies within one field.
fn search_text(alert: &Alert) -> String {
    format!(
        "{}\n{}",
        alert.source.as_str().to_lowercase(),
        alert.message.as_str().to_lowercase()
    )
}

fn alert_item(alert: &Alert) -> Item {
    ItemBuilder::new()
        .set("id", s(alert.id.as_str()))
        .set("source", s(alert.source.as_str()))
        .set("severity", s(alert.severity.as_str()))
        .set("message", s(alert.message.as_str()))
        .set("channel", s(alert.channel.as_str()))
        .set("created_at", time(alert.created_at))
        .set("status", s(alert.status().as_str()))
        .set("version", n(alert.version()))
        .set("updated_at", time(alert.updated_at()))
        .set("shard", s(shard_of(alert.id.as_str())))
        .set("search", s(search_text(alert)))
        .set_opt(
            "silenced",
            alert.silenced().then_some(AttributeValue::Bool(true)),
        )
        .build()
}

/// An alert item; one written before alerts had a lifecycle reads as firing at version 1,
/// last changed when it was stored.
pub(super) fn alert_from_item(item: &Item) -> Result<Alert> {
    let r = Reader::new(item, "alert");
    let draft = AlertDraft {
        source: r.parsed("source", AlertSource::parse)?,
        severity: r.parsed("severity", Severity::parse)?,
        message: r.parsed("message", AlertMessage::parse)?,
        channel: r.parsed("channel", Channel::parse)?,
    };
    let created_at = r.time("created_at")?;
    let state = AlertState {
        status: r
            .opt_parsed("status", AlertStatus::parse)?
            .unwrap_or_default(),
        version: r.opt_number("version")?.unwrap_or(1),
        updated_at: r.opt_time("updated_at")?.unwrap_or(created_at),
    };
    // Written only when true, so alerts stored before silences read as not silenced.
    let silenced = matches!(item.get("silenced"), Some(AttributeValue::Bool(true)));
    Ok(
        Alert::restore(r.parsed("id", AlertId::parse)?, draft, created_at, state)
            .with_silenced(silenced),
    )
}

/// The status changes an alert item keeps in its `history` list, oldest first.
///
/// The history lives in the item so that a change is one conditional update beside the stream
/// log, with no table of its own. An alert changes a handful of times (twice at most until
/// repeats are grouped into it), a few hundred bytes each, far below an item's 400 KB.
fn history_from_item(item: &Item) -> Result<Vec<AlertEvent>> {
    if !item.contains_key("history") {
        return Ok(Vec::new());
    }
    let history = Reader::new(item, "alert").json("history")?;
    serde_json::from_value(history).map_err(|e| unreadable("alert", format!("history: {e}")))
}

/// The transaction items of one alert and its mail rows.
fn write_items(store: &DynamoStore, write: &AlertWrite) -> Result<Vec<TransactWriteItem>> {
    let mut items = vec![transaction::put_new(
        &store.names.alerts,
        alert_item(&write.alert),
        "id",
    )?];
    for mail in &write.mails {
        items.push(transaction::put_new(
            &store.names.outbox,
            outbox::mail_item(mail),
            "id",
        )?);
    }
    Ok(items)
}

/// Whole alerts (each with its mail rows) for one transaction, and what they add to the
/// counts.
#[derive(Default)]
struct Chunk<'a> {
    items: Vec<TransactWriteItem>,
    writes: Vec<&'a AlertWrite>,
    tally: Tally,
}

impl Chunk<'_> {
    /// The chunk's items with the update of the counts they make.
    fn transaction(self, store: &DynamoStore) -> Result<Vec<TransactWriteItem>> {
        let mut items = self.items;
        items.extend(store.count_item(Counted::Alerts, &self.tally)?);
        Ok(items)
    }
}

/// What the chunks already committed wrote, to take it back again.
#[derive(Default)]
struct Written {
    alerts: Vec<Item>,
    mails: Vec<Item>,
    tally: Tally,
}

impl Written {
    fn add(&mut self, writes: &[&AlertWrite], tally: Tally) {
        for write in writes {
            self.alerts.push(key(&[("id", write.alert.id.as_str())]));
            self.mails.extend(
                write
                    .mails
                    .iter()
                    .map(|mail| key(&[("id", mail.id.as_str())])),
            );
        }
        self.tally = std::mem::take(&mut self.tally).plus(tally);
    }
}

impl DynamoStore {
    /// Writes one transaction without stream messages; a failed condition means an id was
    /// already stored.
    async fn insert_chunk(&self, items: Vec<TransactWriteItem>) -> Result<()> {
        match transaction::write(&self.client, items, None).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::duplicate("alert or mail")),
        }
    }

    /// Writes the last transaction of a batch, which appends the whole batch's messages.
    async fn insert_last(
        &self,
        items: Vec<TransactWriteItem>,
        log: &PendingLog,
    ) -> Result<Appended> {
        match self.write_with_log(items, log).await? {
            Ok(appended) => Ok(appended),
            Err(_) => Err(Error::duplicate("alert or mail")),
        }
    }

    /// Deletes what earlier chunks of a failed batch wrote, and takes back what they counted,
    /// so the batch ends all or nothing.
    async fn undo(&self, written: Written) -> Result<()> {
        query::delete_all(&self.client, &self.names.alerts, written.alerts).await?;
        query::delete_all(&self.client, &self.names.outbox, written.mails).await?;
        self.add_counts(Counted::Alerts, &written.tally.negated())
            .await
    }

    fn alert_partitions(
        &self,
        filter: &AlertFilter,
        order: Order,
        start_after: Option<String>,
        page_size: usize,
    ) -> Vec<Partition> {
        let mut expression = Expression::new();
        if let Some(severity) = filter.severity {
            expression.filter_equals("severity", severity.as_str());
        }
        if let Some(channel) = filter.channel {
            expression.filter_equals("channel", channel.as_str());
        }
        if let Some(source) = &filter.source {
            expression.filter_equals("source", source.as_str());
        }
        if let Some(q) = &filter.text {
            expression.filter_contains("search", &q.as_str().to_lowercase());
        }
        if let Some(silenced) = filter.silenced {
            let name = expression.name("silenced");
            let condition = if silenced {
                format!("attribute_exists({name})")
            } else {
                format!("attribute_not_exists({name})")
            };
            expression = expression.with_filter(condition);
        }
        let since = filter.since.as_ref().map(|id| id.to_string());
        // Without a cursor the key condition starts after `since` itself; with one, the key
        // condition holds the cursor and the read stops at `since`.
        let (start, floor) = match (start_after, since, order) {
            (Some(cursor), since, _) => (Some(cursor), since),
            (None, Some(since), Order::Descending) => (None, Some(since)),
            (None, since, Order::Ascending) => (since, None),
            (None, None, Order::Descending) => (None, None),
        };
        let by_time = PartitionQuery {
            table: &self.names.alerts,
            index: Some(BY_TIME),
            partition_attribute: "shard",
            sort_attribute: "id",
            start_after: start,
            order,
            filter: expression,
            page_size,
        };
        (0..SHARDS)
            .map(|shard| {
                let partition = Partition::new(&self.client, by_time.clone(), shard.to_string());
                match &floor {
                    Some(floor) if order == Order::Descending => {
                        partition.with_floor("id", floor.clone())
                    }
                    _ => partition,
                }
            })
            .collect()
    }
}

#[async_trait]
impl AlertStore for DynamoStore {
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<Appended> {
        let mut alert_ids = HashSet::new();
        let mut mail_ids = HashSet::new();
        for write in &batch {
            if !alert_ids.insert(write.alert.id.as_str()) {
                return Err(Error::duplicate("alert"));
            }
            for mail in &write.mails {
                if !mail_ids.insert(mail.id.as_str()) {
                    return Err(Error::duplicate("mail"));
                }
            }
        }
        if batch.is_empty() {
            return Ok(Appended::NOTHING);
        }
        let messages: Vec<StreamMessage> = batch.iter().map(AlertWrite::stream_message).collect();
        let ids = batch.iter().flat_map(|write| {
            std::iter::once(write.alert.id.as_str())
                .chain(write.mails.iter().map(|m| m.id.as_str()))
        });
        let log = PendingLog::new("batch", &messages, ids)?;

        // Chunks of whole alerts (each with its mail rows), each leaving room for its counts,
        // the counter and the segments, which go in the last one.
        let room = MAX_ITEMS - log.actions() - 1;
        let mut chunks: Vec<Chunk> = vec![Chunk::default()];
        for write in &batch {
            let items = write_items(self, write)?;
            if items.len() > room {
                return Err(Error::invalid(
                    "batch",
                    "one alert with more mail rows than a DynamoDB transaction holds",
                ));
            }
            let tally = Tally::alert(&write.alert)?;
            let last = chunks
                .last_mut()
                .filter(|chunk| chunk.items.len() + items.len() <= room);
            match last {
                Some(chunk) => {
                    chunk.items.extend(items);
                    chunk.writes.push(write);
                    chunk.tally = std::mem::take(&mut chunk.tally).plus(tally);
                }
                None => chunks.push(Chunk {
                    items,
                    writes: vec![write],
                    tally,
                }),
            }
        }
        let last = chunks.pop().unwrap_or_default().transaction(self)?;
        if chunks.is_empty() {
            return self.insert_last(last, &log).await;
        }

        let mut written = Written::default();
        for chunk in chunks {
            let (writes, tally) = (chunk.writes.clone(), chunk.tally.clone());
            if let Err(error) = self.insert_chunk(chunk.transaction(self)?).await {
                // The batch failed as a whole: the error stands even if undoing fails too.
                let _ = self.undo(written).await;
                return Err(error);
            }
            written.add(&writes, tally);
        }
        match self.insert_last(last, &log).await {
            Ok(appended) => Ok(appended),
            Err(error) => {
                let _ = self.undo(written).await;
                Err(error)
            }
        }
    }

    async fn transition(&self, change: AlertTransition) -> Result<Appended> {
        let AlertTransition {
            alert,
            expected_version,
            event,
            mails,
        } = &change;
        // The history lives in the alert's own item, so an event id is checked against it
        // here; the write below is conditioned on the version read, so nothing changes between.
        let stored = self
            .get(&self.names.alerts, key(&[("id", alert.id.as_str())]))
            .await?
            .ok_or_else(Error::stale_version)?;
        if alert_from_item(&stored)?.version() != *expected_version {
            return Err(Error::stale_version());
        }
        if history_from_item(&stored)?
            .iter()
            .any(|e| e.event_id == event.event_id)
        {
            return Err(Error::duplicate("event"));
        }
        let event_json = serde_json::to_value(event)
            .map_err(|e| unreadable("alert", format!("event cannot be encoded: {e}")))?;
        let update = transaction::update(
            &self.names.alerts,
            key(&[("id", alert.id.as_str())]),
            "SET #status = :status, #version = :version, updated_at = :updated_at, \
             history = list_append(if_not_exists(history, :empty), :event)",
            Some("#version = :expected"),
            &[("#status", "status"), ("#version", "version")],
            &[
                (":status", s(alert.status().as_str())),
                (":version", n(alert.version())),
                (":updated_at", time(alert.updated_at())),
                (":empty", AttributeValue::L(Vec::new())),
                (":event", AttributeValue::L(vec![from_json(&event_json)])),
                (":expected", n(expected_version)),
            ],
        )?;
        let mut items = vec![update];
        for mail in mails {
            items.push(transaction::put_new(
                &self.names.outbox,
                outbox::mail_item(mail),
                "id",
            )?);
        }
        let messages = [change.stream_message()];
        let version = expected_version.to_string();
        let ids = [alert.id.as_str(), version.as_str(), event.event_id.as_str()];
        let log = PendingLog::new("transition", &messages, ids)?;
        match self.write_with_log(items, &log).await? {
            Ok(appended) => Ok(appended),
            Err(cancelled) if cancelled.failed(0) => Err(Error::stale_version()),
            Err(_) => Err(Error::duplicate("mail")),
        }
    }

    async fn alert(&self, id: &AlertId) -> Result<Option<Alert>> {
        let item = self
            .get(&self.names.alerts, key(&[("id", id.as_str())]))
            .await?;
        item.as_ref().map(alert_from_item).transpose()
    }

    async fn history(&self, id: &AlertId) -> Result<Vec<AlertEvent>> {
        let item = self
            .get(&self.names.alerts, key(&[("id", id.as_str())]))
            .await?;
        item.as_ref()
            .map(history_from_item)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn search(&self, filter: &AlertFilter, page: &PageRequest) -> Result<Page<Alert>> {
        let start = cursor::position(List::Alerts, page)?;
        let take = page.limit.get() + 1;
        let partitions = self.alert_partitions(filter, Order::Descending, start, take);
        let items = query::merge(partitions, "id", Order::Descending, take).await?;
        let alerts = items
            .iter()
            .map(alert_from_item)
            .collect::<Result<Vec<_>>>()?;
        Ok(cursor::page(List::Alerts, alerts, page, |a| a.id.as_str()))
    }

    async fn after<'a>(&self, after: Option<&'a AlertId>, limit: usize) -> Result<Vec<Alert>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = AlertFilter {
            since: after.cloned(),
            ..AlertFilter::default()
        };
        let partitions = self.alert_partitions(&filter, Order::Ascending, None, limit);
        let items = query::merge(partitions, "id", Order::Ascending, limit).await?;
        items.iter().map(alert_from_item).collect()
    }

    async fn counts(&self) -> Result<AlertCounts> {
        self.read_counts(Counted::Alerts, AlertCounts::new()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_all_used() {
        assert_eq!(
            shard_of("01JD2Z9R1K7Q3C6ZP0S8T4W5XY"),
            shard_of("01JD2Z9R1K7Q3C6ZP0S8T4W5XY")
        );
        let used: HashSet<String> = (0..100).map(|n| shard_of(&format!("01JD{n:04}"))).collect();
        assert_eq!(used.len(), SHARDS as usize);
    }

    #[test]
    fn an_item_written_before_the_lifecycle_reads_as_firing_at_version_one() {
        let created = alerta_core::domain::Timestamp::from_unix_millis(1_795_342_530_123);
        let old = ItemBuilder::new()
            .set("id", s("01JD2Z9R1K7Q3C6ZP0S8T4W5XY"))
            .set("source", s("ups_3"))
            .set("severity", s("error"))
            .set("message", s("baja"))
            .set("channel", s("tcp"))
            .set("created_at", time(created))
            .build();
        let alert = alert_from_item(&old).unwrap();
        assert_eq!(alert.status(), AlertStatus::Firing);
        assert_eq!((alert.version(), alert.updated_at()), (1, created));
        assert!(history_from_item(&old).unwrap().is_empty());
        // And one written now reads back whole.
        assert_eq!(alert_from_item(&alert_item(&alert)).unwrap(), alert);
    }
}
