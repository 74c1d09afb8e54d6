//! What a storage backend can do in one call, as the backend states it.

/// The limits of a storage backend, stated by the backend itself so that callers size their
/// work to them instead of knowing which backend they run on.
///
/// A backend reports them through [`StorageBackend::limits`](super::StorageBackend::limits);
/// [`Storage::limits`](super::Storage::limits) carries them to the use cases, the transports
/// and the conformance suites, which hold the backend to what it states.
///
/// Build one from [`StorageLimits::UNBOUNDED`] and the `with_` methods, so that a limit added
/// later starts out unbounded for backends that do not state it:
///
/// ```
/// use alerta_core::ports::StorageLimits;
///
/// let limits = StorageLimits::UNBOUNDED
///     .with_max_alert_batch(48)
///     .with_max_change_items(97)
///     .with_consistent_lists(false);
/// assert_eq!(limits.max_alert_batch, 48);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StorageLimits {
    /// The most alerts, each with at most one mail row, that one
    /// [`AlertStore::insert`](super::AlertStore::insert) stores in one atomic step. A group
    /// commit that wants every batch atomic keeps its batches at this size or below.
    /// `usize::MAX` when there is no such limit.
    pub max_alert_batch: usize,
    /// The most items one [`IncidentStore::commit`](super::IncidentStore::commit) stores: the
    /// incident, its events, its attachments and its mail rows together. `usize::MAX` when
    /// there is no such limit.
    pub max_change_items: usize,
    /// Whether every list (incidents, alerts, mail rows, events across incidents) shows every
    /// write committed before the list was asked for. When `false`, a list may lag a write by
    /// a moment; reads by id, histories and the stream log never do.
    pub consistent_lists: bool,
}

impl StorageLimits {
    /// No limit: any batch or change is one atomic step, and lists are consistent.
    pub const UNBOUNDED: Self = Self {
        max_alert_batch: usize::MAX,
        max_change_items: usize::MAX,
        consistent_lists: true,
    };

    /// These limits with [`max_alert_batch`](Self::max_alert_batch) set to `alerts` (at
    /// least 1).
    pub const fn with_max_alert_batch(mut self, alerts: usize) -> Self {
        self.max_alert_batch = if alerts == 0 { 1 } else { alerts };
        self
    }

    /// These limits with [`max_change_items`](Self::max_change_items) set to `items` (at
    /// least 1).
    pub const fn with_max_change_items(mut self, items: usize) -> Self {
        self.max_change_items = if items == 0 { 1 } else { items };
        self
    }

    /// These limits with [`consistent_lists`](Self::consistent_lists) set.
    pub const fn with_consistent_lists(mut self, consistent: bool) -> Self {
        self.consistent_lists = consistent;
        self
    }
}

impl Default for StorageLimits {
    fn default() -> Self {
        Self::UNBOUNDED
    }
}
