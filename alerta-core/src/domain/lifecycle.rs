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

impl Lifecycle for Status {
    const SUBJECT: &'static str = "an incident";
    /// pendiente→en_proceso, pendiente→resuelto, en_proceso→resuelto and resuelto→en_proceso
    /// (reopen).
    const MOVES: &'static [(Self, Self)] = &[
        (Self::Pending, Self::InProgress),
        (Self::Pending, Self::Resolved),
        (Self::InProgress, Self::Resolved),
        (Self::Resolved, Self::InProgress),
    ];
}

/// A status with a lifecycle: the moves it allows, said once per lifecycle, and the one rule
/// every lifecycle checks a move by. Only an aggregate's `record` (of an
/// [`Incident`](super::Incident), of an [`Alert`](super::Alert)) moves a status, through
/// [`checked_move`](Lifecycle::checked_move).
pub trait Lifecycle: Copy + PartialEq + fmt::Display + 'static {
    /// What moves, as a conflict message names it: `an incident`, `an alert`.
    const SUBJECT: &'static str;
    /// Every move the lifecycle allows, from → to.
    const MOVES: &'static [(Self, Self)];

    /// Whether the lifecycle allows moving from `self` to `to`.
    fn can_move_to(self, to: Self) -> bool {
        Self::MOVES.contains(&(self, to))
    }

    /// `to` when the lifecycle allows the move, otherwise an `invalid_transition` conflict
    /// naming both ends.
    fn checked_move(self, to: Self) -> Result<Self, Error> {
        if self.can_move_to(to) {
            Ok(to)
        } else {
            Err(Error::conflict(
                ConflictKind::InvalidTransition,
                format!("{} cannot go from {self} to {to}", Self::SUBJECT),
            ))
        }
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
    use crate::domain::AlertStatus;

    /// Every pair of `all` that the lifecycle allows, in the order of `all`.
    fn allowed_moves<S: Lifecycle>(all: &[S]) -> Vec<(S, S)> {
        all.iter()
            .flat_map(|&a| all.iter().map(move |&b| (a, b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .collect()
    }

    #[test]
    fn exactly_the_documented_moves_are_allowed() {
        use Status::*;
        assert_eq!(
            allowed_moves(&Status::ALL),
            vec![
                (Pending, InProgress),
                (Pending, Resolved),
                (InProgress, Resolved),
                (Resolved, InProgress)
            ]
        );
        let err = Resolved.checked_move(Pending).unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
        assert_eq!(err.code(), "invalid_transition");
    }

    #[test]
    fn the_alert_lifecycle_allows_exactly_its_moves() {
        use AlertStatus::*;
        assert_eq!(
            allowed_moves(&AlertStatus::ALL),
            vec![
                (Firing, Acknowledged),
                (Firing, Resolved),
                (Acknowledged, Resolved),
                (Resolved, Firing)
            ]
        );
    }
}
