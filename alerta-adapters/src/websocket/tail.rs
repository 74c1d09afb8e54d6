//! The shared in-memory tail of the stream log, and the task that keeps it at the log's head.
//!
//! One follower per process reads the log and appends to the tail in position order; every
//! connection is a cursor over the tail. So every client of every instance sees the log's one
//! order, whatever order commits finished in, and a publish is only a hint that makes the
//! follower look sooner.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use alerta_core::domain::{Position, StreamBatch, StreamEntry, StreamHead, StreamId, UserId};
use alerta_core::ports::{BrokerListener, DynStreamLog};
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::subscription::{Filter, bit};

/// One message of the tail, encoded once for every connection.
pub(crate) struct Entry {
    pub(crate) position: Position,
    /// The (topic, audience) bit subscribers' filters are tested against.
    pub(crate) bit: u8,
    /// The reporter of the incident it is about, for the filters of private incidents.
    pub(crate) reporter: Option<UserId>,
    pub(crate) text: Utf8Bytes,
}

impl Entry {
    pub(crate) fn encode(epoch: u64, entry: &StreamEntry) -> Self {
        let id = StreamId {
            epoch,
            position: entry.position,
        };
        Self {
            position: entry.position,
            bit: bit(entry.message.topic, entry.message.audience),
            reporter: entry.message.reporter.clone(),
            text: Utf8Bytes::from(entry.message.to_json(id)),
        }
    }
}

/// What a connection finds after its cursor.
pub(crate) enum Slice {
    /// The frames it may see among the next entries, and the last position looked at.
    Frames {
        frames: Vec<Utf8Bytes>,
        through: Position,
    },
    /// The entries after the cursor left memory: read them from the log.
    Behind,
    /// The log was made anew since the cursor's epoch: the cursor means nothing in it. The
    /// new log's epoch and the tail's head in it.
    OtherEpoch { epoch: u64, head: Position },
}

struct Buffer {
    epoch: u64,
    head: Position,
    entries: VecDeque<Entry>,
}

/// The last messages of the log, in position order, and its head.
pub(crate) struct Tail {
    buffer: RwLock<Buffer>,
    capacity: usize,
    head: watch::Sender<Position>,
    /// Messages taken into memory since the tail was made.
    followed: AtomicU64,
}

impl Tail {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buffer: RwLock::new(Buffer {
                epoch: 0,
                head: 0,
                entries: VecDeque::new(),
            }),
            capacity: capacity.max(1),
            head: watch::Sender::new(0),
            followed: AtomicU64::new(0),
        }
    }

    /// How many messages the tail has taken in since it was made, across epochs.
    pub(crate) fn followed(&self) -> u64 {
        self.followed.load(Ordering::Relaxed)
    }

    /// Starts the tail at the log's head: nothing before it is in memory.
    fn reset(&self, head: StreamHead) {
        let mut buffer = self.write();
        buffer.epoch = head.epoch;
        buffer.head = head.head;
        buffer.entries.clear();
        drop(buffer);
        self.head.send_replace(head.head);
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.read().epoch
    }

    pub(crate) fn head(&self) -> Position {
        self.read().head
    }

    /// Wakes when the head moves.
    pub(crate) fn watch(&self) -> watch::Receiver<Position> {
        self.head.subscribe()
    }

    /// Appends entries that follow the head one by one; others are ignored.
    fn extend(&self, entries: impl IntoIterator<Item = StreamEntry>) {
        let mut buffer = self.write();
        let epoch = buffer.epoch;
        let before = buffer.head;
        for entry in entries {
            if entry.position != buffer.head + 1 {
                continue;
            }
            buffer.head = entry.position;
            buffer.entries.push_back(Entry::encode(epoch, &entry));
            if buffer.entries.len() > self.capacity {
                buffer.entries.pop_front();
            }
        }
        let head = buffer.head;
        drop(buffer);
        if head != before {
            self.followed.fetch_add(head - before, Ordering::Relaxed);
            self.head.send_replace(head);
        }
    }

    /// Up to `max` entries after `cursor`, a position of the log of `epoch`, keeping those
    /// `filter` accepts.
    pub(crate) fn after(&self, epoch: u64, cursor: Position, max: usize, filter: &Filter) -> Slice {
        let buffer = self.read();
        if buffer.epoch != epoch {
            return Slice::OtherEpoch {
                epoch: buffer.epoch,
                head: buffer.head,
            };
        }
        let Some(first) = buffer.entries.front().map(|e| e.position) else {
            return if cursor < buffer.head {
                Slice::Behind
            } else {
                Slice::Frames {
                    frames: Vec::new(),
                    through: cursor,
                }
            };
        };
        if cursor + 1 < first {
            return Slice::Behind;
        }
        let start = usize::try_from(cursor + 1 - first).unwrap_or(usize::MAX);
        let mut frames = Vec::new();
        let mut through = cursor;
        for entry in buffer.entries.iter().skip(start).take(max) {
            through = entry.position;
            if filter.accepts(entry.bit, entry.reporter.as_ref()) {
                frames.push(entry.text.clone());
            }
        }
        Slice::Frames { frames, through }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Buffer> {
        self.buffer.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Buffer> {
        self.buffer.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// What wakes the follower.
pub(crate) enum Hint {
    /// Messages committed here or, through the broker, elsewhere.
    Batch(StreamBatch),
    /// Something may have been missed: read the log.
    Resync,
}

/// The follower's inbox. Sending never waits: when the inbox is full the hint is dropped and
/// the follower told to read the log instead, which loses nothing.
#[derive(Clone)]
pub(crate) struct Inbox {
    sender: mpsc::Sender<Hint>,
    missed: Arc<AtomicBool>,
}

impl Inbox {
    pub(crate) fn send(&self, hint: Hint) {
        if self.sender.try_send(hint).is_err() {
            self.missed.store(true, Ordering::Release);
            // Wake the follower even so; a full inbox wakes it anyway.
            let _ = self.sender.try_send(Hint::Resync);
        }
    }
}

impl BrokerListener for Inbox {
    fn batch(&self, batch: StreamBatch) {
        self.send(Hint::Batch(batch));
    }

    fn resync(&self) {
        self.send(Hint::Resync);
    }
}

/// How the follower works.
pub(crate) struct FollowerConfig {
    pub(crate) poll_interval: Duration,
    pub(crate) page: usize,
    /// The most early messages held while waiting for the ones before them.
    pub(crate) max_pending: usize,
    /// How often the log's epoch is read, in case the log was made anew (its tables
    /// recreated) while this process follows it.
    pub(crate) epoch_check: Duration,
}

/// Reads the log's head, starts the tail there, and spawns the follower; returns its inbox.
pub(crate) async fn start(
    tail: Arc<Tail>,
    log: Arc<DynStreamLog>,
    config: FollowerConfig,
    stop: watch::Receiver<bool>,
) -> alerta_core::Result<Inbox> {
    let head = log.head().await?;
    tail.reset(head);
    let (sender, receiver) = mpsc::channel(1024);
    let missed = Arc::new(AtomicBool::new(false));
    let follower = Follower {
        tail,
        log,
        config,
        epoch: head.epoch,
        pending: BTreeMap::new(),
        missed: missed.clone(),
        other_epoch_seen: false,
    };
    tokio::spawn(follower.run(receiver, stop));
    Ok(Inbox { sender, missed })
}

struct Follower {
    tail: Arc<Tail>,
    log: Arc<DynStreamLog>,
    config: FollowerConfig,
    epoch: u64,
    /// Messages that arrived before some position in front of them, by position.
    pending: BTreeMap<Position, StreamEntry>,
    missed: Arc<AtomicBool>,
    /// A batch of another epoch arrived: the log may have been made anew.
    other_epoch_seen: bool,
}

impl Follower {
    async fn run(mut self, mut inbox: mpsc::Receiver<Hint>, mut stop: watch::Receiver<bool>) {
        let mut poll = tokio::time::interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut epoch_check = tokio::time::interval_at(
            tokio::time::Instant::now() + self.config.epoch_check,
            self.config.epoch_check,
        );
        epoch_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let mut read_log = tokio::select! {
                biased;
                _ = stop.changed() => return,
                hint = inbox.recv() => match hint {
                    Some(hint) => self.take(hint),
                    None => return,
                },
                // Nothing is trusted to arrive: a request can be dropped between its commit
                // and its publish, and other processes write too.
                _ = poll.tick() => true,
                _ = epoch_check.tick() => {
                    self.other_epoch_seen = true;
                    false
                }
            };
            while let Ok(hint) = inbox.try_recv() {
                read_log |= self.take(hint);
            }
            read_log |= self.missed.swap(false, Ordering::AcqRel);
            if std::mem::take(&mut self.other_epoch_seen) {
                read_log |= self.check_epoch().await;
            }
            self.apply_pending();
            // A later position is committed, so the ones before it are readable.
            read_log |= !self.pending.is_empty();
            if read_log {
                self.read_log().await;
            }
        }
    }

    /// Files a hint; `true` when the log must be read.
    fn take(&mut self, hint: Hint) -> bool {
        match hint {
            Hint::Resync => true,
            Hint::Batch(batch) if batch.epoch != self.epoch => {
                self.other_epoch_seen = true;
                true
            }
            Hint::Batch(batch) => {
                let head = self.tail.head();
                for entry in batch.entries().filter(|e| e.position > head) {
                    if self.pending.len() >= self.config.max_pending {
                        return true;
                    }
                    self.pending.insert(entry.position, entry);
                }
                false
            }
        }
    }

    /// Reads the log's epoch; when the log was made anew, starts the tail at its head, which
    /// sends every connection a `reset`. `true` when it did.
    async fn check_epoch(&mut self) -> bool {
        match self.log.head().await {
            Ok(head) if head.epoch != self.epoch => {
                tracing::warn!(
                    old = self.epoch,
                    new = head.epoch,
                    "the stream log was made anew; clients start again from its head"
                );
                self.epoch = head.epoch;
                self.pending.clear();
                self.tail.reset(head);
                true
            }
            Ok(_) => false,
            Err(error) => {
                tracing::warn!(%error, "reading the stream log's epoch failed");
                false
            }
        }
    }

    fn apply_pending(&mut self) {
        let mut head = self.tail.head();
        let mut next = Vec::new();
        while let Some(entry) = self.pending.remove(&(head + 1)) {
            head = entry.position;
            next.push(entry);
        }
        self.tail.extend(next);
    }

    async fn read_log(&mut self) {
        loop {
            let head = self.tail.head();
            match self.log.read(head, self.config.page).await {
                Ok(entries) => {
                    let complete = entries.len() < self.config.page;
                    self.tail.extend(entries);
                    if complete {
                        break;
                    }
                }
                Err(error) => {
                    // Tried again at the next poll.
                    tracing::warn!(%error, "reading the stream log failed");
                    break;
                }
            }
        }
        let head = self.tail.head();
        self.pending.retain(|&position, _| position > head);
        self.apply_pending();
    }
}
