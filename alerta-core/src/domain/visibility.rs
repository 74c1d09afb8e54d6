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

/// A wire value as one caller sees it: whole, or with one field, [`Redactable::HIDDEN`], set
/// to `null`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View<T> {
    value: T,
    whole: bool,
}

/// A wire type with one field that some callers may not see.
pub trait Redactable: Serialize {
    /// The field, by its wire name, that a redacted view sets to `null`; it holds a user id.
    const HIDDEN: &'static str;
    /// The name of the view's schema.
    #[cfg(feature = "openapi")]
    const VIEW_SCHEMA: &'static str;
    /// What the view's schema says of the hidden field, which may be `null`.
    #[cfg(feature = "openapi")]
    const HIDDEN_DESCRIPTION: &'static str;
}

/// An incident as one caller sees it: in full, or with `reportado_por` set to `null`.
pub type IncidentView = View<Incident>;

/// One history event as one caller sees it: in full, or with `actor` set to `null` (the
/// reporter reading their own incident's history, as the stream shows them).
pub type EventView = View<IncidentEvent>;

impl Redactable for Incident {
    const HIDDEN: &'static str = "reportado_por";
    #[cfg(feature = "openapi")]
    const VIEW_SCHEMA: &'static str = "IncidentView";
    #[cfg(feature = "openapi")]
    const HIDDEN_DESCRIPTION: &'static str =
        "Who reported it; `null` when a student reads another person's incident.";
}

impl Redactable for IncidentEvent {
    const HIDDEN: &'static str = "actor";
    #[cfg(feature = "openapi")]
    const VIEW_SCHEMA: &'static str = "EventView";
    #[cfg(feature = "openapi")]
    const HIDDEN_DESCRIPTION: &'static str =
        "Who did it; `null` when a student reads their own incident's history.";
}

impl<T> View<T> {
    /// The whole value.
    pub fn full(value: T) -> Self {
        Self { value, whole: true }
    }

    fn redacted(value: T) -> Self {
        Self {
            value,
            whole: false,
        }
    }
}

impl IncidentView {
    /// The incident without its reporter.
    pub fn without_reporter(incident: Incident) -> Self {
        Self::redacted(incident)
    }

    /// The incident behind the view, reporter included: for the caller's code, not for the
    /// wire.
    pub fn incident(&self) -> &Incident {
        &self.value
    }

    /// Whether the view shows who reported the incident.
    pub fn shows_reporter(&self) -> bool {
        self.whole
    }
}

impl EventView {
    /// The event without who did it.
    pub fn without_actor(event: IncidentEvent) -> Self {
        Self::redacted(event)
    }

    /// The event behind the view, actor included: for the caller's code, not for the wire.
    pub fn event(&self) -> &IncidentEvent {
        &self.value
    }

    /// Whether the view shows who did it.
    pub fn shows_actor(&self) -> bool {
        self.whole
    }
}

/// One of the caller's own incidents with the part of its history they may read: what a
/// reporter's "my incidents" shows, in one reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeline {
    /// The incident, whole: it is the caller's.
    pub incident: Incident,
    /// Its history, oldest first, as `GET /incidents/{id}/events` gives it to the caller.
    pub events: Vec<EventView>,
}

impl<T: Redactable> Serialize for View<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.whole {
            return self.value.serialize(s);
        }
        redacted(&self.value).serialize(s)
    }
}

/// The value's schema, with the hidden field a user id or `null`.
#[cfg(feature = "openapi")]
impl<T: Redactable + utoipa::ToSchema> utoipa::PartialSchema for View<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{Object, ObjectBuilder, OneOfBuilder, Schema, Type};
        use utoipa::openapi::{Ref, RefOr};

        let mut schema = T::schema();
        let objects: Vec<&mut Object> = match &mut schema {
            RefOr::T(Schema::Object(object)) => vec![object],
            // An event is its fields and its flattened change: the fields are one part of an
            // `allOf`.
            RefOr::T(Schema::AllOf(parts)) => parts
                .items
                .iter_mut()
                .filter_map(|part| match part {
                    RefOr::T(Schema::Object(object)) => Some(object),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for object in objects {
            if object.properties.contains_key(T::HIDDEN) {
                let user = OneOfBuilder::new()
                    .item(ObjectBuilder::new().schema_type(Type::Null))
                    .item(Ref::from_schema_name("UserId"))
                    .description(Some(T::HIDDEN_DESCRIPTION));
                object.properties.insert(T::HIDDEN.to_owned(), user.into());
            }
        }
        schema
    }
}

#[cfg(feature = "openapi")]
impl<T: Redactable + utoipa::ToSchema> utoipa::ToSchema for View<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(T::VIEW_SCHEMA)
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        T::schemas(schemas);
    }
}

/// The wire shape of `value` with its hidden field set to `null`: `reportado_por` of an
/// incident, `actor` of an event.
pub fn redacted<T: Redactable>(value: &T) -> serde_json::Value {
    let mut wire = serde_json::to_value(value).unwrap_or_default();
    if let Some(fields) = wire.as_object_mut() {
        fields.insert(T::HIDDEN.into(), serde_json::Value::Null);
    }
    wire
}
