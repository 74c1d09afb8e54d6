//! Valid domain values for the checks.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::domain::{
    Alert, AlertAction, AlertDraft, AlertId, AlertMessage, AlertSource, Change, Channel,
    DepartmentName, Description, Email, EventId, IdSource, Incident, IncidentAction, IncidentDraft,
    IncidentEvent, Location, MailCause, MailId, MailKind, MailMessage, OutboxMail, Severity,
    Status, Subject, Timestamp, TypeCatalog, UlidSource, Urgency, UserId,
};
use crate::ports::{AlertTransition, IncidentChange};

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
        kind: &str,
        urgency: Urgency,
        text: &str,
    ) -> Incident {
        let draft = IncidentDraft {
            kind: TypeCatalog::default().parse(kind).expect("a default type"),
            description: Description::parse(text).expect("a valid description"),
            location: Location::parse(&format!("Pabellón A, {text}")).expect("a valid location"),
            urgency,
        };
        let (incident, _) = Incident::report(draft, reporter, self.tick(), &self.ids);
        incident
    }

    /// A new incident at version 1 opened from the alert `alert`.
    pub fn incident_from_alert(&self, reporter: &UserId, alert: &AlertId, text: &str) -> Incident {
        let draft = IncidentDraft {
            kind: TypeCatalog::default()
                .parse("otro")
                .expect("a default type"),
            description: Description::parse(text).expect("a valid description"),
            location: Location::parse("Sala de servidores").expect("a valid location"),
            urgency: Urgency::Critical,
        };
        let (incident, _) =
            Incident::open_from_alert(draft, alert, reporter, self.tick(), &self.ids);
        incident
    }

    /// A fresh alert id.
    pub fn alert_id(&self) -> AlertId {
        AlertId::generate(&self.ids)
    }

    /// An event of `incident`.
    pub fn event(&self, incident: &Incident, change: Change) -> IncidentEvent {
        IncidentEvent {
            event_id: EventId::generate(&self.ids),
            incident_id: incident.id().clone(),
            change,
            actor: incident.reported_by().clone(),
            created_at: self.tick(),
        }
    }

    /// The change that creates `incident` with its `creado` event.
    pub fn creation(&self, incident: &Incident) -> IncidentChange {
        IncidentChange {
            incident: incident.clone(),
            expected_version: None,
            events: vec![self.event(incident, Change::Created {})],
            attachments: vec![],
            mails: vec![],
        }
    }

    /// The change that records `action` on `current`, done by its reporter, with the mail
    /// given.
    ///
    /// # Panics
    ///
    /// When the incident's rules refuse `action`: the checks build only changes the domain
    /// allows, and leave refusing stale ones to the store.
    pub fn update(
        &self,
        current: &Incident,
        action: IncidentAction,
        mails: Vec<OutboxMail>,
    ) -> IncidentChange {
        let (next, event) = current
            .record(action, current.reported_by(), self.tick(), &self.ids)
            .expect("an action the incident allows");
        IncidentChange {
            incident: next,
            expected_version: Some(current.version()),
            events: vec![event],
            attachments: vec![],
            mails,
        }
    }

    /// `change` with `action` recorded after it, as a second event of the same atomic write.
    pub fn followed_by(
        &self,
        mut change: IncidentChange,
        action: IncidentAction,
    ) -> IncidentChange {
        let (next, event) = change
            .incident
            .record(
                action,
                change.incident.reported_by(),
                self.tick(),
                &self.ids,
            )
            .expect("an action the incident allows");
        change.incident = next;
        change.events.push(event);
        change
    }

    /// A status change from `current`.
    pub fn move_to(&self, current: &Incident, to: Status) -> IncidentChange {
        let action = IncidentAction::MoveTo {
            status: to,
            note: None,
        };
        self.update(current, action, vec![])
    }

    /// An assignment of `current` to `department`.
    pub fn assign(&self, current: &Incident, department: &str) -> IncidentChange {
        let department = DepartmentName::parse(department).expect("a valid department");
        self.update(current, IncidentAction::Assign(department), vec![])
    }

    /// A pending outbox row due at `at`, the first mail of an alert never stored.
    pub fn mail(&self, to: &str, subject: &str, at: Timestamp) -> OutboxMail {
        let cause = MailCause::alert(MailKind::Alert, &AlertId::generate(&self.ids));
        self.mail_for(cause, to, subject, at)
    }

    /// A pending outbox row due at `at`, written because of `cause`.
    pub fn mail_for(&self, cause: MailCause, to: &str, subject: &str, at: Timestamp) -> OutboxMail {
        OutboxMail::new(
            MailId::generate(&self.ids),
            cause,
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
        let draft = AlertDraft {
            source: AlertSource::parse(source).expect("a valid source"),
            severity,
            message: AlertMessage::parse(message).expect("a valid message"),
            channel,
            fingerprint: None,
        };
        Alert::fire(AlertId::generate(&self.ids), draft, self.tick())
    }

    /// The transition `action` makes of `current`, done by a fresh user now.
    pub fn transition(&self, current: &Alert, action: AlertAction) -> AlertTransition {
        let (alert, event) = current
            .record(action, &self.user(), self.tick(), &self.ids)
            .expect("an action the lifecycle allows");
        AlertTransition {
            alert,
            expected_version: current.version(),
            event,
            mails: Vec::new(),
        }
    }
}
