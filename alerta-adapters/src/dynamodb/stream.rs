//! The stream log: a counter item and segment items in a table of their own, written in the
//! transactions of the incident and alert writes.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::Duration;

use alerta_core::domain::{Appended, Position, StreamEntry, StreamHead, StreamMessage, Timestamp};
use alerta_core::ports::StreamLog;
use alerta_core::{Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::error::{self, request, unreadable};
use super::item::{Item, ItemBuilder, Reader, n, s};
use super::query;
use super::transaction::{self, Attempt, Cancelled};
use super::{DynamoStore, keyed};

/// The partition (and sort key) of the counter item.
pub(super) const COUNTER: &str = "counter";

/// The partition of the segment items.
pub(super) const SEGMENTS: &str = "segment";

/// How often a write tries to take the next positions while other writers take them first.
const COUNTER_ATTEMPTS: u32 = 50;

/// The most bytes of records one segment item holds: DynamoDB refuses items over 400 KB,
/// and the other attributes and the list's own overhead take far less than the margin.
const SEGMENT_BYTES: usize = 380 * 1024;

/// What DynamoDB counts for each record of the list beside its text.
const RECORD_OVERHEAD: usize = 4;

/// The most bytes of records one write may append: the transaction carrying them and the
/// items of the change must stay under DynamoDB's 4 MB per transaction.
const WRITE_LOG_BYTES: usize = 2 * 1024 * 1024;

/// The largest epoch plus one: epochs stay below 2^53 so that JavaScript clients read them
/// exactly.
const EPOCH_BOUND: u64 = 1 << 53;

/// The key of the counter item.
pub(super) fn counter_key() -> Item {
    keyed::key(&[("pk", COUNTER), ("sk", COUNTER)])
}

/// The sort key of the segment ending at `last`: zero-padded, so text order is number order.
pub(super) fn segment_sort_key(last: Position) -> String {
    format!("{last:020}")
}

/// A random number, different on every call: the standard library seeds each `RandomState`
/// from the system's randomness.
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A new epoch: random, at least 1 and below 2^53.
fn new_epoch() -> u64 {
    random() % (EPOCH_BOUND - 1) + 1
}

/// The pause before trying for positions again after attempt `attempt` (1, 2, ...): a few
/// milliseconds growing to 100, all jitter, so writers that collided spread out at once.
fn counter_backoff(attempt: u32) -> Duration {
    let ceiling = (2u64 << attempt.min(6)).min(100);
    Duration::from_millis(1 + random() % ceiling)
}

/// FNV-1a with 128 bits: stable across versions and platforms, so the idempotency token of a
/// write does not depend on the build that sends it.
#[derive(Clone, Copy, Debug)]
struct Digest(u128);

impl Digest {
    fn new() -> Self {
        Self(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }

    fn bytes(mut self, bytes: &[u8]) -> Self {
        for byte in bytes {
            self.0 ^= u128::from(*byte);
            self.0 = self
                .0
                .wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
        self
    }

    /// `text` with its length first, so that two lists of texts never digest alike by being
    /// cut in different places.
    fn text(self, text: &str) -> Self {
        self.bytes(&(text.len() as u64).to_le_bytes())
            .bytes(text.as_bytes())
    }
}

/// The messages one write appends, ready before the positions they will take are known.
#[derive(Debug)]
pub(super) struct PendingLog {
    records: Vec<String>,
    /// Which records go in which segment item: one range, unless they exceed one item.
    segments: Vec<Range<usize>>,
    /// The latest `at` of the messages, in epoch milliseconds: what trimming compares, the
    /// same on every segment of the write.
    latest: i64,
    /// A digest of what the write stores, from which its idempotency tokens are made.
    digest: Digest,
}

impl PendingLog {
    /// The messages a write appends, and the ids of every item it stores beside them.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on `field` when the messages take more than one transaction carries.
    pub(super) fn new<'a>(
        field: &'static str,
        messages: &[StreamMessage],
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self> {
        let records: Vec<String> = messages.iter().map(StreamMessage::to_record).collect();
        let total: usize = records.iter().map(|r| r.len() + RECORD_OVERHEAD).sum();
        if total > WRITE_LOG_BYTES {
            return Err(Error::invalid(
                field,
                format!(
                    "its stream messages take {total} bytes, more than the {WRITE_LOG_BYTES} \
                     one DynamoDB transaction carries beside the items they announce; write \
                     fewer at a time"
                ),
            ));
        }
        let mut segments = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, record) in records.iter().enumerate() {
            let size = record.len() + RECORD_OVERHEAD;
            if i > start && bytes + size > SEGMENT_BYTES {
                segments.push(start..i);
                start = i;
                bytes = 0;
            }
            bytes += size;
        }
        if start < records.len() {
            segments.push(start..records.len());
        }
        let mut digest = Digest::new().text(field);
        for id in ids {
            digest = digest.text(id);
        }
        for record in &records {
            digest = digest.text(record);
        }
        Ok(Self {
            latest: messages
                .iter()
                .map(|m| m.at.unix_millis())
                .max()
                .unwrap_or(0),
            records,
            segments,
            digest,
        })
    }

    /// How many messages the write appends.
    fn count(&self) -> u64 {
        self.records.len() as u64
    }

    /// How many transaction items appending takes: the counter and the segments, or none.
    pub(super) fn actions(&self) -> usize {
        if self.records.is_empty() {
            0
        } else {
            1 + self.segments.len()
        }
    }

    /// The idempotency token of the write made after position `expected`: the same for
    /// every send of the same request, and another one for any other write or position.
    fn token(&self, expected: Position) -> String {
        format!("{:032x}", self.digest.bytes(&expected.to_le_bytes()).0)
    }

    /// The counter update and the segment puts of the write, made after position
    /// `expected`.
    fn items(&self, table: &str, expected: Position) -> Result<Vec<TransactWriteItem>> {
        let mut items = Vec::with_capacity(self.actions());
        items.push(transaction::update(
            table,
            counter_key(),
            "SET #position = :next",
            Some("#position = :expected"),
            &[("#position", "position")],
            &[
                (":expected", n(expected)),
                (":next", n(expected + self.count())),
            ],
        )?);
        let write_first = expected + 1;
        for range in &self.segments {
            let first = write_first + range.start as u64;
            let last = write_first + range.end as u64 - 1;
            let records = self.records[range.clone()]
                .iter()
                .map(|r| s(r.as_str()))
                .collect();
            let item = ItemBuilder::new()
                .set("pk", s(SEGMENTS))
                .set("sk", s(segment_sort_key(last)))
                .set("first", n(first))
                .set("write_first", n(write_first))
                .set("latest", n(self.latest))
                .set("records", AttributeValue::L(records))
                .build();
            items.push(transaction::put_new(table, item, "pk")?);
        }
        Ok(items)
    }
}

/// Where a segment item sits in the log.
#[derive(Debug)]
struct Bounds {
    first: Position,
    last: Position,
    /// The first position of the write the segment belongs to.
    write_first: Position,
    /// The latest `at` of that write, in epoch milliseconds.
    latest: i64,
}

impl Bounds {
    fn of(item: &Item) -> Result<Self> {
        let r = Reader::new(item, "stream segment");
        let last = r
            .string("sk")?
            .parse()
            .map_err(|_| unreadable("stream segment", "its sort key is not a position"))?;
        let bounds = Self {
            first: r.number("first")?,
            last,
            write_first: r.number("write_first")?,
            latest: r.number("latest")?,
        };
        if bounds.first == 0 || bounds.first > bounds.last || bounds.write_first > bounds.first {
            return Err(unreadable(
                "stream segment",
                format!("positions {bounds:?} do not make a segment"),
            ));
        }
        Ok(bounds)
    }

    fn count(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// One page of segment items in position order, strongly consistent.
struct SegmentPage {
    items: Vec<Item>,
    next: Option<Item>,
}

impl DynamoStore {
    /// The epoch and the last position taken, strongly consistent; the counter is made,
    /// with a new epoch, when it is missing.
    async fn counter(&self) -> Result<(u64, Position)> {
        for _ in 0..2 {
            let table = &self.names.stream_log;
            if let Some(item) = self.get(table, counter_key()).await? {
                let r = Reader::new(&item, "stream counter");
                let epoch = self.known_epoch(r.number("epoch")?)?;
                return Ok((epoch, r.number("position")?));
            }
            let counter = ItemBuilder::new()
                .set("pk", s(COUNTER))
                .set("sk", s(COUNTER))
                .set("epoch", n(new_epoch()))
                .set("position", n(0))
                .build();
            // When another process made it first, its epoch is the one, read next time round.
            self.put_if_absent(table, counter, "pk").await?;
        }
        Err(error::other(
            "the stream counter was missing right after it was made",
        ))
    }

    /// `epoch` as this store first read it: a log made anew under a running store would
    /// otherwise mix the positions of two logs.
    fn known_epoch(&self, epoch: u64) -> Result<u64> {
        let known = *self.epoch.get_or_init(|| epoch);
        if known == epoch {
            Ok(epoch)
        } else {
            Err(error::other(format!(
                "the stream log's epoch is {epoch}, not the {known} this store started with: \
                 its table was made anew, so the store must be too"
            )))
        }
    }

    /// Makes the counter and its epoch if they are missing.
    pub(super) async fn ensure_stream_counter(&self) -> Result<()> {
        self.counter().await.map(|_| ())
    }

    /// The position the next attempt expects the counter at, or a stale one while conflicts
    /// are injected.
    fn expected_position(&self, head: Position) -> Position {
        let inject = self
            .injected_conflicts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        match (inject, head) {
            (false, _) => head,
            (true, 0) => 1,
            (true, _) => head - 1,
        }
    }

    /// Writes `items` in one transaction with the counter update and the segments of `log`,
    /// at the next positions. When another writer took them first, reads the counter again
    /// and tries again, so a caller never sees that race. `Ok(Err(_))` when a condition of
    /// `items` failed; the cancellation then covers `items` only.
    pub(super) async fn write_with_log(
        &self,
        items: Vec<TransactWriteItem>,
        log: &PendingLog,
    ) -> Result<std::result::Result<Appended, Cancelled>> {
        if log.actions() == 0 {
            return Ok(transaction::write(&self.client, items, None)
                .await?
                .map(|()| Appended::NOTHING));
        }
        let own = items.len();
        for attempt in 1..=COUNTER_ATTEMPTS {
            let (epoch, head) = self.counter().await?;
            let expected = self.expected_position(head);
            let mut all = items.clone();
            all.extend(log.items(&self.names.stream_log, expected)?);
            match transaction::attempt(&self.client, all, Some(log.token(expected))).await? {
                Attempt::Committed => {
                    return Ok(Ok(Appended {
                        epoch,
                        first: expected + 1,
                        count: log.count(),
                    }));
                }
                Attempt::Cancelled(cancelled, error) => {
                    if (0..own).any(|n| cancelled.failed(n)) {
                        return Ok(Err(cancelled.first(own)));
                    }
                    // The counter moved (a segment key taken is the same race seen from the
                    // segment), or transactions in flight got in the way: positions again.
                    let counter_moved = cancelled.failed(own);
                    if !counter_moved && !cancelled.only_conflicts() {
                        return Err(error);
                    }
                }
            }
            if attempt < COUNTER_ATTEMPTS {
                tokio::time::sleep(counter_backoff(attempt)).await;
            }
        }
        Err(error::other(format!(
            "other writers took the next stream positions {COUNTER_ATTEMPTS} times in a row"
        )))
    }

    /// Segments from the one holding `from` on (from the oldest when `None`), with only
    /// their bounds when `bounds_only`.
    async fn segment_page(
        &self,
        from: Option<Position>,
        page_size: usize,
        bounds_only: bool,
        start: Option<Item>,
    ) -> Result<SegmentPage> {
        let mut segments = self
            .client
            .query()
            .table_name(&self.names.stream_log)
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":segments", s(SEGMENTS))
            .consistent_read(true)
            .scan_index_forward(true)
            .limit(i32::try_from(page_size.clamp(1, 1000)).unwrap_or(1000))
            .set_exclusive_start_key(start);
        segments = match from {
            // The first segment whose last position is at least `from` holds it.
            Some(from) => segments
                .key_condition_expression("#pk = :segments AND #sk >= :from")
                .expression_attribute_names("#sk", "sk")
                .expression_attribute_values(":from", s(segment_sort_key(from))),
            None => segments.key_condition_expression("#pk = :segments"),
        };
        if bounds_only {
            segments = segments
                .projection_expression("#pk, #sk, #first, #write_first, #latest")
                .expression_attribute_names("#sk", "sk")
                .expression_attribute_names("#first", "first")
                .expression_attribute_names("#write_first", "write_first")
                .expression_attribute_names("#latest", "latest");
        }
        let out = segments.send().await.map_err(|e| request("query", e))?;
        Ok(SegmentPage {
            next: out.last_evaluated_key.filter(|key| !key.is_empty()),
            items: out.items.unwrap_or_default(),
        })
    }

    /// Deletes the segments of one write, counting their messages. Several segments go last
    /// first, so that what a failure leaves is always the start of the write.
    async fn delete_write(
        &self,
        segments: &[(Item, u64)],
        singles: &mut Vec<(Item, u64)>,
    ) -> Result<u64> {
        if let [single] = segments {
            singles.push(single.clone());
            return Ok(0);
        }
        let mut removed = 0;
        for (key, count) in segments.iter().rev() {
            self.client
                .delete_item()
                .table_name(&self.names.stream_log)
                .set_key(Some(key.clone()))
                .send()
                .await
                .map_err(|e| request("delete_item", e))?;
            removed += count;
        }
        Ok(removed)
    }
}

/// The key of a segment item read with its key attributes.
fn segment_key(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| *name == "pk" || *name == "sk")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

#[async_trait]
impl StreamLog for DynamoStore {
    async fn head(&self) -> Result<StreamHead> {
        let (epoch, head) = self.counter().await?;
        let page = self.segment_page(None, 1, true, None).await?;
        // The oldest write's first position: the start of a write is deleted last, and a
        // write being committed may show its later segments a moment before the first.
        let oldest = match page.items.first() {
            Some(item) => Bounds::of(item)?.write_first,
            None => head + 1,
        };
        Ok(StreamHead {
            epoch,
            head,
            oldest: oldest.min(head + 1),
        })
    }

    async fn read(&self, after: Position, limit: usize) -> Result<Vec<StreamEntry>> {
        let Some(mut next) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut start = None;
        loop {
            let page = self.segment_page(Some(next), limit, false, start).await?;
            for item in &page.items {
                let bounds = Bounds::of(item)?;
                // Positions missing before the start of a write were trimmed: every earlier
                // write committed before this one began. Missing inside a write, they belong
                // to a segment of it not visible yet, and the read ends there.
                if bounds.first > next && bounds.first != bounds.write_first {
                    return Ok(out);
                }
                let records = Reader::new(item, "stream segment").strings("records")?;
                if records.len() as u64 != bounds.count() {
                    return Err(unreadable(
                        "stream segment",
                        format!(
                            "{} records for positions {} to {}",
                            records.len(),
                            bounds.first,
                            bounds.last
                        ),
                    ));
                }
                for (position, record) in (bounds.first..).zip(records) {
                    if position < next {
                        continue;
                    }
                    let message = StreamMessage::from_record(record)
                        .map_err(|e| unreadable("stream segment", e))?;
                    out.push(StreamEntry { position, message });
                    next = position + 1;
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
            match page.next {
                Some(key) => start = Some(key),
                None => return Ok(out),
            }
        }
    }

    async fn trim(&self, before: Timestamp) -> Result<u64> {
        let cut = before.unix_millis();
        let mut removed = 0;
        // The segments of the write being collected: a write's segments are adjacent and
        // share their `latest`, so they go together or not at all.
        let mut write: Vec<(Item, u64)> = Vec::new();
        let mut write_first: Option<Position> = None;
        let mut start = None;
        loop {
            let page = self.segment_page(None, 1000, true, start).await?;
            let mut singles: Vec<(Item, u64)> = Vec::new();
            let mut reached_young = false;
            for item in &page.items {
                let bounds = Bounds::of(item)?;
                if bounds.latest >= cut {
                    reached_young = true;
                    break;
                }
                if write_first != Some(bounds.write_first) {
                    removed += self.delete_write(&write, &mut singles).await?;
                    write.clear();
                    write_first = Some(bounds.write_first);
                }
                write.push((segment_key(item), bounds.count()));
            }
            let finished = reached_young || page.next.is_none();
            if finished {
                removed += self.delete_write(&write, &mut singles).await?;
                write.clear();
            }
            let keys: Vec<Item> = singles.iter().map(|(key, _)| key.clone()).collect();
            query::delete_all(&self.client, &self.names.stream_log, keys).await?;
            removed += singles.iter().map(|(_, count)| count).sum::<u64>();
            if finished {
                return Ok(removed);
            }
            start = page.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use alerta_core::domain::{Audience, StreamKind, Topic};

    use super::*;

    fn message(text: &str) -> StreamMessage {
        StreamMessage {
            kind: StreamKind::Alert,
            at: Timestamp::from_unix_millis(1_700_000_000_000 + text.len() as i64),
            data: serde_json::json!({ "message": text }),
            topic: Topic::Alerts,
            audience: Audience::Everyone,
            reporter: None,
        }
    }

    #[test]
    fn messages_beyond_one_item_are_split_in_order_and_too_many_are_refused() {
        let small = PendingLog::new("batch", &[message("a"), message("b")], ["1", "2"]).unwrap();
        assert_eq!(small.segments, vec![0..2]);
        assert_eq!(small.actions(), 2, "the counter and one segment");

        let long = "x".repeat(100_000);
        let messages: Vec<StreamMessage> = (0..10).map(|_| message(&long)).collect();
        let big = PendingLog::new("batch", &messages, []).unwrap();
        assert!(big.segments.len() > 1);
        assert_eq!(big.segments.first().map(|r| r.start), Some(0));
        assert_eq!(big.segments.last().map(|r| r.end), Some(10));
        for pair in big.segments.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "no record left out or repeated");
        }
        for range in &big.segments {
            let bytes: usize = big.records[range.clone()]
                .iter()
                .map(|r| r.len() + RECORD_OVERHEAD)
                .sum();
            assert!(bytes <= SEGMENT_BYTES, "{bytes} bytes in one segment");
        }
        assert_eq!(big.latest, messages[0].at.unix_millis());

        let too_many: Vec<StreamMessage> = (0..30).map(|_| message(&long)).collect();
        assert!(matches!(
            PendingLog::new("batch", &too_many, []),
            Err(Error::Invalid { field: "batch", .. })
        ));
        assert_eq!(
            PendingLog::new("change", &[], []).unwrap().actions(),
            0,
            "nothing to append, nothing to write"
        );
    }

    #[test]
    fn tokens_are_stable_and_differ_by_write_and_position() {
        let log = |ids: [&str; 2]| PendingLog::new("batch", &[message("a")], ids).unwrap();
        let token = log(["1", "2"]).token(7);
        assert_eq!(
            token,
            log(["1", "2"]).token(7),
            "the same request, the same token"
        );
        assert!(
            token.len() <= 36,
            "DynamoDB takes tokens of up to 36 characters"
        );
        assert_ne!(token, log(["1", "2"]).token(8));
        assert_ne!(token, log(["12", ""]).token(7));
        assert_ne!(token, log(["1", "3"]).token(7));
    }

    #[test]
    fn epochs_are_positive_below_2_to_the_53_and_differ() {
        let epochs: Vec<u64> = (0..1000).map(|_| new_epoch()).collect();
        assert!(epochs.iter().all(|e| (1..EPOCH_BOUND).contains(e)));
        let mut distinct = epochs.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), epochs.len());
        assert!((1..=100).all(|attempt| counter_backoff(attempt) <= Duration::from_millis(100)));
    }
}
