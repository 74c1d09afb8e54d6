//! What an incident caused to be delivered.

use super::{Alerta, require_staff};
use crate::domain::{
    BlobKey, Change, Delivery, IncidentDeliveries, IncidentId, MailAbout, ReportDelivery, User,
};
use crate::{Error, Result};

impl Alerta {
    /// Every mail the incident caused and the reports written for its assignments
    /// (`GET /incidents/{id}/deliveries`); staff and admin.
    pub async fn incident_deliveries(
        &self,
        actor: &User,
        id: &IncidentId,
    ) -> Result<IncidentDeliveries> {
        require_staff(actor)?;
        let storage = &self.inner.storage;
        storage
            .incidents
            .incident(id)
            .await?
            .ok_or(Error::NotFound("incident"))?;
        let mails = storage
            .outbox
            .mails_about(&MailAbout::Incident(id.clone()))
            .await?;
        let assignments: Vec<_> = storage
            .incidents
            .history(id)
            .await?
            .into_iter()
            .filter_map(|event| match event.change {
                Change::DepartmentAssigned { department } => Some((event.event_id, department)),
                _ => None,
            })
            .collect();
        let event_ids: Vec<_> = assignments.iter().map(|(e, _)| e.clone()).collect();
        let written = if event_ids.is_empty() {
            Vec::new()
        } else {
            storage
                .report_ledger
                .processed_assignments(&event_ids)
                .await?
        };
        let reports = assignments
            .into_iter()
            .map(|(event_id, department)| ReportDelivery {
                key: BlobKey::assignment_report(&department, id).to_string(),
                written: written.contains(&event_id),
                event_id,
                department,
            })
            .collect();
        Ok(IncidentDeliveries {
            incident_id: id.clone(),
            mails: mails.into_iter().map(Delivery::from).collect(),
            reports,
        })
    }
}
