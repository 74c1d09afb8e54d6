//! What of an incident each caller may see.
//!
//! Staff and admins see everything. A student sees their own incidents in full and, when
//! incidents are public (the default), others' incidents without who reported them, without
//! comments and without attachments; when they are not, a student sees only their own. The
//! live stream carries, for students, one variant of each incident message without the
//! reporter or the event's actor, and none for comments or attachments.

use serde::{Serialize, Serializer};

use super::{Incident, IncidentEvent, User};

/// How much of one incident a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sight {
    /// Everything: staff, admins, and the reporter.
    Full,
    /// The incident without its reporter's identity; none of its comments or attachments.
    WithoutReporter,
    /// Nothing: another student's incident while incidents are not public.
    Hidden,
}

impl Sight {
    /// What `viewer` sees of `incident`; `public` is whether students see others' incidents.
    pub fn of(viewer: &User, incident: &Incident, public: bool) -> Self {
        if viewer.role.manages_incidents() || incident.reported_by() == &viewer.id {
            Self::Full
        } else if public {
            Self::WithoutReporter
        } else {
            Self::Hidden
        }
    }

    /// Whether a caller with this sight may see the incident's comments and attachments.
    pub fn shows_details(self) -> bool {
        self == Self::Full
    }
}

/// An incident as one caller sees it: in full, or with `reportado_por` set to `null`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentView {
    incident: Incident,
    reporter_shown: bool,
}

impl IncidentView {
    /// The whole incident.
    pub fn full(incident: Incident) -> Self {
        Self {
            incident,
            reporter_shown: true,
        }
    }

    /// The incident without its reporter.
    pub fn without_reporter(incident: Incident) -> Self {
        Self {
            incident,
            reporter_shown: false,
        }
    }

    /// The incident behind the view, reporter included: for the caller's code, not for the
    /// wire.
    pub fn incident(&self) -> &Incident {
        &self.incident
    }

    /// Whether the view shows who reported the incident.
    pub fn shows_reporter(&self) -> bool {
        self.reporter_shown
    }
}

impl Serialize for IncidentView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.reporter_shown {
            return self.incident.serialize(s);
        }
        redacted_incident(&self.incident).serialize(s)
    }
}

/// An incident's schema, with `reportado_por` that may be `null` (a student reading
/// someone else's incident).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for IncidentView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
        use utoipa::openapi::{Ref, RefOr};

        let mut schema = <Incident as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            let reporter = OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .item(Ref::from_schema_name("UserId"))
                .description(Some(
                    "Who reported it; `null` when a student reads another person's incident.",
                ));
            object
                .properties
                .insert("reportado_por".to_owned(), reporter.into());
        }
        schema
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for IncidentView {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <Incident as utoipa::ToSchema>::schemas(schemas);
    }
}

/// One history event as one caller sees it: in full, or with `actor` set to `null` (the
/// reporter reading their own incident's history, as the stream shows them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventView {
    event: IncidentEvent,
    actor_shown: bool,
}

impl EventView {
    /// The whole event.
    pub fn full(event: IncidentEvent) -> Self {
        Self {
            event,
            actor_shown: true,
        }
    }

    /// The event without who did it.
    pub fn without_actor(event: IncidentEvent) -> Self {
        Self {
            event,
            actor_shown: false,
        }
    }

    /// The event behind the view, actor included: for the caller's code, not for the wire.
    pub fn event(&self) -> &IncidentEvent {
        &self.event
    }

    /// Whether the view shows who did it.
    pub fn shows_actor(&self) -> bool {
        self.actor_shown
    }
}

impl Serialize for EventView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.actor_shown {
            return self.event.serialize(s);
        }
        redacted_event(&self.event).serialize(s)
    }
}

/// A history event's schema, with an `actor` that may be `null` (a student reading their own
/// incident's history).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for EventView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
        use utoipa::openapi::{Ref, RefOr};

        let mut schema = <IncidentEvent as utoipa::PartialSchema>::schema();
        // The event is its fields and its flattened change: the fields are one part of an
        // `allOf`.
        if let RefOr::T(Schema::AllOf(parts)) = &mut schema {
            for part in &mut parts.items {
                if let RefOr::T(Schema::Object(object)) = part
                    && object.properties.contains_key("actor")
                {
                    let actor = OneOfBuilder::new()
                        .item(ObjectBuilder::new().schema_type(Type::Null))
                        .item(Ref::from_schema_name("UserId"))
                        .description(Some(
                            "Who did it; `null` when a student reads their own incident's \
                             history.",
                        ));
                    object.properties.insert("actor".to_owned(), actor.into());
                }
            }
        }
        schema
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for EventView {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <IncidentEvent as utoipa::ToSchema>::schemas(schemas);
    }
}

/// The wire shape of `incident` with `reportado_por` set to `null`.
pub fn redacted_incident(incident: &Incident) -> serde_json::Value {
    let mut value = serde_json::to_value(incident).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.insert("reportado_por".into(), serde_json::Value::Null);
    }
    value
}

/// The wire shape of `event` with `actor` set to `null`.
pub fn redacted_event(event: &IncidentEvent) -> serde_json::Value {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.insert("actor".into(), serde_json::Value::Null);
    }
    value
}
