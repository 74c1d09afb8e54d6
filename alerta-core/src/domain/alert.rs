//! Alerts of the multi-channel hub.

use serde::{Deserialize, Serialize};

use super::alert_group::{Fingerprint, Grouping};
use super::alert_history::{AlertAction, AlertEvent, AlertStatus};
use super::lifecycle::Lifecycle;
use super::wire_names::wire_names;
use super::{AlertId, AlertMessage, AlertSource, EventId, IdSource, IncidentId, Timestamp, UserId};
use crate::Error;

wire_names! {
    /// How bad an alert is, mildest first.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Severity, field "severity" {
        /// For the record.
        Info = "info",
        /// Worth a look.
        Warning = "warning",
        /// Something failed; mailed.
        Error = "error",
        /// Something failed badly; mailed.
        Critical = "critical",
    }
}

impl Severity {
    /// `error` and `critical` alerts are mailed.
    pub fn is_mailed(self) -> bool {
        matches!(self, Self::Error | Self::Critical)
    }
}

wire_names! {
    /// How an alert arrived.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Channel, field "channel" {
        /// A JSON line over TCP.
        Tcp = "tcp",
        /// `POST /events`.
        Http = "http",
        /// A WebSocket message.
        Ws = "ws",
    }
}

/// An alert: `{id, source, severity, message, channel, created_at, status, version,
/// updated_at, fingerprint, count, first_seen, last_seen, silenced}`.
///
/// The alert is the group of every occurrence of its fingerprint: what it says is the first
/// occurrence's, fixed when it is stored; where it stands (`status`, `version`,
/// `updated_at`) changes only through [`record`](Self::record), which checks the lifecycle
/// and hands back the history event of the change, and through [`recur`](Self::recur), which
/// folds later occurrences in (`count`, `last_seen`). A new alert comes from
/// [`fire`](Self::fire) or [`open`](Self::open); a store reads one back with
/// [`restore`](Self::restore). Deserializing one (an idempotent request's stored reply)
/// trusts the JSON as `restore` trusts a store; a reply stored before alerts had a lifecycle
/// reads as firing, version 1, and one stored before they were grouped as a group of one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// The alert's id; also its stream id.
    pub id: AlertId,
    /// Where it came from.
    pub source: AlertSource,
    /// How bad.
    pub severity: Severity,
    /// What it says.
    pub message: AlertMessage,
    /// How it arrived.
    pub channel: Channel,
    /// When it was stored.
    pub created_at: Timestamp,
    #[serde(default)]
    status: AlertStatus,
    #[serde(default = "first_version")]
    version: u64,
    #[serde(default)]
    updated_at: Option<Timestamp>,
    #[serde(default)]
    fingerprint: Option<Fingerprint>,
    #[serde(default = "first_version")]
    count: u64,
    #[serde(default)]
    first_seen: Option<Timestamp>,
    #[serde(default)]
    last_seen: Option<Timestamp>,
    /// Whether a silence held it back from mail when it was stored; absent (false) in
    /// replies stored before silences existed.
    #[serde(default)]
    silenced: bool,
}

/// An alert as the alert list and a read by id show it: with the incident opened from it
/// (`incident_id`, `null` when none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertWithIncident {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// The incident opened from it, if any.
    pub incident_id: Option<IncidentId>,
}

fn first_version() -> u64 {
    1
}

/// The actor a source's own changes are recorded under.
pub(crate) const INGEST_ACTOR: &str = "ingest";

/// Where an alert stands, as a store keeps it, for [`Alert::restore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertState {
    /// Its status.
    pub status: AlertStatus,
    /// 1 when stored, one more on every change.
    pub version: u64,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// How many occurrences an alert's group holds and when they arrived, as a store keeps it,
/// for [`Alert::with_group`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// How many occurrences (at least 1).
    pub count: u64,
    /// When the first one arrived.
    pub first_seen: Timestamp,
    /// When the latest one arrived.
    pub last_seen: Timestamp,
}

impl Alert {
    /// A new alert from `draft`, stored at `at`: `firing`, version 1, a group of one.
    pub fn fire(id: AlertId, draft: AlertDraft, at: Timestamp) -> Self {
        Self::open(id, draft, at, 1)
    }

    /// A new group of `occurrences` (at least 1) occurrences of `draft` that arrived at `at`:
    /// `firing`, version 1. A group commit opens one per fingerprint of its batch; a store
    /// that already holds the fingerprint's group [`recur`](Self::recur)s that group with it
    /// instead.
    pub fn open(id: AlertId, draft: AlertDraft, at: Timestamp, occurrences: u64) -> Self {
        let fingerprint = draft.fingerprint();
        Self {
            id,
            source: draft.source,
            severity: draft.severity,
            message: draft.message,
            channel: draft.channel,
            created_at: at,
            status: AlertStatus::Firing,
            version: 1,
            updated_at: Some(at),
            fingerprint: Some(fingerprint),
            count: occurrences.max(1),
            first_seen: Some(at),
            last_seen: Some(at),
            silenced: false,
        }
    }

    /// The alert with its silenced flag set to `silenced`: decided when it is stored (a
    /// silence was active and matched it, so it is not mailed) and kept as it is after.
    /// Ingestion and stores set it; nothing else should.
    pub fn with_silenced(mut self, silenced: bool) -> Self {
        self.silenced = silenced;
        self
    }

    /// Whether a silence held it back from mail when it was stored.
    pub fn silenced(&self) -> bool {
        self.silenced
    }

    /// An alert as a store kept it: what `draft` says, stored at `created_at`, standing at
    /// `state`.
    ///
    /// # Danger
    ///
    /// No rule is checked: the parts are taken to be what [`fire`](Self::fire) and
    /// [`record`](Self::record) made and a store wrote. Only stores, and tests that need an
    /// alert in a given state, should call this.
    pub fn restore(
        id: AlertId,
        draft: AlertDraft,
        created_at: Timestamp,
        state: AlertState,
    ) -> Self {
        let mut alert = Self::fire(id, draft, created_at);
        alert.status = state.status;
        alert.version = state.version;
        alert.updated_at = Some(state.updated_at);
        alert
    }

    /// This alert holding the occurrences `group` says, as a store kept them; a restored
    /// alert without it is a group of one.
    ///
    /// # Danger
    ///
    /// As for [`restore`](Self::restore): only stores, and tests that need a group in a given
    /// state, should call this.
    pub fn with_group(mut self, group: GroupState) -> Self {
        self.count = group.count.max(1);
        self.first_seen = Some(group.first_seen);
        self.last_seen = Some(group.last_seen);
        self
    }

    /// Folds `occurrence` (occurrences of this alert's fingerprint, as [`open`](Self::open)
    /// made them for one write) into this group: the group as it is afterwards, and what
    /// happened to it. This is the one rule of grouping:
    ///
    /// - `count` grows by the occurrence's count, `last_seen` becomes the latest arrival,
    ///   `version` grows by one (so a change made against the old version is stale) and
    ///   `updated_at` is the arrival; what the alert says stays the first occurrence's.
    /// - A `firing` or `acknowledged` group keeps its status: [`Grouping::Folded`].
    /// - A `resolved` group fires again, with a history event by `ingest` whose id is the
    ///   occurrence's id: [`Grouping::Reopened`].
    ///
    /// `self` is left as it was.
    pub fn recur(&self, occurrence: &Alert) -> (Alert, Grouping) {
        let at = occurrence.created_at;
        let mut next = self.clone();
        next.count = self.count.saturating_add(occurrence.count);
        next.last_seen = Some(self.last_seen().max(occurrence.last_seen()));
        next.version += 1;
        next.updated_at = Some(at);
        if self.status != AlertStatus::Resolved {
            // A group a silence held back is mailed by the first occurrence no silence holds
            // back: the silence ended while the alert kept firing.
            if self.silenced && !occurrence.silenced {
                next.silenced = false;
                return (next, Grouping::Unsilenced);
            }
            return (next, Grouping::Folded);
        }
        next.silenced = occurrence.silenced;
        next.status = AlertStatus::Firing;
        let event = AlertEvent {
            event_id: EventId::parse(occurrence.id.as_str()).expect("an alert id is an event id"),
            alert_id: self.id.clone(),
            from: AlertStatus::Resolved,
            to: AlertStatus::Firing,
            actor: UserId::parse(INGEST_ACTOR).expect("a valid user id"),
            note: None,
            created_at: at,
        };
        (next, Grouping::Reopened(event))
    }

    /// Checks `action` against the alert's lifecycle and records it, done by `actor` at
    /// `at`: the alert as it is afterwards (one version later) and the history event that
    /// says what happened, whose id comes from `ids`. `self` is left as it was, so the
    /// caller can still name the version the change was made against.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] of kind [`InvalidTransition`](crate::ConflictKind::InvalidTransition)
    /// for a move the lifecycle does not allow (see [`Lifecycle::can_move_to`](super::Lifecycle::can_move_to)).
    pub fn record(
        &self,
        action: AlertAction,
        actor: &UserId,
        at: Timestamp,
        ids: &dyn IdSource,
    ) -> Result<(Alert, AlertEvent), Error> {
        let (to, note) = action.into_parts();
        let event = AlertEvent {
            event_id: EventId::generate(ids),
            alert_id: self.id.clone(),
            from: self.status,
            to: self.status.checked_move(to)?,
            actor: actor.clone(),
            note,
            created_at: at,
        };
        let mut next = self.clone();
        next.status = event.to;
        next.version += 1;
        next.updated_at = Some(at);
        Ok((next, event))
    }

    /// Where it stands.
    pub fn status(&self) -> AlertStatus {
        self.status
    }

    /// 1 when stored, one more on every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When it last changed: when it was stored until something changes it.
    pub fn updated_at(&self) -> Timestamp {
        self.updated_at.unwrap_or(self.created_at)
    }

    /// What makes another alert the same alert. An alert read from a reply stored before
    /// alerts were grouped has the default one.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
            .clone()
            .unwrap_or_else(|| Fingerprint::of(&self.source, self.severity, &self.message))
    }

    /// The fingerprint as the alert carries it, without computing the default.
    pub(crate) fn fingerprint_ref(&self) -> Option<&Fingerprint> {
        self.fingerprint.as_ref()
    }

    /// How many occurrences the group holds: 1 when stored, more as the same alert recurs.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// When its first occurrence arrived: when it was stored.
    pub fn first_seen(&self) -> Timestamp {
        self.first_seen.unwrap_or(self.created_at)
    }

    /// When its latest occurrence arrived.
    pub fn last_seen(&self) -> Timestamp {
        self.last_seen.unwrap_or(self.created_at)
    }

    /// Where it stands, as a store keeps it.
    pub fn state(&self) -> AlertState {
        AlertState {
            status: self.status,
            version: self.version,
            updated_at: self.updated_at(),
        }
    }

    /// How many occurrences it holds and when they arrived, as a store keeps them.
    pub fn group(&self) -> GroupState {
        GroupState {
            count: self.count,
            first_seen: self.first_seen(),
            last_seen: self.last_seen(),
        }
    }

    /// What it says and how it arrived, as a draft, with its fingerprint.
    pub fn draft(&self) -> AlertDraft {
        AlertDraft {
            source: self.source.clone(),
            severity: self.severity,
            message: self.message.clone(),
            channel: self.channel,
            fingerprint: Some(self.fingerprint()),
        }
    }
}

/// A checked alert not yet stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertDraft {
    /// Where it came from.
    pub source: AlertSource,
    /// How bad.
    pub severity: Severity,
    /// What it says.
    pub message: AlertMessage,
    /// How it arrived.
    pub channel: Channel,
    /// The fingerprint the sender gave; `None` for the default one
    /// ([`Fingerprint::of`] the source, severity and message).
    pub fingerprint: Option<Fingerprint>,
}

impl AlertDraft {
    /// Parses the fields of `POST /events` or a TCP line, without a fingerprint of the
    /// sender's.
    pub fn parse(
        source: &str,
        severity: &str,
        message: &str,
        channel: Channel,
    ) -> Result<Self, Error> {
        Ok(Self {
            source: AlertSource::parse(source)?,
            severity: Severity::parse(severity)?,
            message: AlertMessage::parse(message)?,
            channel,
            fingerprint: None,
        })
    }

    /// This draft with the sender's fingerprint, if they gave one (`fingerprint` or
    /// `dedup_key`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on the field `fingerprint` for one that [`Fingerprint::parse`]
    /// refuses.
    pub fn with_fingerprint(mut self, fingerprint: Option<&str>) -> Result<Self, Error> {
        self.fingerprint = fingerprint.map(Fingerprint::parse).transpose()?;
        Ok(self)
    }

    /// The fingerprint its group is found by: the sender's, or the default one.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
            .clone()
            .unwrap_or_else(|| Fingerprint::of(&self.source, self.severity, &self.message))
    }
}
