//! # alerta-core
//!
//! The core of Alerta: reporting, managing and broadcasting incidents and alerts.
//!
//! - [`domain`]: types that cannot hold invalid values (incidents and their lifecycle,
//!   history events, users, sessions, alerts, mail, reports).
//! - [`ports`]: the async traits every adapter implements, each with its contract.
//! - [`dispatch`]: the [`Dispatcher`](dispatch::Dispatcher) that delivers the mail outbox,
//!   with leases and retries.
//! - [`escalation`]: the [`EscalationPolicy`](escalation::EscalationPolicy) that schedules
//!   reminders of alerts nobody acknowledges.
//! - [`Alerta`]: the use cases, with their role checks, over any set of adapters.
//! - [`Error`]: the one error callers see, with a [`ConflictKind`] for each way a request can
//!   conflict; transport adapters map it onto the wire contract's status codes.
//!
//! The core does no I/O of its own; storage, delivery and transports live in
//! `alerta-adapters`.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `conformance` | [`conformance`]: the shared test suites every storage adapter must pass |
//! | `mocks` | `mockall` mocks of every port (`ports::MockIncidentStore`, ...) |

pub mod dispatch;
pub mod domain;
mod error;
pub mod escalation;
pub mod notifications;
pub mod ports;
mod service;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{BoxError, ConflictKind, Error, Result, SharedError};
pub use service::{
    AckByLink, AckLinkState, AlertChangeRequest, AlertSender, IncidentFromAlert, IngestPass,
    Received, ReceivedSummary,
};
// The draft is the domain's; it stays at the root, where the use cases that take it are.
pub use domain::IncidentDraft;
pub use service::{
    Alerta, AlertaBuilder, LocationCheck, Login, LoginPolicy, MAX_RESPONSE_DAYS, Preview,
    ReportProgress, ReportRun, ReportSummary, Retention, RetentionReport, Settings, SilenceRequest,
    StatusChange, Upload,
};
