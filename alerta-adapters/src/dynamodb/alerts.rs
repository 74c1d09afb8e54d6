//! Alerts, spread over a few partitions of a time-ordered index.

use std::collections::HashSet;

use std::collections::HashMap;

use alerta_core::domain::{
    Alert, AlertCounts, AlertDraft, AlertEvent, AlertFilter, AlertId, AlertMessage, AlertSource,
    AlertState, AlertStatus, Appended, Channel, Fingerprint, GroupState, Grouping, Occurrences,
    Page, PageRequest, Severity, StreamMessage, Timestamp,
};
use alerta_core::ports::{AlertStore, AlertTransition, AlertWrite, GroupedAlert, Inserted};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::TransactWriteItem;
use futures_util::future::try_join_all;

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

/// The index of resolved alerts by when they last changed, which retention reads: sparse,
/// since only a resolved alert has `resolved` (its `shard`), so it holds nothing else.
pub(super) const BY_RESOLUTION: &str = "by_resolution";

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

pub(super) fn alert_item(alert: &Alert) -> Item {
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
        .set("fingerprint", s(alert.fingerprint().as_str()))
        .set("count", n(alert.count()))
        .set("first_seen", time(alert.first_seen()))
        .set("last_seen", time(alert.last_seen()))
        .set("shard", s(shard_of(alert.id.as_str())))
        .set_opt(
            "resolved",
            (alert.status() == AlertStatus::Resolved).then(|| s(shard_of(alert.id.as_str()))),
        )
        .set("search", s(search_text(alert)))
        .set_opt(
            "silenced",
            alert.silenced().then_some(AttributeValue::Bool(true)),
        )
        .build()
}

/// An alert item; one written before alerts had a lifecycle reads as firing at version 1,
/// last changed when it was stored, and one written before they were grouped as a group of
/// one under the unique fingerprint `legacy:<id>`, which no new occurrence joins.
pub(super) fn alert_from_item(item: &Item) -> Result<Alert> {
    let r = Reader::new(item, "alert");
    let id = r.parsed("id", AlertId::parse)?;
    let draft = AlertDraft {
        source: r.parsed("source", AlertSource::parse)?,
        severity: r.parsed("severity", Severity::parse)?,
        message: r.parsed("message", AlertMessage::parse)?,
        channel: r.parsed("channel", Channel::parse)?,
        fingerprint: Some(
            r.opt_parsed("fingerprint", Fingerprint::parse)?
                .unwrap_or_else(|| Fingerprint::legacy(&id)),
        ),
    };
    let created_at = r.time("created_at")?;
    let state = AlertState {
        status: r
            .opt_parsed("status", AlertStatus::parse)?
            .unwrap_or_default(),
        version: r.opt_number("version")?.unwrap_or(1),
        updated_at: r.opt_time("updated_at")?.unwrap_or(created_at),
    };
    let group = GroupState {
        count: r.opt_number("count")?.unwrap_or(1),
        first_seen: r.opt_time("first_seen")?.unwrap_or(created_at),
        last_seen: r.opt_time("last_seen")?.unwrap_or(created_at),
    };
    // Written only when true, so alerts stored before silences read as not silenced.
    let silenced = matches!(item.get("silenced"), Some(AttributeValue::Bool(true)));
    Ok(Alert::restore(id, draft, created_at, state)
        .with_group(group)
        .with_silenced(silenced))
}

/// The status changes an alert item keeps in its `history` list, oldest first.
///
/// The history lives in the item so that a change is one conditional update beside the stream
/// log, with no table of its own. An alert changes a handful of times, a few hundred bytes
/// each, far below an item's 400 KB: folds leave it alone, and only a resolution followed by
/// a recurrence adds two entries.
fn history_from_item(item: &Item) -> Result<Vec<AlertEvent>> {
    if !item.contains_key("history") {
        return Ok(Vec::new());
    }
    let history = Reader::new(item, "alert").json("history")?;
    serde_json::from_value(history).map_err(|e| unreadable("alert", format!("history: {e}")))
}

/// How long a batch is read and written again after another writer opened one of its
/// fingerprints or changed one of its groups between the reads and the write. Every lost
/// attempt means another writer's batch committed, so the writers as a whole progress; the
/// bound is on time rather than attempts because one fingerprint hammered by many writers
/// makes each of them lose many times before it wins.
const GROUP_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(120);

/// The key of the item that points from `fingerprint` to its group, in the occurrences
/// table: a partition of its own, which no alert id (a ULID) can name.
pub(super) fn fingerprint_key(fingerprint: &Fingerprint) -> Item {
    key(&[
        ("alert_id", &format!("fingerprint#{fingerprint}")),
        ("id", "group"),
    ])
}

/// The partition of the occurrences table where a removal leaves a marker naming a group
/// whose occurrences did not fit in its transaction, until they are deleted: a call that
/// stops between the two finds the marker and finishes the work. No alert id (a ULID) can
/// name it.
const RETIRED: &str = "retired#";

fn retired_key(id: &str) -> Item {
    key(&[("alert_id", RETIRED), ("id", id)])
}

fn occurrence_key(group: &str, id: &str) -> Item {
    key(&[("alert_id", group), ("id", id)])
}

/// What happened to one group a removal tried.
enum Removal {
    Removed,
    /// It changed, gained an incident or went since it was read: it stays (or was already
    /// removed by another caller).
    Kept,
}

fn occurrences_item(group: &AlertId, occurrence: &Alert) -> Item {
    ItemBuilder::new()
        .set("alert_id", s(group.as_str()))
        .set("id", s(occurrence.id.as_str()))
        .set("at", time(occurrence.created_at))
        .set("count", n(occurrence.count()))
        .build()
}

fn occurrences_from_item(item: &Item) -> Result<Occurrences> {
    let r = Reader::new(item, "alert occurrences");
    Ok(Occurrences {
        id: r.parsed("id", AlertId::parse)?,
        at: r.time("at")?,
        count: r.number("count")?,
    })
}

/// One group as a batch leaves it.
struct GroupPlan {
    alert: Alert,
    /// Its item as read before the batch; `None` for a group the batch opens.
    stored: Option<Item>,
    /// The version read, which the write expects.
    stored_version: u64,
    /// The history events of its reopenings in the batch.
    events: Vec<AlertEvent>,
}

/// What a failed condition of an item means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guard {
    /// Another writer opened the fingerprint or changed the group after it was read.
    Race,
    /// An id is already stored.
    Duplicate,
}

/// How to take an item back when a later part of its batch fails.
enum Undo {
    Delete { table: String, key: Item },
    Restore { table: String, item: Item },
}

/// One item of a batch's transactions.
struct Step {
    item: TransactWriteItem,
    guard: Guard,
    undo: Undo,
}

/// A batch planned against the groups as read: the items to write, the counts they add, and
/// what each write does.
struct Plan {
    steps: Vec<Step>,
    tally: Tally,
    results: Vec<GroupedAlert>,
}

/// How one attempt at a batch ended, when it did not commit.
enum Lost {
    /// A group changed under it: read again and retry.
    Race,
    /// Anything else, as the batch's error.
    Failed(Error),
}

impl DynamoStore {
    /// The stored group of `fingerprint` and its item, if any.
    ///
    /// The pointer and the group are two reads: a removal (retention) that deletes both
    /// between them leaves a pointer read to a group gone, so the pointer is read again
    /// then, and only a pointer that still names a missing group is an error.
    async fn stored_group(&self, fingerprint: &Fingerprint) -> Result<Option<(Alert, Item)>> {
        let mut previous: Option<String> = None;
        loop {
            let Some(pointer) = self
                .get(&self.names.alert_occurrences, fingerprint_key(fingerprint))
                .await?
            else {
                return Ok(None);
            };
            let id = Reader::new(&pointer, "fingerprint")
                .string("group")?
                .to_owned();
            if let Some(item) = self.get(&self.names.alerts, key(&[("id", &id)])).await? {
                return Ok(Some((alert_from_item(&item)?, item)));
            }
            if previous.as_deref() == Some(id.as_str()) {
                return Err(unreadable(
                    "fingerprint",
                    format!("its group {id} is not stored"),
                ));
            }
            previous = Some(id);
        }
    }

    /// Reads the groups of the batch's fingerprints and plans the batch against them.
    async fn plan(&self, batch: &[AlertWrite]) -> Result<Plan> {
        let mut index: HashMap<Fingerprint, usize> = HashMap::new();
        let mut fingerprints = Vec::new();
        for write in batch {
            let fingerprint = write.alert.fingerprint();
            if !index.contains_key(&fingerprint) {
                index.insert(fingerprint.clone(), fingerprints.len());
                fingerprints.push(fingerprint);
            }
        }
        let stored = try_join_all(fingerprints.iter().map(|f| self.stored_group(f))).await?;
        let mut groups: Vec<Option<GroupPlan>> = stored
            .into_iter()
            .map(|found| {
                found.map(|(alert, item)| GroupPlan {
                    stored_version: alert.version(),
                    alert,
                    stored: Some(item),
                    events: Vec::new(),
                })
            })
            .collect();
        let mut results = Vec::with_capacity(batch.len());
        for write in batch {
            let slot = &mut groups[index[&write.alert.fingerprint()]];
            let (alert, grouping) = match slot {
                Some(group) => group.alert.recur(&write.alert),
                None => (write.alert.clone(), Grouping::Opened),
            };
            match slot {
                Some(group) => {
                    group.alert = alert.clone();
                    if let Grouping::Reopened(event) = &grouping {
                        group.events.push(event.clone());
                    }
                }
                None => {
                    *slot = Some(GroupPlan {
                        alert: alert.clone(),
                        stored: None,
                        stored_version: 0,
                        events: Vec::new(),
                    });
                }
            }
            results.push(GroupedAlert { alert, grouping });
        }

        let mut steps = Vec::new();
        let mut tally = Tally::default();
        for group in groups.into_iter().flatten() {
            let alert = &group.alert;
            let alert_key = key(&[("id", alert.id.as_str())]);
            match group.stored {
                None => {
                    steps.push(Step {
                        item: transaction::put_new(&self.names.alerts, alert_item(alert), "id")?,
                        guard: Guard::Duplicate,
                        undo: Undo::Delete {
                            table: self.names.alerts.clone(),
                            key: alert_key,
                        },
                    });
                    let fingerprint = alert.fingerprint();
                    let mut pointer = fingerprint_key(&fingerprint);
                    pointer.insert("group".into(), s(alert.id.as_str()));
                    steps.push(Step {
                        item: transaction::put_new(
                            &self.names.alert_occurrences,
                            pointer,
                            "alert_id",
                        )?,
                        guard: Guard::Race,
                        undo: Undo::Delete {
                            table: self.names.alert_occurrences.clone(),
                            key: fingerprint_key(&fingerprint),
                        },
                    });
                    tally = tally.plus(Tally::alert(alert)?);
                }
                Some(item) => {
                    steps.push(Step {
                        item: self.group_update(alert, group.stored_version, &group.events)?,
                        guard: Guard::Race,
                        undo: Undo::Restore {
                            table: self.names.alerts.clone(),
                            item,
                        },
                    });
                }
            }
        }
        for (write, result) in batch.iter().zip(&results) {
            steps.push(Step {
                item: transaction::put_new(
                    &self.names.alert_occurrences,
                    occurrences_item(&result.alert.id, &write.alert),
                    "alert_id",
                )?,
                guard: Guard::Duplicate,
                undo: Undo::Delete {
                    table: self.names.alert_occurrences.clone(),
                    key: key(&[
                        ("alert_id", result.alert.id.as_str()),
                        ("id", write.alert.id.as_str()),
                    ]),
                },
            });
            if !result.grouping.is_mailed() {
                continue;
            }
            for mail in &write.mails_for(&result.alert.id) {
                steps.push(Step {
                    item: transaction::put_new(&self.names.outbox, outbox::mail_item(mail), "id")?,
                    guard: Guard::Duplicate,
                    undo: Undo::Delete {
                        table: self.names.outbox.clone(),
                        key: key(&[("id", mail.id.as_str())]),
                    },
                });
            }
        }
        Ok(Plan {
            steps,
            tally,
            results,
        })
    }

    /// The update of a stored group to where the batch leaves it, made only if no one changed
    /// it since it was read at `expected`; reopenings append their history events.
    fn group_update(
        &self,
        alert: &Alert,
        expected: u64,
        events: &[AlertEvent],
    ) -> Result<TransactWriteItem> {
        let mut expression = "SET #status = :status, #version = :version, \
             updated_at = :updated_at, #count = :count, last_seen = :last_seen"
            .to_owned();
        let mut values = vec![
            (":status", s(alert.status().as_str())),
            (":version", n(alert.version())),
            (":updated_at", time(alert.updated_at())),
            (":count", n(alert.count())),
            (":last_seen", time(alert.last_seen())),
            (":expected", n(expected)),
        ];
        if !events.is_empty() {
            let events = events
                .iter()
                .map(|event| {
                    serde_json::to_value(event)
                        .map(|json| from_json(&json))
                        .map_err(|e| unreadable("alert", format!("event cannot be encoded: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            expression.push_str(", history = list_append(if_not_exists(history, :empty), :events)");
            values.push((":empty", AttributeValue::L(Vec::new())));
            values.push((":events", AttributeValue::L(events)));
        }
        // Kept only while true, as `alert_item` writes it, so that the filter on it holds.
        // A fold or a reopening never leaves a group resolved: it leaves `by_resolution`.
        if alert.silenced() {
            expression.push_str(", silenced = :silenced REMOVE resolved");
            values.push((":silenced", AttributeValue::Bool(true)));
        } else {
            expression.push_str(" REMOVE silenced, resolved");
        }
        transaction::update(
            &self.names.alerts,
            key(&[("id", alert.id.as_str())]),
            &expression,
            Some("#version = :expected"),
            &[
                ("#status", "status"),
                ("#version", "version"),
                ("#count", "count"),
            ],
            &values,
        )
    }

    /// Takes back what the parts of a failed batch wrote, newest first.
    async fn undo(&self, steps: Vec<Undo>) {
        for undo in steps.into_iter().rev() {
            let result = match undo {
                Undo::Delete { table, key } => {
                    query::delete_all(&self.client, &table, vec![key]).await
                }
                Undo::Restore { table, item } => self
                    .client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| super::error::request("put_item", e)),
            };
            if let Err(error) = result {
                tracing::warn!(%error, "taking back part of a failed alert batch failed");
            }
        }
    }

    /// Writes one planned batch: in one transaction when it fits, otherwise in parts, the
    /// last of which appends the messages and adds the counts.
    async fn write_plan(
        &self,
        plan: Plan,
        attempt: u32,
    ) -> Result<std::result::Result<Inserted, Lost>> {
        let messages: Vec<StreamMessage> = plan
            .results
            .iter()
            .map(GroupedAlert::stream_message)
            .collect();
        let attempt_text = attempt.to_string();
        let ids = plan
            .results
            .iter()
            .map(|r| r.alert.id.as_str())
            .chain([attempt_text.as_str()]);
        let log = PendingLog::new("batch", &messages, ids)?;
        let room = MAX_ITEMS - log.actions() - 1;
        let count_item = self.count_item(Counted::Alerts, &plan.tally)?;
        let mut parts: Vec<Vec<Step>> = Vec::new();
        for step in plan.steps {
            match parts.last_mut().filter(|part| part.len() < room) {
                Some(part) => part.push(step),
                None => parts.push(vec![step]),
            }
        }
        let last = parts.pop().unwrap_or_default();
        let mut written: Vec<Undo> = Vec::new();
        let lost = |steps: &[Step], cancelled: &transaction::Cancelled| {
            let race = steps
                .iter()
                .enumerate()
                .any(|(n, step)| step.guard == Guard::Race && cancelled.failed(n));
            if race {
                Lost::Race
            } else {
                Lost::Failed(Error::duplicate("alert or mail"))
            }
        };
        for part in parts {
            let items = part.iter().map(|step| step.item.clone()).collect();
            match transaction::write(&self.client, items, None).await {
                Ok(Ok(())) => written.extend(part.into_iter().map(|step| step.undo)),
                Ok(Err(cancelled)) => {
                    let outcome = lost(&part, &cancelled);
                    self.undo(written).await;
                    return Ok(Err(outcome));
                }
                Err(error) => {
                    self.undo(written).await;
                    return Err(error);
                }
            }
        }
        let mut items: Vec<TransactWriteItem> = last.iter().map(|step| step.item.clone()).collect();
        items.extend(count_item);
        match self.write_with_log(items, &log).await {
            Ok(Ok(appended)) => Ok(Ok(Inserted {
                appended,
                groups: plan.results,
                messages,
            })),
            Ok(Err(cancelled)) => {
                let outcome = lost(&last, &cancelled);
                self.undo(written).await;
                Ok(Err(outcome))
            }
            Err(error) => {
                self.undo(written).await;
                Err(error)
            }
        }
    }

    /// Gives alerts resolved before [`BY_RESOLUTION`] existed what it lists them by.
    /// Bootstrap runs it; it reads the table once and writes only the alerts that lack it.
    pub(super) async fn ensure_resolution_listing(&self) -> Result<()> {
        let mut expression = Expression::new();
        let status = expression.name("status");
        let resolved = expression.name("resolved");
        let value = expression.value("resolved", s(AlertStatus::Resolved.as_str()));
        let items = query::scan_all(
            &self.client,
            &self.names.alerts,
            super::query::ScanOptions {
                attributes: &["id"],
                filter: Some((
                    format!("{status} = {value} AND attribute_not_exists({resolved})"),
                    expression,
                )),
            },
        )
        .await?;
        for item in items {
            let id = Reader::new(&item, "alert").string("id")?;
            let result = self
                .client
                .update_item()
                .table_name(&self.names.alerts)
                .key("id", s(id))
                .update_expression("SET resolved = :shard")
                .condition_expression("#status = :resolved")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":shard", s(shard_of(id)))
                .expression_attribute_values(":resolved", s(AlertStatus::Resolved.as_str()))
                .send()
                .await;
            // An alert reopened or removed meanwhile is not to be listed.
            super::error::conditional("update_item", result)?;
        }
        Ok(())
    }

    /// Deletes the occurrences of groups a removal left marked, then the markers.
    async fn finish_removals(&self) -> Result<()> {
        let table = &self.names.alert_occurrences;
        let markers = query::whole_partition(&self.client, table, "alert_id", RETIRED).await?;
        for marker in markers {
            let group = Reader::new(&marker, "removal marker")
                .string("id")?
                .to_owned();
            let left = query::whole_partition(&self.client, table, "alert_id", &group).await?;
            let keys = left
                .iter()
                .map(|item| {
                    let id = Reader::new(item, "alert occurrences").string("id")?;
                    Ok(occurrence_key(&group, id))
                })
                .collect::<Result<Vec<_>>>()?;
            query::delete_all(&self.client, table, keys).await?;
            query::delete_all(&self.client, table, vec![retired_key(&group)]).await?;
        }
        Ok(())
    }

    /// Removes the group `id` if it is still resolved, last changed and seen before
    /// `before`, without an incident, at the version a strongly consistent read finds: one
    /// transaction deletes it (with its history, which it holds), its fingerprint's pointer
    /// and as many occurrences as fit, takes it out of the counts, and checks that no
    /// incident names it. Occurrences that do not fit are deleted after it, under a marker.
    async fn remove_group(&self, id: &str, before: Timestamp) -> Result<Removal> {
        let Some(item) = self.get(&self.names.alerts, key(&[("id", id)])).await? else {
            return Ok(Removal::Kept);
        };
        let alert = alert_from_item(&item)?;
        if alert.status() != AlertStatus::Resolved
            || alert.updated_at() >= before
            || alert.last_seen() >= before
        {
            return Ok(Removal::Kept);
        }
        let link = key(&[("alert_id", id)]);
        if self
            .get(&self.names.alert_incidents, link.clone())
            .await?
            .is_some()
        {
            return Ok(Removal::Kept);
        }
        let table = &self.names.alert_occurrences;
        let occurrences = query::whole_partition(&self.client, table, "alert_id", id).await?;
        let mut items = vec![
            transaction::delete(
                &self.names.alerts,
                key(&[("id", id)]),
                Some("#version = :version AND #status = :resolved"),
                &[("#version", "version"), ("#status", "status")],
                &[
                    (":version", n(alert.version())),
                    (":resolved", s(AlertStatus::Resolved.as_str())),
                ],
            )?,
            transaction::condition_check(
                &self.names.alert_incidents,
                link,
                "attribute_not_exists(#key)",
                &[("#key", "alert_id")],
            )?,
            // An alert stored before grouping has no pointer: nothing to delete then.
            transaction::delete(
                table,
                fingerprint_key(&alert.fingerprint()),
                Some("attribute_not_exists(#group) OR #group = :id"),
                &[("#group", "group")],
                &[(":id", s(id))],
            )?,
        ];
        items.extend(self.count_item(Counted::Alerts, &Tally::alert(&alert)?.negated())?);
        let room = MAX_ITEMS - items.len();
        let keys = occurrences
            .iter()
            .map(|item| {
                let occurrence = Reader::new(item, "alert occurrences").string("id")?;
                Ok(occurrence_key(id, occurrence))
            })
            .collect::<Result<Vec<_>>>()?;
        // The rest of the occurrences wait under a marker, written with the removal.
        let (now, later) = if keys.len() <= room {
            (keys, Vec::new())
        } else {
            let mut keys = keys;
            let later = keys.split_off(room - 1);
            let marker = ItemBuilder::new()
                .set("alert_id", s(RETIRED))
                .set("id", s(id))
                .build();
            items.push(transaction::put(
                table,
                marker,
                "attribute_not_exists(#key)",
                &[("#key", "alert_id")],
                &[],
            )?);
            (keys, later)
        };
        for occurrence in now {
            items.push(transaction::delete(table, occurrence, None, &[], &[])?);
        }
        match transaction::write(&self.client, items, None).await? {
            Ok(()) => {}
            Err(_) => return Ok(Removal::Kept),
        }
        if !later.is_empty() {
            query::delete_all(&self.client, table, later).await?;
            query::delete_all(&self.client, table, vec![retired_key(id)]).await?;
        }
        Ok(Removal::Removed)
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
        if let Some(status) = filter.status {
            let name = expression.name("status");
            let value = expression.value("f_status", s(status.as_str()));
            // Items written before the lifecycle have no status and read as firing.
            let condition = if status == AlertStatus::Firing {
                format!("({name} = {value} OR attribute_not_exists({name}))")
            } else {
                format!("{name} = {value}")
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
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<Inserted> {
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
            return Ok(Inserted::nothing());
        }
        // Read the groups, plan, write under conditions on what was read; a lost race means
        // another writer got there first, and the batch is planned again on what it wrote.
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let plan = self.plan(&batch).await?;
            match self.write_plan(plan, attempt).await? {
                Ok(inserted) => return Ok(inserted),
                Err(Lost::Failed(error)) => return Err(error),
                Err(Lost::Race) if started.elapsed() < GROUP_RETRY_FOR => {
                    // Short and jittered: the writer that won has already committed.
                    tokio::time::sleep(query::backoff(attempt.min(3))).await;
                }
                Err(Lost::Race) => {
                    return Err(super::error::other(format!(
                        "alert groups kept changing under a batch for {} attempts",
                        attempt
                    )));
                }
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
        let mut expression = "SET #status = :status, #version = :version, \
             updated_at = :updated_at, \
             history = list_append(if_not_exists(history, :empty), :event)"
            .to_owned();
        let mut values = vec![
            (":status", s(alert.status().as_str())),
            (":version", n(alert.version())),
            (":updated_at", time(alert.updated_at())),
            (":empty", AttributeValue::L(Vec::new())),
            (":event", AttributeValue::L(vec![from_json(&event_json)])),
            (":expected", n(expected_version)),
        ];
        // Only a resolved alert is in `by_resolution`, which retention reads.
        if alert.status() == AlertStatus::Resolved {
            expression.push_str(", resolved = :shard");
            values.push((":shard", s(shard_of(alert.id.as_str()))));
        } else {
            expression.push_str(" REMOVE resolved");
        }
        let update = transaction::update(
            &self.names.alerts,
            key(&[("id", alert.id.as_str())]),
            &expression,
            Some("#version = :expected"),
            &[("#status", "status"), ("#version", "version")],
            &values,
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

    async fn group_of(&self, fingerprint: &Fingerprint) -> Result<Option<Alert>> {
        if let Some((group, _)) = self.stored_group(fingerprint).await? {
            return Ok(Some(group));
        }
        // An alert stored before grouping has no fingerprint item: its id is in the
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

    async fn occurrences(&self, id: &AlertId, page: &PageRequest) -> Result<Page<Occurrences>> {
        let start = cursor::position(List::Occurrences, page)?;
        let take = page.limit.get() + 1;
        let by_alert = PartitionQuery {
            table: &self.names.alert_occurrences,
            index: None,
            partition_attribute: "alert_id",
            sort_attribute: "id",
            start_after: start,
            order: Order::Descending,
            filter: Expression::new(),
            page_size: take,
        };
        let partition = Partition::new(&self.client, by_alert, id.as_str().to_owned());
        let items = query::merge(vec![partition], "id", Order::Descending, take).await?;
        let occurrences = items
            .iter()
            .map(occurrences_from_item)
            .collect::<Result<Vec<_>>>()?;
        Ok(cursor::page(List::Occurrences, occurrences, page, |o| {
            o.id.as_str()
        }))
    }
    async fn remove_resolved(&self, before: Timestamp, limit: usize) -> Result<usize> {
        self.finish_removals().await?;
        let mut removed = 0;
        // Each partition of `by_resolution`, oldest change first, up to the cutoff: only
        // resolved groups are in it. Each is read again, strongly consistent, before it goes.
        let latest = Timestamp::from_unix_millis(before.unix_millis() - 1).to_rfc3339();
        for shard in 0..SHARDS {
            if removed >= limit {
                break;
            }
            let by_resolution = PartitionQuery {
                table: &self.names.alerts,
                index: Some(BY_RESOLUTION),
                partition_attribute: "resolved",
                sort_attribute: "updated_at",
                start_after: None,
                order: Order::Ascending,
                filter: Expression::new(),
                page_size: limit.saturating_sub(removed).clamp(1, 100),
            };
            let mut groups = Partition::new(&self.client, by_resolution, shard.to_string())
                .with_ceiling("updated_at", latest.clone());
            while removed < limit {
                let Some(item) = groups.next().await? else {
                    break;
                };
                let alert = alert_from_item(&item)?;
                if alert.updated_at() >= before || alert.last_seen() >= before {
                    continue;
                }
                if let Removal::Removed = self.remove_group(alert.id.as_str(), before).await? {
                    removed += 1;
                }
            }
        }
        Ok(removed)
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
