//! The report job: the global report and one report per assignment, each assignment
//! processed exactly once.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;

use super::Alerta;
use crate::domain::{
    AssignmentReport, BlobKey, Change, EventKind, GlobalReport, IncidentId, MailCause, MailId,
    MailKind, OutboxMail,
};
use crate::notifications;
use crate::ports::EventQuery;
use crate::{ConflictKind, Error, Result};

/// How a report run identifies itself and how long it may hold an assignment.
#[derive(Clone, Debug)]
pub struct ReportRun {
    /// Who runs: unique per run (e.g. host, process and start time), so leases tell runs apart.
    pub holder: String,
    /// How long a claimed assignment stays this run's before another run may take it over.
    pub lease: Duration,
}

/// What a report run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    /// The key of the global report written.
    pub global_report: String,
    /// Incidents counted in it.
    pub total_incidents: u64,
    /// Assignments processed by this run (report written, department notified).
    pub processed: usize,
    /// Assignments another run held; the next run picks them up if that one fails.
    pub held_elsewhere: usize,
    /// Assignments already processed by earlier runs.
    pub already_done: usize,
}

/// Progress of a run, reported after each assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportProgress {
    /// Assignments looked at so far.
    pub seen: usize,
    /// Of those, processed by this run.
    pub processed: usize,
}

const PAGE: usize = 500;

impl Alerta {
    /// The global report over every incident, as of now.
    pub async fn global_report(&self) -> Result<GlobalReport> {
        let counts = self.inner.storage.incidents.counts().await?;
        Ok(GlobalReport::new(self.now(), counts))
    }

    /// Computes the global report and writes it to the blob store; returns its key.
    pub async fn write_global_report(&self) -> Result<(BlobKey, GlobalReport)> {
        let report = self.global_report().await?;
        let key = BlobKey::global_report(report.generated_at);
        self.put_json(&key, &report).await?;
        Ok((key, report))
    }

    /// The report on one incident: the incident and its whole history.
    pub async fn assignment_report(&self, id: &IncidentId) -> Result<AssignmentReport> {
        let incident = self
            .inner
            .storage
            .incidents
            .incident(id)
            .await?
            .ok_or(Error::NotFound("incident"))?;
        let events = self.inner.storage.incidents.history(id).await?;
        Ok(AssignmentReport {
            generated_at: self.now(),
            incident,
            events,
        })
    }

    async fn put_json<T: Serialize>(&self, key: &BlobKey, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::unavailable("report encoding", e))?;
        self.inner.blobs.put(key, "application/json", bytes).await
    }

    /// Runs the report job once (`alerta report run`): writes the global report, then for
    /// every `asignacion` event not yet processed writes
    /// `reportes/incidentes/{departamento}/incidente_{id}.json` and queues the department's
    /// mail naming it. Safe to run concurrently and to rerun after a failure: each
    /// assignment's mail is queued exactly once (see [`ReportLedger`](crate::ports::ReportLedger),
    /// the storage's [`report_ledger`](crate::ports::Storage::report_ledger)).
    pub async fn run_reports(
        &self,
        run: &ReportRun,
        progress: &mut (dyn FnMut(ReportProgress) + Send),
    ) -> Result<ReportSummary> {
        let ledger = self.inner.storage.report_ledger.as_ref();
        let (key, report) = self.write_global_report().await?;
        let mut summary = ReportSummary {
            global_report: key.to_string(),
            total_incidents: report.total,
            ..ReportSummary::default()
        };
        let mut after = None;
        let mut seen = 0;
        loop {
            let page = self
                .inner
                .storage
                .incidents
                .events(&EventQuery {
                    after: after.clone(),
                    kind: Some(EventKind::DepartmentAssigned),
                    limit: PAGE,
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.event_id.clone());
            let ids: Vec<_> = page.iter().map(|e| e.event_id.clone()).collect();
            let done: HashSet<_> = ledger
                .processed_assignments(&ids)
                .await?
                .into_iter()
                .collect();
            for event in &page {
                seen += 1;
                if done.contains(&event.event_id) {
                    summary.already_done += 1;
                } else if self.process_assignment(run, event).await? {
                    summary.processed += 1;
                } else {
                    summary.held_elsewhere += 1;
                }
                progress(ReportProgress {
                    seen,
                    processed: summary.processed,
                });
            }
            if page.len() < PAGE {
                break;
            }
        }
        Ok(summary)
    }

    /// `true` when this run processed the assignment, `false` when another run holds it.
    async fn process_assignment(
        &self,
        run: &ReportRun,
        event: &crate::domain::IncidentEvent,
    ) -> Result<bool> {
        let ledger = self.inner.storage.report_ledger.as_ref();
        let Change::DepartmentAssigned { department } = &event.change else {
            return Ok(true);
        };
        if !ledger
            .claim_assignment(&event.event_id, &run.holder, self.now(), run.lease)
            .await?
        {
            return Ok(false);
        }
        let report = self.assignment_report(&event.incident_id).await?;
        let key = BlobKey::assignment_report(department, &event.incident_id);
        self.put_json(&key, &report).await?;
        let department = self
            .inner
            .storage
            .departments
            .department(department)
            .await?;
        let mails = department
            .map(|d| {
                let message = notifications::report_ready_mail(&report.incident, &d, &key);
                vec![OutboxMail::new(
                    MailId::generate(self.ids()),
                    MailCause::incident(MailKind::Report, &event.incident_id),
                    message,
                    self.now(),
                )]
            })
            .unwrap_or_default();
        match ledger
            .complete_assignment(&event.event_id, &run.holder, mails, self.now())
            .await
        {
            Ok(()) => Ok(true),
            // Our lease ran out and another run took the assignment over; it sends the mail.
            Err(e) if e.conflict_kind() == Some(ConflictKind::LeaseLost) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
