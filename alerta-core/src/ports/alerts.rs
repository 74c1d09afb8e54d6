//! The alert store.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{
    Alert, AlertCounts, AlertEvent, AlertFilter, AlertId, Appended, Fingerprint, Grouping,
    Occurrences, OutboxMail, Page, PageRequest, StreamMessage, Timestamp,
};

/// Occurrences of one fingerprint to store, with the mail they cause if they open or reopen
/// its group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertWrite {
    /// The group the occurrences open when their fingerprint has none stored, as
    /// [`Alert::open`](crate::domain::Alert::open) made it: its `count` is how many
    /// occurrences this write brings, its `created_at` when they arrived, and its id also
    /// names this write's [`Occurrences`] (and the history event of a reopening).
    pub alert: Alert,
    /// Mail to send because of it (for `error` and `critical`), written only when the write
    /// opens or reopens its group ([`Grouping::is_mailed`]), never when it folds.
    pub mails: Vec<OutboxMail>,
}

impl AlertWrite {
    /// The write's mail rows, about `group`: the group the store found for the write (its
    /// own alert's id when it opened one).
    pub fn mails_for(&self, group: &AlertId) -> Vec<OutboxMail> {
        self.mails
            .iter()
            .map(|mail| mail.clone().moved_to_alert(&self.alert.id, group))
            .collect()
    }

    /// The stream message the write appends when it opens a new group (`alert`): what every
    /// write of a fingerprint with no stored group appends. [`GroupedAlert::stream_message`]
    /// is the message a stored write appended.
    pub fn stream_message(&self) -> StreamMessage {
        StreamMessage::for_alert(&self.alert)
    }
}

/// What one [`AlertWrite`] did: its group as stored after the step, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupedAlert {
    /// The group as the write left it.
    pub alert: Alert,
    /// Whether the write opened, folded into or reopened it.
    pub grouping: Grouping,
}

impl GroupedAlert {
    /// The stream message the write appends to the log: `alert` for a new group,
    /// `alert.repeated` for a fold, and for a reopening the lifecycle's message for a move
    /// back to `firing` (`alert`).
    pub fn stream_message(&self) -> StreamMessage {
        match &self.grouping {
            Grouping::Opened => StreamMessage::for_alert(&self.alert),
            Grouping::Folded | Grouping::Unsilenced => {
                StreamMessage::for_alert_repeated(&self.alert)
            }
            Grouping::Reopened(event) => StreamMessage::for_alert_event(&self.alert, event),
        }
    }
}

/// What [`AlertStore::insert`] stored: the positions its messages took, and per write, in
/// batch order, what it did to its group.
#[derive(Clone, Debug, PartialEq)]
pub struct Inserted {
    /// The positions of the batch's messages, one per write.
    pub appended: Appended,
    /// One per write, in batch order.
    pub groups: Vec<GroupedAlert>,
    /// The messages the step appended at `appended`, one per write, in batch order: each
    /// group's [`stream_message`](GroupedAlert::stream_message), built once for the log and
    /// for the broadcast.
    pub messages: Vec<StreamMessage>,
}

impl Inserted {
    /// What an empty batch stores: nothing.
    pub fn nothing() -> Self {
        Self {
            appended: Appended::NOTHING,
            groups: Vec::new(),
            messages: Vec::new(),
        }
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
///   [`max_alert_batch`](super::StorageLimits::max_alert_batch) writes in one atomic step,
///   and is durable when it returns: group commit relies on this. Inside that step, each
///   write, in batch order, finds the group of its alert's fingerprint: when none is stored
///   it opens one (the write's alert, with its mail rows); when the group is firing or
///   acknowledged it folds into it ([`Alert::recur`](crate::domain::Alert::recur): count,
///   `last_seen`, version; no mail); when the group is resolved it reopens it (`firing`
///   again, the history event `recur` made, the write's mail rows). Every write keeps its
///   [`Occurrences`] with its group. A fingerprint has at most one group, whatever number
///   of writers store it at once, on one instance or several: the second of two racing
///   writes folds into the group the first opened. The step appends each write's
///   [stream message](GroupedAlert::stream_message) to the [stream log](super::StreamLog),
///   in batch order, under its contract, and `insert` returns the positions and the groups
///   as stored. A larger batch still ends all or nothing, with its messages at consecutive
///   positions taken only when it is whole, but readers may see part of it while it is
///   written (the backend's documentation says what else).
/// - Lists show every stored alert at once when the backend's
///   [`consistent_lists`](super::StorageLimits::consistent_lists) holds, a moment later
///   otherwise.
/// - `insert` takes new alerts, as [`Alert::fire`](crate::domain::Alert::fire) made them,
///   and stores their status, version and time of change as they are.
/// - [`transition`](AlertStore::transition) is atomic: the alert's new state, its history
///   event, its mail rows and its [stream message](AlertTransition::stream_message) are
///   stored together, or none of them is, and `transition` returns the message's position. A transition whose
///   `expected_version` is not the stored version writes nothing: of any number of concurrent
///   transitions made against the same version, at most one succeeds; a fold or a reopening
///   is a new version too, so a transition made before it is stale. Reads by id and
///   histories show every committed transition at once; lists show the new state under the
///   same rule as new alerts.
/// - [`history`](AlertStore::history) is oldest first, empty for an alert never changed or
///   not stored.
/// - [`search`](AlertStore::search) lists groups (one alert per fingerprint) newest first by
///   id, that is by when the group was opened; [`after`](AlertStore::after) lists oldest
///   first, exactly the alerts with a greater id.
/// - [`occurrences`](AlertStore::occurrences) lists a group's [`Occurrences`] newest first
///   (by the id of the write that stored them), empty for an alert not stored.
/// - [`group_of`](AlertStore::group_of) returns the group a fingerprint's next occurrence
///   would join or reopen: the one `insert` finds for it, whatever its status, as stored now
///   (every committed fold and transition shows at once, as for reads by id), and `None`
///   when no write of the fingerprint was ever stored. An alert stored before grouping is
///   the group of its [`legacy`](crate::domain::Fingerprint::legacy) fingerprint.
/// - [`remove_resolved`](AlertStore::remove_resolved) removes up to `limit` groups that are
///   `resolved`, whose last change ([`updated_at`](Alert::updated_at): the resolution, or a
///   later fold) and last occurrence ([`last_seen`](Alert::last_seen)) are both before
///   `before`, and from which no incident was opened
///   ([`IncidentStore::incident_for_alert`](super::IncidentStore::incident_for_alert) is
///   `None`). Each group goes with everything stored for it: its history, its occurrences
///   and the mapping of its fingerprint, so that once the call returns reading it is `None`,
///   its history and occurrences are empty, [`group_of`](AlertStore::group_of) its
///   fingerprint is `None`, and the fingerprint's next `insert` opens a new group (with its
///   mail) as for a fingerprint never seen. Each removal is conditional on the group being,
///   when it is removed, still resolved at the version read and still without an incident:
///   an `insert` or a `transition` that commits first keeps the group (firing, with its
///   count), one that commits after it opens a new group or finds nothing to change; no
///   fingerprint ever names a group that is gone. Any number of callers may run at once:
///   they share the work, and each group is counted by the one call that removed it. Mail
///   rows and stream messages about the group are not the alert store's: their own
///   retention removes them. Returns how many groups this call removed; fewer than `limit`
///   means none was left when it looked (unless another caller took some). The backend's
///   documentation says in what order it finds groups and what it reads to find them.
///
/// # Errors
///
/// - `insert` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when a write's alert id is already
///   stored (as an alert or as the id of stored occurrences) or a mail row's id is, and
///   then store nothing of the batch.
/// - `transition` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`StaleVersion`](crate::ConflictKind::StaleVersion) when `expected_version` is not the
///   stored version or the alert is not stored, and of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when the event's id or a mail row's id is
///   already stored.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Stores a batch of occurrences into their groups, with their mail and their stream
    /// messages, atomically; returns the stream positions they took and the groups as
    /// stored.
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<Inserted>;

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

    /// Counts over every alert (group).
    async fn counts(&self) -> Result<AlertCounts>;

    /// A page of the occurrences of the alert `id`, newest first.
    async fn occurrences(&self, id: &AlertId, page: &PageRequest) -> Result<Page<Occurrences>>;

    /// The group of `fingerprint`, if one is stored.
    async fn group_of(&self, fingerprint: &Fingerprint) -> Result<Option<Alert>>;

    /// Removes up to `limit` resolved groups last changed and last seen before `before`, from
    /// which no incident was opened, with their history, occurrences and fingerprint
    /// mapping; returns how many it removed.
    async fn remove_resolved(&self, before: Timestamp, limit: usize) -> Result<usize>;
}

/// A shared alert store picked at run time.
pub type DynAlertStore = dyn AlertStore;
