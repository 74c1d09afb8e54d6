//! Group commit for alert ingestion: concurrent alerts share one transaction.
//!
//! One durable commit costs about as much as its fsync, whatever it holds, so storing each
//! alert on its own caps ingestion at a few hundred alerts per second. [`GroupCommit`] runs
//! one writer task: every alert submitted while a commit is in flight waits in a queue, and
//! the next commit takes the whole queue with a single [`Alerta::ingest_alerts`] call. Under
//! light load a batch holds one alert and nothing waits for a timer; under heavy load the
//! batches grow by themselves.
//!
//! Any transport can share one `GroupCommit` (it is a cheap handle):
//!
//! ```no_run
//! # async fn run(app: alerta_core::Alerta) -> alerta_core::Result<()> {
//! use alerta_adapters::ingest::{GroupCommit, GroupCommitConfig};
//! use alerta_core::domain::{AlertDraft, Channel};
//!
//! let ingest = GroupCommit::spawn(app, GroupCommitConfig::default());
//! let draft = AlertDraft::parse("sensor_01", "warning", "door open", Channel::Tcp)?;
//! // Queue first, await later: a connection can keep reading while its alert is stored.
//! let ticket = ingest.submit(draft).await?;
//! let stored = ticket.await?;
//! println!("stored as {}", stored.id);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alerta_core::domain::{Alert, AlertDraft};
use alerta_core::{Alerta, Error, Result};
use tokio::sync::{mpsc, oneshot};

/// How a [`GroupCommit`] queues and batches. Change what you need and take the rest from
/// [`Default`]: `GroupCommitConfig { max_batch, ..GroupCommitConfig::default() }`.
#[derive(Clone, Debug)]
pub struct GroupCommitConfig {
    /// How many alerts may wait ([`DEFAULT_QUEUE_CAPACITY`](Self::DEFAULT_QUEUE_CAPACITY)
    /// by default; 0 counts as 1); past that, [`GroupCommit::submit`] waits for room, which
    /// slows the sending connections down instead of growing memory.
    pub queue_capacity: usize,
    /// The largest batch stored in one transaction
    /// ([`DEFAULT_MAX_BATCH`](Self::DEFAULT_MAX_BATCH) by default; 0 counts as 1), which
    /// bounds how long one commit (and so the wait of the first alert in it) can take. The
    /// storage's [`max_alert_batch`](alerta_core::ports::StorageLimits::max_alert_batch)
    /// caps it, so that every batch is atomic whatever the backend.
    pub max_batch: usize,
    /// Told of every commit once it ends, on the writer task (none by default): the place
    /// for metrics of batch sizes, commit times and what was stored.
    pub on_commit: Option<CommitObserver>,
}

/// What one group commit did, as a [`CommitObserver`] is told.
#[derive(Debug)]
pub struct CommitReport<'a> {
    /// How many alerts the batch held.
    pub batch: usize,
    /// From the start of the commit to its end.
    pub elapsed: Duration,
    /// The alerts as stored, one per alert of the batch in its order; empty when the
    /// commit failed.
    pub stored: &'a [Alert],
}

/// A function told of every commit. It runs on the writer task, between commits, so it must
/// be quick: count, don't wait.
#[derive(Clone)]
pub struct CommitObserver(Arc<dyn Fn(&CommitReport<'_>) + Send + Sync>);

impl CommitObserver {
    /// An observer that calls `observe` after each commit.
    pub fn new(observe: impl Fn(&CommitReport<'_>) + Send + Sync + 'static) -> Self {
        Self(Arc::new(observe))
    }
}

impl std::fmt::Debug for CommitObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitObserver")
    }
}

impl GroupCommitConfig {
    /// The default number of alerts that may wait for a commit before submitters wait too.
    pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;
    /// The default largest batch stored in one transaction.
    pub const DEFAULT_MAX_BATCH: usize = 1000;

    /// This configuration with both counts raised to 1 at least: with a zero, no alert
    /// could ever be queued or stored.
    fn usable(mut self) -> Self {
        self.queue_capacity = self.queue_capacity.max(1);
        self.max_batch = self.max_batch.max(1);
        self
    }
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self {
            queue_capacity: Self::DEFAULT_QUEUE_CAPACITY,
            max_batch: Self::DEFAULT_MAX_BATCH,
            on_commit: None,
        }
    }
}

/// Counters of a [`GroupCommit`] since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Calls to [`Alerta::ingest_alerts`], one transaction each.
    pub commits: u64,
    /// Alerts handed to those calls.
    pub alerts: u64,
}

struct Waiting {
    draft: AlertDraft,
    reply: oneshot::Sender<Result<Alert>>,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    alerts: AtomicU64,
}

/// A handle to the writer task that stores alerts in batches. Cheap to clone; the task ends
/// when the last handle is dropped, after storing what was already queued.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Waiting>,
    app: Alerta,
    counters: Arc<Counters>,
}

impl GroupCommit {
    /// Starts the writer task on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(app: Alerta, config: GroupCommitConfig) -> Self {
        let config = config.usable();
        let (queue, waiting) = mpsc::channel(config.queue_capacity);
        let counters = Arc::new(Counters::default());
        let max_batch = config.max_batch.min(app.storage().limits.max_alert_batch);
        tokio::spawn(write_batches(
            app.clone(),
            waiting,
            max_batch,
            counters.clone(),
            config.on_commit,
        ));
        Self {
            queue,
            app,
            counters,
        }
    }

    /// The application the alerts are stored through, e.g. to check ingest keys.
    pub fn app(&self) -> &Alerta {
        &self.app
    }

    /// Queues `draft` for the next commit, waiting only while the queue is full. The
    /// returned [`Ticket`] resolves once the alert is durably stored (or the commit failed).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the writer task is gone.
    pub async fn submit(&self, draft: AlertDraft) -> Result<Ticket> {
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Waiting { draft, reply })
            .await
            .map_err(|_| writer_gone())?;
        Ok(Ticket { result })
    }

    /// Stores `draft` with whatever else is waiting and returns it as stored.
    ///
    /// # Errors
    ///
    /// Those of [`Alerta::ingest_alerts`] for the batch it was part of, or
    /// [`Error::Unavailable`] when the writer task is gone.
    pub async fn ingest(&self, draft: AlertDraft) -> Result<Alert> {
        self.submit(draft).await?.await
    }

    /// How many commits and alerts the writer has made so far.
    pub fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            alerts: self.counters.alerts.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The outcome of one submitted alert: a future of the stored [`Alert`].
#[derive(Debug)]
#[must_use = "the alert is stored either way; the ticket tells when and whether it worked"]
pub struct Ticket {
    result: oneshot::Receiver<Result<Alert>>,
}

impl Ticket {
    /// The outcome if the commit has already finished, without waiting.
    pub fn try_result(&mut self) -> Option<Result<Alert>> {
        match self.result.try_recv() {
            Ok(result) => Some(result),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(writer_gone())),
        }
    }
}

impl Future for Ticket {
    type Output = Result<Alert>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.result)
            .poll(cx)
            .map(|received| received.unwrap_or_else(|_| Err(writer_gone())))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the alert writer task has stopped")]
struct WriterGone;

fn writer_gone() -> Error {
    Error::unavailable("alert ingestion", WriterGone)
}

async fn write_batches(
    app: Alerta,
    mut waiting: mpsc::Receiver<Waiting>,
    max_batch: usize,
    counters: Arc<Counters>,
    on_commit: Option<CommitObserver>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while waiting.recv_many(&mut batch, max_batch).await > 0 {
        let (drafts, replies): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|w| (w.draft, w.reply)).unzip();
        let size = drafts.len();
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters.alerts.fetch_add(size as u64, Ordering::Relaxed);
        let started = Instant::now();
        // A submitter that went away is still stored: its alert was accepted, only the
        // answer has nobody to go to.
        let result = app.ingest_alerts(drafts).await;
        if let Some(CommitObserver(observe)) = &on_commit {
            observe(&CommitReport {
                batch: size,
                elapsed: started.elapsed(),
                stored: result.as_deref().unwrap_or_default(),
            });
        }
        match result {
            Ok(alerts) => {
                for (reply, alert) in replies.into_iter().zip(alerts) {
                    let _ = reply.send(Ok(alert));
                }
            }
            Err(error) => {
                tracing::warn!(%error, alerts = replies.len(), "storing a batch of alerts failed");
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
