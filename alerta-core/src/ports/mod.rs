//! Ports: the async traits everything outside the core goes through.
//!
//! Each is object safe and used as `Arc<dyn Port>`, so a binary can pick its adapters at run
//! time. Each documents its contract and errors; the `conformance` feature holds the tests
//! that check a storage adapter against them.

mod alerts;
mod idempotency;
mod incidents;
mod limits;
mod logins;
mod misc;
mod outbox;
mod records;
mod reports;
mod settings;
mod silences;
mod stream;
mod users;

use std::sync::Arc;

pub use alerts::{AlertStore, AlertTransition, AlertWrite, DynAlertStore, GroupedAlert, Inserted};
pub use idempotency::{DynIdempotencyStore, IdempotencyStore};
pub use incidents::{DynIncidentStore, EventQuery, IncidentChange, IncidentStore};
pub use limits::StorageLimits;
pub use logins::{DynLoginAttemptStore, FailureWindow, LoginAttemptStore, LoginKey};
pub use misc::{
    BlobStore, Broadcaster, Clock, DynBlobStore, DynBroadcaster, ManualClock, SystemClock,
};
pub use outbox::{DynMailOutbox, DynMailer, MailOutbox, Mailer, SendError};
pub use records::{
    AssignmentRecord, DynRecordSink, DynRecordSource, Imported, Record, RecordKind, RecordSink,
    RecordSource,
};
pub use reports::{DynReportLedger, ReportLedger};
pub use settings::{DynSettingStore, SettingStore};
pub use silences::{DynSilenceStore, SilenceStore};
pub use stream::{Broker, BrokerListener, DynBroker, DynStreamLog, StreamLog};
pub use users::{DepartmentStore, DynDepartmentStore, DynUserStore, UserStore};

#[cfg(any(test, feature = "mocks"))]
pub use alerts::MockAlertStore;
#[cfg(any(test, feature = "mocks"))]
pub use idempotency::MockIdempotencyStore;
#[cfg(any(test, feature = "mocks"))]
pub use incidents::MockIncidentStore;
#[cfg(any(test, feature = "mocks"))]
pub use logins::MockLoginAttemptStore;
#[cfg(any(test, feature = "mocks"))]
pub use misc::{MockBlobStore, MockBroadcaster};
#[cfg(any(test, feature = "mocks"))]
pub use outbox::{MockMailOutbox, MockMailer};
#[cfg(any(test, feature = "mocks"))]
pub use reports::MockReportLedger;
#[cfg(any(test, feature = "mocks"))]
pub use settings::MockSettingStore;
#[cfg(any(test, feature = "mocks"))]
pub use silences::MockSilenceStore;
#[cfg(any(test, feature = "mocks"))]
pub use stream::MockStreamLog;
#[cfg(any(test, feature = "mocks"))]
pub use users::{MockDepartmentStore, MockUserStore};

/// The storage ports a deployment uses, usually all served by one backend so that the atomic
/// changes can span incidents, alerts and the outbox; and the limits that backend states.
#[derive(Clone)]
pub struct Storage {
    /// Incidents, history, attachment metadata.
    pub incidents: Arc<DynIncidentStore>,
    /// Alerts.
    pub alerts: Arc<DynAlertStore>,
    /// Users and sessions.
    pub users: Arc<DynUserStore>,
    /// Departments.
    pub departments: Arc<DynDepartmentStore>,
    /// The mail outbox.
    pub outbox: Arc<DynMailOutbox>,
    /// Idempotency records.
    pub idempotency: Arc<DynIdempotencyStore>,
    /// The stream log the incident and alert writes append to.
    pub stream: Arc<DynStreamLog>,
    /// Failed logins, counted for every instance on this storage.
    pub login_attempts: Arc<DynLoginAttemptStore>,
    /// Which assignments the report job has processed; completing one writes outbox rows.
    pub report_ledger: Arc<DynReportLedger>,
    /// Silences.
    pub silences: Arc<DynSilenceStore>,
    /// Named values shared by every instance, such as the link secret.
    pub settings: Arc<DynSettingStore>,
    /// What the backend can do in one call.
    pub limits: StorageLimits,
}

/// A backend that serves every storage port and states its limits: what
/// [`Storage::from_backend`] takes.
///
/// # Contract
///
/// [`limits`](StorageBackend::limits) is true of every port the backend serves, and the same
/// for the life of the backend: the conformance suites check the backend against it.
pub trait StorageBackend:
    IncidentStore
    + AlertStore
    + UserStore
    + DepartmentStore
    + MailOutbox
    + IdempotencyStore
    + StreamLog
    + LoginAttemptStore
    + ReportLedger
    + SilenceStore
    + SettingStore
{
    /// What the backend can do in one call.
    fn limits(&self) -> StorageLimits;
}

impl Storage {
    /// Every storage port served by one backend, with the limits it states.
    pub fn from_backend<B: StorageBackend + 'static>(backend: Arc<B>) -> Self {
        Self {
            limits: backend.limits(),
            incidents: backend.clone(),
            alerts: backend.clone(),
            users: backend.clone(),
            departments: backend.clone(),
            outbox: backend.clone(),
            idempotency: backend.clone(),
            stream: backend.clone(),
            login_attempts: backend.clone(),
            report_ledger: backend.clone(),
            silences: backend.clone(),
            settings: backend,
        }
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
