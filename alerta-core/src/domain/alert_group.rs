//! Grouping repeated alerts: the fingerprint that makes two alerts the same alert, the
//! occurrences a group keeps, and what storing an occurrence did to its group.
//!
//! The alert is the group: [`Alert::recur`](super::Alert::recur) is the one rule that folds
//! an occurrence into it.

use serde::{Deserialize, Serialize};

use super::checked_text::checked_text;
use super::text::bounded;
use super::{AlertEvent, AlertId, AlertMessage, AlertSource, Severity, Timestamp, hex_sha256};
use crate::Error;

/// What makes two alerts the same alert (`fingerprint`, or `dedup_key` on the way in):
/// 1–200 characters with no control characters, surrounding spaces trimmed.
///
/// A sender may give one; otherwise [`of`](Self::of) derives it from the source, severity and
/// message, so that the same alert from two instances gets the same fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The most characters allowed.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks a fingerprint a sender gave.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on the field `fingerprint`.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        bounded("fingerprint", raw, 1, Self::MAX_CHARS, false).map(Self)
    }

    /// The text of the fingerprint a sender gave as `fingerprint` or as its alias
    /// `dedup_key`, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on `fingerprint` when both are given and differ.
    pub fn sent<'a>(
        fingerprint: Option<&'a str>,
        dedup_key: Option<&'a str>,
    ) -> Result<Option<&'a str>, Error> {
        match (fingerprint, dedup_key) {
            (Some(a), Some(b)) if a.trim() != b.trim() => Err(Error::invalid(
                "fingerprint",
                "fingerprint and dedup_key name the same thing: send one, or both equal",
            )),
            (Some(given), _) | (None, Some(given)) => Ok(Some(given)),
            (None, None) => Ok(None),
        }
    }

    /// The default fingerprint: `sha256:` and the hex SHA-256 of the source, severity and
    /// message, each preceded by its length so that no two triples run together.
    pub fn of(source: &AlertSource, severity: Severity, message: &AlertMessage) -> Self {
        let mut bytes = Vec::with_capacity(source.as_str().len() + message.as_str().len() + 40);
        for part in [source.as_str(), severity.as_str(), message.as_str()] {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        Self(format!("sha256:{}", hex_sha256(&bytes)))
    }

    /// The unique fingerprint of an alert stored before alerts were grouped: such an alert is
    /// a group of its own, which no new occurrence joins.
    pub fn legacy(id: &AlertId) -> Self {
        Self(format!("legacy:{id}"))
    }

    /// The alert a [`legacy`](Self::legacy) fingerprint names, for a store that keeps no
    /// fingerprint for alerts stored before grouping; `None` for any other fingerprint.
    pub fn legacy_alert(&self) -> Option<AlertId> {
        self.0
            .strip_prefix("legacy:")
            .and_then(|id| AlertId::parse(id).ok())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

checked_text!(Fingerprint);

/// Occurrences of a group stored in one write: `{at, count}`. Every occurrence a group
/// commit stores is stamped with the commit's time, so the occurrences of one group in one
/// commit share one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Occurrences {
    /// The id of the write that stored them; entries sort by it.
    #[serde(skip)]
    pub id: AlertId,
    /// When they arrived.
    pub at: Timestamp,
    /// How many arrived then (at least 1).
    pub count: u64,
}

impl Occurrences {
    /// The occurrences `occurrence` (an alert as [`Alert::open`](super::Alert::open) made it
    /// for one write) brings to its group.
    pub fn of(occurrence: &super::Alert) -> Self {
        Self {
            id: occurrence.id.clone(),
            at: occurrence.created_at,
            count: occurrence.count(),
        }
    }
}

/// What storing occurrences did to their group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// No group of the fingerprint was stored: the occurrences opened one.
    Opened,
    /// The group was firing or acknowledged: it counts them and stays as it was.
    Folded,
    /// The group was resolved: it fires again, with this history event (actor `ingest`).
    Reopened(AlertEvent),
    /// The group was firing or acknowledged and held back by a silence, and these
    /// occurrences are not: it counts them, is no longer silenced, and is mailed.
    Unsilenced,
}

impl Grouping {
    /// Whether the write's mail is sent: for a new group, a reopened one and one no longer
    /// silenced, never for a plain fold.
    pub fn is_mailed(&self) -> bool {
        !matches!(self, Self::Folded)
    }
}

super::schema::string_schema!(
    Fingerprint,
    "`fingerprint`: 1 to 200 characters, or `sha256:` and a hex digest when the sender gave none.",
    min 1,
    max 200
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Alert, AlertAction, AlertDraft, AlertStatus, Channel, IdSource, UlidSource, UserId,
    };

    fn draft(message: &str) -> AlertDraft {
        AlertDraft::parse("sensor_01", "critical", message, Channel::Tcp).unwrap()
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn occurrence(ids: &dyn IdSource, ms: i64, count: u64) -> Alert {
        Alert::open(AlertId::generate(ids), draft("caliente"), at(ms), count)
    }

    #[test]
    fn the_default_fingerprint_is_stable_and_tells_alerts_apart() {
        let a = draft("caliente").fingerprint();
        assert_eq!(
            a,
            draft("caliente").fingerprint(),
            "the same alert, the same fingerprint"
        );
        assert_eq!(a.as_str().len(), "sha256:".len() + 64);
        assert_ne!(a, draft("frío").fingerprint());
        let other_severity =
            AlertDraft::parse("sensor_01", "warning", "caliente", Channel::Tcp).unwrap();
        assert_ne!(a, other_severity.fingerprint());
        let other_channel =
            AlertDraft::parse("sensor_01", "critical", "caliente", Channel::Http).unwrap();
        assert_eq!(
            a,
            other_channel.fingerprint(),
            "the channel is not part of it"
        );
        // Lengths keep the parts apart: "ab"+"c" is not "a"+"bc".
        let ab = AlertDraft::parse("ab", "info", "c", Channel::Tcp).unwrap();
        let a_bc = AlertDraft::parse("a", "info", "bc", Channel::Tcp).unwrap();
        assert_ne!(ab.fingerprint(), a_bc.fingerprint());
    }

    #[test]
    fn an_explicit_fingerprint_wins_and_is_checked() {
        let given = draft("caliente")
            .with_fingerprint(Some(" disk-full/db1 "))
            .unwrap();
        assert_eq!(given.fingerprint().as_str(), "disk-full/db1");
        let none = draft("caliente").with_fingerprint(None).unwrap();
        assert_eq!(none.fingerprint(), draft("caliente").fingerprint());
        for bad in [
            "",
            "   ",
            "a\u{7}b",
            &"x".repeat(Fingerprint::MAX_CHARS + 1),
        ] {
            let error = draft("caliente").with_fingerprint(Some(bad)).unwrap_err();
            assert!(
                matches!(
                    error,
                    crate::Error::Invalid {
                        field: "fingerprint",
                        ..
                    }
                ),
                "{bad:?}: {error:?}"
            );
        }
        assert!(Fingerprint::parse(&"é".repeat(Fingerprint::MAX_CHARS)).is_ok());
        assert_eq!(Fingerprint::sent(None, Some("k")).unwrap(), Some("k"));
        assert_eq!(Fingerprint::sent(Some("k"), Some(" k")).unwrap(), Some("k"));
        assert_eq!(Fingerprint::sent(None, None).unwrap(), None);
        assert!(Fingerprint::sent(Some("a"), Some("b")).is_err());
    }

    #[test]
    fn a_firing_or_acknowledged_group_folds_occurrences_in() {
        let ids = UlidSource::new();
        let group = occurrence(&ids, 1_000, 3);
        assert_eq!(
            (group.count(), group.first_seen(), group.last_seen()),
            (3, at(1_000), at(1_000))
        );
        let (folded, grouping) = group.recur(&occurrence(&ids, 5_000, 2));
        assert_eq!(grouping, Grouping::Folded);
        assert!(!grouping.is_mailed());
        assert_eq!(folded.count(), 5);
        assert_eq!(
            (folded.first_seen(), folded.last_seen()),
            (at(1_000), at(5_000))
        );
        assert_eq!((folded.version(), folded.updated_at()), (2, at(5_000)));
        assert_eq!(folded.status(), AlertStatus::Firing);
        assert_eq!(
            (&folded.id, folded.created_at),
            (&group.id, group.created_at)
        );
        assert_eq!(group.count(), 3, "the original is left as it was");

        let actor = UserId::parse("U1").unwrap();
        let (acked, _) = folded
            .record(
                AlertAction::Acknowledge { note: None },
                &actor,
                at(6_000),
                &ids,
            )
            .unwrap();
        let (again, grouping) = acked.recur(&occurrence(&ids, 7_000, 1));
        assert_eq!(grouping, Grouping::Folded);
        assert_eq!(
            (again.status(), again.count(), again.version()),
            (AlertStatus::Acknowledged, 6, 4)
        );
        // An occurrence that arrived before the latest one does not move `last_seen` back.
        let (late, _) = again.recur(&occurrence(&ids, 2_000, 1));
        assert_eq!((late.last_seen(), late.count()), (at(7_000), 7));
    }

    #[test]
    fn a_resolved_group_fires_again_with_a_history_event() {
        let ids = UlidSource::new();
        let actor = UserId::parse("U1").unwrap();
        let group = occurrence(&ids, 1_000, 1);
        let (resolved, _) = group
            .record(AlertAction::Resolve { note: None }, &actor, at(2_000), &ids)
            .unwrap();
        let next = occurrence(&ids, 3_000, 4);
        let (reopened, grouping) = resolved.recur(&next);
        let Grouping::Reopened(event) = &grouping else {
            panic!("a resolved group reopens: {grouping:?}");
        };
        assert!(grouping.is_mailed());
        assert_eq!(
            (reopened.status(), reopened.version(), reopened.count()),
            (AlertStatus::Firing, 3, 5)
        );
        assert_eq!(reopened.id, group.id, "the same alert, not a new one");
        assert_eq!(
            (event.from, event.to, event.actor.as_str(), event.created_at),
            (
                AlertStatus::Resolved,
                AlertStatus::Firing,
                "ingest",
                at(3_000)
            )
        );
        assert_eq!(event.event_id.as_str(), next.id.as_str());
        assert_eq!(event.alert_id, group.id);
        assert!(Grouping::Opened.is_mailed());
    }

    #[test]
    fn the_wire_shape_carries_the_group_and_old_replies_read_as_a_group_of_one() {
        let ids = UlidSource::new();
        let group = occurrence(&ids, 1_000, 2);
        let json = serde_json::to_value(&group).unwrap();
        assert_eq!(json["count"], 2);
        assert_eq!(json["fingerprint"], group.fingerprint().as_str());
        assert_eq!(json["first_seen"], json["created_at"]);
        assert_eq!(json["last_seen"], json["created_at"]);
        let mut old = json.clone();
        for field in ["fingerprint", "count", "first_seen", "last_seen"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let read: Alert = serde_json::from_value(old).unwrap();
        assert_eq!(read.count(), 1);
        assert_eq!(read.fingerprint(), group.fingerprint());
        assert_eq!(
            (read.first_seen(), read.last_seen()),
            (at(1_000), at(1_000))
        );
    }
}
