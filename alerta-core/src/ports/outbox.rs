//! The mail outbox and the mailer that empties it.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;
use crate::domain::{
    MailAbout, MailId, MailState, OutboxBacklog, OutboxMail, Page, PageRequest, Timestamp,
};

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
/// - [`mark_all_sent`](MailOutbox::mark_all_sent) leaves every row as
///   [`mark_sent`](MailOutbox::mark_sent) of each id would, including every known id when
///   another is unknown. A backend that can write them in one durable step should, since a
///   dispatcher sending many rows at once would otherwise wait for one such write per row.
/// - [`mark_unreachable`](MailOutbox::mark_unreachable) clears the lease, does not count an
///   attempt (the message never reached a server) and marks the row as waiting for the
///   server; any other mark, and [`requeue`](MailOutbox::requeue), clears that mark.
/// - [`release_unreachable`](MailOutbox::release_unreachable) makes every pending row that
///   waits for the server and is due after `now` due at `now`, clears its mark and returns
///   how many rows it brought forward. It never touches a lease, so it cannot make a row be
///   sent twice.
/// - [`mark_cancelled`](MailOutbox::mark_cancelled) settles a row as
///   [`MailState::Cancelled`] without counting an attempt, keeps `reason` as its last error
///   and clears its lease; a cancelled row is never claimed again (an operator's
///   [`requeue`](MailOutbox::requeue) may still bring it back).
/// - [`mails_about`](MailOutbox::mails_about) returns every row whose cause is about the
///   given incident or alert, in any state, oldest first (by id); it never returns rows about
///   anything else. Backends answer it from an index, without reading the whole outbox; it
///   shows committed rows at once when the backend's
///   [`consistent_lists`](super::StorageLimits::consistent_lists) holds, a moment later
///   otherwise.
/// - [`remove_settled`](MailOutbox::remove_settled) deletes up to `limit` rows that are
///   [sent](MailState::Sent), [dead](MailState::Dead) or [cancelled](MailState::Cancelled)
///   and were made (`created_at`) before `before`, oldest first, and returns how many it
///   deleted: fewer than `limit` means none is left. It never deletes a pending row,
///   whatever its age, so retention cannot lose mail that is still to go.
/// - [`backlog`](MailOutbox::backlog) counts the pending and the dead rows and gives the
///   earliest `due_at` of the pending rows, as committed when it reads (on backends whose
///   lists lag, a moment earlier).
///
/// # Errors
///
/// - Marking (cancelling included) or requeuing an unknown id MUST return
///   [`Error::NotFound`](crate::Error::NotFound).
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

    /// Records the deliveries of several rows, whose ids are distinct. The default marks
    /// them one after the other.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when an id is unknown, after every known
    /// one is marked.
    async fn mark_all_sent(&self, ids: &[MailId], now: Timestamp) -> Result<()> {
        let mut unknown = None;
        for id in ids {
            match self.mark_sent(id, now).await {
                Ok(()) => {}
                Err(error @ crate::Error::NotFound(_)) => unknown = Some(error),
                Err(error) => return Err(error),
            }
        }
        unknown.map_or(Ok(()), Err)
    }

    /// Records a failed attempt: the row is tried again at `retry_at`, or becomes
    /// [`MailState::Dead`] when `retry_at` is `None`.
    async fn mark_failed(
        &self,
        id: &MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()>;

    /// Records that the mail server could not be reached: the row is tried again at
    /// `retry_at` and waits for the server, so that
    /// [`release_unreachable`](MailOutbox::release_unreachable) can bring it forward.
    async fn mark_unreachable(&self, id: &MailId, error: &str, retry_at: Timestamp) -> Result<()>;

    /// Makes every row waiting for the server due at `now`: called once a send succeeds
    /// again. Returns how many rows were brought forward.
    async fn release_unreachable(&self, now: Timestamp) -> Result<usize>;

    /// Settles a row without sending it: it is no longer wanted (a reminder of an alert that
    /// is not firing any more). `reason` says why, for operators.
    async fn mark_cancelled(&self, id: &MailId, reason: &str) -> Result<()>;

    /// Every row about one incident or alert, oldest first.
    async fn mails_about(&self, about: &MailAbout) -> Result<Vec<OutboxMail>>;

    /// Puts a row back to pending, due at `now`, keeping its attempts and `Message-ID`.
    async fn requeue(&self, id: &MailId, now: Timestamp) -> Result<()>;

    /// One row.
    async fn mail(&self, id: &MailId) -> Result<Option<OutboxMail>>;

    /// A page of rows, newest first, optionally in one state.
    async fn mails(&self, state: Option<MailState>, page: &PageRequest)
    -> Result<Page<OutboxMail>>;

    /// Deletes up to `limit` settled rows made before `before`: retention.
    async fn remove_settled(&self, before: Timestamp, limit: usize) -> Result<usize>;

    /// How much mail waits: for operators and `/metrics`.
    async fn backlog(&self) -> Result<OutboxBacklog>;
}

/// A shared outbox picked at run time.
pub type DynMailOutbox = dyn MailOutbox;

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server could not be reached or stopped answering: the connection was refused,
    /// reset or timed out. Worth retrying soon, and every other row waiting on the same
    /// server can go as soon as one send succeeds again.
    #[error("mail server unreachable: {0}")]
    Unreachable(String),
    /// Worth retrying: the server answered 4xx, or the message could not be handed over
    /// for a reason that may pass (TLS, authentication, a local write).
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

    /// Whether the mail server answers now, for health reports; sends nothing. A mailer with
    /// no server to ask (one that writes files) answers `Ok`.
    async fn reachable(&self) -> Result<(), SendError> {
        Ok(())
    }
}

/// A shared mailer picked at run time.
pub type DynMailer = dyn Mailer;
