//! Report documents.

use super::Alerta;
use crate::domain::{AssignmentReport, BlobKey, GlobalReport, IncidentId};
use crate::{Error, Result};

impl Alerta {
    /// The global report over every incident, as of now.
    pub async fn global_report(&self) -> Result<GlobalReport> {
        let counts = self.inner.storage.incidents.counts().await?;
        Ok(GlobalReport::new(self.now(), counts))
    }

    /// Computes the global report and writes it to the blob store; returns its key.
    pub async fn write_global_report(&self) -> Result<(BlobKey, GlobalReport)> {
        let report = self.global_report().await?;
        let key = BlobKey::global_report(report.generado_en);
        let bytes = serde_json::to_vec_pretty(&report)
            .map_err(|e| Error::unavailable("report encoding", e))?;
        self.inner
            .blobs
            .put(&key, "application/json", bytes)
            .await?;
        Ok((key, report))
    }

    /// The report on one incident: the incident and its whole history.
    pub async fn assignment_report(&self, id: &IncidentId) -> Result<AssignmentReport> {
        let incident = self.load_incident(id).await?;
        let eventos = self.inner.storage.incidents.history(id).await?;
        Ok(AssignmentReport {
            generado_en: self.now(),
            incident,
            eventos,
        })
    }

    async fn load_incident(&self, id: &IncidentId) -> Result<crate::domain::Incident> {
        self.inner
            .storage
            .incidents
            .incident(id)
            .await?
            .ok_or(Error::NotFound("incident"))
    }
}
