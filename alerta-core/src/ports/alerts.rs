//! The alert store.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{
    Alert, AlertCounts, AlertFilter, AlertId, Appended, OutboxMail, Page, PageRequest,
    StreamMessage,
};

/// One alert to store with the mail it causes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertWrite {
    /// The alert.
    pub alert: Alert,
    /// Mail to send because of it (for `error` and `critical`).
    pub mails: Vec<OutboxMail>,
}

impl AlertWrite {
    /// The stream message the alert appends to the log.
    pub fn stream_message(&self) -> StreamMessage {
        StreamMessage::for_alert(&self.alert)
    }
}

/// Where alerts live.
///
/// # Contract
///
/// - [`insert`](AlertStore::insert) stores a batch of up to the backend's
///   [`max_alert_batch`](super::StorageLimits::max_alert_batch) alerts (alerts and their
///   outbox rows) in one atomic step, and is durable when it returns: group commit relies on
///   this. The step appends each alert's [stream message](AlertWrite::stream_message) to the
///   [stream log](super::StreamLog), in batch order, under its contract, and `insert`
///   returns the positions. A larger batch still ends all or nothing, with its messages at
///   consecutive positions taken only when it is whole, but readers may see part of it
///   while it is written (the backend's documentation says what else).
/// - Lists show every stored alert at once when the backend's
///   [`consistent_lists`](super::StorageLimits::consistent_lists) holds, a moment later
///   otherwise.
/// - [`search`](AlertStore::search) lists newest first; [`after`](AlertStore::after) lists
///   oldest first, exactly the alerts with a greater id.
///
/// # Errors
///
/// - `insert` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when an id is already stored, and then
///   store nothing of the batch.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Stores a batch of alerts, their mail and their stream messages atomically; returns
    /// the stream positions they took.
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<Appended>;

    /// A page of alerts matching `filter`, newest first.
    async fn search(&self, filter: &AlertFilter, page: &PageRequest) -> Result<Page<Alert>>;

    /// Up to `limit` alerts with an id greater than `after` (all when `None`), oldest first.
    async fn after<'a>(&self, after: Option<&'a AlertId>, limit: usize) -> Result<Vec<Alert>>;

    /// Counts over every alert.
    async fn counts(&self) -> Result<AlertCounts>;
}

/// A shared alert store picked at run time.
pub type DynAlertStore = dyn AlertStore;
