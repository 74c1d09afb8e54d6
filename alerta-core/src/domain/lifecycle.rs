//! The incident lifecycle: the one place that knows which status moves are allowed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ConflictKind, Error};

/// Where an incident stands (`estado`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Reported, nobody working on it yet.
    Pendiente,
    /// Being worked on.
    EnProceso,
    /// Done.
    Resuelto,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 3] = [Self::Pendiente, Self::EnProceso, Self::Resuelto];

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
            Self::Pendiente => "pendiente",
            Self::EnProceso => "en_proceso",
            Self::Resuelto => "resuelto",
        }
    }

    /// Whether the lifecycle allows moving from `self` to `to`: pendiente→en_proceso,
    /// pendiente→resuelto, en_proceso→resuelto and resuelto→en_proceso (reopen).
    pub fn can_move_to(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Pendiente, EnProceso)
                | (Pendiente, Resuelto)
                | (EnProceso, Resuelto)
                | (Resuelto, EnProceso)
        )
    }

    /// `to` when the move is allowed, otherwise a conflict naming both ends.
    pub fn move_to(self, to: Status) -> Result<Status, Error> {
        if self.can_move_to(to) {
            Ok(to)
        } else {
            Err(Error::conflict(
                ConflictKind::InvalidTransition,
                format!("an incident cannot go from {self} to {to}"),
            ))
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent an incident is (`urgencia`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Can wait.
    Baja,
    /// Soon.
    Media,
    /// Today.
    Alta,
    /// Now.
    Critica,
}

impl Urgency {
    /// Every urgency, lowest first.
    pub const ALL: [Urgency; 4] = [Self::Baja, Self::Media, Self::Alta, Self::Critica];

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
            Self::Baja => "baja",
            Self::Media => "media",
            Self::Alta => "alta",
            Self::Critica => "critica",
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
                (Pendiente, EnProceso),
                (Pendiente, Resuelto),
                (EnProceso, Resuelto),
                (Resuelto, EnProceso)
            ]
        );
        let err = Resuelto.move_to(Pendiente).unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
        assert_eq!(err.code(), "invalid_transition");
    }
}
