//! Reading the stream log, for the live stream and for subscribers that resume with `since=`.

use super::Alerta;
use crate::Result;
use crate::domain::{Position, StreamEntry, StreamHead, Timestamp};

impl Alerta {
    /// Where the stream log stands: its epoch, head and oldest kept position.
    pub async fn stream_head(&self) -> Result<StreamHead> {
        self.inner.storage.stream.head().await
    }

    /// Up to `limit` log entries after `after`, in position order, as they were committed.
    /// Callers filter them by role and topic: a page is cut by position, so a filtered reader
    /// pages on until it reaches the head.
    pub async fn read_stream(&self, after: Position, limit: usize) -> Result<Vec<StreamEntry>> {
        self.inner.storage.stream.read(after, limit).await
    }

    /// Removes log entries older than the configured retention; returns how many went.
    pub async fn trim_stream(&self) -> Result<u64> {
        let before = Timestamp::from_unix_millis(
            self.now()
                .unix_millis()
                .saturating_sub(self.inner.settings.stream_retention.as_millis() as i64),
        );
        self.inner.storage.stream.trim(before).await
    }
}
