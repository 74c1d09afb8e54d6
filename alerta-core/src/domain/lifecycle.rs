//! The incident lifecycle: the one place that knows which status moves are allowed.

use std::fmt;

use super::wire_names::wire_names;
use crate::{ConflictKind, Error};

wire_names! {
    /// Where an incident stands (`estado`), in lifecycle order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Status, field "estado" {
        /// Reported, nobody working on it yet.
        Pending = "pendiente",
        /// Being worked on.
        InProgress = "en_proceso",
        /// Done.
        Resolved = "resuelto",
    }
}

impl Status {
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

wire_names! {
    /// How urgent an incident is (`urgencia`), lowest first.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Urgency, field "urgencia" {
        /// Can wait.
        Low = "baja",
        /// Soon.
        Medium = "media",
        /// Today.
        High = "alta",
        /// Now.
        Critical = "critica",
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
