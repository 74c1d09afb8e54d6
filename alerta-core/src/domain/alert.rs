//! Alerts of the multi-channel hub.

use serde::{Deserialize, Serialize};

use super::alert_history::{AlertAction, AlertEvent, AlertStatus};
use super::wire_names::wire_names;
use super::{AlertId, AlertMessage, AlertSource, EventId, IdSource, Timestamp, UserId};
use crate::Error;

/// How bad an alert is, mildest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// For the record.
    Info,
    /// Worth a look.
    Warning,
    /// Something failed; mailed.
    Error,
    /// Something failed badly; mailed.
    Critical,
}

wire_names!(Severity, field "severity", {
    Info = "info",
    Warning = "warning",
    Error = "error",
    Critical = "critical",
});

impl Severity {
    /// `error` and `critical` alerts are mailed.
    pub fn is_mailed(self) -> bool {
        matches!(self, Self::Error | Self::Critical)
    }
}

/// How an alert arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// A JSON line over TCP.
    Tcp,
    /// `POST /events`.
    Http,
    /// A WebSocket message.
    Ws,
}

wire_names!(Channel, field "channel", {
    Tcp = "tcp",
    Http = "http",
    Ws = "ws",
});

/// An alert: `{id, source, severity, message, channel, created_at, status, version,
/// updated_at, silenced}`.
///
/// What it says is fixed when it is stored; where it stands (`status`, `version`,
/// `updated_at`) changes only through [`record`](Self::record), which checks the lifecycle
/// and hands back the history event of the change. A new alert comes from
/// [`fire`](Self::fire); a store reads one back with [`restore`](Self::restore).
/// Deserializing one (an idempotent request's stored reply) trusts the JSON as `restore`
/// trusts a store; a reply stored before alerts had a lifecycle reads as firing, version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Whether a silence held it back from mail when it was stored; absent (false) in
    /// replies stored before silences existed.
    #[serde(default)]
    silenced: bool,
}

fn first_version() -> u64 {
    1
}

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

impl Alert {
    /// A new alert from `draft`, stored at `at`: `firing`, version 1.
    pub fn fire(id: AlertId, draft: AlertDraft, at: Timestamp) -> Self {
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

    /// Checks `action` against the alert's lifecycle and records it, done by `actor` at
    /// `at`: the alert as it is afterwards (one version later) and the history event that
    /// says what happened, whose id comes from `ids`. `self` is left as it was, so the
    /// caller can still name the version the change was made against.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] of kind [`InvalidTransition`](crate::ConflictKind::InvalidTransition)
    /// for a move the lifecycle does not allow (see [`AlertStatus::can_move_to`]).
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
            to: self.status.move_to(to)?,
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

    /// Where it stands, as a store keeps it.
    pub fn state(&self) -> AlertState {
        AlertState {
            status: self.status,
            version: self.version,
            updated_at: self.updated_at(),
        }
    }

    /// What it says and how it arrived, as a draft.
    pub fn draft(&self) -> AlertDraft {
        AlertDraft {
            source: self.source.clone(),
            severity: self.severity,
            message: self.message.clone(),
            channel: self.channel,
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
}

impl AlertDraft {
    /// Parses the fields of `POST /events` or a TCP line.
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
        })
    }
}
