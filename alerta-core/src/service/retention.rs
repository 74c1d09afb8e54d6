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
    /// How many rows one store call removes.
    pub batch: usize,
    /// How many batches one run makes at most, so that a run after a long pause spreads
    /// its work over the next runs instead of holding the store.
    pub max_batches: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            mail: Some(Duration::from_secs(30 * 86_400)),
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
    /// Whether rows old enough were left for the next run (the run hit `max_batches`).
    pub more_left: bool,
}

impl Alerta {
    /// Removes what `retention` says is old enough, in batches. Idempotency records are
    /// not its business: every store drops them once they age out (see
    /// [`IdempotencyStore`](crate::ports::IdempotencyStore)), and the stream log keeps its
    /// own retention.
    pub async fn apply_retention(&self, retention: &Retention) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        let Some(age) = retention.mail else {
            return Ok(report);
        };
        let batch = retention.batch.max(1);
        let before = Timestamp::from_unix_millis(
            self.now()
                .unix_millis()
                .saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX)),
        );
        for _ in 0..retention.max_batches.max(1) {
            let removed = self
                .inner
                .storage
                .outbox
                .remove_settled(before, batch)
                .await?;
            report.mail_rows += removed;
            if removed < batch {
                return Ok(report);
            }
        }
        report.more_left = true;
        Ok(report)
    }
}
