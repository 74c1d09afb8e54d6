//! The incident lifecycle: the one place that knows which status moves are allowed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ConflictKind, Error};

/// Where an incident stands (`estado`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Status {
    /// Reported, nobody working on it yet (`pendiente`).
    #[serde(rename = "pendiente")]
    Pending,
    /// Being worked on (`en_proceso`).
    #[serde(rename = "en_proceso")]
    InProgress,
    /// Done (`resuelto`).
    #[serde(rename = "resuelto")]
    Resolved,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 3] = [Self::Pending, Self::InProgress, Self::Resolved];

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| Error::invalid("estado", "expected pendiente, en_proceso or resuelto"))
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pendiente",
            Self::InProgress => "en_proceso",
            Self::Resolved => "resuelto",
        }
    }

    /// The moves the lifecycle allows: pendiente→en_proceso, pendiente→resuelto,
    /// en_proceso→resuelto and resuelto→en_proceso (reopen).
    const MOVES: [(Status, Status); 4] = [
        (Self::Pending, Self::InProgress),
        (Self::Pending, Self::Resolved),
        (Self::InProgress, Self::Resolved),
        (Self::Resolved, Self::InProgress),
    ];

    /// Whether the lifecycle allows moving from `self` to `to`.
    pub fn can_move_to(self, to: Status) -> bool {
        Self::MOVES.contains(&(self, to))
    }

    /// `to` when the move is allowed, otherwise a conflict naming both ends. Only
    /// [`Incident::record`](super::Incident::record) moves an incident.
    pub(super) fn move_to(self, to: Status) -> Result<Status, Error> {
        checked_move(&Self::MOVES, self, to, "an incident")
    }
}

/// `to` when `moves` holds the move from `from`, otherwise an `invalid_transition` conflict
/// naming `what` and both ends: the rule of every lifecycle, incidents' and alerts'.
pub(super) fn checked_move<S: Copy + PartialEq + fmt::Display>(
    moves: &[(S, S)],
    from: S,
    to: S,
    what: &str,
) -> Result<S, Error> {
    if moves.contains(&(from, to)) {
        Ok(to)
    } else {
        Err(Error::conflict(
            ConflictKind::InvalidTransition,
            format!("{what} cannot go from {from} to {to}"),
        ))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent an incident is (`urgencia`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Urgency {
    /// Can wait (`baja`).
    #[serde(rename = "baja")]
    Low,
    /// Soon (`media`).
    #[serde(rename = "media")]
    Medium,
    /// Today (`alta`).
    #[serde(rename = "alta")]
    High,
    /// Now (`critica`).
    #[serde(rename = "critica")]
    Critical,
}

impl Urgency {
    /// Every urgency, lowest first.
    pub const ALL: [Urgency; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|u| u.as_str() == text)
            .ok_or_else(|| Error::invalid("urgencia", "expected baja, media, alta or critica"))
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "baja",
            Self::Medium => "media",
            Self::High => "alta",
            Self::Critical => "critica",
        }
    }
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_documented_moves_are_allowed() {
        let allowed: Vec<(Status, Status)> = Status::ALL
            .into_iter()
            .flat_map(|a| Status::ALL.into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .collect();
        use Status::*;
        assert_eq!(
            allowed,
            vec![
                (Pending, InProgress),
                (Pending, Resolved),
                (InProgress, Resolved),
                (Resolved, InProgress)
            ]
        );
        let err = Resolved.move_to(Pending).unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
        assert_eq!(err.code(), "invalid_transition");
    }
}
