//! Delivery of the mail outbox: claim due rows, send them, record what happened.
//!
//! A [`Dispatcher`] does one pass with [`run_once`](Dispatcher::run_once) and knows no
//! runtime: [`run`](Dispatcher::run) takes the sleep function of whichever runtime the caller
//! uses, so the core stays free of I/O crates.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use alerta_core::dispatch::{Dispatcher, RetryPolicy};
//! # use alerta_core::ports::{DynAlertStore, DynMailOutbox, DynMailer, SystemClock};
//! # async fn sleep(_: std::time::Duration) {}
//! # async fn example(
//! #     outbox: Arc<DynMailOutbox>,
//! #     alerts: Arc<DynAlertStore>,
//! #     mailer: Arc<DynMailer>,
//! # ) {
//! let clock = Arc::new(SystemClock);
//! let dispatcher = Dispatcher::new(outbox, alerts, mailer, clock, RetryPolicy::default());
//! // With tokio: `tokio::spawn(async move { dispatcher.run(IDLE, tokio::time::sleep).await })`.
//! dispatcher.run(std::time::Duration::from_secs(2), sleep).await;
//! # }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::channel::oneshot;
use futures::stream::{self, StreamExt};

use crate::domain::AlertStatus;
use crate::domain::{MailId, OutboxMail, Timestamp};
use crate::ports::{Clock, DynAlertStore, DynMailOutbox, DynMailer, SendError};
use crate::{Error, Result};

/// How the dispatcher leases, batches and retries.
///
/// A failed attempt `n` (counting from 1) is retried after `base_delay × 2^(n-1)`, capped at
/// `max_delay`, and then jittered down to between half and all of that, so that mail that
/// failed together does not come back together. With the defaults a row is retried for about
/// four hours (30 s, 1 min, 2 min, ... up to 1 h between attempts) before it is given up on.
///
/// A server that cannot be reached at all ([`SendError::Unreachable`]) is not a reason to
/// wait longer and longer: such a row is tried again within `unreachable_retry` (jittered
/// down to half of it), the attempt is not counted, and as soon as one send succeeds again
/// every row waiting for the server is made due at once. Mail queued during an outage of
/// any length thus goes out within about `unreachable_retry` of the server's return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long a claimed row belongs to this dispatcher (default 5 min, at least 1 s). A
    /// send is only started while at least half the lease remains, so the mailer's own
    /// timeout should stay under half of it.
    pub lease: Duration,
    /// How many rows one pass claims (default 20, at least 1). Claiming is one durable
    /// write, so a batch several times [`concurrency`](Self::concurrency) keeps every
    /// connection busy between claims.
    pub batch_size: usize,
    /// How many rows of a pass are sent at once (default 1, at least 1): with more, a pass
    /// keeps that many conversations with the mail server open together. The deliveries
    /// that end while the outbox records earlier ones are recorded together, in one
    /// [`mark_all_sent`](crate::ports::MailOutbox::mark_all_sent).
    pub concurrency: usize,
    /// The delay after the first failed attempt (default 30 s).
    pub base_delay: Duration,
    /// The longest delay between attempts (default 1 h).
    pub max_delay: Duration,
    /// After this many attempts a temporary failure is final too (default 12, at least 1).
    pub max_attempts: u32,
    /// The longest wait before a row whose server could not be reached is tried again
    /// (default 15 s, at least 1 s).
    pub unreachable_retry: Duration,
    /// How long after it was due a row may wait while its server stays unreachable before
    /// it is given up on (default 24 h).
    pub unreachable_give_up: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(5 * 60),
            batch_size: 20,
            concurrency: 1,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(60 * 60),
            max_attempts: 12,
            unreachable_retry: Duration::from_secs(15),
            unreachable_give_up: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt of a row that has now failed `attempts` times,
    /// using `random` for the jitter: between half and all of the capped exponential delay.
    pub fn retry_delay(&self, attempts: u32, random: u64) -> Duration {
        let base = millis(self.base_delay);
        let cap = millis(self.max_delay);
        let factor = 2u64.saturating_pow(attempts.saturating_sub(1));
        jittered(base.saturating_mul(factor).min(cap), random)
    }

    /// The delay before a row whose server could not be reached is tried again: between
    /// half and all of `unreachable_retry`, using `random` for the jitter.
    pub fn unreachable_delay(&self, random: u64) -> Duration {
        jittered(millis(self.unreachable_retry), random)
    }

    fn normalized(mut self) -> Self {
        self.lease = self.lease.max(Duration::from_secs(1));
        self.batch_size = self.batch_size.max(1);
        self.concurrency = self.concurrency.max(1);
        self.max_attempts = self.max_attempts.max(1);
        self.unreachable_retry = self.unreachable_retry.max(Duration::from_secs(1));
        self
    }
}

/// Between half and all of `full` milliseconds.
fn jittered(full: u64, random: u64) -> Duration {
    let half = full / 2;
    Duration::from_millis((full - half) + random % (half + 1))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Rows claimed.
    pub claimed: usize,
    /// Rows delivered.
    pub sent: usize,
    /// Rows that failed for now and are due again later.
    pub retried: usize,
    /// Rows given up on: a permanent failure, or a temporary one at the last attempt.
    pub dead: usize,
    /// Rows handed back unsent because too little of the lease was left to send them.
    pub released: usize,
    /// Rows that were waiting for an unreachable server and were made due at once because
    /// a send succeeded again.
    pub woken: usize,
    /// Rows settled without sending because they were no longer wanted: reminders of alerts
    /// that stopped firing.
    pub cancelled: usize,
}

/// What every pass of a [`Dispatcher`] did since it started, added up: for `/metrics`.
/// Share one with [`Dispatcher::counting_into`] and read it from anywhere.
#[derive(Debug, Default)]
pub struct DispatchTotals {
    sent: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    cancelled: AtomicU64,
}

impl DispatchTotals {
    fn add(&self, report: &DispatchReport) {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        self.sent.fetch_add(count(report.sent), Ordering::Relaxed);
        self.retried
            .fetch_add(count(report.retried), Ordering::Relaxed);
        self.dead.fetch_add(count(report.dead), Ordering::Relaxed);
        self.cancelled
            .fetch_add(count(report.cancelled), Ordering::Relaxed);
    }

    /// Rows delivered.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Failed attempts to be tried again later.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Rows given up on.
    pub fn dead(&self) -> u64 {
        self.dead.load(Ordering::Relaxed)
    }

    /// Rows settled unsent because they were no longer wanted.
    pub fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// Works through the mail outbox: each due row is claimed with a lease (so two dispatchers
/// never send the same row), sent, and marked sent, retried later or dead.
///
/// A row is delivered at least once; it is sent again only if this process stops (or the
/// store fails) between the send and the mark. Every attempt carries the row's one
/// `Message-ID`, so a receiver can drop such a repeat.
///
/// A row that is to go only while its alert fires (a reminder, see
/// [`MailCause::only_while_firing`](crate::domain::MailCause::only_while_firing)) is checked
/// against the alert store when it is claimed: if the alert is acknowledged, resolved or
/// gone, the row is marked cancelled and nothing is sent.
pub struct Dispatcher {
    outbox: Arc<DynMailOutbox>,
    alerts: Arc<DynAlertStore>,
    mailer: Arc<DynMailer>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    /// Whether rows may be waiting for the server. True at start, since a previous run may
    /// have left some.
    server_was_unreachable: AtomicBool,
    totals: Arc<DispatchTotals>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher from `outbox` to `mailer`, reading `alerts` to tell whether a reminder
    /// is still wanted. Policy values below their minimum are raised to it.
    pub fn new(
        outbox: Arc<DynMailOutbox>,
        alerts: Arc<DynAlertStore>,
        mailer: Arc<DynMailer>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            outbox,
            alerts,
            mailer,
            clock,
            policy: policy.normalized(),
            server_was_unreachable: AtomicBool::new(true),
            totals: Arc::default(),
        }
    }

    /// This dispatcher adding what each pass did to `totals`.
    pub fn counting_into(mut self, totals: Arc<DispatchTotals>) -> Self {
        self.totals = totals;
        self
    }

    /// The policy in use.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// One pass: claims up to a batch of due rows and sends them, up to
    /// [`RetryPolicy::concurrency`] at once.
    ///
    /// # Errors
    ///
    /// The outbox's errors, once the sends in flight have ended: rows not started after the
    /// error keep their lease and are claimed again when it ends. Failures of the mailer are
    /// not errors; they are recorded on the row.
    pub async fn run_once(&self) -> Result<DispatchReport> {
        let claimed_at = self.clock.now();
        let claimed = self
            .outbox
            .claim_due(claimed_at, self.policy.lease, self.policy.batch_size)
            .await?;
        let pass = Pass::default();
        let outcomes: Vec<Result<Outcome>> = stream::iter(claimed)
            .map(|mail| self.deliver(mail, claimed_at, &pass))
            .buffer_unordered(self.policy.concurrency)
            .collect()
            .await;
        let mut report = DispatchReport {
            claimed: outcomes.len(),
            ..DispatchReport::default()
        };
        let mut first_error = None;
        for outcome in outcomes {
            match outcome {
                Ok(Outcome::Sent { woken }) => {
                    report.sent += 1;
                    report.woken += woken;
                }
                Ok(Outcome::Retried) => report.retried += 1,
                Ok(Outcome::Dead) => report.dead += 1,
                Ok(Outcome::Released) => report.released += 1,
                Ok(Outcome::Cancelled) => report.cancelled += 1,
                Ok(Outcome::Skipped) => {}
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        // Rows settled before an error count too: they were sent or marked.
        self.totals.add(&report);
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// Sends one claimed row and records what happened.
    async fn deliver(
        &self,
        mail: OutboxMail,
        claimed_at: Timestamp,
        pass: &Pass,
    ) -> Result<Outcome> {
        if pass.outbox_failed.load(Ordering::SeqCst) {
            return Ok(Outcome::Skipped);
        }
        let outcome = self.deliver_row(mail, claimed_at, pass).await;
        if outcome.is_err() {
            pass.outbox_failed.store(true, Ordering::SeqCst);
        }
        outcome
    }

    async fn deliver_row(
        &self,
        mail: OutboxMail,
        claimed_at: Timestamp,
        pass: &Pass,
    ) -> Result<Outcome> {
        if !self.lease_allows_a_send(&mail, claimed_at) {
            // Another dispatcher may claim the row once the lease is over; starting a send
            // this late could deliver it twice.
            self.outbox.requeue(&mail.id, self.clock.now()).await?;
            return Ok(Outcome::Released);
        }
        if let Some(reason) = self.no_longer_wanted(&mail).await? {
            self.outbox.mark_cancelled(&mail.id, &reason).await?;
            tracing::info!(mail = %mail.id, %reason, "mail cancelled");
            return Ok(Outcome::Cancelled);
        }
        if let Some(error) = pass.unreachable_error() {
            // The server just refused another row of this pass: this one waits with it
            // instead of timing out in turn.
            return self.wait_for_server(&mail, &error).await;
        }
        match self.mailer.send(&mail).await {
            Ok(()) => {
                pass.sent
                    .record(&*self.outbox, &*self.clock, mail.id.clone())
                    .await?;
                tracing::info!(mail = %mail.id, attempts = mail.attempts.saturating_add(1), "mail sent");
                let woken = self.release_waiting_rows().await?;
                Ok(Outcome::Sent { woken })
            }
            Err(SendError::Unreachable(why)) => {
                self.server_was_unreachable.store(true, Ordering::SeqCst);
                let error = SendError::Unreachable(why).to_string();
                pass.set_unreachable(&error);
                self.wait_for_server(&mail, &error).await
            }
            Err(failure) => {
                let attempts = mail.attempts.saturating_add(1);
                let (error, retry_at) = match failure {
                    SendError::Temporary(_) if attempts < self.policy.max_attempts => {
                        let delay = self.policy.retry_delay(attempts, random());
                        (failure.to_string(), Some(self.clock.now().plus(delay)))
                    }
                    SendError::Temporary(_) => (
                        format!("gave up after {attempts} attempts: {failure}"),
                        None,
                    ),
                    SendError::Permanent(_) | SendError::Unreachable(_) => {
                        (failure.to_string(), None)
                    }
                };
                self.outbox.mark_failed(&mail.id, &error, retry_at).await?;
                if let Some(retry_at) = retry_at {
                    tracing::warn!(mail = %mail.id, attempts, %retry_at, %error, "mail retried later");
                    Ok(Outcome::Retried)
                } else {
                    tracing::warn!(mail = %mail.id, attempts, %error, "mail dead");
                    Ok(Outcome::Dead)
                }
            }
        }
    }

    /// Runs passes forever: at once while rows keep coming, otherwise after `idle`, slept
    /// with the caller's `sleep` (e.g. `tokio::time::sleep`). Outbox errors are logged and
    /// the next pass waits `idle`. Stop it by dropping or aborting the future; a row whose
    /// send was cut short is claimed again when its lease ends.
    pub async fn run<S, F>(&self, idle: Duration, mut sleep: S) -> Infallible
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        loop {
            match self.run_once().await {
                Ok(report)
                    if report.claimed >= self.policy.batch_size
                        || report.released > 0
                        || report.woken > 0 =>
                {
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "mail dispatch pass failed"),
            }
            sleep(idle).await;
        }
    }

    /// After a successful send: makes the rows that wait for the server due now, if any may
    /// be waiting.
    async fn release_waiting_rows(&self) -> Result<usize> {
        if !self.server_was_unreachable.swap(false, Ordering::SeqCst) {
            return Ok(0);
        }
        match self.outbox.release_unreachable(self.clock.now()).await {
            Ok(woken) => {
                if woken > 0 {
                    tracing::info!(
                        woken,
                        "the mail server answers again: waiting mail is due now"
                    );
                }
                Ok(woken)
            }
            Err(error) => {
                self.server_was_unreachable.store(true, Ordering::SeqCst);
                Err(error)
            }
        }
    }

    /// Records that `mail` could not reach its server: it is tried again soon, or given up
    /// on once it is older than the policy allows.
    async fn wait_for_server(&self, mail: &OutboxMail, error: &str) -> Result<Outcome> {
        let now = self.clock.now();
        // From when it was due: a reminder made with its alert is not old when it first goes.
        let age = now.since(mail.due_at);
        if age >= self.policy.unreachable_give_up {
            let error = format!(
                "gave up after the server was unreachable for {} s: {error}",
                age.as_secs()
            );
            self.outbox.mark_failed(&mail.id, &error, None).await?;
            tracing::warn!(mail = %mail.id, %error, "mail dead");
            Ok(Outcome::Dead)
        } else {
            let retry_at = now.plus(self.policy.unreachable_delay(random()));
            self.outbox
                .mark_unreachable(&mail.id, error, retry_at)
                .await?;
            tracing::warn!(mail = %mail.id, %retry_at, %error, "mail waits for the server");
            Ok(Outcome::Retried)
        }
    }

    /// Why a claimed row should not be sent after all, if it should not: it is a reminder of
    /// an alert that no longer fires.
    async fn no_longer_wanted(&self, mail: &OutboxMail) -> Result<Option<String>> {
        let Some(alert_id) = mail.cause.as_ref().and_then(|c| c.only_while_firing()) else {
            return Ok(None);
        };
        Ok(match self.alerts.alert(alert_id).await? {
            Some(alert) if alert.status() == AlertStatus::Firing => None,
            Some(alert) => Some(format!("cancelled: the alert is {}", alert.status())),
            None => Some("cancelled: the alert is not stored".to_owned()),
        })
    }

    /// Whether at least half of the row's lease is left.
    fn lease_allows_a_send(&self, mail: &OutboxMail, claimed_at: Timestamp) -> bool {
        let lease_until = mail
            .lease_until
            .unwrap_or_else(|| claimed_at.plus(self.policy.lease));
        let half = i64::try_from(self.policy.lease.as_millis() / 2).unwrap_or(i64::MAX);
        let last_start =
            Timestamp::from_unix_millis(lease_until.unix_millis().saturating_sub(half));
        self.clock.now() < last_start
    }
}

/// What became of one claimed row.
enum Outcome {
    Sent {
        woken: usize,
    },
    Retried,
    Dead,
    Released,
    /// Settled unsent: no longer wanted.
    Cancelled,
    /// Not started: the outbox failed earlier in the pass, and the row keeps its lease.
    Skipped,
}

/// What the sends of one pass share.
#[derive(Default)]
struct Pass {
    /// An outbox write failed: start no more sends.
    outbox_failed: AtomicBool,
    /// The server could not be reached, and why.
    unreachable: std::sync::Mutex<Option<String>>,
    /// Deliveries waiting to be recorded.
    sent: SentMarks,
}

/// Records the deliveries of a pass in as few outbox writes as keep up with them: while one
/// write is under way, the sends that end meanwhile queue their rows, and the next write
/// takes them all. Each delivery is still recorded before its send's outcome is reported,
/// within the row's lease, as a write of its own would be.
#[derive(Default)]
struct SentMarks {
    queued: std::sync::Mutex<Vec<(MailId, oneshot::Sender<Result<()>>)>>,
    writing: futures::lock::Mutex<()>,
}

impl SentMarks {
    /// Records that `id` was delivered, together with whatever else is queued.
    async fn record(&self, outbox: &DynMailOutbox, clock: &dyn Clock, id: MailId) -> Result<()> {
        let (done, outcome) = oneshot::channel();
        self.queue().push((id, done));
        {
            let _writer = self.writing.lock().await;
            // Empty when an earlier writer took this row along.
            let queued = std::mem::take(&mut *self.queue());
            if !queued.is_empty() {
                let (ids, waiting): (Vec<MailId>, Vec<_>) = queued.into_iter().unzip();
                let result = outbox.mark_all_sent(&ids, clock.now()).await;
                for done in waiting {
                    // A waiter gone with its pass needs no answer.
                    let _ = done.send(result.clone());
                }
            }
        }
        outcome.await.unwrap_or_else(|_| {
            Err(Error::unavailable(
                "mail outbox",
                "the write recording a delivery was cut short",
            ))
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<(MailId, oneshot::Sender<Result<()>>)>> {
        self.queued.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Pass {
    fn unreachable_error(&self) -> Option<String> {
        self.unreachable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_unreachable(&self, error: &str) {
        self.unreachable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| error.to_owned());
    }
}

/// Jitter only spreads retries out: should the system have no randomness to give, any point
/// of the range is still a correct delay.
fn random() -> u64 {
    getrandom::u64().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::Error;
    use crate::domain::{
        Alert, AlertDraft, AlertId, AlertState, Channel, Email, MailCause, MailId, MailKind,
        MailMessage, Subject,
    };
    use crate::ports::{ManualClock, MockAlertStore, MockMailOutbox, MockMailer};

    const T0: Timestamp = Timestamp::from_unix_millis(1_795_000_000_000);

    fn row(id: &str, attempts: u32) -> OutboxMail {
        let message = MailMessage {
            to: vec![Email::parse("ops@campus.edu").unwrap()],
            subject: Subject::sanitize("s"),
            text: "t".into(),
            html: "<p>t</p>".into(),
        };
        let cause = MailCause::alert(MailKind::Alert, &AlertId::parse("A1").unwrap());
        let mut mail = OutboxMail::new(MailId::parse(id).unwrap(), cause, message, T0);
        mail.attempts = attempts;
        mail.lease_until = Some(T0.plus(RetryPolicy::default().lease));
        mail
    }

    fn unavailable() -> Error {
        Error::unavailable("test outbox", std::io::Error::other("connection reset"))
    }

    fn dispatcher(outbox: MockMailOutbox, mailer: MockMailer) -> Dispatcher {
        let mut alerts = MockAlertStore::new();
        alerts.expect_alert().never();
        dispatcher_with(outbox, alerts, mailer)
    }

    fn dispatcher_with(
        outbox: MockMailOutbox,
        alerts: MockAlertStore,
        mailer: MockMailer,
    ) -> Dispatcher {
        Dispatcher::new(
            Arc::new(outbox),
            Arc::new(alerts),
            Arc::new(mailer),
            Arc::new(ManualClock::new(T0)),
            RetryPolicy::default(),
        )
    }

    #[test]
    fn delays_double_up_to_the_cap_and_jitter_stays_within_half() {
        let policy = RetryPolicy::default();
        let secs = |attempts, random| policy.retry_delay(attempts, random).as_millis();
        assert_eq!(secs(1, 15_000), 30_000, "the top of the range");
        assert_eq!(secs(1, 0), 15_000, "the bottom of the range");
        assert_eq!(secs(2, 0), 30_000);
        assert_eq!(secs(3, 0), 60_000);
        assert_eq!(secs(8, 0), 1_800_000, "capped at one hour, then halved");
        assert_eq!(secs(40, 0), 1_800_000, "no overflow on many attempts");
        for random in [1, 7, 12_345, u64::MAX / 3] {
            let d = secs(5, random);
            assert!((240_000..=480_000).contains(&d), "{d}");
        }
    }

    #[test]
    fn policy_minimums_are_raised() {
        let outbox = MockMailOutbox::new();
        let mailer = MockMailer::new();
        let d = Dispatcher::new(
            Arc::new(outbox),
            Arc::new(MockAlertStore::new()),
            Arc::new(mailer),
            Arc::new(ManualClock::new(T0)),
            RetryPolicy {
                lease: Duration::ZERO,
                batch_size: 0,
                max_attempts: 0,
                ..RetryPolicy::default()
            },
        );
        assert_eq!(d.policy().lease, Duration::from_secs(1));
        assert_eq!(d.policy().batch_size, 1);
        assert_eq!(d.policy().max_attempts, 1);
    }

    #[tokio::test]
    async fn a_failing_claim_is_an_error_and_sends_nothing() {
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Err(unavailable()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let result = dispatcher(outbox, mailer).run_once().await;
        assert!(matches!(result, Err(Error::Unavailable { .. })));
    }

    #[tokio::test]
    async fn a_failing_mark_stops_the_pass_before_the_next_send() {
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![row("M1", 0), row("M2", 0)]));
        outbox
            .expect_mark_all_sent()
            .times(1)
            .returning(|_, _| Err(unavailable()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&sent);
        let mut mailer = MockMailer::new();
        mailer.expect_send().returning(move |mail| {
            seen.lock().unwrap().push(mail.id.clone());
            Ok(())
        });
        let result = dispatcher(outbox, mailer).run_once().await;
        assert!(matches!(result, Err(Error::Unavailable { .. })));
        assert_eq!(*sent.lock().unwrap(), vec![MailId::parse("M1").unwrap()]);
    }

    #[tokio::test]
    async fn the_last_attempt_ends_dead_with_the_error_kept() {
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![row("M1", 11)]));
        outbox
            .expect_mark_failed()
            .withf(|id, error, retry_at| {
                id.as_str() == "M1"
                    && error.contains("gave up after 12 attempts")
                    && error.contains("421 busy")
                    && retry_at.is_none()
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(SendError::Temporary("421 busy".into())));
        let report = dispatcher(outbox, mailer).run_once().await.unwrap();
        assert_eq!(report.dead, 1);
        assert_eq!(report.retried, 0);
    }

    fn reminder(id: &str, status: AlertStatus) -> (OutboxMail, Alert) {
        let alert_id = AlertId::parse("A7").unwrap();
        let mut mail = row(id, 0);
        mail.cause = Some(MailCause::alert(MailKind::Reminder, &alert_id));
        let draft = AlertDraft::parse("sensor_01", "critical", "hot", Channel::Tcp).unwrap();
        let state = AlertState {
            status,
            version: 2,
            updated_at: T0,
        };
        (mail, Alert::restore(alert_id, draft, T0, state))
    }

    #[tokio::test]
    async fn an_unreachable_server_gives_up_a_day_after_a_row_was_due_not_written() {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        let ago =
            |d: Duration| Timestamp::from_unix_millis(T0.unix_millis() - d.as_millis() as i64);
        // Written with its alert 30 h ago, first due a minute ago: it has not waited long.
        let (reminder, alert) = reminder("M1", AlertStatus::Firing);
        let mut reminder = reminder;
        reminder.created_at = ago(hours(30));
        let reminder = reminder.due_at(ago(Duration::from_secs(60)));
        // Due when written, 25 h ago: past the policy's day.
        let mut stale = row("M2", 0);
        stale.created_at = ago(hours(25));
        let stale = stale.due_at(ago(hours(25)));
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .returning(move |_, _, _| Ok(vec![reminder.clone(), stale.clone()]));
        outbox
            .expect_mark_unreachable()
            .withf(|id, _, _| id.as_str() == "M1")
            .times(1)
            .returning(|_, _, _| Ok(()));
        outbox
            .expect_mark_failed()
            .withf(|id, error, _| {
                id.as_str() == "M2" && error.contains("gave up after the server was unreachable")
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut alerts = MockAlertStore::new();
        alerts
            .expect_alert()
            .returning(move |_| Ok(Some(alert.clone())));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(SendError::Unreachable("connection refused".into())));
        let report = dispatcher_with(outbox, alerts, mailer)
            .run_once()
            .await
            .unwrap();
        assert_eq!((report.retried, report.dead), (1, 1));
    }

    #[tokio::test]
    async fn a_reminder_of_an_acknowledged_alert_is_cancelled_unsent() {
        let (mail, alert) = reminder("M1", AlertStatus::Acknowledged);
        let mut outbox = MockMailOutbox::new();
        let claimed = mail.clone();
        outbox
            .expect_claim_due()
            .returning(move |_, _, _| Ok(vec![claimed.clone()]));
        outbox
            .expect_mark_cancelled()
            .withf(|id, reason| id.as_str() == "M1" && reason.contains("acknowledged"))
            .times(1)
            .returning(|_, _| Ok(()));
        outbox.expect_mark_all_sent().never();
        let mut alerts = MockAlertStore::new();
        alerts
            .expect_alert()
            .withf(|id| id.as_str() == "A7")
            .times(1)
            .returning(move |_| Ok(Some(alert.clone())));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let report = dispatcher_with(outbox, alerts, mailer)
            .run_once()
            .await
            .unwrap();
        assert_eq!((report.claimed, report.cancelled, report.sent), (1, 1, 0));
    }

    #[tokio::test]
    async fn a_reminder_of_a_firing_alert_is_sent() {
        let (mail, alert) = reminder("M1", AlertStatus::Firing);
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .returning(move |_, _, _| Ok(vec![mail.clone()]));
        outbox.expect_mark_cancelled().never();
        outbox
            .expect_mark_all_sent()
            .times(1)
            .returning(|_, _| Ok(()));
        outbox.expect_release_unreachable().returning(|_| Ok(0));
        let mut alerts = MockAlertStore::new();
        alerts
            .expect_alert()
            .returning(move |_| Ok(Some(alert.clone())));
        let mut mailer = MockMailer::new();
        mailer.expect_send().times(1).returning(|_| Ok(()));
        let report = dispatcher_with(outbox, alerts, mailer)
            .run_once()
            .await
            .unwrap();
        assert_eq!((report.sent, report.cancelled), (1, 0));
    }

    #[tokio::test]
    async fn an_alert_store_failure_leaves_the_reminder_leased_and_unsent() {
        let (mail, _) = reminder("M1", AlertStatus::Firing);
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .returning(move |_, _, _| Ok(vec![mail.clone()]));
        outbox.expect_mark_cancelled().never();
        outbox.expect_mark_all_sent().never();
        let mut alerts = MockAlertStore::new();
        alerts.expect_alert().returning(|_| Err(unavailable()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let result = dispatcher_with(outbox, alerts, mailer).run_once().await;
        assert!(matches!(result, Err(Error::Unavailable { .. })));
    }

    #[tokio::test]
    async fn one_failed_send_of_a_concurrent_batch_retries_only_that_row() {
        let mut outbox = MockMailOutbox::new();
        outbox.expect_claim_due().times(1).returning(|_, _, _| {
            Ok(["M1", "M2", "M3", "M4", "M5", "M6"]
                .iter()
                .map(|id| row(id, 0))
                .collect())
        });
        let marked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&marked);
        outbox.expect_mark_all_sent().returning(move |ids, _| {
            seen.lock().unwrap().extend(ids.iter().cloned());
            Ok(())
        });
        outbox.expect_mark_sent().never();
        outbox
            .expect_mark_failed()
            .withf(|id, error, retry_at| {
                id.as_str() == "M3" && error.contains("451 try later") && retry_at.is_some()
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        outbox.expect_mark_unreachable().never();
        outbox.expect_release_unreachable().returning(|_| Ok(0));
        let mut mailer = MockMailer::new();
        mailer.expect_send().times(6).returning(|mail| {
            if mail.id.as_str() == "M3" {
                Err(SendError::Temporary("451 try later".into()))
            } else {
                Ok(())
            }
        });
        let dispatcher = Dispatcher::new(
            Arc::new(outbox),
            Arc::new(MockAlertStore::new()),
            Arc::new(mailer),
            Arc::new(ManualClock::new(T0)),
            RetryPolicy {
                concurrency: 4,
                ..RetryPolicy::default()
            },
        );
        let report = dispatcher.run_once().await.unwrap();
        assert_eq!(
            (report.claimed, report.sent, report.retried, report.dead),
            (6, 5, 1, 0)
        );
        let mut marked = marked.lock().unwrap().clone();
        marked.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let expected: Vec<MailId> = ["M1", "M2", "M4", "M5", "M6"]
            .iter()
            .map(|id| MailId::parse(id).unwrap())
            .collect();
        assert_eq!(marked, expected, "every other row is marked sent, once");
    }
}
