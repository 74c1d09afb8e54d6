//! The alert store.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{
    Alert, AlertCounts, AlertEvent, AlertFilter, AlertId, Appended, OutboxMail, Page, PageRequest,
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

/// One change of a stored alert's status: the alert and its history event as
/// [`Alert::record`](crate::domain::Alert::record) made them, with the mail the change
/// causes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertTransition {
    /// The alert as it is after the change.
    pub alert: Alert,
    /// The version the change was made against.
    pub expected_version: u64,
    /// The history event the change writes.
    pub event: AlertEvent,
    /// Mail the change causes (the `resolved` mail of an alert that was mailed).
    pub mails: Vec<OutboxMail>,
}

impl AlertTransition {
    /// The stream message the change appends to the log: `alert.acknowledged` or
    /// `alert.resolved`, carrying the alert as it is after the change and the event.
    pub fn stream_message(&self) -> StreamMessage {
        StreamMessage::for_alert_event(&self.alert, &self.event)
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
/// - `insert` takes new alerts, as [`Alert::fire`](crate::domain::Alert::fire) made them,
///   and stores their status, version and time of change as they are.
/// - [`transition`](AlertStore::transition) is atomic: the alert's new state, its history
///   event, its mail rows and its [stream message](AlertTransition::stream_message) are
///   stored together, or none of them is, and `transition` returns the message's position. A transition whose
///   `expected_version` is not the stored version writes nothing: of any number of concurrent
///   transitions made against the same version, at most one succeeds. Reads by id and
///   histories show every committed transition at once; lists show the new state under the
///   same rule as new alerts.
/// - [`history`](AlertStore::history) is oldest first, empty for an alert never changed or
///   not stored.
/// - [`search`](AlertStore::search) lists newest first; [`after`](AlertStore::after) lists
///   oldest first, exactly the alerts with a greater id.
///
/// # Errors
///
/// - `insert` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when an id is already stored, and then
///   store nothing of the batch.
/// - `transition` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`StaleVersion`](crate::ConflictKind::StaleVersion) when `expected_version` is not the
///   stored version or the alert is not stored, and of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when the event's id or a mail row's id is
///   already stored.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Stores a batch of alerts, their mail and their stream messages atomically; returns
    /// the stream positions they took.
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<Appended>;

    /// Stores one status change of one alert atomically; returns the stream position it took.
    async fn transition(&self, change: AlertTransition) -> Result<Appended>;

    /// The alert with `id`, if any.
    async fn alert(&self, id: &AlertId) -> Result<Option<Alert>>;

    /// The status changes of `id`, oldest first.
    async fn history(&self, id: &AlertId) -> Result<Vec<AlertEvent>>;

    /// A page of alerts matching `filter`, newest first.
    async fn search(&self, filter: &AlertFilter, page: &PageRequest) -> Result<Page<Alert>>;

    /// Up to `limit` alerts with an id greater than `after` (all when `None`), oldest first.
    async fn after<'a>(&self, after: Option<&'a AlertId>, limit: usize) -> Result<Vec<Alert>>;

    /// Counts over every alert.
    async fn counts(&self) -> Result<AlertCounts>;
}

/// A shared alert store picked at run time.
pub type DynAlertStore = dyn AlertStore;
