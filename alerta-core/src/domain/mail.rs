//! Outgoing mail and the rows of the outbox that holds it until it is sent.

use serde::{Deserialize, Serialize};

use super::wire_names::wire_names;
use super::{AlertId, Email, IncidentId, MailId, Timestamp};
use crate::Error;

/// A subject line: one line, at most 250 characters, so it cannot carry extra headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Subject(String);

impl Subject {
    /// Builds a subject from any text: line breaks and other control characters become spaces
    /// and long text is cut, because a subject is made from user values and must never fail.
    pub fn sanitize(raw: &str) -> Self {
        let flat: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(250)
            .collect();
        Self(flat.trim().to_owned())
    }

    /// The subject.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message to send: recipients, subject, a plain-text body and the same as HTML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailMessage {
    /// Recipients.
    pub to: Vec<Email>,
    /// One-line subject.
    pub subject: Subject,
    /// Plain-text body.
    pub text: String,
    /// HTML body, with every user value escaped.
    pub html: String,
}

wire_names! {
    /// Where an outbox row stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum MailState, field "state" {
        /// Waiting to be sent (or to be retried).
        Pending = "pending",
        /// Delivered to the mail server.
        Sent = "sent",
        /// Given up on after permanent failures; an operator can retry it.
        Dead = "dead",
        /// Settled without sending, because what it was about no longer needed it: a reminder
        /// of an alert that was acknowledged or resolved before it was due.
        Cancelled = "cancelled",
    }
}

/// How much mail waits in an outbox (`/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Rows still to be sent, waiting for the server included.
    pub pending: u64,
    /// Rows given up on, until an operator requeues them or retention removes them.
    pub dead: u64,
    /// The earliest time a pending row was due, if any row is pending (for a row not due
    /// yet, a time still to come).
    pub oldest_pending: Option<Timestamp>,
}

impl MailState {
    /// The states a row ends in: sent, dead or cancelled. Retention removes only these.
    pub const SETTLED: [MailState; 3] = [MailState::Sent, MailState::Dead, MailState::Cancelled];

    /// Whether a row in this state is settled: it will not be sent unless an operator
    /// requeues it.
    pub fn is_settled(self) -> bool {
        Self::SETTLED.contains(&self)
    }
}

wire_names! {
    /// Which mail a row is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum MailKind, field "kind" {
        /// The first mail of an `error` or `critical` alert.
        Alert = "alert",
        /// A reminder of an alert nobody has acknowledged; sent only while the alert fires.
        Reminder = "reminder",
        /// An alert that was mailed is resolved.
        AlertResolved = "alert_resolved",
        /// An incident became `resuelto`: the mail to its reporter.
        IncidentResolved = "incident_resolved",
        /// An incident was assigned: the mail to the department.
        Assignment = "assignment",
        /// The report on an assignment was written: the mail to the department.
        Report = "report",
    }
}

/// What a mail is about: `{"incident": id}` or `{"alert": id}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MailAbout {
    /// An incident.
    Incident(IncidentId),
    /// An alert.
    Alert(AlertId),
}

impl MailAbout {
    /// The one-string form stores index rows by: `incident:<id>` or `alert:<id>`.
    pub fn key(&self) -> String {
        match self {
            Self::Incident(id) => format!("incident:{id}"),
            Self::Alert(id) => format!("alert:{id}"),
        }
    }

    /// Reads back what [`key`](Self::key) wrote.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for any other text.
    pub fn parse_key(text: &str) -> Result<Self, Error> {
        match text.split_once(':') {
            Some(("incident", id)) => Ok(Self::Incident(IncidentId::parse(id)?)),
            Some(("alert", id)) => Ok(Self::Alert(AlertId::parse(id)?)),
            _ => Err(Error::invalid(
                "about",
                format!("'{text}' is neither incident:<id> nor alert:<id>"),
            )),
        }
    }
}

/// Why a row was written: which mail it is and what it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailCause {
    /// Which mail.
    pub kind: MailKind,
    /// About what.
    pub about: MailAbout,
}

impl MailCause {
    /// Mail of `kind` about the alert `id`.
    pub fn alert(kind: MailKind, id: &AlertId) -> Self {
        Self {
            kind,
            about: MailAbout::Alert(id.clone()),
        }
    }

    /// Mail of `kind` about the incident `id`.
    pub fn incident(kind: MailKind, id: &IncidentId) -> Self {
        Self {
            kind,
            about: MailAbout::Incident(id.clone()),
        }
    }

    /// The alert whose firing the row waits on: a reminder goes only while its alert is
    /// still `firing`, and is cancelled otherwise.
    pub fn only_while_firing(&self) -> Option<&AlertId> {
        match (&self.kind, &self.about) {
            (MailKind::Reminder, MailAbout::Alert(id)) => Some(id),
            _ => None,
        }
    }
}

/// One row of the mail outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxMail {
    /// The row's id.
    pub id: MailId,
    /// The `Message-ID` header, the same on every attempt so receivers can drop repeats.
    pub message_id: String,
    /// Why it was written; `None` only for rows stored before rows recorded it.
    #[serde(default)]
    pub cause: Option<MailCause>,
    /// What to send.
    pub message: MailMessage,
    /// Where it stands.
    pub state: MailState,
    /// How many sends were tried.
    pub attempts: u32,
    /// Not to be tried before this time.
    pub next_attempt_at: Timestamp,
    /// While a dispatcher holds the row: the end of its lease.
    pub lease_until: Option<Timestamp>,
    /// The last failure, for operators.
    pub last_error: Option<String>,
    /// When the row was written.
    pub created_at: Timestamp,
    /// When it was first due: when it was written, or later for a row made ahead of its
    /// time, such as a reminder. How long mail has waited counts from here.
    pub due_at: Timestamp,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

impl OutboxMail {
    /// The same row made about the alert `to` instead of `from`: its cause, and every mention
    /// of `from` in its subject and bodies. A write that joins a stored group only learns
    /// the group's id when the store finds the group, after its mail was made.
    pub fn moved_to_alert(mut self, from: &AlertId, to: &AlertId) -> Self {
        if from == to {
            return self;
        }
        if let Some(cause) = &mut self.cause
            && cause.about == MailAbout::Alert(from.clone())
        {
            cause.about = MailAbout::Alert(to.clone());
        }
        let (old, new) = (from.as_str(), to.as_str());
        self.message.subject = Subject::sanitize(&self.message.subject.as_str().replace(old, new));
        self.message.text = self.message.text.replace(old, new);
        self.message.html = self.message.html.replace(old, new);
        self
    }

    /// A pending row for `message`, written because of `cause`, due at once.
    pub fn new(id: MailId, cause: MailCause, message: MailMessage, now: Timestamp) -> Self {
        Self {
            message_id: format!("<{id}@alerta>"),
            cause: Some(cause),
            id,
            message,
            state: MailState::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            last_error: None,
            created_at: now,
            due_at: now,
            sent_at: None,
        }
    }

    /// The same row, due at `at` instead of at once.
    pub fn due_at(mut self, at: Timestamp) -> Self {
        self.next_attempt_at = at;
        self.due_at = at;
        self
    }

    /// What it is about, if the row says.
    pub fn about(&self) -> Option<&MailAbout> {
        self.cause.as_ref().map(|c| &c.about)
    }

    /// Which mail it is, if the row says.
    pub fn kind(&self) -> Option<MailKind> {
        self.cause.as_ref().map(|c| c.kind)
    }
}

super::schema::string_schema!(Subject, "A mail's subject line.");
