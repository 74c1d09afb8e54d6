//! The incident store: incidents, their history, attachment metadata, and the mail their
//! changes cause, written together.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::Result;
use crate::domain::{
    AlertId, Appended, Attachment, AttachmentId, EventId, EventKind, Incident, IncidentCounts,
    IncidentEvent, IncidentFilter, IncidentId, OutboxMail, Page, PageRequest, StreamMessage,
};

/// One atomic change of one incident: the incident and its event(s) as
/// [`Incident::report`](crate::domain::Incident::report) or
/// [`Incident::record`](crate::domain::Incident::record) made them, and what goes with them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentChange {
    /// The incident as it is after the change.
    pub incident: Incident,
    /// The version the change was made against: `None` when the incident is new.
    pub expected_version: Option<u64>,
    /// The history event(s) the change writes, in order.
    pub events: Vec<IncidentEvent>,
    /// Attachment metadata the change adds.
    pub attachments: Vec<Attachment>,
    /// Mail to send because of the change.
    pub mails: Vec<OutboxMail>,
}

impl IncidentChange {
    /// The stream messages the change appends to the log, in event order, one per audience
    /// of each event ([`StreamMessage::for_event`]): each carries the incident as it is after
    /// the change.
    pub fn stream_messages(&self) -> Vec<StreamMessage> {
        self.events
            .iter()
            .flat_map(|event| StreamMessage::for_event(&self.incident, event))
            .collect()
    }
}

/// Which history events to read across all incidents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events with an id greater than this one.
    pub after: Option<EventId>,
    /// Only events of this kind.
    pub kind: Option<EventKind>,
    /// At most this many.
    pub limit: usize,
}

/// Where incidents and their history live.
///
/// # Contract
///
/// - [`commit`](IncidentStore::commit) is atomic: the incident, every event, every attachment,
///   every outbox row and every [stream message](IncidentChange::stream_messages) of the
///   change are stored together, or none of them is. The messages take the next positions of
///   the [stream log](super::StreamLog), under its contract, and `commit` returns them.
/// - A change whose `expected_version` is not the stored version writes nothing. Of any number
///   of concurrent changes made against the same version, at most one succeeds.
/// - A change holds at most the backend's
///   [`max_change_items`](super::StorageLimits::max_change_items) items (the incident, its
///   events, attachments and mail rows).
/// - Lists are ordered newest first (by id); cursors are opaque and only meaningful to the
///   store that made them. A page with `next_cursor: None` is the last. Lists show every
///   committed change at once when the backend's
///   [`consistent_lists`](super::StorageLimits::consistent_lists) holds, a moment later
///   otherwise; reads by id and histories always do.
/// - History is returned oldest first.
/// - An incident opened from an alert ([`Incident::alert_id`](crate::domain::Incident::alert_id))
///   is the only one of that alert: of any number of concurrent new incidents naming the same
///   alert, on any number of instances, at most one is stored, and
///   [`incident_for_alert`](IncidentStore::incident_for_alert) names it as soon as `commit`
///   returns, and [`incidents_for_alerts`](IncidentStore::incidents_for_alerts) too. The
///   alert must be stored when the incident is: checked in the same atomic step, so that
///   alert retention ([`AlertStore::remove_resolved`](super::AlertStore::remove_resolved))
///   and a new incident naming the alert never both succeed.
///
/// # Errors
///
/// - `commit` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`StaleVersion`](crate::ConflictKind::StaleVersion) when `expected_version` does not
///   match (or is `Some` for an incident that does not exist), and of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when `expected_version` is `None` and the
///   incident exists, or when an event, attachment or mail row of the change has an id that
///   is already stored; and of kind [`AlreadyLinked`](crate::ConflictKind::AlreadyLinked)
///   when a new incident names an alert that a stored incident names; and
///   [`Error::NotFound`](crate::Error::NotFound) (`alert`) when a new incident names an alert
///   that is not stored.
/// - `commit` MUST return [`Error::Invalid`](crate::Error::Invalid) on field `change` for a
///   change of more items than the backend's
///   [`max_change_items`](super::StorageLimits::max_change_items), and then write nothing.
/// - Every method MUST return [`Error::Unavailable`](crate::Error::Unavailable) when the
///   backend fails, and MUST NOT leak backend error types.
/// - A cursor the store cannot read MUST give [`Error::Invalid`](crate::Error::Invalid) on
///   field `cursor`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Stores one change atomically; returns the stream positions it took.
    async fn commit(&self, change: IncidentChange) -> Result<Appended>;

    /// The incident with `id`, if any.
    async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>>;

    /// A page of incidents matching `filter`, newest first.
    async fn incidents(
        &self,
        filter: &IncidentFilter,
        page: &PageRequest,
    ) -> Result<Page<Incident>>;

    /// The history of `id`, oldest first (empty for an unknown incident).
    async fn history(&self, id: &IncidentId) -> Result<Vec<IncidentEvent>>;

    /// Events across all incidents in id order, as the stream replay and the report job read
    /// them.
    async fn events(&self, query: &EventQuery) -> Result<Vec<IncidentEvent>>;

    /// The attachments of `id`, oldest first.
    async fn attachments(&self, id: &IncidentId) -> Result<Vec<Attachment>>;

    /// One attachment of `incident`.
    async fn attachment(
        &self,
        incident: &IncidentId,
        id: &AttachmentId,
    ) -> Result<Option<Attachment>>;

    /// Counts over every incident.
    async fn counts(&self) -> Result<IncidentCounts>;

    /// The incident opened from the alert `alert`, if any.
    async fn incident_for_alert(&self, alert: &AlertId) -> Result<Option<IncidentId>>;

    /// The incidents opened from each of `alerts` that has one, by alert, read in one go
    /// (a page of the alert list at a time): what
    /// [`incident_for_alert`](IncidentStore::incident_for_alert) says of each, with the
    /// alerts that have none (or are not stored) left out.
    async fn incidents_for_alerts(
        &self,
        alerts: &[AlertId],
    ) -> Result<HashMap<AlertId, IncidentId>>;
}

/// A shared incident store picked at run time.
pub type DynIncidentStore = dyn IncidentStore;
