//! The lifecycle of an alert and the history it keeps: `firing` → `acknowledged` →
//! `resolved`, and back to `firing` when it recurs.

use serde::{Deserialize, Serialize};

use super::lifecycle::Lifecycle;
use super::wire_names::wire_names;
use super::{AlertId, EventId, Note, Timestamp, UserId};

wire_names! {
    /// Where an alert stands (`status`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum AlertStatus, field "status" {
        /// Something is wrong and no one has said they are on it (`firing`).
        #[default]
        Firing = "firing",
        /// Someone is on it (`acknowledged`).
        Acknowledged = "acknowledged",
        /// It is over (`resolved`).
        Resolved = "resolved",
    }
}

impl Lifecycle for AlertStatus {
    const SUBJECT: &'static str = "an alert";
    /// firing→acknowledged, firing→resolved, acknowledged→resolved, and resolved→firing (it
    /// recurred).
    const MOVES: &'static [(Self, Self)] = &[
        (Self::Firing, Self::Acknowledged),
        (Self::Firing, Self::Resolved),
        (Self::Acknowledged, Self::Resolved),
        (Self::Resolved, Self::Firing),
    ];
}

/// What someone does to a stored alert. [`Alert::record`](super::Alert::record) checks it
/// against the alert's lifecycle and turns it into the [`AlertEvent`] its history keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertAction {
    /// Say someone is on it.
    Acknowledge {
        /// Why, or who is on it, if said.
        note: Option<Note>,
    },
    /// Say it is over.
    Resolve {
        /// How it ended, if said.
        note: Option<Note>,
    },
}

impl AlertAction {
    pub(super) fn into_parts(self) -> (AlertStatus, Option<Note>) {
        match self {
            Self::Acknowledge { note } => (AlertStatus::Acknowledged, note),
            Self::Resolve { note } => (AlertStatus::Resolved, note),
        }
    }
}

/// One entry of an alert's history: `{event_id, alert_id, from, to, actor, nota,
/// created_at}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertEvent {
    /// The event's id.
    pub event_id: EventId,
    /// The alert it belongs to.
    pub alert_id: AlertId,
    /// The status before.
    pub from: AlertStatus,
    /// The status after.
    pub to: AlertStatus,
    /// Who did it: a user's id, or `ingest` for a source.
    pub actor: UserId,
    /// Why, if said.
    #[serde(rename = "nota")]
    pub note: Option<Note>,
    /// When.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConflictKind;
    use crate::domain::{Alert, AlertDraft, Channel, UlidSource};

    fn alert() -> Alert {
        let draft = AlertDraft::parse("sensor_01", "critical", "caliente", Channel::Tcp).unwrap();
        let ids = UlidSource::new();
        Alert::fire(
            AlertId::generate(&ids),
            draft,
            Timestamp::from_unix_millis(1_000),
        )
    }

    #[test]
    fn record_moves_one_version_on_and_leaves_the_original() {
        let ids = UlidSource::new();
        let actor = UserId::parse("U1").unwrap();
        let fired = alert();
        let at = Timestamp::from_unix_millis(5_000);
        let note = Some(Note::parse("mirando").unwrap());
        let (acked, event) = fired
            .record(
                AlertAction::Acknowledge { note: note.clone() },
                &actor,
                at,
                &ids,
            )
            .unwrap();
        assert_eq!(fired.status(), AlertStatus::Firing);
        assert_eq!(fired.version(), 1);
        assert_eq!(acked.status(), AlertStatus::Acknowledged);
        assert_eq!(acked.version(), 2);
        assert_eq!(acked.updated_at(), at);
        assert_eq!(acked.created_at, fired.created_at);
        assert_eq!(
            (event.from, event.to, &event.actor, &event.note),
            (
                AlertStatus::Firing,
                AlertStatus::Acknowledged,
                &actor,
                &note
            )
        );
        let again = acked.record(AlertAction::Acknowledge { note: None }, &actor, at, &ids);
        assert_eq!(
            again.unwrap_err().conflict_kind(),
            Some(ConflictKind::InvalidTransition)
        );
        let (resolved, _) = acked
            .record(AlertAction::Resolve { note: None }, &actor, at, &ids)
            .unwrap();
        assert_eq!(
            (resolved.status(), resolved.version()),
            (AlertStatus::Resolved, 3)
        );
        for action in [
            AlertAction::Resolve { note: None },
            AlertAction::Acknowledge { note: None },
        ] {
            assert!(resolved.record(action, &actor, at, &ids).is_err());
        }
    }

    #[test]
    fn the_wire_shape_carries_the_lifecycle_and_old_replies_read_as_firing() {
        let fired = alert();
        let json = serde_json::to_value(&fired).unwrap();
        assert_eq!(json["status"], "firing");
        assert_eq!(json["version"], 1);
        assert_eq!(json["updated_at"], json["created_at"]);
        let mut old = json.clone();
        let object = old.as_object_mut().unwrap();
        for field in ["status", "version", "updated_at"] {
            object.remove(field);
        }
        let read: Alert = serde_json::from_value(old).unwrap();
        assert_eq!(read.state(), fired.state());
    }
}
