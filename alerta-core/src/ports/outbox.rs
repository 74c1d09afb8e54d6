//! The mail outbox and the mailer that empties it.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;
use crate::domain::{MailId, MailState, OutboxMail, Page, PageRequest, Timestamp};

/// Mail waiting to be sent. Rows are written only inside the atomic changes of the incident
/// and alert stores; this port is how a dispatcher works through them.
///
/// # Contract
///
/// - [`claim_due`](MailOutbox::claim_due) returns pending rows whose `next_attempt_at` is not
///   after `now` and whose lease is absent or over, oldest `next_attempt_at` first (then by
///   id), and sets their lease to `now + lease` in the same atomic step: two concurrent
///   claims never return the same row while its lease runs.
/// - [`mark_sent`](MailOutbox::mark_sent) and [`mark_failed`](MailOutbox::mark_failed) clear
///   the lease and count the attempt.
///
/// # Errors
///
/// - Marking or requeuing an unknown id MUST return [`Error::NotFound`](crate::Error::NotFound).
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailOutbox: Send + Sync {
    /// Leases up to `limit` due rows.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxMail>>;

    /// Records a delivery.
    async fn mark_sent(&self, id: &MailId, now: Timestamp) -> Result<()>;

    /// Records a failed attempt: the row is tried again at `retry_at`, or becomes
    /// [`MailState::Dead`] when `retry_at` is `None`.
    async fn mark_failed(
        &self,
        id: &MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()>;

    /// Puts a row back to pending, due at `now`, keeping its attempts and `Message-ID`.
    async fn requeue(&self, id: &MailId, now: Timestamp) -> Result<()>;

    /// One row.
    async fn mail(&self, id: &MailId) -> Result<Option<OutboxMail>>;

    /// A page of rows, newest first, optionally in one state.
    async fn mails(&self, state: Option<MailState>, page: &PageRequest)
    -> Result<Page<OutboxMail>>;
}

/// A shared outbox picked at run time.
pub type DynMailOutbox = dyn MailOutbox;

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: the server was unreachable, timed out or answered 4xx.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Not worth retrying: the server answered 5xx or the message was refused.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Sends one message.
///
/// # Contract
///
/// A mailer sends `mail.message` with `mail.message_id` as its `Message-ID` header, so that
/// a retried row is recognisable as the same message.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the message of `mail`.
    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError>;
}

/// A shared mailer picked at run time.
pub type DynMailer = dyn Mailer;
