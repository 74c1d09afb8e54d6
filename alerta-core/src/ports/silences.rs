//! The silence store.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{Page, PageRequest, Silence, SilenceFilter, SilenceId, Timestamp};

/// Where silences live.
///
/// Silences are few (made by hand by admins) and read often: every instance reloads the
/// unexpired ones every couple of seconds to match alerts against them in memory.
///
/// # Contract
///
/// - [`insert_silence`](SilenceStore::insert_silence) stores a new silence as
///   [`Silence::new`] made it; it is read back equal, by id and in lists, at once.
/// - [`silence`](SilenceStore::silence) is the stored silence with `id`, if any, with every
///   committed expiry.
/// - [`silences`](SilenceStore::silences) lists the silences that pass
///   [`SilenceFilter::matches`], newest first (by id), in pages of `page.limit`, with a
///   cursor that neither repeats nor skips a silence stored before the first page was read.
/// - [`expire_silence`](SilenceStore::expire_silence) atomically replaces the stored
///   silence with [`Silence::expire`] of it at `now` and returns the result: the end moves
///   to `now` when it was later (and a start after `now` moves to `now`); a silence that has
///   already ended is returned unchanged. Of concurrent expiries the earliest `now` wins, and
///   an expiry never moves an end later.
///
/// # Errors
///
/// - `insert_silence` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when the id is already stored, and then
///   change nothing.
/// - `expire_silence` MUST return [`Error::NotFound`](crate::Error::NotFound) (`"silence"`)
///   when no silence has the id.
/// - `silences` MUST return [`Error::Invalid`](crate::Error::Invalid) on `cursor` for a
///   cursor it did not make.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SilenceStore: Send + Sync {
    /// Stores a new silence.
    async fn insert_silence(&self, silence: &Silence) -> Result<()>;

    /// The silence with `id`, if any.
    async fn silence(&self, id: &SilenceId) -> Result<Option<Silence>>;

    /// A page of the silences that pass `filter`, newest first.
    async fn silences(&self, filter: &SilenceFilter, page: &PageRequest) -> Result<Page<Silence>>;

    /// Ends the silence `id` at `now` unless it has ended already; the silence afterwards.
    async fn expire_silence(&self, id: &SilenceId, now: Timestamp) -> Result<Silence>;
}

/// A shared silence store picked at run time.
pub type DynSilenceStore = dyn SilenceStore;
