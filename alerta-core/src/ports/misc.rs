//! Blobs, the real-time broadcaster and the clock.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{Blob, BlobKey, StreamBatch, Timestamp};

/// Bytes by key: attachments and reports.
///
/// # Contract
///
/// - `put` replaces any blob under the key, atomically: a reader sees the old bytes or the
///   new, never part of them.
/// - Keys are made by the core ([`BlobKey`]) and never from user text.
/// - `check` answers `Ok` when the store can be reached now (its directory, its buckets), and
///   changes no blob: health reports call it on every request.
///
/// # Errors
///
/// - `get` of a missing key MUST return [`Error::NotFound`](crate::Error::NotFound).
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key` with their content type.
    async fn put(&self, key: &BlobKey, content_type: &str, bytes: Vec<u8>) -> Result<()>;

    /// The blob under `key`.
    async fn get(&self, key: &BlobKey) -> Result<Blob>;

    /// Whether the store can be reached now.
    async fn check(&self) -> Result<()>;
}

/// A shared blob store picked at run time.
pub type DynBlobStore = dyn BlobStore;

/// Hands committed stream messages to live subscribers.
///
/// # Contract
///
/// A publish is a hint that messages were committed: subscribers receive what the
/// [`StreamLog`](super::StreamLog) holds, in position order, whether or not the publish of a
/// batch ever happens (a request can be dropped between its commit and its publish).
/// Publishing never waits for a subscriber.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Broadcaster: Send + Sync {
    /// Tells the stream that `batch` was committed.
    async fn publish(&self, batch: &StreamBatch) -> Result<()>;
}

/// A shared broadcaster picked at run time.
pub type DynBroadcaster = dyn Broadcaster;

/// Tells the time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp::from_unix_millis(ms)
    }
}

/// A clock that only moves when told to, for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::atomic::AtomicI64,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: std::sync::atomic::AtomicI64::new(start.unix_millis()),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.now
            .fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, to: Timestamp) {
        self.now
            .store(to.unix_millis(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.now.load(std::sync::atomic::Ordering::SeqCst))
    }
}
