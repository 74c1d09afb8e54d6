//! Alerts of the multi-channel hub.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AlertId, AlertMessage, AlertSource, Timestamp};
use crate::Error;

/// How bad an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl Severity {
    /// Every severity, mildest first.
    pub const ALL: [Severity; 4] = [Self::Info, Self::Warning, Self::Error, Self::Critical];

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| Error::invalid("severity", "expected info, warning, error or critical"))
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }

    /// `error` and `critical` alerts are mailed.
    pub fn is_mailed(self) -> bool {
        matches!(self, Self::Error | Self::Critical)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an alert arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A JSON line over TCP.
    Tcp,
    /// `POST /events`.
    Http,
    /// A WebSocket message.
    Ws,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 3] = [Self::Tcp, Self::Http, Self::Ws];

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| Error::invalid("channel", "expected tcp, http or ws"))
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Http => "http",
            Self::Ws => "ws",
        }
    }
}

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
