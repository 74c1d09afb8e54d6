//! Opening an incident from an alert: one model, two entry points.

use super::{Alerta, require_staff};
use crate::domain::{
    Alert, AlertId, Description, IdempotencyKey, Incident, IncidentDraft, Location, Severity,
    Urgency, User,
};
use crate::ports::IncidentChange;
use crate::{Error, Result};

/// What `POST /events/{id}/incident` may say; every field left out is derived from the alert.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentFromAlert {
    /// `tipo`; `otro` when absent.
    pub kind: Option<String>,
    /// `descripcion`; the alert's source and message when absent.
    pub description: Option<String>,
    /// `ubicacion`; the alert's source when absent.
    pub location: Option<String>,
    /// `urgencia`; from the alert's severity when absent.
    pub urgency: Option<String>,
}

/// The type an incident opened from an alert gets when none is given.
const DEFAULT_KIND: &str = "otro";

/// How urgent an incident opened from an alert of `severity` is, unless the caller says.
fn urgency_of(severity: Severity) -> Urgency {
    match severity {
        Severity::Critical => Urgency::Critical,
        Severity::Error => Urgency::High,
        Severity::Warning => Urgency::Medium,
        Severity::Info => Urgency::Low,
    }
}

impl Alerta {
    /// Opens an incident from the alert `id` (`POST /events/{id}/incident`); staff and admin.
    /// The incident names the alert and the alert names the incident; an alert has at most one.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown alert, [`Error::Invalid`] for a field the caller gave
    /// that does not parse, [`Error::Conflict`] of kind
    /// [`AlreadyLinked`](crate::ConflictKind::AlreadyLinked) when the alert already has an
    /// incident: the store decides it in the same atomic step that stores the incident.
    pub async fn open_incident_from_alert(
        &self,
        actor: &User,
        id: &AlertId,
        request: IncidentFromAlert,
        key: Option<&IdempotencyKey>,
    ) -> Result<Incident> {
        require_staff(actor)?;
        let operation = format!("alert.incident:{id}");
        self.idempotent(actor.id.as_str(), key, operation, async {
            let alert = self
                .inner
                .storage
                .alerts
                .alert(id)
                .await?
                .ok_or(Error::NotFound("alert"))?;
            let draft = self.draft_from_alert(&alert, request)?;
            let (incident, event) =
                Incident::open_from_alert(draft, id, &actor.id, self.now(), self.ids());
            let change = IncidentChange {
                incident: incident.clone(),
                expected_version: None,
                events: vec![event],
                attachments: vec![],
                mails: vec![],
            };
            self.commit(change).await?;
            Ok(incident)
        })
        .await
    }

    /// The incident opened from the alert `id`, if any (`GET /events/{id}` shows it).
    pub async fn incident_for_alert(
        &self,
        id: &AlertId,
    ) -> Result<Option<crate::domain::IncidentId>> {
        self.inner.storage.incidents.incident_for_alert(id).await
    }

    fn draft_from_alert(&self, alert: &Alert, request: IncidentFromAlert) -> Result<IncidentDraft> {
        let kind = request.kind.as_deref().unwrap_or(DEFAULT_KIND);
        let description = match request.description {
            Some(text) => Description::parse(&text)?,
            None => derived_description(alert)?,
        };
        let location = match request.location {
            Some(text) => Location::parse(&text)?,
            None => Location::parse(alert.source.as_str())?,
        };
        let urgency = match request.urgency {
            Some(text) => Urgency::parse(&text)?,
            None => urgency_of(alert.severity),
        };
        Ok(IncidentDraft {
            kind: self.inner.settings.incident_types.parse(kind)?,
            description,
            location,
            urgency,
        })
    }
}

/// `source: message`, cut to what a description holds.
fn derived_description(alert: &Alert) -> Result<Description> {
    let text = format!("{}: {}", alert.source.as_str(), alert.message.as_str());
    let cut: String = text.chars().take(Description::MAX_CHARS).collect();
    Description::parse(&cut)
}
