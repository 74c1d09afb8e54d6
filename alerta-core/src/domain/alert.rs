//! Alerts of the multi-channel hub.

use serde::{Deserialize, Serialize};

use super::wire_names::wire_names;
use super::{AlertId, AlertMessage, AlertSource, Timestamp};
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

/// An alert: `{id, source, severity, message, channel, created_at}`.
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
