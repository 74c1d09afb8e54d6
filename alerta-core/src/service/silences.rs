//! Silences: the admin's use cases, and the in-memory copy that ingestion matches alerts
//! against.
//!
//! Ingestion runs at 100,000+ alerts a second, so it never reads the store per alert. Each
//! instance keeps the silences that have not ended in memory and reloads them from the store
//! when its copy is older than [`Settings::silence_refresh`](super::Settings::silence_refresh)
//! (one load at a time; the others wait for it rather than read the store too). Each alert is
//! matched against the copy at the time it is stored, so a silence starts and ends by the
//! clock without any write. A silence made or expired on this instance is put into the copy
//! at once; one made or expired on another instance applies here after at most the refresh
//! interval.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::lock::Mutex as AsyncMutex;

use super::{Alerta, require_admin, require_staff};
use crate::Result;
use crate::domain::{
    Alert, IdempotencyKey, MatchedFields, Matchers, Page, PageRequest, Silence, SilenceComment,
    SilenceDraft, SilenceFilter, SilenceId, SilenceState, SilenceView, Timestamp, User,
};
use crate::ports::DynSilenceStore;

/// A new silence (`POST /silences`), its parts parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SilenceRequest {
    /// What it matches; all must match.
    pub matchers: Matchers,
    /// When it starts; now when not given.
    pub starts_at: Option<Timestamp>,
    /// When it ends: after the start, and in the future.
    pub ends_at: Timestamp,
    /// Why.
    pub comment: SilenceComment,
}

impl Alerta {
    /// Makes a silence (`POST /silences`), once per idempotency key; admin only. It applies
    /// on this instance at once.
    pub async fn create_silence(
        &self,
        actor: &User,
        request: SilenceRequest,
        key: Option<&IdempotencyKey>,
    ) -> Result<SilenceView> {
        require_admin(actor)?;
        self.idempotent(actor.id.as_str(), key, "silence.create".into(), async {
            self.add_silence(actor, request).await
        })
        .await
    }

    async fn add_silence(&self, actor: &User, request: SilenceRequest) -> Result<SilenceView> {
        let now = self.now();
        let draft = SilenceDraft::new(
            request.matchers,
            request.starts_at,
            request.ends_at,
            request.comment,
            now,
        )?;
        let silence = Silence::new(
            SilenceId::generate(self.ids()),
            draft,
            actor.id.clone(),
            now,
        );
        self.inner.storage.silences.insert_silence(&silence).await?;
        self.inner.silences.put(silence.clone(), now);
        Ok(silence.view(now))
    }

    /// A page of silences, newest first, optionally only those in `state` now
    /// (`GET /silences`); staff and admin, who see why an alert was not mailed.
    pub async fn silences(
        &self,
        actor: &User,
        state: Option<SilenceState>,
        page: &PageRequest,
    ) -> Result<Page<SilenceView>> {
        require_staff(actor)?;
        let now = self.now();
        let filter = match state {
            Some(state) => SilenceFilter::in_state(state, now),
            None => SilenceFilter::all(),
        };
        let page = self.inner.storage.silences.silences(&filter, page).await?;
        Ok(page.map(|s| s.view(now)))
    }

    /// Ends a silence now (`DELETE /silences/{id}`); admin only. Expiring an expired silence
    /// changes nothing. It stops applying on this instance at once.
    pub async fn expire_silence(&self, actor: &User, id: &SilenceId) -> Result<SilenceView> {
        require_admin(actor)?;
        let now = self.now();
        let silence = self.inner.storage.silences.expire_silence(id, now).await?;
        self.inner.silences.put(silence.clone(), now);
        Ok(silence.view(now))
    }

    /// `alert` marked silenced when a silence is active at its `created_at` and matches it.
    ///
    /// Reads the store only when the in-memory copy is older than the refresh interval.
    pub(super) async fn apply_silences(&self, alert: Alert) -> Alert {
        let silences = self
            .inner
            .silences
            .current(self.inner.storage.silences.as_ref(), self.now())
            .await;
        let silenced = silences.silences(&MatchedFields::of(&alert), alert.created_at);
        alert.with_silenced(silenced)
    }
}

/// The unexpired silences as last loaded, plus those made or expired here since.
#[derive(Debug, Default)]
pub(super) struct ActiveSilences {
    silences: Vec<Silence>,
}

impl ActiveSilences {
    /// Whether any silence is active at `at` and matches `fields`.
    pub(super) fn silences(&self, fields: &MatchedFields<'_>, at: Timestamp) -> bool {
        self.silences.iter().any(|s| s.silences(fields, at))
    }
}

/// The copy and when it was loaded.
#[derive(Debug, Default)]
struct Copy {
    active: Arc<ActiveSilences>,
    /// `None` until the first load, and after a change here made a load in flight stale.
    loaded_at: Option<Timestamp>,
    /// One more on every change made here, so a load that began before one is not taken as
    /// fresh.
    generation: u64,
}

/// The in-memory copy of the unexpired silences, reloaded every `refresh`.
pub(super) struct SilenceCache {
    refresh: Duration,
    copy: Mutex<Copy>,
    loading: AsyncMutex<()>,
}

/// The most silences a copy holds; more are left out, with a warning.
const MAX_COPIED: usize = 10_000;

impl SilenceCache {
    pub(super) fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            copy: Mutex::new(Copy::default()),
            loading: AsyncMutex::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Copy> {
        self.copy.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fresh(&self, now: Timestamp) -> Option<Arc<ActiveSilences>> {
        let copy = self.lock();
        copy.loaded_at
            .filter(|loaded| now.since(*loaded) < self.refresh && *loaded <= now)
            .map(|_| copy.active.clone())
    }

    /// The copy, loaded again first when it is older than the refresh interval. A load that
    /// fails keeps the last copy (logged) and is tried again after the interval: alerts go on
    /// being stored, matched against what was known.
    pub(super) async fn current(
        &self,
        store: &DynSilenceStore,
        now: Timestamp,
    ) -> Arc<ActiveSilences> {
        if let Some(active) = self.fresh(now) {
            return active;
        }
        let _loading = self.loading.lock().await;
        if let Some(active) = self.fresh(now) {
            return active;
        }
        let generation = self.lock().generation;
        let loaded = load(store, now).await;
        let mut copy = self.lock();
        match loaded {
            Ok(silences) if copy.generation == generation => {
                copy.active = Arc::new(ActiveSilences { silences });
                copy.loaded_at = Some(now);
            }
            // A silence was made or expired here while loading: the copy holds it, the load
            // may not; the next call loads again.
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "silences could not be loaded; matching against the last ones known");
                copy.loaded_at = Some(now);
            }
        }
        copy.active.clone()
    }

    /// Puts a silence made or expired here into the copy, dropping those ended by `now`.
    pub(super) fn put(&self, silence: Silence, now: Timestamp) {
        let mut copy = self.lock();
        let mut silences: Vec<Silence> = copy
            .active
            .silences
            .iter()
            .filter(|s| s.id() != silence.id() && s.state(now) != SilenceState::Expired)
            .cloned()
            .collect();
        if silence.state(now) != SilenceState::Expired {
            silences.push(silence);
        }
        copy.active = Arc::new(ActiveSilences { silences });
        copy.generation += 1;
    }
}

/// Every silence not ended at `now`, page by page, up to [`MAX_COPIED`].
async fn load(store: &DynSilenceStore, now: Timestamp) -> Result<Vec<Silence>> {
    let filter = SilenceFilter::unexpired(now);
    let mut page = PageRequest::first(crate::domain::Limit::MAX)?;
    let mut silences = Vec::new();
    loop {
        let got = store.silences(&filter, &page).await?;
        silences.extend(got.items);
        match got.next_cursor {
            Some(cursor) if silences.len() < MAX_COPIED => page.cursor = Some(cursor),
            Some(_) => {
                tracing::warn!(
                    kept = MAX_COPIED,
                    "more unexpired silences than are matched; the oldest are left out"
                );
                return Ok(silences);
            }
            None => return Ok(silences),
        }
    }
}

impl std::fmt::Debug for SilenceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SilenceCache")
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}
