//! The delivery log of an incident: every mail it caused and the reports written for it.

use serde::Serialize;

use super::{
    DepartmentName, Email, EventId, IncidentId, MailId, MailKind, MailState, OutboxMail, Subject,
    Timestamp,
};

/// One mail an incident caused, as `GET /incidents/{id}/deliveries` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The outbox row's id.
    pub id: MailId,
    /// Which mail (`assignment`, `incident_resolved`, `report`, ...).
    pub kind: Option<MailKind>,
    /// Its recipients.
    pub to: Vec<Email>,
    /// Its subject.
    pub subject: Subject,
    /// Where it stands: `pending`, `sent`, `dead` or `cancelled`.
    pub state: MailState,
    /// How many sends were tried.
    pub attempts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it is next tried, while pending.
    pub next_attempt_at: Option<Timestamp>,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

impl From<OutboxMail> for Delivery {
    fn from(mail: OutboxMail) -> Self {
        Self {
            kind: mail.kind(),
            id: mail.id,
            to: mail.message.to,
            subject: mail.message.subject,
            next_attempt_at: (mail.state == MailState::Pending).then_some(mail.next_attempt_at),
            state: mail.state,
            attempts: mail.attempts,
            last_error: mail.last_error,
            created_at: mail.created_at,
            sent_at: mail.sent_at,
        }
    }
}

/// The report the report job writes for one assignment of an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDelivery {
    /// The `asignacion` event it answers.
    pub event_id: EventId,
    /// The department it was assigned to.
    #[serde(rename = "departamento")]
    pub department: DepartmentName,
    /// The report's key in the reports store.
    pub key: String,
    /// Whether the report job has written it (and written its department's mail).
    pub written: bool,
}

/// Everything an incident caused to be delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentDeliveries {
    /// The incident.
    pub incident_id: IncidentId,
    /// Its mails, oldest first.
    pub mails: Vec<Delivery>,
    /// Its assignments' reports, oldest first.
    pub reports: Vec<ReportDelivery>,
}
