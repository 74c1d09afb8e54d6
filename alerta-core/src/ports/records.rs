//! Stored records as they are, for moving a deployment from one backend to another.

use async_trait::async_trait;

use crate::Result;
use crate::domain::wire_names::wire_names;
use crate::domain::{
    Alert, AlertCounts, AlertEvent, AlertId, Attachment, Department, EventId, Incident,
    IncidentCounts, IncidentEvent, IncidentId, Occurrences, OutboxMail, Silence, StreamEntry,
    StreamHead, Timestamp, UserRecord,
};

wire_names! {
    /// The kinds of record a backend holds that a move carries, in the order a move copies them
    /// (`ALL`), each with a short name for output (`as_str`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum RecordKind, field "kind" {
        /// Accounts with their password hashes, roles and disabled flags.
        Users = "users",
        /// The department catalog.
        Departments = "departments",
        /// Incidents as they stand, with their versions.
        Incidents = "incidents",
        /// Incident history.
        IncidentEvents = "incident_events",
        /// Attachment metadata (the bytes are in the blob store).
        Attachments = "attachments",
        /// Alert groups as they stand, each with its status history.
        Alerts = "alerts",
        /// The occurrences folded into each alert group.
        AlertOccurrences = "alert_occurrences",
        /// Which incident was opened from which alert.
        AlertIncidents = "alert_incidents",
        /// Silences.
        Silences = "silences",
        /// Named values such as the link secret.
        Settings = "settings",
        /// Mail outbox rows in every state.
        Mails = "mails",
        /// The report job's ledger of assignments.
        Assignments = "assignments",
        /// The stream log's entries, at their positions.
        Stream = "stream",
    }
}

/// One entry of the report job's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignmentRecord {
    /// The `asignacion` event it is about.
    pub event_id: EventId,
    /// The run that holds or held it.
    pub holder: String,
    /// Until when that run holds it.
    pub lease_until: Timestamp,
    /// When it was processed; `None` while it is not.
    pub done_at: Option<Timestamp>,
}

/// One stored record, whole, with its ids, versions, times and states as they are.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// An account.
    User(UserRecord),
    /// A department.
    Department(Department),
    /// An incident.
    Incident(Incident),
    /// An entry of an incident's history.
    IncidentEvent(IncidentEvent),
    /// An attachment's metadata.
    Attachment(Attachment),
    /// An alert group with its status history, oldest first.
    Alert {
        /// The group.
        alert: Alert,
        /// Its history.
        history: Vec<AlertEvent>,
    },
    /// Occurrences folded into a group.
    AlertOccurrence {
        /// The group's id.
        group: AlertId,
        /// The occurrences.
        occurrences: Occurrences,
    },
    /// An incident opened from an alert.
    AlertIncident {
        /// The alert.
        alert: AlertId,
        /// The incident opened from it.
        incident: IncidentId,
    },
    /// A silence.
    Silence(Silence),
    /// A named value.
    Setting {
        /// Its name.
        name: String,
        /// Its value.
        value: String,
    },
    /// A mail outbox row.
    Mail(OutboxMail),
    /// An entry of the report ledger.
    Assignment(AssignmentRecord),
    /// An entry of the stream log.
    Stream(StreamEntry),
}

impl Record {
    /// Which kind of record this is.
    pub fn kind(&self) -> RecordKind {
        match self {
            Self::User(_) => RecordKind::Users,
            Self::Department(_) => RecordKind::Departments,
            Self::Incident(_) => RecordKind::Incidents,
            Self::IncidentEvent(_) => RecordKind::IncidentEvents,
            Self::Attachment(_) => RecordKind::Attachments,
            Self::Alert { .. } => RecordKind::Alerts,
            Self::AlertOccurrence { .. } => RecordKind::AlertOccurrences,
            Self::AlertIncident { .. } => RecordKind::AlertIncidents,
            Self::Silence(_) => RecordKind::Silences,
            Self::Setting { .. } => RecordKind::Settings,
            Self::Mail(_) => RecordKind::Mails,
            Self::Assignment(_) => RecordKind::Assignments,
            Self::Stream(_) => RecordKind::Stream,
        }
    }

    /// The key the source lists this record by: what
    /// [`RecordSource::export_records`] takes as `after` to go on from it.
    pub fn export_key(&self) -> String {
        match self {
            Self::User(r) => r.user.id.to_string(),
            Self::Department(d) => d.name.to_string(),
            Self::Incident(i) => i.id().to_string(),
            Self::IncidentEvent(e) => e.event_id.to_string(),
            Self::Attachment(a) => a.attachment_id.to_string(),
            Self::Alert { alert, .. } => alert.id.to_string(),
            Self::AlertOccurrence { occurrences, .. } => occurrences.id.to_string(),
            Self::AlertIncident { incident, .. } => incident.to_string(),
            Self::Silence(s) => s.id().to_string(),
            Self::Setting { name, .. } => name.clone(),
            Self::Mail(m) => m.id.to_string(),
            Self::Assignment(a) => a.event_id.to_string(),
            Self::Stream(e) => e.position.to_string(),
        }
    }
}

/// What an import did with the records it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Records written.
    pub written: u64,
    /// Records already there with the same content, left alone.
    pub present: u64,
}

/// Lists every record a backend holds, by kind, as it is stored: the reading side of a move.
///
/// # Contract
///
/// - [`export_records`](RecordSource::export_records) lists the records of one kind in the
///   order of their [`export_key`](Record::export_key) (stream entries by position), after
///   `after` when given, at most `limit`, fewer only at the end.
/// - Nothing is changed: a source may be opened read-only.
/// - [`count_records`](RecordSource::count_records) is the number of records of the kind
///   that the listing would give.
///
/// # Errors
///
/// Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[async_trait]
pub trait RecordSource: Send + Sync {
    /// Up to `limit` records of `kind` after `after`.
    async fn export_records(
        &self,
        kind: RecordKind,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<Record>>;

    /// How many records of `kind` the backend holds.
    async fn count_records(&self, kind: RecordKind) -> Result<u64>;

    /// The stream log's epoch, head and oldest position.
    async fn stream_origin(&self) -> Result<StreamHead>;

    /// The counts of incidents and alerts, as the statistics read them.
    async fn record_counts(&self) -> Result<(IncidentCounts, AlertCounts)>;
}

/// Writes records with their ids, versions and times as they are: the writing side of a move.
///
/// # Contract
///
/// - [`adopt_stream`](RecordSink::adopt_stream) makes the sink's stream log the source's:
///   same epoch, head at the source's head, so a `since=` id of the source stays valid. It
///   succeeds when the sink's log is empty or already has that epoch.
/// - [`import_records`](RecordSink::import_records) writes each record that is missing and
///   leaves alone one that is there with the same content, so an import run again, or after
///   an interruption, ends with each record once. A call may be cut short part-way; the
///   next import of the same records completes what it left.
/// - [`import_counts`](RecordSink::import_counts) sets the counts the statistics read to the
///   source's.
/// - [`count_records`](RecordSink::count_records) counts what the sink holds, whatever its
///   origin.
/// - The records one call takes are at most [`import_batch`](RecordSink::import_batch).
///
/// # Errors
///
/// - A record whose key is taken by a record with other content, and a stream log of
///   another epoch that holds entries, MUST be
///   [`Error::Conflict`](crate::Error::Conflict) with [`ConflictKind::Duplicate`](crate::ConflictKind::Duplicate),
///   naming the record, and write nothing of that record.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[async_trait]
pub trait RecordSink: Send + Sync {
    /// The most records one [`import_records`](RecordSink::import_records) takes.
    fn import_batch(&self) -> usize;

    /// Makes the sink's stream log continue `origin`'s.
    async fn adopt_stream(&self, origin: StreamHead) -> Result<()>;

    /// Writes the records that are missing; see the contract.
    async fn import_records(&self, records: Vec<Record>) -> Result<Imported>;

    /// Sets the counts of incidents and alerts.
    async fn import_counts(&self, incidents: &IncidentCounts, alerts: &AlertCounts) -> Result<()>;

    /// How many records of `kind` the sink holds.
    async fn count_records(&self, kind: RecordKind) -> Result<u64>;
}

/// A shared record source picked at run time.
pub type DynRecordSource = dyn RecordSource;

/// A shared record sink picked at run time.
pub type DynRecordSink = dyn RecordSink;
