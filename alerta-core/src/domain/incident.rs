//! Incidents, their history events, types and departments.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::text::bounded;
use super::{
    AttachmentId, CommentText, Description, Email, EventId, IncidentId, Location, Note, Status,
    Timestamp, Urgency, UserId,
};
use crate::Error;

/// An incident type (`tipo`) from the configured catalog.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentType(String);

impl IncidentType {
    /// The type's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a type read back from a store, where it was checked on the way in.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }
}

impl fmt::Display for IncidentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The incident types a deployment accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeCatalog {
    names: Vec<String>,
}

impl TypeCatalog {
    /// A catalog of `names`; names are trimmed, empty ones dropped.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            names: names
                .into_iter()
                .map(|n| n.as_ref().trim().to_owned())
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// The accepted names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// `text` as a type when the catalog has it.
    pub fn parse(&self, text: &str) -> Result<IncidentType, Error> {
        if self.names.iter().any(|n| n == text) {
            Ok(IncidentType(text.to_owned()))
        } else {
            Err(Error::invalid(
                "tipo",
                format!("expected one of: {}", self.names.join(", ")),
            ))
        }
    }
}

impl Default for TypeCatalog {
    fn default() -> Self {
        Self::new([
            "infraestructura",
            "seguridad",
            "limpieza",
            "tecnologia",
            "salud",
            "otro",
        ])
    }
}

/// A department's name (`departamento`, `nombre`): 1–100 letters, digits, spaces, `-` or `_`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DepartmentName(String);

impl DepartmentName {
    /// Checks `raw`. The name becomes part of report keys, so nothing that could act as a path
    /// separator is allowed.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let text = bounded("departamento", raw, 1, 100, false)?;
        if text == super::UNASSIGNED {
            return Err(Error::invalid(
                "departamento",
                format!("'{text}' is reserved for incidents with no department"),
            ));
        }
        if text
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
        {
            Ok(Self(text))
        } else {
            Err(Error::invalid(
                "departamento",
                "departamento may hold letters, digits, spaces, '-' and '_' only",
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DepartmentName {
    type Error = Error;
    fn try_from(raw: String) -> Result<Self, Error> {
        Self::parse(&raw)
    }
}

impl From<DepartmentName> for String {
    fn from(value: DepartmentName) -> String {
        value.0
    }
}

impl fmt::Display for DepartmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A department incidents can be assigned to: `{nombre, email}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// The department's name.
    #[serde(rename = "nombre")]
    pub name: DepartmentName,
    /// Where its notifications go.
    pub email: Email,
}

/// An incident as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// The incident's id.
    #[serde(rename = "incident_id")]
    pub id: IncidentId,
    /// The type, from the catalog.
    #[serde(rename = "tipo")]
    pub kind: IncidentType,
    /// What happened.
    #[serde(rename = "descripcion")]
    pub description: Description,
    /// Where.
    #[serde(rename = "ubicacion")]
    pub location: Location,
    /// How urgent.
    #[serde(rename = "urgencia")]
    pub urgency: Urgency,
    /// Where it stands.
    #[serde(rename = "estado")]
    pub status: Status,
    /// The department it is assigned to, if any.
    #[serde(rename = "departamento")]
    pub department: Option<DepartmentName>,
    /// Who reported it.
    #[serde(rename = "reportado_por")]
    pub reported_by: UserId,
    /// When it was reported.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was last resolved; `None` while it is not `resuelto`. Kept for the mean
    /// resolution time and not part of the wire shape.
    #[serde(skip)]
    pub resolved_at: Option<Timestamp>,
    /// 1 when created, one more on every change.
    pub version: u64,
}

/// One entry of an incident's history: `{event_id, incident_id, tipo_evento, actor, detalle,
/// created_at}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// The event's id; also its stream id.
    pub event_id: EventId,
    /// The incident it belongs to.
    pub incident_id: IncidentId,
    /// What happened, as `tipo_evento` and `detalle`.
    #[serde(flatten)]
    pub change: Change,
    /// Who did it.
    pub actor: UserId,
    /// When.
    pub created_at: Timestamp,
}

/// The kind of an event and its details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tipo_evento", content = "detalle", rename_all = "snake_case")]
pub enum Change {
    /// The incident was reported.
    Creado {},
    /// The status moved.
    CambioEstado {
        /// From.
        de: Status,
        /// To.
        a: Status,
        /// Why, if said.
        nota: Option<Note>,
    },
    /// Staff commented.
    Comentario {
        /// The comment.
        texto: CommentText,
    },
    /// An admin assigned a department.
    Asignacion {
        /// The department.
        departamento: DepartmentName,
    },
    /// A file was attached.
    Adjunto {
        /// The attachment.
        attachment_id: AttachmentId,
        /// Its file name as uploaded.
        filename: String,
    },
}

impl Change {
    /// The wire name of this kind of event.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Creado {} => EventKind::Creado,
            Self::CambioEstado { .. } => EventKind::CambioEstado,
            Self::Comentario { .. } => EventKind::Comentario,
            Self::Asignacion { .. } => EventKind::Asignacion,
            Self::Adjunto { .. } => EventKind::Adjunto,
        }
    }
}

/// The kinds of history events (`tipo_evento`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// See [`Change::Creado`].
    Creado,
    /// See [`Change::CambioEstado`].
    CambioEstado,
    /// See [`Change::Comentario`].
    Comentario,
    /// See [`Change::Asignacion`].
    Asignacion,
    /// See [`Change::Adjunto`].
    Adjunto,
}

impl EventKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creado => "creado",
            Self::CambioEstado => "cambio_estado",
            Self::Comentario => "comentario",
            Self::Asignacion => "asignacion",
            Self::Adjunto => "adjunto",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self, Error> {
        [
            Self::Creado,
            Self::CambioEstado,
            Self::Comentario,
            Self::Asignacion,
            Self::Adjunto,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| Error::invalid("tipo_evento", "unknown event type"))
    }
}

impl Incident {
    /// Applies one history event to the incident as it stood before it, as a store or a replay
    /// would: the version goes up by one and the event's change takes effect.
    pub fn apply(&mut self, event: &IncidentEvent) {
        match &event.change {
            Change::Creado {} => {}
            Change::CambioEstado { a, .. } => {
                self.status = *a;
                self.resolved_at = (*a == Status::Resuelto).then_some(event.created_at);
            }
            Change::Asignacion { departamento } => self.department = Some(departamento.clone()),
            Change::Comentario { .. } | Change::Adjunto { .. } => {}
        }
        self.version += 1;
        self.updated_at = event.created_at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_use_the_wire_names() {
        let event = IncidentEvent {
            event_id: EventId::parse("E1").unwrap(),
            incident_id: IncidentId::parse("I1").unwrap(),
            change: Change::CambioEstado {
                de: Status::Pendiente,
                a: Status::EnProceso,
                nota: None,
            },
            actor: UserId::parse("U1").unwrap(),
            created_at: Timestamp::from_unix_millis(0),
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(
            value,
            json!({"event_id": "E1", "incident_id": "I1", "tipo_evento": "cambio_estado",
                   "detalle": {"de": "pendiente", "a": "en_proceso", "nota": null},
                   "actor": "U1", "created_at": "1970-01-01T00:00:00.000Z"})
        );
        let back: IncidentEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, event);
        let created = serde_json::to_value(Change::Creado {}).unwrap();
        assert_eq!(created, json!({"tipo_evento": "creado", "detalle": {}}));
    }

    #[test]
    fn department_names_cannot_hold_paths() {
        assert!(DepartmentName::parse("Mantenimiento").is_ok());
        assert!(DepartmentName::parse("../x").is_err());
        assert!(DepartmentName::parse("a/b").is_err());
    }

    #[test]
    fn catalog_rejects_unknown_types() {
        let catalog = TypeCatalog::default();
        assert!(catalog.parse("limpieza").is_ok());
        assert_eq!(catalog.parse("fiesta").unwrap_err().code(), "invalid_tipo");
    }
}
