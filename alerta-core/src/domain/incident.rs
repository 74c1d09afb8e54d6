//! Incidents, their history events, types and departments.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::checked_text::checked_text;
use super::lifecycle::Lifecycle;
use super::text::bounded;
use super::wire_names::wire_names;
use super::{
    AlertId, Attachment, AttachmentId, CommentText, Description, Email, EventId, IdSource,
    IncidentId, Location, Note, Status, Timestamp, Urgency, UserId,
};
use crate::{ConflictKind, Error};

/// An incident type (`tipo`) from the configured catalog.
///
/// Made by [`TypeCatalog::parse`]. One read back from a store ([`Incident::restore`]) or
/// from an incident's JSON was checked when the incident was reported, and is not checked
/// again: the catalog may have changed since.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentType(String);

impl IncidentType {
    /// The type's name.
    pub fn as_str(&self) -> &str {
        &self.0
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

checked_text!(DepartmentName);

/// A department incidents can be assigned to: `{nombre, email}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Department {
    /// The department's name.
    #[serde(rename = "nombre")]
    pub name: DepartmentName,
    /// Where its notifications go.
    pub email: Email,
}

/// A checked incident report: `{tipo, descripcion, ubicacion, urgencia}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentDraft {
    /// The type.
    pub kind: IncidentType,
    /// What happened.
    pub description: Description,
    /// Where.
    pub location: Location,
    /// How urgent.
    pub urgency: Urgency,
}

/// An incident as the API shows it: the aggregate that owns the lifecycle.
///
/// The fields are read through accessors. An incident comes into being through
/// [`report`](Self::report) and changes only through [`record`](Self::record), which checks
/// the rules and hands back the history event of the change; a store reads one back with
/// [`restore`](Self::restore). Deserializing one (an idempotent request's stored reply, a
/// report read back) trusts the JSON as `restore` trusts a store, and leaves `resolved_at`
/// out, since the wire shape does not carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    #[serde(rename = "incident_id")]
    id: IncidentId,
    #[serde(rename = "tipo")]
    kind: IncidentType,
    #[serde(rename = "descripcion")]
    description: Description,
    #[serde(rename = "ubicacion")]
    location: Location,
    #[serde(rename = "urgencia")]
    urgency: Urgency,
    #[serde(rename = "estado")]
    status: Status,
    #[serde(rename = "departamento")]
    department: Option<DepartmentName>,
    #[serde(rename = "reportado_por")]
    reported_by: UserId,
    created_at: Timestamp,
    updated_at: Timestamp,
    /// Kept for the mean resolution time; not part of the wire shape.
    #[serde(skip)]
    resolved_at: Option<Timestamp>,
    version: u64,
    /// The alert it was opened from; `null` for a reported incident.
    #[serde(default)]
    alert_id: Option<AlertId>,
}

/// Every field of an incident as a store keeps it, for [`Incident::restore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentParts {
    /// The incident's id.
    pub id: IncidentId,
    /// The type's name as stored. It was checked against the catalog when the incident was
    /// reported; a catalog that dropped the type since must not make the incident unreadable,
    /// so it is not checked again.
    pub kind: String,
    /// What happened.
    pub description: Description,
    /// Where.
    pub location: Location,
    /// How urgent.
    pub urgency: Urgency,
    /// Where it stands.
    pub status: Status,
    /// The department it is assigned to, if any.
    pub department: Option<DepartmentName>,
    /// Who reported it.
    pub reported_by: UserId,
    /// When it was reported.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was last resolved; `None` while it is not `resuelto`.
    pub resolved_at: Option<Timestamp>,
    /// 1 when created, one more on every change.
    pub version: u64,
    /// The alert it was opened from, if any.
    pub alert_id: Option<AlertId>,
}

/// What someone does to a reported incident. [`Incident::record`] checks it against the
/// incident and turns it into the [`Change`] its history keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentAction {
    /// Move to another status, as the lifecycle allows.
    MoveTo {
        /// The status to move to.
        status: Status,
        /// Why, if said.
        note: Option<Note>,
    },
    /// Add a staff comment.
    Comment(CommentText),
    /// Assign a department other than the current one.
    Assign(DepartmentName),
    /// Attach a file of this incident; its metadata is written with the change.
    Attach(Attachment),
}

impl Incident {
    /// A new incident from `draft`, reported by `reporter` at `at`: `pendiente`, version 1,
    /// with the `creado` event that starts its history. Both ids come from `ids`.
    pub fn report(
        draft: IncidentDraft,
        reporter: &UserId,
        at: Timestamp,
        ids: &dyn IdSource,
    ) -> (Incident, IncidentEvent) {
        let incident = Incident {
            id: IncidentId::generate(ids),
            kind: draft.kind,
            description: draft.description,
            location: draft.location,
            urgency: draft.urgency,
            status: Status::Pending,
            department: None,
            reported_by: reporter.clone(),
            created_at: at,
            updated_at: at,
            resolved_at: None,
            version: 1,
            alert_id: None,
        };
        let event = incident.event(Change::Created {}, reporter, at, ids);
        (incident, event)
    }

    /// A new incident opened by `actor` from the alert `alert` at `at`: as
    /// [`report`](Self::report) makes one, linked to the alert. Stores keep at most one
    /// incident per alert.
    pub fn open_from_alert(
        draft: IncidentDraft,
        alert: &AlertId,
        actor: &UserId,
        at: Timestamp,
        ids: &dyn IdSource,
    ) -> (Incident, IncidentEvent) {
        let (mut incident, event) = Self::report(draft, actor, at, ids);
        incident.alert_id = Some(alert.clone());
        (incident, event)
    }

    /// An incident as a store kept it.
    ///
    /// # Danger
    ///
    /// No rule is checked: the parts are taken to be what [`report`](Self::report) and
    /// [`record`](Self::record) made and a store wrote. Only stores, and tests that need an
    /// incident in a given state, should call this.
    pub fn restore(parts: IncidentParts) -> Self {
        Self {
            id: parts.id,
            kind: IncidentType(parts.kind),
            description: parts.description,
            location: parts.location,
            urgency: parts.urgency,
            status: parts.status,
            department: parts.department,
            reported_by: parts.reported_by,
            created_at: parts.created_at,
            updated_at: parts.updated_at,
            resolved_at: parts.resolved_at,
            version: parts.version,
            alert_id: parts.alert_id,
        }
    }

    /// Checks `action` against the incident's rules and records it, done by `actor` at `at`:
    /// the incident as it is afterwards (one version later) and the history event that says
    /// what happened, whose id comes from `ids`. `self` is left as it was, so the caller can
    /// still name the version the change was made against.
    ///
    /// # Errors
    ///
    /// - [`Error::Conflict`] of kind [`InvalidTransition`](ConflictKind::InvalidTransition)
    ///   for a status move the lifecycle does not allow, and of kind
    ///   [`AlreadyAssigned`](ConflictKind::AlreadyAssigned) for an assignment to the current
    ///   department.
    /// - [`Error::Invalid`] on `attachment` for an attachment of another incident.
    pub fn record(
        &self,
        action: IncidentAction,
        actor: &UserId,
        at: Timestamp,
        ids: &dyn IdSource,
    ) -> Result<(Incident, IncidentEvent), Error> {
        let change = match action {
            IncidentAction::MoveTo { status, note } => Change::StatusChanged {
                from: self.status,
                to: self.status.checked_move(status)?,
                note,
            },
            IncidentAction::Comment(text) => Change::CommentAdded { text },
            IncidentAction::Assign(department) => {
                if self.department.as_ref() == Some(&department) {
                    return Err(Error::conflict(
                        ConflictKind::AlreadyAssigned,
                        format!("the incident is already assigned to {department}"),
                    ));
                }
                Change::DepartmentAssigned { department }
            }
            IncidentAction::Attach(attachment) => {
                if attachment.incident_id != self.id {
                    return Err(Error::invalid(
                        "attachment",
                        "the attachment belongs to another incident",
                    ));
                }
                Change::AttachmentAdded {
                    attachment_id: attachment.attachment_id,
                    filename: attachment.filename.as_str().to_owned(),
                }
            }
        };
        let event = self.event(change, actor, at, ids);
        let mut next = self.clone();
        next.apply(&event);
        Ok((next, event))
    }

    fn event(
        &self,
        change: Change,
        actor: &UserId,
        at: Timestamp,
        ids: &dyn IdSource,
    ) -> IncidentEvent {
        IncidentEvent {
            event_id: EventId::generate(ids),
            incident_id: self.id.clone(),
            change,
            actor: actor.clone(),
            created_at: at,
        }
    }

    /// Lets a checked event take effect: the version goes up by one. Private, so that no
    /// event changes an incident without [`record`](Self::record) having checked it.
    fn apply(&mut self, event: &IncidentEvent) {
        match &event.change {
            Change::Created {} | Change::CommentAdded { .. } | Change::AttachmentAdded { .. } => {}
            Change::StatusChanged { to, .. } => {
                self.status = *to;
                self.resolved_at = (*to == Status::Resolved).then_some(event.created_at);
            }
            Change::DepartmentAssigned { department } => {
                self.department = Some(department.clone());
            }
        }
        self.version += 1;
        self.updated_at = event.created_at;
    }

    /// The incident's id.
    pub fn id(&self) -> &IncidentId {
        &self.id
    }

    /// The type, from the catalog.
    pub fn kind(&self) -> &IncidentType {
        &self.kind
    }

    /// What happened.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Where.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// How urgent.
    pub fn urgency(&self) -> Urgency {
        self.urgency
    }

    /// Where it stands.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The department it is assigned to, if any.
    pub fn department(&self) -> Option<&DepartmentName> {
        self.department.as_ref()
    }

    /// Who reported it.
    pub fn reported_by(&self) -> &UserId {
        &self.reported_by
    }

    /// When it was reported.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// When it last changed.
    pub fn updated_at(&self) -> Timestamp {
        self.updated_at
    }

    /// When it was last resolved; `None` while it is not `resuelto`.
    pub fn resolved_at(&self) -> Option<Timestamp> {
        self.resolved_at
    }

    /// 1 when created, one more on every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The alert it was opened from, if any.
    pub fn alert_id(&self) -> Option<&AlertId> {
        self.alert_id.as_ref()
    }
}

/// One entry of an incident's history: `{event_id, incident_id, tipo_evento, actor, detalle,
/// created_at}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "tipo_evento", content = "detalle")]
pub enum Change {
    /// The incident was reported (`creado`).
    #[serde(rename = "creado")]
    Created {},
    /// The status moved (`cambio_estado`).
    #[serde(rename = "cambio_estado")]
    StatusChanged {
        /// From.
        #[serde(rename = "de")]
        from: Status,
        /// To.
        #[serde(rename = "a")]
        to: Status,
        /// Why, if said.
        #[serde(rename = "nota")]
        note: Option<Note>,
    },
    /// Staff commented (`comentario`).
    #[serde(rename = "comentario")]
    CommentAdded {
        /// The comment.
        #[serde(rename = "texto")]
        text: CommentText,
    },
    /// An admin assigned a department (`asignacion`).
    #[serde(rename = "asignacion")]
    DepartmentAssigned {
        /// The department.
        #[serde(rename = "departamento")]
        department: DepartmentName,
    },
    /// A file was attached (`adjunto`).
    #[serde(rename = "adjunto")]
    AttachmentAdded {
        /// The attachment.
        attachment_id: AttachmentId,
        /// Its file name as uploaded.
        filename: String,
    },
}

impl Change {
    /// Whether students hear of this change: on the stream (every student, without the actor)
    /// and in their own incidents' history. Comments and attachments are for the people
    /// handling the incident, and an attachment only for the reporter's own history.
    pub fn reaches_students(&self) -> bool {
        !matches!(
            self,
            Self::CommentAdded { .. } | Self::AttachmentAdded { .. }
        )
    }

    /// Whether the incident's reporter sees this change in its history: everything but
    /// staff comments.
    pub fn reaches_reporter(&self) -> bool {
        !matches!(self, Self::CommentAdded { .. })
    }

    /// The kind of this event.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Created {} => EventKind::Created,
            Self::StatusChanged { .. } => EventKind::StatusChanged,
            Self::CommentAdded { .. } => EventKind::CommentAdded,
            Self::DepartmentAssigned { .. } => EventKind::DepartmentAssigned,
            Self::AttachmentAdded { .. } => EventKind::AttachmentAdded,
        }
    }
}

wire_names! {
    /// The kinds of history events (`tipo_evento`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum EventKind, field "tipo_evento" {
        /// See [`Change::Created`].
        Created = "creado",
        /// See [`Change::StatusChanged`].
        StatusChanged = "cambio_estado",
        /// See [`Change::CommentAdded`].
        CommentAdded = "comentario",
        /// See [`Change::DepartmentAssigned`].
        DepartmentAssigned = "asignacion",
        /// See [`Change::AttachmentAdded`].
        AttachmentAdded = "adjunto",
    }
}

super::schema::string_schema!(
    IncidentType,
    "`tipo`: one of the configured incident types (by default `infraestructura`, `seguridad`, `limpieza`, `tecnologia`, `salud`, `otro`)."
);
super::schema::string_schema!(
    DepartmentName,
    "`departamento`: a department's name, 1 to 100 letters, digits, spaces, `-` or `_`.",
    min 1,
    max 100
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UlidSource;
    use serde_json::json;

    #[test]
    fn events_use_the_wire_names() {
        let event = IncidentEvent {
            event_id: EventId::parse("E1").unwrap(),
            incident_id: IncidentId::parse("I1").unwrap(),
            change: Change::StatusChanged {
                from: Status::Pending,
                to: Status::InProgress,
                note: None,
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
        let created = serde_json::to_value(Change::Created {}).unwrap();
        assert_eq!(created, json!({"tipo_evento": "creado", "detalle": {}}));
    }

    fn reported() -> Incident {
        let draft = IncidentDraft {
            kind: TypeCatalog::default().parse("otro").unwrap(),
            description: Description::parse("Una silla rota").unwrap(),
            location: Location::parse("Biblioteca").unwrap(),
            urgency: Urgency::Low,
        };
        let reporter = UserId::parse("U1").unwrap();
        let (incident, created) = Incident::report(
            draft,
            &reporter,
            Timestamp::from_unix_millis(1_000),
            &UlidSource::new(),
        );
        assert_eq!(created.change, Change::Created {});
        assert_eq!(created.incident_id, *incident.id());
        assert_eq!(
            (incident.status(), incident.version()),
            (Status::Pending, 1)
        );
        incident
    }

    fn record(incident: &Incident, action: IncidentAction) -> Result<Incident, Error> {
        let actor = UserId::parse("U2").unwrap();
        let at = Timestamp::from_unix_millis(incident.updated_at().unix_millis() + 1_000);
        let (next, event) = incident.record(action, &actor, at, &UlidSource::new())?;
        assert_eq!(next.version(), incident.version() + 1);
        assert_eq!((next.updated_at(), event.created_at), (at, at));
        assert_eq!((&event.incident_id, &event.actor), (incident.id(), &actor));
        Ok(next)
    }

    fn move_to(status: Status) -> IncidentAction {
        IncidentAction::MoveTo { status, note: None }
    }

    #[test]
    fn recording_follows_the_lifecycle_and_leaves_the_incident_as_it_was() {
        let pending = reported();
        let working = record(&pending, move_to(Status::InProgress)).unwrap();
        assert_eq!(
            pending.status(),
            Status::Pending,
            "record returns a new incident"
        );
        let resolved = record(&working, move_to(Status::Resolved)).unwrap();
        assert_eq!(resolved.resolved_at(), Some(resolved.updated_at()));
        let reopened = record(&resolved, move_to(Status::InProgress)).unwrap();
        assert_eq!(reopened.resolved_at(), None);

        for (from, to) in [(&pending, Status::Pending), (&working, Status::Pending)] {
            let refused = record(from, move_to(to)).unwrap_err();
            assert_eq!(
                refused.conflict_kind(),
                Some(ConflictKind::InvalidTransition)
            );
        }
    }

    #[test]
    fn an_assignment_to_the_current_department_is_refused() {
        let ti = DepartmentName::parse("TI").unwrap();
        let assigned = record(&reported(), IncidentAction::Assign(ti.clone())).unwrap();
        assert_eq!(assigned.department(), Some(&ti));
        let again = record(&assigned, IncidentAction::Assign(ti)).unwrap_err();
        assert_eq!(again.conflict_kind(), Some(ConflictKind::AlreadyAssigned));
        let other = DepartmentName::parse("Mantenimiento").unwrap();
        assert!(record(&assigned, IncidentAction::Assign(other)).is_ok());
    }

    #[test]
    fn only_an_attachment_of_the_incident_is_recorded() {
        let incident = reported();
        let attachment = |incident_id: &IncidentId| Attachment {
            attachment_id: AttachmentId::parse("A1").unwrap(),
            incident_id: incident_id.clone(),
            filename: crate::domain::FileName::parse("foto.png").unwrap(),
            content_type: crate::domain::MediaType::Png,
            size: 3,
            sha256: "ab".repeat(32),
            created_at: Timestamp::from_unix_millis(0),
        };
        let own = attachment(incident.id());
        let next = record(&incident, IncidentAction::Attach(own)).unwrap();
        assert_eq!(next.status(), incident.status());
        let foreign = attachment(&IncidentId::parse("OTHER").unwrap());
        let refused = record(&incident, IncidentAction::Attach(foreign)).unwrap_err();
        assert_eq!(refused.code(), "invalid_attachment");
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
