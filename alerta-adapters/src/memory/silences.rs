//! Silences in memory.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use alerta_core::domain::{
    Cursor, Page, PageRequest, Silence, SilenceFilter, SilenceId, Timestamp,
};
use alerta_core::ports::SilenceStore;
use alerta_core::{Error, Result};
use async_trait::async_trait;

use super::MemoryStore;

/// The silences by id, behind their own lock: no write spans them and another port.
#[derive(Debug, Default)]
pub(super) struct Silences {
    rows: Mutex<BTreeMap<SilenceId, Silence>>,
}

impl Silences {
    pub(super) fn lock(&self) -> MutexGuard<'_, BTreeMap<SilenceId, Silence>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

const CURSOR_TAG: &str = "ms1.";

#[async_trait]
impl SilenceStore for MemoryStore {
    async fn insert_silence(&self, silence: &Silence) -> Result<()> {
        let mut rows = self.silences.lock();
        if rows.contains_key(silence.id()) {
            return Err(Error::duplicate("silence"));
        }
        rows.insert(silence.id().clone(), silence.clone());
        Ok(())
    }

    async fn silence(&self, id: &SilenceId) -> Result<Option<Silence>> {
        Ok(self.silences.lock().get(id).cloned())
    }

    async fn silences(&self, filter: &SilenceFilter, page: &PageRequest) -> Result<Page<Silence>> {
        let after = page
            .cursor
            .as_ref()
            .map(|c| {
                c.as_str()
                    .strip_prefix(CURSOR_TAG)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| {
                        Error::invalid("cursor", "this cursor was not made by this list")
                    })
            })
            .transpose()?;
        let rows = self.silences.lock();
        let items: Vec<Silence> = rows
            .values()
            .rev()
            .filter(|s| after.is_none_or(|after| s.id().as_str() < after))
            .filter(|s| filter.matches(s))
            .take(page.limit.get() + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetched(items, page.limit, |last| {
            Cursor::new(format!("{CURSOR_TAG}{}", last.id()))
        }))
    }

    async fn expire_silence(&self, id: &SilenceId, now: Timestamp) -> Result<Silence> {
        let mut rows = self.silences.lock();
        let row = rows.get_mut(id).ok_or(Error::NotFound("silence"))?;
        *row = row.expire(now);
        Ok(row.clone())
    }
}
