//! The record of which assignments the report job has processed.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;
use crate::domain::{EventId, OutboxMail, Timestamp};

/// Which `asignacion` events the report job has processed, and which run is processing which.
///
/// This is what makes the job exactly-once: an assignment is processed by the run that holds
/// its lease, and recording it as done writes its department's mail in the same atomic step.
/// A run that dies halfway leaves a lease that expires; the next run claims the assignment
/// again, rewrites its report (same key) and sends the one mail.
///
/// # Contract
///
/// - [`claim_assignment`](ReportLedger::claim_assignment) succeeds when the assignment is not
///   done and no other holder's lease runs at `now`; it then holds the lease until
///   `now + lease`. It is atomic: of concurrent claims at most one succeeds.
/// - [`complete_assignment`](ReportLedger::complete_assignment) marks the assignment done and
///   stores `mails`, together or not at all, and only while `holder` still holds it (its lease
///   may have run out as long as nobody else claimed it since).
///
/// # Errors
///
/// - `complete_assignment` MUST return [`Error::lease_lost`](crate::Error::lease_lost) (a
///   conflict of kind [`LeaseLost`](crate::ConflictKind::LeaseLost)) when the assignment is
///   done or held by another holder, and then write nothing.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReportLedger: Send + Sync {
    /// Tries to take the assignment `event` for `holder`; `true` when taken.
    async fn claim_assignment(
        &self,
        event: &EventId,
        holder: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<bool>;

    /// Records the assignment as done and stores its mail, atomically.
    async fn complete_assignment(
        &self,
        event: &EventId,
        holder: &str,
        mails: Vec<OutboxMail>,
        now: Timestamp,
    ) -> Result<()>;

    /// Which of `events` are done.
    async fn processed_assignments(&self, events: &[EventId]) -> Result<Vec<EventId>>;
}

/// A shared report ledger picked at run time.
pub type DynReportLedger = dyn ReportLedger;
