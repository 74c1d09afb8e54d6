//! Outgoing mail and the rows of the outbox that holds it until it is sent.

use serde::{Deserialize, Serialize};

use super::wire_names::wire_names;
use super::{Email, MailId, Timestamp};

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

/// Where an outbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailState {
    /// Waiting to be sent (or to be retried).
    Pending,
    /// Delivered to the mail server.
    Sent,
    /// Given up on after permanent failures; an operator can retry it.
    Dead,
}

wire_names!(MailState, field "state", {
    Pending = "pending",
    Sent = "sent",
    Dead = "dead",
});

/// One row of the mail outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMail {
    /// The row's id.
    pub id: MailId,
    /// The `Message-ID` header, the same on every attempt so receivers can drop repeats.
    pub message_id: String,
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
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

impl OutboxMail {
    /// A pending row for `message`, due at once.
    pub fn new(id: MailId, message: MailMessage, now: Timestamp) -> Self {
        Self {
            message_id: format!("<{id}@alerta>"),
            id,
            message,
            state: MailState::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }
}
