//! Messages of the real-time stream.

use serde::Serialize;

use super::{Alert, Change, Incident, IncidentEvent, Timestamp};

/// The `type` of a stream message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum StreamKind {
    /// `incident.created`
    #[serde(rename = "incident.created")]
    IncidentCreated,
    /// `incident.status_changed`
    #[serde(rename = "incident.status_changed")]
    IncidentStatusChanged,
    /// `incident.comment_added`: staff and admins only.
    #[serde(rename = "incident.comment_added")]
    IncidentCommentAdded,
    /// `incident.department_assigned`
    #[serde(rename = "incident.department_assigned")]
    IncidentDepartmentAssigned,
    /// `incident.attachment_added`
    #[serde(rename = "incident.attachment_added")]
    IncidentAttachmentAdded,
    /// `alert`
    #[serde(rename = "alert")]
    Alert,
}

/// Which subscribers a message is for, as a subscriber asks with `topics=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Incident messages.
    Incidents,
    /// Alerts.
    Alerts,
}

/// Who may see a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Every logged-in user.
    Everyone,
    /// Staff and admins.
    Staff,
}

/// One server message: `{"type", "id", "at", "data"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamMessage {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: StreamKind,
    /// The stream id: the event's or the alert's id, so `since=` can resume after it.
    pub id: String,
    /// When it happened.
    pub at: Timestamp,
    /// The incident and the event, or the alert.
    pub data: serde_json::Value,
    /// Which topic it belongs to.
    #[serde(skip)]
    pub topic: Topic,
    /// Who may receive it.
    #[serde(skip)]
    pub audience: Audience,
}

impl StreamMessage {
    /// The message announcing `event`, with `incident` as it stands after it.
    pub fn for_event(incident: &Incident, event: &IncidentEvent) -> Self {
        let (kind, audience) = match &event.change {
            Change::Creado {} => (StreamKind::IncidentCreated, Audience::Everyone),
            Change::CambioEstado { .. } => (StreamKind::IncidentStatusChanged, Audience::Everyone),
            Change::Comentario { .. } => (StreamKind::IncidentCommentAdded, Audience::Staff),
            Change::Asignacion { .. } => {
                (StreamKind::IncidentDepartmentAssigned, Audience::Everyone)
            }
            Change::Adjunto { .. } => (StreamKind::IncidentAttachmentAdded, Audience::Everyone),
        };
        Self {
            kind,
            id: event.event_id.to_string(),
            at: event.created_at,
            data: serde_json::json!({ "incident": incident, "event": event }),
            topic: Topic::Incidents,
            audience,
        }
    }

    /// The message announcing `alert`.
    pub fn for_alert(alert: &Alert) -> Self {
        Self {
            kind: StreamKind::Alert,
            id: alert.id.to_string(),
            at: alert.created_at,
            data: serde_json::to_value(alert).unwrap_or_default(),
            topic: Topic::Alerts,
            audience: Audience::Everyone,
        }
    }

    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
