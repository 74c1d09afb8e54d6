//! Idempotency keys, reserved before the write they guard and completed with its result.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Reservation};

/// Idempotency keys: reserved first, then completed with the first result, shared by every
/// instance that uses the store.
///
/// # Contract
///
/// A key is `(owner, key)`; keys never share state.
///
/// - [`reserve`](IdempotencyStore::reserve) is atomic (one conditional write): when the key
///   has no row, a completed record whose `created_at` is at or before `now - max_age`, or a
///   reservation whose lease ended at or before `now`, it stores a reservation of
///   `claim.holder` for `claim.operation` until `claim.lease_until()` (created at `now`) and
///   returns [`Reservation::Reserved`]. Otherwise it changes nothing and returns
///   [`Reservation::Completed`] with the record, or [`Reservation::Pending`] with the
///   holder's operation and lease end. Of any number of concurrent claims on one key, from
///   one process or many, exactly one gets `Reserved`.
/// - [`complete`](IdempotencyStore::complete) turns the reservation of `holder` into
///   `record` (its response and `created_at`), and returns `true`; when the key is not (or no
///   longer) reserved by `holder` (its lease ended and another claim took it over), it
///   changes nothing and returns `false`.
/// - [`release`](IdempotencyStore::release) deletes the reservation of `holder`, so that the
///   next claim reserves the key at once; it does nothing when `holder` does not hold it.
/// - [`record`](IdempotencyStore::record) returns the completed record of a key, whatever its
///   age, and `None` for a reservation or no row.
/// - The store stays bounded: records older than `max_age` are dropped by the store itself
///   (as keys are reserved, or by a TTL).
///
/// # Errors
///
/// Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves the key of `claim` unless a live reservation or record holds it.
    async fn reserve(&self, claim: &IdempotencyClaim) -> Result<Reservation>;

    /// Completes the reservation of `holder` with `record`; `false` when `holder` lost it.
    async fn complete(&self, record: &IdempotencyRecord, holder: &str) -> Result<bool>;

    /// Forgets the reservation of `holder` on `owner`'s `key`, after its write failed.
    async fn release(&self, owner: &str, key: &IdempotencyKey, holder: &str) -> Result<()>;

    /// The completed record of `owner`'s `key`, if any.
    async fn record(&self, owner: &str, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>>;
}

/// A shared idempotency store picked at run time.
pub type DynIdempotencyStore = dyn IdempotencyStore;
