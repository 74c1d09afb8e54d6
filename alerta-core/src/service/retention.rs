//! Retention: settled data older than its configured age is removed in bounded batches.

use std::time::Duration;

use super::Alerta;
use crate::Result;
use crate::domain::Timestamp;

/// How long settled data is kept, and how much one run may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// How long sent, dead and cancelled mail rows are kept after they were made; `None`:
    /// for ever. Pending rows are never removed.
    pub mail: Option<Duration>,
    /// How long resolved alert groups are kept after their last change and last
    /// occurrence, with their history and occurrences; `None` (the default): for ever.
    /// Firing and acknowledged groups, and groups an incident was opened from, are never
    /// removed.
    pub alerts: Option<Duration>,
    /// How many rows (or alert groups) one store call removes.
    pub batch: usize,
    /// How many batches one run makes at most, so that a run after a long pause spreads
    /// its work over the next runs instead of holding the store.
    pub max_batches: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            mail: Some(Duration::from_secs(30 * 86_400)),
            alerts: None,
            batch: 500,
            max_batches: 20,
        }
    }
}

/// What one retention run removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Mail rows removed.
    pub mail_rows: usize,
    /// Alert groups removed.
    pub alerts: usize,
    /// Whether rows or groups old enough were left for the next run (the run hit
    /// `max_batches` for one of them).
    pub more_left: bool,
}

impl Alerta {
    /// Removes what `retention` says is old enough, in batches: mail rows, then alert
    /// groups, each kind bounded by `max_batches` on its own. Idempotency records are not its
    /// business: every store drops them once they age out (see
    /// [`IdempotencyStore`](crate::ports::IdempotencyStore)), and the stream log keeps its
    /// own retention.
    pub async fn apply_retention(&self, retention: &Retention) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        let storage = &self.inner.storage;
        if let Some(before) = retention.mail.map(|age| self.cutoff(age)) {
            let (removed, more_left) = batches(retention, |limit| {
                storage.outbox.remove_settled(before, limit)
            })
            .await?;
            report.mail_rows = removed;
            report.more_left |= more_left;
        }
        if let Some(before) = retention.alerts.map(|age| self.cutoff(age)) {
            let (removed, more_left) = batches(retention, |limit| {
                storage.alerts.remove_resolved(before, limit)
            })
            .await?;
            report.alerts = removed;
            report.more_left |= more_left;
        }
        Ok(report)
    }

    /// The time `age` before now.
    fn cutoff(&self, age: Duration) -> Timestamp {
        Timestamp::from_unix_millis(
            self.now()
                .unix_millis()
                .saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX)),
        )
    }
}

/// Calls `remove` with the batch size until a call removes fewer or `max_batches` calls
/// were made: how many it removed, and whether it stopped at the bound.
async fn batches<F, Fut>(retention: &Retention, mut remove: F) -> Result<(usize, bool)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<usize>>,
{
    let batch = retention.batch.max(1);
    let mut removed = 0;
    for _ in 0..retention.max_batches.max(1) {
        let taken = remove(batch).await?;
        removed += taken;
        if taken < batch {
            return Ok((removed, false));
        }
    }
    Ok((removed, true))
}
