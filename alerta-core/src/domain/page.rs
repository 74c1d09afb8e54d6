//! Cursor pagination and list filters.

use serde::{Deserialize, Serialize};

use super::{
    AlertId, Channel, DepartmentName, IncidentType, Role, SearchText, Severity, Status, Urgency,
    UserId,
};
use crate::Error;

/// How many items a page may hold: 1–500, 50 when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(usize);

impl Limit {
    /// The most a client may ask for.
    pub const MAX: usize = 500;
    /// What a client gets without asking.
    pub const DEFAULT: Limit = Limit(50);

    /// Checks a requested limit.
    pub fn new(n: usize) -> Result<Self, Error> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(Error::invalid("limit", "limit must be 1 to 500"))
        }
    }

    /// The number.
    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An opaque position in a list, made by the store that served the previous page.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a cursor a client sent back, or a store made.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The cursor text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which page to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page.
    pub limit: Limit,
    /// Where the previous page ended; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: usize) -> Result<Self, Error> {
        Ok(Self {
            limit: Limit::new(limit)?,
            cursor: None,
        })
    }

    /// The page after `cursor`.
    pub fn after(limit: Limit, cursor: Cursor) -> Self {
        Self {
            limit,
            cursor: Some(cursor),
        }
    }
}

/// A page of a list: `{items, next_cursor}`; `next_cursor` is `null` on the last page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page from `items` read in list order, asking for one more than `limit`: when that
    /// extra item came, another page follows, and its cursor is made from the last item kept.
    pub fn from_overfetched(
        mut items: Vec<T>,
        limit: Limit,
        cursor_of: impl FnOnce(&T) -> Cursor,
    ) -> Self {
        let next_cursor = if items.len() > limit.get() {
            items.truncate(limit.get());
            items.last().map(cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }

    /// The same page with each item made into another, the cursor kept.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Filters of `GET /incidents` and the lists built on it. Unset fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only this type.
    pub kind: Option<IncidentType>,
    /// Only this urgency.
    pub urgency: Option<Urgency>,
    /// Only incidents assigned to this department.
    pub department: Option<DepartmentName>,
    /// Only incidents this user reported.
    pub reported_by: Option<UserId>,
    /// Text found (ignoring case) in `descripcion`, `ubicacion` or `tipo`.
    pub text: Option<SearchText>,
}

impl IncidentFilter {
    /// Whether `incident` passes the filter. Stores that cannot filter natively use this, and
    /// the conformance suite checks every store against it.
    pub fn matches(&self, incident: &super::Incident) -> bool {
        self.status.is_none_or(|s| s == incident.status())
            && self.kind.as_ref().is_none_or(|k| k == incident.kind())
            && self.urgency.is_none_or(|u| u == incident.urgency())
            && self
                .department
                .as_ref()
                .is_none_or(|d| incident.department() == Some(d))
            && self
                .reported_by
                .as_ref()
                .is_none_or(|r| r == incident.reported_by())
            && self.text.as_ref().is_none_or(|q| {
                contains_ignoring_case(incident.description().as_str(), q.as_str())
                    || contains_ignoring_case(incident.location().as_str(), q.as_str())
                    || contains_ignoring_case(incident.kind().as_str(), q.as_str())
            })
    }
}

/// Filters of `GET /admin/users`. Unset fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Text found (ignoring case) in the name or the email.
    pub text: Option<SearchText>,
    /// Only this role.
    pub role: Option<Role>,
}

impl UserFilter {
    /// Whether `record` passes the filter. Stores that cannot filter natively use this, and
    /// the conformance suite checks every store against it.
    pub fn matches(&self, record: &super::UserRecord) -> bool {
        self.role.is_none_or(|r| r == record.user.role)
            && self.text.as_ref().is_none_or(|q| {
                contains_ignoring_case(record.user.name.as_str(), q.as_str())
                    || contains_ignoring_case(record.user.email.as_str(), q.as_str())
            })
    }
}

/// Filters of `GET /events`. Unset fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Text found (ignoring case) in `source` or `message`.
    pub text: Option<SearchText>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this exact source.
    pub source: Option<super::AlertSource>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only alerts made after this one.
    pub since: Option<AlertId>,
    /// Only silenced alerts (`true`) or only the others (`false`).
    pub silenced: Option<bool>,
    /// Only alerts in this status.
    pub status: Option<super::AlertStatus>,
}

impl AlertFilter {
    /// Whether `alert` passes the filter.
    pub fn matches(&self, alert: &super::Alert) -> bool {
        self.severity.is_none_or(|s| s == alert.severity)
            && self.channel.is_none_or(|c| c == alert.channel)
            && self.source.as_ref().is_none_or(|s| *s == alert.source)
            && self.since.as_ref().is_none_or(|s| alert.id > *s)
            && self.silenced.is_none_or(|s| s == alert.silenced())
            && self.status.is_none_or(|s| s == alert.status())
            && self.text.as_ref().is_none_or(|q| {
                contains_ignoring_case(alert.source.as_str(), q.as_str())
                    || contains_ignoring_case(alert.message.as_str(), q.as_str())
            })
    }
}

/// Case-insensitive substring test, the meaning of `q` on every backend.
pub fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

super::schema::string_schema!(
    Cursor,
    "An opaque position in a list: send it back as `cursor=` for the next page."
);
