//! The stream log, and the broker that carries committed messages between instances.

use std::sync::Arc;

use async_trait::async_trait;

use crate::Result;
use crate::domain::{Position, StreamBatch, StreamEntry, StreamHead, Timestamp};

/// The stream log: every message the stores' atomic writes appended, by position.
///
/// The writes themselves are the stores' ([`IncidentStore::commit`](super::IncidentStore::commit),
/// [`AlertStore::insert`](super::AlertStore::insert)): each appends its change's messages in
/// the same atomic write that stores the change.
///
/// # Contract
///
/// - Positions are given inside the atomic write, strictly increasing in commit order across
///   every process writing to the backend, starting at 1, **with no holes**: a write that
///   fails or rolls back takes no position, so when position `p + 1` exists, every position up
///   to `p` is readable (unless retention removed it).
/// - The messages of one write get consecutive positions, in the order the change lists them.
/// - [`read`](StreamLog::read) returns the entries after `after`, in position order, as they
///   were committed; at most `limit`, and fewer only when it reached the head.
/// - The epoch is fixed for the life of the log; a log made anew (a new database, a restore
///   into new tables) has another one. A log moved whole to another backend
///   ([`RecordSink::adopt_stream`](super::RecordSink::adopt_stream)) keeps its epoch and
///   positions: it is the same log.
/// - [`trim`](StreamLog::trim) removes entries committed before a time, oldest first, and
///   never the head: positions keep counting from where they were.
///
/// # Errors
///
/// Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StreamLog: Send + Sync {
    /// The epoch, the head, and the oldest position kept.
    async fn head(&self) -> Result<StreamHead>;

    /// Up to `limit` entries after position `after`, in position order.
    async fn read(&self, after: Position, limit: usize) -> Result<Vec<StreamEntry>>;

    /// Removes entries committed before `before`, keeping the head; returns how many went.
    async fn trim(&self, before: Timestamp) -> Result<u64>;
}

/// A shared stream log picked at run time.
pub type DynStreamLog = dyn StreamLog;

/// What a broker tells the instance that listens to it.
pub trait BrokerListener: Send + Sync {
    /// Another instance (or this one) committed `batch`.
    fn batch(&self, batch: StreamBatch);

    /// The broker connection was lost or made again: messages may have been missed, so the
    /// listener should read the log.
    fn resync(&self);
}

/// Carries committed messages between the instances of a deployment.
///
/// # Contract
///
/// The broker is a fast path, not the truth: it may lose, repeat, reorder or delay batches,
/// and listeners fill gaps from the [`StreamLog`]. [`publish`](Broker::publish) does not wait
/// for listeners. After [`listen`](Broker::listen), every batch published by any instance
/// while the broker is reachable reaches the listener, and every loss of the connection is
/// reported with [`BrokerListener::resync`] once it is back.
///
/// # Errors
///
/// `publish` MUST return [`Error::Unavailable`](crate::Error::Unavailable) when the broker
/// cannot be reached; the batch is committed already, so callers only log it.
#[async_trait]
pub trait Broker: Send + Sync {
    /// Hands `batch` to every listening instance.
    async fn publish(&self, batch: &StreamBatch) -> Result<()>;

    /// Starts delivering batches to `listener`, for as long as the broker lives.
    async fn listen(&self, listener: Arc<dyn BrokerListener>) -> Result<()>;

    /// Whether the broker answers now.
    async fn healthy(&self) -> bool;
}

/// A shared broker picked at run time.
pub type DynBroker = dyn Broker;
