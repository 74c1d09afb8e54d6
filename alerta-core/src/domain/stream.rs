//! Messages of the real-time stream, their positions in the stream log, and the ids clients
//! resume from.
//!
//! Every stored change that produces a message appends it to the stream log in the same
//! atomic write, at the next **position**: positions increase by one in commit order, per
//! deployment, with no holes. The log belongs to an **epoch**, a number that changes when
//! the log is made anew; on the wire a message's id is `epoch:position`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Alert, AlertEvent, AlertStatus, Change, Incident, IncidentEvent, Timestamp, UserId};

/// The `type` of a stream message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StreamKind {
    /// `incident.created`
    #[serde(rename = "incident.created")]
    IncidentCreated,
    /// `incident.status_changed`
    #[serde(rename = "incident.status_changed")]
    IncidentStatusChanged,
    /// `incident.comment_added`: staff and admins only.
    #[serde(rename = "incident.comment_added")]
    IncidentCommentAdded,
    /// `incident.department_assigned`
    #[serde(rename = "incident.department_assigned")]
    IncidentDepartmentAssigned,
    /// `incident.attachment_added`
    #[serde(rename = "incident.attachment_added")]
    IncidentAttachmentAdded,
    /// `alert`
    #[serde(rename = "alert")]
    Alert,
    /// `alert.acknowledged`
    #[serde(rename = "alert.acknowledged")]
    AlertAcknowledged,
    /// `alert.resolved`
    #[serde(rename = "alert.resolved")]
    AlertResolved,
    /// `alert.repeated`: more occurrences folded into a stored alert.
    #[serde(rename = "alert.repeated")]
    AlertRepeated,
}

/// Which subscribers a message is for, as a subscriber asks with `topics=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Incident messages.
    Incidents,
    /// Alerts.
    Alerts,
}

/// Who may see a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every logged-in user.
    Everyone,
    /// Staff and admins.
    Staff,
    /// Students: the variant of an incident message without the reporter or the actor.
    Students,
}

/// One message as it was committed: what happened, to whom it may go, and its payload as of
/// the commit. It gets its id when the log gives it a position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamMessage {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: StreamKind,
    /// When it happened.
    pub at: Timestamp,
    /// The incident and the event, or the alert.
    pub data: serde_json::Value,
    /// Which topic it belongs to.
    pub topic: Topic,
    /// Who may receive it.
    pub audience: Audience,
    /// The reporter of the incident an incident message is about (`None` for alerts): kept
    /// with the message in the log and never sent, so that a stream that shows students only
    /// their own incidents can tell which are theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<UserId>,
}

impl StreamMessage {
    /// The messages announcing `event`, with `incident` as it stands after it, one per
    /// audience: for staff and admins the whole incident and event; for students, unless the
    /// event is a comment or an attachment, the incident without `reportado_por` and the event
    /// without `actor` (both `null`), as [`Sight`](super::Sight) rules.
    pub fn for_event(incident: &Incident, event: &IncidentEvent) -> Vec<Self> {
        let kind = match &event.change {
            Change::Created {} => StreamKind::IncidentCreated,
            Change::StatusChanged { .. } => StreamKind::IncidentStatusChanged,
            Change::CommentAdded { .. } => StreamKind::IncidentCommentAdded,
            Change::DepartmentAssigned { .. } => StreamKind::IncidentDepartmentAssigned,
            Change::AttachmentAdded { .. } => StreamKind::IncidentAttachmentAdded,
        };
        let students_too = event.change.reaches_students();
        let message = |audience, data| Self {
            kind,
            at: event.created_at,
            data,
            topic: Topic::Incidents,
            audience,
            reporter: Some(incident.reported_by().clone()),
        };
        let mut messages = vec![message(
            Audience::Staff,
            serde_json::json!({ "incident": incident, "event": event }),
        )];
        if students_too {
            messages.push(message(
                Audience::Students,
                serde_json::json!({
                    "incident": super::redacted(incident),
                    "event": super::redacted(event),
                }),
            ));
        }
        messages
    }

    /// The message announcing `alert`.
    pub fn for_alert(alert: &Alert) -> Self {
        Self {
            kind: StreamKind::Alert,
            at: alert.created_at,
            data: serde_json::to_value(alert).unwrap_or_default(),
            topic: Topic::Alerts,
            audience: Audience::Everyone,
            reporter: None,
        }
    }

    /// The message announcing that more occurrences folded into `alert` (`alert.repeated`),
    /// carrying the alert with its new `count`, `last_seen` and `version`.
    pub fn for_alert_repeated(alert: &Alert) -> Self {
        Self {
            kind: StreamKind::AlertRepeated,
            at: alert.updated_at(),
            data: serde_json::to_value(alert).unwrap_or_default(),
            topic: Topic::Alerts,
            audience: Audience::Everyone,
            reporter: None,
        }
    }

    /// The message announcing `event`, with `alert` as it stands after it: `alert.acknowledged`
    /// or `alert.resolved`; an alert firing again is announced as a new `alert` would be.
    pub fn for_alert_event(alert: &Alert, event: &AlertEvent) -> Self {
        let kind = match event.to {
            AlertStatus::Firing => return Self::for_alert(alert),
            AlertStatus::Acknowledged => StreamKind::AlertAcknowledged,
            AlertStatus::Resolved => StreamKind::AlertResolved,
        };
        Self {
            kind,
            at: event.created_at,
            data: serde_json::json!({ "alert": alert, "event": event }),
            topic: Topic::Alerts,
            audience: Audience::Everyone,
            reporter: None,
        }
    }

    /// How a store keeps the message: one JSON text.
    pub fn to_record(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The message a store kept with [`to_record`](Self::to_record).
    ///
    /// # Errors
    ///
    /// The text is not such a record.
    pub fn from_record(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The text frame clients receive: `{"type", "id", "at", "data"}`.
    pub fn to_json(&self, id: StreamId) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "type")]
            kind: StreamKind,
            id: String,
            at: Timestamp,
            data: &'a serde_json::Value,
        }
        serde_json::to_string(&Wire {
            kind: self.kind,
            id: id.to_string(),
            at: self.at,
            data: &self.data,
        })
        .unwrap_or_default()
    }
}

/// The position of one message in the stream log: 1 for the first message of an epoch.
pub type Position = u64;

/// A message and the position the log gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEntry {
    /// Where it is in the log.
    pub position: Position,
    /// The message as committed.
    pub message: StreamMessage,
}

/// Where the stream log stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamHead {
    /// The log's epoch.
    pub epoch: u64,
    /// The last position written, 0 when nothing was.
    pub head: Position,
    /// The first position still kept (`head + 1` when retention has removed everything).
    pub oldest: Position,
}

impl StreamHead {
    /// The id of the head, which a client subscribes from to get what comes next.
    pub fn id(&self) -> StreamId {
        StreamId {
            epoch: self.epoch,
            position: self.head,
        }
    }
}

/// The positions one atomic write appended to the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The log's epoch.
    pub epoch: u64,
    /// The first position written; the others follow it one by one.
    pub first: Position,
    /// How many messages were written (0: the write produced none).
    pub count: u64,
}

impl Appended {
    /// A write that appended nothing.
    pub const NOTHING: Self = Self {
        epoch: 0,
        first: 0,
        count: 0,
    };
}

/// Messages committed together, with their positions: what a committing process hands to
/// the live stream, and what instances tell each other through a broker.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamBatch {
    /// The log's epoch.
    pub epoch: u64,
    /// The position of the first message; the others follow it one by one.
    pub first: Position,
    /// The messages, in position order.
    pub messages: Vec<StreamMessage>,
}

impl StreamBatch {
    /// The batch of `messages` written at `appended`.
    pub fn new(appended: Appended, messages: Vec<StreamMessage>) -> Self {
        Self {
            epoch: appended.epoch,
            first: appended.first,
            messages,
        }
    }

    /// The last position of the batch.
    pub fn last(&self) -> Position {
        self.first + self.messages.len() as u64 - 1
    }

    /// Its entries, in position order.
    pub fn entries(self) -> impl Iterator<Item = StreamEntry> {
        let first = self.first;
        self.messages
            .into_iter()
            .enumerate()
            .map(move |(i, message)| StreamEntry {
                position: first + i as u64,
                message,
            })
    }
}

/// A message's id on the wire: `epoch:position`, compared as two numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// The log's epoch.
    pub epoch: u64,
    /// The position in that log.
    pub position: Position,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.position)
    }
}

impl FromStr for StreamId {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const WHY: &str = "a stream id is epoch:position, two decimal numbers";
        let (epoch, position) = text.split_once(':').ok_or(WHY)?;
        let number = |part: &str| {
            if part.is_empty() || part.len() > 20 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(WHY);
            }
            part.parse::<u64>().map_err(|_| WHY)
        };
        Ok(Self {
            epoch: number(epoch)?,
            position: number(position)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_as_numbers_and_round_trip() {
        let nine: StreamId = "7:9".parse().unwrap();
        let ten: StreamId = "7:10".parse().unwrap();
        assert!(
            nine < ten,
            "7:9 sorts before 7:10 although it does not as text"
        );
        assert_eq!(ten.to_string(), "7:10");
        for bad in [
            "",
            "7",
            ":1",
            "1:",
            "a:1",
            "1:-1",
            "1:2:3",
            "1: 2",
            "99999999999999999999999:1",
        ] {
            assert!(bad.parse::<StreamId>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_record_reads_back_as_the_same_message_and_the_frame_has_the_wire_shape() {
        let message = StreamMessage {
            kind: StreamKind::IncidentCommentAdded,
            at: Timestamp::from_unix_millis(1_700_000_000_000),
            data: serde_json::json!({"x": [1, "ü"]}),
            topic: Topic::Incidents,
            audience: Audience::Staff,
            reporter: Some(UserId::parse("U7").unwrap()),
        };
        assert_eq!(
            StreamMessage::from_record(&message.to_record()).unwrap(),
            message
        );
        let frame: serde_json::Value = serde_json::from_str(&message.to_json(StreamId {
            epoch: 3,
            position: 41,
        }))
        .unwrap();
        assert_eq!(frame["type"], "incident.comment_added");
        assert_eq!(frame["id"], "3:41");
        assert_eq!(frame["data"]["x"][1], "ü");
        assert!(frame.get("audience").is_none() && frame.get("topic").is_none());
        assert!(
            !frame.to_string().contains("U7"),
            "the reporter stays in the log"
        );
    }
}
