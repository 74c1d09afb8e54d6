//! Valid domain values for the checks.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::domain::{
    Alert, AlertId, AlertMessage, AlertSource, Change, Channel, DepartmentName, Description, Email,
    EventId, IdSource, Incident, IncidentEvent, IncidentId, Location, MailId, MailMessage,
    OutboxMail, Severity, Status, Subject, Timestamp, TypeCatalog, UlidSource, Urgency, UserId,
};
use crate::ports::IncidentChange;

/// Makes valid values with unique, increasing ids and times.
#[derive(Debug)]
pub struct Fixtures {
    ids: UlidSource,
    clock: AtomicI64,
}

impl Default for Fixtures {
    fn default() -> Self {
        Self {
            ids: UlidSource::new(),
            clock: AtomicI64::new(1_795_000_000_000),
        }
    }
}

impl Fixtures {
    /// New fixtures.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh id.
    pub fn id(&self) -> String {
        self.ids.next_id()
    }

    /// A time one second after the previous one.
    pub fn tick(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.clock.fetch_add(1000, Ordering::SeqCst) + 1000)
    }

    /// A user id.
    pub fn user(&self) -> UserId {
        UserId::generate(&self.ids)
    }

    /// A new incident at version 1.
    pub fn incident(
        &self,
        reporter: &UserId,
        tipo: &str,
        urgency: Urgency,
        text: &str,
    ) -> Incident {
        let at = self.tick();
        Incident {
            id: IncidentId::generate(&self.ids),
            kind: TypeCatalog::default().parse(tipo).expect("a default type"),
            description: Description::parse(text).expect("a valid description"),
            location: Location::parse(&format!("Pabellón A, {text}")).expect("a valid location"),
            urgency,
            status: Status::Pendiente,
            department: None,
            reported_by: reporter.clone(),
            created_at: at,
            updated_at: at,
            resolved_at: None,
            version: 1,
        }
    }

    /// An event of `incident`.
    pub fn event(&self, incident: &Incident, change: Change) -> IncidentEvent {
        IncidentEvent {
            event_id: EventId::generate(&self.ids),
            incident_id: incident.id.clone(),
            change,
            actor: incident.reported_by.clone(),
            created_at: self.tick(),
        }
    }

    /// The change that creates `incident` with its `creado` event.
    pub fn creation(&self, incident: &Incident) -> IncidentChange {
        IncidentChange {
            incident: incident.clone(),
            expected_version: None,
            events: vec![self.event(incident, Change::Creado {})],
            attachments: vec![],
            mails: vec![],
        }
    }

    /// The change that applies `change` to `current`, with the mail given.
    pub fn update(
        &self,
        current: &Incident,
        change: Change,
        mails: Vec<OutboxMail>,
    ) -> IncidentChange {
        let event = self.event(current, change);
        let mut next = current.clone();
        next.apply(&event);
        IncidentChange {
            incident: next,
            expected_version: Some(current.version),
            events: vec![event],
            attachments: vec![],
            mails,
        }
    }

    /// A status change from `current`.
    pub fn move_to(&self, current: &Incident, to: Status) -> IncidentChange {
        self.update(
            current,
            Change::CambioEstado {
                de: current.status,
                a: to,
                nota: None,
            },
            vec![],
        )
    }

    /// An assignment of `current` to `department`.
    pub fn assign(&self, current: &Incident, department: &str) -> IncidentChange {
        self.update(
            current,
            Change::Asignacion {
                departamento: DepartmentName::parse(department).expect("a valid department"),
            },
            vec![],
        )
    }

    /// A pending outbox row due at `at`.
    pub fn mail(&self, to: &str, subject: &str, at: Timestamp) -> OutboxMail {
        OutboxMail::new(
            MailId::generate(&self.ids),
            MailMessage {
                to: vec![Email::parse(to).expect("a valid address")],
                subject: Subject::sanitize(subject),
                text: format!("{subject}\n"),
                html: format!("<p>{subject}</p>"),
            },
            at,
        )
    }

    /// An alert.
    pub fn alert(
        &self,
        source: &str,
        severity: Severity,
        channel: Channel,
        message: &str,
    ) -> Alert {
        Alert {
            id: AlertId::generate(&self.ids),
            source: AlertSource::parse(source).expect("a valid source"),
            severity,
            message: AlertMessage::parse(message).expect("a valid message"),
            channel,
            created_at: self.tick(),
        }
    }
}
